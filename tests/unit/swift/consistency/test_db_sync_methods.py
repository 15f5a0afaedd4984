"""Replication support in the DB brokers and the REPLICATE RPC handler."""

import json
import os
import shutil

import pytest
from webob import Request

from swift.common.db import AccountBroker, ContainerBroker
from swift.common.db_replicator import snapshot_db
from swift.container.server import ContainerController


def make_container(path, name='c', ts=1):
    broker = ContainerBroker(str(path), account='a', container=name)
    broker.initialize(ts)
    return broker


def test_changed_row_moves_past_sync_point(tmp_path):
    broker = make_container(tmp_path / 'c.db')
    broker.put_object('o1', 2, 1, 't', 'e')
    broker.put_object('o2', 3, 1, 't', 'e')
    point = broker.get_items_since(-1, 10)[-1]['ROWID']
    assert broker.get_items_since(point, 10) == []
    broker.put_object('o1', 4, 5, 't', 'e2')
    changed = broker.get_items_since(point, 10)
    assert [(i['name'], i['size'], i['etag']) for i in changed] == \
        [('o1', 5, 'e2')]
    # an older update changes nothing and stays invisible
    broker.put_object('o2', 1, 9, 't', 'old')
    assert broker.get_items_since(changed[-1]['ROWID'], 10) == []
    assert broker.get_info()['object_count'] == 2
    assert broker.get_info()['bytes_used'] == 6


def test_merge_items_newest_wins_and_records_source(tmp_path):
    a = make_container(tmp_path / 'a.db')
    b = make_container(tmp_path / 'b.db')
    a.put_object('x', 5, 1, 't', 'new')
    a.put_object('y', 2, 2, 't', 'e')
    b.put_object('x', 6, 3, 't', 'newest')
    b.delete_object('y', 3)
    items = a.get_items_since(-1, 10)
    b.merge_items(items, source='replica-a')
    rows = {i['name']: i for i in b.get_items_since(-1, 10)}
    assert rows['x']['etag'] == 'newest'
    assert rows['y']['deleted'] == 1
    assert b.get_sync('replica-a') == items[-1]['ROWID']
    assert b.get_info()['object_count'] == 1
    # and the other way round a's rows lose to b's newer ones
    a.merge_items(b.get_items_since(-1, 10))
    assert a.get_replication_info()['hash'] == \
        b.get_replication_info()['hash']


def test_merge_items_rejects_malformed_rows_without_writing(tmp_path):
    b = make_container(tmp_path / 'b.db')
    good = {'ROWID': 1, 'name': 'ok', 'created_at': '1', 'size': 1,
            'content_type': 't', 'etag': 'e', 'deleted': 0}
    for bad in ({'ROWID': 2, 'name': 'x'},
                dict(good, created_at='soon'),
                dict(good, name=7),
                dict(good, name='')):
        with pytest.raises(ValueError):
            b.merge_items([good, bad])
    assert b.get_items_since(-1, 10) == []


def test_sync_points_only_rise(tmp_path):
    b = make_container(tmp_path / 'b.db')
    assert b.get_sync('r') == -1
    b.merge_syncs([{'remote_id': 'r', 'sync_point': 5}])
    b.merge_syncs([{'remote_id': 'r', 'sync_point': 3}])
    assert b.get_sync('r') == 5
    assert b.get_sync('r', incoming=False) == -1
    b.merge_syncs([{'remote_id': 'r', 'sync_point': 9}], incoming=False)
    assert b.get_syncs(incoming=False) == [{'remote_id': 'r',
                                           'sync_point': 9}]


