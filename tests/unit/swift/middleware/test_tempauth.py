"""tempauth: handshake, tokens, expiry and authorize() rules."""

import json
import time

import pytest
from webob import Request, Response

from swift.common.middleware.cacheclient import MemoryCache
from swift.common.middleware.tempauth import TempAuth, filter_factory

CONF = {
    'user_test_tester': 'testing .admin',
    'user_test_tester3': 'testing3',
    'user_admin_admin': 'admin .reseller_admin',
    'user_other_user': 'key http://storage.example.com/v1/AUTH_other',
}


class Recorder:
    """The app behind tempauth: answers what swift.authorize says."""

    def __init__(self):
        self.env = None

    def __call__(self, env, start_response):
        self.env = env
        req = Request(env)
        authorize = env.get('swift.authorize')
        resp = authorize(req) if authorize else None
        if resp is None:
            resp = Response(status=200, body=b'ok')
        return resp(env, start_response)


@pytest.fixture
def auth():
    return TempAuth(Recorder(), dict(CONF))


def get(app, path, cache, method='GET', **headers):
    req = Request.blank(path, environ={'REQUEST_METHOD': method,
                                       'swift.cache': cache},
                        headers=headers)
    return req.get_response(app)


def login(app, cache, user='test:tester', key='testing', path='/auth/v1.0'):
    return get(app, path, cache, **{'X-Auth-User': user, 'X-Auth-Key': key})


def test_handshake(auth):
    cache = MemoryCache()
    resp = login(auth, cache)
    assert resp.status_int == 200
    token = resp.headers['X-Auth-Token']
    assert token.startswith('AUTH_tk')
    assert resp.headers['X-Storage-Token'] == token
    assert resp.headers['X-Storage-Url'] == 'http://localhost/v1/AUTH_test'
    assert 0 < int(resp.headers['X-Auth-Token-Expires']) <= 86400
    assert json.loads(resp.body)['storage']['local'] == \
        'http://localhost/v1/AUTH_test'


def test_handshake_other_forms(auth):
    cache = MemoryCache()
    assert get(auth, '/v1.0', cache, **{'X-Storage-User': 'test:tester',
                                        'X-Storage-Pass': 'testing'}
               ).status_int == 200
    assert get(auth, '/auth/v1/test/auth', cache,
               **{'X-Auth-User': 'tester', 'X-Auth-Key': 'testing'}
               ).status_int == 200
    assert get(auth, '/auth/v1/test/auth', cache,
               **{'X-Auth-User': 'test2:tester', 'X-Auth-Key': 'testing'}
               ).status_int == 401
    assert get(auth, '/auth/unknown/path/here', cache).status_int == 400
    assert get(auth, '/auth/v1.0', cache, method='POST').status_int == 405


def test_bad_credentials(auth):
    cache = MemoryCache()
    assert login(auth, cache, key='wrong').status_int == 401
    assert login(auth, cache, user='nobody:x').status_int == 401
    assert login(auth, cache, user='notenoughcolons').status_int == 401
    assert login(auth, cache, key='').status_int == 401


def test_configured_storage_url_and_scheme():
    cache = MemoryCache()
    app = TempAuth(Recorder(), dict(CONF))
    resp = login(app, cache, user='other:user', key='key')
    assert resp.headers['X-Storage-Url'] == \
        'http://storage.example.com/v1/AUTH_other'
    app = TempAuth(Recorder(), dict(CONF, storage_url_scheme='https'))
    resp = get(app, '/auth/v1.0', cache, **{
        'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing',
        'Host': 'swift.example.com'})
    assert resp.headers['X-Storage-Url'] == \
        'https://swift.example.com/v1/AUTH_test'


def test_same_token_while_valid(auth):
    cache = MemoryCache()
    first = login(auth, cache).headers['X-Auth-Token']
    assert login(auth, cache).headers['X-Auth-Token'] == first
    other = login(auth, cache, user='test:tester3', key='testing3')
    assert other.headers['X-Auth-Token'] != first


