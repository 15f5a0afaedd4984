"""In-memory storage nodes for proxy unit tests.

`FakeCluster.connect` stands in for bufferedhttp.http_connect: each ring
device is a small in-memory account/container/object server with the
behaviour the proxy relies on (timestamps, container and account updates,
listings, ranges, ETag checks), and failures can be injected per node:

- ``down``: connecting raises ConnectionRefusedError;
- ``unmounted``: every answer (and the 100-continue) is 507;
- ``broken``: every answer is 500;
- ``hang_expect``: getexpect() raises a Timeout (a stuck node).

As a real object server does, a node answers a PUT with
``Content-Length: 0`` with its final status instead of 100 Continue.
"""

import hashlib
import json
import time
from urllib.parse import parse_qs

from eventlet import Timeout

from swift.common.utils import normalize_timestamp


def node_key(node):
    return (node['ip'], node['port'], node['device'])


class FakeRing:
    """``devices`` devices in distinct zones; partition = md5 % parts."""

    def __init__(self, devices=4, replicas=3, parts=8, port=6000):
        self.replica_count = replicas
        self.partition_count = parts
        self.devs = [{'id': i, 'zone': i + 1, 'ip': '127.0.0.%d' % (i + 1),
                      'port': port, 'device': 'sd%s' % chr(ord('a') + i),
                      'weight': 1.0, 'meta': ''} for i in range(devices)]

    def get_part(self, account, container=None, obj=None):
        path = '/' + '/'.join(p for p in (account, container, obj) if p)
        return int(hashlib.md5(path.encode('utf-8')).hexdigest(), 16) % \
            self.partition_count

    def get_part_nodes(self, part):
        count = len(self.devs)
        return [self.devs[(part + i) % count]
                for i in range(self.replica_count)]

    def get_nodes(self, account, container=None, obj=None):
        part = self.get_part(account, container, obj)
        return part, self.get_part_nodes(part)

    def get_more_nodes(self, part):
        primaries = {d['id'] for d in self.get_part_nodes(part)}
        for dev in self.devs:
            if dev['id'] not in primaries:
                yield dev


class FakeResponse:
    def __init__(self, status, headers=None, body=b'', reason=None):
        self.status = status
        self.reason = reason or {100: 'Continue', 200: 'OK', 201: 'Created',
                                 202: 'Accepted', 204: 'No Content',
                                 206: 'Partial Content', 404: 'Not Found',
                                 409: 'Conflict', 416: 'Range Not '
                                 'Satisfiable', 422: 'Unprocessable Entity',
                                 500: 'Internal Server Error',
                                 507: 'Insufficient Storage'}.get(status, '')
        self._headers = dict(headers or {})
        if status != 100 and 'Content-Length' not in self._headers:
            self._headers['Content-Length'] = str(len(body))
        self._body = body
        self._pos = 0

    def getheaders(self):
        return list(self._headers.items())

    def getheader(self, name, default=None):
        for key, value in self._headers.items():
            if key.lower() == name.lower():
                return value
        return default

    def read(self, amt=None):
        if amt is None:
            amt = len(self._body) - self._pos
        data = self._body[self._pos:self._pos + amt]
        self._pos += len(data)
        return data

    def close(self):
        pass


