"""The swift store: images as objects in a Swift container (v1.0 auth).

Locations look like ``swift+http://127.0.0.1:8080/auth/v1.0/glance/12``:
the auth URL, then the container and the object (the image id).  The
original embedded the user and key in the location and showed it to every
client; here credentials come from the configuration (a location that does
carry ``user:key@`` is still understood, for data registered by hand).

Images larger than ``swift_store_large_object_size`` MiB, or of unknown
size, are written as segments ``<id>-00001``, ``<id>-00002``... of at most
``swift_store_large_object_chunk_size`` MiB plus a manifest object with
``X-Object-Manifest``.  Reads and deletes follow the manifest themselves
(listing the segments), so they work the same whether or not the Swift
proxy assembles manifests.
"""

import http.client
import json
import logging
import urllib.parse

from glance.common import config
from glance.common import exception
from glance.store import base

LOG = logging.getLogger(__name__)
MiB = 1024 * 1024


class SwiftLocation:
    def __init__(self, scheme, auth_url, container, obj, user=None, key=None):
        self.scheme = scheme
        self.auth_url = auth_url
        self.container = container
        self.obj = obj
        self.user = user
        self.key = key

    @classmethod
    def parse(cls, location):
        parts = urllib.parse.urlsplit(location)
        if parts.scheme not in SwiftStore.schemes:
            raise exception.Invalid('Not a swift location: %s'
                                    % base.redact(location))
        segments = parts.path.rstrip('/').split('/')
        if len(segments) < 3 or not segments[-1] or not segments[-2]:
            raise exception.Invalid('Swift location %s lacks a container and '
                                    'object' % base.redact(location))
        user = key = None
        netloc = parts.netloc
        if '@' in netloc:
            creds, netloc = netloc.rsplit('@', 1)
            # user may be account:user, so the key is after the last colon
            user, _sep, key = creds.rpartition(':')
            user, key = urllib.parse.unquote(user), urllib.parse.unquote(key)
        http_scheme = 'http' if parts.scheme == 'swift+http' else 'https'
        auth_url = '%s://%s%s' % (http_scheme, netloc,
                                  '/'.join(segments[:-2]) or '/')
        return cls(parts.scheme, auth_url, urllib.parse.unquote(segments[-2]),
                   urllib.parse.unquote(segments[-1]), user, key)


def _auth_url(address):
    """``swift_store_auth_address`` as a URL (https when it has no scheme)."""
    address = address.strip()
    if '://' not in address:
        address = 'https://' + address
    return address.rstrip('/')


def _connection(url, timeout):
    parts = urllib.parse.urlsplit(url)
    cls = (http.client.HTTPSConnection if parts.scheme == 'https'
           else http.client.HTTPConnection)
    return cls(parts.hostname, parts.port, timeout=timeout)


