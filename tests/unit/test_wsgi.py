"""nova.wsgi: the eventlet server, paste loading, routing and serialization."""

import json
import logging
import os
import textwrap

import eventlet
import pytest
import routes
import webob
import webob.dec
from eventlet.green.http import client as green_http

from nova import exception
from nova import flags
from nova import wsgi

FLAGS = flags.FLAGS


# -- apps used by the tests (paste names them by module path) -----------------

class Hello(wsgi.Application):
    def __init__(self, greeting='hello'):
        self.greeting = greeting

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        return webob.Response(text='%s %s' % (self.greeting, req.path_info),
                              content_type='text/plain')


class Stamp(wsgi.Middleware):
    """Adds a header to responses; answers /blocked itself."""

    def process_request(self, req):
        if req.path_info == '/blocked':
            return webob.Response(status=403, text='blocked by filter')
        return None

    def process_response(self, response):
        response.headers['X-Stamp'] = self.config.get('stamp', 'yes')
        return response


class ServersController(wsgi.Controller):
    _serialization_metadata = {
        'application/xml': {'attributes': {'server': ['id', 'name']},
                            'plurals': {'servers': 'server'}}}

    def index(self, req):
        return {'servers': [{'id': 1, 'name': 'a'}, {'id': 2, 'name': 'b'}]}

    def show(self, req, id):
        if id == '404':
            return webob.Response(status=404)
        return {'server': {'id': id, 'name': 'vm', 'status': 'active',
                           'addresses': {'public': ['10.0.0.1']}}}

    def create(self, req):
        body = self._deserialize(req.body, req.content_type)
        return {'server': {'id': 3, 'name': body['server']['name']}}

    def _secret(self, req):
        return {'leak': True}


class APIRouter(wsgi.Router):
    def __init__(self):
        mapper = routes.Mapper()
        controller = ServersController()
        mapper.resource('server', 'servers', controller=controller)
        mapper.connect('/private', controller=controller, action='_secret')
        super().__init__(mapper)


def _get(app, path, **kw):
    return webob.Request.blank(path, **kw).get_response(app)


# -- Server ---------------------------------------------------------------------

def _green_get(port, path='/', timeout=10):
    conn = green_http.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request('GET', path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.fixture
def server_factory():
    servers = []

    def make(app, **kw):
        server = wsgi.Server('test', app, host='127.0.0.1', port=0, **kw)
        servers.append(server.start())
        return server
    yield make
    for server in servers:
        server.stop(timeout=1)


def test_server_binds_free_port_and_logs_access(server_factory, caplog):
    caplog.set_level(logging.INFO, logger='nova.wsgi')
    server = server_factory(Hello())
    assert server.port > 0 and server.host == '127.0.0.1'
    status, body = _green_get(server.port, '/x%20y')
    assert (status, body) == (200, b'hello /x y')
    assert any('GET /x%20y' in r.getMessage() and ' 200 ' in r.getMessage()
               for r in caplog.records if r.name == 'nova.wsgi.test')


def test_server_hides_tracebacks_from_clients(server_factory):
    def broken(environ, start_response):
        raise RuntimeError('secret detail')
    server = server_factory(broken)
    status, body = _green_get(server.port)
    assert status == 500
    assert b'secret detail' not in body


def test_stop_lets_in_flight_requests_finish(server_factory):
    entered = eventlet.event.Event()
    release = eventlet.event.Event()

    def slow(environ, start_response):
        entered.send()
        release.wait()
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'finished']

    server = server_factory(slow)
    client = eventlet.spawn(_green_get, server.port)
    entered.wait()
    stopper = eventlet.spawn(server.stop, 10)
    eventlet.sleep(0)           # let stop() close the accept loop
    release.send()
    stopper.wait()
    assert client.wait() == (200, b'finished')
    with pytest.raises(OSError):
        _green_get(server.port, timeout=2)


