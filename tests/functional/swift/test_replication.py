"""Replicators, auditor and reaper repairing a real cluster.

The cluster (tests/functional/swift/cluster.py) is started for this module
alone, with one extra tempauth user holding ``.reseller_admin`` (account
DELETE through the proxy needs one), plus an rsync daemon on a free
loopback port with one module per storage server (``object<port>``,
``container<port>``, ``account<port>``: the replicators' vm_test_mode).
The daemons run as real processes, ``bin/swift-*-replicator CONF once``,
with configs written next to the cluster's.
"""

import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import quote, urlparse

import pytest

from tests.functional.swift.cluster import BIN, SwiftCluster, free_port

RESELLER = ('reseller:admin', 'secret')
DAEMON_TIMEOUT = 180
RSYNC_START_TIMEOUT = 20


class ReplicationCluster(SwiftCluster):
    """The standard cluster plus a reseller admin and an rsync daemon."""

    def setup(self):
        super().setup()
        with open(self.proxy.conf_path, encoding='utf-8') as f:
            text = f.read()
        text = text.replace('[filter:tempauth]\n', '[filter:tempauth]\n'
                            'user_reseller_admin = %s .reseller_admin\n'
                            % RESELLER[1], 1)
        with open(self.proxy.conf_path, 'w', encoding='utf-8') as f:
            f.write(text)
        self.proxy.stop()
        self.proxy.start()
        self.users[RESELLER[0]] = (RESELLER[1], '.reseller_admin')
        self.rsync_port = free_port()
        self.rsync_proc = None
        self.start_rsync()
        self.write_daemon_configs()

    def start_rsync(self):
        conf = os.path.join(self.root, 'conf', 'rsyncd.conf')
        lines = ['uid = root', 'gid = root', 'use chroot = no',
                 'address = 127.0.0.1', 'port = %d' % self.rsync_port,
                 'log file = %s' % os.path.join(self.log_dir, 'rsyncd.log'),
                 '']
        for node in self.nodes:
            for kind in ('account', 'container', 'object'):
                lines += ['[%s%d]' % (kind, node.port(kind)),
                          'path = %s' % node.devices, 'read only = false',
                          '']
        with open(conf, 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines))
        self.rsync_proc = subprocess.Popen(
            ['rsync', '--daemon', '--no-detach', '--config=%s' % conf],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + RSYNC_START_TIMEOUT
        while True:
            if self.rsync_proc.poll() is not None:
                raise RuntimeError('rsync daemon exited with %s'
                                   % self.rsync_proc.returncode)
            try:
                socket.create_connection(('127.0.0.1', self.rsync_port),
                                         timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError('rsync daemon did not listen')
                time.sleep(0.1)

    def stop_rsync(self):
        proc, self.rsync_proc = getattr(self, 'rsync_proc', None), None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: pid == pgid
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def daemon_conf(self, node, kind):
        return os.path.join(self.root, 'conf', '%s-daemons-%d.conf'
                            % (kind, node.index))

    def write_daemon_configs(self):
        for node in self.nodes:
            for kind in ('account', 'container', 'object'):
                with open(self.daemon_conf(node, kind), 'w',
                          encoding='utf-8') as f:
                    f.write(
                        '[DEFAULT]\ndevices = %s\nmount_check = false\n'
                        'bind_ip = 127.0.0.1\nbind_port = %d\n'
                        'swift_dir = %s\nlog_level = DEBUG\n\n'
                        '[%s-replicator]\nvm_test_mode = yes\n'
                        'rsync_port = %d\nconcurrency = 2\n\n'
                        '[%s-auditor]\nfiles_per_second = 0\n'
                        'bytes_per_second = 0\ndbs_per_second = 0\n\n'
                        '[account-reaper]\n'
                        % (node.devices, node.port(kind), self.swift_dir,
                           kind, self.rsync_port, kind))

    def run_daemon(self, kind, daemon, node):
        """``bin/swift-<kind>-<daemon> CONF once`` for one node."""
        proc = subprocess.run(
            [sys.executable, os.path.join(BIN, 'swift-%s-%s' % (kind, daemon)),
             self.daemon_conf(node, kind), 'once'],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=self.env, timeout=DAEMON_TIMEOUT)
        output = proc.stdout.decode('utf-8', 'replace')
        assert proc.returncode == 0, output
        return output

    def teardown(self):
        try:
            self.stop_rsync()
        finally:
            super().teardown()


@pytest.fixture(scope='module')
def cluster():
    cluster = ReplicationCluster()
    try:
        cluster.setup()
    except BaseException:
        logs = cluster.logs()
        cluster.teardown()
        pytest.fail('the replication cluster did not start:\n' + logs,
                    pytrace=False)
    try:
        yield cluster
    finally:
        cluster.teardown()


@pytest.fixture
def swift(cluster, monkeypatch):
    """The cluster healed, with ring lookups here hashing as it does."""
    from swift.common import utils
    monkeypatch.setattr(utils, 'HASH_PATH_SUFFIX',
                        cluster.hash_suffix.encode())
    monkeypatch.setattr(utils, '_hash_suffix_loaded', True)
    cluster.heal()
    yield cluster
    cluster.heal()


# -- helpers -----------------------------------------------------------------

def request(port, method, path, headers=None, body=None, timeout=15,
            query=''):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request(method, quote(path) + (query and '?' + query),
                     body=body, headers=headers or {})
        resp = conn.getresponse()
        return (resp.status, {k.lower(): v for k, v in resp.getheaders()},
                resp.read())
    finally:
        conn.close()


def proxy(cluster, method, path, user='test:tester', headers=None,
          body=None):
    storage_url, token = cluster.get_auth(user)
    headers = dict(headers or {}, **{'X-Auth-Token': token})
    if not path.startswith('/v1/'):
        path = urlparse(storage_url).path + path
    return request(cluster.proxy.port, method, path, headers, body)


def account_of(cluster, user='test:tester'):
    return urlparse(cluster.get_auth(user)[0]).path.rstrip('/').split('/')[-1]


def node_of(cluster, ring_node):
    return cluster.node(int(ring_node['device'][len('sdb'):]))


def object_files(cluster, ring_node, part, account, container, obj):
    from swift.common.utils import hash_path
    name_hash = hash_path(account, container, obj)
    hash_dir = os.path.join(node_of(cluster, ring_node).device_path,
                            'objects', str(part), name_hash[-3:], name_hash)
    return sorted(os.listdir(hash_dir)) if os.path.isdir(hash_dir) else []


def data_path(cluster, ring_node, part, account, container, obj):
    from swift.common.utils import hash_path
    name_hash = hash_path(account, container, obj)
    files = object_files(cluster, ring_node, part, account, container, obj)
    datas = [f for f in files if f.endswith('.data')]
    assert datas, 'no .data on %s' % ring_node
    return os.path.join(node_of(cluster, ring_node).device_path, 'objects',
                        str(part), name_hash[-3:], name_hash, datas[-1])


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


# -- tests -----------------------------------------------------------------

def test_object_missed_while_down_is_replicated_back(swift):
    account = account_of(swift)
    container, obj = unique('repl'), 'obj'
    assert proxy(swift, 'PUT', '/' + container)[0] == 201
    part, primaries = swift.ring('object').get_nodes(account, container, obj)
    down = node_of(swift, primaries[0])
    swift.stop_object_server(down.index)
    body = os.urandom(70000)
    status, _h, _b = proxy(swift, 'PUT', '/%s/%s' % (container, obj),
                           body=body)
    assert status == 201
    swift.start_object_server(down.index)
    assert object_files(swift, primaries[0], part, account, container,
                        obj) == []

    output = swift.run_daemon('object', 'replicator',
                              node_of(swift, primaries[1]))
    files = object_files(swift, primaries[0], part, account, container, obj)
    assert len(files) == 1 and files[0].endswith('.data'), output
    status, headers, got = request(
        down.port('object'), 'GET', '/%s/%d/%s/%s/%s' % (
            down.device, part, account, container, obj))
    assert status == 200 and got == body
    assert headers['etag'] == hashlib.md5(body).hexdigest()

    # The hand-off that took the write meanwhile pushes and drops it.
    handoffs = [n for n in swift.ring('object').get_more_nodes(part)
                if object_files(swift, n, part, account, container, obj)]
    for handoff in handoffs:
        swift.run_daemon('object', 'replicator', node_of(swift, handoff))
        assert object_files(swift, handoff, part, account, container,
                            obj) == []


def test_corrupt_object_is_quarantined_and_restored(swift):
    account = account_of(swift)
    container, obj = unique('rot'), 'victim'
    assert proxy(swift, 'PUT', '/' + container)[0] == 201
    body = b'precious bytes ' * 1000
    assert proxy(swift, 'PUT', '/%s/%s' % (container, obj),
                 body=body)[0] == 201
    part, primaries = swift.ring('object').get_nodes(account, container, obj)
    victim = primaries[2]
    path = data_path(swift, victim, part, account, container, obj)
    with open(path, 'r+b') as fp:
        fp.seek(100)
        fp.write(b'ROT')

    output = swift.run_daemon('object', 'auditor', node_of(swift, victim))
    assert not os.path.exists(path), output
    quarantined = os.path.join(node_of(swift, victim).device_path,
                               'quarantined', 'objects',
                               os.path.basename(os.path.dirname(path)),
                               os.path.basename(path))
    assert os.path.exists(quarantined), output

    output = swift.run_daemon('object', 'replicator',
                              node_of(swift, primaries[0]))
    assert os.path.exists(path), output
    with open(path, 'rb') as fp:
        assert fp.read() == body
    node = node_of(swift, victim)
    status, _h, got = request(node.port('object'), 'GET', '/%s/%d/%s/%s/%s'
                              % (node.device, part, account, container, obj))
    assert status == 200 and got == body


def test_missing_container_db_is_recreated(swift):
    account = account_of(swift)
    container = unique('dbrepl')
    assert proxy(swift, 'PUT', '/' + container)[0] == 201
    for name in ('a', 'b'):
        assert proxy(swift, 'PUT', '/%s/%s' % (container, name),
                     body=b'x')[0] == 201
    part, primaries = swift.ring('container').get_nodes(account, container)
    lost = node_of(swift, primaries[1])
    from swift.common.utils import hash_path, storage_directory
    name_hash = hash_path(account, container)
    db_dir = storage_directory(os.path.join(lost.device_path, 'containers'),
                               part, name_hash)
    for name in os.listdir(db_dir):
        os.unlink(os.path.join(db_dir, name))
    os.rmdir(db_dir)
    path = '/%s/%d/%s/%s' % (lost.device, part, account, container)
    assert request(lost.port('container'), 'HEAD', path)[0] == 404

    output = swift.run_daemon('container', 'replicator',
                              node_of(swift, primaries[0]))
    status, headers, _b = request(lost.port('container'), 'HEAD', path)
    assert status == 204, output
    assert headers['x-container-object-count'] == '2'
    status, _h, listing = request(lost.port('container'), 'GET', path,
                                  query='format=json')
    assert [o['name'] for o in json.loads(listing)] == ['a', 'b']


def test_deleted_account_is_reaped(swift):
    account = 'AUTH_doomed%s' % uuid.uuid4().hex[:6]
    base = '/v1/' + account
    assert proxy(swift, 'PUT', base, RESELLER[0])[0] in (201, 202)
    objects = []
    for container in ('c1', 'c2'):
        assert proxy(swift, 'PUT', '%s/%s' % (base, container),
                     RESELLER[0])[0] == 201
        for name in ('x', 'y/z'):
            assert proxy(swift, 'PUT', '%s/%s/%s' % (base, container, name),
                         RESELLER[0], body=b'data')[0] == 201
            objects.append((container, name))
    status = proxy(swift, 'DELETE', base, RESELLER[0])[0]
    assert status == 204
    apart, anodes = swift.ring('account').get_nodes(account)
    for ring_node in anodes:
        node = node_of(swift, ring_node)
        assert request(node.port('account'), 'HEAD', '/%s/%d/%s' % (
            node.device, apart, account))[0] == 404
    output = swift.run_daemon('account', 'reaper', node_of(swift, anodes[0]))
    for container, name in objects:
        part, nodes = swift.ring('object').get_nodes(account, container,
                                                     name)
        for ring_node in nodes:
            node = node_of(swift, ring_node)
            status = request(node.port('object'), 'HEAD', '/%s/%d/%s/%s/%s'
                             % (node.device, part, account, container,
                                name))[0]
            assert status == 404, output
    for container in ('c1', 'c2'):
        part, nodes = swift.ring('container').get_nodes(account, container)
        for ring_node in nodes:
            node = node_of(swift, ring_node)
            status = request(node.port('container'), 'HEAD', '/%s/%d/%s/%s'
                             % (node.device, part, account, container))[0]
            assert status == 404, output
    # the account's own replicas learn that its containers are gone
    output = swift.run_daemon('account', 'replicator',
                              node_of(swift, anodes[0]))
    from swift.common.db import AccountBroker
    from swift.common.utils import hash_path, storage_directory
    name_hash = hash_path(account)
    for ring_node in anodes:
        db_file = os.path.join(storage_directory(os.path.join(
            node_of(swift, ring_node).device_path, 'accounts'), apart,
            name_hash), name_hash + '.db')
        info = AccountBroker(db_file).get_info()
        assert info['status'] == 'DELETED'
        assert info['container_count'] == 0, output
