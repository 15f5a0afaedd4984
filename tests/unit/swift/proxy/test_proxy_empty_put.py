"""Zero-byte object PUTs (and so large-object manifests) through the proxy.

Object servers store an empty PUT without reading a body, so they answer
``Expect: 100-continue`` with their final 201 at once; the proxy must take
those as stored replicas and give a complete answer (ETag, Last-Modified).
Every test runs on both PUT paths: the buffered one (small bodies, no
Expect) and the streaming one (``buffered_put_size = 0``), where the early
answers happen.
"""

import pytest

from tests.unit.swift.proxy.fakes import FakeResponse, node_key

ACCOUNT = '/v1/AUTH_test'
EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e'


def _ready(client):
    assert client.request('PUT', ACCOUNT + '/c').status_int == 201
    return client


@pytest.fixture(autouse=True, params=[65536, 0], ids=['buffered', 'stream'])
def put_path(request, app):
    app.buffered_put_size = request.param
    return request.param


def test_zero_byte_put_answered_early_is_complete(client, cluster):
    _ready(client)
    resp = client.request('PUT', ACCOUNT + '/c/empty', body=b'')
    assert resp.status_int == 201
    assert resp.status == '201 Created'
    assert resp.headers['ETag'] == EMPTY_MD5
    assert 'Last-Modified' in resp.headers
    assert resp.headers['Content-Length'] == '0'
    assert len(cluster.object_copies('/AUTH_test/c/empty')) == 3
    # no body was sent after the early answers
    puts = cluster.requests_to('PUT', 'object')
    assert len(puts) == 3
    get = client.request('GET', ACCOUNT + '/c/empty')
    assert get.status_int == 200 and get.body == b''


def test_manifest_put_is_complete(client, cluster):
    _ready(client)
    client.request('PUT', ACCOUNT + '/c/seg/1', body=b'abc')
    client.request('PUT', ACCOUNT + '/c/seg/2', body=b'def')
    resp = client.request('PUT', ACCOUNT + '/c/big', body=b'',
                          headers={'X-Object-Manifest': 'c/seg/'})
    assert resp.status_int == 201
    assert resp.headers['ETag'] == EMPTY_MD5
    assert client.request('GET', ACCOUNT + '/c/big').body == b'abcdef'


def test_zero_byte_put_refused_early_by_every_node(client, cluster,
                                                   monkeypatch):
    _ready(client)

    def conflict(conn, body):
        return FakeResponse(409, {}, b'newer', reason='Conflict\r\n')
    monkeypatch.setattr(cluster, 'object_PUT', conflict)
    resp = client.request('PUT', ACCOUNT + '/c/empty', body=b'')
    assert resp.status == '409 Conflict'


def test_zero_byte_put_with_unmounted_primary_uses_handoff(client, cluster):
    _ready(client)
    part, nodes = cluster.object_ring.get_nodes('AUTH_test', 'c', 'empty')
    cluster.unmounted.add(node_key(nodes[0]))
    resp = client.request('PUT', ACCOUNT + '/c/empty', body=b'')
    assert resp.status_int == 201
    assert resp.headers['ETag'] == EMPTY_MD5
    copies = cluster.object_copies('/AUTH_test/c/empty')
    assert len(copies) == 3
    assert node_key(nodes[0]) not in copies


def test_zero_byte_copy_of_empty_object(client, cluster):
    _ready(client)
    client.request('PUT', ACCOUNT + '/c/empty', body=b'')
    resp = client.request('PUT', ACCOUNT + '/c/copy',
                          headers={'X-Copy-From': 'c/empty'})
    assert resp.status_int == 201
    assert resp.headers['ETag'] == EMPTY_MD5
    assert len(cluster.object_copies('/AUTH_test/c/copy')) == 3
