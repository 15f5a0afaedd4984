"""The small WSGI toolkit both glance servers are built from.

``Router`` dispatches on method and a path pattern; handlers take a webob
Request plus the pattern's named groups and return a webob Response (or
raise a GlanceError).  ``error_response`` is the one place an error becomes
a plain-text HTTP reply: the status of the error and its message, never a
traceback.
"""

import json
import logging
import re

import webob
import webob.exc

from glance.common import exception

LOG = logging.getLogger(__name__)


def raw_headers(environ):
    """The request headers as (name, value) pairs, with their real names.

    eventlet keeps the list as it arrived in ``headers_raw``.  Any other
    server only gives the ``HTTP_*`` keys, where ``_`` and ``-`` are one
    character; there names are rebuilt with ``-`` after the
    ``x-image-meta-`` prefix is recognised (fields are read either way).
    """
    raw = environ.get('headers_raw')
    if raw is not None:
        return [(k, v) for k, v in raw]
    pairs = []
    for key, value in environ.items():
        if key.startswith('HTTP_'):
            pairs.append((key[5:].replace('_', '-').lower(), value))
    if environ.get('CONTENT_TYPE'):
        pairs.append(('content-type', environ['CONTENT_TYPE']))
    if environ.get('CONTENT_LENGTH'):
        pairs.append(('content-length', environ['CONTENT_LENGTH']))
    return pairs


def error_response(err):
    """A plain-text response for a GlanceError."""
    status = getattr(err, 'code', 500) or 500
    body = (str(err) or webob.exc.status_map.get(status,
                                                 webob.exc.HTTPError).title)
    resp = webob.Response(status=status, content_type='text/plain',
                          charset='utf-8')
    resp.text = body + '\n'
    return resp


def json_response(data, status=200, headers=None):
    resp = webob.Response(status=status, content_type='application/json',
                          charset=None)
    resp.body = json.dumps(data).encode('utf-8')
    for name, value in headers or []:
        resp.headerlist.append((name, value))
    return resp


def read_json(req, limit=1024 * 1024):
    """The request body as JSON (a 400 when it is not)."""
    length = req.content_length
    if length is not None and length > limit:
        raise exception.TooLarge('request body over %d bytes' % limit)
    data = req.body_file.read(limit + 1) if length is None else req.body
    if len(data) > limit:
        raise exception.TooLarge('request body over %d bytes' % limit)
    try:
        return json.loads(data.decode('utf-8') or 'null')
    except (UnicodeDecodeError, ValueError) as e:
        raise exception.Invalid('Malformed JSON in request body: %s' % e)


class Router:
    """Method + path-pattern dispatch, answering errors as plain text."""

    def __init__(self):
        self._routes = []

    def add(self, method, pattern, handler):
        self._routes.append((method, re.compile('^' + pattern + '$'),
                             handler))

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        try:
            resp = self._dispatch(req)
        except exception.GlanceError as err:
            if err.code >= 500:
                LOG.error('%s %s failed: %s', req.method, req.path, err)
            resp = error_response(err)
        except Exception:
            LOG.exception('unexpected error in %s %s', req.method, req.path)
            resp = error_response(exception.GlanceError(
                'Internal server error; see the service log.'))
        return resp(environ, start_response)

    def _dispatch(self, req):
        path = req.path_info.rstrip('/') or '/'
        allowed = []
        for method, pattern, handler in self._routes:
            match = pattern.match(path)
            if not match:
                continue
            if method == req.method or (method == 'GET'
                                         and req.method == 'HEAD'
                                         and not self._has(path, 'HEAD')):
                return handler(req, **match.groupdict())
            allowed.append(method)
        if allowed:
            resp = error_response(exception.GlanceError(
                'Method %s not allowed here' % req.method))
            resp.status = 405
            resp.headers['Allow'] = ', '.join(sorted(set(allowed)))
            return resp
        raise exception.NotFound('No such resource: %s' % req.path)

    def _has(self, path, method):
        return any(m == method and p.match(path) for m, p, _h in self._routes)
