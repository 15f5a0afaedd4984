"""The OpenStack API over HTTP: bin/nova-api with scheduler, network and
fake-driver compute processes over RabbitMQ, images in real Glance."""

import json
import os
import subprocess
import sys

import pytest

from tests.functional.nova import helpers
from tests.functional.osapi.osapi_env import XMLNS, http, wait

BUILD_TIMEOUT = 60


class Session:
    """One user talking one API version in JSON or XML."""

    def __init__(self, api, user, version, fmt):
        self.version = version
        self.fmt = fmt
        self.ns = '{%s}' % XMLNS[version]
        self.token, self.base = api.login(user, version)

    def call(self, method, path, body=None):
        headers = {'X-Auth-Token': self.token,
                   'Accept': 'application/%s' % self.fmt}
        if body is not None:
            headers['Content-Type'] = 'application/%s' % self.fmt
        return http(method, self.base + path, body, headers)

    def _entity(self, root, name, attrs):
        """A body: JSON {name: attrs} or XML <name attrs/>."""
        if self.fmt == 'json':
            return json.dumps({name: attrs})
        text = ''.join(' %s="%s"' % kv for kv in attrs.items())
        return '<%s xmlns="%s"%s/>' % (name, XMLNS[self.version], text)

    def _read(self, resp, name):
        if self.fmt == 'json':
            return resp.json()[name]
        root = resp.xml()
        assert root.tag == self.ns + name, resp
        values = dict(root.attrib)
        password = root.find(self.ns + 'adminPass')
        if password is not None:
            values['adminPass'] = password.text
        return values

    # servers

    def create(self, name, image_id, flavor_id=1):
        if self.version == '1.0':
            attrs = {'name': name, 'imageId': image_id, 'flavorId': flavor_id}
        else:
            attrs = {'name': name, 'imageRef': str(image_id),
                     'flavorRef': str(flavor_id)}
        resp = self.call('POST', '/servers',
                         self._entity(None, 'server', attrs))
        assert resp.status == 202, resp
        server = self._read(resp, 'server')
        assert server['adminPass']
        return int(server['id'])

    def show(self, server_id):
        resp = self.call('GET', '/servers/%s' % server_id)
        if resp.status == 404:
            return None
        assert resp.status == 200, resp
        return self._read(resp, 'server')

    def image_of(self, server):
        if self.version == '1.0':
            return int(server['imageId'])
        return int(server['imageRef'].rsplit('/', 1)[1])

    def wait_status(self, server_id, status, env):
        return wait(lambda: (self.show(server_id) or {}).get('status')
                    == status, BUILD_TIMEOUT,
                    'server %s to be %s' % (server_id, status), env)

    def action(self, server_id, name, attrs):
        return self.call('POST', '/servers/%s/action' % server_id,
                         self._entity(None, name, attrs))

    def rename(self, server_id, name):
        return self.call('PUT', '/servers/%s' % server_id,
                         self._entity(None, 'server', {'name': name}))

    def snapshot(self, server_id, name):
        if self.version == '1.0':
            resp = self.call('POST', '/images', self._entity(
                None, 'image', {'serverId': server_id, 'name': name}))
            assert resp.status == 202, resp
            return int(self._read(resp, 'image')['id'])
        resp = self.action(server_id, 'createImage', {'name': name})
        assert resp.status == 202, resp
        return int(resp.headers['Location'].rsplit('/', 1)[1])

    def image_status(self, image_id):
        resp = self.call('GET', '/images/%s' % image_id)
        if resp.status == 404:
            return None
        assert resp.status == 200, resp
        return self._read(resp, 'image')['status']


@pytest.mark.parametrize('version', ['1.0', '1.1'])
@pytest.mark.parametrize('fmt', ['json', 'xml'])
def test_server_lifecycle(env, version, fmt):
    api = Session(env.api, env.users['alice'], version, fmt)
    sid = api.create('life-%s-%s' % (version, fmt), env.image_id)
    server = api.wait_status(sid, 'ACTIVE', env) and api.show(sid)
    assert api.image_of(server) == env.image_id

    resp = api.action(sid, 'reboot', {'type': 'HARD'})
    assert resp.status == 202, resp
    api.wait_status(sid, 'ACTIVE', env)

    resp = api.rename(sid, 'renamed')
    assert resp.status == (204 if version == '1.0' else 200), resp
    assert api.show(sid)['name'] == 'renamed'

    image_id = api.snapshot(sid, 'snap-%s-%s' % (version, fmt))
    wait(lambda: api.image_status(image_id) == 'ACTIVE', BUILD_TIMEOUT,
         'the snapshot to be active', env)
    api.wait_status(sid, 'ACTIVE', env)

    second = api.create('from-snapshot', image_id)
    api.wait_status(second, 'ACTIVE', env)
    assert api.image_of(api.show(second)) == image_id

    for server_id in (sid, second):
        resp = api.call('DELETE', '/servers/%s' % server_id)
        assert resp.status == (202 if version == '1.0' else 204), resp
    for server_id in (sid, second):
        wait(lambda: api.show(server_id) is None, BUILD_TIMEOUT,
             'server %s to be gone' % server_id, env)
    assert api.call('DELETE', '/images/%s' % image_id).status == 204
    assert api.image_status(image_id) is None


