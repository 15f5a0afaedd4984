"""The SQLAlchemy backend of nova.db.api (nothing else imports it)."""
