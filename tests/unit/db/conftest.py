"""A fresh, migrated SQLite database per test.

Migrating takes a moment, so the schema is built once per test session into
a template file and copied for each test.
"""

import shutil

import pytest

from nova import context
from nova import flags
from nova.db import migration
from nova.db.sqlalchemy import session as db_session

FLAGS = flags.FLAGS


@pytest.fixture(scope='session')
def _template_db(tmp_path_factory):
    path = tmp_path_factory.mktemp('nova-db-template') / 'template.sqlite'
    url = 'sqlite:///%s' % path
    old = FLAGS.sql_connection
    FLAGS.sql_connection = url
    try:
        migration.db_sync()
    finally:
        db_session.dispose(url)
        FLAGS.sql_connection = old
    return path


@pytest.fixture
def sqlite_db(tmp_path, _template_db):
    """Point sql_connection at a fresh copy of the migrated schema."""
    path = tmp_path / 'nova.sqlite'
    shutil.copyfile(_template_db, path)
    url = 'sqlite:///%s' % path
    FLAGS.sql_connection = url
    yield url
    db_session.dispose(url)


@pytest.fixture
def ctx(sqlite_db):
    return context.get_admin_context()


@pytest.fixture
def user_ctx(sqlite_db):
    """A non-admin context for alice in project 'proj1'."""
    return context.RequestContext('alice', 'proj1', is_admin=False)


@pytest.fixture
def other_ctx(sqlite_db):
    """A non-admin context for bob in project 'proj2'."""
    return context.RequestContext('bob', 'proj2', is_admin=False)
