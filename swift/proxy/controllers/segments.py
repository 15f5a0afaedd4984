"""Large objects ("DLO"): an object whose ``X-Object-Manifest`` is
``<container>/<prefix>`` reads as the concatenation, in name order, of the
objects of ``<container>`` whose names start with ``<prefix>``.

Up to 10,000 segments the answer has a computed Content-Length and an ETag
that is the md5 of the segments' ETags (sent quoted, as today's Swift and
python-swiftclient expect for large objects), Last-Modified is the newest
segment's, and single ranges are served (whole segments outside the range
are skipped).  Past 10,000 segments the body is streamed without a length.
After ``rate_limit_after_segment`` segments, fetches are throttled to
``rate_limit_segments_per_sec``.

The original never checked that the reader may read the segments'
container: anyone who could write a manifest into a container they could
write could read any container of the account through it.  Here the
segments container's read ACL is checked like any other read.
"""

import datetime
import hashlib
import random
from urllib.parse import unquote, urlencode

import eventlet
from webob import Request, Response

from swift.common.constraints import CONTAINER_LISTING_LIMIT
from swift.common.exceptions import ListingIterError
from swift.common.utils import quote, wsgi_to_str
from swift.proxy.controllers.base import (is_success, json_listing,
                                          text_response)

shuffle = random.shuffle

#: Headers of the manifest object that the assembled answer keeps.
KEPT_HEADERS = ('content-type', 'content-encoding', 'content-disposition',
                'x-object-manifest', 'x-timestamp')


def parse_manifest(value):
    """'<container>/<prefix>' -> (container, prefix); ValueError if bad."""
    text = unquote(wsgi_to_str(value or ''))
    container, sep, prefix = text.lstrip('/').partition('/')
    if not sep or not container:
        raise ValueError('X-Object-Manifest must be <container>/<prefix>')
    return container, prefix


def _close(resp):
    close = getattr(resp.app_iter, 'close', None)
    if close:
        close()


