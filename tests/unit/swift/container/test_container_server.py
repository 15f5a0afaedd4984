"""The container server in-process (webob Request.blank)."""

import json
import os
from urllib.parse import quote
from xml.dom import minidom

import eventlet
import eventlet.wsgi
import pytest
from webob import Request

from swift.container.server import ContainerController


@pytest.fixture
def app(tmp_path):
    (tmp_path / 'sda').mkdir()
    return ContainerController({'devices': str(tmp_path),
                                'mount_check': 'false',
                                'log_requests': 'false',
                                'conn_timeout': '0.5',
                                'node_timeout': '2'})


def call(app, path, method='GET', headers=None):
    return Request.blank(path, environ={'REQUEST_METHOD': method},
                         headers=headers or {}).get_response(app)


def make_container(app, ts='1', path='/sda/0/a/c', **headers):
    headers['X-Timestamp'] = ts
    return call(app, path, 'PUT', headers)


def put_object(app, name, ts='2', size=1, ctype='text/plain', etag='e'):
    return call(app, '/sda/0/a/c/' + quote(name), 'PUT', {
        'X-Timestamp': ts, 'X-Size': str(size), 'X-Content-Type': ctype,
        'X-Etag': etag})


class TestContainerLifecycle:
    def test_put_head_post_delete(self, app):
        assert call(app, '/sda/0/a/c', 'HEAD').status_int == 404
        resp = make_container(app, '1', **{'X-Container-Meta-Color': 'red',
                                           'X-Container-Read': '.r:*'})
        assert resp.status_int == 201
        assert make_container(app, '2').status_int == 202
        resp = call(app, '/sda/0/a/c', 'HEAD')
        assert resp.status_int == 204
        assert resp.headers['X-Container-Object-Count'] == '0'
        assert resp.headers['X-Container-Bytes-Used'] == '0'
        assert resp.headers['X-Container-Meta-Color'] == 'red'
        assert resp.headers['X-Container-Read'] == '.r:*'
        assert call(app, '/sda/0/a/c', 'POST', {
            'X-Timestamp': '3', 'X-Container-Write': 'a:u',
            'X-Container-Read': ''}).status_int == 204
        resp = call(app, '/sda/0/a/c', 'HEAD')
        assert resp.headers['X-Container-Write'] == 'a:u'
        assert 'X-Container-Read' not in resp.headers
        assert call(app, '/sda/0/a/c', 'DELETE',
                    {'X-Timestamp': '4'}).status_int == 204
        assert call(app, '/sda/0/a/c', 'HEAD').status_int == 404
        assert call(app, '/sda/0/a/c', 'DELETE',
                    {'X-Timestamp': '5'}).status_int == 404
        assert call(app, '/sda/0/a/c', 'POST',
                    {'X-Timestamp': '5'}).status_int == 404
        # a PUT older than the delete does not bring it back
        assert make_container(app, '3.5').status_int == 409
        # a newer one re-creates it, without the old ACLs
        assert make_container(app, '6').status_int == 201
        resp = call(app, '/sda/0/a/c', 'HEAD')
        assert 'X-Container-Write' not in resp.headers

    def test_delete_non_empty_is_409(self, app):
        make_container(app)
        put_object(app, 'o')
        resp = call(app, '/sda/0/a/c', 'DELETE', {'X-Timestamp': '3'})
        assert resp.status_int == 409
        assert call(app, '/sda/0/a/c', 'HEAD').status_int == 204
        assert call(app, '/sda/0/a/c/o', 'DELETE',
                    {'X-Timestamp': '4'}).status_int == 204
        assert call(app, '/sda/0/a/c', 'DELETE',
                    {'X-Timestamp': '5'}).status_int == 204

    def test_timestamps_required(self, app):
        assert call(app, '/sda/0/a/c', 'PUT').status_int == 400
        assert call(app, '/sda/0/a/c', 'PUT',
                    {'X-Timestamp': 'abc'}).status_int == 400
        make_container(app)
        assert call(app, '/sda/0/a/c', 'POST').status_int == 400
        assert call(app, '/sda/0/a/c', 'DELETE').status_int == 400
        assert call(app, '/sda/0/a/c/o', 'DELETE').status_int == 400

    @pytest.mark.parametrize('headers', [
        {'X-Container-Meta-': 'x'},
        {'X-Container-Meta-' + 'n' * 129: 'x'},
        {'X-Container-Meta-N': 'v' * 257},
        {'X-Container-Meta-%d' % i: 'v' for i in range(91)},
        {'X-Container-Meta-%03d' % i: 'v' * 256 for i in range(17)},
    ])
    def test_metadata_limits(self, app, headers):
        assert make_container(app, **headers).status_int == 400
        assert call(app, '/sda/0/a/c', 'HEAD').status_int == 404
        make_container(app)
        headers = dict(headers, **{'X-Timestamp': '2'})
        assert call(app, '/sda/0/a/c', 'POST', headers).status_int == 400


