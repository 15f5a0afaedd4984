"""Alembic environment, configured from code (no alembic.ini at run time).

``nova.db.migration`` hands us an open connection in
``config.attributes['connection']``; the naming convention of the models is
passed as target metadata so that constraints made by ``op`` get the names
the models expect.
"""

from alembic import context
import sqlalchemy as sa

from nova.db.sqlalchemy import models

config = context.config


def run_migrations_online():
    connection = config.attributes.get('connection')
    if connection is None:
        raise RuntimeError('nova migrations run through nova.db.migration '
                           '(nova-manage db sync), not the alembic CLI')
    target = sa.MetaData(naming_convention=models.NAMING_CONVENTION)
    context.configure(
        connection=connection,
        target_metadata=target,
        # SQLite cannot ALTER most things; batch mode copies the table.
        render_as_batch=connection.dialect.name == 'sqlite',
        transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError('offline (SQL script) migrations are not supported')
run_migrations_online()
