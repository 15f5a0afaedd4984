"""The OpenStack API pipelines in-process on a fake-driver cloud (fake RPC)."""

import base64
import json
import xml.etree.ElementTree as ET

import pytest

from nova import context
from nova import flags
from nova.api.openstack import limits
from nova.api.openstack import xmlutil
from nova.db import api as db
from tests.unit.api.openstack.conftest import settle

FLAGS = flags.FLAGS
V10 = '{%s}' % xmlutil.XMLNS_V10


def _json(resp):
    return json.loads(resp.body)


def _fault(resp, name, code):
    assert resp.status_int == code, resp.body
    body = _json(resp)
    assert list(body) == [name], body
    assert body[name]['code'] == code and body[name]['message']
    return body[name]


def _boot(osapi, token, images, version='1.1', **extra):
    entity = {'name': 'web'}
    if version == '1.0':
        entity.update(imageId=int(images['raw']), flavorId=1)
        path = '/v1.0/servers'
    else:
        entity.update(imageRef=images['raw'], flavorRef='1')
        path = '/v1.1/proj1/servers'
    entity.update(extra)
    resp = osapi.request('POST', path, {'server': entity}, token=token)
    assert resp.status_int == 202, resp.body
    settle()
    return _json(resp)['server']


# -- authentication -------------------------------------------------------------

def test_handshake_headers(osapi):
    resp = osapi.request('GET', '/v1.0', headers={
        'X-Auth-User': 'alice', 'X-Auth-Key': osapi.alice.access})
    assert resp.status_int == 204 and resp.body == b''
    assert resp.headers['X-Server-Management-Url'] == \
        'http://127.0.0.1:8774/v1.0'
    assert len(resp.headers['X-Auth-Token']) >= 40
    assert resp.headers['X-Storage-Url'] == ''
    assert 'X-CDN-Management-Url' in resp.headers
    FLAGS.osapi_storage_url = 'http://swift:8080/v1/AUTH_%(project_id)s'
    resp = osapi.request('GET', '/v1.1/', headers={
        'X-Auth-User': 'alice', 'X-Auth-Key': osapi.alice.access})
    assert resp.headers['X-Server-Management-Url'] == \
        'http://127.0.0.1:8774/v1.1/proj1'
    assert resp.headers['X-Storage-Url'] == \
        'http://swift:8080/v1/AUTH_proj1'


@pytest.mark.parametrize('headers', [
    {'X-Auth-User': 'alice', 'X-Auth-Key': 'wrong'},
    {'X-Auth-User': 'nobody', 'X-Auth-Key': 'x'},
    {'X-Auth-User': 'alice'},
])
def test_bad_logins_are_401(osapi, headers):
    resp = osapi.request('GET', '/v1.0', headers=headers)
    _fault(resp, 'unauthorized', 401)


def test_login_into_a_project_of_someone_else_is_401(osapi):
    resp = osapi.request('GET', '/v1.1', headers={
        'X-Auth-User': 'alice', 'X-Auth-Key': osapi.alice.access,
        'X-Auth-Project-Id': 'proj2'})
    _fault(resp, 'unauthorized', 401)


def test_requests_need_a_valid_token(osapi):
    _fault(osapi.request('GET', '/v1.0/servers'), 'unauthorized', 401)
    _fault(osapi.request('GET', '/v1.0/servers', token='nope'),
           'unauthorized', 401)
    resp = osapi.request('GET', '/v1.1/proj1/servers.xml', token='nope')
    assert resp.status_int == 401
    root = ET.fromstring(resp.body)
    assert root.tag == '{%s}unauthorized' % xmlutil.XMLNS_V11


def test_tokens_expire(osapi):
    FLAGS.auth_token_ttl = -1
    token = osapi.login(osapi.alice, '1.0')
    _fault(osapi.request('GET', '/v1.0/servers', token=token),
           'unauthorized', 401)
    FLAGS.auth_token_ttl = 3600
    token = osapi.login(osapi.alice, '1.0')
    assert osapi.request('GET', '/v1.0/servers', token=token).status_int \
        == 200


