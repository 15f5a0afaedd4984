"""The object server: one WSGI app answering PUT, GET, HEAD, POST, DELETE and
REPLICATE at ``/<device>/<partition>/<account>/<container>/<object>``.

Decisions worth knowing (see also swift/obj/diskfile.py):

- Every write carries ``X-Timestamp``; the newest timestamp wins.  A write
  that is not newer than what the object server already holds is refused
  with ``409 Conflict`` and ``X-Backend-Timestamp`` naming what is on disk
  (a PUT/DELETE equal to or older than the current .data/.ts, a POST not
  newer than the current .data/.meta).  Answering 409 rather than a silent
  202 lets the proxy and the updater tell "stored" from "outdated", and a
  replayed request is harmless.  A DELETE older than an existing tombstone
  answers 404 (the object is gone either way).
- A PUT body is streamed to a temp file in 64 KiB pieces and never held in
  memory; the MD5 is computed on the way.  An upload that ends short is a
  499, a client that stalls longer than ``client_timeout`` a 408, and in
  both cases (as for 413/422/507) nothing is left on disk.
- Container listings are updated inline after PUT/DELETE (hosts named by
  the proxy in ``X-Container-Host``/``-Partition``/``-Device``); an update
  that fails is stored as a JSON async pending record which
  ``swift-object-updater`` replays.
- Several byte ranges get a ``multipart/byteranges`` answer (Swift 1.2 had
  only single ranges).  More than ``MAX_RANGES`` ranges, or overlapping ones
  adding up to more than the object, are answered with the whole object:
  that keeps a tiny request from making the server send the same bytes
  thousands of times.
"""

import calendar
import email.utils
import hashlib
import json
import math
import os
import time
import uuid

from eventlet import Timeout
from webob import Request, Response
from webob.exc import HTTPException

from swift.common.bufferedhttp import http_connect, release
from swift.common.constraints import (MAX_FILE_SIZE, check_metadata,
                                      check_mount, check_object_creation,
                                      check_utf8)
from swift.common.exceptions import (ChunkReadTimeout, ConnectionTimeout,
                                     DiskFileNoSpace, DiskFileNotExist)
from swift.common.utils import (config_true_value, get_logger, public,
                                set_swift_dir, split_path,
                                validate_device_partition)
from swift.obj import diskfile
from swift.obj.diskfile import DiskFile, DiskFileXattrTooLarge

MAX_RANGES = 50
# Headers a PUT stores besides X-Object-Meta-*.
STORED_HEADERS = ('Content-Encoding', 'Content-Disposition',
                  'X-Object-Manifest')


_STORED_ENV_KEYS = frozenset('HTTP_' + h.upper().replace('-', '_')
                             for h in STORED_HEADERS)


def _stored_request_headers(environ):
    """{header: value} of X-Object-Meta-* and STORED_HEADERS, named as
    webob names them (Title-Case), read from the environ in one pass."""
    found = {}
    for key, value in environ.items():
        if key.startswith('HTTP_X_OBJECT_META_') or key in _STORED_ENV_KEYS:
            found[key[5:].replace('_', '-').title()] = value
    return found


class RequestError(Exception):
    """A request found bad before anything was written; carries the answer."""

    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


def plain(status, body='', headers=None):
    """A response with a short text/plain body (never an HTML page)."""
    if isinstance(body, str):
        body = body.encode('utf-8')
    return Response(status=status, body=body, headers=headers or {},
                    content_type='text/plain', charset=None)


def http_date(timestamp):
    return email.utils.formatdate(timestamp, usegmt=True)