def _dechunk(data):
    out = b''
    while data:
        line, _, rest = data.partition(b'\r\n')
        size = int(line, 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return out


class FakeConn:
    def __init__(self, cluster, node, partition, method, path, headers,
                 query_string):
        self.cluster = cluster
        self.node = node
        self.key = node_key(node)
        self.partition = partition
        self.method = method
        self.path = path
        self.headers = {k.lower(): str(v) for k, v in (headers or {}).items()}
        self.query_string = query_string or ''
        self.sent = b''
        self.closed = False

    def getexpect(self):
        if self.key in self.cluster.hang_expect:
            raise Timeout()
        if self.key in self.cluster.unmounted:
            return FakeResponse(507)
        if self.key in self.cluster.broken:
            return FakeResponse(500)
        if self.headers.get('content-length') == '0' and \
                'chunked' not in self.headers.get('transfer-encoding', ''):
            # like a real object server: an empty PUT is stored (and
            # answered) at once, without a 100 Continue
            return self.getresponse()
        return FakeResponse(100)

    def send(self, data):
        if self.key in self.cluster.fail_send:
            raise IOError('broken pipe')
        self.sent += data

    def getresponse(self):
        if self.key in self.cluster.unmounted:
            return FakeResponse(507)
        if self.key in self.cluster.broken:
            return FakeResponse(500)
        body = self.sent
        if 'chunked' in self.headers.get('transfer-encoding', ''):
            body = _dechunk(body)
        return self.cluster.handle(self, body)

    def close(self):
        self.closed = True


class FakeCluster:
    """The storage nodes behind three `FakeRing`s."""

    def __init__(self, devices=4, replicas=3):
        self.account_ring = FakeRing(devices, replicas, port=6002)
        self.container_ring = FakeRing(devices, replicas, port=6001)
        self.object_ring = FakeRing(devices, replicas, port=6000)
        self.down = set()
        self.unmounted = set()
        self.broken = set()
        self.hang_expect = set()
        self.fail_send = set()
        # (node key, path) -> record
        self.accounts = {}
        self.containers = {}
        self.objects = {}
        self.requests = []  # (node key, method, path, headers, query)

    # ---------------------------------------------------------- plumbing

    def connect(self, ipaddr, port, device, partition, method, path,
                headers=None, query_string=None, body=None, reuse=False):
        node = {'ip': ipaddr, 'port': port, 'device': device}
        key = node_key(node)
        self.requests.append((key, method, path, dict(headers or {}),
                              query_string))
        if key in self.down:
            raise ConnectionRefusedError('node %s down' % (key,))
        conn = FakeConn(self, node, partition, method, path, headers,
                        query_string)
        if body is not None:
            # sent with the headers, as bufferedhttp does
            conn.send(body)
        return conn

    def handle(self, conn, body):
        segs = conn.path.lstrip('/').split('/', 2)
        if len(segs) == 1:
            kind = 'account'
        elif len(segs) == 2:
            kind = 'container'
        else:
            kind = 'object'
        handler = getattr(self, '%s_%s' % (kind, conn.method), None)
        if handler is None:
            return FakeResponse(405)
        return handler(conn, body)

    def _ts(self, conn):
        return conn.headers.get('x-timestamp') or normalize_timestamp(
            time.time())

    def requests_to(self, method, kind=None):
        result = []
        for key, m, path, headers, query in self.requests:
            depth = path.count('/')
            k = {1: 'account', 2: 'container'}.get(depth, 'object')
            if m == method and (kind is None or kind == k):
                result.append((key, path, headers, query))
        return result

    # ---------------------------------------------------------- accounts

    def account_PUT(self, conn, body):
        record = self.accounts.get((conn.key, conn.path))
        if record and not record['deleted']:
            return FakeResponse(202)
        self.accounts[(conn.key, conn.path)] = {
            'meta': _meta(conn.headers, 'x-account-meta-'),
            'containers': {}, 'deleted': False}
        return FakeResponse(201)

    def _account(self, conn):
        record = self.accounts.get((conn.key, conn.path))
        return record if record and not record['deleted'] else None

    def account_HEAD(self, conn, body):
        record = self._account(conn)
        if not record:
            return FakeResponse(404)
        headers = {'X-Account-Container-Count': str(len(record['containers'])),
                   'X-Account-Object-Count': '0',
                   'X-Account-Bytes-Used': '0'}
        headers.update(record['meta'])
        return FakeResponse(204, headers)

    def account_GET(self, conn, body):
        record = self._account(conn)
        if not record:
            return FakeResponse(404)
        names = sorted(n for n, alive in record['containers'].items()
                       if alive)
        return _listing(conn, [{'name': n, 'count': 0, 'bytes': 0}
                               for n in names])

    def account_POST(self, conn, body):
        record = self._account(conn)
        if not record:
            return FakeResponse(404)
        record['meta'].update(_meta(conn.headers, 'x-account-meta-'))
        return FakeResponse(204)

    def account_DELETE(self, conn, body):
        record = self._account(conn)
        if not record:
            return FakeResponse(404)
        record['deleted'] = True
        return FakeResponse(204)

    def _account_update(self, conn, container, alive):
        host = conn.headers.get('x-account-host')
        if not host:
            return
        ip, port = host.rsplit(':', 1)
        key = (ip, int(port), conn.headers['x-account-device'])
        account_path = '/' + conn.path.lstrip('/').split('/')[0]
        record = self.accounts.get((key, account_path))
        if record:
            record['containers'][container] = alive

    # -------------------------------------------------------- containers

    def _container(self, conn):
        record = self.containers.get((conn.key, conn.path))
        return record if record and not record['deleted'] else None

    def container_PUT(self, conn, body):
        record = self._container(conn)
        name = conn.path.split('/')[-1]
        self._account_update(conn, name, True)
        if record:
            record['meta'].update(_meta(conn.headers, 'x-container-meta-',
                                        'x-container-read',
                                        'x-container-write'))
            return FakeResponse(202)
        self.containers[(conn.key, conn.path)] = {
            'meta': _meta(conn.headers, 'x-container-meta-',
                          'x-container-read', 'x-container-write'),
            'objects': {}, 'deleted': False}
        return FakeResponse(201)

    def container_HEAD(self, conn, body):
        record = self._container(conn)
        if not record:
            return FakeResponse(404)
        objects = [o for o in record['objects'].values() if not o['deleted']]
        headers = {'X-Container-Object-Count': str(len(objects)),
                   'X-Container-Bytes-Used': str(sum(o['bytes']
                                                     for o in objects))}
        headers.update(record['meta'])
        return FakeResponse(204, headers)

    def container_GET(self, conn, body):
        record = self._container(conn)
        if not record:
            return FakeResponse(404)
        entries = [{'name': n, 'hash': o['etag'], 'bytes': o['bytes'],
                    'content_type': o['content_type'],
                    'last_modified': o['last_modified']}
                   for n, o in sorted(record['objects'].items())
                   if not o['deleted']]
        head = self.container_HEAD(conn, b'')
        return _listing(conn, entries, dict(head.getheaders()))

    def container_POST(self, conn, body):
        record = self._container(conn)
        if not record:
            return FakeResponse(404)
        record['meta'].update(_meta(conn.headers, 'x-container-meta-',
                                    'x-container-read', 'x-container-write'))
        return FakeResponse(204)

    def container_DELETE(self, conn, body):
        record = self._container(conn)
        if not record:
            return FakeResponse(404)
        if any(not o['deleted'] for o in record['objects'].values()):
            return FakeResponse(409)
        record['deleted'] = True
        self._account_update(conn, conn.path.split('/')[-1], False)
        return FakeResponse(204)

    def _container_update(self, conn, name, record):
        host = conn.headers.get('x-container-host')
        if not host:
            return
        ip, port = host.rsplit(':', 1)
        key = (ip, int(port), conn.headers['x-container-device'])
        container_path = '/' + '/'.join(conn.path.lstrip('/').split('/')[:2])
        container = self.containers.get((key, container_path))
        if container is None:
            return
        current = container['objects'].get(name)
        if current and current['timestamp'] > record['timestamp']:
            return
        container['objects'][name] = {
            'etag': record.get('etag', ''), 'bytes': record.get('bytes', 0),
            'content_type': record.get('content_type', ''),
            'timestamp': record['timestamp'],
            'last_modified': time.strftime(
                '%Y-%m-%dT%H:%M:%S', time.gmtime(float(record['timestamp'])))
            + '.000000',
            'deleted': record.get('deleted', False)}

    # ----------------------------------------------------------- objects

    def _object(self, conn):
        record = self.objects.get((conn.key, conn.path))
        return record if record and not record['deleted'] else None

    def object_PUT(self, conn, body):
        ts = self._ts(conn)
        etag = hashlib.md5(body).hexdigest()
        if conn.headers.get('etag') and \
                conn.headers['etag'].strip('"') != etag:
            return FakeResponse(422)
        if 'content-length' in conn.headers and \
                int(conn.headers['content-length']) != len(body):
            return FakeResponse(499)
        record = {'timestamp': ts, 'body': body, 'etag': etag,
                  'bytes': len(body),
                  'content_type': conn.headers.get('content-type', ''),
                  'meta': _meta(conn.headers, 'x-object-meta-',
                                'x-object-manifest', 'content-encoding',
                                'content-disposition'),
                  'deleted': False}
        current = self.objects.get((conn.key, conn.path))
        if not current or current['timestamp'] < ts:
            self.objects[(conn.key, conn.path)] = record
        self._container_update(conn, conn.path.split('/', 3)[3], record)
        return FakeResponse(201, {'ETag': etag})

    def _object_headers(self, record):
        headers = {'Content-Type': record['content_type'],
                   'ETag': record['etag'], 'X-Timestamp': record['timestamp'],
                   'Last-Modified': time.strftime(
                       '%a, %d %b %Y %H:%M:%S GMT',
                       time.gmtime(float(record['timestamp'])))}
        headers.update(record['meta'])
        return headers

    def object_GET(self, conn, body, head=False):
        record = self._object(conn)
        if not record:
            return FakeResponse(404)
        headers = self._object_headers(record)
        data = record['body']
        rng = conn.headers.get('range')
        status = 200
        if rng:
            start_text, _, end_text = rng.split('=', 1)[1].partition('-')
            size = len(data)
            if start_text == '':
                start, end = max(size - int(end_text), 0), size - 1
            else:
                start = int(start_text)
                end = int(end_text) if end_text else size - 1
            end = min(end, size - 1)
            if start >= size or start > end:
                return FakeResponse(416, {'Content-Range': 'bytes */%d'
                                          % size})
            headers['Content-Range'] = 'bytes %d-%d/%d' % (start, end, size)
            data = data[start:end + 1]
            status = 206
        if head:
            headers['Content-Length'] = str(len(data))
            return FakeResponse(status, headers, b'')
        return FakeResponse(status, headers, data)

    def object_HEAD(self, conn, body):
        return self.object_GET(conn, body, head=True)

    def object_POST(self, conn, body):
        record = self._object(conn)
        if not record:
            return FakeResponse(404)
        keep = {k: v for k, v in record['meta'].items()
                if not k.lower().startswith('x-object-meta-')}
        keep.update(_meta(conn.headers, 'x-object-meta-'))
        record['meta'] = keep
        return FakeResponse(202)

    def object_DELETE(self, conn, body):
        ts = self._ts(conn)
        record = self._object(conn)
        self.objects[(conn.key, conn.path)] = {'timestamp': ts,
                                               'deleted': True}
        self._container_update(conn, conn.path.split('/', 3)[3],
                               {'timestamp': ts, 'deleted': True})
        return FakeResponse(204 if record else 404)

    # ----------------------------------------------------------- helpers

    def object_copies(self, path):
        """{node key: record} of the live copies of an object path."""
        return {key: rec for (key, p), rec in self.objects.items()
                if p == path and not rec['deleted']}


def _meta(headers, prefix, *names):
    out = {}
    for key, value in headers.items():
        if key.startswith(prefix) or key in names:
            out[key.title()] = value
    return out


def _listing(conn, entries, headers=None):
    params = parse_qs(conn.query_string, keep_blank_values=True)

    def param(name, default=''):
        return params.get(name, [default])[0]

    prefix, marker, end_marker = (param('prefix'), param('marker'),
                                  param('end_marker'))
    limit = int(param('limit', '10000') or 10000)
    delimiter = param('delimiter')
    out = []
    for entry in entries:
        name = entry['name']
        if marker and name <= marker:
            continue
        if end_marker and name >= end_marker:
            continue
        if prefix and not name.startswith(prefix):
            continue
        if delimiter:
            rest = name[len(prefix):]
            if delimiter in rest:
                subdir = prefix + rest.split(delimiter, 1)[0] + delimiter
                if not out or out[-1].get('subdir') != subdir:
                    out.append({'subdir': subdir})
                continue
        out.append(entry)
        if len(out) >= limit:
            break
    headers = dict(headers or {})
    headers.pop('Content-Length', None)
    if param('format') == 'json':
        headers['Content-Type'] = 'application/json; charset=utf-8'
        return FakeResponse(200, headers, json.dumps(out).encode('utf-8'))
    if not out:
        return FakeResponse(204, headers)
    headers['Content-Type'] = 'text/plain; charset=utf-8'
    text = ''.join((e.get('name') or e.get('subdir')) + '\n' for e in out)
    return FakeResponse(200, headers, text.encode('utf-8'))