def test_version_documents(osapi):
    doc = _json(osapi.request('GET', '/'))
    assert [(v['id'], v['status']) for v in doc['versions']] == \
        [('v1.0', 'DEPRECATED'), ('v1.1', 'CURRENT')]
    for path in ('/v1.1/', '/v1.1'):
        version = _json(osapi.request('GET', path))['version']
        assert version['id'] == 'v1.1' and version['status'] == 'CURRENT'
        assert version['links'][0]['href'] == 'http://127.0.0.1:8774/v1.1/'
    assert _json(osapi.request('GET', '/v1.0/'))['version']['status'] == \
        'DEPRECATED'
    token = osapi.login(osapi.alice)
    resp = osapi.request('GET', '/v1.1/proj1/', token=token)
    assert _json(resp)['version']['id'] == 'v1.1'


def test_projects_are_separate(osapi, images):
    alice = osapi.login(osapi.alice)
    bob = osapi.login(osapi.bob)
    server = _boot(osapi, alice, images)
    _fault(osapi.request('GET', '/v1.1/proj2/servers/%s' % server['id'],
                         token=bob), 'itemNotFound', 404)
    _fault(osapi.request('DELETE', '/v1.1/proj2/servers/%s' % server['id'],
                         token=bob), 'itemNotFound', 404)
    bob10 = osapi.login(osapi.bob, '1.0')
    _fault(osapi.request('GET', '/v1.0/servers/%s' % server['id'],
                         token=bob10), 'itemNotFound', 404)
    assert _json(osapi.request('GET', '/v1.0/servers', token=bob10)) == \
        {'servers': []}
    # A token works only in its own project's URLs.
    _fault(osapi.request('GET', '/v1.1/proj1/servers', token=bob),
           'forbidden', 403)


# -- request validation --------------------------------------------------------

@pytest.mark.parametrize('body,code', [
    ({}, 400),
    ({'server': 'x'}, 400),
    ({'server': {'imageRef': '5', 'flavorRef': '1'}}, 400),
    ({'server': {'name': '', 'imageRef': '5', 'flavorRef': '1'}}, 400),
    ({'server': {'name': 'a', 'flavorRef': '1'}}, 400),
    ({'server': {'name': 'a', 'imageRef': '5'}}, 400),
    ({'server': {'name': 'a', 'imageRef': '5', 'flavorRef': '99'}}, 400),
    ({'server': {'name': 'a', 'imageRef': '999', 'flavorRef': '1'}}, 400),
    ({'server': {'name': 'a', 'imageRef': 'x', 'flavorRef': '1'}}, 400),
    ({'server': {'name': 'a', 'imageRef': '5', 'flavorRef': '1',
                 'metadata': ['a']}}, 400),
    ({'server': {'name': 'a', 'imageRef': '5', 'flavorRef': '1',
                 'personality': [{'path': '/x', 'contents': '%%%'}]}}, 400),
    ({'server': {'name': 'a', 'imageRef': '5', 'flavorRef': '1',
                 'personality': [{'path': 'relative',
                                  'contents': 'aGk='}]}}, 400),
    ({'server': {'name': 'a', 'imageRef': '5', 'flavorRef': '1',
                 'personality': [{'path': '/f%d' % i, 'contents': 'aGk='}
                                 for i in range(6)]}}, 413),
    ({'server': {'name': 'a', 'imageRef': '5', 'flavorRef': '1',
                 'metadata': {'k%d' % i: 'v' for i in range(200)}}}, 413),
])
def test_bad_creates_leave_nothing(osapi, images, body, code):
    assert images['raw'] == '5'
    token = osapi.login(osapi.alice)
    resp = osapi.request('POST', '/v1.1/proj1/servers', body, token=token)
    _fault(resp, 'badRequest' if code == 400 else 'overLimit', code)
    assert db.instance_get_all(context.get_admin_context()) == []


def test_malformed_bodies(osapi):
    token = osapi.login(osapi.alice)
    resp = osapi.request('POST', '/v1.1/proj1/servers', raw='{"server": {',
                         content_type='application/json', token=token)
    _fault(resp, 'badRequest', 400)
    resp = osapi.request('POST', '/v1.1/proj1/servers', raw='<server',
                         content_type='application/xml', token=token)
    assert resp.status_int == 400
    resp = osapi.request('POST', '/v1.1/proj1/servers', raw='name=x',
                         content_type='text/plain', token=token)
    _fault(resp, 'badMediaType', 415)
    resp = osapi.request('POST', '/v1.1/proj1/servers/1/action',
                         raw='', content_type='application/json',
                         token=token)
    _fault(resp, 'badRequest', 400)


