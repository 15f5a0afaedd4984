"""nova-objectstore: a small S3 service on eventlet WSGI.

Path-style URLs only (``/bucket/key``, keys may hold ``/``).  What is served:

======================================  ===================================
``GET /``                               ListAllMyBucketsResult (the caller's
                                        project's buckets; admins see all)
``PUT/HEAD/DELETE /bucket``             create, check, delete (if empty)
``GET /bucket``                         ListBucketResult (prefix, marker,
                                        max-keys, delimiter, encoding-type;
                                        ``list-type=2`` for V2)
``GET /bucket?location``                LocationConstraint (empty)
``PUT/GET/HEAD/DELETE /bucket/key``     objects, with x-amz-meta-*, one
                                        Range, If-Match/If-None-Match
``POST /bucket/key?uploads`` ...        multipart upload: initiate, UploadPart
                                        (PUT ?partNumber&uploadId), ListParts,
                                        Complete (POST ?uploadId), Abort
======================================  ===================================

Every bucket belongs to the project that created it; only that project's
members and admins may touch it.  Errors are S3 ``<Error>`` documents.

Differences from the original, on purpose: it ran on Twisted, held uploads
in memory, answered every error with an empty body, let any authenticated
user create a bucket over another's name with 403, and mapped keys onto
file names after a weak check; see nova.objectstore.store and .auth.
"""

import base64
import binascii
import email.utils
import re
import sys
import urllib.parse

import eventlet
import webob

from nova import flags
from nova import log as logging
from nova.auth import signer
from nova.objectstore import auth
from nova.objectstore import body
from nova.objectstore import errors
from nova.objectstore import listing
from nova.objectstore import store
from nova.objectstore import xmlio

FLAGS = flags.FLAGS
LOG = logging.getLogger('nova.objectstore.s3server')

flags.DEFINE_string('s3_listen', '0.0.0.0',
                    'address nova-objectstore listens on')
flags.DEFINE_integer('s3_listen_port', None,
                     'port nova-objectstore listens on (default: s3_port)')
flags.DEFINE_string('buckets_path', '$state_path/buckets',
                    'directory that holds the objectstore\'s buckets')

XML = 'application/xml'
SMALL_BODY = 1024 * 1024    # bound of the XML documents clients send
_STORED_HEADERS = ('cache-control', 'content-disposition', 'content-encoding',
                   'content-language', 'expires')
_RESPONSE_OVERRIDES = {
    'response-content-type': 'Content-Type',
    'response-content-language': 'Content-Language',
    'response-expires': 'Expires',
    'response-cache-control': 'Cache-Control',
    'response-content-disposition': 'Content-Disposition',
    'response-content-encoding': 'Content-Encoding',
}
# Sub-resources this service understands; any other is NotImplemented.
_HANDLED_SUBRESOURCES = frozenset(['location', 'uploads', 'uploadId',
                                   'partNumber']) | frozenset(
                                       _RESPONSE_OVERRIDES)


def listen_port():
    port = FLAGS.s3_listen_port
    return FLAGS.s3_port if port is None else port


def parse_path(raw_path):
    """(bucket or None, key or None) of a path-style request path."""
    path = raw_path.split('?', 1)[0]
    if not path.startswith('/'):
        raise errors.InvalidURI()
    bucket_part, _sep, key_part = path[1:].partition('/')
    try:
        bucket = urllib.parse.unquote(bucket_part, errors='strict')
        key = urllib.parse.unquote(key_part, errors='strict')
    except UnicodeDecodeError:
        raise errors.InvalidURI('The URI is not valid UTF-8.') from None
    return (bucket or None), (key or None)


def _http_date(seconds):
    return email.utils.formatdate(seconds, usegmt=True)


def _xml_response(data, status=200):
    response = webob.Response(status=status, body=data)
    response.content_type = XML
    response.charset = None
    return response


def _empty(status=200):
    response = webob.Response(status=status)
    response.headers.pop('Content-Type', None)
    return response


class FileIter:
    """Streams ``length`` bytes of an open file from ``start``; closes it."""

    block = 64 * 1024

    def __init__(self, f, start, length):
        self.f = f
        self.remaining = length
        f.seek(start)

    def __iter__(self):
        while self.remaining > 0:
            data = self.f.read(min(self.block, self.remaining))
            if not data:
                break
            self.remaining -= len(data)
            yield data

    def close(self):
        self.f.close()


