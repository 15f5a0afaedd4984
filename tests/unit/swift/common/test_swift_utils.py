"""swift.common.utils, constraints, exceptions and bufferedhttp."""

import os

import eventlet
import eventlet.wsgi
import pytest
from webob import Request
from webob.exc import HTTPBadRequest

from swift.common import constraints, utils
from swift.common.bufferedhttp import http_connect, http_connect_raw
from swift.common.exceptions import LockTimeout


@pytest.fixture
def hash_suffix(tmp_path):
    """Point the hash suffix at a private swift.conf; restore afterwards."""
    saved = (utils.HASH_PATH_SUFFIX, utils._hash_suffix_loaded)
    (tmp_path / 'swift.conf').write_text(
        '[swift-hash]\nswift_hash_path_suffix = sekrit\n')
    utils.set_swift_dir(str(tmp_path))
    yield tmp_path
    utils.HASH_PATH_SUFFIX, utils._hash_suffix_loaded = saved


class TestSplitPath:
    def test_basic(self):
        assert utils.split_path('/a') == ['a']
        assert utils.split_path('/a/c', 1, 2) == ['a', 'c']
        assert utils.split_path('/a', 1, 2) == ['a', None]
        assert utils.split_path('/d/p/a', 3, 5) == ['d', 'p', 'a', None, None]

    def test_rest_with_last_keeps_slashes(self):
        assert utils.split_path('/a/c/o/with/slash', 3, 3, True) == \
            ['a', 'c', 'o/with/slash']
        assert utils.split_path('/a/c', 2, 3, True) == ['a', 'c', None]

    def test_trailing_slash_tolerated(self):
        assert utils.split_path('/a/', 1, 2) == ['a', None]

    @pytest.mark.parametrize('path,args', [
        ('', (1,)), ('a', (1,)), ('/', (1,)), ('//c', (1, 2)),
        ('/a/c', (1,)), ('/a/c/o', (1, 2)), ('/a//o', (1, 3)),
        ('/a', (2, 3)),
    ])
    def test_invalid(self, path, args):
        with pytest.raises(ValueError):
            utils.split_path(path, *args)

    def test_min_greater_than_max(self):
        with pytest.raises(ValueError):
            utils.split_path('/a/b', 3, 2)


class TestHashing:
    def test_hash_path_uses_suffix(self, hash_suffix):
        import hashlib
        assert utils.hash_path('a', 'c', 'o') == \
            hashlib.md5(b'/a/c/osekrit').hexdigest()
        assert utils.hash_path('a') == hashlib.md5(b'/asekrit').hexdigest()
        assert utils.hash_path('a', 'c', 'o', raw_digest=True) == \
            hashlib.md5(b'/a/c/osekrit').digest()

    def test_unicode_names_hash_as_utf8(self, hash_suffix):
        import hashlib
        assert utils.hash_path('\u00e9') == \
            hashlib.md5('/\u00e9'.encode() + b'sekrit').hexdigest()

    def test_object_needs_container(self):
        with pytest.raises(ValueError):
            utils.hash_path('a', object='o')

    def test_swift_conf_without_key_is_an_error(self, tmp_path):
        (tmp_path / 'swift.conf').write_text('[swift-hash]\n')
        saved = (utils.HASH_PATH_SUFFIX, utils._hash_suffix_loaded)
        try:
            with pytest.raises(ValueError):
                utils.set_swift_dir(str(tmp_path))
            with pytest.raises(ValueError):
                utils.set_swift_dir(str(tmp_path / 'nowhere'), required=True)
        finally:
            utils.HASH_PATH_SUFFIX, utils._hash_suffix_loaded = saved

    def test_storage_directory(self):
        assert utils.storage_directory('objects', 7, 'abcdef') == \
            os.path.join('objects', '7', 'def', 'abcdef')

    def test_normalize_timestamp(self):
        assert utils.normalize_timestamp(1.5) == '0000000001.50000'
        assert utils.normalize_timestamp('1296762827.123456') == \
            '1296762827.12346'


