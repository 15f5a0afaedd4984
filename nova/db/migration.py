"""Schema versions of the nova database: ``db_sync`` and ``db_version``.

The schema is built only by the alembic migrations in nova/db/migrations
(revisions '001', '002', ... named after the releases that introduced them);
nothing calls ``create_all``.  The database is the one the ``sql_connection``
flag names.
"""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import script as alembic_script
from alembic.runtime import migration as alembic_migration

from nova import exception
from nova.db.sqlalchemy import session as db_session

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              'migrations')


def _config():
    cfg = alembic_config.Config()
    cfg.set_main_option('script_location', MIGRATIONS_DIR)
    return cfg


def _scripts():
    return alembic_script.ScriptDirectory.from_config(_config())


def known_versions():
    """Every revision, oldest first, as ints."""
    revs = [s.revision for s in _scripts().walk_revisions()]
    return sorted(int(r) for r in revs)


def _revision_for(version):
    """'003' for 3, '3' or '003'; 'base' for 0; clear error otherwise."""
    try:
        number = int(str(version).strip())
    except ValueError:
        raise exception.InvalidInput(
            reason='database version must be a number, not %r'
            % (version,)) from None
    if number == 0:
        return 'base'
    if number not in known_versions():
        raise exception.InvalidInput(
            reason='unknown database version %s (known: %s)'
            % (version, ', '.join(map(str, known_versions()))))
    return '%03d' % number


def _run(action, revision):
    engine = db_session.get_engine()
    cfg = _config()
    sqlite = engine.dialect.name == 'sqlite'
    with engine.connect() as conn:
        if sqlite:
            # Batch migrations rebuild tables (copy, drop, rename); SQLite
            # would check or cascade foreign keys on the drop.  The pragma
            # only takes effect outside a transaction.
            conn.exec_driver_sql('PRAGMA foreign_keys=OFF')
            conn.commit()
        try:
            cfg.attributes['connection'] = conn
            action(cfg, revision)
            conn.commit()
        finally:
            if sqlite:
                conn.rollback()
                conn.exec_driver_sql('PRAGMA foreign_keys=ON')
                conn.commit()


def db_version():
    """The current schema version as an int, or None if never synced."""
    engine = db_session.get_engine()
    with engine.connect() as conn:
        context = alembic_migration.MigrationContext.configure(conn)
        current = context.get_current_revision()
    return None if current is None else int(current)


def db_sync(version=None):
    """Upgrade (or downgrade) the schema to ``version`` (default: newest).

    Running it again at the same version changes nothing.  ``version=0``
    removes every table.  Returns the version reached.
    """
    current = db_version() or 0
    if version is None:
        target = known_versions()[-1]
        revision = 'head'
    else:
        revision = _revision_for(version)
        target = int(version)
    if target > current:
        _run(command.upgrade, revision)
    elif target < current:
        _run(command.downgrade, revision)
    return db_version() or 0
