"""The per-process SQLite connection cache behind the DB brokers."""

import os
import shutil
import sqlite3

import pytest

from swift.common import db
from swift.common.db import ConnectionCache, ContainerBroker
from swift.common.exceptions import DatabaseConnectionError


@pytest.fixture
def cache(monkeypatch):
    """A fresh cache as the process's cache, closed at the end."""
    fresh = ConnectionCache(max_idle=4, per_db=2)
    monkeypatch.setattr(db, 'CONNECTIONS', fresh)
    yield fresh
    fresh.clear()


def make(tmp_path, name='c', ts='1'):
    broker = ContainerBroker(str(tmp_path / name / ('%s.db' % name)),
                             account='a', container=name)
    broker.initialize(ts)
    return broker


def test_a_connection_is_reused_between_calls(cache, tmp_path):
    broker = make(tmp_path)
    with broker.get() as first:
        pass
    assert cache.idle_count(broker.db_file) == 1
    with broker.get() as second:
        assert second is first
    broker.put_object('o', '2', 1, 'a/b', 'e')
    assert broker.get_info()['object_count'] == 1
    assert cache.idle_count() == 1


def test_a_connection_in_use_is_never_handed_out_twice(cache, tmp_path):
    broker = make(tmp_path)
    with broker.get() as outer:
        with broker.get() as inner:
            assert inner is not outer
            # the outer holder may sit in a transaction meanwhile
            outer.execute('BEGIN')
            outer.execute("UPDATE container_stat SET metadata = '{}'")
            assert inner.execute('SELECT count(*) FROM object').fetchone()[0] \
                == 0
            outer.execute('COMMIT')
    assert cache.idle_count(broker.db_file) == 2


def test_writes_of_other_connections_are_seen(cache, tmp_path):
    broker = make(tmp_path)
    assert broker.get_info()['object_count'] == 0  # cached now
    other = sqlite3.connect(broker.db_file, isolation_level=None)
    try:
        other.execute("UPDATE container_stat SET object_count = 7")
    finally:
        other.close()
    assert broker.get_info()['object_count'] == 7


def test_a_moved_and_recreated_db_gets_a_new_connection(cache, tmp_path):
    broker = make(tmp_path, ts='1')
    broker.put_object('old', '2', 1, 'a/b', 'e')
    with broker.get() as old_conn:
        pass
    # What quarantine does (the whole hash dir goes elsewhere), then
    # replication brings another copy to the same path -- while the old
    # connection sits in the cache.
    shutil.move(broker.db_dir, str(tmp_path / 'quarantined'))
    fresh = make(tmp_path, ts='5')
    assert fresh.db_file == broker.db_file
    assert cache.idle_count(broker.db_file) == 1
    with broker.get() as conn:
        assert conn is not old_conn
    assert broker.get_info()['put_timestamp'] == '0000000005.00000'
    assert broker.list_objects_iter(10) == []
    assert cache.idle_count(broker.db_file) == 1
    # the moved copy is intact (closing its connection did not harm it)
    moved = ContainerBroker(str(tmp_path / 'quarantined' / 'c.db'))
    assert [r[0] for r in moved.list_objects_iter(10)] == ['old']


def test_a_failed_block_closes_its_connection(cache, tmp_path):
    broker = make(tmp_path)
    with broker.get():
        pass
    assert cache.idle_count(broker.db_file) == 1
    with pytest.raises(RuntimeError):
        with broker.transaction() as conn:
            conn.execute("UPDATE container_stat SET object_count = 99")
            raise RuntimeError('caller failed mid-transaction')
    assert cache.idle_count(broker.db_file) == 0
    assert broker.get_info()['object_count'] == 0


def test_a_connection_left_in_a_transaction_is_not_cached(cache, tmp_path):
    broker = make(tmp_path)
    with broker.get() as conn:
        conn.execute('BEGIN')
    assert cache.idle_count(broker.db_file) == 0
    broker.put_object('o', '2', 1, 'a/b', 'e')  # not locked out
    assert broker.get_info()['object_count'] == 1


def test_idle_connections_are_bounded(cache, tmp_path):
    brokers = [make(tmp_path, name='c%d' % i) for i in range(6)]
    for broker in brokers:
        broker.get_info()
    assert cache.idle_count() == 4
    # least recently used went first
    assert cache.idle_count(brokers[0].db_file) == 0
    assert cache.idle_count(brokers[5].db_file) == 1


def test_after_a_fork_inherited_connections_are_not_used(cache, tmp_path):
    broker = make(tmp_path)
    with broker.get() as parent_conn:
        pass
    cache._pid = -1  # as if this process were the forked child
    with broker.get() as conn:
        assert conn is not parent_conn
    assert cache.idle_count() == 1


def test_removed_db_raises_and_drops_its_connections(cache, tmp_path):
    broker = make(tmp_path)
    broker.get_info()
    shutil.rmtree(broker.db_dir)
    assert not broker.exists()
    with pytest.raises(DatabaseConnectionError):
        broker.get_info()
    assert cache.idle_count() == 0
