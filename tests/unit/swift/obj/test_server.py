"""The object server's verbs, in process (webob Request.blank)."""

import email.utils
import errno
import io
import json
import os

import eventlet
from webob import Request

from swift.common.utils import hash_path, read_metadata
from swift.obj import diskfile, server

PATH = '/sda1/0/a/c/o'


def put(app, ts, body=b'hello world', path=PATH, **headers):
    headers.setdefault('Content-Type', 'text/plain')
    headers['X-Timestamp'] = ts
    req = Request.blank(path, method='PUT', headers=headers, body=body)
    return req.get_response(app)


def get(app, path=PATH, method='GET', **headers):
    return Request.blank(path, method=method, headers=headers).get_response(app)


def hash_dir(devices, a='a', c='c', o='o', part='0'):
    name_hash = hash_path(a, c, o)
    return os.path.join(devices, 'sda1', 'objects', part, name_hash[-3:],
                        name_hash)


def tmp_files(devices):
    tmp = os.path.join(devices, 'sda1', 'tmp')
    return os.listdir(tmp) if os.path.isdir(tmp) else []


def raw_put(app, ts, wsgi_input, content_length=None, chunked=False,
            **headers):
    """A PUT whose body comes from ``wsgi_input`` as the server sees it."""
    req = Request.blank(PATH, method='PUT')
    req.headers['X-Timestamp'] = ts
    req.headers['Content-Type'] = 'text/plain'
    req.headers.update(headers)
    req.environ['wsgi.input'] = wsgi_input
    req.environ.pop('CONTENT_LENGTH', None)
    if content_length is not None:
        req.environ['CONTENT_LENGTH'] = str(content_length)
    if chunked:
        req.environ['HTTP_TRANSFER_ENCODING'] = 'chunked'
    return req.get_response(app)


# ---------------------------------------------------------------- PUT/GET

def test_put_then_get_returns_body_and_headers(app, ts, devices):
    stamp = ts()
    resp = put(app, stamp, body=b'hello world',
               **{'X-Object-Meta-Color': 'red',
                  'Content-Encoding': 'gzip',
                  'Content-Disposition': 'attachment; filename=x',
                  'X-Object-Manifest': 'c/seg_'})
    assert resp.status_int == 201
    assert resp.headers['ETag'] == '5eb63bbbe01eeed093cb22bb8f5acdc3'
    resp = get(app)
    assert resp.status_int == 200
    assert resp.body == b'hello world'
    assert resp.headers['ETag'] == '5eb63bbbe01eeed093cb22bb8f5acdc3'
    assert resp.headers['Content-Type'] == 'text/plain'
    assert resp.headers['Content-Length'] == '11'
    assert resp.headers['X-Timestamp'] == stamp
    assert resp.headers['X-Object-Meta-Color'] == 'red'
    assert resp.headers['Content-Encoding'] == 'gzip'
    assert resp.headers['Content-Disposition'] == 'attachment; filename=x'
    assert resp.headers['X-Object-Manifest'] == 'c/seg_'
    modified = email.utils.parsedate_to_datetime(
        resp.headers['Last-Modified']).timestamp()
    assert modified == int(float(stamp)) or modified == int(float(stamp)) + 1


def test_put_layout_on_disk_is_one_data_file_with_json_xattrs(app, ts,
                                                              devices):
    stamp = ts()
    assert put(app, stamp).status_int == 201
    files = os.listdir(hash_dir(devices))
    assert files == [stamp + '.data']
    path = os.path.join(hash_dir(devices), files[0])
    with open(path, 'rb') as fp:
        assert fp.read() == b'hello world'
    raw = os.getxattr(path, 'user.swift.metadata')
    assert raw.startswith(b'{')  # JSON, not a pickle
    metadata = read_metadata(path)
    assert metadata['name'] == '/a/c/o'
    assert metadata['Content-Length'] == '11'
    assert metadata['X-Timestamp'] == stamp
    assert tmp_files(devices) == []


def test_newer_put_replaces_and_removes_older_file(app, ts, devices):
    first, second = ts(), ts()
    assert put(app, first, body=b'one').status_int == 201
    assert put(app, second, body=b'two').status_int == 201
    assert os.listdir(hash_dir(devices)) == [second + '.data']
    assert get(app).body == b'two'