def _fault(resp, name, code):
    assert resp.status == code, resp
    body = resp.json()
    assert list(body) == [name], body
    assert body[name]['code'] == code and body[name]['message']
    return body[name]


def test_every_fault(env):
    api = Session(env.api, env.users['alice'], '1.1', 'json')
    bob = Session(env.api, env.users['bob'], '1.1', 'json')
    # 401: no token, a made-up token, a wrong key
    _fault(http('GET', api.base + '/servers'), 'unauthorized', 401)
    _fault(http('GET', api.base + '/servers',
                headers={'X-Auth-Token': 'made-up'}), 'unauthorized', 401)
    _fault(http('GET', env.api.url + '/v1.0', headers={
        'X-Auth-User': 'alice', 'X-Auth-Key': 'wrong'}), 'unauthorized', 401)
    # 400: malformed JSON; 415: a type that is neither JSON nor XML
    resp = http('POST', api.base + '/servers', '{"server": ',
                {'X-Auth-Token': api.token,
                 'Content-Type': 'application/json'})
    _fault(resp, 'badRequest', 400)
    resp = http('POST', api.base + '/servers', 'name=x',
                {'X-Auth-Token': api.token, 'Content-Type': 'text/plain'})
    _fault(resp, 'badMediaType', 415)
    # 404 and 405
    _fault(api.call('GET', '/servers/424242'), 'itemNotFound', 404)
    _fault(api.call('DELETE', '/flavors'), 'badMethod', 405)
    # 413 from quotas (personality files)
    files = [{'path': '/f%d' % i, 'contents': 'aGk='} for i in range(9)]
    resp = api.call('POST', '/servers', json.dumps({'server': {
        'name': 'x', 'imageRef': str(env.image_id), 'flavorRef': '1',
        'personality': files}}))
    _fault(resp, 'overLimit', 413)
    # 501
    _fault(api.call('POST', '/shared_ip_groups', '{"sharedIpGroup": {}}'),
           'notImplemented', 501)
    # another project's server: 404; another project's URL: 403
    sid = api.create('private', env.image_id)
    api.wait_status(sid, 'ACTIVE', env)
    _fault(bob.call('GET', '/servers/%s' % sid), 'itemNotFound', 404)
    assert sid not in [s['id'] for s in
                       bob.call('GET', '/servers').json()['servers']]
    resp = http('GET', api.base + '/servers',
                headers={'X-Auth-Token': bob.token})
    _fault(resp, 'forbidden', 403)
    # 409: a locked server refuses its owner's actions
    assert api.action(sid, 'lock', {}).status == 202
    _fault(api.action(sid, 'reboot', {'type': 'SOFT'}),
           'buildInProgress', 409)
    # XML faults carry the namespace
    xml_api = Session(env.api, env.users['alice'], '1.0', 'xml')
    resp = xml_api.call('GET', '/servers/424242')
    assert resp.status == 404
    root = resp.xml()
    assert root.tag == '{%s}itemNotFound' % XMLNS['1.0']
    assert root.get('code') == '404'


def test_root_and_version_documents(env):
    resp = http('GET', env.api.url + '/')
    assert resp.status == 200
    versions = {v['id']: v for v in resp.json()['versions']}
    assert versions['v1.0']['status'] == 'DEPRECATED'
    assert versions['v1.1']['status'] == 'CURRENT'
    assert versions['v1.1']['links'][0]['href'] == env.api.url + '/v1.1/'
    resp = http('GET', env.api.url + '/v1.1/')
    assert resp.json()['version']['id'] == 'v1.1'
    resp = http('GET', env.api.url + '/v1.0/',
                headers={'Accept': 'application/xml'})
    assert resp.xml().get('status') == 'DEPRECATED'