def test_unknown_paths_methods_and_actions(osapi, images):
    token = osapi.login(osapi.alice)
    _fault(osapi.request('GET', '/v1.1/proj1/nothing', token=token),
           'itemNotFound', 404)
    resp = osapi.request('DELETE', '/v1.1/proj1/flavors', token=token)
    _fault(resp, 'badMethod', 405)
    assert resp.headers['Allow'] == 'GET'
    _fault(osapi.request('GET', '/v1.1/proj1/servers/abc', token=token),
           'itemNotFound', 404)
    server = _boot(osapi, token, images)
    path = '/v1.1/proj1/servers/%s/action' % server['id']
    _fault(osapi.request('POST', path, {'explode': None}, token=token),
           'badRequest', 400)
    _fault(osapi.request('POST', path, {'reboot': {'type': 'GENTLE'}},
                         token=token), 'badRequest', 400)
    _fault(osapi.request('POST', path, {'reboot': {}, 'pause': {}},
                         token=token), 'badRequest', 400)
    # A server being built cannot be acted on: buildInProgress.
    db.instance_update(context.get_admin_context(), server['id'],
                       {'state_description': 'spawning'})
    _fault(osapi.request('POST', path, {'reboot': {'type': 'SOFT'}},
                         token=token), 'buildInProgress', 409)


# -- lifecycle (v1.0, JSON) -----------------------------------------------------

def _show10(osapi, token, server_id):
    resp = osapi.request('GET', '/v1.0/servers/%s' % server_id, token=token)
    assert resp.status_int == 200, resp.body
    return _json(resp)['server']


def test_v10_lifecycle(osapi, images):
    token = osapi.login(osapi.alice, '1.0')
    contents = base64.b64encode(b'hello').decode()
    server = _boot(osapi, token, images, '1.0', metadata={'role': 'web'},
                   personality=[{'path': '/etc/motd', 'contents': contents}])
    sid = server['id']
    assert server['adminPass'] and server['flavorId'] == 1
    assert server['imageId'] == 5
    shown = _show10(osapi, token, sid)
    assert shown['status'] == 'ACTIVE' and shown['progress'] == 100
    assert shown['metadata'] == {'role': 'web'}
    assert shown['hostId']
    fixed = db.fixed_ip_get_all_by_instance(context.get_admin_context(), sid)
    assert shown['addresses'] == {'public': [],
                                  'private': [fixed[0]['address']]}
    ips = _json(osapi.request('GET', '/v1.0/servers/%s/ips/private' % sid,
                              token=token))
    assert ips == {'private': [fixed[0]['address']]}

    action = '/v1.0/servers/%s/action' % sid
    for kind in ('SOFT', 'HARD'):
        resp = osapi.request('POST', action, {'reboot': {'type': kind}},
                             token=token)
        assert resp.status_int == 202
        settle()
        assert _show10(osapi, token, sid)['status'] == 'ACTIVE'

    resp = osapi.request('PUT', '/v1.0/servers/%s' % sid,
                         {'server': {'name': 'renamed'}}, token=token)
    assert resp.status_int == 204
    assert _show10(osapi, token, sid)['name'] == 'renamed'
    resp = osapi.request('PUT', '/v1.0/servers/%s' % sid,
                         {'server': {'adminPass': 'n3w-pass'}}, token=token)
    assert resp.status_int == 204
    settle()
    drivers = [c.driver for c in osapi.cloud.computes.values()]
    assert any(('set_admin_password', 'instance-%08x' % sid) in d.calls
               for d in drivers)

    # resize, then revert; resize again, then confirm
    assert osapi.request('POST', action, {'resize': {'flavorId': 2}},
                         token=token).status_int == 202
    settle()
    shown = _show10(osapi, token, sid)
    assert (shown['status'], shown['flavorId']) == ('VERIFY_RESIZE', 2)
    assert osapi.request('POST', action, {'revertResize': None},
                         token=token).status_int == 202
    settle()
    shown = _show10(osapi, token, sid)
    assert (shown['status'], shown['flavorId']) == ('ACTIVE', 1)
    _fault(osapi.request('POST', action, {'confirmResize': None},
                         token=token), 'buildInProgress', 409)
    osapi.request('POST', action, {'resize': {'flavorId': 2}}, token=token)
    settle()
    assert osapi.request('POST', action, {'confirmResize': None},
                         token=token).status_int == 204
    settle()
    shown = _show10(osapi, token, sid)
    assert (shown['status'], shown['flavorId']) == ('ACTIVE', 2)

    for name in ('pause', 'unpause', 'suspend', 'resume', 'lock'):
        resp = osapi.request('POST', action, {name: None}, token=token)
        assert resp.status_int == 202, (name, resp.body)
        settle()
    # Owners may lock; only admins act on (and unlock) a locked server.
    _fault(osapi.request('POST', action, {'reboot': {'type': 'SOFT'}},
                         token=token), 'buildInProgress', 409)
    _fault(osapi.request('POST', action, {'unlock': None}, token=token),
           'buildInProgress', 409)
    db.instance_update(context.get_admin_context(), sid, {'locked': False})
    diag = _json(osapi.request('GET', '/v1.0/servers/%s/diagnostics' % sid,
                               token=token))
    assert 'memory' in diag['diagnostics']

    # rebuild from the qcow2 image
    resp = osapi.request('POST', action,
                         {'rebuild': {'imageId': int(images['qcow2'])}},
                         token=token)
    assert resp.status_int == 202
    settle()
    shown = _show10(osapi, token, sid)
    assert (shown['status'], shown['imageId']) == ('ACTIVE',
                                                   int(images['qcow2']))

    # snapshot, boot the snapshot, delete everything
    resp = osapi.request('POST', '/v1.0/images',
                         {'image': {'serverId': sid, 'name': 'snap'}},
                         token=token)
    assert resp.status_int == 202, resp.body
    image = _json(resp)['image']
    assert image['serverId'] == sid and image['name'] == 'snap'
    settle()
    image = _json(osapi.request('GET', '/v1.0/images/%s' % image['id'],
                                token=token))['image']
    assert image['status'] == 'ACTIVE'
    second = _boot(osapi, token, {'raw': image['id']}, '1.0')
    assert _show10(osapi, token, second['id'])['imageId'] == image['id']
    for server_id in (sid, second['id']):
        assert osapi.request('DELETE', '/v1.0/servers/%s' % server_id,
                             token=token).status_int == 202
    settle()
    _fault(osapi.request('GET', '/v1.0/servers/%s' % sid, token=token),
           'itemNotFound', 404)
    assert osapi.request('DELETE', '/v1.0/images/%s' % image['id'],
                         token=token).status_int == 204
    _fault(osapi.request('GET', '/v1.0/images/%s' % image['id'],
                         token=token), 'itemNotFound', 404)


