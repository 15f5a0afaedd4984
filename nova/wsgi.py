"""The WSGI building blocks every nova API is made of.

* ``Server`` serves one WSGI app with eventlet on a green pool.
* ``Loader`` finds ``api-paste.ini`` and builds an app from it with
  paste.deploy.
* ``Application``, ``Middleware``, ``Router`` and ``Controller`` are the base
  classes of the apps, filters and controllers the paste files name.
* ``Serializer`` turns dicts into JSON or XML and request bodies back into
  dicts (XML parsed with defusedxml; bad input is ``InvalidInput``).
"""

import datetime
import json
import os
import socket
import sys
import xml.etree.ElementTree as ElementTree

import defusedxml.ElementTree
import eventlet
import eventlet.wsgi
import greenlet
import routes.middleware
import webob.dec
import webob.exc

from nova import exception
from nova import flags
from nova import log as logging
from nova import utils

FLAGS = flags.FLAGS
LOG = logging.getLogger('nova.wsgi')

flags.DEFINE_string('api_paste_config', 'api-paste.ini',
                    'paste.deploy config of the nova APIs: a path, or a file '
                    'name looked for beside the flagfile, in '
                    '$state_path/etc/nova, $state_path/etc, the checkout\'s '
                    'etc/nova and /etc/nova')
flags.DEFINE_integer('wsgi_client_socket_timeout', 900,
                     'seconds a client connection may stay silent before '
                     'the server closes it (0: never)')
flags.DEFINE_integer('wsgi_shutdown_timeout', 30,
                     'seconds a stopping server lets in-flight requests run')

_REPO_ETC = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'etc', 'nova')

JSON = 'application/json'
XML = 'application/xml'


# -- serving ------------------------------------------------------------------

class Server:
    """One WSGI app served by eventlet on a pool of green threads.

    ``start()`` binds (``port=0`` picks a free port; read ``.port`` after),
    ``wait()`` blocks until the server ends and ``stop()`` shuts it down
    gracefully: no new connections are accepted, idle keep-alive connections
    are closed, and requests in flight get up to ``shutdown_timeout``
    seconds to finish before they are cut off.
    """

    def __init__(self, name, app, host='0.0.0.0', port=0, pool_size=1000,
                 backlog=128, shutdown_timeout=None):
        if backlog < 1:
            raise exception.InvalidInput(reason='backlog must be >= 1')
        self.name = name
        self.app = app
        self.host = host
        self.port = port
        self.pool_size = pool_size
        self.backlog = backlog
        self.shutdown_timeout = shutdown_timeout
        self._logger = logging.getLogger('nova.wsgi.%s' % name)
        self._socket = None
        self._pool = None
        self._thread = None

    def start(self):
        """Bind the listening socket and start serving in a green thread."""
        if self._thread is not None:
            raise exception.InvalidState(reason='server %s already started'
                                         % self.name)
        info = socket.getaddrinfo(self.host, self.port, socket.AF_UNSPEC,
                                  socket.SOCK_STREAM)[0]
        family, address = info[0], info[4]
        try:
            self._socket = eventlet.listen(address, family=family,
                                           backlog=self.backlog)
        except OSError as e:
            raise exception.NovaException(
                'Could not bind %s to %s:%s: %s'
                % (self.name, self.host, self.port, e.strerror)) from None
        self.host, self.port = self._socket.getsockname()[:2]
        self._pool = eventlet.GreenPool(self.pool_size)
        timeout = FLAGS.wsgi_client_socket_timeout or None
        self._thread = eventlet.spawn(
            eventlet.wsgi.server, self._socket, _true_content_type(self.app),
            custom_pool=self._pool, log=self._logger,
            # debug=False: never send a traceback to the client.
            debug=False, socket_timeout=timeout,
            # Header names go out as the app wrote them: S3 clients read
            # x-amz-meta-* names back verbatim.
            capitalize_response_headers=False)
        LOG.info('%s listening on %s:%s', self.name, self.host, self.port)
        return self

    def wait(self):
        """Block until the server has stopped."""
        if self._thread is None:
            return
        try:
            self._thread.wait()
        except greenlet.GreenletExit:
            pass

    def stop(self, timeout=None):
        """Stop accepting, then let requests in flight finish up to timeout."""
        if self._thread is None:
            return
        if timeout is None:
            timeout = self.shutdown_timeout
        if timeout is None:
            timeout = FLAGS.wsgi_shutdown_timeout
        LOG.info('stopping %s on %s:%s', self.name, self.host, self.port)
        # Killing the accept loop makes eventlet close the idle connections,
        # mark busy ones to close after their response, and wait for the pool.
        self._thread.kill()
        finished = False
        with eventlet.Timeout(timeout, False):
            self.wait()
            finished = True
        if not finished:
            LOG.warning('%s: requests still running after %ss, cutting them '
                        'off', self.name, timeout)
            for thread in list(self._pool.coroutines_running):
                thread.kill()
            self.wait()
        if self._socket is not None:
            self._socket.close()
        self._thread = None


