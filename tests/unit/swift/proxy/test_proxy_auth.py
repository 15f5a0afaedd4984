"""tempauth in front of the proxy: roles, ACLs, anonymous access."""

ACCOUNT = '/v1/AUTH_test'


def req(client, method, path, token=None, **kwargs):
    headers = kwargs.pop('headers', {})
    if token:
        headers['X-Auth-Token'] = token
    return client.request(method, path, headers=headers, **kwargs)


def setup_container(client, token, **acl_headers):
    assert req(client, 'PUT', ACCOUNT + '/c', token,
               headers=dict(acl_headers)).status_int in (201, 202)
    assert req(client, 'PUT', ACCOUNT + '/c/o', token,
               body=b'data').status_int == 201


def test_admin_owns_account(auth_client):
    token = auth_client.token('test:tester')
    setup_container(auth_client, token)
    assert req(auth_client, 'GET', ACCOUNT + '/c/o', token).body == b'data'
    assert req(auth_client, 'GET', ACCOUNT, token).status_int == 200


def test_no_token_is_401_bad_token_401(auth_client):
    token = auth_client.token('test:tester')
    setup_container(auth_client, token)
    assert req(auth_client, 'GET', ACCOUNT + '/c/o').status_int == 401
    assert req(auth_client, 'GET', ACCOUNT + '/c/o',
               'AUTH_tkbogus').status_int == 401
    assert req(auth_client, 'GET', ACCOUNT).status_int == 401


def test_storage_token_header_accepted(auth_client):
    token = auth_client.token('test:tester')
    setup_container(auth_client, token)
    resp = auth_client.request('GET', ACCOUNT + '/c/o',
                               headers={'X-Storage-Token': token})
    assert resp.status_int == 200


def test_other_account_is_403(auth_client):
    token = auth_client.token('test:tester')
    setup_container(auth_client, token)
    other = auth_client.token('test2:tester2')
    assert req(auth_client, 'GET', ACCOUNT + '/c/o', other).status_int == 403
    assert req(auth_client, 'PUT', ACCOUNT + '/c/x', other,
               body=b'x').status_int == 403
    assert req(auth_client, 'GET', ACCOUNT, other).status_int == 403


def test_plain_user_needs_acl(auth_client):
    token = auth_client.token('test:tester')
    setup_container(auth_client, token)
    plain = auth_client.token('test:tester3')
    assert req(auth_client, 'GET', ACCOUNT + '/c/o', plain).status_int == 403
    assert req(auth_client, 'GET', ACCOUNT + '/c', plain).status_int == 403
    assert req(auth_client, 'POST', ACCOUNT + '/c', plain,
               headers={'X-Container-Read': 'test:tester3'}).status_int \
        == 403
    resp = req(auth_client, 'POST', ACCOUNT + '/c', token,
               headers={'X-Container-Read': 'test:tester3'})
    assert resp.status_int == 204
    assert req(auth_client, 'GET', ACCOUNT + '/c/o', plain).body == b'data'
    assert req(auth_client, 'GET', ACCOUNT + '/c', plain).body == b'o\n'
    # read does not grant write
    assert req(auth_client, 'PUT', ACCOUNT + '/c/new', plain,
               body=b'x').status_int == 403
    req(auth_client, 'POST', ACCOUNT + '/c', token,
        headers={'X-Container-Write': 'test:tester3'})
    assert req(auth_client, 'PUT', ACCOUNT + '/c/new', plain,
               body=b'x').status_int == 201
    assert req(auth_client, 'DELETE', ACCOUNT + '/c/new',
               plain).status_int == 204


def test_group_acl_names_account(auth_client):
    token = auth_client.token('test:tester')
    setup_container(auth_client, token, **{'X-Container-Read': 'test2'})
    other = auth_client.token('test2:tester2')
    assert req(auth_client, 'GET', ACCOUNT + '/c/o', other).status_int == 200


def test_acl_headers_hidden_from_non_owners(auth_client):
    token = auth_client.token('test:tester')
    setup_container(auth_client, token, **{'X-Container-Read':
                                           'test:tester3'})
    plain = auth_client.token('test:tester3')
    resp = req(auth_client, 'HEAD', ACCOUNT + '/c', plain)
    assert resp.status_int == 204
    assert 'X-Container-Read' not in resp.headers
    resp = req(auth_client, 'HEAD', ACCOUNT + '/c', token)
    assert resp.headers['X-Container-Read'] == 'test:tester3'


def test_bad_acl_is_400(auth_client):
    token = auth_client.token('test:tester')
    resp = req(auth_client, 'PUT', ACCOUNT + '/c', token,
               headers={'X-Container-Write': '.r:*'})
    assert resp.status_int == 400
    resp = req(auth_client, 'PUT', ACCOUNT + '/c', token,
               headers={'X-Container-Read': '.bogus'})
    assert resp.status_int == 400
    resp = req(auth_client, 'PUT', ACCOUNT + '/c', token,
               headers={'X-Container-Read': ' .ref : * , .rlistings'})
    assert resp.status_int == 201
    resp = req(auth_client, 'HEAD', ACCOUNT + '/c', token)
    assert resp.headers['X-Container-Read'] == '.r:*,.rlistings'