def test_public_images_cannot_be_deleted_by_users(osapi, images):
    token = osapi.login(osapi.alice)
    _fault(osapi.request('DELETE', '/v1.1/proj1/images/%s' % images['raw'],
                         token=token), 'forbidden', 403)


# -- v1.1 specifics --------------------------------------------------------------

def test_v11_server_view_and_metadata(osapi, images):
    token = osapi.login(osapi.alice)
    server = _boot(osapi, token, images, metadata={'a': '1'})
    sid = server['id']
    base = '/v1.1/proj1/servers/%s' % sid
    shown = _json(osapi.request('GET', base, token=token))['server']
    assert shown['imageRef'].endswith('/v1.1/proj1/images/5')
    assert shown['flavorRef'].endswith('/v1.1/proj1/flavors/1')
    assert [l['rel'] for l in shown['links']] == ['self', 'bookmark']
    (network, ips), = shown['addresses'].items()
    assert ips[0]['version'] == 4
    assert _json(osapi.request('GET', base + '/ips/' + network,
                               token=token)) == {network: ips}

    meta = base + '/metadata'
    assert _json(osapi.request('GET', meta, token=token)) == \
        {'metadata': {'a': '1'}}
    resp = osapi.request('POST', meta, {'metadata': {'b': '2'}}, token=token)
    assert _json(resp) == {'metadata': {'a': '1', 'b': '2'}}
    resp = osapi.request('PUT', meta + '/c', {'meta': {'c': '3'}},
                         token=token)
    assert _json(resp) == {'meta': {'c': '3'}}
    _fault(osapi.request('PUT', meta + '/c', {'meta': {'d': '3'}},
                         token=token), 'badRequest', 400)
    assert _json(osapi.request('GET', meta + '/b', token=token)) == \
        {'meta': {'b': '2'}}
    assert osapi.request('DELETE', meta + '/b', token=token).status_int == 204
    _fault(osapi.request('GET', meta + '/b', token=token),
           'itemNotFound', 404)
    resp = osapi.request('PUT', meta, {'metadata': {'only': 'x'}},
                         token=token)
    assert _json(resp) == {'metadata': {'only': 'x'}}
    FLAGS.quota_metadata_items = 2
    _fault(osapi.request('POST', meta, {'metadata': {'p': '1', 'q': '2'}},
                         token=token), 'overLimit', 413)
    FLAGS.quota_metadata_items = 128

    # v1.1 update answers the server; createImage answers a Location.
    resp = osapi.request('PUT', base, {'server': {'name': 'n2'}},
                         token=token)
    assert _json(resp)['server']['name'] == 'n2'
    resp = osapi.request('POST', base + '/action',
                         {'createImage': {'name': 'img'}}, token=token)
    assert resp.status_int == 202
    image_id = resp.headers['Location'].rsplit('/', 1)[1]
    settle()
    imeta = '/v1.1/proj1/images/%s/metadata' % image_id
    resp = osapi.request('PUT', imeta + '/colour', {'meta': {'colour': 'b'}},
                         token=token)
    assert resp.status_int == 200, resp.body
    got = _json(osapi.request('GET', imeta, token=token))['metadata']
    assert got['colour'] == 'b' and got['instance_id'] == str(sid)
    image = _json(osapi.request('GET', '/v1.1/proj1/images/%s' % image_id,
                                token=token))['image']
    assert image['serverRef'].endswith('/servers/%s' % sid)
    assert image['metadata']['colour'] == 'b'