class TestObjectUpdates:
    def test_put_and_delete_update_stats(self, app):
        assert put_object(app, 'o').status_int == 404  # no container
        make_container(app)
        assert put_object(app, 'o', '2', size=10).status_int == 201
        assert put_object(app, 'p', '2', size=5).status_int == 201
        # a late, older update loses
        assert put_object(app, 'o', '1', size=99).status_int == 201
        resp = call(app, '/sda/0/a/c', 'HEAD')
        assert resp.headers['X-Container-Object-Count'] == '2'
        assert resp.headers['X-Container-Bytes-Used'] == '15'
        assert call(app, '/sda/0/a/c/o', 'DELETE',
                    {'X-Timestamp': '3'}).status_int == 204
        resp = call(app, '/sda/0/a/c', 'HEAD')
        assert resp.headers['X-Container-Object-Count'] == '1'
        assert resp.headers['X-Container-Bytes-Used'] == '5'

    def test_missing_headers(self, app):
        make_container(app)
        resp = call(app, '/sda/0/a/c/o', 'PUT', {'X-Timestamp': '2'})
        assert resp.status_int == 400
        resp = call(app, '/sda/0/a/c/o', 'PUT', {
            'X-Timestamp': '2', 'X-Size': 'big', 'X-Content-Type': 'a/b',
            'X-Etag': 'e'})
        assert resp.status_int == 400

    def test_object_names_keep_slashes_and_unicode(self, app):
        make_container(app)
        assert put_object(app, 'dir/sub/\u00f6bj').status_int == 201
        resp = call(app, '/sda/0/a/c?format=json')
        assert resp.json[0]['name'] == 'dir/sub/\u00f6bj'
        assert put_object(app, 'x' * 1025).status_int == 400


@pytest.fixture
def listed(app):
    make_container(app)
    for name, size in (('a', 1), ('a/b', 2), ('a/b/c', 3), ('a/c', 4),
                       ('b', 5), ('c/', 0), ('c/d', 6), ('d\u00e9', 7)):
        put_object(app, name, ts='1296762827.12345', size=size,
                   ctype='text/plain', etag='etag-' + name)
    return app


def plain(app, query):
    resp = call(app, '/sda/0/a/c?' + query)
    if resp.status_int == 204:
        return []
    return resp.body.decode('utf-8').split('\n')[:-1]


