"""glance-api + glance-registry processes with the file store, over HTTP."""

import hashlib
import http.client
import json
import os
import socket
import time

import pytest


def headers_of(pairs):
    return {k.lower(): v for k, v in pairs}


def create(glance, body=None, **meta):
    headers = {'x-image-meta-%s' % k: str(v) for k, v in meta.items()}
    if body is not None:
        headers['Content-Type'] = 'application/octet-stream'
    status, hdrs, data = glance.request('POST', '/v1/images', body, headers)
    return status, headers_of(hdrs), data


def detail(glance, query=''):
    status, _h, data = glance.request('GET', '/v1/images/detail' + query)
    assert status == 200, data
    return json.loads(data)['images']


def test_crud(glance):
    data = os.urandom(300 * 1024)
    status, hdrs, body = create(glance, data, name='cirros',
                                disk_format='qcow2', container_format='bare',
                                is_public='True',
                                **{'property-distro': 'cirros'})
    assert status == 201, body
    image = json.loads(body)['image']
    assert image['status'] == 'active'
    assert image['size'] == len(data)
    assert image['checksum'] == hashlib.md5(data).hexdigest()
    assert hdrs['location'].endswith('/v1/images/%d' % image['id'])
    one = '/v1/images/%d' % image['id']

    status, hdrs, _ = glance.request('HEAD', one)
    hdrs = headers_of(hdrs)
    assert status == 200
    assert hdrs['x-image-meta-disk_format'] == 'qcow2'
    assert hdrs['x-image-meta-container_format'] == 'bare'
    assert hdrs['x-image-meta-is_public'] == 'True'
    assert hdrs['x-image-meta-property-distro'] == 'cirros'
    assert hdrs['etag'] == image['checksum']

    status, hdrs, got = glance.request('GET', one)
    assert status == 200 and got == data
    assert headers_of(hdrs)['content-length'] == str(len(data))
    # the first release's unprefixed path serves the same image
    assert glance.request('GET', '/images/%d' % image['id'])[2] == data

    brief = json.loads(glance.request('GET', '/images')[2])['images']
    assert brief == [{'id': image['id'], 'name': 'cirros',
                      'disk_format': 'qcow2', 'container_format': 'bare',
                      'checksum': image['checksum'], 'size': len(data)}]

    status, _h, body = glance.request('PUT', one, None, {
        'x-image-meta-name': 'cirros-0.5', 'x-image-meta-property-arch':
        'x86_64'})
    assert status == 200
    updated = json.loads(body)['image']
    assert updated['name'] == 'cirros-0.5'
    assert updated['properties'] == {'distro': 'cirros', 'arch': 'x86_64'}

    assert glance.request('DELETE', one)[0] == 200
    assert glance.request('HEAD', one)[0] == 404
    assert glance.request('GET', one)[0] == 404
    assert glance.request('DELETE', one)[0] == 404
    assert os.listdir(glance.datadir) == []


def test_queued_image_gets_data_by_put(glance):
    status, _h, body = create(glance, name='later')
    image = json.loads(body)['image']
    assert image['status'] == 'queued'
    one = '/v1/images/%d' % image['id']
    assert glance.request('GET', one)[0] == 409
    status, _h, body = glance.request('PUT', one, b'x' * 1000, {
        'Content-Type': 'application/octet-stream'})
    assert status == 200
    assert json.loads(body)['image']['status'] == 'active'
    assert glance.request('GET', one)[2] == b'x' * 1000


def test_chunked_upload(glance):
    pieces = [os.urandom(50000) for _ in range(7)]
    conn = http.client.HTTPConnection('127.0.0.1', glance.api_port,
                                      timeout=60)
    conn.request('POST', '/v1/images', body=iter(pieces), headers={
        'x-image-meta-name': 'chunky', 'Content-Type':
        'application/octet-stream', 'Transfer-Encoding': 'chunked'},
        encode_chunked=True)
    resp = conn.getresponse()
    image = json.loads(resp.read())['image']
    conn.close()
    assert resp.status == 201
    assert image['size'] == sum(map(len, pieces))
    assert image['checksum'] == hashlib.md5(b''.join(pieces)).hexdigest()


def test_registering_a_location(glance):
    # data at an http URL: glance's own API serves as the web server here
    status, _h, body = create(glance, b'remote bytes', name='src')
    src = json.loads(body)['image']
    url = 'http://127.0.0.1:%d/v1/images/%d' % (glance.api_port, src['id'])
    status, _h, body = create(glance, name='registered', location=url)
    assert status == 201, body
    image = json.loads(body)['image']
    assert image['status'] == 'active'
    assert image['location'] == url
    assert image['size'] == len(b'remote bytes')
    one = '/v1/images/%d' % image['id']
    assert glance.request('GET', one)[2] == b'remote bytes'
    # deleting the registration leaves the remote data alone
    assert glance.request('DELETE', one)[0] == 200
    assert glance.request('GET', '/v1/images/%d' % src['id'])[2] == \
        b'remote bytes'


