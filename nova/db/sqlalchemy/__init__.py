"""The SQLAlchemy implementation behind nova.db.api (nothing else imports it)."""