def test_stop_cuts_off_requests_after_timeout(server_factory):
    entered = eventlet.event.Event()
    never = eventlet.event.Event()

    def stuck(environ, start_response):
        entered.send()
        never.wait()
        start_response('200 OK', [])
        return [b'never']

    server = server_factory(stuck)
    client = eventlet.spawn(_green_get, server.port)
    entered.wait()
    server.stop(timeout=0.2)
    with pytest.raises(Exception):
        client.wait()


def test_start_twice_and_bind_conflict(server_factory):
    server = server_factory(Hello())
    with pytest.raises(exception.InvalidState):
        server.start()
    clash = wsgi.Server('clash', Hello(), host='127.0.0.1', port=server.port)
    with pytest.raises(exception.NovaException, match='Could not bind'):
        clash.start()


# -- Loader ---------------------------------------------------------------------

PASTE = textwrap.dedent("""
    [composite:api]
    use = egg:Paste#urlmap
    / = hello_app
    /v1 = stamped

    [pipeline:stamped]
    pipeline = stamp hello_app

    [filter:stamp]
    paste.filter_factory = tests.unit.test_wsgi:Stamp.factory
    stamp = v1

    [app:hello_app]
    paste.app_factory = tests.unit.test_wsgi:Hello.factory
    greeting = hi
    """)


@pytest.fixture
def paste_file(tmp_path):
    path = tmp_path / 'api-paste.ini'
    path.write_text(PASTE)
    return path


def test_loader_builds_pipeline(paste_file):
    app = wsgi.Loader(str(paste_file)).load_app('api')
    resp = _get(app, '/v1/servers')
    assert resp.text == 'hi /servers'
    assert resp.headers['X-Stamp'] == 'v1'
    blocked = _get(app, '/v1/blocked')
    # A short-circuit answer skips process_response.
    assert blocked.status_int == 403 and 'X-Stamp' not in blocked.headers
    assert 'X-Stamp' not in _get(app, '/other').headers


def test_loader_errors_name_file_and_app(paste_file, tmp_path):
    with pytest.raises(exception.NotFound) as info:
        wsgi.Loader(str(paste_file)).load_app('missing')
    assert 'missing' in str(info.value) and str(paste_file) in str(info.value)
    with pytest.raises(exception.NotFound, match='nope.ini'):
        wsgi.Loader(str(tmp_path / 'nope.ini'))


def test_loader_searches_state_path(tmp_path, monkeypatch):
    monkeypatch.setattr(wsgi, '_REPO_ETC', str(tmp_path / 'repo-etc'))
    FLAGS.state_path = str(tmp_path)
    with pytest.raises(exception.NotFound) as info:
        wsgi.Loader()
    assert os.path.join(str(tmp_path), 'etc', 'nova', 'api-paste.ini') \
        in str(info.value)
    (tmp_path / 'etc' / 'nova').mkdir(parents=True)
    (tmp_path / 'etc' / 'nova' / 'api-paste.ini').write_text(PASTE)
    loader = wsgi.Loader()
    assert loader.config_path == str(tmp_path / 'etc' / 'nova' /
                                     'api-paste.ini')
    assert _get(loader.load_app('hello_app'), '/a').text == 'hi /a'


# -- Router and Controller ------------------------------------------------------

def test_router_dispatches_and_serializes_json():
    app = APIRouter()
    resp = _get(app, '/servers')
    assert resp.status_int == 200
    assert resp.content_type == 'application/json'
    assert resp.json == {'servers': [{'id': 1, 'name': 'a'},
                                     {'id': 2, 'name': 'b'}]}
    assert _get(app, '/servers/7').json['server']['id'] == '7'


def test_controller_xml_by_suffix_and_accept():
    app = APIRouter()
    by_suffix = _get(app, '/servers/7.xml')
    by_accept = _get(app, '/servers/7', accept='application/xml')
    for resp in (by_suffix, by_accept):
        assert resp.content_type == 'application/xml'
        assert b'<server id="7" name="vm">' in resp.body
        assert b'<addresses><public><item>10.0.0.1</item></public>' \
            in resp.body
    listing = _get(app, '/servers.xml').body
    assert b'<servers><server id="1" name="a" />' in listing