def test_newid_makes_a_copy_its_own_replica(tmp_path):
    a = make_container(tmp_path / 'a.db')
    a.put_object('x', 2, 1, 't', 'e')
    a.merge_syncs([{'remote_id': 'peer', 'sync_point': 1}], incoming=False)
    snapshot_db(a, str(tmp_path / 'copy.db'))
    copy = ContainerBroker(str(tmp_path / 'copy.db'))
    a_info = a.get_replication_info()
    copy.newid(a_info['id'])
    assert copy.get_info()['id'] != a_info['id']
    assert copy.get_sync(a_info['id']) == a_info['max_row']
    assert copy.get_syncs(incoming=False) == []
    assert copy.get_replication_info()['hash'] == a_info['hash']


def test_merge_timestamps_spreads_account_delete(tmp_path):
    broker = AccountBroker(str(tmp_path / 'acct.db'), account='a')
    broker.initialize(1)
    assert not broker.is_status_deleted()
    assert broker.merge_timestamps(1, 1, 5)
    assert broker.is_status_deleted()
    assert broker.get_info()['status_changed_at'] == '0000000005.00000'
    assert not broker.merge_timestamps(1, 1, 5)  # nothing new
    broker.merge_timestamps(1, 7, 0)  # re-created later elsewhere
    assert not broker.is_status_deleted()


def test_merge_timestamps_deletes_container_metadata(tmp_path):
    broker = make_container(tmp_path / 'c.db')
    broker.update_metadata({'X-Container-Read': ('.r:*', 2)})
    broker.merge_timestamps(1, 1, 3)
    assert broker.is_deleted()
    assert broker.metadata['X-Container-Read'][0] == ''


def test_reclaim_forgets_only_old_deleted_rows(tmp_path):
    broker = make_container(tmp_path / 'c.db')
    broker.put_object('live', 1, 1, 't', 'e')
    broker.delete_object('old', 10)
    broker.delete_object('recent', 100)
    assert broker.reclaim(50) == 1
    assert sorted(i['name'] for i in broker.get_items_since(-1, 10)) == \
        ['live', 'recent']
    acct = AccountBroker(str(tmp_path / 'a.db'), account='a')
    acct.initialize(1)
    acct.put_container('gone', 1, 10, 0, 0)
    acct.put_container('here', 1, 0, 0, 0)
    assert acct.reclaim(50) == 1
    assert [i['name'] for i in acct.get_items_since(-1, 10)] == ['here']


def test_replicated_account_rows_do_not_roll_counts_back(tmp_path):
    acct = AccountBroker(str(tmp_path / 'a.db'), account='a')
    acct.initialize(1)
    acct.put_container('c', 5, 0, 10, 100)
    stale = {'ROWID': 1, 'name': 'c', 'put_timestamp': '5',
             'delete_timestamp': '0', 'object_count': 1, 'bytes_used': 1}
    acct.merge_items([stale])
    assert acct.get_info()['object_count'] == 10
    newer = dict(stale, put_timestamp='6', object_count=3, bytes_used=30)
    acct.merge_items([newer])
    info = acct.get_info()
    assert (info['container_count'], info['object_count'],
            info['bytes_used']) == (1, 3, 30)


# -- the REPLICATE verb ---------------------------------------------------

@pytest.fixture
def server(tmp_path):
    (tmp_path / 'sda').mkdir()
    return ContainerController({'devices': str(tmp_path),
                                'mount_check': 'false',
                                'log_requests': 'false'})


def replicate(server, body, path='/sda/0/' + 'a' * 32):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Request.blank(path, method='REPLICATE', body=data,
                         headers={'Content-Type': 'application/json'}
                         ).get_response(server)


def server_broker(server, tmp_path):
    """Create container a/c through the server; return (hash, broker)."""
    resp = Request.blank('/sda/0/a/c', method='PUT',
                         headers={'X-Timestamp': '1'}).get_response(server)
    assert resp.status_int == 201
    broker = server._broker('sda', '0', 'a', 'c')
    return os.path.basename(broker.db_file)[:-3], broker