class TestConfig:
    def test_readconf(self, tmp_path):
        conf = tmp_path / 'x.conf'
        conf.write_text('[DEFAULT]\nbind_port = 6001\nlog_level = DEBUG\n'
                        '[app:container-server]\nnode_timeout = 5\n'
                        'pct = 50%\n')
        everything = utils.readconf(str(conf))
        assert everything['app:container-server']['bind_port'] == '6001'
        assert everything['DEFAULT']['log_level'] == 'DEBUG'
        section = utils.readconf(str(conf), 'app:container-server')
        assert section['node_timeout'] == '5'
        assert section['pct'] == '50%'
        assert section['__file__'] == str(conf)
        assert section['log_name'] == 'app:container-server'
        with pytest.raises(ValueError):
            utils.readconf(str(conf), 'nope')
        with pytest.raises(ValueError):
            utils.readconf(str(tmp_path / 'missing.conf'))

    def test_config_true_value(self):
        for v in ('true', 'TRUE', '1', 'yes', 'on', 't', 'y', True):
            assert utils.config_true_value(v)
        for v in ('false', '0', 'no', '', None, 'off', False):
            assert not utils.config_true_value(v)

    def test_logger_txn_id_is_per_greenthread(self, capsys):
        logger = utils.get_logger({'log_name': 'unit-test-txn'})
        seen = {}

        def worker(name):
            logger.txn_id = name
            eventlet.sleep(0)
            seen[name] = logger.txn_id

        pool = eventlet.GreenPool()
        for name in ('tx1', 'tx2', 'tx3'):
            pool.spawn(worker, name)
        pool.waitall()
        assert seen == {'tx1': 'tx1', 'tx2': 'tx2', 'tx3': 'tx3'}
        logger.txn_id = 'txABC'
        logger.error('boom')
        assert 'boom (txn: txABC)' in capsys.readouterr().err
        logger.txn_id = None


class TestFilesystem:
    def test_metadata_roundtrip_long_value(self, tmp_path):
        path = tmp_path / 'f'
        path.write_bytes(b'x')
        meta = {'name': '/a/c/\u00f6', 'X-Object-Meta-Big': 'v' * 2000,
                'Content-Length': 1}
        utils.write_metadata(str(path), meta)
        assert utils.read_metadata(str(path)) == meta
        assert len([k for k in os.listxattr(str(path))
                    if k.startswith('user.swift.metadata')]) > 1
        # A shorter value must not leave stale pieces behind.
        utils.write_metadata(str(path), {'a': 'b'})
        assert utils.read_metadata(str(path)) == {'a': 'b'}
        assert os.listxattr(str(path)) == ['user.swift.metadata']
        with open(path, 'rb') as f:
            assert utils.read_metadata(f.fileno()) == {'a': 'b'}

    def test_read_metadata_is_json_not_pickle(self, tmp_path):
        import pickle
        path = tmp_path / 'f'
        path.write_bytes(b'')
        os.setxattr(str(path), 'user.swift.metadata', pickle.dumps({'a': 1}))
        with pytest.raises(ValueError):
            utils.read_metadata(str(path))
        assert utils.read_metadata(str(tmp_path)) == {}

    def test_renamer_and_mkdirs(self, tmp_path):
        src = tmp_path / 'src'
        src.write_text('x')
        dst = tmp_path / 'a' / 'b' / 'dst'
        utils.renamer(str(src), str(dst))
        assert dst.read_text() == 'x'
        utils.mkdirs(str(tmp_path / 'a' / 'b'))
        with pytest.raises(OSError):
            utils.mkdirs(str(dst))

    def test_check_mount(self, tmp_path):
        assert utils.ismount('/')
        assert not utils.ismount(str(tmp_path))
        assert not utils.ismount(str(tmp_path / 'missing'))
        assert not utils.check_mount(str(tmp_path), '..')
        assert not utils.check_mount(str(tmp_path), 'a/b')
        (tmp_path / 'sda').mkdir()
        assert not utils.check_mount(str(tmp_path), 'sda')

    def test_validate_device_partition(self):
        utils.validate_device_partition('sda1', '12')
        for dev, part in (('', '1'), ('..', '1'), ('a/b', '1'),
                          ('sda', 'x'), ('sda', '-1'), ('sda', '')):
            with pytest.raises(ValueError):
                utils.validate_device_partition(dev, part)

    def test_lock_path_times_out_while_held(self, tmp_path):
        with utils.lock_path(str(tmp_path)):
            with pytest.raises(LockTimeout):
                with utils.lock_path(str(tmp_path), timeout=0.2):
                    pass
        with utils.lock_parent_directory(str(tmp_path / 'file'), timeout=1):
            pass

    def test_fallocate_and_fsync(self, tmp_path):
        with open(tmp_path / 'f', 'wb') as f:
            utils.fallocate(f.fileno(), 4096)
            utils.fsync(f.fileno())
            utils.drop_buffer_cache(f.fileno(), 0, 4096)
        assert os.path.getsize(tmp_path / 'f') == 4096

    def test_audit_location_generator(self, tmp_path):
        hdir = tmp_path / 'sda' / 'objects' / '3' / 'abc' / ('f' * 29 + 'abc')
        hdir.mkdir(parents=True)
        (hdir / '1.data').write_text('')
        (hdir / '1.meta').write_text('')
        found = list(utils.audit_location_generator(
            str(tmp_path), 'objects', mount_check=False, suffix='.data'))
        assert found == [(str(hdir / '1.data'), 'sda', '3')]
        assert list(utils.audit_location_generator(
            str(tmp_path), 'objects', mount_check=True)) == []

    def test_whataremyips_has_loopback(self):
        assert '127.0.0.1' in utils.whataremyips()


