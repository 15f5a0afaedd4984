"""AccountBroker and ContainerBroker over SQLite."""

import os
import threading

import pytest

from swift.common.db import AccountBroker, ContainerBroker
from swift.common.exceptions import DatabaseAlreadyExists


@pytest.fixture
def container(tmp_path):
    broker = ContainerBroker(str(tmp_path / 'c' / 'c.db'), account='a',
                             container='c')
    broker.initialize('1')
    return broker


@pytest.fixture
def account(tmp_path):
    broker = AccountBroker(str(tmp_path / 'a' / 'a.db'), account='a')
    broker.initialize('1')
    return broker


def names(rows):
    return [r[0] for r in rows]


class TestContainerBroker:
    def test_initialize_once_and_leaves_no_temp_files(self, container):
        assert container.get_info()['put_timestamp'] == '0000000001.00000'
        with pytest.raises(DatabaseAlreadyExists):
            container.initialize('2')
        assert os.listdir(container.db_dir) == ['c.db'] or \
            set(os.listdir(container.db_dir)) <= {'c.db', 'c.db-wal',
                                                  'c.db-shm'}

    def test_newest_timestamp_wins_and_stats_follow(self, container):
        assert container.put_object('o', '2', 10, 'text/plain', 'e1')
        assert not container.put_object('o', '1', 99, 'x/y', 'old')
        assert not container.put_object('o', '2', 99, 'x/y', 'same')
        info = container.get_info()
        assert (info['object_count'], info['bytes_used']) == (1, 10)
        assert container.put_object('o', '3', 20, 'text/plain', 'e2')
        assert container.get_info()['bytes_used'] == 20
        # an older delete loses, a newer one wins
        assert not container.delete_object('o', '2.5')
        assert container.get_info()['object_count'] == 1
        assert container.delete_object('o', '4')
        info = container.get_info()
        assert (info['object_count'], info['bytes_used']) == (0, 0)
        assert container.list_objects_iter(10) == []
        # a PUT older than the tombstone stays deleted
        assert not container.put_object('o', '3.5', 1, 'a/b', 'e')
        assert container.empty()
        rows = container.list_objects_iter(10)
        assert rows == []
        container.put_object('p', '5', 7, 'a/b', 'etag')
        assert container.list_objects_iter(10) == [
            ('p', '0000000005.00000', 7, 'a/b', 'etag')]

    def test_delete_db_and_recreate(self, container):
        assert not container.is_deleted()
        container.update_metadata({'X-Container-Read': ('.r:*', '1')})
        container.delete_db('2')
        assert container.is_deleted()
        # deleting forgets metadata such as ACLs
        assert container.metadata['X-Container-Read'][0] == ''
        container.update_put_timestamp('3')
        assert not container.is_deleted()
        container.update_put_timestamp('2.5')
        assert container.get_info()['put_timestamp'] == '0000000003.00000'

    def test_not_deleted_while_holding_objects(self, container):
        container.put_object('o', '2', 1, 'a/b', 'e')
        container.delete_db('3')
        assert not container.is_deleted()

    def test_metadata_newest_wins_per_key(self, container):
        container.update_metadata({'X-Container-Meta-A': ('1', '5'),
                                   'X-Container-Meta-B': ('x', '5')})
        container.update_metadata({'X-Container-Meta-A': ('old', '4'),
                                   'X-Container-Meta-B': ('', '6')})
        assert container.metadata == {
            'X-Container-Meta-A': ['1', '0000000005.00000'],
            'X-Container-Meta-B': ['', '0000000006.00000']}

    def test_listing_parameters(self, container):
        for name in ('a', 'a/b', 'a/b/c', 'a/c', 'b', 'b-1', 'c/', 'c/d',
                     'd\u00e9', 'e'):
            container.put_object(name, '2', 1, 'text/plain', 'e')
        ls = container.list_objects_iter
        assert names(ls(100)) == ['a', 'a/b', 'a/b/c', 'a/c', 'b', 'b-1',
                                  'c/', 'c/d', 'd\u00e9', 'e']
        assert names(ls(3)) == ['a', 'a/b', 'a/b/c']
        assert names(ls(100, marker='b')) == ['b-1', 'c/', 'c/d', 'd\u00e9',
                                              'e']
        assert names(ls(100, end_marker='b')) == ['a', 'a/b', 'a/b/c', 'a/c']
        assert names(ls(100, marker='a/b', end_marker='b-1')) == \
            ['a/b/c', 'a/c', 'b']
        assert names(ls(100, prefix='a/')) == ['a/b', 'a/b/c', 'a/c']
        assert names(ls(100, prefix='zzz')) == []
        assert names(ls(100, delimiter='/')) == ['a', 'a/', 'b', 'b-1', 'c/',
                                                 'd\u00e9', 'e']
        assert names(ls(100, prefix='a/', delimiter='/')) == \
            ['a/b', 'a/b/', 'a/c']
        # paging through a delimited listing never repeats a subdir
        assert names(ls(2, delimiter='/')) == ['a', 'a/']
        assert names(ls(2, delimiter='/', marker='a/')) == ['b', 'b-1']
        assert names(ls(100, delimiter='-')) == ['a', 'a/b', 'a/b/c', 'a/c',
                                                 'b', 'b-', 'c/', 'c/d',
                                                 'd\u00e9', 'e']
        subdir = ls(100, prefix='a/', delimiter='/')[1]
        assert subdir == ('a/b/', '0', 0, None, '')
        # path: direct children only, deeper names skipped, not rolled up
        assert names(ls(100, path='a')) == ['a/b', 'a/c']
        assert names(ls(100, path='c')) == ['c/d']
        # a name ending in the delimiter is a directory marker: listed
        assert names(ls(100, path='')) == ['a', 'b', 'b-1', 'c/', 'd\u00e9',
                                           'e']
        assert names(ls(100, marker='a', prefix='a/', end_marker='a/c')) == \
            ['a/b', 'a/b/c']

    def test_concurrent_writers_from_threads(self, container):
        errors = []

        def writer(start):
            try:
                other = ContainerBroker(container.db_file)
                for i in range(start, start + 50):
                    other.put_object('o%03d' % i, '2', 1, 'a/b', 'e')
            except Exception as err:  # pragma: no cover - reported below
                errors.append(err)

        threads = [threading.Thread(target=writer, args=(n * 50,))
                   for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        assert container.get_info()['object_count'] == 200

    def test_reported(self, container):
        container.reported('1', '0', 5, 50)
        info = container.get_info()
        assert (info['reported_object_count'],
                info['reported_bytes_used']) == (5, 50)


class TestAccountBroker:
    def test_put_container_merges_timestamps(self, account):
        assert account.put_container('c1', '2', '0', 3, 30)
        account.put_container('c2', '2', '0', 1, 1)
        info = account.get_info()
        assert (info['container_count'], info['object_count'],
                info['bytes_used']) == (2, 4, 31)
        # newer stats replace older ones for the same container
        account.put_container('c1', '2', '0', 5, 50)
        info = account.get_info()
        assert (info['container_count'], info['object_count'],
                info['bytes_used']) == (2, 6, 51)
        # delete newer than put, empty: row is deleted
        assert not account.put_container('c2', '0', '3', 0, 0)
        info = account.get_info()
        assert info['container_count'] == 1
        assert names(account.list_containers_iter(10)) == ['c1']
        # a late, older PUT report does not resurrect it
        assert not account.put_container('c2', '2.5', '0', 0, 0)
        assert account.get_info()['container_count'] == 1
        # a newer PUT does
        assert account.put_container('c2', '4', '0', 0, 0)
        assert account.get_info()['container_count'] == 2

    def test_listing(self, account):
        for name in ('a', 'a-b', 'a-c', 'b', 'c-d-e'):
            account.put_container(name, '2', '0', 1, 2)
        ls = account.list_containers_iter
        assert names(ls(10)) == ['a', 'a-b', 'a-c', 'b', 'c-d-e']
        assert names(ls(10, delimiter='-')) == ['a', 'a-', 'b', 'c-']
        assert ls(10, delimiter='-')[1] == ('a-', 0, 0, 1)
        assert ls(10, prefix='a-')[0] == ('a-b', 1, 2, 0)
        assert names(ls(2, marker='a')) == ['a-b', 'a-c']
        assert names(ls(10, end_marker='a-c')) == ['a', 'a-b']

    def test_delete_status(self, account):
        assert not account.is_deleted()
        account.delete_db('2')
        assert account.is_status_deleted()
        assert account.is_deleted()
        account.update_put_timestamp('3')
        assert not account.is_status_deleted()
        assert not account.is_deleted()

    def test_missing_db_is_deleted(self, tmp_path):
        broker = AccountBroker(str(tmp_path / 'x.db'))
        assert broker.is_deleted()
        assert not broker.exists()


def test_put_object_only_if_live_checks_in_the_same_transaction(container):
    assert container.put_object('o', '2', 1, 'a/b', 'e', only_if_live=True)
    container.delete_object('o', '3')
    container.delete_db('4')
    assert container.is_deleted()
    assert container.put_object('p', '5', 1, 'a/b', 'e',
                                only_if_live=True) is None
    assert container.delete_object('o', '6', only_if_live=True) is None
    assert container.list_objects_iter(10) == []
    assert container.get_info()['object_count'] == 0
    container.update_put_timestamp('7')  # re-created
    assert container.put_object('p', '8', 1, 'a/b', 'e', only_if_live=True)
    assert [r[0] for r in container.list_objects_iter(10)] == ['p']
