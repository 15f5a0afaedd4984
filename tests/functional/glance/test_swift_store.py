"""glance on the swift store, against the project's own Swift on loopback."""

import hashlib
import http.client
import json
import os
import socket
import time
import urllib.parse

import pytest

from tests.functional.glance.servers import GlanceServers
from tests.functional.swift.cluster import SwiftCluster

MiB = 1024 * 1024


@pytest.fixture(scope='module')
def swift():
    cluster = SwiftCluster()
    try:
        cluster.setup()
    except BaseException:
        logs = cluster.logs()
        cluster.teardown()
        pytest.fail('the swift cluster did not start:\n' + logs,
                    pytrace=False)
    try:
        yield cluster
    finally:
        cluster.teardown()


@pytest.fixture(scope='module')
def glance_swift(swift):
    servers = GlanceServers(api_options={
        'default_store': 'swift',
        'swift_store_auth_address': swift.auth_url,
        'swift_store_user': 'test:tester',
        'swift_store_key': swift.users['test:tester'][0],
        'swift_store_container': 'glance',
        'swift_store_create_container_on_put': 'True',
        'swift_store_large_object_size': '8',
        'swift_store_large_object_chunk_size': '4',
    }).start()
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture
def glance(glance_swift):
    glance_swift.clear()
    return glance_swift


def swift_objects(swift, container='glance'):
    url, token = swift.get_auth('test:tester')
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request('GET', '%s/%s?format=json' % (parts.path, container),
                     headers={'X-Auth-Token': token})
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status == 404:
        return []
    assert resp.status == 200, body
    return sorted(o['name'] for o in json.loads(body))


def post(glance, body=None, **meta):
    headers = {'x-image-meta-%s' % k: str(v) for k, v in meta.items()}
    headers['Content-Type'] = 'application/octet-stream'
    status, _h, data = glance.request('POST', '/v1/images', body, headers)
    assert status == 201, data
    return json.loads(data)['image']


def test_crud_on_swift(glance, swift):
    data = os.urandom(1 * MiB + 17)
    image = post(glance, data, name='small', disk_format='raw',
                 container_format='bare')
    assert image['status'] == 'active'
    assert image['checksum'] == hashlib.md5(data).hexdigest()
    assert image['location'] == '%s/glance/%d' % (
        swift.auth_url.replace('http://', 'swift+http://'), image['id'])
    assert 'testing' not in image['location']     # no key in the location
    assert swift_objects(swift) == [str(image['id'])]
    one = '/v1/images/%d' % image['id']
    assert glance.request('GET', one)[2] == data
    assert glance.request('DELETE', one)[0] == 200
    assert swift_objects(swift) == []


def test_segmented_image_round_trip_and_delete(glance, swift):
    data = os.urandom(10 * MiB + 5)
    image = post(glance, data, name='big')
    names = swift_objects(swift)
    base = str(image['id'])
    assert names == sorted([base, base + '-00001', base + '-00002',
                            base + '-00003'])
    status, hdrs, got = glance.request('GET', '/v1/images/%d' % image['id'])
    assert status == 200
    assert hashlib.md5(got).hexdigest() == hashlib.md5(data).hexdigest()
    assert glance.request('DELETE', '/v1/images/%d' % image['id'])[0] == 200
    assert swift_objects(swift) == []


def test_chunked_upload_of_unknown_size(glance, swift):
    pieces = [os.urandom(MiB) for _ in range(5)]
    conn = http.client.HTTPConnection('127.0.0.1', glance.api_port,
                                      timeout=120)
    conn.request('POST', '/v1/images', body=iter(pieces), headers={
        'x-image-meta-name': 'chunked', 'Content-Type':
        'application/octet-stream', 'Transfer-Encoding': 'chunked'},
        encode_chunked=True)
    resp = conn.getresponse()
    image = json.loads(resp.read())['image']
    conn.close()
    assert resp.status == 201
    assert image['size'] == 5 * MiB
    got = glance.request('GET', '/v1/images/%d' % image['id'])[2]
    assert got == b''.join(pieces)
    glance.request('DELETE', '/v1/images/%d' % image['id'])
    assert swift_objects(swift) == []


def test_cut_off_upload_leaves_killed_image_and_no_objects(glance, swift):
    declared = 20 * MiB
    sock = socket.create_connection(('127.0.0.1', glance.api_port),
                                    timeout=60)
    sock.sendall(b'POST /v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                 b'x-image-meta-name: cut\r\n'
                 b'Content-Type: application/octet-stream\r\n'
                 b'Content-Length: %d\r\n\r\n' % declared)
    block = os.urandom(MiB)
    for _ in range(declared // MiB // 2):
        sock.sendall(block)
    time.sleep(1)
    sock.close()
    images = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, _h, body = glance.request('GET',
                                          '/v1/images/detail?name=cut')
        images = json.loads(body)['images']
        if images and images[0]['status'] == 'killed':
            break
        time.sleep(0.5)
    assert [i['status'] for i in images] == ['killed']
    # the segments written before the cut are gone too (a proxy may still
    # be closing the last one: give it a bounded moment)
    deadline = time.monotonic() + 30
    while swift_objects(swift) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert swift_objects(swift) == []


def _rss_kib(pid, field):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise AssertionError('no %s for %d' % (field, pid))


def _pattern(total, block):
    """``total`` bytes made on the fly: a random block stamped per MiB."""
    sent = 0
    n = 0
    while sent < total:
        piece = n.to_bytes(8, 'big') + block[8:]
        piece = piece[:total - sent]
        sent += len(piece)
        n += 1
        yield piece


@pytest.mark.slow
def test_one_gib_image_streams_through_with_flat_memory(glance, swift):
    total = 1024 * MiB
    api_pid = glance.pid('glance-api')
    baseline = _rss_kib(api_pid, 'VmRSS')
    sent_md5 = hashlib.md5()

    def body():
        for piece in _pattern(total, os.urandom(MiB)):
            sent_md5.update(piece)
            yield piece

    conn = http.client.HTTPConnection('127.0.0.1', glance.api_port,
                                      timeout=600)
    conn.request('POST', '/v1/images', body=body(), headers={
        'x-image-meta-name': 'gib', 'x-image-meta-disk_format': 'raw',
        'x-image-meta-container_format': 'bare',
        'Content-Type': 'application/octet-stream',
        'Content-Length': str(total)})
    resp = conn.getresponse()
    text = resp.read()
    conn.close()
    assert resp.status == 201, text
    image = json.loads(text)['image']
    assert image['size'] == total
    assert image['checksum'] == sent_md5.hexdigest()

    conn = http.client.HTTPConnection('127.0.0.1', glance.api_port,
                                      timeout=600)
    conn.request('GET', '/v1/images/%d' % image['id'])
    resp = conn.getresponse()
    assert resp.status == 200
    got_md5 = hashlib.md5()
    got = 0
    while True:
        piece = resp.read(MiB)
        if not piece:
            break
        got += len(piece)
        got_md5.update(piece)
    conn.close()
    assert got == total
    assert got_md5.hexdigest() == sent_md5.hexdigest()

    peak = _rss_kib(api_pid, 'VmHWM')
    growth_mib = (peak - baseline) / 1024.0
    print('glance-api RSS: baseline %.1f MiB, peak %.1f MiB (+%.1f MiB)'
          % (baseline / 1024.0, peak / 1024.0, growth_mib))
    assert growth_mib < 100
    assert glance.request('DELETE', '/v1/images/%d' % image['id'])[0] == 200
    assert swift_objects(swift) == []
