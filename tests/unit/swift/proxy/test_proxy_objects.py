"""Object controller over in-memory storage nodes."""

import hashlib
import json

import pytest

from swift.common.constraints import MAX_FILE_SIZE
from swift.common.exceptions import ChunkReadTimeout
from tests.unit.swift.proxy.conftest import Client, make_app
from tests.unit.swift.proxy.fakes import FakeResponse, node_key

ACCOUNT = '/v1/AUTH_test'


@pytest.fixture
def ready(client):
    resp = client.request('PUT', ACCOUNT + '/c')
    assert resp.status_int == 201
    return client


def primaries(cluster, path):
    a, c, o = path.split('/', 2)
    part, nodes = cluster.object_ring.get_nodes(a, c, o)
    return part, nodes


# ------------------------------------------------------------ lifecycle

def test_put_get_head_delete(ready, cluster):
    resp = ready.request('PUT', ACCOUNT + '/c/hello.txt', body=b'hello',
                         headers={'X-Object-Meta-Color': 'blue'})
    assert resp.status_int == 201
    assert resp.headers['ETag'] == hashlib.md5(b'hello').hexdigest()
    assert 'Last-Modified' in resp.headers
    assert len(cluster.object_copies('/AUTH_test/c/hello.txt')) == 3

    resp = ready.request('GET', ACCOUNT + '/c/hello.txt')
    assert resp.status_int == 200
    assert resp.body == b'hello'
    assert resp.headers['Content-Type'] == 'text/plain'   # guessed
    assert resp.headers['X-Object-Meta-Color'] == 'blue'
    assert resp.headers['Accept-Ranges'] == 'bytes'
    assert resp.headers['X-Trans-Id'].startswith('tx')
    assert resp.headers['X-CF-Trans-Id'] == resp.headers['X-Trans-Id']

    resp = ready.request('HEAD', ACCOUNT + '/c/hello.txt')
    assert resp.status_int == 200
    assert resp.headers['Content-Length'] == '5'
    assert resp.body == b''

    resp = ready.request('DELETE', ACCOUNT + '/c/hello.txt')
    assert resp.status_int == 204
    assert ready.request('GET', ACCOUNT + '/c/hello.txt').status_int == 404
    assert ready.request('DELETE', ACCOUNT + '/c/hello.txt').status_int \
        == 404


@pytest.mark.parametrize('buffered', [True, False])
def test_put_sends_timestamp_and_container_updates(ready, cluster, app,
                                                   buffered):
    if not buffered:
        app.buffered_put_size = 0
    ready.request('PUT', ACCOUNT + '/c/o', body=b'x')
    puts = cluster.requests_to('PUT', 'object')
    assert len(puts) == 3
    timestamps = {h['X-Timestamp'] for _k, _p, h, _q in puts}
    assert len(timestamps) == 1
    cpart, cnodes = cluster.container_ring.get_nodes('AUTH_test', 'c')
    hosts = sorted(h['X-Container-Host'] for _k, _p, h, _q in puts)
    assert hosts == sorted('%s:%s' % (n['ip'], n['port']) for n in cnodes)
    for _k, _p, headers, _q in puts:
        assert headers['X-Container-Partition'] == str(cpart)
        # a small body goes with the headers, a streamed one waits for
        # 100 Continue
        assert headers.get('Expect') == (None if buffered
                                         else '100-continue')
        assert headers['Content-Length'] == '1'
        assert headers['X-Trans-Id'].startswith('tx')
    # every container replica got the update: the listing shows it
    listing = ready.request('GET', ACCOUNT + '/c?format=json')
    assert [e['name'] for e in json.loads(listing.body)] == ['o']


def test_client_cannot_inject_backend_headers(ready, cluster):
    ready.request('PUT', ACCOUNT + '/c/o', body=b'x', headers={
        'X-Container-Host': '10.9.9.9:80', 'X-Timestamp': '1.00000',
        'X-Auth-Token': 'secret'})
    for _k, _p, headers, _q in cluster.requests_to('PUT', 'object'):
        assert headers['X-Container-Host'] != '10.9.9.9:80'
        assert headers['X-Timestamp'] != '1.00000'
        assert 'X-Auth-Token' not in headers


def test_chunked_put(ready, cluster):
    data = b'abc' * 50000
    resp = ready.request('PUT', ACCOUNT + '/c/big', body=data, chunked=True)
    assert resp.status_int == 201
    assert ready.request('GET', ACCOUNT + '/c/big').body == data
    for _k, _p, headers, _q in cluster.requests_to('PUT', 'object'):
        assert headers['Transfer-Encoding'] == 'chunked'