class TestContainerListing:
    def test_plain(self, listed):
        resp = call(listed, '/sda/0/a/c')
        assert resp.status_int == 200
        assert resp.content_type == 'text/plain'
        assert resp.body.decode('utf-8').endswith('d\u00e9\n')
        assert resp.headers['X-Container-Object-Count'] == '8'
        assert resp.headers['X-Container-Bytes-Used'] == '28'

    def test_empty(self, app):
        make_container(app)
        resp = call(app, '/sda/0/a/c')
        assert resp.status_int == 204
        assert resp.body == b''
        assert call(app, '/sda/0/a/c?format=json').json == []
        resp = call(app, '/sda/0/a/c?format=xml')
        assert resp.status_int == 200
        assert minidom.parseString(resp.body).documentElement \
            .getAttribute('name') == 'c'

    def test_json(self, listed):
        resp = call(listed, '/sda/0/a/c?format=json&prefix=a/&delimiter=/')
        assert resp.content_type == 'application/json'
        assert json.loads(resp.body) == [
            {'name': 'a/b', 'hash': 'etag-a/b', 'bytes': 2,
             'content_type': 'text/plain',
             'last_modified': '2011-02-03T19:53:47.123450'},
            {'subdir': 'a/b/'},
            {'name': 'a/c', 'hash': 'etag-a/c', 'bytes': 4,
             'content_type': 'text/plain',
             'last_modified': '2011-02-03T19:53:47.123450'}]

    def test_xml(self, listed):
        resp = call(listed, '/sda/0/a/c?format=xml&delimiter=/')
        assert resp.content_type == 'application/xml'
        assert resp.body.startswith(
            b'<?xml version="1.0" encoding="UTF-8"?>\n<container name="c">')
        assert b'<subdir name="a/" />' in resp.body
        dom = minidom.parseString(resp.body)
        objs = dom.getElementsByTagName('object')
        assert [o.getElementsByTagName('name')[0].firstChild.data
                for o in objs] == ['a', 'b', 'd\u00e9']
        first = objs[0]
        for tag, value in (('hash', 'etag-a'), ('bytes', '1'),
                           ('content_type', 'text/plain'),
                           ('last_modified', '2011-02-03T19:53:47.123450')):
            assert first.getElementsByTagName(tag)[0].firstChild.data == value

    def test_xml_escapes_names(self, app):
        make_container(app, path='/sda/0/a/c')
        put_object(app, '<&>"\'')
        dom = minidom.parseString(call(app, '/sda/0/a/c?format=xml').body)
        assert dom.getElementsByTagName('name')[0].firstChild.data == \
            '<&>"\''

    @pytest.mark.parametrize('accept,ctype', [
        ('application/json', 'application/json'),
        ('application/xml;q=0.9, application/json;q=0.5', 'application/xml'),
        ('text/xml', 'application/xml'),
        ('text/plain', 'text/plain'),
    ])
    def test_accept(self, listed, accept, ctype):
        assert call(listed, '/sda/0/a/c', headers={
            'Accept': accept}).content_type == ctype

    def test_parameters(self, listed):
        assert plain(listed, 'limit=2') == ['a', 'a/b']
        assert plain(listed, 'marker=a/c') == ['b', 'c/', 'c/d', 'd\u00e9']
        assert plain(listed, 'end_marker=a/c') == ['a', 'a/b', 'a/b/c']
        assert plain(listed, 'prefix=c') == ['c/', 'c/d']
        assert plain(listed, 'delimiter=/') == ['a', 'a/', 'b', 'c/',
                                                'd\u00e9']
        assert plain(listed, 'delimiter=/&marker=a/') == ['b', 'c/',
                                                          'd\u00e9']
        assert plain(listed, 'path=a') == ['a/b', 'a/c']
        assert plain(listed, 'path=a/') == ['a/b', 'a/c']
        assert plain(listed, 'path=c') == ['c/d']
        assert plain(listed, 'prefix=a/&limit=1&marker=a/b') == ['a/b/c']
        assert plain(listed, 'prefix=d%C3%A9') == ['d\u00e9']
        assert plain(listed, 'prefix=zz') == []

    def test_bad_parameters(self, listed):
        assert call(listed, '/sda/0/a/c?limit=10001').status_int == 412
        assert call(listed, '/sda/0/a/c?limit=ten').status_int == 400
        assert call(listed, '/sda/0/a/c?delimiter=//').status_int == 412
        assert call(listed, '/sda/0/a/c?marker=%FF').status_int == 400
        assert call(listed, '/sda/0/a/c?path=%FF').status_int == 400

    def test_deleted_container_listing_404(self, app):
        make_container(app)
        call(app, '/sda/0/a/c', 'DELETE', {'X-Timestamp': '2'})
        assert call(app, '/sda/0/a/c').status_int == 404


class TestContainerErrors:
    def test_unmounted_is_507(self, tmp_path):
        app = ContainerController({'devices': str(tmp_path),
                                   'mount_check': 'true',
                                   'log_requests': 'false'})
        assert make_container(app).status_int == 507

    def test_bad_paths(self, app):
        assert call(app, '/sda/0/a', 'HEAD').status_int == 400
        assert call(app, '/sda/0/a/c/o', 'HEAD').status_int == 400
        assert call(app, '/sda/0/a/c%FF', 'HEAD').status_int == 412
        assert call(app, '/sda/0/a/' + 'c' * 257, 'PUT',
                    {'X-Timestamp': '1'}).status_int == 400
        assert call(app, '/sda/0/a/c', 'COPY').status_int == 405