def test_v11_marker_and_v10_offset_pagination(osapi, images):
    token = osapi.login(osapi.alice)
    ids = [_boot(osapi, token, images)['id'] for _ in range(3)]
    page = _json(osapi.request('GET', '/v1.1/proj1/servers?limit=2',
                               token=token))['servers']
    assert [s['id'] for s in page] == ids[:2]
    page = _json(osapi.request(
        'GET', '/v1.1/proj1/servers?limit=2&marker=%s' % ids[1],
        token=token))['servers']
    assert [s['id'] for s in page] == ids[2:]
    _fault(osapi.request('GET', '/v1.1/proj1/servers?marker=9999',
                         token=token), 'badRequest', 400)
    token10 = osapi.login(osapi.alice, '1.0')
    page = _json(osapi.request('GET', '/v1.0/servers/detail?offset=1&limit=1',
                               token=token10))['servers']
    assert [s['id'] for s in page] == ids[1:2]


def test_changes_since_shows_deleted_servers(osapi, images):
    token = osapi.login(osapi.alice)
    keep = _boot(osapi, token, images)
    gone = _boot(osapi, token, images)
    osapi.request('DELETE', '/v1.1/proj1/servers/%s' % gone['id'],
                  token=token)
    settle()
    plain = _json(osapi.request('GET', '/v1.1/proj1/servers/detail',
                                token=token))['servers']
    assert [s['id'] for s in plain] == [keep['id']]
    since = _json(osapi.request(
        'GET', '/v1.1/proj1/servers/detail?changes-since=2000-01-01T00:00:00Z',
        token=token))['servers']
    assert {s['id']: s['status'] for s in since} == {
        keep['id']: 'ACTIVE', gone['id']: 'DELETED'}
    future = _json(osapi.request(
        'GET', '/v1.1/proj1/servers?changes-since=2999-01-01T00:00:00Z',
        token=token))['servers']
    assert future == []


