"""Account/container replicators against in-process servers (real rsync,
copying straight into the peer's device directory)."""

import os
import time

from webob import Request

from swift.account.replicator import AccountReplicator
from swift.account.server import AccountController
from swift.common.db import AccountBroker, ContainerBroker
from swift.common.utils import hash_path, storage_directory
from swift.container.replicator import ContainerReplicator
from swift.container.server import ContainerController
from tests.unit.swift.consistency.conftest import point_rsync_at_local_devices


def container_db(nodes, index, part, account='a', container='c'):
    name_hash = hash_path(account, container)
    return os.path.join(storage_directory(
        os.path.join(nodes.device_path(index), 'containers'), part,
        name_hash), name_hash + '.db')


def put(nodes, index, path, headers):
    server = ContainerController(nodes.conf_for_app(index))
    resp = Request.blank(path, method='PUT', headers=headers).get_response(
        server)
    assert resp.status_int in (201, 202), resp.body


def replicator_for(nodes, index, kind=ContainerReplicator, **conf):
    conf.setdefault('per_diff', 2)
    return point_rsync_at_local_devices(
        kind(nodes.conf(index, kind.server_type, **conf)), nodes)


def test_missing_replicas_are_rsynced_then_rows_sent(nodes):
    ring = nodes.serve('container')
    part, primaries = ring.get_nodes('a', 'c')
    first, second, third = [nodes.index_of(n) for n in primaries]
    put(nodes, first, '/sd%d/%d/a/c' % (first, part), {'X-Timestamp': '1'})
    for i, name in enumerate(('o1', 'o2', 'o3'), 2):
        put(nodes, first, '/sd%d/%d/a/c/%s' % (first, part, name),
            {'X-Timestamp': str(i), 'X-Size': '1', 'X-Content-Type': 't',
             'X-Etag': 'e'})

    stats = replicator_for(nodes, first).run_once()
    assert stats['rsync'] == 2 and stats['success'] == 1, stats
    local = ContainerBroker(container_db(nodes, first, part))
    for index in (second, third):
        copy = ContainerBroker(container_db(nodes, index, part))
        assert copy.get_info()['object_count'] == 3
        assert copy.get_info()['id'] != local.get_info()['id']
        assert copy.get_replication_info()['hash'] == \
            local.get_replication_info()['hash']
    assert not os.listdir(os.path.join(nodes.device_path(second), 'tmp'))

    # new rows travel as rows (per_diff 2: in two batches), not by rsync
    for i, name in enumerate(('o4', 'o5', 'o6'), 10):
        put(nodes, first, '/sd%d/%d/a/c/%s' % (first, part, name),
            {'X-Timestamp': str(i), 'X-Size': '2', 'X-Content-Type': 't',
             'X-Etag': 'e'})
    stats = replicator_for(nodes, first).run_once()
    assert stats['rsync'] == 0 and stats['diff'] == 2, stats
    copy = ContainerBroker(container_db(nodes, second, part))
    assert copy.get_info()['object_count'] == 6
    assert copy.get_sync(local.get_info()['id']) == \
        local.get_replication_info()['max_row']

    # nothing new: neither rows nor rsync
    stats = replicator_for(nodes, first).run_once()
    assert stats['no_change'] == 2 and stats['diff'] == 0, stats


def test_far_behind_replica_gets_rsync_then_merge(nodes):
    ring = nodes.serve('container')
    part, primaries = ring.get_nodes('a', 'c')
    first, second = [nodes.index_of(n) for n in primaries[:2]]
    for index in (first, second):
        put(nodes, index, '/sd%d/%d/a/c' % (index, part),
            {'X-Timestamp': '1'})
    put(nodes, second, '/sd%d/%d/a/c/only-there' % (second, part),
        {'X-Timestamp': '2', 'X-Size': '1', 'X-Content-Type': 't',
         'X-Etag': 'e'})
    for i in range(8):
        put(nodes, first, '/sd%d/%d/a/c/o%d' % (first, part, i),
            {'X-Timestamp': str(10 + i), 'X-Size': '1',
             'X-Content-Type': 't', 'X-Etag': 'e'})
    stats = replicator_for(nodes, first).run_once()
    assert stats['remote_merge'] == 1, stats
    copy = ContainerBroker(container_db(nodes, second, part))
    # merged into the existing DB: its own row stays, its id too
    assert copy.get_info()['object_count'] == 9


