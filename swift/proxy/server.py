"""The proxy server: ``/v1/<account>[/<container>[/<object>]]``.

It routes each request to the account, container or object controller
(swift/proxy/controllers/), which talk to the storage nodes the rings name.
Config ([app:proxy-server], with [DEFAULT] underneath)::

    swift_dir = /etc/swift
    conn_timeout = 0.5            node_timeout = 10      client_timeout = 60
    client_chunk_size = 65536     object_chunk_size = 65536
    buffered_put_size = 65536
    error_suppression_interval = 60
    error_suppression_limit = 10
    recheck_account_existence = 60
    recheck_container_existence = 60
    allow_account_management = false
    account_autocreate = false
    rate_limit_after_segment = 10
    rate_limit_segments_per_sec = 1

Authorization is the auth middleware's business: it leaves a callback in
``env['swift.authorize']`` which the application calls before acting (or,
for verbs that depend on a container ACL, the controller calls once it has
the ACL).  Every response carries ``X-Trans-Id`` (and ``X-CF-Trans-Id``).
"""

import mimetypes
import os
import time

from webob import Request
from webob.exc import HTTPException

from swift.common.middleware.transaction import (get_trans_id,
                                                 trans_id_headers)
from swift.common.ring import Ring
from swift.common.utils import (config_float, config_int, config_true_value,
                                get_logger, split_path)
from swift.proxy.controllers.account import AccountController
from swift.proxy.controllers.base import text_response, verbs_of
from swift.proxy.controllers.container import ContainerController
from swift.proxy.controllers.obj import ObjectController

#: API versions the proxy answers.  The original took any first segment;
#: refusing others keeps e.g. /auth/... typos from reaching accounts.
VERSIONS = ('v1', 'v1.0')