class SwiftStore(base.Store):
    name = 'swift'
    schemes = ('swift', 'swift+http', 'swift+https')

    def __init__(self, conf=None):
        super().__init__(conf)
        c = self.conf
        self.auth_address = config.get_str(c, 'swift_store_auth_address')
        self.user = config.get_str(c, 'swift_store_user')
        self.key = config.get_str(c, 'swift_store_key')
        self.container = config.get_str(c, 'swift_store_container', 'glance')
        self.create_container = config.get_bool(
            c, 'swift_store_create_container_on_put', False)
        self.large_object_size = config.get_int(
            c, 'swift_store_large_object_size', 5 * 1024) * MiB
        self.chunk_size = config.get_int(
            c, 'swift_store_large_object_chunk_size', 200) * MiB
        self.timeout = config.get_int(c, 'swift_store_timeout', 60)
        if self.chunk_size <= 0 or self.large_object_size <= 0:
            raise exception.Invalid('swift_store_large_object_size and '
                                    '_chunk_size must be positive')
        self._tokens = {}

    # -- auth ---------------------------------------------------------------

    def _credentials(self, loc):
        user = loc.user or self.user
        key = loc.key or self.key
        if not user or key is None:
            raise exception.StoreError('The swift store has no credentials: '
                                       'set swift_store_user and '
                                       'swift_store_key')
        return user, key

    def _auth(self, loc, refresh=False):
        """``(storage_url, token)`` for the location's account."""
        user, key = self._credentials(loc)
        cache_key = (loc.auth_url, user)
        if not refresh and cache_key in self._tokens:
            return self._tokens[cache_key]
        parts = urllib.parse.urlsplit(loc.auth_url)
        conn = _connection(loc.auth_url, self.timeout)
        try:
            conn.request('GET', parts.path or '/',
                         headers={'X-Auth-User': user, 'X-Auth-Key': key})
            resp = conn.getresponse()
            resp.read()
        except OSError as e:
            raise exception.StoreError('Swift auth at %s is unreachable: %s'
                                       % (loc.auth_url, e)) from None
        finally:
            conn.close()
        if resp.status in (401, 403):
            raise exception.StoreError('Swift refused the credentials of %s '
                                       'at %s' % (user, loc.auth_url))
        if resp.status >= 300:
            raise exception.StoreError('Swift auth at %s answered %d'
                                       % (loc.auth_url, resp.status))
        url = resp.getheader('X-Storage-Url')
        token = resp.getheader('X-Auth-Token') or resp.getheader(
            'X-Storage-Token')
        if not url or not token:
            raise exception.StoreError('Swift auth at %s returned no storage '
                                       'URL or token' % loc.auth_url)
        self._tokens[cache_key] = (url.rstrip('/'), token)
        return self._tokens[cache_key]

    def _request(self, loc, method, path='', headers=None, body=None,
                 stream=False, chunked=False):
        """One request to the storage URL; retried once on an expired token.

        With ``stream`` the (connection, response) pair is returned open.
        A streamed body cannot be replayed, so only requests without one
        are retried.
        """
        for attempt in (0, 1):
            storage_url, token = self._auth(loc, refresh=attempt == 1)
            parts = urllib.parse.urlsplit(storage_url)
            conn = _connection(storage_url, self.timeout)
            all_headers = {'X-Auth-Token': token}
            all_headers.update(headers or {})
            try:
                conn.request(method, parts.path + path, body=body,
                             headers=all_headers, encode_chunked=chunked)
                resp = conn.getresponse()
            except OSError as e:
                conn.close()
                raise exception.StoreError('Swift at %s failed during %s: %s'
                                           % (parts.netloc, method, e)) \
                    from None
            except BaseException:
                conn.close()
                raise
            if resp.status == 401 and attempt == 0 and body is None:
                resp.read()
                conn.close()
                continue
            if stream:
                return conn, resp
            try:
                data = resp.read()
            finally:
                conn.close()
            return resp, data
        raise exception.StoreError('Swift rejected a fresh token')

    @staticmethod
    def _path(container, obj=None):
        path = '/' + urllib.parse.quote(container, safe='')
        if obj is not None:
            path += '/' + urllib.parse.quote(obj, safe='')
        return path

    # -- writing ------------------------------------------------------------

    def _location_for(self, image_id):
        if not self.auth_address:
            raise exception.StoreError('swift_store_auth_address is not set')
        url = urllib.parse.urlsplit(_auth_url(self.auth_address))
        scheme = 'swift+http' if url.scheme == 'http' else 'swift+https'
        return SwiftLocation(
            scheme, _auth_url(self.auth_address), self.container,
            str(image_id))

    def _location_uri(self, loc):
        parts = urllib.parse.urlsplit(loc.auth_url)
        return '%s://%s%s/%s/%s' % (
            loc.scheme, parts.netloc, parts.path.rstrip('/'),
            urllib.parse.quote(loc.container, safe=''),
            urllib.parse.quote(loc.obj, safe=''))

    def _ensure_container(self, loc):
        resp, _ = self._request(loc, 'HEAD', self._path(loc.container))
        if resp.status < 300:
            return
        if resp.status != 404:
            raise exception.StoreError('Swift answered %d for container %s'
                                       % (resp.status, loc.container))
        if not self.create_container:
            # A configuration problem of the service, not of the request.
            raise exception.StoreError(
                'Swift container %s does not exist; create it or set '
                'swift_store_create_container_on_put = True' % loc.container)
        resp, _ = self._request(loc, 'PUT', self._path(loc.container))
        if resp.status >= 300:
            raise exception.StoreError('Creating swift container %s failed '
                                       '(%d)' % (loc.container, resp.status))

    def _put_object(self, loc, name, chunks, length=None, extra=None):
        """PUT one object from chunks; return the MD5 of what was sent."""
        hashing = base.HashingIterator(chunks)
        headers = {'Content-Type': 'application/octet-stream'}
        headers.update(extra or {})
        if length is None:
            headers['Transfer-Encoding'] = 'chunked'
        else:
            headers['Content-Length'] = str(length)
        resp, data = self._request(loc, 'PUT', self._path(loc.container, name),
                                   headers=headers, body=iter(hashing),
                                   chunked=length is None)
        if resp.status == 409:
            raise exception.Conflict('Swift already holds %s/%s'
                                     % (loc.container, name))
        if resp.status == 413:
            raise exception.TooLarge('Swift refused %s/%s as too large'
                                     % (loc.container, name))
        if resp.status >= 300:
            raise exception.StoreError('Swift answered %d to the PUT of '
                                       '%s/%s: %s' % (resp.status,
                                                      loc.container, name,
                                                      data[:200]))
        etag = (resp.getheader('ETag') or '').strip('"')
        if etag and etag != hashing.hexdigest():
            raise exception.StoreError('Swift stored %s/%s with checksum %s, '
                                       'sent %s' % (loc.container, name, etag,
                                                    hashing.hexdigest()))
        return hashing.size

    def add(self, image_id, chunks, size=None):
        loc = self._location_for(image_id)
        self._ensure_container(loc)
        resp, _ = self._request(loc, 'HEAD',
                                self._path(loc.container, loc.obj))
        if resp.status < 300:
            raise exception.Conflict('Swift already holds data for image %s'
                                     % image_id)
        written = []
        try:
            if size is not None and size < self.large_object_size:
                written.append(loc.obj)
                self._put_object(loc, loc.obj, chunks, length=size)
            else:
                self._add_segmented(loc, chunks, size, written)
        except BaseException:
            self._remove_quietly(loc, written)
            raise
        return self._location_uri(loc)

    def _add_segmented(self, loc, chunks, size, written):
        segmenter = base.Segmenter(chunks)
        prefix = '%s-' % loc.obj
        number = 0
        remaining = size
        while segmenter.has_more():
            number += 1
            name = '%s%05d' % (prefix, number)
            length = None
            if remaining is not None:
                length = min(self.chunk_size, remaining)
            written.append(name)
            sent = self._put_object(loc, name,
                                    segmenter.take(self.chunk_size), length)
            if remaining is not None:
                remaining -= sent
            LOG.debug('wrote segment %s (%d bytes)', name, sent)
        if number == 0:
            # No data at all: an empty plain object, not a manifest.
            written.append(loc.obj)
            self._put_object(loc, loc.obj, iter(()), length=0)
            return
        written.append(loc.obj)
        self._put_object(loc, loc.obj, iter(()), length=0, extra={
            'X-Object-Manifest': '%s/%s' % (loc.container, prefix)})

    def _remove_quietly(self, loc, names):
        for name in reversed(names):
            try:
                self._request(loc, 'DELETE', self._path(loc.container, name))
            except exception.GlanceError as e:
                LOG.warning('could not remove %s/%s after a failed upload: %s',
                            loc.container, name, e)

    # -- reading and deleting -----------------------------------------------

    def _head(self, loc):
        resp, _ = self._request(loc, 'HEAD',
                                self._path(loc.container, loc.obj))
        if resp.status == 404:
            raise exception.NotFound('No swift object %s/%s'
                                     % (loc.container, loc.obj))
        if resp.status >= 300:
            raise exception.StoreError('Swift answered %d to a HEAD of %s/%s'
                                       % (resp.status, loc.container,
                                          loc.obj))
        return resp

    def _segments(self, loc, manifest):
        """[(container, name, bytes)] of a manifest's segments, in order."""
        container, _sep, prefix = manifest.partition('/')
        container = urllib.parse.unquote(container)
        prefix = urllib.parse.unquote(prefix)
        found = []
        marker = ''
        for _page in range(100000):
            query = urllib.parse.urlencode({'format': 'json', 'prefix': prefix,
                                            'marker': marker})
            resp, data = self._request(loc, 'GET',
                                       self._path(container) + '?' + query)
            if resp.status == 404:
                break
            if resp.status >= 300:
                raise exception.StoreError('Listing segments in %s failed '
                                           '(%d)' % (container, resp.status))
            page = json.loads(data or b'[]')
            if not page:
                break
            for item in page:
                found.append((container, item['name'], int(item['bytes'])))
            marker = page[-1]['name']
        return found

    def get(self, location):
        loc = SwiftLocation.parse(location)
        head = self._head(loc)
        manifest = head.getheader('X-Object-Manifest')
        if not manifest:
            conn, resp = self._request(loc, 'GET',
                                       self._path(loc.container, loc.obj),
                                       stream=True)
            if resp.status >= 300:
                conn.close()
                raise exception.StoreError('Swift answered %d to a GET of '
                                           '%s/%s' % (resp.status,
                                                      loc.container, loc.obj))
            length = int(resp.getheader('Content-Length') or 0)
            return self._stream(conn, resp, length), length
        segments = self._segments(loc, manifest)
        total = sum(s[2] for s in segments)
        return self._stream_segments(loc, segments), total

    def _stream(self, conn, resp, length):
        got = 0
        try:
            while True:
                data = resp.read(base.CHUNK_SIZE)
                if not data:
                    break
                got += len(data)
                yield data
        finally:
            conn.close()
        if got != length:
            raise exception.StoreError('Swift sent %d of %d bytes'
                                       % (got, length))

    def _stream_segments(self, loc, segments):
        for container, name, length in segments:
            conn, resp = self._request(loc, 'GET', self._path(container, name),
                                       stream=True)
            if resp.status >= 300:
                conn.close()
                raise exception.StoreError('Swift answered %d to a GET of '
                                           'segment %s/%s'
                                           % (resp.status, container, name))
            yield from self._stream(conn, resp, length)

    def get_size(self, location):
        loc = SwiftLocation.parse(location)
        head = self._head(loc)
        manifest = head.getheader('X-Object-Manifest')
        if manifest:
            return sum(s[2] for s in self._segments(loc, manifest))
        return int(head.getheader('Content-Length') or 0)

    def delete(self, location):
        loc = SwiftLocation.parse(location)
        head = self._head(loc)
        manifest = head.getheader('X-Object-Manifest')
        if manifest:
            for container, name, _length in self._segments(loc, manifest):
                self._request(loc, 'DELETE', self._path(container, name))
        resp, _ = self._request(loc, 'DELETE',
                                self._path(loc.container, loc.obj))
        if resp.status == 404:
            raise exception.NotFound('No swift object %s/%s'
                                     % (loc.container, loc.obj))
        if resp.status >= 300:
            raise exception.StoreError('Swift answered %d to a DELETE of '
                                       '%s/%s' % (resp.status, loc.container,
                                                  loc.obj))

    def validate_location(self, location, context=None):
        SwiftLocation.parse(location)
