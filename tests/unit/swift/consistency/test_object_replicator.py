"""The object replicator against in-process object servers (real rsync,
copying straight into the peer's device directory)."""

import os
import time

from webob import Request

from swift.common.utils import hash_path, read_metadata
from swift.obj import diskfile
from swift.obj.replicator import ObjectReplicator
from swift.obj.server import ObjectController
from tests.unit.swift.consistency.conftest import point_rsync_at_local_devices


def put_object(nodes, index, part, name, body=b'data', timestamp=None):
    server = ObjectController(nodes.conf_for_app(index))
    resp = Request.blank(
        '/sd%d/%d/a/c/%s' % (index, part, name), method='PUT', body=body,
        headers={'X-Timestamp': str(timestamp or time.time()),
                 'Content-Type': 'text/plain',
                 'Content-Length': str(len(body))}).get_response(server)
    assert resp.status_int == 201, resp.body


def hash_dir(nodes, index, part, name):
    name_hash = hash_path('a', 'c', name)
    return os.path.join(nodes.device_path(index), 'objects', str(part),
                        name_hash[-3:], name_hash)


def files(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def replicator_for(nodes, index, **conf):
    return point_rsync_at_local_devices(
        ObjectReplicator(nodes.conf(index, 'object', **conf)), nodes)


def test_missing_suffixes_are_pushed_with_their_metadata(nodes):
    ring = nodes.serve('object')
    part, primaries = ring.get_nodes('a', 'c', 'o')
    first, second, third = [nodes.index_of(n) for n in primaries]
    put_object(nodes, first, part, 'o', b'hello')
    put_object(nodes, second, part, 'o', b'hello',
               timestamp=float(files(hash_dir(nodes, first, part, 'o'))[0]
                               [:-5]))

    stats = replicator_for(nodes, first).run_once()
    assert stats['rsyncs'] == 1 and stats['suffixes_synced'] == 1, stats
    wanted = files(hash_dir(nodes, first, part, 'o'))
    for index in (second, third):
        assert files(hash_dir(nodes, index, part, 'o')) == wanted
    copied = os.path.join(hash_dir(nodes, third, part, 'o'), wanted[0])
    with open(copied, 'rb') as fp:
        assert fp.read() == b'hello'
    assert read_metadata(copied)['name'] == '/a/c/o'
    # the peer recomputed its hashes: a second pass finds nothing to do
    part_dir = os.path.join(nodes.device_path(first), 'objects', str(part))
    assert diskfile.get_hashes(os.path.join(
        nodes.device_path(third), 'objects', str(part))) == \
        diskfile.get_hashes(part_dir)
    stats = replicator_for(nodes, first).run_once()
    assert stats['rsyncs'] == 0 and stats['failures'] == 0, stats


def test_newer_version_replaces_older_on_peer(nodes):
    ring = nodes.serve('object')
    part, primaries = ring.get_nodes('a', 'c', 'o')
    first, second = [nodes.index_of(n) for n in primaries[:2]]
    put_object(nodes, second, part, 'o', b'old', timestamp=100)
    put_object(nodes, first, part, 'o', b'new', timestamp=200)
    replicator_for(nodes, first).run_once()
    # the peer cleans the older .data when it rehashes the suffix
    assert files(hash_dir(nodes, second, part, 'o')) == \
        ['0000000200.00000.data']


def test_handoff_partition_pushed_then_removed(nodes):
    ring = nodes.serve('object')
    part, primaries = ring.get_nodes('a', 'c', 'o')
    handoff = next(nodes.index_of(n) for n in ring.get_more_nodes(part))
    put_object(nodes, handoff, part, 'o', b'while a primary was down')
    stats = replicator_for(nodes, handoff).run_once()
    assert stats['handoff'] == 1 and stats['handoffs_removed'] == 1, stats
    assert not os.path.exists(os.path.join(nodes.device_path(handoff),
                                           'objects', str(part)))
    for node in primaries:
        assert len(files(hash_dir(nodes, nodes.index_of(node), part,
                                  'o'))) == 1


def test_handoff_kept_when_a_primary_fails(nodes):
    ring = nodes.serve('object')
    part, primaries = ring.get_nodes('a', 'c', 'o')
    handoff = next(nodes.index_of(n) for n in ring.get_more_nodes(part))
    put_object(nodes, handoff, part, 'o')
    _port, sock, thread = nodes.servers['object'][
        nodes.index_of(primaries[1]) - 1]
    thread.kill()
    sock.close()
    stats = replicator_for(nodes, handoff).run_once()
    assert stats['handoffs_removed'] == 0 and stats['failures'] >= 1
    assert len(files(hash_dir(nodes, handoff, part, 'o'))) == 1


def test_unmounted_primary_is_replaced_by_a_handoff(nodes):
    ring = nodes.serve('object')
    part, primaries = ring.get_nodes('a', 'c', 'o')
    first = nodes.index_of(primaries[0])
    put_object(nodes, first, part, 'o')
    # restart one peer's server with mount_check: its device is a plain
    # directory, not a mount point, so it answers 507
    broken = nodes.index_of(primaries[1])
    port, sock, thread = nodes.servers['object'][broken - 1]
    conf = nodes.conf_for_app(broken)
    conf['mount_check'] = 'true'
    import eventlet.wsgi
    thread.kill()
    thread = eventlet.spawn(eventlet.wsgi.server, sock,
                            ObjectController(conf), log_output=False)
    nodes.servers['object'][broken - 1] = (port, sock, thread)
    replicator_for(nodes, first).run_once()
    handoff = next(nodes.index_of(n) for n in ring.get_more_nodes(part))
    assert len(files(hash_dir(nodes, handoff, part, 'o'))) == 1
    assert files(hash_dir(nodes, broken, part, 'o')) == []


def test_old_tombstones_are_reclaimed(nodes):
    ring = nodes.serve('object')
    part, primaries = ring.get_nodes('a', 'c', 'o')
    first = nodes.index_of(primaries[0])
    server = ObjectController(nodes.conf_for_app(first))
    for name, ts in (('old', time.time() - 7200), ('new', time.time())):
        put_object(nodes, first, part, name, timestamp=ts - 1)
        resp = Request.blank('/sd%d/%d/a/c/%s' % (first, part, name),
                             method='DELETE',
                             headers={'X-Timestamp': str(ts)}).get_response(
            server)
        assert resp.status_int == 204
    # hashes.json already caches both suffixes: the first pass's full
    # rehash is what finds the old tombstone
    diskfile.get_hashes(os.path.join(nodes.device_path(first), 'objects',
                                     str(part)))
    replicator_for(nodes, first, reclaim_age=3600).run_once()
    assert files(hash_dir(nodes, first, part, 'old')) == []
    assert len(files(hash_dir(nodes, first, part, 'new'))) == 1
    # the recent tombstone was spread, the reclaimed one was not
    second = nodes.index_of(primaries[1])
    assert files(hash_dir(nodes, second, part, 'old')) == []
    assert files(hash_dir(nodes, second, part, 'new'))[0].endswith('.ts')


def test_rsync_args_for_a_daemon(nodes):
    nodes.serve('object')
    replicator = ObjectReplicator(nodes.conf(
        1, 'object', vm_test_mode='yes', rsync_port=8730))
    node = {'ip': '127.0.0.1', 'port': 6010, 'device': 'sdb1'}
    args = replicator.rsync_args(['/srv/node/sda/./objects/1/abc'],
                                 replicator.rsync_target(node))
    assert args[0] == 'rsync' and '--xattrs' in args
    assert '--port=8730' in args and '--contimeout=1' in args
    assert args[-1] == '127.0.0.1::object6010/sdb1'
    v6 = {'ip': 'fd00::1', 'port': 6000, 'device': 'd'}
    replicator.vm_test_mode = False
    assert replicator.rsync_target(v6) == '[fd00::1]::object/d'