def test_put_not_newer_than_disk_is_409(app, ts, devices):
    first, second = ts(), ts()
    assert put(app, second, body=b'new').status_int == 201
    for stamp in (first, second):
        resp = put(app, stamp, body=b'old')
        assert resp.status_int == 409
        assert resp.headers['X-Backend-Timestamp'] == second
    assert get(app).body == b'new'
    assert tmp_files(devices) == []


def test_put_requires_a_valid_timestamp(app):
    req = Request.blank(PATH, method='PUT', body=b'x',
                        headers={'Content-Type': 'text/plain'})
    resp = req.get_response(app)
    assert resp.status_int == 400
    assert b'X-Timestamp' in resp.body
    for bad in ('abc', 'nan', 'inf', '-1', ''):
        assert put(app, bad).status_int == 400, bad


def test_put_etag_mismatch_is_422_and_leaves_nothing(app, ts, devices):
    resp = put(app, ts(), body=b'hello', ETag='0' * 32)
    assert resp.status_int == 422
    assert not os.path.exists(hash_dir(devices))
    assert tmp_files(devices) == []
    assert get(app).status_int == 404


def test_put_matching_quoted_etag_is_accepted(app, ts):
    resp = put(app, ts(), body=b'hello',
               ETag='"5d41402abc4b2a76b9719d911017c592"')
    assert resp.status_int == 201


def test_put_without_content_type_is_400(app, ts):
    req = Request.blank(PATH, method='PUT', body=b'x',
                        headers={'X-Timestamp': ts()})
    assert req.get_response(app).status_int == 400


def test_put_without_length_or_chunked_is_411(app, ts):
    resp = raw_put(app, ts(), io.BytesIO(b'abc'))
    assert resp.status_int == 411


def test_put_too_large_content_length_is_413(app, ts, devices):
    resp = raw_put(app, ts(), io.BytesIO(b''),
                   content_length=server.MAX_FILE_SIZE + 1)
    assert resp.status_int == 413
    assert not os.path.exists(hash_dir(devices))


def test_chunked_put_over_the_limit_is_413_while_streaming(
        app, ts, devices, monkeypatch):
    monkeypatch.setattr(server, 'MAX_FILE_SIZE', 100)
    app.network_chunk_size = 16
    resp = raw_put(app, ts(), io.BytesIO(b'x' * 150), chunked=True)
    assert resp.status_int == 413
    assert not os.path.exists(hash_dir(devices))
    assert tmp_files(devices) == []


def test_chunked_put_without_length_stores_the_body(app, ts):
    body = os.urandom(200000)
    resp = raw_put(app, ts(), io.BytesIO(body), chunked=True)
    assert resp.status_int == 201
    got = get(app)
    assert got.body == body
    assert got.headers['Content-Length'] == str(len(body))


def test_body_is_read_in_network_chunks(app, ts):
    sizes = []

    class Recording(io.BytesIO):
        def read(self, size=-1):
            sizes.append(size)
            return super().read(size)

    body = b'y' * (3 * 65536 + 5)
    resp = raw_put(app, ts(), Recording(body), content_length=len(body))
    assert resp.status_int == 201
    assert max(sizes) == 65536
    assert sizes[-1] == 5


def test_short_body_is_499_and_leaves_nothing(app, ts, devices):
    resp = raw_put(app, ts(), io.BytesIO(b'only ten!!'), content_length=100)
    assert resp.status_int == 499
    assert not os.path.exists(hash_dir(devices))
    assert tmp_files(devices) == []


def test_connection_error_mid_body_is_499(app, ts, devices):
    class Broken(io.BytesIO):
        def read(self, size=-1):
            if self.tell() >= 10:
                raise IOError('connection reset')
            return super().read(10)

    resp = raw_put(app, ts(), Broken(b'z' * 50), content_length=50)
    assert resp.status_int == 499
    assert tmp_files(devices) == []


def test_stalled_client_is_408_and_leaves_nothing(app, ts, devices):
    app.client_timeout = 0.01

    class Stalled(io.BytesIO):
        def read(self, size=-1):
            if self.tell() >= 4:
                eventlet.sleep(5)
            return super().read(4)

    resp = raw_put(app, ts(), Stalled(b'12345678'), content_length=8)
    assert resp.status_int == 408
    assert not os.path.exists(hash_dir(devices))
    assert tmp_files(devices) == []


def test_full_device_is_507(app, ts, devices, monkeypatch):
    def no_space(fd, size):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(diskfile, 'fallocate', no_space)
    resp = put(app, ts())
    assert resp.status_int == 507
    assert tmp_files(devices) == []


