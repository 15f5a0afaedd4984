"""Keep-alive reuse of storage-node connections (bufferedhttp.POOL)."""

import socket
import threading

import eventlet
import eventlet.wsgi
import pytest

from swift.common import bufferedhttp
from swift.common.bufferedhttp import http_connect, release


@pytest.fixture
def pool(monkeypatch):
    fresh = bufferedhttp.ConnectionPool(per_node=2, max_idle_age=20.0)
    monkeypatch.setattr(bufferedhttp, 'POOL', fresh)
    yield fresh
    fresh.clear()


@pytest.fixture
def server():
    """An eventlet WSGI server (keep-alive on) noting each request's
    client port, i.e. which TCP connection carried it."""
    seen = []

    def app(env, start):
        body = env['wsgi.input'].read()
        seen.append((env['REQUEST_METHOD'], env['PATH_INFO'],
                     env['REMOTE_PORT'], body))
        if env['PATH_INFO'].endswith('/big'):
            start('200 OK', [('Content-Length', '10')])
            return [b'0123456789']
        start('201 Created', [('Content-Length', '2')])
        return [b'ok']

    sock = eventlet.listen(('127.0.0.1', 0))
    thread = eventlet.spawn(eventlet.wsgi.server, sock, app,
                            log_output=False)
    yield sock.getsockname()[1], seen
    thread.kill()
    sock.close()


def request(port, method='PUT', path='/a/c/o', body=b'x', reuse=True):
    conn = http_connect('127.0.0.1', port, 'sda', 1, method, path,
                        {'Content-Length': str(len(body or b''))},
                        body=body, reuse=reuse)
    resp = conn.getresponse()
    return conn, resp


def test_a_released_connection_carries_the_next_request(pool, server):
    port, seen = server
    for _ in range(3):
        conn, resp = request(port)
        assert (resp.status, resp.read()) == (201, b'ok')
        release(conn, resp)
    assert len(seen) == 3
    assert len({client_port for _m, _p, client_port, _b in seen}) == 1
    assert [b for *_x, b in seen] == [b'x'] * 3
    assert pool.idle_count() == 1


def test_without_reuse_every_request_has_its_own_connection(pool, server):
    port, seen = server
    for _ in range(2):
        conn, resp = request(port, reuse=False)
        resp.read()
        release(conn, resp)  # pooled, but never taken without reuse
    conn, resp = request(port, reuse=False)
    resp.read()
    conn.close()
    assert len({client_port for _m, _p, client_port, _b in seen}) == 3


def test_a_response_not_read_to_its_end_closes(pool, server):
    port, seen = server
    conn, resp = request(port, method='GET', path='/a/c/big', body=None)
    assert resp.read(3) == b'012'
    release(conn, resp)
    assert pool.idle_count() == 0
    assert conn.sock is None


def test_a_connection_the_node_closed_is_not_used(pool, server):
    port, seen = server
    conn, resp = request(port)
    resp.read()
    # take the server-side socket away as an idle timeout would
    peer = conn.sock
    release(conn, resp)
    peer.shutdown(socket.SHUT_RD)  # our side sees EOF from now on
    conn2, resp2 = request(port)
    assert resp2.status == 201
    assert conn2 is not conn
    release(conn2, resp2)


def _closing_server():
    """Raw server: answers each connection's first request with keep-alive
    headers, then closes it without reading more."""
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(8)
    requests = []

    def serve():
        for _ in range(4):
            try:
                client, _addr = listener.accept()
            except OSError:
                return
            data = b''
            while b'\r\n\r\n' not in data:
                chunk = client.recv(4096)
                if not chunk:
                    break
                data += chunk
            requests.append(data)
            client.sendall(b'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n'
                           b'\r\nok')
            client.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, requests, thread


def test_a_request_on_a_connection_closed_meanwhile_is_sent_again(
        pool, monkeypatch):
    listener, requests, thread = _closing_server()
    port = listener.getsockname()[1]
    try:
        conn, resp = request(port)
        assert resp.read() == b'ok'
        release(conn, resp)
        assert pool.idle_count() == 1
        # the close lands after the pool's check, right before our send
        monkeypatch.setattr(bufferedhttp, '_still_open', lambda c: True)
        conn2, resp2 = request(port, path='/a/c/again')
        assert conn2 is conn  # it was the pooled connection
        assert (resp2.status, resp2.read()) == (201, b'ok')
        conn2.close()
        assert len(requests) == 2
        assert b'/a/c/again' in requests[1]
    finally:
        listener.close()
        thread.join(5)


def test_a_failing_fresh_connection_is_not_retried(pool):
    listener, requests, thread = _closing_server()
    port = listener.getsockname()[1]
    try:
        conn, resp = request(port, reuse=False)
        resp.read()
        # a second request on the same, now closed, connection: no replay
        # for a connection that did not come from the pool
        with pytest.raises((ConnectionError, OSError)):
            bufferedhttp._send_request(conn, 'GET', '/x', False, [], None)
            conn.getresponse()
    finally:
        conn.close()
        listener.close()
        thread.join(5)


def test_idle_connections_are_bounded_and_age_out(pool, server):
    port, seen = server
    conns = []
    for _ in range(3):
        conn, resp = request(port)
        resp.read()
        conns.append((conn, resp))
    for conn, resp in conns:
        release(conn, resp)
    assert pool.idle_count() == 2
    assert conns[0][0].sock is None  # the oldest was closed
    pool.max_idle_age = 0
    conn, resp = request(port)
    assert pool.idle_count() == 0  # both aged out when one was asked for
    resp.read()
    release(conn, resp)


def test_a_forked_process_starts_with_an_empty_pool(pool, server):
    port, seen = server
    conn, resp = request(port)
    resp.read()
    release(conn, resp)
    pool._pid = -1  # as if this were the child of a fork
    conn2, resp2 = request(port)
    assert conn2 is not conn
    resp2.read()
    conn2.close()


def test_headers_are_checked_like_http_client_does(pool, server):
    port, seen = server
    # what http.client refuses is refused (odd but legal names and values
    # go through http.client's own putheader)
    for name, value in (('X-Bad', 'a\r\nX-Injected: yes'),
                        ('X-Bad', 'a\nb'), ('', 'v'), ('X:Colon', 'v')):
        with pytest.raises(ValueError):
            http_connect('127.0.0.1', port, 'sda', 1, 'GET', '/a',
                         {name: value, 'X-Fine': 'ok'})
    conn = http_connect('127.0.0.1', port, 'sda', 1, 'GET', '/a/c/o',
                        {'X-Meta': '\u00e9'.encode('utf-8'), 'X-Num': 7})
    resp = conn.getresponse()
    assert resp.status == 201
    resp.read()
    conn.close()