def parse_range(header, size):
    """(start, end inclusive) of a single ``bytes=`` range, None to ignore.

    Multiple ranges and malformed headers are ignored (the whole object is
    sent, as RFC 9110 allows); a range that starts past the end is
    InvalidRange (416).
    """
    match = re.fullmatch(r'\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*', header or '')
    if not match or match.group(1) == match.group(2) == '':
        return None
    first, last = match.groups()
    if first == '':
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise errors.InvalidRange(headers={'Content-Range':
                                               'bytes */%d' % size})
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise errors.InvalidRange(headers={'Content-Range':
                                           'bytes */%d' % size})
    return start, min(end, size - 1)


def _etag_matches(header, etag):
    wanted = [t.strip().strip('"') for t in header.split(',')]
    return '*' in wanted or etag in wanted


class S3Application:
    """The objectstore's WSGI app; ``auth_manager`` is for tests."""

    def __init__(self, buckets_path=None, auth_manager=None):
        self.store = store.Store(buckets_path or FLAGS.buckets_path)
        self._auth_manager = auth_manager

    @property
    def auth_manager(self):
        if self._auth_manager is None:
            from nova.auth import manager
            self._auth_manager = manager.AuthManager()
        return self._auth_manager

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        request_id = errors.new_request_id()
        raw_path = signer.request_path(environ)
        try:
            bucket, key = parse_path(raw_path)
            ident = auth.authenticate(environ, self.auth_manager)
            response = self.dispatch(req, ident, bucket, key)
        except errors.S3Error as e:
            response = self._error(req, e, raw_path, request_id)
        except Exception:
            LOG.exception('%s %s failed', req.method, raw_path)
            response = self._error(req, errors.S3Error(), raw_path,
                                   request_id)
        response.headers['x-amz-request-id'] = request_id
        return response(environ, start_response)

    def _error(self, req, error, raw_path, request_id):
        LOG.info('%s %s -> %s %s', req.method, raw_path, error.status,
                 error.code)
        resource = urllib.parse.unquote(raw_path, errors='replace')
        if req.method == 'HEAD':
            response = _empty(error.status)
        else:
            response = _xml_response(
                errors.to_xml(error, resource, request_id), error.status)
        for name, value in error.headers.items():
            response.headers[name] = value
        if error.status == 405:
            response.headers['Allow'] = error.headers.get(
                'Allow', 'GET, PUT, HEAD, DELETE, POST')
        if req.method in ('PUT', 'POST'):
            # The client may still be sending a body nobody will read:
            # eventlet then closes the connection instead of reading and
            # discarding what may be gigabytes.
            response.headers['Connection'] = 'close'
        return response

    # -- dispatch -------------------------------------------------------------------

    def dispatch(self, req, ident, bucket, key):
        query = auth.parse_query(req.environ.get('QUERY_STRING', ''))
        unknown = (set(query) & signer.S3_SUB_RESOURCES) \
            - _HANDLED_SUBRESOURCES
        method = req.method
        if bucket is None:
            if method == 'GET':
                return self.list_buckets(ident)
            raise errors.MethodNotAllowed(headers={'Allow': 'GET'})
        if unknown:
            raise errors.NotImplemented_(
                'Sub-resource %s is not implemented.'
                % ', '.join(sorted(unknown)))
        if key is None:
            return self._bucket_request(req, ident, bucket, query)
        return self._object_request(req, ident, bucket, key, query)

    def _bucket_request(self, req, ident, bucket, query):
        method = req.method
        if method == 'PUT':
            return self.create_bucket(req, ident, bucket)
        if method == 'GET':
            if 'location' in query:
                self._owned_bucket(ident, bucket)
                return _xml_response(xmlio.location_constraint())
            if 'uploads' in query:
                raise errors.NotImplemented_('Listing multipart uploads is '
                                             'not implemented.')
            return self.list_objects(ident, bucket, query)
        if method == 'HEAD':
            self._owned_bucket(ident, bucket)
            return _empty(200)
        if method == 'DELETE':
            self._owned_bucket(ident, bucket)
            self.store.delete_bucket(bucket)
            return _empty(204)
        raise errors.MethodNotAllowed(
            headers={'Allow': 'GET, PUT, HEAD, DELETE'})

    def _object_request(self, req, ident, bucket, key, query):
        method = req.method
        upload_id = query.get('uploadId')
        if method == 'PUT':
            if 'x-amz-copy-source' in req.headers:
                raise errors.NotImplemented_('Copying objects is not '
                                             'implemented.')
            if upload_id is not None or 'partNumber' in query:
                return self.upload_part(req, ident, bucket, key, query)
            return self.put_object(req, ident, bucket, key)
        if method in ('GET', 'HEAD'):
            if upload_id is not None and method == 'GET':
                return self.list_parts(ident, bucket, key, upload_id)
            return self.get_object(req, ident, bucket, key, query)
        if method == 'DELETE':
            self._owned_bucket(ident, bucket)
            if upload_id is not None:
                self.store.abort_upload(bucket, key, upload_id)
            else:
                self.store.delete_object(bucket, key)
            return _empty(204)
        if method == 'POST':
            if 'uploads' in query:
                return self.initiate_upload(req, ident, bucket, key)
            if upload_id is not None:
                return self.complete_upload(req, ident, bucket, key,
                                            upload_id)
        raise errors.MethodNotAllowed(
            headers={'Allow': 'GET, PUT, HEAD, DELETE, POST'})

    # -- access -----------------------------------------------------------------

    def _owned_bucket(self, ident, bucket):
        """The bucket, if the caller's project owns it or the caller is an
        admin; NoSuchBucket / AccessDenied otherwise."""
        store.validate_bucket_name(bucket)
        info = self.store.get_bucket(bucket)
        if not ident.is_admin and info.owner != ident.project_id:
            raise errors.AccessDenied(resource=bucket)
        return info

    # -- buckets ----------------------------------------------------------------

    def list_buckets(self, ident):
        buckets = [b for b in self.store.list_buckets()
                   if ident.is_admin or b.owner == ident.project_id]
        return _xml_response(xmlio.list_all_my_buckets(ident.project_id,
                                                        buckets))

    def create_bucket(self, req, ident, bucket):
        store.validate_bucket_name(bucket)
        config = body.read_small_body(req.environ, ident.policy, SMALL_BODY)
        xmlio.parse_create_bucket(config)   # only checked: there are no regions
        self.store.create_bucket(bucket, ident.project_id)
        LOG.info('bucket %s created for project %s', bucket, ident.project_id)
        response = _empty(200)
        response.headers['Location'] = '/' + bucket
        return response

    def list_objects(self, ident, bucket, query):
        self._owned_bucket(ident, bucket)
        v2 = query.get('list-type') == '2'
        params = {
            'prefix': query.get('prefix', ''),
            'delimiter': query.get('delimiter', ''),
            'max_keys': _max_keys(query.get('max-keys')),
            'encoding_type': query.get('encoding-type'),
            'owner': ident.project_id,
        }
        if params['encoding_type'] not in (None, 'url'):
            raise errors.InvalidArgument('Invalid Encoding Method specified '
                                         'in Request')
        if v2:
            token = query.get('continuation-token')
            params['continuation_token'] = token
            params['start_after'] = query.get('start-after', '')
            marker = _decode_token(token) if token is not None \
                else params['start_after']
        else:
            marker = params['marker'] = query.get('marker', '')
        objects = self.store.list_objects(bucket, params['prefix'])
        page = listing.list_page(objects, params['prefix'], marker,
                                 params['max_keys'], params['delimiter'],
                                 key=lambda o: o.key)
        if v2 and page.truncated:
            params['next_token'] = _encode_token(page.next_marker)
        owner = not v2 or query.get('fetch-owner') == 'true'
        return _xml_response(xmlio.list_bucket(bucket, page, params, v2=v2,
                                               owner=owner))

    # -- objects ----------------------------------------------------------------

    def put_object(self, req, ident, bucket, key):
        self._owned_bucket(ident, bucket)
        store.validate_key(key)
        headers = signer.request_headers(req.environ)
        _require_length(req.environ, ident.policy, store.MAX_OBJECT_SIZE)
        metadata, stored, content_type = _object_headers(headers)
        info = self.store.put_object(
            bucket, key,
            body.request_body(req.environ, ident.policy,
                              max_size=store.MAX_OBJECT_SIZE),
            content_type=content_type, metadata=metadata, headers=stored,
            content_md5=_content_md5(headers))
        response = _empty(200)
        response.headers['ETag'] = '"%s"' % info.etag
        return response

    def get_object(self, req, ident, bucket, key, query):
        self._owned_bucket(ident, bucket)
        if req.method == 'HEAD':
            info, f = self.store.head_object(bucket, key), None
        else:
            info, f = self.store.open_object(bucket, key)
        try:
            response = self._object_response(req, info, query, f)
        except BaseException:
            if f is not None:
                f.close()
            raise
        return response

    def _object_response(self, req, info, query, f):
        etag = '"%s"' % info.etag
        if_match = req.headers.get('If-Match')
        if if_match is not None and not _etag_matches(if_match, info.etag):
            raise errors.PreconditionFailed()
        if_none = req.headers.get('If-None-Match')
        if if_none is not None and _etag_matches(if_none, info.etag):
            if f is not None:
                f.close()
            response = _empty(304)
            response.headers['ETag'] = etag
            return response

        start, length, status = 0, info.size, 200
        ranged = parse_range(req.headers.get('Range'), info.size) \
            if 'Range' in req.headers else None
        if ranged is not None:
            start, end = ranged
            length, status = end - start + 1, 206

        response = webob.Response(status=status)
        response.headers.pop('Content-Type', None)
        if f is not None:
            response.app_iter = FileIter(f, start, length)
        response.content_length = length
        response.headers['Content-Type'] = info.content_type
        response.headers['ETag'] = etag
        response.headers['Last-Modified'] = _http_date(info.last_modified)
        response.headers['Accept-Ranges'] = 'bytes'
        if status == 206:
            response.headers['Content-Range'] = 'bytes %d-%d/%d' % (
                start, start + length - 1, info.size)
        for name, value in (info.headers or {}).items():
            response.headers[name.title()] = value
        for name, value in (info.metadata or {}).items():
            response.headers[name] = value
        for arg, header in _RESPONSE_OVERRIDES.items():
            if arg in query:
                response.headers[header] = query[arg]
        return response

    # -- multipart uploads --------------------------------------------------------

    def initiate_upload(self, req, ident, bucket, key):
        self._owned_bucket(ident, bucket)
        store.validate_key(key)
        body.drain(req.environ, ident.policy)
        headers = signer.request_headers(req.environ)
        metadata, stored, content_type = _object_headers(headers)
        upload = self.store.create_upload(bucket, key, ident.project_id,
                                          content_type, metadata, stored)
        return _xml_response(xmlio.initiate_upload(bucket, key,
                                                   upload.upload_id))

    def upload_part(self, req, ident, bucket, key, query):
        self._owned_bucket(ident, bucket)
        try:
            number = int(query.get('partNumber', ''))
        except ValueError:
            raise errors.InvalidArgument('Part number must be an integer '
                                         'between 1 and %d, inclusive.'
                                         % store.MAX_PART_NUMBER) from None
        if query.get('uploadId') is None:
            raise errors.InvalidRequest('partNumber needs an uploadId.')
        self.store.get_upload(bucket, key, query['uploadId'])
        headers = signer.request_headers(req.environ)
        _require_length(req.environ, ident.policy, store.MAX_OBJECT_SIZE)
        etag = self.store.put_part(
            bucket, key, query['uploadId'], number,
            body.request_body(req.environ, ident.policy,
                              max_size=store.MAX_OBJECT_SIZE),
            content_md5=_content_md5(headers))
        response = _empty(200)
        response.headers['ETag'] = '"%s"' % etag
        return response

    def list_parts(self, ident, bucket, key, upload_id):
        self._owned_bucket(ident, bucket)
        upload = self.store.get_upload(bucket, key, upload_id)
        parts = self.store.list_parts(bucket, key, upload_id)
        return _xml_response(xmlio.list_parts(bucket, key, upload, parts))

    def complete_upload(self, req, ident, bucket, key, upload_id):
        self._owned_bucket(ident, bucket)
        self.store.get_upload(bucket, key, upload_id)
        document = body.read_small_body(req.environ, ident.policy,
                                        SMALL_BODY)
        parts = xmlio.parse_complete_upload(document)
        info = self.store.complete_upload(bucket, key, upload_id, parts)
        location = '/%s/%s' % (bucket, urllib.parse.quote(key))
        return _xml_response(xmlio.complete_upload(location, bucket, key,
                                                   info.etag))


