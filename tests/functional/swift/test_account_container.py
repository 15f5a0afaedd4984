"""Account and container servers as real processes, driven over HTTP."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import quote

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
START_TIMEOUT = 30


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def request(port, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        conn.request(method, quote(path, safe='/?=&'), body=body,
                     headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


class Server:
    def __init__(self, kind, root, workers):
        self.kind = kind
        self.port = free_port()
        self.conf = os.path.join(root, '%s-server.conf' % kind)
        self.log = os.path.join(root, '%s.log' % kind)
        with open(self.conf, 'w') as f:
            f.write('[DEFAULT]\ndevices = %s\nmount_check = false\n'
                    'bind_ip = 127.0.0.1\nbind_port = %d\nworkers = %d\n'
                    'swift_dir = %s\nlog_level = DEBUG\n\n'
                    '[pipeline:main]\npipeline = %s-server\n\n'
                    '[app:%s-server]\n'
                    'paste.app_factory = swift.%s.server:app_factory\n'
                    % (os.path.join(root, 'node'), self.port, workers, root,
                       kind, kind, kind))
        self.proc = None

    def start(self):
        with open(self.log, 'ab') as log:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.join(ROOT, 'bin',
                                              'swift-%s-server' % self.kind),
                 self.conf], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError('%s server exited:\n%s'
                                     % (self.kind, self.log_text()))
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError('%s server did not start:\n%s'
                             % (self.kind, self.log_text()))

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log_text(self):
        try:
            with open(self.log, encoding='utf-8', errors='replace') as f:
                return f.read()[-4000:]
        except OSError:
            return ''


@pytest.fixture
def servers(tmp_path):
    root = str(tmp_path)
    with open(os.path.join(root, 'swift.conf'), 'w') as f:
        f.write('[swift-hash]\nswift_hash_path_suffix = functest\n')
    os.makedirs(os.path.join(root, 'node', 'sda'))
    account = Server('account', root, workers=1)
    container = Server('container', root, workers=2)
    try:
        account.start()
        container.start()
        yield account, container
    finally:
        container.stop()
        account.stop()


def test_account_and_container_over_http(servers):
    account, container = servers
    a_port, c_port = account.port, container.port
    acct_headers = {'X-Account-Host': '127.0.0.1:%d' % a_port,
                    'X-Account-Partition': '3', 'X-Account-Device': 'sda'}

    # the account must exist before containers are reported to it
    status, _h, _b = request(c_port, 'PUT', '/sda/5/AUTH_t/cont',
                             dict(acct_headers, **{'X-Timestamp': '1'}))
    assert status == 404
    status, _h, _b = request(a_port, 'PUT', '/sda/3/AUTH_t', {
        'X-Timestamp': '1', 'X-Account-Meta-Owner': 'tester'})
    assert status == 201

    for name in ('cont', 'caf\u00e9'):
        status, _h, _b = request(c_port, 'PUT', '/sda/5/AUTH_t/' + name,
                                 dict(acct_headers, **{
                                     'X-Timestamp': '2',
                                     'X-Container-Meta-Kind': 'test'}))
        assert status in (201, 202), container.log_text()

    for i, name in enumerate(('a/1', 'a/2', 'b', '\u00f6')):
        status, _h, _b = request(c_port, 'PUT', '/sda/5/AUTH_t/cont/' + name, {
            'X-Timestamp': '3.%d' % i, 'X-Size': str(10 + i),
            'X-Content-Type': 'text/plain', 'X-Etag': 'etag%d' % i})
        assert status == 201

    status, headers, body = request(c_port, 'GET',
                                    '/sda/5/AUTH_t/cont?format=json&delimiter=/')
    assert status == 200
    listing = json.loads(body)
    assert [e.get('name', e.get('subdir')) for e in listing] == \
        ['a/', 'b', '\u00f6']
    assert listing[1]['bytes'] == 12 and listing[1]['hash'] == 'etag2'
    assert headers['X-Container-Object-Count'] == '4'
    assert headers['X-Container-Bytes-Used'] == str(10 + 11 + 12 + 13)
    assert headers['X-Container-Meta-Kind'] == 'test'

    status, _h, body = request(c_port, 'GET', '/sda/5/AUTH_t/cont?path=a')
    assert (status, body) == (200, b'a/1\na/2\n')

    status, headers, body = request(a_port, 'GET', '/sda/3/AUTH_t')
    assert status == 200
    assert body.decode('utf-8') == 'caf\u00e9\ncont\n'
    assert headers['X-Account-Container-Count'] == '2'
    assert headers['X-Account-Meta-Owner'] == 'tester'

    status, _h, _b = request(c_port, 'DELETE', '/sda/5/AUTH_t/cont',
                             dict(acct_headers, **{'X-Timestamp': '4'}))
    assert status == 409
    for i, name in enumerate(('a/1', 'a/2', 'b', '\u00f6')):
        status, _h, _b = request(c_port, 'DELETE',
                                 '/sda/5/AUTH_t/cont/' + name,
                                 {'X-Timestamp': '5.%d' % i})
        assert status == 204
    status, _h, _b = request(c_port, 'GET', '/sda/5/AUTH_t/cont')
    assert status == 204
    status, _h, _b = request(c_port, 'DELETE', '/sda/5/AUTH_t/cont',
                             dict(acct_headers, **{'X-Timestamp': '6'}))
    assert status == 204
    status, _h, _b = request(c_port, 'HEAD', '/sda/5/AUTH_t/cont')
    assert status == 404

    status, _h, body = request(a_port, 'GET', '/sda/3/AUTH_t?format=json')
    assert [c['name'] for c in json.loads(body)] == ['caf\u00e9']

    status, _h, _b = request(a_port, 'GET', '/sda/3/AUTH_t?limit=10001')
    assert status == 412
    status, _h, _b = request(a_port, 'COPY', '/sda/3/AUTH_t')
    assert status == 405


def test_sigterm_stops_workers(servers):
    _account, container = servers
    # the socket listens before the workers are forked: wait for them
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        children = subprocess.run(
            ['ps', '--ppid', str(container.proc.pid), '-o', 'pid='],
            capture_output=True, text=True, timeout=10).stdout.split()
        if len(children) == 2:
            break
        time.sleep(0.2)
    assert len(children) == 2
    assert request(container.port, 'HEAD', '/sda/1/a/c')[0] == 404
    container.stop()
    assert container.proc.returncode is not None
    for pid in children:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail('worker %s outlived its parent' % pid)
