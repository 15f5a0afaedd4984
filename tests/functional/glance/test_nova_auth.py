"""glance-api with auth_strategy = nova: real tokens from nova's AuthManager."""

import json
import os
import shutil
import tempfile

import pytest

from tests.functional.glance.servers import GlanceServers


@pytest.fixture(scope='module')
def nova_tokens():
    """Users, projects and tokens in a fresh nova database (SQLite)."""
    from nova import flags
    tmp = tempfile.mkdtemp(prefix='glance-nova-')
    flagfile = os.path.join(tmp, 'nova.conf')
    with open(flagfile, 'w') as f:
        f.write('--sql_connection=sqlite:///%s/nova.sqlite\n'
                '--state_path=%s\n' % (tmp, tmp))
    flags.FLAGS.read_flagfile(flagfile)
    try:
        from nova.auth import manager
        from nova.db import migration
        migration.db_sync()
        auth = manager.AuthManager()
        alice = auth.create_user('alice')
        bob = auth.create_user('bob')
        root = auth.create_user('root', admin=True)
        auth.create_project('p1', alice)
        auth.create_project('p2', bob)
        auth.create_project('ops', root)
        tokens = {'alice': auth.create_token(alice, 'p1')[0],
                  'bob': auth.create_token(bob, 'p2')[0],
                  'root': auth.create_token(root, 'ops')[0]}
        expired, _ = auth.create_token(alice, 'p1')
        auth.delete_token(expired)
        tokens['revoked'] = expired
    finally:
        flags.FLAGS.reset()
    try:
        yield flagfile, tokens
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope='module')
def glance_nova(nova_tokens):
    flagfile, tokens = nova_tokens
    servers = GlanceServers(api_options={'auth_strategy': 'nova',
                                         'nova_flagfile': flagfile}).start()
    try:
        yield servers, tokens
    finally:
        servers.stop()


def call(glance, token, method, path, body=None, **meta):
    headers = {'x-image-meta-%s' % k: str(v) for k, v in meta.items()}
    if token:
        headers['X-Auth-Token'] = token
    if body is not None:
        headers['Content-Type'] = 'application/octet-stream'
    status, _h, data = glance.request(method, path, body, headers)
    return status, data


def test_tokens_are_required_and_checked(glance_nova):
    glance, tokens = glance_nova
    assert call(glance, None, 'GET', '/v1/images')[0] == 401
    assert call(glance, 'not-a-token', 'GET', '/v1/images')[0] == 401
    assert call(glance, tokens['revoked'], 'GET', '/v1/images')[0] == 401
    assert call(glance, tokens['alice'], 'GET', '/v1/images')[0] == 200


def test_projects_own_images(glance_nova):
    glance, t = glance_nova
    status, body = call(glance, t['alice'], 'POST', '/v1/images', b'secret',
                        name='alice-private')
    assert status == 201, body
    private = json.loads(body)['image']
    assert private['owner'] == 'p1'
    status, body = call(glance, t['alice'], 'POST', '/v1/images', b'shared',
                        name='alice-public', is_public='true')
    public = json.loads(body)['image']

    def names(token):
        status, body = call(glance, token, 'GET', '/v1/images/detail')
        assert status == 200
        return sorted(i['name'] for i in json.loads(body)['images'])
    assert names(t['alice']) == ['alice-private', 'alice-public']
    assert names(t['bob']) == ['alice-public']
    assert names(t['root']) == ['alice-private', 'alice-public']

    one = '/v1/images/%d'
    assert call(glance, t['bob'], 'GET', one % private['id'])[0] == 404
    assert call(glance, t['bob'], 'GET', one % public['id']) == \
        (200, b'shared')
    assert call(glance, t['bob'], 'PUT', one % public['id'],
                name='mine')[0] == 403
    assert call(glance, t['bob'], 'DELETE', one % public['id'])[0] == 403
    assert call(glance, t['bob'], 'POST', '/v1/images', name='x',
                owner='p1')[0] == 403
    assert call(glance, t['alice'], 'PUT', one % public['id'],
                name='renamed')[0] == 200
    assert call(glance, t['root'], 'DELETE', one % private['id'])[0] == 200
    assert call(glance, t['alice'], 'DELETE', one % public['id'])[0] == 200
    assert names(t['root']) == []