# -- request helpers --------------------------------------------------------------

def _max_keys(text):
    if text is None or text == '':
        return listing.MAX_KEYS
    try:
        value = int(text)
    except ValueError:
        raise errors.InvalidArgument('max-keys must be an integer.') \
            from None
    if value < 0:
        raise errors.InvalidArgument('max-keys must not be negative.')
    return min(value, listing.MAX_KEYS)


def _encode_token(marker):
    return base64.urlsafe_b64encode(marker.encode('utf-8')).decode('ascii')


def _decode_token(token):
    try:
        return base64.urlsafe_b64decode(token.encode('ascii')).decode('utf-8')
    except (binascii.Error, ValueError):
        raise errors.InvalidArgument('The continuation token provided is '
                                     'incorrect') from None


def _require_length(environ, policy, limit):
    """Uploads must say how long they are, and not be too long."""
    length = body.content_length(environ)
    if length is None and not body.is_chunked_transfer(environ):
        raise errors.MissingContentLength()
    declared = policy.decoded_length if policy.streaming else length
    if declared is not None and declared > limit:
        raise errors.EntityTooLarge()


def _content_md5(headers):
    value = {k.lower(): v for k, v in headers.items()}.get('content-md5')
    if value is None:
        return None
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise errors.InvalidDigest() from None
    if len(digest) != 16:
        raise errors.InvalidDigest()
    return digest


