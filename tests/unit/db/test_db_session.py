"""Engines: one per URL, driver defaults, SQLite settings, start-up retries."""

import sqlalchemy as sa

import pytest

from nova import db
from nova import exception
from nova import flags
from nova.db.sqlalchemy import session as db_session

FLAGS = flags.FLAGS


def test_default_drivers():
    assert db_session.normalize_url('mysql://root@127.0.0.1/nova') == \
        'mysql+pymysql://root@127.0.0.1/nova?charset=utf8mb4'
    assert db_session.normalize_url(
        'mysql://u:p@127.0.0.1/nova?charset=latin1') == \
        'mysql+pymysql://u:p@127.0.0.1/nova?charset=latin1'
    assert db_session.normalize_url('postgresql://u@127.0.0.1/nova') == \
        'postgresql+psycopg://u@127.0.0.1/nova'
    assert db_session.normalize_url('sqlite:////tmp/x.sqlite') == \
        'sqlite:////tmp/x.sqlite'


def test_flag_references_are_expanded(tmp_path):
    FLAGS.state_path = str(tmp_path)
    FLAGS.sql_connection = 'sqlite:///$state_path/nova.sqlite'
    assert db_session.current_url() == 'sqlite:///%s/nova.sqlite' % tmp_path


def test_one_engine_per_url(tmp_path):
    a = 'sqlite:///%s/a.sqlite' % tmp_path
    b = 'sqlite:///%s/b.sqlite' % tmp_path
    try:
        FLAGS.sql_connection = a
        first = db_session.get_engine()
        assert db_session.get_engine() is first
        FLAGS.sql_connection = b
        second = db_session.get_engine()
        assert second is not first
        assert str(second.url).endswith('b.sqlite')
        db_session.dispose(a)
        FLAGS.sql_connection = a
        assert db_session.get_engine() is not first
    finally:
        db_session.dispose()


def test_sqlite_foreign_keys_and_busy_timeout(sqlite_db):
    FLAGS.sqlite_busy_timeout = 7
    db_session.dispose()
    with db_session.get_engine().connect() as conn:
        assert conn.exec_driver_sql('PRAGMA foreign_keys').scalar() == 1
        assert conn.exec_driver_sql('PRAGMA busy_timeout').scalar() == 7000
        assert conn.exec_driver_sql('PRAGMA journal_mode').scalar() == 'wal'


def test_foreign_keys_are_enforced(ctx):
    with pytest.raises(exception.InvalidInput):
        db.fixed_ip_create(ctx, {'address': '10.0.0.2', 'network_id': 42})
    assert db.fixed_ip_get_all(ctx) == []


def test_unreachable_server_is_retried_then_reported(monkeypatch):
    # Port 9 on loopback: nothing listens, the connection is refused.
    FLAGS.sql_connection = 'mysql://root@127.0.0.1:9/nova'
    FLAGS.sql_max_retries = 3
    FLAGS.sql_retry_interval = 0
    attempts = []
    real_connect = sa.engine.Engine.connect

    def counting_connect(self, *args, **kwargs):
        attempts.append(1)
        return real_connect(self, *args, **kwargs)

    monkeypatch.setattr(sa.engine.Engine, 'connect', counting_connect)
    with pytest.raises(exception.DBError, match='cannot connect'):
        db_session.get_engine()
    assert len(attempts) == 3
    # Nothing half-made is cached: the next call tries again.
    with pytest.raises(exception.DBError):
        db_session.get_engine()
    assert len(attempts) == 6


def test_missing_sqlite_directory_fails_at_once(tmp_path, monkeypatch):
    FLAGS.sql_connection = 'sqlite:///%s/no/such/dir/nova.sqlite' % tmp_path
    FLAGS.sql_retry_interval = 3600   # would hang if it were retried
    with pytest.raises(exception.DBError, match='cannot connect'):
        db_session.get_engine()


def test_in_memory_sqlite_keeps_one_database():
    from nova.db import migration
    FLAGS.sql_connection = 'sqlite://'
    try:
        migration.db_sync()
        from nova import context
        ctx = context.get_admin_context()
        db.service_create(ctx, {'host': 'h', 'binary': 'b'})
        assert len(db.service_get_all(ctx)) == 1
    finally:
        db_session.dispose()
