"""Small PUT bodies: read whole, sent with the headers, retried on
hand-offs (``buffered_put_size``)."""

import hashlib
import io

from eventlet import Timeout

from tests.unit.swift.proxy.fakes import FakeResponse, node_key

ACCOUNT = '/v1/AUTH_test'


def _ready(client):
    assert client.request('PUT', ACCOUNT + '/c').status_int == 201
    return client


def _primaries(cluster, obj='o'):
    return cluster.object_ring.get_nodes('AUTH_test', 'c', obj)


def test_failed_send_is_retried_on_a_handoff_with_the_same_bytes(
        client, cluster):
    _ready(client)
    part, nodes = _primaries(cluster)
    cluster.fail_send.add(node_key(nodes[0]))
    resp = client.request('PUT', ACCOUNT + '/c/o', body=b'data')
    assert resp.status_int == 201
    copies = cluster.object_copies('/AUTH_test/c/o')
    assert len(copies) == 3 and node_key(nodes[0]) not in copies
    assert all(c['body'] == b'data' for c in copies.values())
    handoff = next(cluster.object_ring.get_more_nodes(part))
    assert node_key(handoff) in copies


def test_broken_and_unmounted_nodes_are_replaced(client, cluster, app):
    _ready(client)
    _part, nodes = _primaries(cluster)
    cluster.broken.add(node_key(nodes[0]))
    cluster.unmounted.add(node_key(nodes[1]))
    resp = client.request('PUT', ACCOUNT + '/c/o', body=b'data')
    # 4 devices: one hand-off, so 2 of 3 replicas -- still a majority
    assert resp.status_int == 201
    assert len(cluster.object_copies('/AUTH_test/c/o')) == 2
    assert app.error_limited(nodes[1])


def test_no_quorum_is_503(client, cluster):
    _ready(client)
    for dev in cluster.object_ring.devs[:3]:
        cluster.broken.add(node_key(dev))
    assert client.request('PUT', ACCOUNT + '/c/o',
                          body=b'data').status_int == 503


def test_refusal_is_passed_on_and_not_retried(client, cluster, monkeypatch):
    _ready(client)
    calls = []

    def conflict(conn, body):
        calls.append(conn.key)
        return FakeResponse(409, {}, b'newer')
    monkeypatch.setattr(cluster, 'object_PUT', conflict)
    resp = client.request('PUT', ACCOUNT + '/c/o', body=b'data')
    assert resp.status_int == 409
    assert len(calls) == 3


def test_stuck_answer_moves_on(client, cluster, monkeypatch):
    _ready(client)
    _part, nodes = _primaries(cluster)
    original = cluster.handle

    def handle(conn, body):
        if conn.key == node_key(nodes[2]) and conn.method == 'PUT':
            raise Timeout()
        return original(conn, body)
    monkeypatch.setattr(cluster, 'handle', handle)
    resp = client.request('PUT', ACCOUNT + '/c/o', body=b'data')
    assert resp.status_int == 201
    assert len(cluster.object_copies('/AUTH_test/c/o')) == 3


def test_short_client_body_is_499_and_reaches_no_node(client, cluster):
    _ready(client)
    before = len(cluster.requests_to('PUT', 'object'))
    resp = client.request('PUT', ACCOUNT + '/c/o', headers={
        'Content-Length': '10'}, environ={'wsgi.input': io.BytesIO(b'abc')})
    assert resp.status_int == 499
    assert len(cluster.requests_to('PUT', 'object')) == before
    assert cluster.object_copies('/AUTH_test/c/o') == {}


def test_bodies_above_the_limit_stream(client, cluster, app):
    _ready(client)
    app.buffered_put_size = 8
    client.request('PUT', ACCOUNT + '/c/small', body=b'12345678')
    client.request('PUT', ACCOUNT + '/c/big', body=b'123456789')
    expects = {path: headers.get('Expect') for _k, path, headers, _q
               in cluster.requests_to('PUT', 'object')}
    assert expects['/AUTH_test/c/small'] is None
    assert expects['/AUTH_test/c/big'] == '100-continue'
    resp = client.request('GET', ACCOUNT + '/c/big')
    assert resp.body == b'123456789'


def test_etag_checked_by_object_servers(client, cluster):
    _ready(client)
    resp = client.request('PUT', ACCOUNT + '/c/o', body=b'data',
                          headers={'ETag': hashlib.md5(b'x').hexdigest()})
    assert resp.status_int == 422
    resp = client.request('PUT', ACCOUNT + '/c/o', body=b'data',
                          headers={'ETag': hashlib.md5(b'data').hexdigest()})
    assert resp.status_int == 201
    assert resp.headers['ETag'] == hashlib.md5(b'data').hexdigest()


def test_losing_a_race_to_a_newer_write_is_202(client, cluster,
                                               monkeypatch):
    """Object servers refuse an older write with 409 and name the newer
    timestamp they hold: the client hears 202 (the newest write wins),
    not 409 -- unless a majority stored it anyway."""
    _ready(client)
    answers = iter([409, 409, 201])

    def newer_there(conn, body):
        status = next(answers)
        if status == 409:
            return FakeResponse(
                409, {'X-Backend-Timestamp': '9999999999.00000'}, b'newer')
        return FakeResponse(201, {'ETag': 'x'})
    monkeypatch.setattr(cluster, 'object_PUT', newer_there)
    assert client.request('PUT', ACCOUNT + '/c/o',
                          body=b'data').status_int == 202
    answers = iter([201, 409, 201])
    assert client.request('PUT', ACCOUNT + '/c/o',
                          body=b'data').status_int == 201
    # a 409 naming an older timestamp is a real refusal
    monkeypatch.setattr(cluster, 'object_PUT', lambda conn, body:
                        FakeResponse(409, {'X-Backend-Timestamp': '1.00000'},
                                     b'odd'))
    assert client.request('PUT', ACCOUNT + '/c/o',
                          body=b'data').status_int == 409