def _object_headers(headers):
    """(x-amz-meta-* dict, stored standard headers, content type)."""
    metadata, stored = {}, {}
    content_type = None
    for name, value in headers.items():
        lname = name.lower()
        if lname.startswith('x-amz-meta-'):
            metadata[lname] = value
        elif lname == 'content-type':
            content_type = value
        elif lname in _STORED_HEADERS:
            stored[lname] = value
    encoding = stored.get('content-encoding')
    if encoding is not None:
        # aws-chunked is the upload's framing, not the object's encoding.
        codings = [c.strip() for c in encoding.split(',')
                   if c.strip() and c.strip().lower() != 'aws-chunked']
        if codings:
            stored['content-encoding'] = ', '.join(codings)
        else:
            del stored['content-encoding']
    if store.metadata_size(metadata) > store.MAX_METADATA_BYTES:
        raise errors.MetadataTooLarge()
    return metadata, stored, content_type


# -- the daemon ----------------------------------------------------------------------

class ObjectStoreService:
    """The WSGI server as a service for ``nova.service.serve``.

    ``serve`` waits on an event that its SIGTERM handler sets; Python
    restarts the hub's interrupted poll with its old timeout, so a daemon
    with no timers of its own would notice the signal only when eventlet's
    hub next wakes (up to a minute later).  A one-second ticker keeps the
    stop prompt.  (A wake-up fd in ``serve`` would fix this for everyone.)
    """

    TICK = 1.0

    def __init__(self, server):
        self.server = server
        self._ticker = None

    def start(self):
        self.server.start()
        self._ticker = eventlet.spawn(self._tick)

    def _tick(self):
        while True:
            eventlet.sleep(self.TICK)

    def stop(self):
        if self._ticker is not None:
            self._ticker.kill()
            self._ticker = None
        self.server.stop()


USAGE = """usage: nova-objectstore [--flagfile=FILE] [--flag=value ...]

Serves nova's S3 objectstore (buckets under --buckets_path) on
--s3_listen:--s3_listen_port (default port: --s3_port)."""


def main(argv=None):
    """Entry point of bin/nova-objectstore; returns on SIGTERM/SIGINT."""
    from nova import service
    from nova import wsgi
    from nova.auth import manager
    argv = list(sys.argv if argv is None else argv)
    rest = service.parse_args(argv, USAGE)
    if len(rest) > 1:
        sys.stderr.write('nova-objectstore: unexpected arguments: %s\n'
                         % ' '.join(rest[1:]))
        sys.exit(2)
    logging.setup('nova-objectstore')
    # Built before verify_flags so that the auth driver's modules have
    # claimed their flags from the flagfile.
    app = S3Application(auth_manager=manager.AuthManager())
    service.verify_flags(argv[0])
    service.write_pidfile()
    server = wsgi.Server('nova-objectstore', app, host=FLAGS.s3_listen,
                         port=listen_port())
    service.serve(ObjectStoreService(server))