def test_metadata_too_large_for_xattrs_is_400_not_507(app, ts, devices,
                                                      monkeypatch):
    def too_big(fd, metadata):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(diskfile, 'write_metadata', too_big)
    resp = put(app, ts())
    assert resp.status_int == 400
    assert b'extended attributes' in resp.body
    assert tmp_files(devices) == []


def test_unmounted_device_is_507(conf, ts):
    conf['mount_check'] = 'true'
    app = server.ObjectController(conf)
    assert put(app, ts()).status_int == 507
    assert get(app).status_int == 507


def test_bad_metadata_is_400(app, ts, devices):
    resp = put(app, ts(), **{'X-Object-Meta-' + 'n' * 129: 'v'})
    assert resp.status_int == 400
    assert not os.path.exists(hash_dir(devices))


def test_object_name_with_slashes_and_unicode(app, ts, devices):
    path = '/sda1/0/a/c/dir/sub/caf%C3%A9'
    assert put(app, ts(), path=path).status_int == 201
    assert get(app, path=path).body == b'hello world'
    assert os.path.isdir(hash_dir(devices, o='dir/sub/caf\u00e9'))


# ---------------------------------------------------------------- paths

def test_bad_paths(app, ts):
    assert put(app, ts(), path='/sda1/0/a/c').status_int == 400
    assert get(app, path='/sda1/x/a/c/o').status_int == 400
    assert get(app, path='/../0/a/c/o').status_int == 400


def test_invalid_utf8_path_is_412(app):
    req = Request.blank('/sda1/0/a/c/o')
    req.environ['PATH_INFO'] = b'/sda1/0/a/c/\xff'.decode('latin-1')
    assert req.get_response(app).status_int == 412


def test_unknown_verb_is_405(app):
    for verb in ('PATCH', 'container_update', '__init__'):
        assert get(app, method=verb).status_int == 405


# ---------------------------------------------------------------- HEAD

def test_head_has_headers_and_no_body(app, ts):
    stamp = ts()
    put(app, stamp, body=b'12345', **{'X-Object-Meta-A': 'b'})
    resp = get(app, method='HEAD')
    assert resp.status_int == 200
    assert resp.body == b''
    assert resp.headers['Content-Length'] == '5'
    assert resp.headers['ETag'] == '827ccb0eea8a706c4c34a16891f84e7b'
    assert resp.headers['X-Object-Meta-A'] == 'b'
    assert resp.headers['X-Timestamp'] == stamp


# ---------------------------------------------------------------- DELETE

def test_delete_writes_tombstone_and_get_is_404_with_timestamp(app, ts,
                                                               devices):
    put(app, ts())
    stamp = ts()
    req = Request.blank(PATH, method='DELETE',
                        headers={'X-Timestamp': stamp})
    assert req.get_response(app).status_int == 204
    assert os.listdir(hash_dir(devices)) == [stamp + '.ts']
    resp = get(app)
    assert resp.status_int == 404
    assert resp.headers['X-Timestamp'] == stamp
    assert get(app, method='HEAD').status_int == 404


def test_delete_of_missing_object_is_404_but_tombstone_written(app, ts,
                                                               devices):
    stamp = ts()
    req = Request.blank(PATH, method='DELETE',
                        headers={'X-Timestamp': stamp})
    assert req.get_response(app).status_int == 404
    assert os.listdir(hash_dir(devices)) == [stamp + '.ts']


def test_delete_older_than_data_is_409_and_keeps_data(app, ts, devices):
    old, new = ts(), ts()
    put(app, new)
    req = Request.blank(PATH, method='DELETE', headers={'X-Timestamp': old})
    resp = req.get_response(app)
    assert resp.status_int == 409
    assert resp.headers['X-Backend-Timestamp'] == new
    assert get(app).status_int == 200


def test_delete_requires_timestamp(app):
    req = Request.blank(PATH, method='DELETE')
    assert req.get_response(app).status_int == 400


def test_put_after_delete_revives(app, ts, devices):
    put(app, ts(), body=b'a')
    Request.blank(PATH, method='DELETE',
                  headers={'X-Timestamp': ts()}).get_response(app)
    stamp = ts()
    assert put(app, stamp, body=b'b').status_int == 201
    assert get(app).body == b'b'
    assert os.listdir(hash_dir(devices)) == [stamp + '.data']