def test_put_without_length_is_411(ready):
    resp = ready.request('PUT', ACCOUNT + '/c/o',
                         environ={'CONTENT_LENGTH': None})
    assert resp.status_int == 411


def test_put_too_large_is_413(ready):
    resp = ready.request('PUT', ACCOUNT + '/c/o', headers={
        'Content-Length': str(MAX_FILE_SIZE + 1)})
    assert resp.status_int == 413


def test_put_etag_mismatch_is_422(ready):
    resp = ready.request('PUT', ACCOUNT + '/c/o', body=b'data',
                         headers={'ETag': 'f' * 32})
    assert resp.status_int == 422


def test_put_short_body_is_499(ready):
    resp = ready.request('PUT', ACCOUNT + '/c/o', body=b'abc',
                         environ={'CONTENT_LENGTH': '10'})
    assert resp.status_int == 499


def test_put_into_missing_container_is_404(ready):
    assert ready.request('PUT', ACCOUNT + '/nope/o', body=b'x').status_int \
        == 404


def test_content_type_kept_when_given(ready):
    ready.request('PUT', ACCOUNT + '/c/o.txt', body=b'x',
                  headers={'Content-Type': 'application/x-mine'})
    assert ready.request('HEAD', ACCOUNT + '/c/o.txt').headers[
        'Content-Type'] == 'application/x-mine'
    ready.request('PUT', ACCOUNT + '/c/noext', body=b'x')
    assert ready.request('HEAD', ACCOUNT + '/c/noext').headers[
        'Content-Type'] == 'application/octet-stream'


def test_range_get(ready):
    ready.request('PUT', ACCOUNT + '/c/o', body=b'0123456789')
    resp = ready.request('GET', ACCOUNT + '/c/o',
                         headers={'Range': 'bytes=2-4'})
    assert resp.status_int == 206
    assert resp.body == b'234'
    resp = ready.request('GET', ACCOUNT + '/c/o',
                         headers={'Range': 'bytes=20-30'})
    assert resp.status_int == 416


def test_post_replaces_metadata(ready):
    ready.request('PUT', ACCOUNT + '/c/o', body=b'x',
                  headers={'X-Object-Meta-A': '1'})
    resp = ready.request('POST', ACCOUNT + '/c/o',
                         headers={'X-Object-Meta-B': '2'})
    assert resp.status_int == 202
    head = ready.request('HEAD', ACCOUNT + '/c/o')
    assert head.headers['X-Object-Meta-B'] == '2'
    assert 'X-Object-Meta-A' not in head.headers
    assert ready.request('POST', ACCOUNT + '/c/missing').status_int == 404


def test_metadata_limits(ready):
    resp = ready.request('PUT', ACCOUNT + '/c/o', body=b'x',
                         headers={'X-Object-Meta-' + 'n' * 129: 'v'})
    assert resp.status_int == 400
    resp = ready.request('POST', ACCOUNT + '/c/o',
                         headers={'X-Object-Meta-N': 'v' * 257})
    assert resp.status_int == 400


# ---------------------------------------------------------------- names

def test_object_name_too_long(ready):
    resp = ready.request('PUT', ACCOUNT + '/c/' + 'o' * 1025, body=b'x')
    assert resp.status_int == 400
    resp = ready.request('PUT', ACCOUNT + '/c/' + 'o' * 1024, body=b'x')
    assert resp.status_int == 201


def test_unicode_object_name(ready, cluster):
    resp = ready.request('PUT', ACCOUNT + '/c/%E2%98%83/snow', body=b'x')
    assert resp.status_int == 201
    assert cluster.object_copies('/AUTH_test/c/\u2603/snow')
    resp = ready.request('GET', ACCOUNT + '/c/%E2%98%83/snow')
    assert resp.body == b'x'


def test_invalid_utf8_path_is_412(client):
    resp = client.request('GET', ACCOUNT + '/c/%FF%FE')
    assert resp.status_int == 412


def test_bad_urls(client):
    assert client.request('GET', '/v1').status_int == 412
    assert client.request('GET', '/v2/AUTH_test').status_int == 412
    assert client.request('GET', '//').status_int == 404