def _true_content_type(app):
    """Drop the Content-Type eventlet invents for requests that sent none.

    eventlet sets ``CONTENT_TYPE`` to ``text/plain`` when the header is
    absent; S3 signatures cover the Content-Type as sent, and apps should
    not see a type the client never claimed.
    """
    def wrapper(environ, start_response):
        raw = environ.get('headers_raw')
        if raw is not None and not any(name.lower() == 'content-type'
                                       for name, _value in raw):
            environ.pop('CONTENT_TYPE', None)
        return app(environ, start_response)
    return wrapper


# -- paste.deploy --------------------------------------------------------------

class Loader:
    """Finds the paste.deploy config and loads named apps from it."""

    def __init__(self, config_path=None):
        self.config_path = find_paste_config(config_path)

    def load_app(self, name):
        from paste import deploy
        try:
            return deploy.loadapp('config:%s' % self.config_path, name=name)
        except LookupError as e:
            raise exception.NotFound(
                'Cannot load app %r from %s: %s'
                % (name, self.config_path, e)) from None


def _flagfile_dirs():
    dirs = []
    args = list(sys.argv[1:])
    for i, arg in enumerate(args):
        path = None
        if arg.startswith('--flagfile='):
            path = arg.split('=', 1)[1]
        elif arg == '--flagfile' and i + 1 < len(args):
            path = args[i + 1]
        if path:
            dirs.append(os.path.dirname(os.path.abspath(path)))
    return dirs


def find_paste_config(config_path=None):
    """The absolute path of the paste config, or NotFound naming the search.

    An explicit ``config_path`` must exist; otherwise the ``api_paste_config``
    flag is used as is when it is a path, else looked for beside the
    flagfile, in ``$state_path/etc/nova``, ``$state_path/etc``, this
    checkout's ``etc/nova`` and ``/etc/nova``.
    """
    if config_path:
        if not os.path.isfile(config_path):
            raise exception.NotFound('paste config %s does not exist'
                                     % config_path)
        return os.path.abspath(config_path)
    name = FLAGS.api_paste_config
    if os.path.isabs(name) or os.sep in name:
        if os.path.isfile(name):
            return os.path.abspath(name)
        raise exception.NotFound('paste config %s does not exist' % name)
    candidates = [os.path.join(d, name) for d in _flagfile_dirs()]
    candidates += [os.path.join(FLAGS.state_path, 'etc', 'nova', name),
                   os.path.join(FLAGS.state_path, 'etc', name),
                   os.path.join(_REPO_ETC, name),
                   os.path.join('/etc/nova', name)]
    candidates = list(dict.fromkeys(os.path.abspath(c) for c in candidates))
    for path in candidates:
        if os.path.isfile(path):
            return os.path.abspath(path)
    raise exception.NotFound('paste config %s not found in: %s'
                             % (name, ', '.join(candidates)))


# -- apps, filters, routing ------------------------------------------------------

class Request(webob.Request):
    """The request class of nova's apps."""

    def best_match_content_type(self):
        """JSON or XML: the URL suffix, else the Accept header, else JSON."""
        path = self.path_info
        if path.endswith('.xml'):
            return XML
        if path.endswith('.json'):
            return JSON
        offers = self.accept.acceptable_offers([JSON, XML])
        return offers[0][0] if offers else JSON


class Application:
    """Base of nova's WSGI apps; paste builds them with ``factory``."""

    @classmethod
    def factory(cls, global_config, **local_config):
        """``[app:x] paste.app_factory = nova.api.foo:Bar.factory``."""
        return cls(**local_config)

    def __call__(self, environ, start_response):
        raise NotImplementedError('subclasses implement __call__, usually '
                                  'as a webob.dec.wsgify method')