def test_referrer_acl_public_read(auth_client):
    token = auth_client.token('test:tester')
    setup_container(auth_client, token, **{'X-Container-Read': '.r:*'})
    assert req(auth_client, 'GET', ACCOUNT + '/c/o').body == b'data'
    # listings need .rlistings
    assert req(auth_client, 'GET', ACCOUNT + '/c').status_int == 401
    req(auth_client, 'POST', ACCOUNT + '/c', token,
        headers={'X-Container-Read': '.r:*,.rlistings'})
    assert req(auth_client, 'GET', ACCOUNT + '/c').body == b'o\n'
    # anonymous writes never
    assert req(auth_client, 'PUT', ACCOUNT + '/c/x',
               body=b'x').status_int == 401


def test_referrer_acl_by_host(auth_client):
    token = auth_client.token('test:tester')
    setup_container(auth_client, token, **{
        'X-Container-Read': '.r:.example.com,.r:-bad.example.com'})
    good = {'Referer': 'http://www.example.com/page'}
    bad = {'Referer': 'http://bad.example.com/page'}
    assert req(auth_client, 'GET', ACCOUNT + '/c/o',
               headers=good).status_int == 200
    assert req(auth_client, 'GET', ACCOUNT + '/c/o',
               headers=bad).status_int == 401
    assert req(auth_client, 'GET', ACCOUNT + '/c/o').status_int == 401


def test_reseller_admin_any_account_and_account_management(cluster):
    from swift.common.middleware.memcache import CacheMiddleware
    from swift.common.middleware.tempauth import TempAuth
    from tests.unit.swift.proxy.conftest import USERS, Client, make_app
    app = make_app(cluster, allow_account_management='true',
                   account_autocreate='false')
    pipeline = CacheMiddleware(TempAuth(app, dict(USERS)), {})
    client = Client(pipeline, cache=pipeline.cache)
    resp = client.request('GET', '/auth/v1.0', headers={
        'X-Auth-User': 'admin:admin', 'X-Auth-Key': 'admin'})
    admin = resp.headers['X-Auth-Token']
    resp = client.request('GET', '/auth/v1.0', headers={
        'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing'})
    owner = resp.headers['X-Auth-Token']
    # the owner may not create its account, the reseller admin may
    assert req(client, 'PUT', ACCOUNT, owner).status_int == 403
    assert req(client, 'PUT', ACCOUNT, admin).status_int == 201
    assert req(client, 'PUT', ACCOUNT + '/c', owner).status_int == 201
    assert req(client, 'PUT', ACCOUNT + '/c/o', admin,
               body=b'x').status_int == 201
    assert req(client, 'DELETE', ACCOUNT, owner).status_int == 403


def test_copy_needs_read_on_source(auth_client):
    token = auth_client.token('test:tester')
    setup_container(auth_client, token)
    req(auth_client, 'PUT', ACCOUNT + '/open', token,
        headers={'X-Container-Write': 'test:tester3'})
    plain = auth_client.token('test:tester3')
    resp = req(auth_client, 'PUT', ACCOUNT + '/open/stolen', plain,
               headers={'X-Copy-From': 'c/o', 'Content-Length': '0'})
    assert resp.status_int == 403
    req(auth_client, 'POST', ACCOUNT + '/c', token,
        headers={'X-Container-Read': 'test:tester3'})
    resp = req(auth_client, 'PUT', ACCOUNT + '/open/copied', plain,
               headers={'X-Copy-From': 'c/o', 'Content-Length': '0'})
    assert resp.status_int == 201


def test_manifest_segments_need_read_access(auth_client):
    token = auth_client.token('test:tester')
    req(auth_client, 'PUT', ACCOUNT + '/private', token)
    req(auth_client, 'PUT', ACCOUNT + '/private/seg/1', token, body=b'secret')
    req(auth_client, 'PUT', ACCOUNT + '/shared', token,
        headers={'X-Container-Read': 'test:tester3',
                 'X-Container-Write': 'test:tester3'})
    plain = auth_client.token('test:tester3')
    resp = req(auth_client, 'PUT', ACCOUNT + '/shared/m', plain, body=b'',
               headers={'X-Object-Manifest': 'private/seg/'})
    assert resp.status_int == 201
    resp = req(auth_client, 'GET', ACCOUNT + '/shared/m', plain)
    assert resp.status_int == 403
    resp = req(auth_client, 'GET', ACCOUNT + '/shared/m', token)
    assert resp.body == b'secret'