def test_put_older_than_tombstone_is_409(app, ts):
    old, new = ts(), ts()
    Request.blank(PATH, method='DELETE',
                  headers={'X-Timestamp': new}).get_response(app)
    assert put(app, old).status_int == 409
    assert get(app).status_int == 404


# ---------------------------------------------------------------- POST

def post(app, stamp, **headers):
    headers['X-Timestamp'] = stamp
    return Request.blank(PATH, method='POST',
                         headers=headers).get_response(app)


def test_post_replaces_user_metadata_and_keeps_type_and_manifest(
        app, ts, devices):
    put(app, ts(), **{'X-Object-Meta-One': '1', 'X-Object-Meta-Two': '2',
                      'X-Object-Manifest': 'c/p', 'Content-Type': 'a/b'})
    stamp = ts()
    resp = post(app, stamp, **{'X-Object-Meta-Three': '3',
                               'Content-Type': 'x/y',
                               'X-Object-Manifest': 'other/q'})
    assert resp.status_int == 202
    resp = get(app)
    assert resp.body == b'hello world'
    assert resp.headers['X-Object-Meta-Three'] == '3'
    assert 'X-Object-Meta-One' not in resp.headers
    assert 'X-Object-Meta-Two' not in resp.headers
    assert resp.headers['Content-Type'] == 'a/b'
    assert resp.headers['X-Object-Manifest'] == 'c/p'
    assert resp.headers['X-Timestamp'] == stamp
    assert sorted(os.listdir(hash_dir(devices)))[-1] == stamp + '.meta'


def test_post_to_missing_object_is_404(app, ts, devices):
    assert post(app, ts(), **{'X-Object-Meta-A': 'b'}).status_int == 404
    assert not os.path.exists(hash_dir(devices))


def test_post_not_newer_is_409(app, ts):
    old, data, meta = ts(), ts(), ts()
    put(app, data)
    assert post(app, old).status_int == 409
    assert post(app, meta, **{'X-Object-Meta-A': '1'}).status_int == 202
    assert post(app, meta, **{'X-Object-Meta-A': '2'}).status_int == 409
    assert get(app).headers['X-Object-Meta-A'] == '1'


def test_post_bad_metadata_is_400(app, ts):
    put(app, ts())
    resp = post(app, ts(), **{'X-Object-Meta-': 'empty name'})
    assert resp.status_int == 400


def test_newer_put_drops_older_meta(app, ts, devices):
    put(app, ts())
    post(app, ts(), **{'X-Object-Meta-A': '1'})
    stamp = ts()
    put(app, stamp)
    assert os.listdir(hash_dir(devices)) == [stamp + '.data']
    assert 'X-Object-Meta-A' not in get(app).headers


# ---------------------------------------------------------------- ranges

BODY = bytes(range(256)) * 4  # 1024 bytes


def test_single_range(app, ts):
    put(app, ts(), body=BODY)
    resp = get(app, Range='bytes=10-19')
    assert resp.status_int == 206
    assert resp.body == BODY[10:20]
    assert resp.headers['Content-Range'] == 'bytes 10-19/1024'
    assert resp.headers['Content-Length'] == '10'


def test_suffix_and_open_ranges(app, ts):
    put(app, ts(), body=BODY)
    assert get(app, Range='bytes=-5').body == BODY[-5:]
    assert get(app, Range='bytes=1020-').body == BODY[1020:]
    resp = get(app, Range='bytes=1000-5000')
    assert resp.body == BODY[1000:]
    assert resp.headers['Content-Range'] == 'bytes 1000-1023/1024'


def test_multiple_ranges_are_multipart_byteranges(app, ts):
    put(app, ts(), body=BODY, **{'Content-Type': 'application/x-test'})
    resp = get(app, Range='bytes=0-1,100-109,-3')
    assert resp.status_int == 206
    ctype = resp.headers['Content-Type']
    assert ctype.startswith('multipart/byteranges; boundary=')
    boundary = ctype.split('boundary=')[1].encode()
    assert int(resp.headers['Content-Length']) == len(resp.body)
    parts = resp.body.split(b'--' + boundary)
    assert parts[0] == b''
    assert parts[-1] == b'--\r\n'
    bodies = []
    ranges = []
    for part in parts[1:-1]:
        head, _, data = part.partition(b'\r\n\r\n')
        assert data.endswith(b'\r\n')
        bodies.append(data[:-2])
        assert b'Content-Type: application/x-test' in head
        ranges.append(head.split(b'Content-Range: ')[1].strip())
    assert bodies == [BODY[0:2], BODY[100:110], BODY[-3:]]
    assert ranges == [b'bytes 0-1/1024', b'bytes 100-109/1024',
                      b'bytes 1021-1023/1024']