def _last_modified(entries):
    newest = None
    for entry in entries:
        try:
            when = datetime.datetime.fromisoformat(entry['last_modified'])
        except (KeyError, TypeError, ValueError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        if newest is None or when > newest:
            newest = when
    return newest


class Segments:
    """Reads the segment listing and the segments of one manifest."""

    def __init__(self, controller, container, prefix):
        self.controller = controller
        self.app = controller.app
        self.account = controller.account_name
        self.container = container
        self.prefix = prefix

    def listing_page(self, marker):
        ring = self.app.container_ring
        partition, _nodes = ring.get_nodes(self.account, self.container)
        query = urlencode({'format': 'json', 'prefix': self.prefix,
                           'marker': marker})
        status, _headers, body = self.controller.backend_read(
            ring, partition, '/%s/%s' % (self.account, self.container),
            method='GET', query_string=query, server_type='Container')
        if status == 404 or status == 204:
            return []
        if not is_success(status):
            raise ListingIterError('listing of %s/%s answered %d'
                                   % (self.account, self.container, status))
        return [e for e in json_listing(body)
                if isinstance(e, dict) and 'name' in e]

    def first_entries(self):
        """(entries, complete): up to CONTAINER_LISTING_LIMIT + 1 entries."""
        entries = []
        marker = ''
        # bounded: each page brings at least one entry or ends the loop
        while len(entries) <= CONTAINER_LISTING_LIMIT:
            page = self.listing_page(marker)
            if not page:
                break
            entries.extend(page)
            marker = page[-1]['name']
            if len(page) < CONTAINER_LISTING_LIMIT:
                break
        complete = len(entries) <= CONTAINER_LISTING_LIMIT
        return entries, complete

    def all_entries(self, entries):
        """``entries`` then every later page, fetched as needed."""
        yield from entries
        marker = entries[-1]['name'] if entries else ''
        while True:
            page = self.listing_page(marker)
            if not page:
                return
            yield from page
            marker = page[-1]['name']

    def segment_body(self, name, first=None, last=None):
        """Chunks of one segment, bytes [first, last) when given."""
        ring = self.app.object_ring
        partition, nodes = ring.get_nodes(self.account, self.container, name)
        nodes = list(nodes)
        shuffle(nodes)
        path = '/%s/%s/%s' % (self.account, self.container, name)
        headers = self.controller.backend_headers()
        if first is not None:
            headers['Range'] = 'bytes=%d-%d' % (first, last - 1)
        req = Request.blank(quote('/v1' + path))
        resp = self.controller.GETorHEAD_base(req, 'Object', ring, partition,
                                              path, nodes=nodes,
                                              headers=headers)
        if not is_success(resp.status_int):
            _close(resp)
            raise ListingIterError('segment %s answered %s'
                                   % (path, resp.status))
        return resp.app_iter

    def iter_body(self, entries, start=0, stop=None):
        """The bytes [start, stop) of the concatenated segments."""
        offset = 0
        fetched = 0
        try:
            for entry in entries:
                size = int(entry.get('bytes', 0))
                seg_start, seg_end = offset, offset + size
                offset = seg_end
                if seg_end <= start or size == 0:
                    continue
                if stop is not None and seg_start >= stop:
                    break
                first = max(start - seg_start, 0)
                last = size if stop is None else min(stop, seg_end) - \
                    seg_start
                fetched += 1
                if fetched > self.app.rate_limit_after_segment and \
                        self.app.rate_limit_segments_per_sec > 0:
                    eventlet.sleep(1.0 / self.app.rate_limit_segments_per_sec)
                if first == 0 and last == size:
                    body = self.segment_body(entry['name'])
                else:
                    body = self.segment_body(entry['name'], first, last)
                yield from body
        except ListingIterError as e:
            # the status is long gone: end the body short, and say why
            self.app.logger.error('ERROR while serving large object: %s', e)


def manifest_response(controller, req, manifest_resp):
    """The answer for GET/HEAD of a manifest object."""
    try:
        container, prefix = parse_manifest(
            manifest_resp.headers['x-object-manifest'])
    except ValueError:
        return manifest_resp
    _close(manifest_resp)
    info = controller.container_info(controller.account_name, container)
    check = Request.blank(
        quote('/v1/%s/%s/%s' % (controller.account_name, container, prefix)),
        environ={'REQUEST_METHOD': 'GET',
                 'REMOTE_USER': req.environ.get('REMOTE_USER'),
                 'HTTP_REFERER': req.environ.get('HTTP_REFERER', ''),
                 'swift.authorize': req.environ.get('swift.authorize')})
    if req.environ.get('swift.authorize'):
        denied = controller.authorize(check, info['read_acl'])
        if denied is not None:
            return denied
    segments = Segments(controller, container, prefix)
    try:
        entries, complete = segments.first_entries()
    except ListingIterError as e:
        controller.app.logger.error('ERROR listing large object: %s', e)
        return text_response(503, 'Service Unavailable\n', request=req)
    headers = {k: v for k, v in manifest_resp.headers.items()
               if k.lower() in KEPT_HEADERS
               or k.lower().startswith('x-object-meta-')}
    is_get = req.method == 'GET'
    if not complete:
        resp = Response(status=200, headers=headers, request=req,
                        conditional_response=False,
                        app_iter=segments.iter_body(
                            segments.all_entries(entries)) if is_get else [])
        resp.headers.pop('Content-Length', None)
        return resp
    total = sum(int(e.get('bytes', 0)) for e in entries)
    etag = hashlib.md5(''.join(e.get('hash', '') for e in entries)
                       .encode('utf-8')).hexdigest()
    status = 200
    start, stop = 0, total
    if req.range is not None:
        byte_range = req.range.range_for_length(total)
        if byte_range is None:
            return text_response(416, 'Requested Range Not Satisfiable\n',
                                 request=req,
                                 headers={'Content-Range': 'bytes */%d'
                                          % total})
        start, stop = byte_range
        status = 206
        headers['Content-Range'] = 'bytes %d-%d/%d' % (start, stop - 1,
                                                       total)
    app_iter = segments.iter_body(entries, start, stop) if is_get else []
    resp = Response(status=status, headers=headers, app_iter=app_iter,
                    request=req, conditional_response=False)
    resp.content_length = stop - start
    resp.headers['ETag'] = '"%s"' % etag
    newest = _last_modified(entries)
    if newest is not None:
        resp.last_modified = newest
    return resp