def test_tokens_expire(env):
    token, base = env.strict_api.login(env.users['alice'], '1.0')
    assert http('GET', base + '/flavors',
                headers={'X-Auth-Token': token}).status == 200
    # auth_token_ttl is 3 seconds on this API process.
    wait(lambda: http('GET', base + '/flavors',
                      headers={'X-Auth-Token': token}).status == 401,
         30, 'the token to expire')
    token, base = env.strict_api.login(env.users['alice'], '1.0')
    assert http('GET', base + '/flavors',
                headers={'X-Auth-Token': token}).status == 200


def test_rate_limits_hit_and_reported(env):
    token, base = env.strict_api.login(env.users['bob'], '1.1')
    headers = {'X-Auth-Token': token, 'Content-Type': 'application/json'}
    body = json.dumps({'metadata': {}})
    statuses = [http('POST', base + '/servers/999/metadata', body,
                     headers).status for _ in range(4)]
    # Three POSTs a minute pass (to a 404), the fourth is refused.
    assert statuses == [404, 404, 404, 413]
    resp = http('POST', base + '/servers/999/metadata', body, headers)
    fault = _fault(resp, 'overLimit', 413)
    assert 1 <= int(resp.headers['Retry-After']) <= 60
    assert fault['retryAfter'] == resp.headers['Retry-After']
    for _ in range(2):
        assert http('GET', base + '/servers?changes-since=2011-01-01',
                    headers={'X-Auth-Token': token}).status == 200
    _fault(http('GET', base + '/servers?changes-since=2011-01-01',
                headers={'X-Auth-Token': token}), 'overLimit', 413)
    limits = http('GET', base + '/limits',
                  headers={'X-Auth-Token': token}).json()['limits']
    by_uri = {r['uri']: r['limit'][0] for r in limits['rate']}
    assert by_uri['*']['verb'] == 'POST'
    assert by_uri['*']['remaining'] == 0
    assert by_uri['*changes-since*']['remaining'] == 0
    assert limits['absolute']['maxTotalInstances'] == 10
    # Alice's allowance is her own.
    token, base = env.strict_api.login(env.users['alice'], '1.1')
    assert http('POST', base + '/servers/999/metadata', body,
                {'X-Auth-Token': token,
                 'Content-Type': 'application/json'}).status == 404


def _nova(env, *args, key=None):
    user = env.users['alice']
    environ = dict(os.environ, NOVA_URL=env.api.url + '/v1.1/',
                   NOVA_USERNAME=user['name'],
                   NOVA_API_KEY=key or user['access'])
    proc = subprocess.run([sys.executable, os.path.join(helpers.BIN, 'nova')]
                          + list(args), capture_output=True, text=True,
                          env=environ, timeout=120)
    return proc


def test_bin_nova(env):
    proc = _nova(env, 'flavor-list')
    assert proc.returncode == 0, proc.stderr
    assert 'm1.tiny' in proc.stdout
    proc = _nova(env, 'image-list')
    assert 'tiny-disk' in proc.stdout
    proc = _nova(env, 'boot', 'cli-server', '--image', str(env.image_id),
                 '--flavor', '1', '--meta', 'role=cli')
    assert proc.returncode == 0, proc.stderr
    line = [l for l in proc.stdout.splitlines() if '| id ' in l][0]
    sid = line.split('|')[2].strip()

    def active():
        out = _nova(env, 'show', sid).stdout
        return '| ACTIVE' in out and out
    shown = wait(active, BUILD_TIMEOUT, 'the server to be active', env)
    assert 'role=cli' in shown
    assert 'cli-server' in _nova(env, 'list').stdout
    assert _nova(env, 'reboot', sid, '--hard').returncode == 0
    wait(active, BUILD_TIMEOUT, 'the server to be active again', env)
    assert _nova(env, 'rename', sid, 'cli-renamed').returncode == 0
    assert 'cli-renamed' in _nova(env, 'show', sid).stdout
    proc = _nova(env, 'image-create', sid, 'cli-snap')
    assert proc.returncode == 0, proc.stderr
    assert 'cli-snap' in proc.stdout
    assert _nova(env, 'delete', sid).returncode == 0
    wait(lambda: _nova(env, 'show', sid).returncode == 1, BUILD_TIMEOUT,
         'the server to be gone', env)
    proc = _nova(env, 'show', sid)
    assert 'itemNotFound' in proc.stderr
    # wrong key: exit 1 with the fault; bad usage: exit 2
    proc = _nova(env, 'list', key='wrong')
    assert proc.returncode == 1 and 'unauthorized' in proc.stderr
    assert _nova(env, 'boot', 'x').returncode == 2
    assert _nova(env).returncode == 2