def test_token_groups_and_owner(auth):
    cache = MemoryCache()
    token = login(auth, cache).headers['X-Auth-Token']
    resp = get(auth, '/v1/AUTH_test/c', cache, **{'X-Auth-Token': token})
    assert resp.status_int == 200
    groups = auth.app.env['REMOTE_USER'].split(',')
    assert set(groups) == {'test', 'test:tester', 'AUTH_test'}
    assert auth.app.env['swift_owner'] is True
    # account PUT/DELETE are not for owners
    assert get(auth, '/v1/AUTH_test', cache, method='PUT',
               **{'X-Auth-Token': token}).status_int == 403
    assert get(auth, '/v1/AUTH_other/c', cache,
               **{'X-Auth-Token': token}).status_int == 403


def test_plain_user_is_not_owner(auth):
    cache = MemoryCache()
    token = login(auth, cache, user='test:tester3',
                  key='testing3').headers['X-Auth-Token']
    assert get(auth, '/v1/AUTH_test/c', cache,
               **{'X-Auth-Token': token}).status_int == 403


def test_reseller_admin(auth):
    cache = MemoryCache()
    token = login(auth, cache, user='admin:admin',
                  key='admin').headers['X-Auth-Token']
    for path, method in (('/v1/AUTH_anything', 'PUT'),
                         ('/v1/AUTH_test/c/o', 'DELETE')):
        assert get(auth, path, cache, method=method,
                   **{'X-Auth-Token': token}).status_int == 200
    assert auth.app.env['reseller_request'] is True
    # accounts outside our prefix are not ours to grant
    assert get(auth, '/v1/OTHER_x', cache,
               **{'X-Auth-Token': token}).status_int == 403


def test_token_expires():
    cache = MemoryCache()
    app = TempAuth(Recorder(), dict(CONF, token_life='100'))
    token = login(app, cache).headers['X-Auth-Token']
    key = 'AUTH_/token/%s' % token
    expires, groups = cache.get(key)
    assert expires - time.time() <= 100
    cache.set(key, [time.time() - 1, groups])   # as if 100 s passed
    resp = get(app, '/v1/AUTH_test/c', cache, **{'X-Auth-Token': token})
    assert resp.status_int == 401
    # a new login hands out a fresh token
    assert login(app, cache).headers['X-Auth-Token'] != token


def test_anonymous(auth):
    cache = MemoryCache()
    assert get(auth, '/v1/AUTH_test/c/o', cache).status_int == 401
    assert get(auth, '/v1/OTHER_test/c/o', cache).status_int == 401
    assert get(auth, '/v1/AUTH_test/c/o', cache,
               **{'X-Auth-Token': 'AUTH_tkunknown'}).status_int == 401


def test_authorize_with_acl(auth):
    req = Request.blank('/v1/AUTH_test/c/o')
    req.remote_user = 'test,test:tester3'
    req.acl = 'test:tester3'
    assert auth.authorize(req) is None
    req.acl = 'test'
    assert auth.authorize(req) is None
    req.acl = 'other'
    assert auth.authorize(req).status_int == 403
    anon = Request.blank('/v1/AUTH_test/c', headers={
        'Referer': 'http://x.example.com/'})
    anon.acl = '.r:.example.com'
    assert auth.authorize(anon).status_int == 401   # listing needs more
    anon.acl = '.r:.example.com,.rlistings'
    assert auth.authorize(anon) is None


def test_without_cache_middleware_uses_own_cache():
    app = TempAuth(Recorder(), dict(CONF))
    req = Request.blank('/auth/v1.0', headers={'X-Auth-User': 'test:tester',
                                               'X-Auth-Key': 'testing'})
    token = req.get_response(app).headers['X-Auth-Token']
    req = Request.blank('/v1/AUTH_test/c', headers={'X-Auth-Token': token})
    assert req.get_response(app).status_int == 200


def test_bad_config():
    with pytest.raises(ValueError):
        TempAuth(Recorder(), {'user_a_b_c': 'key'})
    with pytest.raises(ValueError):
        TempAuth(Recorder(), {'user_a_b': 'key .superuser'})
    with pytest.raises(ValueError):
        TempAuth(Recorder(), {'token_life': '0'})
    app = filter_factory({}, user64_dGVzdF94_dXNlcg='key .admin')(Recorder())
    assert 'test_x:user' in app.users
