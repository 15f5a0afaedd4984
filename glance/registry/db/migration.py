"""Bringing a registry database to the current schema (alembic)."""

import os

import alembic.command
import alembic.config
import alembic.runtime.migration
import alembic.script
import sqlalchemy

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'migrations')
VERSION_TABLE = 'glance_migrate_version'


def _config(connection):
    cfg = alembic.config.Config()
    cfg.set_main_option('script_location', MIGRATIONS)
    cfg.attributes['connection'] = connection
    return cfg


def db_sync(engine, version='head'):
    """Upgrade the schema to ``version`` (the newest by default)."""
    with engine.begin() as connection:
        alembic.command.upgrade(_config(connection), version)


def db_downgrade(engine, version):
    with engine.begin() as connection:
        alembic.command.downgrade(_config(connection), version)


def db_version(engine):
    """The schema revision the database is at (None when never synced)."""
    with engine.connect() as connection:
        ctx = alembic.runtime.migration.MigrationContext.configure(
            connection, opts={'version_table': VERSION_TABLE})
        return ctx.get_current_revision()


def head_version():
    script = alembic.script.ScriptDirectory(MIGRATIONS)
    return script.get_current_head()


def normalize_url(url):
    """Plain mysql:// and postgresql:// URLs use the drivers installed here
    (PyMySQL and psycopg 3)."""
    if url.startswith('mysql://'):
        return 'mysql+pymysql://' + url[len('mysql://'):]
    if url.startswith('postgresql://') or url.startswith('postgres://'):
        return 'postgresql+psycopg://' + url.split('://', 1)[1]
    return url


def make_engine(sql_connection, idle_timeout=3600):
    sql_connection = normalize_url(sql_connection)
    kwargs = {'pool_pre_ping': True}
    if sql_connection.startswith('sqlite'):
        kwargs = {'connect_args': {'check_same_thread': False}}
    else:
        kwargs['pool_recycle'] = idle_timeout
    return sqlalchemy.create_engine(sql_connection, **kwargs)