class TestWsgiHelpers:
    def test_get_param(self):
        req = Request.blank('/?x=%C3%A9&y=1')
        assert utils.get_param(req, 'x') == '\u00e9'
        assert utils.get_param(req, 'z', 'd') == 'd'
        with pytest.raises(HTTPBadRequest):
            utils.get_param(Request.blank('/?x=%FF'), 'x')

    def test_public(self):
        @utils.public
        def GET(self, req):
            pass
        assert GET.publicly_accessible


class TestConstraints:
    def _req(self, headers):
        return Request.blank('/', headers=headers)

    def test_metadata_ok(self):
        assert constraints.check_metadata(
            self._req({'X-Object-Meta-Color': 'blue'}), 'object') is None

    def test_metadata_limits(self):
        cases = [
            {'X-Object-Meta-': 'v'},
            {'X-Object-Meta-' + 'n' * 129: 'v'},
            {'X-Object-Meta-N': 'v' * 257},
            dict(('X-Object-Meta-%d' % i, 'v') for i in range(91)),
            dict(('X-Object-Meta-%03d' % i, 'v' * 256) for i in range(17)),
        ]
        for headers in cases:
            resp = constraints.check_metadata(self._req(headers), 'object')
            assert resp is not None and resp.status_int == 400, headers
        at_limits = {'X-Object-Meta-' + 'n' * 128: 'v' * 256}
        assert constraints.check_metadata(self._req(at_limits),
                                          'object') is None
        # other types' metadata is not counted
        assert constraints.check_metadata(
            self._req({'X-Container-Meta-': 'v'}), 'object') is None

    def test_object_creation(self):
        ok = {'Content-Length': '5', 'Content-Type': 'text/plain'}
        assert constraints.check_object_creation(self._req(ok), 'o') is None
        chunked = {'Transfer-Encoding': 'chunked', 'Content-Type': 'a/b'}
        assert constraints.check_object_creation(self._req(chunked),
                                                 'o') is None
        too_big = dict(ok, **{'Content-Length':
                              str(constraints.MAX_FILE_SIZE + 1)})
        assert constraints.check_object_creation(
            self._req(too_big), 'o').status_int == 413
        req = Request.blank('/', headers={'Content-Type': 'a/b'})
        assert constraints.check_object_creation(req, 'o').status_int == 411
        assert constraints.check_object_creation(
            self._req(ok), 'o' * 1025).status_int == 400
        assert constraints.check_object_creation(
            self._req({'Content-Length': '0'}), 'o').status_int == 400

    def test_check_utf8_and_float(self):
        assert constraints.check_utf8('\u00e9')
        assert constraints.check_utf8(b'\xc3\xa9')
        assert not constraints.check_utf8(b'\xff')
        assert not constraints.check_utf8('a\x00b')
        assert not constraints.check_utf8('\udcff')
        assert not constraints.check_utf8('')
        assert constraints.check_float('1.5')
        assert not constraints.check_float('x')