class Application:
    """The WSGI application at the end of the proxy pipeline."""

    def __init__(self, conf, memcache=None, logger=None, account_ring=None,
                 container_ring=None, object_ring=None):
        conf = conf or {}
        self.conf = conf
        self.logger = logger or get_logger(conf, log_route='proxy-server')
        swift_dir = conf.get('swift_dir', '/etc/swift')
        self.node_timeout = config_float(conf, 'node_timeout', 10)
        self.conn_timeout = config_float(conf, 'conn_timeout', 0.5)
        self.client_timeout = config_float(conf, 'client_timeout', 60)
        self.client_chunk_size = config_int(conf, 'client_chunk_size', 65536)
        self.object_chunk_size = config_int(conf, 'object_chunk_size', 65536)
        # PUT bodies up to this size skip the 100-continue round trip
        self.buffered_put_size = config_int(conf, 'buffered_put_size', 65536)
        self.error_suppression_interval = config_float(
            conf, 'error_suppression_interval', 60)
        self.error_suppression_limit = config_int(
            conf, 'error_suppression_limit', 10)
        self.recheck_container_existence = config_float(
            conf, 'recheck_container_existence', 60)
        self.recheck_account_existence = config_float(
            conf, 'recheck_account_existence', 60)
        self.allow_account_management = config_true_value(
            conf.get('allow_account_management', 'false'))
        self.account_autocreate = config_true_value(
            conf.get('account_autocreate', 'false'))
        self.rate_limit_after_segment = config_int(
            conf, 'rate_limit_after_segment', 10)
        self.rate_limit_segments_per_sec = config_float(
            conf, 'rate_limit_segments_per_sec', 1)
        self.memcache = memcache
        load_mime_types(os.path.join(swift_dir, 'mime.types'))
        self.account_ring = account_ring or Ring(swift_dir, 'account')
        self.container_ring = container_ring or Ring(swift_dir, 'container')
        self.object_ring = object_ring or Ring(swift_dir, 'object')
        # (ip, port, device) -> {'errors': n, 'last_error': t}.  Kept here,
        # not in the ring's node dicts, so a ring reload keeps the counts.
        self.node_errors = {}

    # ------------------------------------------------ error limiting

    @staticmethod
    def node_key(node):
        return (node['ip'], node['port'], node['device'])

    def error_limited(self, node):
        """True while ``node`` is suppressed for too many recent errors."""
        stats = self.node_errors.get(self.node_key(node))
        if not stats:
            return False
        if stats['last_error'] < time.time() - \
                self.error_suppression_interval:
            del self.node_errors[self.node_key(node)]
            return False
        limited = stats['errors'] > self.error_suppression_limit
        if limited:
            self.logger.debug('Node error limited %s:%s (%s)', node['ip'],
                              node['port'], node['device'])
        return limited

    def error_occurred(self, node, msg):
        stats = self.node_errors.setdefault(self.node_key(node),
                                            {'errors': 0, 'last_error': 0})
        stats['errors'] += 1
        stats['last_error'] = time.time()
        self.logger.error('%s: node %s:%s/%s', msg, node['ip'], node['port'],
                          node['device'])

    def exception_occurred(self, node, server_type, msg):
        self.error_occurred(node, 'ERROR with %s server: %s'
                            % (server_type, msg))

    def error_limit(self, node):
        """Suppress ``node`` at once (it answered 507: disk unmounted)."""
        stats = self.node_errors.setdefault(self.node_key(node),
                                            {'errors': 0, 'last_error': 0})
        stats['errors'] = self.error_suppression_limit + 1
        stats['last_error'] = time.time()
        self.logger.error('ERROR Insufficient Storage: node %s:%s/%s',
                          node['ip'], node['port'], node['device'])

    # ------------------------------------------------------ routing

    def get_controller(self, path):
        """(controller class, kwargs) for a /v1 path; (None, None) for a
        path no controller takes; ValueError when unparsable."""
        version, account, container, obj = split_path(path, 1, 4, True)
        if version not in VERSIONS:
            return None, None
        parts = {'account_name': account, 'container_name': container,
                 'object_name': obj}
        if account and container and obj:
            return ObjectController, parts
        if account and container:
            return ContainerController, parts
        if account:
            return AccountController, parts
        return None, None

    def __call__(self, env, start_response):
        req = Request(env)
        trans_id = get_trans_id(env)
        try:
            resp = self.handle_request(req)
        except HTTPException as e:
            resp = e
        for key, value in trans_id_headers(trans_id):
            resp.headers[key] = value
        return resp(env, start_response)

    def handle_request(self, req):
        trans_id = get_trans_id(req.environ)
        self.logger.txn_id = trans_id
        if not _path_is_utf8(req.environ.get('PATH_INFO', '')):
            return text_response(412, 'Invalid UTF8 or contains NULL\n',
                                 request=req)
        try:
            controller_class, parts = self.get_controller(req.path_info)
        except ValueError:
            return text_response(404, 'Not Found\n', request=req)
        if controller_class is None:
            return text_response(412, 'Bad URL\n', request=req)
        controller = controller_class(self, **parts)
        controller.cache = req.environ.get('swift.cache', self.memcache)
        controller.trans_id = trans_id
        handler = getattr(controller, req.method, None) \
            if req.method.isupper() else None
        if handler is None or not getattr(handler, 'publicly_accessible',
                                          False):
            return text_response(
                405, 'Method Not Allowed\n', request=req,
                headers={'Allow': ', '.join(verbs_of(controller_class))})
        authorize = req.environ.get('swift.authorize')
        if authorize is not None and not getattr(handler, 'delay_denial',
                                                 False):
            denied = authorize(req)
            if denied is not None:
                return denied
        return handler(req)


def load_mime_types(path):
    """Add an operator's ``<swift_dir>/mime.types`` to the types guessed
    for objects PUT without a Content-Type."""
    if not os.path.exists(path):
        return
    for ext, mime_type in (mimetypes.read_mime_types(path) or {}).items():
        mimetypes.add_type(mime_type, ext)


def _path_is_utf8(wsgi_path):
    try:
        text = wsgi_path.encode('latin-1').decode('utf-8')
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return '\x00' not in text


def app_factory(global_conf, **local_conf):
    """paste.deploy entry: ``paste.app_factory = swift.proxy.server:app_factory``."""
    conf = dict(global_conf)
    conf.update(local_conf)
    return Application(conf)
