"""bin/swift-object-server and bin/swift-object-updater as real processes.

The object server runs on a free loopback port with its own devices tree;
container updates go to a small recording HTTP server in this test process
(standing in for a container server), or to a port nothing listens on to
exercise the async pending + updater path.
"""

import hashlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
BIN = os.path.join(ROOT, 'bin')
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
MiB = 1024 * 1024


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def vm_rss_kib(pid):
    with open('/proc/%d/status' % pid) as fp:
        for line in fp:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise AssertionError('no VmRSS for pid %d' % pid)


class Recorder:
    """A stand-in container server that records what it is sent."""

    def __init__(self):
        self.requests = []
        self.status = 201
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self):
                length = int(self.headers.get('Content-Length') or 0)
                if length:
                    self.rfile.read(length)
                recorder.requests.append({
                    'method': self.command, 'path': self.path,
                    'headers': dict(self.headers.items())})
                self.send_response(recorder.status)
                self.send_header('Content-Length', '0')
                self.end_headers()

            do_PUT = do_DELETE = _record

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={'poll_interval': 0.1},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class ObjectServerProcess:
    """One object server (workers = 0: the pid we watch serves requests)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='objsrv-')
        self.devices = os.path.join(self.dir, 'devices')
        os.makedirs(os.path.join(self.devices, 'sda1'))
        self.port = free_port()
        self.conf = os.path.join(self.dir, 'object-server.conf')
        with open(os.path.join(self.dir, 'swift.conf'), 'w') as fp:
            fp.write('[swift-hash]\nswift_hash_path_suffix = %s\n'
                     % uuid.uuid4().hex)
        with open(self.conf, 'w') as fp:
            fp.write(
                '[DEFAULT]\ndevices = %s\nmount_check = false\n'
                'bind_ip = 127.0.0.1\nbind_port = %d\nworkers = 0\n'
                'swift_dir = %s\nlog_level = INFO\n\n'
                '[pipeline:main]\npipeline = object-server\n\n'
                '[app:object-server]\n'
                'paste.app_factory = swift.obj.server:app_factory\n'
                'node_timeout = 5\nconn_timeout = 1\n\n'
                '[object-updater]\ninterval = 1\nslowdown = 0\n'
                'node_timeout = 5\nconn_timeout = 1\n'
                % (self.devices, self.port, self.dir))
        self.log_path = os.path.join(self.dir, 'object-server.log')
        self.proc = None

    def env(self):
        env = dict(os.environ)
        env['PYTHONPATH'] = ROOT
        env['SWIFT_DIR'] = self.dir
        return env

    def start(self):
        log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(BIN, 'swift-object-server'),
             self.conf], stdout=log, stderr=subprocess.STDOUT,
            env=self.env(), start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError('object server exited:\n' + self.log())
            try:
                self.request('HEAD', '/sda1/0/a/c/probe')
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError('object server did not answer:\n' + self.log())

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, errors='replace') as fp:
                return fp.read()[-5000:]
        except OSError:
            return ''

    def connection(self):
        return http.client.HTTPConnection('127.0.0.1', self.port,
                                          timeout=60)

    def request(self, method, path, headers=None, body=None):
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def files_under(self, *parts):
        found = []
        for root, _, files in os.walk(os.path.join(self.devices, 'sda1',
                                                   *parts)):
            found.extend(os.path.join(root, f) for f in files)
        return found


@pytest.fixture
def objsrv():
    server = ObjectServerProcess()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def recorder():
    rec = Recorder()
    yield rec
    rec.stop()


_clock = [time.time() - 1000]


def ts():
    _clock[0] += 1
    return '%016.05f' % _clock[0]


def pattern_chunks(total, chunk=64 * 1024):
    """Deterministic body pieces, generated on the fly (never all in RAM)."""
    block = hashlib.sha256(b'swift').digest() * (chunk // 32)
    sent = 0
    while sent < total:
        piece = block[:min(chunk, total - sent)]
        sent += len(piece)
        yield piece


def test_large_put_and_get_stream_without_growing_memory(objsrv):
    size = 80 * MiB + 123
    # Warm up: the first requests import and allocate what any will need.
    for _ in range(2):
        status, _, _ = objsrv.request('PUT', '/sda1/0/a/c/warm', {
            'X-Timestamp': ts(), 'Content-Type': 'text/plain',
            'Content-Length': str(MiB)}, b'w' * MiB)
        assert status == 201
        assert len(objsrv.request('GET', '/sda1/0/a/c/warm')[2]) == MiB
    before = vm_rss_kib(objsrv.proc.pid)

    md5 = hashlib.md5()
    conn = objsrv.connection()
    conn.putrequest('PUT', '/sda1/0/a/c/big')
    conn.putheader('X-Timestamp', ts())
    conn.putheader('Content-Type', 'application/octet-stream')
    conn.putheader('Content-Length', str(size))
    conn.endheaders()
    for piece in pattern_chunks(size):
        md5.update(piece)
        conn.send(piece)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 201
    assert resp.getheader('ETag') == md5.hexdigest()
    after_put = vm_rss_kib(objsrv.proc.pid)

    conn = objsrv.connection()
    conn.request('GET', '/sda1/0/a/c/big')
    resp = conn.getresponse()
    assert resp.status == 200
    assert int(resp.getheader('Content-Length')) == size
    got = hashlib.md5()
    received = 0
    while True:
        piece = resp.read(256 * 1024)
        if not piece:
            break
        received += len(piece)
        got.update(piece)
    conn.close()
    after_get = vm_rss_kib(objsrv.proc.pid)
    assert received == size
    assert got.hexdigest() == md5.hexdigest()
    growth_mib = (max(after_put, after_get) - before) / 1024.0
    assert growth_mib < 30, 'object server RSS grew by %.1f MiB' % growth_mib
    assert objsrv.files_under('tmp') == []


def test_chunked_put_ranges_and_conditionals_over_http(objsrv):
    body = bytes(range(256)) * 400
    conn = objsrv.connection()
    conn.request('PUT', '/sda1/0/a/c/chunked',
                 body=(body[i:i + 1000] for i in range(0, len(body), 1000)),
                 headers={'X-Timestamp': ts(), 'Content-Type': 'text/x',
                          'X-Object-Meta-Kind': 'chunky'},
                 encode_chunked=True)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 201
    etag = hashlib.md5(body).hexdigest()
    assert resp.getheader('ETag') == etag

    status, headers, got = objsrv.request('GET', '/sda1/0/a/c/chunked')
    assert (status, got) == (200, body)
    assert headers['X-Object-Meta-Kind'] == 'chunky'
    assert headers['Content-Length'] == str(len(body))

    status, headers, got = objsrv.request('GET', '/sda1/0/a/c/chunked',
                                          {'Range': 'bytes=100-199'})
    assert (status, got) == (206, body[100:200])
    assert headers['Content-Range'] == 'bytes 100-199/%d' % len(body)

    status, headers, got = objsrv.request('GET', '/sda1/0/a/c/chunked',
                                          {'Range': 'bytes=0-9,-10'})
    assert status == 206
    assert headers['Content-Type'].startswith('multipart/byteranges')
    assert body[:10] in got and body[-10:] in got
    assert int(headers['Content-Length']) == len(got)

    status, headers, _ = objsrv.request('GET', '/sda1/0/a/c/chunked',
                                        {'Range': 'bytes=999999-'})
    assert status == 416
    assert headers['Content-Range'] == 'bytes */%d' % len(body)

    assert objsrv.request('GET', '/sda1/0/a/c/chunked',
                          {'If-None-Match': etag})[0] == 304
    assert objsrv.request('GET', '/sda1/0/a/c/chunked',
                          {'If-Match': '"nope"'})[0] == 412
    assert objsrv.request('HEAD', '/sda1/0/a/c/chunked',
                          {'If-Match': etag})[0] == 200


def test_expect_100_continue_as_the_proxy_sends_it(objsrv):
    from swift.common.bufferedhttp import http_connect
    newer = ts()
    conn = http_connect('127.0.0.1', objsrv.port, 'sda1', '0', 'PUT',
                        '/a/c/expect', {'X-Timestamp': newer,
                                        'Content-Type': 'text/plain',
                                        'Content-Length': '5',
                                        'Expect': '100-continue'})
    assert conn.getexpect().status == 100
    conn.send(b'hello')
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 201
    # A write the server will refuse is refused before the body is sent.
    conn = http_connect('127.0.0.1', objsrv.port, 'sda1', '0', 'PUT',
                        '/a/c/expect', {'X-Timestamp': '1.00000',
                                        'Content-Type': 'text/plain',
                                        'Content-Length': '5',
                                        'Expect': '100-continue'})
    assert conn.getexpect().status == 409
    conn.close()
    assert objsrv.request('GET', '/sda1/0/a/c/expect')[2] == b'hello'


def test_client_disconnect_leaves_no_temp_file(objsrv):
    sock = socket.create_connection(('127.0.0.1', objsrv.port), timeout=10)
    sock.sendall(('PUT /sda1/0/a/c/cut HTTP/1.1\r\nHost: x\r\n'
                  'X-Timestamp: %s\r\nContent-Type: text/plain\r\n'
                  'Content-Length: %d\r\n\r\n' % (ts(), 4 * MiB)).encode())
    sock.sendall(b'x' * (512 * 1024))
    sock.close()
    # The server notices the short body when it reads EOF; poll (bounded)
    # until it has cleaned up and answered the next request.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and objsrv.files_under('tmp'):
        time.sleep(0.1)
    assert objsrv.files_under('tmp') == []
    assert objsrv.request('GET', '/sda1/0/a/c/cut')[0] == 404
    assert objsrv.files_under('objects') == []


def test_put_and_delete_update_the_container_server(objsrv, recorder):
    headers = {'X-Container-Host': '127.0.0.1:%d' % recorder.port,
               'X-Container-Partition': '7',
               'X-Container-Device': 'sdb1',
               'X-Trans-Id': 'tx-func'}
    put_ts = ts()
    status, _, _ = objsrv.request('PUT', '/sda1/0/a/c/listed', dict(
        headers, **{'X-Timestamp': put_ts, 'Content-Type': 'text/plain'}),
        b'twelve bytes')
    assert status == 201
    del_ts = ts()
    status, _, _ = objsrv.request('DELETE', '/sda1/0/a/c/listed', dict(
        headers, **{'X-Timestamp': del_ts}))
    assert status == 204
    assert [(r['method'], r['path']) for r in recorder.requests] == [
        ('PUT', '/sdb1/7/a/c/listed'), ('DELETE', '/sdb1/7/a/c/listed')]
    put_req = recorder.requests[0]['headers']
    assert put_req['X-Timestamp'] == put_ts
    assert put_req['X-Size'] == '12'
    assert put_req['X-Content-Type'] == 'text/plain'
    assert put_req['X-Etag'] == hashlib.md5(b'twelve bytes').hexdigest()
    assert put_req['X-Trans-Id'] == 'tx-func'
    assert recorder.requests[1]['headers']['X-Timestamp'] == del_ts
    assert objsrv.files_under('async_pending') == []


def test_container_down_then_updater_replays(objsrv, recorder):
    dead_port = free_port()  # nothing listens there
    put_ts = ts()
    status, _, _ = objsrv.request('PUT', '/sda1/0/a/c/later', {
        'X-Timestamp': put_ts, 'Content-Type': 'text/plain',
        'X-Container-Host': '127.0.0.1:%d' % dead_port,
        'X-Container-Partition': '3', 'X-Container-Device': 'sdb1'},
        b'abc')
    assert status == 201  # the object is stored; only the listing lags
    pending = objsrv.files_under('async_pending')
    assert len(pending) == 1
    with open(pending[0]) as fp:
        record = json.load(fp)
    assert record['op'] == 'PUT' and record['obj'] == 'later'
    assert record['headers']['X-Timestamp'] == put_ts

    # The cluster's container ring now names our recorder as the replica.
    from swift.common.ring import RingBuilder
    builder = RingBuilder(2, 1, 1)
    builder.add_dev({'zone': 1, 'weight': 1, 'ip': '127.0.0.1',
                     'port': recorder.port, 'device': 'sdc1'})
    builder.rebalance()
    builder.get_ring().save(os.path.join(objsrv.dir, 'container.ring.gz'))

    # First pass: the container server refuses; the record must stay.
    recorder.status = 503
    run = subprocess.run(
        [sys.executable, os.path.join(BIN, 'swift-object-updater'),
         objsrv.conf, 'once'], env=objsrv.env(), capture_output=True,
        timeout=60)
    assert run.returncode == 0, run.stderr.decode()
    assert len(recorder.requests) == 1
    assert objsrv.files_under('async_pending') == pending

    recorder.status = 201
    run = subprocess.run(
        [sys.executable, os.path.join(BIN, 'swift-object-updater'),
         objsrv.conf, 'once'], env=objsrv.env(), capture_output=True,
        timeout=60)
    assert run.returncode == 0, run.stderr.decode()
    assert len(recorder.requests) == 2
    replay = recorder.requests[1]
    assert replay['method'] == 'PUT'
    assert replay['path'].startswith('/sdc1/')
    assert replay['path'].endswith('/a/c/later')
    assert replay['headers']['X-Timestamp'] == put_ts
    assert replay['headers']['X-Size'] == '3'
    assert objsrv.files_under('async_pending') == []


def test_object_info_on_a_served_object(objsrv):
    status, _, _ = objsrv.request('PUT', '/sda1/0/AUTH_x/c/info', {
        'X-Timestamp': ts(), 'Content-Type': 'text/plain',
        'X-Object-Meta-Who': 'me'}, b'data')
    assert status == 201
    data = [p for p in objsrv.files_under('objects') if p.endswith('.data')]
    assert len(data) == 1
    run = subprocess.run(
        [sys.executable, os.path.join(BIN, 'swift-object-info'), data[0],
         objsrv.dir], env=objsrv.env(), capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode()
    out = run.stdout.decode()
    assert '  Account: AUTH_x' in out
    assert '  Object: info' in out
    assert '(valid)' in out
    assert 'X-Object-Meta-Who: me' in out


def test_object_through_the_cluster_lands_on_its_primaries(swift_cluster,
                                                          monkeypatch):
    """Proxy -> 3 object servers -> real container servers (the listing)."""
    from urllib.parse import urlparse

    from swift.common import utils
    # Ring lookups in this process must hash with the cluster's suffix.
    monkeypatch.setattr(utils, 'HASH_PATH_SUFFIX',
                        swift_cluster.hash_suffix.encode())
    monkeypatch.setattr(utils, '_hash_suffix_loaded', True)
    storage_url, token = swift_cluster.get_auth('test:tester')
    url = urlparse(storage_url)
    account = url.path.rstrip('/').split('/')[-1]
    container, obj = 'objsrv-%s' % uuid.uuid4().hex[:8], 'dir/file.txt'

    def proxy(method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            conn.request(method, url.path + path, body=body,
                         headers=dict(headers or {}, **{'X-Auth-Token':
                                                        token}))
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    assert proxy('PUT', '/' + container)[0] in (201, 202)
    assert proxy('PUT', '/%s/%s' % (container, obj), b'cluster body',
                 {'Content-Type': 'text/plain'})[0] == 201
    part, nodes = swift_cluster.ring('object').get_nodes(account, container,
                                                         obj)
    name_hash = utils.hash_path(account, container, obj)
    for node in nodes:
        index = next(n for n in swift_cluster.nodes
                     if n.port('object') == node['port'])
        hdir = os.path.join(index.device_path, 'objects', str(part),
                            name_hash[-3:], name_hash)
        files = os.listdir(hdir)
        assert len(files) == 1 and files[0].endswith('.data'), hdir
        with open(os.path.join(hdir, files[0]), 'rb') as fp:
            assert fp.read() == b'cluster body'
    status, listing = proxy('GET', '/' + container)
    assert status == 200
    assert obj.encode() in listing.splitlines()
    assert proxy('DELETE', '/%s/%s' % (container, obj))[0] == 204
    assert proxy('GET', '/%s/%s' % (container, obj))[0] == 404
    status, listing = proxy('GET', '/' + container)
    assert obj.encode() not in listing.splitlines()

