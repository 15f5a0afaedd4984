"""The v1 API in-process: a registry app, the file store, fake identities."""

import hashlib
import io
import json
import os

import pytest
import webob

from glance.api import auth
from glance.api import server as api_server
from glance.registry import client as registry_client
from glance.registry import server as registry_server
from glance.registry.db import api as db_api
from glance.registry.db import migration

TOKENS = {
    'alice': {'user_id': 'alice', 'project_id': 'p1', 'is_admin': False,
              'roles': []},
    'bob': {'user_id': 'bob', 'project_id': 'p2', 'is_admin': False,
            'roles': []},
    'root': {'user_id': 'root', 'project_id': 'ops', 'is_admin': True,
             'roles': ['cloudadmin']},
}


class NotAuthenticated(Exception):
    pass


def validate(token):
    if token not in TOKENS:
        raise NotAuthenticated(token)
    return TOKENS[token]


@pytest.fixture
def env(tmp_path):
    engine = migration.make_engine('sqlite:///%s/reg.sqlite' % tmp_path)
    migration.db_sync(engine)
    registry = registry_client.RegistryClient(
        app=registry_server.RegistryApp(db_api.ImageRepo(engine)))
    conf = {'filesystem_store_datadir': str(tmp_path / 'images'),
            'image_size_cap': '1000000'}
    app = api_server.build_app(conf, registry=registry)
    yield {'open': auth.NoAuth(app),
           'nova': auth.NovaTokenAuth(app, validator=validate),
           'datadir': str(tmp_path / 'images')}
    engine.dispose()


def call(app, method, path, headers=(), body=None, token=None):
    """Issue a request the way eventlet presents it (raw header names)."""
    headers = list(headers)
    if token:
        headers.append(('X-Auth-Token', token))
    req = webob.Request.blank(path, method=method)
    for name, value in headers:
        if '_' not in name:
            req.headers[name] = value
    if body is not None:
        req.body_file = io.BytesIO(body)
        req.content_length = len(body)
        req.content_type = 'application/octet-stream'
        headers.append(('Content-Type', 'application/octet-stream'))
    req.environ['headers_raw'] = tuple(headers)
    resp = req.get_response(app)
    return resp


def create(app, name='img', body=None, token=None, **meta):
    headers = [('x-image-meta-name', name)]
    headers += [('x-image-meta-%s' % k, str(v)) for k, v in meta.items()]
    resp = call(app, 'POST', '/v1/images', headers, body, token)
    return resp


def test_create_with_data_then_read_back(env):
    data = os.urandom(100000)
    resp = create(env['open'], body=data, disk_format='raw',
                  container_format='bare', **{'property-kernel_id': '3'})
    assert resp.status_int == 201, resp.text
    image = resp.json['image']
    assert image['status'] == 'active'
    assert image['size'] == len(data)
    assert image['checksum'] == hashlib.md5(data).hexdigest()
    assert resp.headers['ETag'] == image['checksum']
    got = call(env['open'], 'GET', '/v1/images/%d' % image['id'])
    assert got.body == data
    assert got.headers['x-image-meta-property-kernel_id'] == '3'
    assert got.headers['x-image-meta-disk_format'] == 'raw'


def test_checksum_mismatch_kills_and_leaves_no_data(env):
    resp = create(env['open'], body=b'abc', checksum='0' * 32)
    assert resp.status_int == 400 and 'checksum' in resp.text
    listed = call(env['open'], 'GET', '/images/detail').json['images']
    assert [i['status'] for i in listed] == ['killed']
    assert os.listdir(env['datadir']) == []


def test_size_mismatch_is_400_before_anything_is_made(env):
    resp = create(env['open'], body=b'abc', size='4')
    assert resp.status_int == 400 and 'size' in resp.text
    assert call(env['open'], 'GET', '/images').json['images'] == []


def test_size_cap_is_413(env):
    resp = create(env['open'], size='2000000')
    assert resp.status_int == 413


def test_location_and_body_together_is_400(env):
    resp = create(env['open'], body=b'abc', location='http://h/x')
    assert resp.status_int == 400


def test_bad_content_type_is_400(env):
    req_headers = [('x-image-meta-name', 'x'), ('Content-Type', 'text/plain')]
    req = webob.Request.blank('/v1/images', method='POST', body=b'abc',
                              content_type='text/plain')
    req.environ['headers_raw'] = tuple(req_headers)
    resp = req.get_response(env['open'])
    assert resp.status_int == 400 and 'octet-stream' in resp.text