class TestBufferedHttp:
    @pytest.fixture
    def server(self):
        seen = []

        def app(env, start):
            body = env['wsgi.input'].read()
            seen.append((env['REQUEST_METHOD'], env['PATH_INFO'],
                         env.get('QUERY_STRING'), env.get('HTTP_X_META'),
                         body))
            start('201 Created', [('Content-Length', '2')])
            return [b'ok']

        sock = eventlet.listen(('127.0.0.1', 0))
        thread = eventlet.spawn(eventlet.wsgi.server, sock, app,
                                log_output=False)
        yield sock.getsockname()[1], seen
        thread.kill()
        sock.close()

    def test_put_with_expect_continue(self, server):
        port, seen = server
        conn = http_connect('127.0.0.1', port, 'sda1', 3, 'PUT',
                            '/a/c/\u00f6 x',
                            {'Expect': '100-continue', 'Content-Length': '5',
                             'X-Meta': '\u00e9'.encode('utf-8')},
                            query_string='q=1')
        assert conn.getexpect().status == 100
        conn.send(b'hello')
        resp = conn.getresponse()
        assert resp.status == 201
        assert resp.read() == b'ok'
        method, path, query, meta, body = seen[0]
        assert method == 'PUT'
        assert path.encode('latin-1').decode('utf-8') == '/sda1/3/a/c/\u00f6 x'
        assert query == 'q=1'
        assert meta.encode('latin-1') == '\u00e9'.encode('utf-8')
        assert body == b'hello'

    @pytest.fixture
    def early_server(self):
        """Answers without reading the body, as an object server does for
        an empty PUT (201) or a refused one (409 with a reason)."""
        def app(env, start):
            if env['PATH_INFO'].endswith('/refused'):
                start('409 Conflict', [('Content-Length', '5')])
                return [b'newer']
            start('201 Created', [('Content-Length', '0'),
                                  ('ETag', 'd41d8cd98f00b204e9800998ecf8427e')])
            return [b'']

        sock = eventlet.listen(('127.0.0.1', 0))
        thread = eventlet.spawn(eventlet.wsgi.server, sock, app,
                                log_output=False)
        yield sock.getsockname()[1]
        thread.kill()
        sock.close()

    def test_expect_answered_with_final_success(self, early_server):
        conn = http_connect('127.0.0.1', early_server, 'sda1', 3, 'PUT',
                            '/a/c/empty', {'Expect': '100-continue',
                                           'Content-Length': '0'})
        answer = conn.getexpect()
        assert answer.status == 201
        # the reason phrase without its line end (it used to keep '\r\n')
        assert answer.reason == 'Created'
        assert answer.getheader('etag') == 'd41d8cd98f00b204e9800998ecf8427e'
        resp = conn.getresponse()
        assert resp is answer
        assert resp.read() == b''
        conn.close()

    def test_expect_answered_with_final_refusal_keeps_body(self,
                                                           early_server):
        conn = http_connect('127.0.0.1', early_server, 'sda1', 3, 'PUT',
                            '/a/c/refused', {'Expect': '100-continue',
                                             'Content-Length': '4'})
        answer = conn.getexpect()
        assert (answer.status, answer.reason) == (409, 'Conflict')
        assert conn.getresponse().read() == b'newer'
        conn.close()

    def test_body_goes_with_the_headers_in_one_write(self, server,
                                                       monkeypatch):
        from swift.common import bufferedhttp
        writes = []
        original = bufferedhttp.BufferedHTTPConnection.send

        def send(conn, data):
            writes.append(data)
            return original(conn, data)
        monkeypatch.setattr(bufferedhttp.BufferedHTTPConnection, 'send', send)
        port, seen = server
        conn = http_connect('127.0.0.1', port, 'sda1', 3, 'PUT', '/a/c/o',
                            {'Content-Length': '5'}, body=b'hello')
        resp = conn.getresponse()
        assert resp.status == 201
        assert seen[0][4] == b'hello'
        assert len(writes) == 1 and writes[0].endswith(b'\r\n\r\nhello')

    def test_raw_get(self, server):
        port, seen = server
        conn = http_connect_raw('127.0.0.1', port, 'GET', '/x')
        resp = conn.getresponse()
        assert resp.status == 201
        assert seen[0][:2] == ('GET', '/x')

    def test_connect_refused(self):
        import socket
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        with pytest.raises(OSError):
            http_connect('127.0.0.1', port, 'sda', 0, 'GET', '/a')


def test_exceptions_are_distinct():
    from swift.common import exceptions
    assert issubclass(exceptions.DiskFileNotExist, exceptions.DiskFileError)
    assert issubclass(exceptions.ConnectionTimeout, eventlet.Timeout)
    assert str(LockTimeout(2, '/x')) == 'Lock timeout (2s): /x'


def test_bufferedhttp_connects_to_ip_literals_without_a_lookup(monkeypatch):
    import eventlet.wsgi
    from swift.common import bufferedhttp

    def no_lookup(*args, **kwargs):
        raise AssertionError('name lookup for an IP address')
    monkeypatch.setattr(bufferedhttp.green_socket, 'getaddrinfo', no_lookup)
    monkeypatch.setattr(bufferedhttp.green_socket, 'create_connection',
                        no_lookup)

    def app(env, start):
        start('200 OK', [('Content-Length', '2')])
        return [b'ok']
    sock = eventlet.listen(('127.0.0.1', 0))
    thread = eventlet.spawn(eventlet.wsgi.server, sock, app,
                            log_output=False)
    try:
        conn = http_connect_raw('127.0.0.1', sock.getsockname()[1], 'GET',
                                '/x')
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b'ok')
        conn.close()
    finally:
        thread.kill()
        sock.close()
    assert bufferedhttp._ip_family('::1') == bufferedhttp.green_socket.AF_INET6
    assert bufferedhttp._ip_family('node1.example') is None
