"""Pieces shared by the account and container servers.

Request dispatch (one public method per HTTP verb), path parsing into
device/partition/names, timestamp checks, listing parameters and the three
listing formats (plain, JSON, XML) of the Swift 1.x API.
"""

import datetime
import functools
import json
import time
import traceback
from xml.sax.saxutils import escape, quoteattr

from webob import Request, Response
from webob.exc import (HTTPBadRequest, HTTPException, HTTPInsufficientStorage,
                       HTTPInternalServerError, HTTPMethodNotAllowed,
                       HTTPPreconditionFailed)

from swift.common import constraints
from swift.common.utils import (config_true_value, get_logger, get_param,
                                normalize_timestamp, set_swift_dir,
                                split_path, validate_device_partition)

PLAIN = 'text/plain'
JSON = 'application/json'
XML = 'application/xml'
FORMAT_ALIASES = {'json': JSON, 'xml': XML, 'plain': PLAIN, 'text': PLAIN}
ACCEPTABLE = [PLAIN, JSON, XML, 'text/xml']


def text_response(response_class, text, req=None, **kwargs):
    return response_class(body=text.encode('utf-8'), request=req,
                          content_type='text/plain', charset='utf-8',
                          **kwargs)


class StorageServer:
    """WSGI app base: routes ``/<dev>/<part>/<names...>`` to verb methods."""

    server_type = None  # 'account' or 'container'

    def __init__(self, conf, logger=None):
        self.conf = conf
        self.logger = logger or get_logger(
            conf, conf.get('log_name', '%s-server' % self.server_type))
        self.devices = conf.get('devices', '/srv/node')
        self.mount_check = config_true_value(conf.get('mount_check', 'true'))
        if conf.get('swift_dir'):
            set_swift_dir(conf['swift_dir'])
        self.log_requests = config_true_value(conf.get('log_requests', 'true'))

    def __call__(self, env, start_response):
        start = time.time()
        req = Request(env)
        self.logger.txn_id = req.headers.get('x-trans-id') or \
            req.headers.get('x-cf-trans-id')
        method = getattr(self, req.method, None) \
            if req.method.isupper() else None
        try:
            if method is None or not getattr(method, 'publicly_accessible',
                                             False):
                resp = HTTPMethodNotAllowed(request=req)
            else:
                resp = method(req)
        except HTTPException as err:
            resp = err
        except Exception:
            self.logger.error('ERROR __call__ error with %s %s: %s',
                              req.method, env.get('PATH_INFO'),
                              traceback.format_exc())
            resp = HTTPInternalServerError(request=req)
        trans_id = self.logger.txn_id
        if trans_id:
            resp.headers['X-Trans-Id'] = trans_id
        if self.log_requests:
            self.logger.info('%s - - [%s] "%s %s" %s %s "%s" %.4f',
                             req.remote_addr,
                             time.strftime('%d/%b/%Y:%H:%M:%S +0000',
                                           time.gmtime()),
                             req.method, env.get('PATH_INFO', ''),
                             resp.status_int, resp.content_length or '-',
                             req.headers.get('user-agent', '-'),
                             time.time() - start)
        self.logger.txn_id = None
        return resp(env, start_response)

    # --- request helpers --------------------------------------------------

    def split_request(self, req, minsegs, maxsegs, rest_with_last=False):
        """(device, partition, names...) from the path, names as text.

        412 for a path that is not UTF-8 or holds NUL, 400 for a bad path,
        507 when the device is not mounted (with mount_check).
        """
        raw = req.environ.get('PATH_INFO', '')
        try:
            path = raw.encode('latin-1').decode('utf-8')
        except (UnicodeEncodeError, UnicodeDecodeError):
            raise text_response(HTTPPreconditionFailed, 'Invalid UTF8', req)
        if '\x00' in path:
            raise text_response(HTTPPreconditionFailed, 'Invalid UTF8', req)
        try:
            parts = split_path(path, minsegs, maxsegs, rest_with_last)
            validate_device_partition(parts[0], parts[1])
        except ValueError as err:
            raise text_response(HTTPBadRequest, str(err), req)
        for name, limit in zip(parts[2:4], (
                constraints.MAX_ACCOUNT_NAME_LENGTH,
                constraints.MAX_CONTAINER_NAME_LENGTH)):
            if name is not None and len(name.encode('utf-8')) > limit:
                raise text_response(HTTPBadRequest,
                                    'Name too long: %d > %d'
                                    % (len(name.encode('utf-8')), limit), req)
        if self.mount_check and not constraints.check_mount(self.devices,
                                                            parts[0]):
            raise text_response(HTTPInsufficientStorage,
                                '%s is not mounted' % parts[0], req)
        return parts

    @staticmethod
    def required_timestamp(req, header='x-timestamp'):
        """The normalized X-Timestamp, or 400 when missing or not a number."""
        value = req.headers.get(header)
        if value is None:
            raise text_response(HTTPBadRequest, 'Missing timestamp', req)
        if not constraints.check_float(value) or float(value) < 0:
            raise text_response(HTTPBadRequest, 'Invalid timestamp %s'
                                % value, req)
        return normalize_timestamp(value)

    @staticmethod
    def metadata_updates(req, prefixes, timestamp, extra_headers=()):
        """{header: (value, timestamp)} for headers starting with a prefix
        (and exact ``extra_headers``), with their original spelling."""
        updates = {}
        for key, value in req.headers.items():
            lower = key.lower()
            if any(lower.startswith(p) for p in prefixes) or \
                    lower in extra_headers:
                updates[key.title()] = (value, timestamp)
        return updates