class Middleware(Application):
    """Wraps an app; subclasses override process_request/process_response."""

    @classmethod
    def factory(cls, global_config, **local_config):
        """``[filter:x] paste.filter_factory = nova.api.foo:Baz.factory``."""
        def _filter(app):
            return cls(app, **local_config)
        return _filter

    def __init__(self, application, **config):
        self.application = application
        self.config = config

    def process_request(self, req):
        """Return a response to answer without calling the wrapped app."""
        return None

    def process_response(self, response):
        return response

    @webob.dec.wsgify(RequestClass=Request)
    def __call__(self, req):
        response = self.process_request(req)
        if response is not None:
            return response
        response = req.get_response(self.application)
        return self.process_response(response)


class Debug(Middleware):
    """Logs each request's environ and each response's headers and body."""

    @webob.dec.wsgify(RequestClass=Request)
    def __call__(self, req):
        LOG.debug('%s %s environ:\n%s', req.method, req.path_qs,
                  '\n'.join('  %s = %r' % kv
                            for kv in sorted(req.environ.items())))
        response = req.get_response(self.application)
        LOG.debug('response %s headers:\n%s', response.status,
                  '\n'.join('  %s: %s' % kv for kv in response.headerlist))
        if response.content_length is not None \
                and response.content_length <= 65536:
            LOG.debug('response body: %r', response.body)
        return response


class Router:
    """Dispatches to the app in the matched route's ``controller``.

    Subclasses build a ``routes.Mapper`` whose routes name a WSGI app as
    their controller (usually a ``Controller``) and an ``action``.
    """

    def __init__(self, mapper):
        self.map = mapper
        # singleton=False keeps routing state in the environ, not in a
        # thread-local that green threads would share; no _method override
        # (it lets a form POST pose as DELETE).
        self._router = routes.middleware.RoutesMiddleware(
            self._dispatch, self.map, use_method_override=False,
            singleton=False)

    @webob.dec.wsgify(RequestClass=Request)
    def __call__(self, req):
        return self._router

    @staticmethod
    @webob.dec.wsgify(RequestClass=Request)
    def _dispatch(req):
        match = req.environ['wsgiorg.routing_args'][1]
        if not match:
            return webob.exc.HTTPNotFound()
        return match['controller']


class Controller:
    """Calls the method the route's ``action`` names.

    The method gets ``req`` and the route's URL arguments as keywords.  A
    dict it returns is serialized (JSON or XML as the client asked, using the
    class's ``_serialization_metadata``); any other value (a webob Response,
    a WSGI app) is returned as is.
    """

    _serialization_metadata = {}
    _default_xmlns = None

    @webob.dec.wsgify(RequestClass=Request)
    def __call__(self, req):
        args = dict(req.environ['wsgiorg.routing_args'][1])
        action = args.pop('action', None)
        args.pop('controller', None)
        args.pop('format', None)
        method = getattr(self, action, None) if action else None
        if (method is None or action.startswith('_')
                or not callable(method)):
            return webob.exc.HTTPNotFound()
        result = method(req=req, **args)
        if isinstance(result, dict):
            return self._serialize_response(req, result)
        return result

    def _serializer(self):
        return Serializer(self._serialization_metadata,
                          default_xmlns=self._default_xmlns)

    def _serialize_response(self, req, data, status=200):
        content_type = req.best_match_content_type()
        response = webob.Response(status=status)
        response.content_type = content_type
        response.charset = 'utf-8'
        response.body = self._serializer().serialize(data, content_type)
        return response

    def _deserialize(self, body, content_type=None):
        """The request body as a dict; InvalidInput when it is not one."""
        return self._serializer().deserialize(body, content_type)


# -- serialization ---------------------------------------------------------------

def _json_default(value):
    if isinstance(value, datetime.datetime):
        return utils.isotime(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, bytes):
        return value.decode('utf-8')
    raise TypeError('%r is not JSON serializable' % (value,))


def _text(value):
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, datetime.datetime):
        return utils.isotime(value)
    if isinstance(value, bytes):
        return value.decode('utf-8')
    return str(value)


def _local_name(tag):
    return tag.rsplit('}', 1)[-1] if tag.startswith('{') else tag


