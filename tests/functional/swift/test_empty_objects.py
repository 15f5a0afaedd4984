"""Zero-byte objects and large-object manifests through the real proxy.

Object servers store an empty PUT without reading its body and answer the
proxy's ``Expect: 100-continue`` with their final 201.  The proxy once
copied that answer's reason phrase with its CR LF into its own status line:
the client got a blank line instead of headers and waited for the
connection to close.  Timeouts here are only there so that such a hang
fails the test instead of stalling it; nothing asserts on speed.
"""

import hashlib
import http.client
import socket
import uuid
from urllib.parse import urlparse

from swiftclient import client as swiftclient

EMPTY_MD5 = hashlib.md5(b'').hexdigest()


def _connection(cluster, user='test:tester'):
    return swiftclient.Connection(
        authurl=cluster.auth_url, user=user, key=cluster.users[user][0],
        retries=0, timeout=10)


def _unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


def test_raw_zero_byte_put_reply_is_well_formed(swift_cluster):
    url, token = swift_cluster.get_auth('test:tester')
    parsed = urlparse(url)
    container = _unique('raw-empty')
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                      timeout=10)
    conn.request('PUT', '%s/%s' % (parsed.path, container),
                 headers={'X-Auth-Token': token})
    assert conn.getresponse().status == 201
    conn.close()
    sock = socket.create_connection((parsed.hostname, parsed.port),
                                    timeout=10)
    try:
        sock.sendall(('PUT %s/%s/empty HTTP/1.1\r\nHost: x\r\n'
                      'X-Auth-Token: %s\r\nContent-Length: 0\r\n\r\n'
                      % (parsed.path, container, token)).encode())
        head = b''
        for _ in range(100):
            if b'\r\n\r\n' in head:
                break
            data = sock.recv(65536)
            assert data, 'proxy closed the connection: %r' % head
            head += data
        status_line, _, rest = head.partition(b'\r\n')
        assert status_line == b'HTTP/1.1 201 Created'
        # headers follow the status line directly (no blank line first)
        assert not rest.startswith(b'\r\n')
        headers = {}
        for line in rest.split(b'\r\n\r\n')[0].split(b'\r\n'):
            key, _, value = line.decode('latin-1').partition(':')
            headers[key.strip().lower()] = value.strip()
        assert headers['etag'] == EMPTY_MD5
        assert headers['content-length'] == '0'
        assert 'last-modified' in headers
    finally:
        sock.close()


def test_swiftclient_empty_object_and_reused_connection(swift_cluster):
    conn = _connection(swift_cluster)
    container = _unique('empty')
    conn.put_container(container)
    response = {}
    etag = conn.put_object(container, 'nothing', b'',
                           response_dict=response)
    assert etag == EMPTY_MD5
    assert response['status'] == 201
    assert response['headers']['etag'] == EMPTY_MD5
    assert response['headers']['content-length'] == '0'
    assert 'last-modified' in response['headers']
    http_conn = conn.http_conn
    # the same keep-alive connection serves the next requests
    headers = conn.head_object(container, 'nothing')
    assert headers['content-length'] == '0'
    assert headers['etag'] == EMPTY_MD5
    headers, body = conn.get_object(container, 'nothing')
    assert body == b''
    assert conn.http_conn is http_conn
    conn.delete_object(container, 'nothing')
    conn.delete_container(container)
    conn.close()


def test_swiftclient_manifest_put_and_get(swift_cluster):
    conn = _connection(swift_cluster)
    container = _unique('dlo')
    conn.put_container(container)
    parts = [b'first part|', b'second part|', b'third']
    for index, data in enumerate(parts):
        conn.put_object(container, 'big/%08d' % index, data)
    response = {}
    etag = conn.put_object(
        container, 'big', b'', response_dict=response,
        headers={'X-Object-Manifest': '%s/big/' % container})
    assert etag == EMPTY_MD5
    assert response['status'] == 201
    headers, body = conn.get_object(container, 'big')
    assert body == b''.join(parts)
    assert headers['x-object-manifest'] == '%s/big/' % container
    assert int(headers['content-length']) == len(body)
    for index in range(len(parts)):
        conn.delete_object(container, 'big/%08d' % index)
    conn.delete_object(container, 'big')
    conn.delete_container(container)
    conn.close()


def test_http_client_empty_put_then_more_on_same_connection(swift_cluster):
    url, token = swift_cluster.get_auth('test:tester')
    parsed = urlparse(url)
    container = _unique('keepalive')
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                      timeout=10)
    try:
        statuses = []
        for method, path, body in (('PUT', '', b''),
                                   ('PUT', '/a', b''),
                                   ('PUT', '/b', b'x'),
                                   ('GET', '?format=json', None)):
            conn.request(method, '%s/%s%s' % (parsed.path, container, path),
                         body=body, headers={'X-Auth-Token': token})
            resp = conn.getresponse()
            data = resp.read()
            statuses.append(resp.status)
        assert statuses == [201, 201, 201, 200]
        assert b'"a"' in data and b'"b"' in data
    finally:
        conn.close()