def test_queued_then_put_data_then_second_put_conflicts(env):
    image = create(env['open']).json['image']
    assert image['status'] == 'queued'
    resp = call(env['open'], 'PUT', '/v1/images/%d' % image['id'],
                body=b'data')
    assert resp.status_int == 200 and resp.json['image']['status'] == 'active'
    resp = call(env['open'], 'PUT', '/v1/images/%d' % image['id'],
                body=b'more')
    assert resp.status_int == 409


def test_put_merges_properties_unless_purge(env):
    image = create(env['open'], **{'property-a': '1',
                                   'property-b': '2'}).json['image']
    path = '/v1/images/%d' % image['id']
    resp = call(env['open'], 'PUT', path, [('x-image-meta-property-c', '3')])
    assert resp.json['image']['properties'] == {'a': '1', 'b': '2', 'c': '3'}
    resp = call(env['open'], 'PUT', path,
                [('x-image-meta-property-a', '9'),
                 ('x-glance-registry-purge-props', 'true')])
    assert resp.json['image']['properties'] == {'a': '9'}
    # is_public stays what it was when a PUT does not mention it
    call(env['open'], 'PUT', path, [('x-image-meta-is_public', 'true')])
    resp = call(env['open'], 'PUT', path, [('x-image-meta-name', 'new')])
    assert resp.json['image']['is_public'] is True
    assert resp.json['image']['name'] == 'new'


def test_nova_auth_requires_a_valid_token(env):
    assert call(env['nova'], 'GET', '/v1/images').status_int == 401
    assert call(env['nova'], 'GET', '/v1/images',
                token='mallory').status_int == 401
    assert call(env['nova'], 'GET', '/v1/images',
                token='alice').status_int == 200


def test_owners_and_visibility(env):
    app = env['nova']
    private = create(app, 'private', token='alice').json['image']
    assert private['owner'] == 'p1'
    public = create(app, 'public', token='alice',
                    is_public='true').json['image']
    bobs = create(app, 'bobs', token='bob').json['image']

    def names(token):
        return sorted(i['name'] for i in
                      call(app, 'GET', '/v1/images', token=token)
                      .json['images'])
    assert names('alice') == ['private', 'public']
    assert names('bob') == ['bobs', 'public']
    assert names('root') == ['bobs', 'private', 'public']

    one = '/v1/images/%d'
    assert call(app, 'HEAD', one % private['id'],
                token='bob').status_int == 404
    assert call(app, 'HEAD', one % public['id'],
                token='bob').status_int == 200
    # bob sees alice's public image but may not change or delete it
    assert call(app, 'PUT', one % public['id'], [('x-image-meta-name', 'x')],
                token='bob').status_int == 403
    assert call(app, 'DELETE', one % public['id'],
                token='bob').status_int == 403
    # nor hand his image to another project, nor create one for it
    assert call(app, 'PUT', one % bobs['id'], [('x-image-meta-owner', 'p1')],
                token='bob').status_int == 403
    assert create(app, 'x', token='bob', owner='p1').status_int == 403
    # where alice's data lives is hidden from bob
    assert call(app, 'HEAD', one % public['id'], token='bob').headers[
        'x-image-meta-location'] == ''
    # an admin may do all of it
    assert call(app, 'PUT', one % bobs['id'], [('x-image-meta-owner', 'p1')],
                token='root').status_int == 200
    assert names('alice') == ['bobs', 'private', 'public']
    assert call(app, 'DELETE', one % public['id'],
                token='root').status_int == 200
    assert names('bob') == []


def test_file_location_outside_datadir_is_refused(env):
    resp = create(env['open'], location='file:///etc/passwd')
    assert resp.status_int == 403
    assert call(env['open'], 'GET', '/images').json['images'] == []


def test_unknown_query_parameter_and_bad_values(env):
    assert call(env['open'], 'GET', '/images?colour=red').status_int == 400
    assert call(env['open'], 'GET', '/images?limit=x').status_int == 400
    assert call(env['open'], 'GET',
                '/images?size_min=-3').status_int == 400
    assert call(env['open'], 'GET',
                '/images?sort_dir=up').status_int == 400
    assert call(env['open'], 'GET',
                '/images?status=exploded').status_int == 400


def test_errors_are_plain_text_without_tracebacks(env):
    resp = call(env['open'], 'GET', '/v1/images/12345')
    assert resp.status_int == 404
    assert resp.content_type == 'text/plain'
    assert 'Traceback' not in resp.text
    assert call(env['open'], 'PATCH', '/v1/images/1').status_int == 405
    assert call(env['open'], 'GET', '/v2/nothing').status_int == 404


def test_versions_document(env):
    resp = call(env['open'], 'GET', '/')
    assert json.loads(resp.body)['versions'][0]['id'] == 'v1.0'