@pytest.fixture
def account_server():
    """A tiny HTTP server recording the account updates it receives."""
    seen = []
    state = {'status': '201 Created'}

    def app(env, start):
        seen.append((env['REQUEST_METHOD'], env['PATH_INFO'],
                     {k[5:].replace('_', '-').title(): v
                      for k, v in env.items() if k.startswith('HTTP_')}))
        start(state['status'], [('Content-Length', '0')])
        return [b'']

    sock = eventlet.listen(('127.0.0.1', 0))
    thread = eventlet.spawn(eventlet.wsgi.server, sock, app, log_output=False)
    yield sock.getsockname()[1], seen, state
    thread.kill()
    sock.close()


def account_headers(port):
    return {'X-Account-Host': '127.0.0.1:%d' % port,
            'X-Account-Partition': '7', 'X-Account-Device': 'sdb',
            'X-Trans-Id': 'tx-test'}


class TestAccountUpdates:
    def test_put_and_delete_report_to_account(self, app, account_server):
        port, seen, _state = account_server
        resp = make_container(app, '1', **account_headers(port))
        assert resp.status_int == 201
        method, path, headers = seen[0]
        assert (method, path) == ('PUT', '/sdb/7/a/c')
        assert headers['X-Put-Timestamp'] == '0000000001.00000'
        assert headers['X-Delete-Timestamp'] == '0000000000.00000'
        assert headers['X-Object-Count'] == '0'
        assert headers['X-Bytes-Used'] == '0'
        assert headers['X-Trans-Id'] == 'tx-test'
        headers = dict(account_headers(port), **{'X-Timestamp': '2'})
        assert call(app, '/sda/0/a/c', 'DELETE', headers).status_int == 204
        assert seen[1][2]['X-Delete-Timestamp'] == '0000000002.00000'

    def test_account_404_makes_container_put_404(self, app, account_server):
        port, _seen, state = account_server
        state['status'] = '404 Not Found'
        assert make_container(app, **account_headers(port)).status_int == 404

    def test_unreachable_account_leaves_report_pending(self, app, tmp_path):
        import socket
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        resp = make_container(app, '1', **account_headers(port))
        assert resp.status_int == 201
        from swift.common.utils import hash_path
        h = hash_path('a', 'c')
        db = os.path.join(str(tmp_path), 'sda', 'containers', '0', h[-3:], h,
                          h + '.db')
        from swift.common.db import ContainerBroker
        info = ContainerBroker(db).get_info()
        # the unreported state is what the container updater picks up
        assert info['reported_put_timestamp'] != info['put_timestamp']

    def test_mismatched_account_headers(self, app):
        resp = make_container(app, **{'X-Account-Host': '1.2.3.4:5,6.7.8.9:1',
                                      'X-Account-Partition': '1',
                                      'X-Account-Device': 'sda'})
        assert resp.status_int == 400
        # nothing was created
        assert call(app, '/sda/0/a/c', 'HEAD').status_int == 404
        resp = make_container(app, **{'X-Account-Host': '1.2.3.4:5'})
        assert resp.status_int == 400


def test_iso_timestamp_matches_datetime_formatting():
    import datetime
    import random
    from swift.common.storage_server import iso_timestamp
    rng = random.Random(7)
    samples = ['0000000000.00000', '1296762827.12345', '9999999999.99999',
               '1700000000.5', 1700000000.25, '1700000000']
    samples += ['%016.05f' % rng.uniform(0, 4e9) for _ in range(2000)]
    for ts in samples:
        expected = datetime.datetime.fromtimestamp(
            float(ts), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')
        assert iso_timestamp(ts) == expected, ts


def test_json_listing_text_is_what_json_dumps_gives():
    import json
    from swift.common.storage_server import iso_timestamp, json_object_listing
    rows = [('plain', '1296762827.12345', 10, 'text/plain', 'e1'),
            ('caf\u00e9 "quoted" \\ back\nline\x01', '0000000001.00000', 0,
             'a/b; charset="x"', 'e2'),
            ('dir/', '0', 0, None, ''),
            ('\U0001f600', '9999999999.99999', 5 * 2 ** 40, '', '')]
    entries = []
    for name, created_at, size, obj_type, etag in rows:
        if obj_type is None:
            entries.append({'subdir': name})
        else:
            entries.append({'name': name, 'hash': etag, 'bytes': size,
                            'content_type': obj_type,
                            'last_modified': iso_timestamp(created_at)})
    assert json_object_listing(rows) == \
        json.dumps(entries, ensure_ascii=False).encode('utf-8')
    assert json_object_listing([]) == b'[]'