def test_unknown_verb_is_405(ready):
    resp = ready.request('PATCH', ACCOUNT + '/c/o')
    assert resp.status_int == 405
    assert 'COPY' in resp.headers['Allow']
    assert ready.request('GETorHEAD', ACCOUNT + '/c/o').status_int == 405


# ------------------------------------------------------ quorum/handoffs

def test_put_survives_one_node_down_using_handoff(ready, cluster):
    part, nodes = primaries(cluster, 'AUTH_test/c/o')
    cluster.down.add(node_key(nodes[0]))
    resp = ready.request('PUT', ACCOUNT + '/c/o', body=b'data')
    assert resp.status_int == 201
    copies = cluster.object_copies('/AUTH_test/c/o')
    assert len(copies) == 3
    assert node_key(nodes[0]) not in copies
    handoff = next(cluster.object_ring.get_more_nodes(part))
    assert node_key(handoff) in copies


def test_put_fails_without_quorum(ready, cluster):
    # 2 of 4 devices left: only 2 nodes answer, fewer than... a majority of
    # 3 is 2, so knock out 3 devices
    for dev in cluster.object_ring.devs[:3]:
        cluster.down.add(node_key(dev))
    resp = ready.request('PUT', ACCOUNT + '/c/o', body=b'data')
    assert resp.status_int == 503


def test_put_unmounted_device_uses_handoff_and_error_limits(ready, cluster,
                                                           app):
    part, nodes = primaries(cluster, 'AUTH_test/c/o')
    cluster.unmounted.add(node_key(nodes[1]))
    resp = ready.request('PUT', ACCOUNT + '/c/o', body=b'data')
    assert resp.status_int == 201
    assert node_key(nodes[1]) not in cluster.object_copies('/AUTH_test/c/o')
    assert app.error_limited(nodes[1])
    before = len(cluster.requests)
    ready.request('GET', ACCOUNT + '/c/o')
    # error-limited: no more requests go to it
    assert all(r[0] != node_key(nodes[1])
               for r in cluster.requests[before:])


def test_put_stuck_node_replaced(ready, cluster, app):
    app.buffered_put_size = 0  # the stream path waits for 100 Continue
    _part, nodes = primaries(cluster, 'AUTH_test/c/o')
    cluster.hang_expect.add(node_key(nodes[2]))
    resp = ready.request('PUT', ACCOUNT + '/c/o', body=b'data')
    assert resp.status_int == 201
    assert len(cluster.object_copies('/AUTH_test/c/o')) == 3


def test_put_node_failing_mid_send_still_quorum(ready, cluster, app):
    app.buffered_put_size = 0  # the stream path cannot resend the bytes
    _part, nodes = primaries(cluster, 'AUTH_test/c/o')
    cluster.fail_send.add(node_key(nodes[0]))
    resp = ready.request('PUT', ACCOUNT + '/c/o', body=b'data')
    assert resp.status_int == 201
    assert len(cluster.object_copies('/AUTH_test/c/o')) == 2
    _part, nodes2 = primaries(cluster, 'AUTH_test/c/o2')
    cluster.fail_send = {node_key(n) for n in nodes2[:2]}
    resp = ready.request('PUT', ACCOUNT + '/c/o2', body=b'data')
    assert resp.status_int == 503


def test_mismatched_etags_is_500(ready, cluster, monkeypatch):
    original = cluster.object_PUT
    calls = []

    def odd_put(conn, body):
        calls.append(1)
        resp = original(conn, body)
        if len(calls) == 2:
            resp._headers['ETag'] = 'f' * 32
        return resp
    monkeypatch.setattr(cluster, 'object_PUT', odd_put)
    resp = ready.request('PUT', ACCOUNT + '/c/o', body=b'data')
    assert resp.status_int == 500


def test_get_falls_through_to_next_node(ready, cluster):
    ready.request('PUT', ACCOUNT + '/c/o', body=b'data')
    _part, nodes = primaries(cluster, 'AUTH_test/c/o')
    cluster.down.update(node_key(n) for n in nodes[:2])
    resp = ready.request('GET', ACCOUNT + '/c/o')
    assert resp.status_int == 200 and resp.body == b'data'


def test_get_finds_object_on_handoff(ready, cluster):
    _part, nodes = primaries(cluster, 'AUTH_test/c/o')
    cluster.down.add(node_key(nodes[0]))
    ready.request('PUT', ACCOUNT + '/c/o', body=b'data')
    cluster.down.clear()
    # now two primaries have it, and the third (back up) does not
    cluster.broken.update(node_key(n) for n in nodes[1:])
    resp = ready.request('GET', ACCOUNT + '/c/o')
    assert resp.status_int == 200 and resp.body == b'data'