def test_unsatisfiable_range_is_416(app, ts):
    put(app, ts(), body=BODY)
    resp = get(app, Range='bytes=2000-3000')
    assert resp.status_int == 416
    assert resp.headers['Content-Range'] == 'bytes */1024'


def test_malformed_or_excessive_range_serves_whole_object(app, ts):
    put(app, ts(), body=BODY)
    for value in ('bytes=5-2', 'bytes=abc', 'items=0-1',
                  'bytes=' + ','.join(['0-0'] * (server.MAX_RANGES + 1)),
                  'bytes=0-1023,0-1023'):
        resp = get(app, Range=value)
        assert resp.status_int == 200, value
        assert resp.body == BODY


def test_if_range(app, ts):
    put(app, ts(), body=BODY)
    etag = get(app).headers['ETag']
    assert get(app, Range='bytes=0-0',
               **{'If-Range': '"%s"' % etag}).status_int == 206
    assert get(app, Range='bytes=0-0',
               **{'If-Range': '"nope"'}).status_int == 200


def test_parse_ranges_unit():
    assert server.parse_ranges('bytes=0-0', 10) == [(0, 1)]
    assert server.parse_ranges('bytes=-0', 10) == []
    assert server.parse_ranges('bytes=-20', 10) == [(0, 10)]
    assert server.parse_ranges('bytes=0-', 0) == []
    assert server.parse_ranges('bytes=', 10) is None


def test_range_of_empty_object_is_416(app, ts):
    put(app, ts(), body=b'')
    assert get(app, Range='bytes=0-').status_int == 416
    assert get(app).status_int == 200


# ---------------------------------------------------------- conditionals

def test_if_match(app, ts):
    put(app, ts())
    etag = get(app).headers['ETag']
    assert get(app, **{'If-Match': etag}).status_int == 200
    assert get(app, **{'If-Match': '"%s"' % etag}).status_int == 200
    assert get(app, **{'If-Match': '"x", "%s"' % etag}).status_int == 200
    assert get(app, **{'If-Match': '*'}).status_int == 200
    assert get(app, **{'If-Match': '"other"'}).status_int == 412
    assert get(app, method='HEAD',
               **{'If-Match': '"other"'}).status_int == 412


def test_if_match_on_missing_object_is_412(app):
    assert get(app, **{'If-Match': '*'}).status_int == 412
    assert get(app).status_int == 404


def test_if_none_match(app, ts):
    put(app, ts())
    etag = get(app).headers['ETag']
    resp = get(app, **{'If-None-Match': etag})
    assert resp.status_int == 304
    assert resp.body == b''
    assert resp.headers['ETag'] == etag
    assert get(app, **{'If-None-Match': '*'}).status_int == 304
    assert get(app, **{'If-None-Match': '"other"'}).status_int == 200


def test_if_modified_since(app, ts):
    stamp = ts()
    put(app, stamp)
    later = email.utils.formatdate(float(stamp) + 10, usegmt=True)
    earlier = email.utils.formatdate(float(stamp) - 10, usegmt=True)
    assert get(app, **{'If-Modified-Since': later}).status_int == 304
    assert get(app, **{'If-Modified-Since': earlier}).status_int == 200
    assert get(app, **{'If-Modified-Since': 'garbage'}).status_int == 200


def test_if_unmodified_since(app, ts):
    stamp = ts()
    put(app, stamp)
    later = email.utils.formatdate(float(stamp) + 10, usegmt=True)
    earlier = email.utils.formatdate(float(stamp) - 10, usegmt=True)
    assert get(app, **{'If-Unmodified-Since': later}).status_int == 200
    assert get(app, **{'If-Unmodified-Since': earlier}).status_int == 412


# ---------------------------------------------------------- corruption

def test_size_mismatch_is_quarantined_and_reads_404(app, ts, devices):
    put(app, ts())
    hdir = hash_dir(devices)
    data = os.path.join(hdir, os.listdir(hdir)[0])
    with open(data, 'ab') as fp:
        fp.write(b'extra')
    assert get(app).status_int == 404
    assert not os.path.exists(hdir)
    quarantined = os.path.join(devices, 'sda1', 'quarantined', 'objects',
                               os.path.basename(hdir))
    assert os.path.isdir(quarantined)