def parse_http_date(value):
    """Seconds since the epoch, or None for anything unparsable."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_tz(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    try:
        return calendar.timegm(parsed[:9]) - (parsed[9] or 0)
    except (OverflowError, ValueError):
        return None


def parse_etag_list(value):
    """``If-Match``-style list -> set of bare etags ('*' kept as is)."""
    tags = set()
    for item in value.split(','):
        item = item.strip()
        if item.startswith('W/'):
            item = item[2:]
        item = item.strip('"')
        if item:
            tags.add(item)
    return tags


def parse_ranges(value, size):
    """Byte ranges of a ``Range`` header as [(start, stop)] (stop exclusive).

    Returns None when the header should be ignored (not a bytes range,
    malformed, or too many ranges: the whole object is served, as RFC 7233
    allows) and [] when it is valid but no range is satisfiable (416).
    """
    if not value or '=' not in value:
        return None
    unit, _, specs = value.partition('=')
    if unit.strip().lower() != 'bytes':
        return None
    specs = [s.strip() for s in specs.split(',')]
    specs = [s for s in specs if s]
    if not specs or len(specs) > MAX_RANGES:
        return None
    ranges = []
    for spec in specs:
        first, dash, last = spec.partition('-')
        if not dash:
            return None
        first, last = first.strip(), last.strip()
        try:
            if first == '':
                if not last.isdigit():
                    return None
                suffix = int(last)
                if suffix == 0:
                    continue
                ranges.append((max(size - suffix, 0), size))
                continue
            if not first.isdigit() or (last and not last.isdigit()):
                return None
            start = int(first)
            stop = int(last) + 1 if last else size
        except ValueError:
            return None
        if last and stop <= start:
            return None
        if start >= size:
            continue
        ranges.append((start, min(stop, size)))
    if ranges and sum(stop - start for start, stop in ranges) > size and \
            len(ranges) > 1:
        # Overlapping ranges asking for more than the object: serve it once.
        return None
    return ranges


class ObjectController:
    """WSGI app of one object server; ``conf`` is its paste section."""

    def __init__(self, conf, logger=None):
        self.logger = logger or get_logger(conf, log_route='object-server')
        self.devices = conf.get('devices', '/srv/node')
        self.mount_check = config_true_value(conf.get('mount_check', 'true'))
        self.node_timeout = float(conf.get('node_timeout', 3))
        self.conn_timeout = float(conf.get('conn_timeout', 0.5))
        self.client_timeout = float(conf.get('client_timeout', 60))
        self.disk_chunk_size = int(conf.get('disk_chunk_size', 65536))
        self.bytes_per_sync = max(1, int(float(conf.get('mb_per_sync', 512))
                                         * 1024 * 1024))
        self.network_chunk_size = int(conf.get('network_chunk_size', 65536))
        self.max_upload_time = float(conf.get('max_upload_time', 86400))
        self.log_requests = config_true_value(conf.get('log_requests',
                                                       'true'))
        set_swift_dir(conf.get('swift_dir'))

    # -- helpers ---------------------------------------------------------

    def _object_path(self, req):
        """(device, partition, account, container, obj) or RequestError."""
        try:
            device, partition, account, container, obj = split_path(
                req.environ['swift.path'], 5, 5, True)
            validate_device_partition(device, partition)
        except ValueError as err:
            raise RequestError(plain(400, str(err)))
        return device, partition, account, container, obj

    def _check_device(self, device):
        if self.mount_check and not check_mount(self.devices, device):
            raise RequestError(plain(507, 'Insufficient Storage: %s is not '
                                     'mounted' % device))

    @staticmethod
    def _timestamp(req):
        """The request's X-Timestamp as a float (normalized), or 400."""
        value = req.headers.get('X-Timestamp')
        if value is None:
            raise RequestError(plain(400, 'Missing X-Timestamp header'))
        try:
            timestamp = float(value)
        except ValueError:
            timestamp = float('nan')
        if not math.isfinite(timestamp) or not 0 <= timestamp < 1e10:
            raise RequestError(plain(400, 'Invalid X-Timestamp: %s' % value))
        return float('%016.05f' % timestamp)

    def _disk_file(self, device, partition, account, container, obj):
        return DiskFile(self.devices, device, partition, account, container,
                        obj, disk_chunk_size=self.disk_chunk_size,
                        bytes_per_sync=self.bytes_per_sync,
                        logger=self.logger).open()

    @staticmethod
    def _container_targets(req):
        """[(ip, port, partition, device)] named by the proxy, or 400.

        Checked before anything is written so that a malformed set of
        headers fails the request whole instead of silently skipping the
        listing update.
        """
        hosts = req.headers.get('X-Container-Host')
        if not hosts:
            return []
        hosts = [h.strip() for h in hosts.split(',')]
        parts = [p.strip() for p in
                 req.headers.get('X-Container-Partition', '').split(',')]
        devices = [d.strip() for d in
                   req.headers.get('X-Container-Device', '').split(',')]
        if len(parts) == 1:
            parts = parts * len(hosts)
        if len(parts) != len(hosts) or len(devices) != len(hosts):
            raise RequestError(plain(
                400, 'X-Container-Host, -Partition and -Device do not match'))
        targets = []
        for host, part, dev in zip(hosts, parts, devices):
            ip, sep, port = host.rpartition(':')
            ip = ip.strip('[]')
            try:
                validate_device_partition(dev, part)
                if not sep or not ip:
                    raise ValueError(host)
                port = int(port)
            except ValueError:
                raise RequestError(plain(
                    400, 'Invalid container update target %s/%s/%s'
                    % (host, part, dev)))
            targets.append((ip, port, part, dev))
        return targets

    def container_update(self, op, account, container, obj, targets,
                         headers_out, device):
        """Tell the container servers; keep an async pending if one fails."""
        if not targets:
            return
        failed = []
        for ip, port, part, dev in targets:
            if not self._send_update(op, ip, port, part, dev, account,
                                     container, obj, headers_out):
                failed.append({'ip': ip, 'port': port, 'partition': part,
                               'device': dev})
        if failed:
            record = {'op': op, 'account': account, 'container': container,
                      'obj': obj, 'headers': headers_out,
                      'failed_nodes': failed}
            try:
                diskfile.write_async_pending(
                    os.path.join(self.devices, device), record)
            except OSError:
                # The object itself is stored; only its listing lags until
                # the container replicator/auditor notices.
                self.logger.exception('Could not save async update for '
                                      '/%s/%s/%s', account, container, obj)

    def _send_update(self, op, ip, port, part, dev, account, container, obj,
                     headers):
        path = '/%s/%s/%s' % (account, container, obj)
        conn = None
        try:
            with ConnectionTimeout(self.conn_timeout):
                conn = http_connect(ip, port, dev, part, op, path, headers,
                                    reuse=True)
            with Timeout(self.node_timeout):
                resp = conn.getresponse()
                resp.read()
            release(conn, resp)
            conn = None
            if 200 <= resp.status < 300:
                return True
            self.logger.error('Container update %s %s:%s/%s returned %s '
                              'for %s', op, ip, port, dev, resp.status, path)
        except (Exception, Timeout) as err:
            if conn is not None:
                conn.close()
            self.logger.error('Container update %s %s:%s/%s failed for %s: '
                              '%s', op, ip, port, dev, path,
                              err.__class__.__name__ + ' ' + str(err))
        return False

    @staticmethod
    def _update_headers(req, timestamp, **extra):
        headers = {'X-Timestamp': '%016.05f' % timestamp}
        trans_id = req.headers.get('X-Trans-Id') or \
            req.headers.get('X-CF-Trans-Id')
        if trans_id:
            headers['X-Trans-Id'] = trans_id
            headers['X-CF-Trans-Id'] = trans_id
        headers['Referer'] = '%s %s' % (req.method, req.path)
        headers.update(extra)
        return headers

    # -- verbs -----------------------------------------------------------

    @public
    def PUT(self, req):
        device, partition, account, container, obj = self._object_path(req)
        timestamp = self._timestamp(req)
        error = check_object_creation(req, obj)
        if error is not None:
            return error
        targets = self._container_targets(req)
        self._check_device(device)
        disk_file = self._disk_file(device, partition, account, container,
                                    obj)
        if disk_file.timestamp is not None and \
                disk_file.timestamp >= timestamp:
            return plain(409, 'A newer write is already stored', {
                'X-Backend-Timestamp': '%016.05f' % disk_file.timestamp})
        length = req.headers.get('Content-Length')
        if length is None or \
                'chunked' in req.headers.get('Transfer-Encoding', '').lower():
            # Transfer-Encoding wins over Content-Length (RFC 7230 3.3.3):
            # trusting the length of a chunked body would truncate it.
            length = None
        else:
            length = int(length)
        try:
            with disk_file.writer(size=length) as writer:
                result = self._receive_body(req, writer, length)
                if isinstance(result, Response):
                    return result
                etag = result
                metadata = {'X-Timestamp': '%016.05f' % timestamp,
                            'Content-Type': req.headers['Content-Type'],
                            'ETag': etag,
                            'Content-Length': str(writer.upload_size),
                            'name': disk_file.name}
                metadata.update(_stored_request_headers(req.environ))
                writer.put(metadata)
        except DiskFileNoSpace:
            return plain(507, 'Insufficient Storage: %s is full' % device)
        except DiskFileXattrTooLarge as err:
            return plain(400, str(err))
        self.container_update(
            'PUT', account, container, obj, targets,
            self._update_headers(
                req, timestamp, **{'X-Size': str(writer.upload_size),
                                   'X-Content-Type': metadata['Content-Type'],
                                   'X-Etag': etag}),
            device)
        return plain(201, '', {'ETag': etag,
                               'Last-Modified': http_date(
                                   math.ceil(timestamp))})

    def _receive_body(self, req, writer, length):
        """Stream the body into ``writer``; its MD5, or an error Response."""
        wsgi_input = req.environ['wsgi.input']
        md5 = hashlib.md5()
        deadline = time.time() + self.max_upload_time
        remaining = length
        while remaining is None or remaining > 0:
            want = self.network_chunk_size if remaining is None \
                else min(self.network_chunk_size, remaining)
            try:
                with ChunkReadTimeout(self.client_timeout):
                    chunk = wsgi_input.read(want)
            except ChunkReadTimeout:
                return plain(408, 'Request Timeout: the client sent no data '
                             'for %ss' % self.client_timeout)
            except (OSError, ValueError) as err:
                # eventlet raises these for a connection dropped mid-body or
                # broken chunked framing.
                self.logger.info('Client disconnected during PUT: %s', err)
                return plain(499, 'Client Disconnect')
            if not chunk:
                break
            if writer.upload_size + len(chunk) > MAX_FILE_SIZE:
                return plain(413, 'Your request is too large.')
            md5.update(chunk)
            writer.write(chunk)
            if remaining is not None:
                remaining -= len(chunk)
            if time.time() > deadline:
                return plain(408, 'Request Timeout: upload took longer than '
                             '%ss' % self.max_upload_time)
        if length is not None and writer.upload_size < length:
            return plain(499, 'Client Disconnect')
        etag = md5.hexdigest()
        wanted = req.headers.get('ETag')
        if wanted is not None and wanted.strip('" ').lower() != etag:
            return plain(422, 'Unprocessable Entity: ETag %s does not match '
                         'the body (%s)' % (wanted, etag))
        return etag

    @public
    def POST(self, req):
        device, partition, account, container, obj = self._object_path(req)
        timestamp = self._timestamp(req)
        error = check_metadata(req, 'object')
        if error is not None:
            return error
        self._check_device(device)
        disk_file = self._disk_file(device, partition, account, container,
                                    obj)
        if not disk_file.exists:
            return self._not_found(disk_file)
        newest = max(disk_file.timestamp, disk_file.meta_timestamp or 0)
        if newest >= timestamp:
            return plain(409, 'A newer write is already stored', {
                'X-Backend-Timestamp': '%016.05f' % newest})
        metadata = {key: value for key, value in req.headers.items()
                    if DiskFile.is_postable(key)}
        try:
            diskfile.write_meta(disk_file, timestamp, metadata)
        except DiskFileNoSpace:
            return plain(507, 'Insufficient Storage: %s is full' % device)
        except DiskFileXattrTooLarge as err:
            return plain(400, str(err))
        return plain(202)

    @public
    def DELETE(self, req):
        device, partition, account, container, obj = self._object_path(req)
        timestamp = self._timestamp(req)
        targets = self._container_targets(req)
        self._check_device(device)
        disk_file = self._disk_file(device, partition, account, container,
                                    obj)
        if disk_file.timestamp is not None and \
                disk_file.timestamp >= timestamp:
            if disk_file.exists:
                return plain(409, 'A newer write is already stored', {
                    'X-Backend-Timestamp': '%016.05f' % disk_file.timestamp})
            return self._not_found(disk_file)
        existed = disk_file.exists
        try:
            diskfile.write_tombstone(disk_file, timestamp)
        except DiskFileNoSpace:
            return plain(507, 'Insufficient Storage: %s is full' % device)
        # Sent even when nothing was here: it cleans a stale listing entry.
        self.container_update('DELETE', account, container, obj, targets,
                              self._update_headers(req, timestamp), device)
        if existed:
            return plain(204)
        return plain(404, '', {'X-Timestamp': '%016.05f' % timestamp})

    @staticmethod
    def _not_found(disk_file):
        headers = {}
        if disk_file.timestamp is not None:
            headers['X-Timestamp'] = '%016.05f' % disk_file.timestamp
        return plain(404, '', headers)

    @public
    def HEAD(self, req):
        return self._read(req, body=False)

    @public
    def GET(self, req):
        return self._read(req, body=True)

    def _read(self, req, body):
        device, partition, account, container, obj = self._object_path(req)
        self._check_device(device)
        disk_file = self._disk_file(device, partition, account, container,
                                    obj)
        if not disk_file.exists:
            if 'If-Match' in req.headers:
                return plain(412, 'Precondition Failed')
            return self._not_found(disk_file)
        metadata = disk_file.metadata
        etag = metadata['ETag']
        size = disk_file.content_length
        last_modified = math.ceil(float(metadata['X-Timestamp']))
        headers = {'Content-Type': metadata['Content-Type'],
                   'ETag': etag,
                   'Last-Modified': http_date(last_modified),
                   'X-Timestamp': metadata['X-Timestamp'],
                   'Accept-Ranges': 'bytes'}
        for key, value in metadata.items():
            if key.lower().startswith('x-object-meta-') or \
                    key in STORED_HEADERS:
                headers[key] = value

        status = self._check_conditions(req, etag, last_modified)
        if status == 412:
            return plain(412, 'Precondition Failed')
        if status == 304:
            return Response(status=304, headers={
                'ETag': etag, 'Last-Modified': headers['Last-Modified']},
                charset=None)

        ranges = None
        if 'Range' in req.headers and self._if_range_holds(
                req, etag, last_modified):
            ranges = parse_ranges(req.headers['Range'], size)
        if ranges == []:
            return plain(416, 'Requested Range Not Satisfiable', {
                'Content-Range': 'bytes */%d' % size})
        reader = None
        if body:
            try:
                reader = disk_file.reader(verify=not ranges)
            except DiskFileNotExist:
                return plain(404)
        if not ranges:
            return self._read_response(200, headers, reader, size)
        if len(ranges) == 1:
            start, stop = ranges[0]
            headers['Content-Range'] = 'bytes %d-%d/%d' % (start, stop - 1,
                                                           size)
            app_iter = reader.ranges(ranges) if body else None
            return self._read_response(206, headers, app_iter, stop - start)
        boundary = uuid.uuid4().hex
        part_heads = [('--%s\r\nContent-Type: %s\r\nContent-Range: bytes '
                       '%d-%d/%d\r\n\r\n' % (boundary,
                                             metadata['Content-Type'],
                                             start, stop - 1, size)
                       ).encode('latin-1')
                      for start, stop in ranges]
        tail = ('--%s--\r\n' % boundary).encode('latin-1')
        headers['Content-Type'] = \
            'multipart/byteranges; boundary=%s' % boundary
        length = sum(len(h) for h in part_heads) + \
            sum(stop - start + 2 for start, stop in ranges) + len(tail)
        app_iter = reader.ranges(ranges, part_heads, tail) if body else None
        return self._read_response(206, headers, app_iter, length)

    @staticmethod
    def _read_response(status, headers, app_iter, length):
        resp = Response(status=status, charset=None,
                        app_iter=app_iter if app_iter is not None else [])
        # Set after app_iter (webob forgets Content-Length when app_iter
        # changes) and after webob's default Content-Type: ours is exactly
        # what was stored.
        resp.headers.update(headers)
        resp.content_length = length
        return resp

    @staticmethod
    def _check_conditions(req, etag, last_modified):
        """412, 304 or None, in RFC 7232 order."""
        if_match = req.headers.get('If-Match')
        if if_match is not None:
            tags = parse_etag_list(if_match)
            if '*' not in tags and etag not in tags:
                return 412
        else:
            since = parse_http_date(req.headers.get('If-Unmodified-Since'))
            if since is not None and last_modified > since:
                return 412
        if_none_match = req.headers.get('If-None-Match')
        if if_none_match is not None:
            tags = parse_etag_list(if_none_match)
            if '*' in tags or etag in tags:
                return 304
        else:
            since = parse_http_date(req.headers.get('If-Modified-Since'))
            if since is not None and last_modified <= since:
                return 304
        return None

    @staticmethod
    def _if_range_holds(req, etag, last_modified):
        value = req.headers.get('If-Range')
        if value is None:
            return True
        value = value.strip()
        if value.startswith('"') or value.startswith('W/'):
            return not value.startswith('W/') and value.strip('"') == etag
        date = parse_http_date(value)
        return date is not None and date == last_modified

    @public
    def REPLICATE(self, req):
        """Suffix hashes of a partition, recomputing the suffixes named.

        ``REPLICATE /<device>/<partition>[/<suffix>-<suffix>...]`` answers a
        JSON object {suffix: md5}.  (The original answered a pickle.)
        """
        try:
            device, partition, suffixes = split_path(
                req.environ['swift.path'], 2, 3, True)
            validate_device_partition(device, partition)
        except ValueError as err:
            return plain(400, str(err))
        self._check_device(device)
        recalculate = suffixes.split('-') if suffixes else []
        part_dir = os.path.join(self.devices, device, diskfile.DATADIR,
                                partition)
        hashes = diskfile.get_hashes(part_dir, recalculate)
        return Response(status=200, body=json.dumps(hashes).encode(),
                        content_type='application/json', charset=None)

    # -- WSGI ------------------------------------------------------------

    def __call__(self, env, start_response):
        started = time.time()
        req = Request(env)
        self.logger.txn_id = req.headers.get('X-Trans-Id') or \
            req.headers.get('X-CF-Trans-Id')
        raw_path = env.get('PATH_INFO', '').encode('latin-1', 'replace')
        if not check_utf8(raw_path):
            resp = plain(412, 'Invalid UTF8 or contains NULL')
        else:
            env['swift.path'] = raw_path.decode('utf-8')
            method = getattr(self, req.method, None)
            if method is None or req.method.startswith('_') or \
                    not getattr(method, 'publicly_accessible', False):
                resp = plain(405, 'Method Not Allowed')
            else:
                resp = self._dispatch(method, req)
        if self.log_requests:
            self.logger.info(
                '%s - - [%s] "%s %s" %s %s "%s" "%s" %.4f',
                req.remote_addr, time.strftime('%d/%b/%Y:%H:%M:%S +0000',
                                               time.gmtime()),
                req.method, env.get('PATH_INFO', ''), resp.status_int,
                resp.content_length or '-',
                req.headers.get('Referer', '-'),
                req.headers.get('User-Agent', '-'),
                time.time() - started)
        return resp(env, start_response)

    def _dispatch(self, method, req):
        try:
            return method(req)
        except RequestError as err:
            return err.response
        except HTTPException as err:
            return err
        except (Exception, Timeout):
            self.logger.exception('ERROR __call__ error with %s %s',
                                  req.method, req.path)
            return plain(500, 'Internal Server Error')


def app_factory(global_conf, **local_conf):
    """paste.deploy entry: ``swift.obj.server:app_factory``."""
    conf = dict(global_conf)
    conf.update(local_conf)
    return ObjectController(conf)