def test_get_all_nodes_failing_is_503(ready, cluster):
    ready.request('PUT', ACCOUNT + '/c/o', body=b'data')
    cluster.broken.update(node_key(d) for d in cluster.object_ring.devs)
    assert ready.request('GET', ACCOUNT + '/c/o').status_int == 503


def test_object_delete_without_quorum_is_503(ready, cluster):
    ready.request('PUT', ACCOUNT + '/c/o', body=b'data')
    cluster.broken.update(node_key(d) for d in cluster.object_ring.devs[:3])
    assert ready.request('DELETE', ACCOUNT + '/c/o').status_int == 503


def test_slow_read_ends_body_short(ready, cluster, monkeypatch):
    ready.request('PUT', ACCOUNT + '/c/o', body=b'data')

    def stuck_read(self, amt=None):
        raise ChunkReadTimeout()
    monkeypatch.setattr(FakeResponse, 'read', stuck_read)
    resp = ready.request('GET', ACCOUNT + '/c/o')
    assert resp.status_int == 200
    assert resp.body == b''  # the stream ended where the node stalled


# ----------------------------------------------------------------- copy

def test_x_copy_from(ready):
    ready.request('PUT', ACCOUNT + '/c/src', body=b'payload', headers={
        'Content-Type': 'text/x-src', 'X-Object-Meta-A': 'src',
        'X-Object-Meta-B': 'src'})
    resp = ready.request('PUT', ACCOUNT + '/c/dst', headers={
        'X-Copy-From': '/c/src', 'Content-Length': '0',
        'X-Object-Meta-B': 'dst'})
    assert resp.status_int == 201
    assert resp.headers['X-Copied-From'] == 'c/src'
    got = ready.request('GET', ACCOUNT + '/c/dst')
    assert got.body == b'payload'
    assert got.headers['Content-Type'] == 'text/x-src'
    assert got.headers['X-Object-Meta-A'] == 'src'
    assert got.headers['X-Object-Meta-B'] == 'dst'


def test_copy_with_body_is_400(ready):
    ready.request('PUT', ACCOUNT + '/c/src', body=b'payload')
    resp = ready.request('PUT', ACCOUNT + '/c/dst', body=b'oops',
                         headers={'X-Copy-From': 'c/src'})
    assert resp.status_int == 400


def test_copy_bad_source_header(ready):
    resp = ready.request('PUT', ACCOUNT + '/c/dst',
                         headers={'X-Copy-From': 'nocontainer',
                                  'Content-Length': '0'})
    assert resp.status_int == 412
    resp = ready.request('PUT', ACCOUNT + '/c/dst',
                         headers={'X-Copy-From': 'c/missing',
                                  'Content-Length': '0'})
    assert resp.status_int == 404


def test_copy_verb(ready):
    ready.request('PUT', ACCOUNT + '/c/src', body=b'payload',
                  headers={'X-Object-Meta-A': '1'})
    ready.request('PUT', ACCOUNT + '/c2')
    resp = ready.request('COPY', ACCOUNT + '/c/src', headers={
        'Destination': '/c2/copy%20of', 'X-Object-Meta-New': 'yes'})
    assert resp.status_int == 201
    got = ready.request('GET', ACCOUNT + '/c2/copy%20of')
    assert got.body == b'payload'
    assert got.headers['X-Object-Meta-A'] == '1'
    assert got.headers['X-Object-Meta-New'] == 'yes'
    resp = ready.request('COPY', ACCOUNT + '/c/src')
    assert resp.status_int == 412
    resp = ready.request('COPY', ACCOUNT + '/c/src',
                         headers={'Destination': 'justone'})
    assert resp.status_int == 412


# ------------------------------------------------------- large objects

def put_segments(client, count=4, size=5):
    data = b''
    for i in range(count):
        piece = bytes([65 + i]) * size
        data += piece
        assert client.request('PUT', ACCOUNT + '/segs/big/%08d' % i,
                              body=piece).status_int == 201
    assert client.request('PUT', ACCOUNT + '/c/big', body=b'', headers={
        'X-Object-Manifest': 'segs/big/'}).status_int == 201
    return data