def sync_body(broker, **overrides):
    info = broker.get_replication_info()
    body = {'op': 'sync', 'id': 'sender', 'max_row': info['max_row'],
            'hash': info['hash'], 'created_at': info['created_at'],
            'put_timestamp': info['put_timestamp'],
            'delete_timestamp': info['delete_timestamp'], 'metadata': {}}
    body.update(overrides)
    return body


def test_replicate_sync_missing_db_is_404_and_makes_tmp(server, tmp_path):
    sender = make_container(tmp_path / 's.db')
    resp = replicate(server, sync_body(sender))
    assert resp.status_int == 404
    assert (tmp_path / 'sda' / 'tmp').is_dir()


def test_replicate_sync_merges_and_answers_point(server, tmp_path):
    name_hash, broker = server_broker(server, tmp_path)
    path = '/sda/0/' + name_hash
    sender = make_container(tmp_path / 's.db')
    sender.put_object('o', 2, 3, 't', 'e')
    resp = replicate(server, sync_body(sender, metadata={
        'X-Container-Meta-K': ['v', '5']}), path)
    assert resp.status_int == 200
    info = json.loads(resp.body)
    assert info['point'] == -1 and info['max_row'] == -1
    assert broker.metadata['X-Container-Meta-K'][0] == 'v'
    items = sender.get_items_since(-1, 10)
    resp = replicate(server, {'op': 'merge_items', 'items': items,
                              'source': 'sender'}, path)
    assert resp.status_int == 204
    info = json.loads(replicate(server, sync_body(sender), path).body)
    assert info['point'] == items[-1]['ROWID']
    assert info['hash'] == sender.get_replication_info()['hash']
    assert broker.get_info()['object_count'] == 1


@pytest.mark.parametrize('body', [
    b'not json', b'[]', {'op': 'drop_tables'}, {'op': 7},
    {'op': 'merge_items', 'items': 'x'},
    {'op': 'complete_rsync', 'tmp_name': '../../etc/passwd',
     'source': 's'},
])
def test_replicate_rejects_bad_requests(server, tmp_path, body):
    name_hash, broker = server_broker(server, tmp_path)
    resp = replicate(server, body, '/sda/0/' + name_hash)
    assert resp.status_int == 400
    assert broker.get_items_since(-1, 10) == []


def test_replicate_rejects_bad_hash(server):
    assert replicate(server, {'op': 'sync'}, '/sda/0/zz').status_int == 400


def test_complete_rsync_adopts_then_merges(server, tmp_path):
    source = make_container(tmp_path / 's.db')
    source.put_object('o', 2, 3, 't', 'e')
    name_hash, _ = server_broker(server, tmp_path)
    db_file = server._broker('sda', '0', 'a', 'c').db_file
    shutil.rmtree(os.path.dirname(db_file))
    tmp_dir = tmp_path / 'sda' / 'tmp'
    tmp_dir.mkdir(exist_ok=True)
    tmp_name = '0' * 32 + '.db'
    snapshot_db(source, str(tmp_dir / tmp_name))
    path = '/sda/0/' + name_hash
    resp = replicate(server, {'op': 'complete_rsync', 'tmp_name': tmp_name,
                              'source': 'src-id'}, path)
    assert resp.status_int == 204
    adopted = ContainerBroker(db_file)
    assert adopted.get_info()['object_count'] == 1
    assert adopted.get_sync('src-id') >= 1
    assert not (tmp_dir / tmp_name).exists()
    # a second copy into the now existing DB is merged, not swapped in
    source.put_object('p', 3, 4, 't', 'e')
    snapshot_db(source, str(tmp_dir / tmp_name))
    resp = replicate(server, {'op': 'rsync_then_merge',
                              'tmp_name': tmp_name, 'source': 'src-id'},
                     path)
    assert resp.status_int == 204
    assert adopted.get_info()['object_count'] == 2
    assert adopted.get_info()['id'] != source.get_info()['id']
    assert replicate(server, {'op': 'complete_rsync', 'tmp_name': tmp_name,
                              'source': 's'}, path).status_int == 404