class Serializer:
    """Dicts to JSON or XML and back.

    ``metadata`` (optionally nested under ``'application/xml'`` as the
    original wrote it) shapes the XML:

    * ``attributes``: ``{node name: [keys rendered as XML attributes]}``;
    * ``plurals``: ``{list name: member name}`` (default: the list name
      without its trailing ``s``, else ``item``);
    * ``xmlns``: the default namespace of the document.
    """

    def __init__(self, metadata=None, default_xmlns=None):
        metadata = metadata or {}
        metadata = metadata.get(XML, metadata)
        self.attributes = metadata.get('attributes', {})
        self.plurals = metadata.get('plurals', {})
        self.xmlns = metadata.get('xmlns', default_xmlns)

    # output

    def serialize(self, data, content_type=JSON):
        """Bytes of ``data`` in the given content type (JSON or XML)."""
        if content_type == XML or content_type.endswith('+xml'):
            return self.to_xml(data)
        return self.to_json(data)

    def to_json(self, data):
        return json.dumps(data, default=_json_default).encode('utf-8')

    def to_xml(self, data):
        """XML whose root element is the dict's single top-level key."""
        if not isinstance(data, dict) or len(data) != 1:
            raise exception.InvalidInput(
                reason='XML output needs a dict with exactly one key')
        (root_name, value), = data.items()
        root = self._to_xml_node(root_name, value)
        if self.xmlns:
            root.set('xmlns', self.xmlns)
        return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
                + ElementTree.tostring(root, encoding='utf-8',
                                       xml_declaration=False))

    def _member_name(self, list_name):
        if list_name in self.plurals:
            return self.plurals[list_name]
        if list_name.endswith('s') and len(list_name) > 1:
            return list_name[:-1]
        return 'item'

    def _to_xml_node(self, name, value):
        node = ElementTree.Element(str(name))
        if isinstance(value, (list, tuple, set, frozenset)):
            member = self._member_name(name)
            for item in value:
                node.append(self._to_xml_node(member, item))
        elif isinstance(value, dict):
            attrs = self.attributes.get(name, ())
            for key, item in value.items():
                if key in attrs and not isinstance(item, (dict, list, tuple)):
                    node.set(str(key), _text(item))
                else:
                    node.append(self._to_xml_node(key, item))
        else:
            node.text = _text(value)
        return node

    # input

    def deserialize(self, body, content_type=None):
        """A dict from a JSON or XML request body; InvalidInput if bad.

        Without a known content type the body is taken as XML when its first
        non-blank character is ``<``, else as JSON.
        """
        if isinstance(body, bytes):
            try:
                text = body.decode('utf-8')
            except UnicodeDecodeError:
                raise exception.InvalidInput(
                    reason='request body is not UTF-8') from None
        else:
            text = body or ''
        if not text.strip():
            raise exception.InvalidInput(reason='request body is empty')
        kind = (content_type or '').split(';')[0].strip().lower()
        if kind not in (JSON, XML, 'text/xml'):
            kind = XML if text.lstrip().startswith('<') else JSON
        if kind == JSON:
            return self.from_json(text)
        return self.from_xml(text)

    def from_json(self, text):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise exception.InvalidInput(
                reason='malformed JSON in request body: %s' % e) from None
        if not isinstance(data, dict):
            raise exception.InvalidInput(
                reason='request body must be a JSON object')
        return data

    def from_xml(self, text):
        try:
            root = defusedxml.ElementTree.fromstring(text)
        except ElementTree.ParseError as e:
            raise exception.InvalidInput(
                reason='malformed XML in request body: %s' % e) from None
        except defusedxml.DefusedXmlException as e:
            # Entities and DTDs are how billion-laughs and XXE attacks start.
            raise exception.InvalidInput(
                reason='forbidden XML construct in request body: %s'
                % type(e).__name__) from None
        name = _local_name(root.tag)
        return {name: self._from_xml_node(root, name)}

    def _from_xml_node(self, node, name):
        children = list(node)
        if name in self.plurals or (
                children and not node.attrib
                and self._member_name(name) != 'item'
                and all(_local_name(c.tag) == self._member_name(name)
                        for c in children)):
            member = self._member_name(name)
            return [self._from_xml_node(c, member) for c in children]
        if not children and not node.attrib:
            return node.text or ''
        result = {_local_name(k): v for k, v in node.attrib.items()}
        for child in children:
            child_name = _local_name(child.tag)
            result[child_name] = self._from_xml_node(child, child_name)
        return result