def visible_metadata(metadata):
    """Response headers for stored metadata (empty values are deletions)."""
    return {key: value for key, (value, _ts) in metadata.items()
            if value != ''}


def listing_format(req):
    """The listing content type from ``format=`` or the Accept header."""
    fmt = get_param(req, 'format')
    if fmt:
        return FORMAT_ALIASES.get(fmt.lower(), PLAIN)
    try:
        offers = req.accept.acceptable_offers(ACCEPTABLE)
    except Exception:
        offers = []
    if not offers:
        return PLAIN
    best = offers[0][0]
    return XML if best == 'text/xml' else best


def listing_params(req, max_limit):
    """(limit, marker, end_marker, prefix, delimiter) validated.

    ``limit`` over the maximum and a delimiter longer than one character are
    412 as in Swift 1.x; a limit that is not a non-negative integer is 400.
    """
    limit = max_limit
    given = get_param(req, 'limit')
    if given is not None:
        try:
            limit = int(given)
        except ValueError:
            raise text_response(HTTPBadRequest,
                                'Value of limit must be an integer', req)
        if limit < 0:
            raise text_response(HTTPBadRequest,
                                'Value of limit must be positive', req)
        if limit > max_limit:
            raise text_response(HTTPPreconditionFailed,
                                'Maximum limit is %d' % max_limit, req)
    marker = get_param(req, 'marker', '')
    end_marker = get_param(req, 'end_marker', '')
    prefix = get_param(req, 'prefix', '')
    delimiter = get_param(req, 'delimiter', '')
    if delimiter and (len(delimiter) > 1 or ord(delimiter) > 254):
        raise text_response(HTTPPreconditionFailed, 'Bad delimiter', req)
    for value in (marker, end_marker, prefix, delimiter):
        if '\x00' in value:
            raise text_response(HTTPBadRequest, 'Invalid UTF8', req)
    return limit, marker, end_marker, prefix, delimiter


def iso_timestamp(timestamp):
    """'1296762827.12345' -> '2011-02-03T19:53:47.123450' (UTC, no zone).

    A normalized timestamp (what the databases hold) is converted from its
    digits, exactly and without datetime/strftime, which took most of the
    time of a 10,000-object JSON listing."""
    seconds, dot, fraction = str(timestamp).partition('.')
    if dot and seconds.isdigit() and fraction.isdigit() and \
            len(fraction) <= 6:
        return _iso_seconds(seconds) + fraction.ljust(6, '0')
    moment = datetime.datetime.fromtimestamp(float(timestamp),
                                             datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%f')


@functools.lru_cache(maxsize=4096)
def _iso_seconds(seconds):
    """'1296762827' -> '2011-02-03T19:53:47.' (objects written in the same
    second share it, which is most of a listing's rows)."""
    t = time.gmtime(int(seconds))
    return '%04d-%02d-%02dT%02d:%02d:%02d.' % (
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def json_object_listing(rows):
    """The JSON body of a container listing, straight from the rows
    (name, created_at, size, content_type, etag; content_type None for a
    subdir): the same text json.dumps gives for the entry dicts, at a
    third of the CPU (no dict per row, no generic encoder walk)."""
    quote_str = json.encoder.encode_basestring  # what ensure_ascii=False uses
    parts = []
    for name, created_at, size, obj_type, etag in rows:
        if obj_type is None:
            parts.append('{"subdir": %s}' % quote_str(name))
        else:
            parts.append(
                '{"name": %s, "hash": %s, "bytes": %d, "content_type": %s, '
                '"last_modified": "%s"}' % (
                    quote_str(name), quote_str(etag), size,
                    quote_str(obj_type), iso_timestamp(created_at)))
    return ('[' + ', '.join(parts) + ']').encode('utf-8')


def listing_response(req, content_type, root_tag, root_name, entries,
                     plain_names, headers, json_body=None):
    """Build the listing response; an empty plain listing is 204.
    ``json_body``: the JSON text, when the caller made it already."""
    if content_type == JSON and json_body is not None:
        body = json_body
    elif content_type == JSON:
        body = json.dumps(entries, ensure_ascii=False).encode('utf-8')
    elif content_type == XML:
        child = 'object' if root_tag == 'container' else 'container'
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<%s name=%s>' % (root_tag, quoteattr(root_name))]
        for entry in entries:
            if 'subdir' in entry:
                lines.append('<subdir name=%s />' % quoteattr(entry['subdir']))
                continue
            item = ''.join('<%s>%s</%s>' % (key, escape(str(value)), key)
                           for key, value in entry.items())
            lines.append('<%s>%s</%s>' % (child, item, child))
        lines.append('</%s>' % root_tag)
        body = '\n'.join(lines).encode('utf-8')
    elif plain_names:
        body = ('\n'.join(plain_names) + '\n').encode('utf-8')
    else:
        body = None
    if body is None:
        resp = Response(status=204, request=req)
        content_type = PLAIN
    else:
        resp = Response(body=body, request=req)
    # headers first: passing them to Response() would drop content_type
    resp.headers.update(headers)
    resp.content_type = content_type
    resp.charset = 'utf-8'
    return resp
