"""Alembic environment for the registry: runs on the connection it is given."""

from alembic import context

VERSION_TABLE = 'glance_migrate_version'


def run_migrations_online():
    connection = context.config.attributes['connection']
    context.configure(connection=connection, target_metadata=None,
                      version_table=VERSION_TABLE,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit('glance migrations run online only (glance-manage db_sync)')
run_migrations_online()