def test_controller_passes_responses_and_hides_private_methods():
    app = APIRouter()
    assert _get(app, '/servers/404').status_int == 404
    assert _get(app, '/private').status_int == 404
    assert _get(app, '/nowhere').status_int == 404


def test_controller_deserializes_json_and_xml_bodies():
    app = APIRouter()
    resp = _get(app, '/servers', method='POST',
                body=b'{"server": {"name": "new"}}',
                content_type='application/json')
    assert resp.json == {'server': {'id': 3, 'name': 'new'}}
    resp = _get(app, '/servers', method='POST',
                body=b'<server name="x"><name>new</name></server>',
                content_type='application/xml')
    assert resp.json['server']['name'] == 'new'
    with pytest.raises(exception.InvalidInput):
        _get(app, '/servers', method='POST', body=b'{"server": ',
             content_type='application/json')


def test_debug_middleware_passes_through(caplog):
    caplog.set_level(logging.DEBUG, logger='nova.wsgi')
    app = wsgi.Debug(Hello())
    assert _get(app, '/dbg').text == 'hello /dbg'
    assert any('/dbg' in r.getMessage() for r in caplog.records)


# -- Serializer -----------------------------------------------------------------

def test_serializer_xml_namespace_plurals_and_values():
    s = wsgi.Serializer({'attributes': {'image': ['id']},
                         'plurals': {'images': 'image', 'links': 'link'},
                         'xmlns': 'http://docs.openstack.org/compute/v1.0'})
    data = {'images': [{'id': 1, 'public': True, 'name': None,
                        'links': ['a']}]}
    xml = s.serialize(data, wsgi.XML)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert (b'<images xmlns="http://docs.openstack.org/compute/v1.0">'
            b'<image id="1"><public>true</public><name />'
            b'<links><link>a</link></links></image></images>') in xml
    back = s.deserialize(xml)
    assert back == {'images': [{'id': '1', 'public': 'true', 'name': '',
                                'links': ['a']}]}


def test_serializer_json_handles_datetimes():
    import datetime
    out = wsgi.Serializer().serialize(
        {'at': datetime.datetime(2011, 2, 3, 4, 5, 6)}, wsgi.JSON)
    assert json.loads(out) == {'at': '2011-02-03T04:05:06Z'}


@pytest.mark.parametrize('body,content_type', [
    (b'{"a": ', 'application/json'),
    (b'[1, 2]', 'application/json'),
    (b'<a><b></a>', 'application/xml'),
    (b'<a><b></a>', None),
    (b'', None),
    (b'\xff\xfe', None),
    (b'<!DOCTYPE x [<!ENTITY e "lol">]><x>&e;</x>', 'application/xml'),
    (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
     None),
])
def test_serializer_rejects_bad_bodies(body, content_type):
    with pytest.raises(exception.InvalidInput):
        wsgi.Serializer().deserialize(body, content_type)


def test_serializer_sniffs_body_type():
    s = wsgi.Serializer()
    assert s.deserialize(b'  <a x="1"/>', 'text/plain') == {'a': {'x': '1'}}
    assert s.deserialize(b'{"a": 1}', None) == {'a': 1}


def test_xml_output_needs_single_root():
    with pytest.raises(exception.InvalidInput):
        wsgi.Serializer().serialize({'a': 1, 'b': 2}, wsgi.XML)


def test_server_does_not_invent_a_content_type(server_factory):
    seen = []

    def app(environ, start_response):
        seen.append(environ.get('CONTENT_TYPE'))
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'']

    server = server_factory(app)
    _green_get(server.port)
    conn = green_http.HTTPConnection('127.0.0.1', server.port, timeout=10)
    conn.request('POST', '/', body=b'{}',
                 headers={'Content-Type': 'application/json'})
    conn.getresponse().read()
    conn.close()
    assert seen == [None, 'application/json']