def test_body_rot_is_quarantined_after_a_full_read(app, ts, devices):
    put(app, ts(), body=b'good data')
    hdir = hash_dir(devices)
    data = os.path.join(hdir, os.listdir(hdir)[0])
    with open(data, 'r+b') as fp:
        fp.write(b'BAD!')
    assert get(app).body == b'BAD! data'  # already streaming: sent as is
    assert get(app).status_int == 404


# ---------------------------------------------------------- container updates

class FakeConn:
    def __init__(self, status):
        self.status = status

    def getresponse(self):
        return self

    def read(self):
        return b''

    def close(self):
        pass


def record_updates(monkeypatch, statuses):
    """Replace http_connect; statuses maps 'ip:port' to a status or an
    exception to raise."""
    calls = []

    def fake_connect(ip, port, device, partition, method, path, headers,
                     reuse=False):
        calls.append({'host': '%s:%s' % (ip, port), 'device': device,
                      'partition': partition, 'method': method,
                      'path': path, 'headers': dict(headers)})
        outcome = statuses.get('%s:%s' % (ip, port), 201)
        if isinstance(outcome, Exception):
            raise outcome
        return FakeConn(outcome)

    monkeypatch.setattr(server, 'http_connect', fake_connect)
    return calls


CONTAINER_HEADERS = {'X-Container-Host': '127.0.0.1:6001',
                     'X-Container-Partition': '3',
                     'X-Container-Device': 'sdb1',
                     'X-Trans-Id': 'tx123'}


def async_files(devices):
    found = []
    for root, _, files in os.walk(os.path.join(devices, 'sda1',
                                               'async_pending')):
        found.extend(os.path.join(root, f) for f in files)
    return found


def test_put_updates_the_container(app, ts, devices, monkeypatch):
    calls = record_updates(monkeypatch, {})
    stamp = ts()
    put(app, stamp, body=b'abc', **dict(CONTAINER_HEADERS,
                                        **{'Content-Type': 'image/png'}))
    assert len(calls) == 1
    call = calls[0]
    assert (call['host'], call['device'], call['partition'],
            call['method'], call['path']) == ('127.0.0.1:6001', 'sdb1', '3',
                                              'PUT', '/a/c/o')
    assert call['headers']['X-Timestamp'] == stamp
    assert call['headers']['X-Size'] == '3'
    assert call['headers']['X-Content-Type'] == 'image/png'
    assert call['headers']['X-Etag'] == '900150983cd24fb0d6963f7d28e17f72'
    assert call['headers']['X-Trans-Id'] == 'tx123'
    assert async_files(devices) == []


def test_delete_updates_the_container(app, ts, devices, monkeypatch):
    put(app, ts())
    calls = record_updates(monkeypatch, {})
    stamp = ts()
    headers = dict(CONTAINER_HEADERS, **{'X-Timestamp': stamp})
    resp = Request.blank(PATH, method='DELETE',
                         headers=headers).get_response(app)
    assert resp.status_int == 204
    assert [c['method'] for c in calls] == ['DELETE']
    assert calls[0]['headers']['X-Timestamp'] == stamp


def test_several_container_hosts_each_get_the_update(app, ts, monkeypatch):
    calls = record_updates(monkeypatch, {})
    put(app, ts(), **{'X-Container-Host': '127.0.0.1:6001,127.0.0.2:6011',
                      'X-Container-Partition': '3',
                      'X-Container-Device': 'sdb1,sdc1'})
    assert [(c['host'], c['device']) for c in calls] == [
        ('127.0.0.1:6001', 'sdb1'), ('127.0.0.2:6011', 'sdc1')]


def test_failed_update_leaves_json_async_pending(app, ts, devices,
                                                 monkeypatch):
    record_updates(monkeypatch, {'127.0.0.1:6001': 503})
    stamp = ts()
    assert put(app, stamp, **CONTAINER_HEADERS).status_int == 201
    name_hash = hash_path('a', 'c', 'o')
    expected = os.path.join(devices, 'sda1', 'async_pending',
                            name_hash[-3:], '%s-%s' % (name_hash, stamp))
    assert async_files(devices) == [expected]
    with open(expected) as fp:
        record = json.load(fp)
    assert record['op'] == 'PUT'
    assert (record['account'], record['container'], record['obj']) == \
        ('a', 'c', 'o')
    assert record['headers']['X-Timestamp'] == stamp
    assert record['headers']['X-Size'] == '11'
    assert record['failed_nodes'] == [{'ip': '127.0.0.1', 'port': 6001,
                                       'partition': '3', 'device': 'sdb1'}]


