"""The s3 store: images as objects in an S3 bucket (S3 header signatures).

Locations look like ``s3+http://127.0.0.1:3333/glance/12`` (bucket, key);
credentials come from the configuration, or from ``access:secret@`` in a
location registered by hand (never put there by glance itself, since
locations are shown to clients).

S3 needs the length of an object before its body, so an upload of unknown
size is first spooled to a temporary file (memory stays flat) and then
sent with its Content-Length.
"""

import base64
import email.utils
import hashlib
import hmac
import http.client
import logging
import tempfile
import urllib.parse

from glance.common import config
from glance.common import exception
from glance.store import base

LOG = logging.getLogger(__name__)


def sign(secret_key, method, path, headers):
    """The S3 (signature version 2) signature of one request.

    ``path`` is the canonical resource: ``/bucket/key`` with any
    sub-resource query.  ``headers`` must hold the Date (or x-amz-date).
    """
    lower = {k.lower(): str(v).strip() for k, v in headers.items()}
    amz = ''.join('%s:%s\n' % (k, lower[k]) for k in sorted(lower)
                  if k.startswith('x-amz-'))
    date = '' if 'x-amz-date' in lower else lower.get('date', '')
    to_sign = '\n'.join([method, lower.get('content-md5', ''),
                         lower.get('content-type', ''), date]) + '\n' + amz + \
        path
    digest = hmac.new(secret_key.encode('utf-8'), to_sign.encode('utf-8'),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode('ascii')


class S3Location:
    def __init__(self, scheme, host, bucket, key, access=None, secret=None):
        self.scheme = scheme
        self.host = host
        self.bucket = bucket
        self.key = key
        self.access = access
        self.secret = secret

    @classmethod
    def parse(cls, location):
        parts = urllib.parse.urlsplit(location)
        if parts.scheme not in S3Store.schemes:
            raise exception.Invalid('Not an s3 location: %s'
                                    % base.redact(location))
        netloc = parts.netloc
        access = secret = None
        if '@' in netloc:
            creds, netloc = netloc.rsplit('@', 1)
            access, _sep, secret = creds.partition(':')
            access = urllib.parse.unquote(access)
            secret = urllib.parse.unquote(secret)
        path = parts.path.lstrip('/')
        bucket, _sep, key = path.partition('/')
        if not netloc or not bucket or not key:
            raise exception.Invalid('S3 location %s needs a host, bucket and '
                                    'key' % base.redact(location))
        return cls(parts.scheme, netloc, urllib.parse.unquote(bucket),
                   urllib.parse.unquote(key), access, secret)

    @property
    def http_scheme(self):
        return 'http' if self.scheme == 's3+http' else 'https'


class S3Store(base.Store):
    name = 's3'
    schemes = ('s3', 's3+http', 's3+https')

    def __init__(self, conf=None):
        super().__init__(conf)
        c = self.conf
        self.host = config.get_str(c, 's3_store_host')
        self.access_key = config.get_str(c, 's3_store_access_key')
        self.secret_key = config.get_str(c, 's3_store_secret_key')
        self.bucket = config.get_str(c, 's3_store_bucket', 'glance')
        self.create_bucket = config.get_bool(c, 's3_store_create_bucket_on_put',
                                             False)
        self.buffer_dir = config.get_str(c, 's3_store_object_buffer_dir')
        self.timeout = config.get_int(c, 's3_store_timeout', 60)

    def _request(self, loc, method, path, body=None, headers=None,
                 stream=False):
        access = loc.access or self.access_key
        secret = loc.secret if loc.secret is not None else self.secret_key
        if not access or secret is None:
            raise exception.StoreError('The s3 store has no credentials: set '
                                       's3_store_access_key and '
                                       's3_store_secret_key')
        all_headers = {'Date': email.utils.formatdate(usegmt=True)}
        all_headers.update(headers or {})
        all_headers['Authorization'] = 'AWS %s:%s' % (
            access, sign(secret, method, path.split('?')[0], all_headers))
        host, _sep, port = loc.host.partition(':')
        cls = (http.client.HTTPConnection if loc.http_scheme == 'http'
               else http.client.HTTPSConnection)
        conn = cls(host, int(port) if port else None, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
        except OSError as e:
            conn.close()
            raise exception.StoreError('S3 at %s failed during %s: %s'
                                       % (loc.host, method, e)) from None
        except BaseException:
            conn.close()
            raise
        if stream:
            return conn, resp
        try:
            data = resp.read()
        finally:
            conn.close()
        return resp, data

    @staticmethod
    def _path(bucket, key=None):
        path = '/' + urllib.parse.quote(bucket, safe='')
        if key is not None:
            path += '/' + urllib.parse.quote(key, safe='')
        return path

    def _location_for(self, image_id):
        if not self.host:
            raise exception.StoreError('s3_store_host is not set')
        host = self.host
        scheme = 's3+https'
        if host.startswith('http://'):
            scheme, host = 's3+http', host[len('http://'):]
        elif host.startswith('https://'):
            host = host[len('https://'):]
        return S3Location(scheme, host.rstrip('/'), self.bucket,
                          str(image_id))

    def _uri(self, loc):
        return '%s://%s%s' % (loc.scheme, loc.host,
                              self._path(loc.bucket, loc.key))

    def _ensure_bucket(self, loc):
        resp, _ = self._request(loc, 'HEAD', self._path(loc.bucket))
        if resp.status < 300:
            return
        if resp.status != 404 or not self.create_bucket:
            raise exception.StoreError(
                'S3 bucket %s is not usable (%d); create it or set '
                's3_store_create_bucket_on_put = True'
                % (loc.bucket, resp.status))
        resp, _ = self._request(loc, 'PUT', self._path(loc.bucket),
                                headers={'Content-Length': '0'})
        if resp.status >= 300:
            raise exception.StoreError('Creating S3 bucket %s failed (%d)'
                                       % (loc.bucket, resp.status))

    def add(self, image_id, chunks, size=None):
        loc = self._location_for(image_id)
        self._ensure_bucket(loc)
        path = self._path(loc.bucket, loc.key)
        resp, _ = self._request(loc, 'HEAD', path)
        if resp.status < 300:
            raise exception.Conflict('S3 already holds data for image %s'
                                     % image_id)
        spool = None
        hashing = base.HashingIterator(chunks)
        if size is None:
            spool = tempfile.TemporaryFile(dir=self.buffer_dir)
            for chunk in hashing:
                spool.write(chunk)
            size = spool.tell()
            spool.seek(0)
            body = base.chunk_file(spool)
        else:
            body = iter(hashing)
        try:
            resp, data = self._request(loc, 'PUT', path, body=body, headers={
                'Content-Length': str(size),
                'Content-Type': 'application/octet-stream'})
        finally:
            if spool is not None:
                spool.close()
        if resp.status >= 300:
            self._delete_quietly(loc)
            raise exception.StoreError('S3 answered %d to the PUT of %s: %s'
                                       % (resp.status, path, data[:200]))
        etag = (resp.getheader('ETag') or '').strip('"')
        if etag and etag != hashing.hexdigest():
            self._delete_quietly(loc)
            raise exception.StoreError('S3 stored %s with checksum %s, sent '
                                       '%s' % (path, etag,
                                               hashing.hexdigest()))
        return self._uri(loc)

    def _delete_quietly(self, loc):
        try:
            self._request(loc, 'DELETE', self._path(loc.bucket, loc.key))
        except exception.GlanceError as e:
            LOG.warning('could not remove %s after a failed upload: %s',
                        loc.key, e)

    def get(self, location):
        loc = S3Location.parse(location)
        conn, resp = self._request(loc, 'GET',
                                   self._path(loc.bucket, loc.key),
                                   stream=True)
        if resp.status == 404:
            conn.close()
            raise exception.NotFound('No S3 object %s/%s'
                                     % (loc.bucket, loc.key))
        if resp.status >= 300:
            conn.close()
            raise exception.StoreError('S3 answered %d to a GET of %s/%s'
                                       % (resp.status, loc.bucket, loc.key))
        length = resp.getheader('Content-Length')
        return _stream(conn, resp), int(length) if length else None

    def get_size(self, location):
        loc = S3Location.parse(location)
        resp, _ = self._request(loc, 'HEAD', self._path(loc.bucket, loc.key))
        if resp.status == 404:
            raise exception.NotFound('No S3 object %s/%s'
                                     % (loc.bucket, loc.key))
        length = resp.getheader('Content-Length')
        return int(length) if length else None

    def delete(self, location):
        loc = S3Location.parse(location)
        resp, _ = self._request(loc, 'DELETE',
                                self._path(loc.bucket, loc.key))
        if resp.status == 404:
            raise exception.NotFound('No S3 object %s/%s'
                                     % (loc.bucket, loc.key))
        if resp.status >= 300:
            raise exception.StoreError('S3 answered %d to a DELETE of %s/%s'
                                       % (resp.status, loc.bucket, loc.key))

    def validate_location(self, location, context=None):
        S3Location.parse(location)


def _stream(conn, resp):
    try:
        while True:
            data = resp.read(base.CHUNK_SIZE)
            if not data:
                break
            yield data
    finally:
        conn.close()
