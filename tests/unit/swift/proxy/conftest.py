"""Fixtures for proxy tests: a proxy Application over in-memory nodes."""

import io

import pytest
from webob import Request

from swift.common.middleware.cacheclient import MemoryCache
from swift.common.middleware.memcache import CacheMiddleware
from swift.common.middleware.tempauth import TempAuth
from swift.proxy.controllers import base
from swift.proxy.server import Application
from tests.unit.swift.proxy.fakes import FakeCluster

USERS = {
    'user_test_tester': 'testing .admin',
    'user_test2_tester2': 'testing2 .admin',
    'user_test_tester3': 'testing3',
    'user_admin_admin': 'admin .reseller_admin',
}


@pytest.fixture
def cluster(monkeypatch):
    fake = FakeCluster()
    monkeypatch.setattr(base, 'http_connect', fake.connect)
    return fake


def make_app(cluster, **conf):
    settings = {'account_autocreate': 'true', 'node_timeout': '1',
                'conn_timeout': '0.5', 'log_level': 'DEBUG'}
    settings.update(conf)
    return Application(settings, account_ring=cluster.account_ring,
                       container_ring=cluster.container_ring,
                       object_ring=cluster.object_ring)


@pytest.fixture
def app(cluster):
    return make_app(cluster)


class Client:
    """Sends requests through a WSGI app; a shared cache between calls."""

    def __init__(self, wsgi_app, cache=None):
        self.app = wsgi_app
        self.cache = cache if cache is not None else MemoryCache()

    def request(self, method, path, headers=None, body=None, chunked=False,
                environ=None):
        env = {'REQUEST_METHOD': method, 'swift.cache': self.cache}
        req = Request.blank(path, environ=env, headers=headers or {})
        if body is not None:
            if chunked:
                req.environ['wsgi.input'] = io.BytesIO(body)
                req.environ.pop('CONTENT_LENGTH', None)
                req.headers['Transfer-Encoding'] = 'chunked'
            else:
                req.body = body
        # overrides last, so they win over what setting the body did
        for key, value in (environ or {}).items():
            if value is None:
                req.environ.pop(key, None)
            else:
                req.environ[key] = value
        return req.get_response(self.app)


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def auth_client(app):
    """Client through cache + tempauth + proxy; .token(user) logs in."""
    pipeline = CacheMiddleware(TempAuth(app, dict(USERS)), {})
    c = Client(pipeline)
    # the cache middleware keeps its own cache: use the same one
    c.cache = pipeline.cache

    def token(user='test:tester', key=None):
        keys = {'test:tester': 'testing', 'test2:tester2': 'testing2',
                'test:tester3': 'testing3', 'admin:admin': 'admin'}
        resp = c.request('GET', '/auth/v1.0', headers={
            'X-Auth-User': user, 'X-Auth-Key': key or keys[user]})
        assert resp.status_int == 200, resp.status
        return resp.headers['X-Auth-Token']
    c.token = token
    return c