def test_handoff_db_is_pushed_to_primaries_and_removed(nodes):
    ring = nodes.serve('container')
    part, primaries = ring.get_nodes('a', 'c')
    handoff = next(nodes.index_of(n) for n in ring.get_more_nodes(part))
    put(nodes, handoff, '/sd%d/%d/a/c' % (handoff, part),
        {'X-Timestamp': '1'})
    put(nodes, handoff, '/sd%d/%d/a/c/o' % (handoff, part),
        {'X-Timestamp': '2', 'X-Size': '4', 'X-Content-Type': 't',
         'X-Etag': 'e'})
    stats = replicator_for(nodes, handoff).run_once()
    assert stats['handoff_removed'] == 1, stats
    assert not os.path.exists(container_db(nodes, handoff, part))
    for node in primaries:
        broker = ContainerBroker(container_db(nodes, nodes.index_of(node),
                                              part))
        assert broker.get_info()['object_count'] == 1


def test_handoff_db_stays_while_a_primary_is_unreachable(nodes):
    ring = nodes.serve('container')
    part, primaries = ring.get_nodes('a', 'c')
    handoff = next(nodes.index_of(n) for n in ring.get_more_nodes(part))
    put(nodes, handoff, '/sd%d/%d/a/c' % (handoff, part),
        {'X-Timestamp': '1'})
    down = nodes.index_of(primaries[0])
    _port, sock, thread = nodes.servers['container'][down - 1]
    thread.kill()
    sock.close()
    stats = replicator_for(nodes, handoff, conn_timeout=0.5).run_once()
    assert stats['failure'] == 1 and stats['handoff_removed'] == 0, stats
    assert os.path.exists(container_db(nodes, handoff, part))


def test_deleted_container_spreads_then_is_reclaimed(nodes):
    ring = nodes.serve('container')
    part, primaries = ring.get_nodes('a', 'c')
    indexes = [nodes.index_of(n) for n in primaries]
    for index in indexes:
        put(nodes, index, '/sd%d/%d/a/c' % (index, part),
            {'X-Timestamp': '1'})
    deleted_at = time.time() - 3600
    ContainerBroker(container_db(nodes, indexes[0], part)).delete_db(
        deleted_at)
    replicator_for(nodes, indexes[0]).run_once()
    for index in indexes[1:]:
        assert ContainerBroker(container_db(nodes, index, part)).is_deleted()
    # an hour later than reclaim_age: every replica drops the DB
    for index in indexes:
        stats = replicator_for(nodes, index, reclaim_age=60).run_once()
        assert stats['remove'] == 1, stats
        assert not os.path.exists(container_db(nodes, index, part))


def test_corrupt_db_is_quarantined(nodes):
    ring = nodes.serve('container')
    part, primaries = ring.get_nodes('a', 'c')
    first = nodes.index_of(primaries[0])
    put(nodes, first, '/sd%d/%d/a/c' % (first, part), {'X-Timestamp': '1'})
    db_file = container_db(nodes, first, part)
    with open(db_file, 'r+b') as fp:
        fp.write(b'this is no sqlite header at all!' * 4)
    stats = replicator_for(nodes, first).run_once()
    assert stats['quarantined'] == 1, stats
    name_hash = os.path.basename(db_file)[:-3]
    assert os.path.exists(os.path.join(nodes.device_path(first),
                                       'quarantined', 'containers',
                                       name_hash, name_hash + '.db'))
    assert not os.path.exists(db_file)


def test_account_replicator_spreads_status_and_rows(nodes):
    ring = nodes.serve('account')
    part, primaries = ring.get_nodes('a')
    first, second = [nodes.index_of(n) for n in primaries[:2]]
    for index in (first, second):
        server = AccountController(nodes.conf_for_app(index))
        assert Request.blank('/sd%d/%d/a' % (index, part), method='PUT',
                             headers={'X-Timestamp': '1'}).get_response(
            server).status_int == 201
    server = AccountController(nodes.conf_for_app(first))
    Request.blank('/sd%d/%d/a/c' % (first, part), method='PUT', headers={
        'X-Put-Timestamp': '2', 'X-Delete-Timestamp': '0',
        'X-Object-Count': '3', 'X-Bytes-Used': '30'}).get_response(server)
    Request.blank('/sd%d/%d/a' % (first, part), method='DELETE',
                  headers={'X-Timestamp': '3'}).get_response(server)
    stats = replicator_for(nodes, first, AccountReplicator).run_once()
    assert stats['success'] == 1, stats
    name_hash = hash_path('a')
    other = AccountBroker(os.path.join(storage_directory(
        os.path.join(nodes.device_path(second), 'accounts'), part,
        name_hash), name_hash + '.db'))
    assert other.is_status_deleted()
    assert other.get_info()['container_count'] == 1
    assert other.get_info()['object_count'] == 3
