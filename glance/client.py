"""A Python client for the glance image API v1.

    client = Client('127.0.0.1', 9292, auth_token=None)
    image = client.add_image({'name': 'x', 'disk_format': 'raw',
                              'container_format': 'bare'}, open(path, 'rb'))
    meta, chunks = client.get_image(image['id'])

Data goes out as a file (sent with its Content-Length when it has a size)
or any iterator of bytes (sent chunked), and comes back as an iterator of
64 KiB chunks, so neither side holds an image in memory.  Error statuses
become glance.common.exception errors carrying the server's message.
"""

import http.client
import json
import os
import urllib.parse

from glance.common import exception
from glance.common import image_meta

CHUNK_SIZE = 64 * 1024


class Client:

    def __init__(self, host='127.0.0.1', port=9292, auth_token=None,
                 timeout=600, use_ssl=False, prefix='/v1'):
        self.host = host
        self.port = int(port)
        self.auth_token = auth_token
        self.timeout = timeout
        self.use_ssl = use_ssl
        self.prefix = prefix

    # -- transport ----------------------------------------------------------

    def _connection(self):
        cls = (http.client.HTTPSConnection if self.use_ssl
               else http.client.HTTPConnection)
        return cls(self.host, self.port, timeout=self.timeout,
                   blocksize=CHUNK_SIZE)

    def _send(self, method, path, headers=None, body=None):
        """Send a request; return (connection, response) with body unread."""
        all_headers = {}
        if self.auth_token:
            all_headers['X-Auth-Token'] = self.auth_token
        chunked = False
        if body is not None:
            all_headers['Content-Type'] = 'application/octet-stream'
            size = _size_of(body)
            if size is not None:
                all_headers['Content-Length'] = str(size)
            else:
                chunked = True
                all_headers['Transfer-Encoding'] = 'chunked'
                if not hasattr(body, 'read'):
                    body = iter(body)
        conn = self._connection()
        try:
            conn.putrequest(method, self.prefix + path,
                            skip_accept_encoding=True)
            for name, value in all_headers.items():
                conn.putheader(name, value)
            for name, value in headers or []:
                conn.putheader(name, value)
            conn.endheaders()
            if body is not None:
                self._send_body(conn, body, chunked)
            resp = conn.getresponse()
        except OSError as e:
            conn.close()
            raise exception.ServiceUnavailable(
                'Cannot reach glance at %s:%s: %s' % (self.host, self.port, e))\
                from None
        except BaseException:
            conn.close()
            raise
        if resp.status >= 400:
            text = resp.read().decode('utf-8', 'replace').strip()
            conn.close()
            raise exception.from_status(resp.status, text or resp.reason)
        return conn, resp

    @staticmethod
    def _send_body(conn, body, chunked):
        if hasattr(body, 'read'):
            pieces = iter(lambda: body.read(CHUNK_SIZE), b'')
        elif isinstance(body, (bytes, bytearray)):
            pieces = [bytes(body)]
        else:
            pieces = body
        for piece in pieces:
            if not piece:
                continue
            if chunked:
                conn.send(b'%x\r\n' % len(piece) + piece + b'\r\n')
            else:
                conn.send(piece)
        if chunked:
            conn.send(b'0\r\n\r\n')

    def _json(self, method, path, headers=None, body=None):
        conn, resp = self._send(method, path, headers, body)
        try:
            data = resp.read()
        finally:
            conn.close()
        return json.loads(data) if data.strip() else {}

    # -- operations ---------------------------------------------------------

    def get_images(self, **params):
        """One page of the brief list (id, name, formats, checksum, size)."""
        return self._json('GET', '/images' + _query(params))['images']

    def get_images_detailed(self, **params):
        """One page of full records; params are filters, limit, marker..."""
        return self._json('GET', '/images/detail' + _query(params))['images']

    def iter_images_detailed(self, page_size=100, **params):
        """Every visible image, following ``marker`` page by page."""
        marker = params.pop('marker', None)
        for _page in range(1000000):
            query = dict(params, limit=page_size)
            if marker is not None:
                query['marker'] = marker
            page = self.get_images_detailed(**query)
            yield from page
            if len(page) < page_size:
                return
            marker = page[-1]['id']

    def get_image_meta(self, image_id):
        conn, resp = self._send('HEAD', '/images/%s' % _quote(image_id))
        try:
            resp.read()
        finally:
            conn.close()
        return image_meta.from_headers(resp.getheaders())

    def get_image(self, image_id):
        """``(meta, chunk iterator)``; the iterator checks the byte count."""
        conn, resp = self._send('GET', '/images/%s' % _quote(image_id))
        meta = image_meta.from_headers(resp.getheaders())
        length = resp.getheader('Content-Length')
        return meta, _stream(conn, resp,
                             int(length) if length is not None else None)

    def add_image(self, meta, data=None):
        headers = image_meta.to_header_pairs(meta)
        return self._json('POST', '/images', headers, data)['image']

    def update_image(self, image_id, meta=None, data=None, purge_props=False):
        headers = image_meta.to_header_pairs(meta or {})
        headers.append(('x-glance-registry-purge-props',
                        'true' if purge_props else 'false'))
        return self._json('PUT', '/images/%s' % _quote(image_id), headers,
                          data)['image']

    def delete_image(self, image_id):
        conn, resp = self._send('DELETE', '/images/%s' % _quote(image_id))
        try:
            resp.read()
        finally:
            conn.close()
        return True


def _size_of(body):
    """The byte count of a file or bytes body; None for a stream."""
    if isinstance(body, (bytes, bytearray)):
        return len(body)
    if hasattr(body, 'fileno'):
        try:
            st = os.fstat(body.fileno())
        except (OSError, ValueError, AttributeError):
            return None
        import stat
        if stat.S_ISREG(st.st_mode):
            try:
                return st.st_size - body.tell()
            except OSError:
                return None
    if hasattr(body, 'getbuffer'):
        return len(body.getbuffer()) - body.tell()
    return None


def _quote(image_id):
    return urllib.parse.quote(str(image_id), safe='')


def _query(params):
    pairs = [(k, v) for k, v in params.items() if v is not None]
    return ('?' + urllib.parse.urlencode(pairs)) if pairs else ''


def _stream(conn, resp, length):
    got = 0
    try:
        while True:
            data = resp.read(CHUNK_SIZE)
            if not data:
                break
            got += len(data)
            yield data
    finally:
        conn.close()
    if length is not None and got != length:
        raise exception.GlanceError('glance sent %d of %d bytes'
                                    % (got, length))
