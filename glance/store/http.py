"""The http store: read-only images behind plain http(s) URLs."""

import http.client
import urllib.parse

from glance.common import exception
from glance.store import base

MAX_REDIRECTS = 5


class HttpStore(base.Store):
    name = 'http'
    schemes = ('http', 'https')

    def __init__(self, conf=None):
        super().__init__(conf)
        self.timeout = float(self.conf.get('http_store_timeout') or 60)

    def validate_location(self, location, context=None):
        parts = urllib.parse.urlsplit(location)
        if parts.scheme not in self.schemes or not parts.hostname:
            raise exception.Invalid('Invalid http location %r' % location)

    def _open(self, method, location):
        url = location
        for _attempt in range(MAX_REDIRECTS + 1):
            parts = urllib.parse.urlsplit(url)
            cls = (http.client.HTTPSConnection if parts.scheme == 'https'
                   else http.client.HTTPConnection)
            conn = cls(parts.hostname, parts.port, timeout=self.timeout)
            path = parts.path or '/'
            if parts.query:
                path += '?' + parts.query
            try:
                conn.request(method, path)
                resp = conn.getresponse()
            except OSError as e:
                conn.close()
                raise exception.StoreError('Cannot reach %s: %s'
                                           % (base.redact(url), e)) from None
            if resp.status in (301, 302, 303, 307, 308) and \
                    resp.getheader('Location'):
                url = urllib.parse.urljoin(url, resp.getheader('Location'))
                conn.close()
                continue
            if resp.status == 404:
                conn.close()
                raise exception.NotFound('No image data at %s'
                                         % base.redact(location))
            if resp.status >= 400:
                conn.close()
                raise exception.StoreError('%s answered %d for %s' % (
                    parts.hostname, resp.status, base.redact(location)))
            return conn, resp
        raise exception.StoreError('Too many redirects for %s'
                                   % base.redact(location))

    def get(self, location):
        conn, resp = self._open('GET', location)
        length = resp.getheader('Content-Length')
        return _stream(conn, resp), int(length) if length else None

    def get_size(self, location):
        conn, resp = self._open('HEAD', location)
        conn.close()
        length = resp.getheader('Content-Length')
        return int(length) if length else None

    def delete(self, location):
        # Data behind a URL belongs to someone else: deleting the image
        # record leaves it alone.
        return None


def _stream(conn, resp):
    try:
        while True:
            data = resp.read(base.CHUNK_SIZE)
            if not data:
                break
            yield data
    finally:
        conn.close()