def test_unreachable_container_leaves_async_pending(app, ts, devices,
                                                    monkeypatch):
    record_updates(monkeypatch,
                   {'127.0.0.1:6001': ConnectionRefusedError('refused')})
    assert put(app, ts(), **CONTAINER_HEADERS).status_int == 201
    assert len(async_files(devices)) == 1


def test_mismatched_container_headers_are_400_and_write_nothing(
        app, ts, devices, monkeypatch):
    calls = record_updates(monkeypatch, {})
    resp = put(app, ts(), **{'X-Container-Host': '127.0.0.1:1,127.0.0.1:2',
                             'X-Container-Partition': '3',
                             'X-Container-Device': 'sdb1'})
    assert resp.status_int == 400
    resp = put(app, ts(), **{'X-Container-Host': 'nohostport',
                             'X-Container-Partition': '3',
                             'X-Container-Device': 'sdb1'})
    assert resp.status_int == 400
    assert calls == []
    assert not os.path.exists(hash_dir(devices))


# ---------------------------------------------------------- REPLICATE

def test_replicate_returns_suffix_hashes_that_follow_writes(app, ts,
                                                            devices):
    put(app, ts())
    resp = Request.blank('/sda1/0', method='REPLICATE').get_response(app)
    assert resp.status_int == 200
    hashes = json.loads(resp.body)
    suffix = hash_path('a', 'c', 'o')[-3:]
    assert list(hashes) == [suffix]
    put(app, ts())
    resp = Request.blank('/sda1/0', method='REPLICATE').get_response(app)
    assert json.loads(resp.body)[suffix] != hashes[suffix]
    resp = Request.blank('/sda1/0/%s' % suffix,
                         method='REPLICATE').get_response(app)
    assert resp.status_int == 200
    assert Request.blank('/sda1/5', method='REPLICATE').get_response(
        app).body == b'{}'


def test_app_factory_merges_confs(devices, tmp_path):
    app = server.app_factory({'devices': '/nowhere', 'swift_dir':
                              str(tmp_path)},
                             devices=devices, mount_check='false')
    assert app.devices == devices
    assert app.mount_check is False


# ---------------------------------------------------------- edge cases

def test_chunked_wins_over_content_length(app, ts):
    body = b'0123456789' * 10
    resp = raw_put(app, ts(), io.BytesIO(body), content_length=10,
                   chunked=True)
    assert resp.status_int == 201
    assert get(app).body == body


def test_post_sets_content_disposition_and_encoding(app, ts):
    put(app, ts(), **{'Content-Encoding': 'gzip'})
    post(app, ts(), **{'Content-Disposition': 'inline'})
    resp = get(app)
    assert resp.headers['Content-Disposition'] == 'inline'
    # A POST replaces the whole postable set, as for X-Object-Meta-*.
    assert 'Content-Encoding' not in resp.headers


def test_data_removed_between_open_and_read_is_404(app, ts, monkeypatch):
    put(app, ts())

    def vanished(self, verify=False):
        raise diskfile.exceptions.DiskFileNotExist(self.data_file)

    monkeypatch.setattr(diskfile.DiskFile, 'reader', vanished)
    assert get(app).status_int == 404
    assert get(app, method='HEAD').status_int == 200


def test_unread_range_response_closes_its_file(app, ts, devices):
    put(app, ts(), body=BODY)
    df = diskfile.DiskFile(devices, 'sda1', '0', 'a', 'c', 'o').open()
    reader = df.reader()
    ranged = reader.ranges([(0, 1), (5, 6)])
    ranged.close()
    assert reader.fp is None


def test_known_length_is_preallocated(app, ts, monkeypatch):
    sizes = []
    monkeypatch.setattr(diskfile, 'fallocate',
                        lambda fd, size: sizes.append(size))
    put(app, ts(), body=b'x' * 1234)
    raw_put(app, ts(), io.BytesIO(b'abc'), chunked=True)
    assert sizes == [1234]
