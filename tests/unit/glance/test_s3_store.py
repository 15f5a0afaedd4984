"""The s3 store against a small in-test S3 server that checks signatures."""

import hashlib
import http.server
import threading

import pytest

from glance.common import exception
from glance.store import s3

ACCESS, SECRET = 'AKID', 'sekrit/key'


class FakeS3(http.server.BaseHTTPRequestHandler):
    objects = {}
    buckets = set()
    max_body = 0

    def log_message(self, *args):
        pass

    def _authorized(self):
        auth = self.headers.get('Authorization', '')
        expected = 'AWS %s:%s' % (ACCESS, s3.sign(SECRET, self.command,
                                                  self.path.split('?')[0],
                                                  dict(self.headers)))
        if auth != expected:
            self._reply(403, b'SignatureDoesNotMatch')
            return False
        return True

    def _reply(self, status, body=b'', headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def do_HEAD(self):
        if not self._authorized():
            return
        parts = self.path.strip('/').split('/', 1)
        if len(parts) == 1:
            self._reply(200 if parts[0] in self.buckets else 404)
        elif self.path in self.objects:
            self.send_response(200)
            self.send_header('Content-Length',
                             str(len(self.objects[self.path])))
            self.end_headers()
        else:
            self._reply(404)

    def do_PUT(self):
        if not self._authorized():
            return
        length = int(self.headers['Content-Length'])
        data = b''
        while len(data) < length:
            piece = self.rfile.read(min(65536, length - len(data)))
            FakeS3.max_body = max(FakeS3.max_body, len(piece))
            if not piece:
                break
            data += piece
        parts = self.path.strip('/').split('/', 1)
        if len(parts) == 1:
            self.buckets.add(parts[0])
            self._reply(200)
        else:
            self.objects[self.path] = data
            self._reply(200, headers=[('ETag', '"%s"'
                                       % hashlib.md5(data).hexdigest())])

    def do_GET(self):
        if not self._authorized():
            return
        if self.path not in self.objects:
            self._reply(404)
        else:
            self._reply(200, self.objects[self.path])

    def do_DELETE(self):
        if not self._authorized():
            return
        if self.objects.pop(self.path, None) is None:
            self._reply(404)
        else:
            self._reply(204)


@pytest.fixture
def server():
    FakeS3.objects = {}
    FakeS3.buckets = set()
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), FakeS3)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def store_for(httpd, **extra):
    conf = {'s3_store_host': 'http://127.0.0.1:%d' % httpd.server_port,
            's3_store_access_key': ACCESS, 's3_store_secret_key': SECRET,
            's3_store_bucket': 'images',
            's3_store_create_bucket_on_put': 'true'}
    conf.update(extra)
    return s3.S3Store(conf)


@pytest.mark.parametrize('size_known', [True, False])
def test_round_trip(server, size_known):
    st = store_for(server)
    pieces = [b'a' * 100000, b'b' * 5]
    location = st.add(9, iter(pieces),
                      size=100005 if size_known else None)
    assert location == 's3+http://127.0.0.1:%d/images/9' % server.server_port
    assert 'sekrit' not in location
    chunks, size = st.get(location)
    assert size == 100005
    assert b''.join(chunks) == b''.join(pieces)
    assert st.get_size(location) == 100005
    with pytest.raises(exception.Conflict):
        st.add(9, iter([b'x']), size=1)
    st.delete(location)
    with pytest.raises(exception.NotFound):
        st.get(location)


def test_wrong_secret_is_a_store_error(server):
    st = store_for(server, s3_store_secret_key='wrong')
    with pytest.raises(exception.StoreError):
        st.add(1, iter([b'x']), size=1)


def test_missing_bucket_without_create_is_a_store_error(server):
    st = store_for(server, s3_store_create_bucket_on_put='false')
    with pytest.raises(exception.StoreError, match='bucket'):
        st.add(1, iter([b'x']), size=1)