@pytest.mark.parametrize('meta,body,status,fragment', [
    ({'disk_format': 'floppy'}, None, 400, 'floppy'),
    ({'container_format': 'tarball'}, None, 400, 'tarball'),
    ({'disk_format': 'ami', 'container_format': 'bare'}, None, 400, 'ami'),
    ({'disk_format': 'raw', 'container_format': 'aki'}, None, 400, 'aki'),
    ({'is_public': 'perhaps'}, None, 400, 'is_public'),
    ({'size': 'huge'}, None, 400, 'size'),
    ({'size': '5'}, b'abc', 400, 'size'),
    ({'checksum': 'nothex'}, b'abc', 400, 'checksum'),
    ({'location': 'gopher://h/x'}, None, 400, 'gopher'),
    ({'location': 'http://127.0.0.1:9/x'}, b'abc', 400, 'location'),
    ({'location': 'file:///etc/passwd'}, None, 403, 'inside'),
    ({'store': 'tape'}, b'abc', 400, 'tape'),
    ({'favourite': 'yes'}, None, 400, 'favourite'),
    ({'size': str(2 ** 41)}, None, 413, 'limit'),
])
def test_rejected_inputs_make_nothing(glance, meta, body, status, fragment):
    got, _h, text = create(glance, body, name='bad', **meta)
    assert got == status, text
    assert fragment in text.decode()
    assert b'Traceback' not in text
    assert detail(glance) == []


def test_checksum_mismatch_kills_the_image(glance):
    status, _h, text = create(glance, b'abc', name='bad', checksum='0' * 32)
    assert status == 400 and b'checksum' in text
    images = detail(glance)
    assert [i['status'] for i in images] == ['killed']
    assert os.listdir(glance.datadir) == []


def test_wrong_content_type_is_refused(glance):
    status, _h, text = glance.request('POST', '/v1/images', b'abc', {
        'x-image-meta-name': 'x', 'Content-Type': 'text/plain'})
    assert status == 400 and b'octet-stream' in text
    assert detail(glance) == []


def test_put_data_to_an_active_image_conflicts(glance):
    image = json.loads(create(glance, b'abc', name='x')[2])['image']
    status, _h, _ = glance.request('PUT', '/v1/images/%d' % image['id'],
                                   b'def', {'Content-Type':
                                            'application/octet-stream'})
    assert status == 409


def test_bad_list_queries(glance):
    for query in ('?sort_key=location', '?sort_dir=up', '?limit=-1',
                  '?marker=99999', '?size_max=lots', '?colour=blue'):
        assert glance.request('GET', '/v1/images/detail' + query)[0] == 400


def test_filters_sorting_and_paging(glance):
    for n in range(12):
        create(glance, b'x' * (n + 1), name='img%02d' % n,
               disk_format='raw' if n % 2 else 'qcow2',
               container_format='bare',
               **{'property-parity': 'odd' if n % 2 else 'even'})
    names = lambda images: [i['name'] for i in images]  # noqa: E731
    assert names(detail(glance, '?sort_key=name&sort_dir=asc&limit=3')) == \
        ['img00', 'img01', 'img02']
    assert names(detail(glance, '?disk_format=raw&sort_key=name'
                                '&sort_dir=asc&size_min=6&size_max=10')) == \
        ['img05', 'img07', 'img09']
    assert len(detail(glance, '?property-parity=even')) == 6
    assert names(detail(glance, '?name=img03')) == ['img03']
    # walk every page with marker
    seen = []
    marker = ''
    for _page in range(10):
        page = detail(glance, '?sort_key=size&sort_dir=desc&limit=5' + marker)
        seen += names(page)
        if len(page) < 5:
            break
        marker = '&marker=%d' % page[-1]['id']
    assert seen == ['img%02d' % n for n in range(11, -1, -1)]


def test_upload_cut_off_midway_kills_the_image(glance):
    declared = 4 * 1024 * 1024
    sock = socket.create_connection(('127.0.0.1', glance.api_port),
                                    timeout=30)
    sock.sendall(b'POST /v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                 b'x-image-meta-name: cut\r\n'
                 b'Content-Type: application/octet-stream\r\n'
                 b'Content-Length: %d\r\n\r\n' % declared)
    sock.sendall(os.urandom(declared // 2))
    time.sleep(0.5)
    sock.close()
    images = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        images = detail(glance, '?name=cut')
        if images and images[0]['status'] == 'killed':
            break
        time.sleep(0.2)
    assert [i['status'] for i in images] == ['killed']
    assert images[0]['location'] is None
    assert os.listdir(glance.datadir) == []


def test_malformed_chunked_upload_kills_the_image(glance):
    sock = socket.create_connection(('127.0.0.1', glance.api_port),
                                    timeout=30)
    sock.sendall(b'POST /v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                 b'x-image-meta-name: cutchunk\r\n'
                 b'Content-Type: application/octet-stream\r\n'
                 b'Transfer-Encoding: chunked\r\n\r\n'
                 b'10000\r\n' + b'z' * 40000)
    time.sleep(0.5)
    sock.close()
    images = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        images = detail(glance, '?name=cutchunk')
        if images and images[0]['status'] == 'killed':
            break
        time.sleep(0.2)
    assert [i['status'] for i in images] == ['killed']
    assert os.listdir(glance.datadir) == []