def test_flavors_images_and_small_resources(osapi, images):
    token = osapi.login(osapi.alice, '1.0')
    flavors = _json(osapi.request('GET', '/v1.0/flavors/detail',
                                  token=token))['flavors']
    assert {'id': 1, 'name': 'm1.tiny', 'ram': 512, 'disk': 0} in flavors
    _fault(osapi.request('GET', '/v1.0/flavors/77', token=token),
           'itemNotFound', 404)
    resp = osapi.request('GET', '/v1.0/flavors/1.xml', token=token)
    root = ET.fromstring(resp.body)
    assert root.tag == V10 + 'flavor' and root.get('ram') == '512'
    listed = _json(osapi.request('GET', '/v1.0/images/detail',
                                 token=token))['images']
    assert {i['id'] for i in listed} >= {1, 5}
    assert all(i['status'] in ('ACTIVE', 'QUEUED') for i in listed)
    assert _json(osapi.request('GET', '/v1.0/shared_ip_groups',
                               token=token)) == {'sharedIpGroups': []}
    _fault(osapi.request('POST', '/v1.0/shared_ip_groups',
                         {'sharedIpGroup': {}}, token=token),
           'notImplemented', 501)
    token11 = osapi.login(osapi.alice)
    assert _json(osapi.request('GET', '/v1.1/proj1/extensions',
                               token=token11)) == {'extensions': []}
    server = _boot(osapi, token11, images)
    sched = _json(osapi.request(
        'GET', '/v1.0/servers/%s/backup_schedule' % server['id'],
        token=token))
    assert sched['backupSchedule']['enabled'] is False
    _fault(osapi.request('POST', '/v1.0/servers/%s/backup_schedule'
                         % server['id'], {'backupSchedule': {}},
                         token=token), 'notImplemented', 501)


def test_rate_limits_are_enforced_and_reported(osapi, images):
    limits._LIMITERS.clear()
    FLAGS.osapi_rate_limits = '(PUT, "*", .*, 2, MINUTE)'
    from paste import deploy
    from tests.unit.api.openstack.conftest import PASTE
    osapi.app = deploy.loadapp('config:%s' % PASTE, name='osapi')
    token = osapi.login(osapi.alice)
    server = _boot(osapi, token, images)
    path = '/v1.1/proj1/servers/%s' % server['id']
    for _ in range(2):
        assert osapi.request('PUT', path, {'server': {'name': 'x'}},
                             token=token).status_int == 200
    resp = osapi.request('PUT', path, {'server': {'name': 'x'}}, token=token)
    fault = _fault(resp, 'overLimit', 413)
    assert 1 <= int(resp.headers['Retry-After']) <= 60
    assert fault['retryAfter'] == resp.headers['Retry-After']
    # Another user has their own allowance.
    bob = osapi.login(osapi.bob)
    resp = osapi.request('PUT', '/v1.1/proj2/servers/%s' % server['id'],
                         {'server': {'name': 'x'}}, token=bob)
    assert resp.status_int == 404
    report = _json(osapi.request('GET', '/v1.1/proj1/limits', token=token))
    (rate,) = report['limits']['rate']
    assert rate['uri'] == '*'
    assert rate['limit'][0]['verb'] == 'PUT'
    assert rate['limit'][0]['remaining'] == 0
    assert report['limits']['absolute']['maxTotalInstances'] == 10
    token10 = osapi.login(osapi.alice, '1.0')
    report = _json(osapi.request('GET', '/v1.0/limits', token=token10))
    assert report['limits']['rate'][0]['remaining'] == 0
    assert report['limits']['rate'][0]['verb'] == 'PUT'


def test_resize_on_a_driver_without_it_changes_nothing(osapi, images):
    token = osapi.login(osapi.alice, '1.0')
    sid = _boot(osapi, token, images, '1.0')['id']
    for driver in (c.driver for c in osapi.cloud.computes.values()):
        driver.fail_always('resize', NotImplementedError())
    action = '/v1.0/servers/%s/action' % sid
    assert osapi.request('POST', action, {'resize': {'flavorId': 2}},
                         token=token).status_int == 202
    settle()
    shown = _show10(osapi, token, sid)
    assert (shown['status'], shown['flavorId']) == ('ACTIVE', 1)
    actions = db.instance_get_actions(context.get_admin_context(), sid)
    assert 'cannot resize' in actions[-1]['error']
    _fault(osapi.request('POST', action, {'resize': {'flavorId': 1}},
                         token=token), 'badRequest', 400)


def test_a_failed_rebuild_is_an_error_with_its_reason(osapi, images):
    token = osapi.login(osapi.alice)
    sid = _boot(osapi, token, images)['id']
    for driver in (c.driver for c in osapi.cloud.computes.values()):
        driver.fail_next('spawn')
    resp = osapi.request('POST', '/v1.1/proj1/servers/%s/action' % sid,
                         {'rebuild': {'imageRef': images['qcow2']}},
                         token=token)
    assert resp.status_int == 202
    settle()
    shown = _json(osapi.request('GET', '/v1.1/proj1/servers/%s' % sid,
                                token=token))['server']
    assert shown['status'] == 'ERROR'
    assert 'rebuild failed' in shown['fault']['message']