def test_manifest_get(ready):
    ready.request('PUT', ACCOUNT + '/segs')
    data = put_segments(ready)
    resp = ready.request('GET', ACCOUNT + '/c/big')
    assert resp.status_int == 200
    assert resp.body == data
    assert resp.content_length == len(data)
    etags = ''.join(hashlib.md5(data[i:i + 5]).hexdigest()
                    for i in range(0, len(data), 5))
    assert resp.headers['ETag'] == '"%s"' % hashlib.md5(
        etags.encode()).hexdigest()
    head = ready.request('HEAD', ACCOUNT + '/c/big')
    assert head.content_length == len(data)
    assert head.headers['X-Object-Manifest'] == 'segs/big/'


def test_manifest_ranges(ready):
    ready.request('PUT', ACCOUNT + '/segs')
    data = put_segments(ready)
    for rng, expected in (('bytes=3-11', data[3:12]), ('bytes=5-9', data[5:10]),
                          ('bytes=-7', data[-7:]), ('bytes=18-', data[18:])):
        resp = ready.request('GET', ACCOUNT + '/c/big',
                             headers={'Range': rng})
        assert resp.status_int == 206, rng
        assert resp.body == expected, rng
        assert resp.headers['Content-Range'].endswith('/%d' % len(data))
    resp = ready.request('GET', ACCOUNT + '/c/big',
                         headers={'Range': 'bytes=100-200'})
    assert resp.status_int == 416


def test_manifest_paged_listing(ready, monkeypatch):
    from swift.proxy.controllers import segments
    monkeypatch.setattr(segments, 'CONTAINER_LISTING_LIMIT', 2)
    ready.request('PUT', ACCOUNT + '/segs')
    data = put_segments(ready, count=5, size=3)
    # more than the (lowered) limit: streamed without a length
    resp = ready.request('GET', ACCOUNT + '/c/big')
    assert resp.status_int == 200
    assert resp.body == data


def test_copy_of_manifest_copies_bytes(ready):
    ready.request('PUT', ACCOUNT + '/segs')
    data = put_segments(ready)
    resp = ready.request('PUT', ACCOUNT + '/c/flat', headers={
        'X-Copy-From': 'c/big', 'Content-Length': '0'})
    assert resp.status_int == 201
    got = ready.request('GET', ACCOUNT + '/c/flat')
    assert got.body == data
    assert 'X-Object-Manifest' not in got.headers


def test_manifest_cannot_be_set_by_post(ready):
    ready.request('PUT', ACCOUNT + '/c/o', body=b'x')
    resp = ready.request('POST', ACCOUNT + '/c/o',
                         headers={'X-Object-Manifest': 'segs/x'})
    assert resp.status_int == 400


def test_segment_fetches_throttled_after_limit(cluster, monkeypatch):
    from swift.proxy.controllers import segments
    sleeps = []
    monkeypatch.setattr(segments.eventlet, 'sleep', sleeps.append)
    client = Client(make_app(cluster, rate_limit_after_segment='2',
                             rate_limit_segments_per_sec='4'))
    client.request('PUT', ACCOUNT + '/c')
    client.request('PUT', ACCOUNT + '/segs')
    data = put_segments(client, count=5, size=2)
    assert client.request('GET', ACCOUNT + '/c/big').body == data
    assert sleeps == [0.25, 0.25, 0.25]


def test_mime_types_file_in_swift_dir(cluster, tmp_path):
    (tmp_path / 'mime.types').write_text('application/x-swifttest  swtest\n')
    client = Client(make_app(cluster, swift_dir=str(tmp_path)))
    client.request('PUT', ACCOUNT + '/c')
    client.request('PUT', ACCOUNT + '/c/file.swtest', body=b'x')
    assert client.request('HEAD', ACCOUNT + '/c/file.swtest').headers[
        'Content-Type'] == 'application/x-swifttest'


def test_detect_content_type_overrides(ready):
    ready.request('PUT', ACCOUNT + '/c/page.html', body=b'x', headers={
        'Content-Type': 'application/octet-stream',
        'X-Detect-Content-Type': 'true'})
    assert ready.request('HEAD', ACCOUNT + '/c/page.html').headers[
        'Content-Type'] == 'text/html'


def test_bad_manifest_header_is_400(ready):
    for value in ('nocontainer', '/prefix-only', ''):
        resp = ready.request('PUT', ACCOUNT + '/c/m', body=b'', headers={
            'X-Object-Manifest': value})
        assert resp.status_int == 400, value
