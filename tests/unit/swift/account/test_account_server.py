"""The account server in-process (webob Request.blank)."""

import json
from urllib.parse import quote
from xml.dom import minidom

import pytest
from webob import Request

from swift.account.server import AccountController, app_factory


@pytest.fixture
def app(tmp_path):
    (tmp_path / 'sda').mkdir()
    return AccountController({'devices': str(tmp_path),
                              'mount_check': 'false',
                              'log_requests': 'false'})


def call(app, path, method='GET', headers=None, **environ):
    environ['REQUEST_METHOD'] = method
    return Request.blank(path, environ=environ,
                         headers=headers or {}).get_response(app)


def make_account(app, ts='1', **headers):
    headers['X-Timestamp'] = ts
    return call(app, '/sda/0/a', 'PUT', headers)


def report(app, container, put='2', delete='0', count=0, size=0):
    return call(app, '/sda/0/a/%s' % quote(container), 'PUT', {
        'X-Put-Timestamp': put, 'X-Delete-Timestamp': delete,
        'X-Object-Count': str(count), 'X-Bytes-Used': str(size)})


class TestAccountLifecycle:
    def test_put_head_post_delete(self, app):
        assert call(app, '/sda/0/a', 'HEAD').status_int == 404
        assert make_account(app, '1', **{
            'X-Account-Meta-Color': 'blue'}).status_int == 201
        assert make_account(app, '2').status_int == 202
        resp = call(app, '/sda/0/a', 'HEAD')
        assert resp.status_int == 204
        assert resp.headers['X-Account-Container-Count'] == '0'
        assert resp.headers['X-Account-Object-Count'] == '0'
        assert resp.headers['X-Account-Bytes-Used'] == '0'
        assert resp.headers['X-Account-Meta-Color'] == 'blue'
        assert resp.headers['X-PUT-Timestamp'] == '0000000002.00000'
        assert call(app, '/sda/0/a', 'POST', {
            'X-Timestamp': '3', 'X-Account-Meta-Color': '',
            'X-Account-Meta-Size': 'big'}).status_int == 204
        resp = call(app, '/sda/0/a', 'HEAD')
        assert 'X-Account-Meta-Color' not in resp.headers
        assert resp.headers['X-Account-Meta-Size'] == 'big'
        # an older POST does not overwrite newer metadata
        call(app, '/sda/0/a', 'POST', {'X-Timestamp': '2.5',
                                       'X-Account-Meta-Size': 'small'})
        assert call(app, '/sda/0/a', 'HEAD').headers[
            'X-Account-Meta-Size'] == 'big'
        assert call(app, '/sda/0/a', 'DELETE',
                    {'X-Timestamp': '4'}).status_int == 204
        assert call(app, '/sda/0/a', 'HEAD').status_int == 404
        assert call(app, '/sda/0/a', 'GET').status_int == 404
        assert call(app, '/sda/0/a', 'DELETE',
                    {'X-Timestamp': '5'}).status_int == 404
        assert make_account(app, '3').status_int == 403
        assert call(app, '/sda/0/a', 'POST',
                    {'X-Timestamp': '6'}).status_int == 404

    def test_utf8_metadata_value_roundtrip(self, app):
        value = '\u00e9t\u00e9'.encode('utf-8').decode('latin-1')
        make_account(app, **{'X-Account-Meta-Season': value})
        resp = call(app, '/sda/0/a', 'HEAD')
        assert resp.headers['X-Account-Meta-Season'] == value

    def test_missing_or_bad_timestamp(self, app):
        assert call(app, '/sda/0/a', 'PUT').status_int == 400
        assert call(app, '/sda/0/a', 'PUT',
                    {'X-Timestamp': 'soon'}).status_int == 400
        make_account(app)
        assert call(app, '/sda/0/a', 'POST').status_int == 400
        assert call(app, '/sda/0/a', 'DELETE').status_int == 400

    @pytest.mark.parametrize('headers', [
        {'X-Account-Meta-': 'x'},
        {'X-Account-Meta-' + 'n' * 129: 'x'},
        {'X-Account-Meta-N': 'v' * 257},
    ])
    def test_metadata_limits(self, app, headers):
        headers = dict(headers, **{'X-Timestamp': '1'})
        assert call(app, '/sda/0/a', 'PUT', headers).status_int == 400
        assert call(app, '/sda/0/a', 'HEAD').status_int == 404
        make_account(app)
        assert call(app, '/sda/0/a', 'POST', headers).status_int == 400

    def test_too_many_metadata_items(self, app):
        headers = {'X-Account-Meta-%d' % i: 'v' for i in range(91)}
        assert make_account(app, **headers).status_int == 400


class TestContainerReports:
    def test_reports_update_stats_and_listing(self, app):
        assert report(app, 'c1', count=1).status_int == 404  # no account
        make_account(app)
        assert report(app, 'c1', count=3, size=30).status_int == 201
        assert report(app, 'c2', count=1, size=5).status_int == 201
        resp = call(app, '/sda/0/a', 'HEAD')
        assert resp.headers['X-Account-Container-Count'] == '2'
        assert resp.headers['X-Account-Object-Count'] == '4'
        assert resp.headers['X-Account-Bytes-Used'] == '35'
        assert report(app, 'c2', put='2', delete='3').status_int == 204
        resp = call(app, '/sda/0/a', 'HEAD')
        assert resp.headers['X-Account-Container-Count'] == '1'
        assert call(app, '/sda/0/a').body == b'c1\n'

    def test_bad_report(self, app):
        make_account(app)
        resp = call(app, '/sda/0/a/c', 'PUT', {'X-Put-Timestamp': 'x'})
        assert resp.status_int == 400


@pytest.fixture
def listed(app):
    make_account(app)
    for name, count, size in (('a', 1, 10), ('a-b', 2, 20), ('a-c', 0, 0),
                              ('b', 3, 30), ('c\u00e9', 1, 1)):
        report(app, name, count=count, size=size)
    return app


class TestAccountListing:
    def test_plain(self, listed):
        resp = call(listed, '/sda/0/a')
        assert resp.status_int == 200
        assert resp.content_type == 'text/plain'
        assert resp.charset == 'utf-8'
        assert resp.body.decode('utf-8') == 'a\na-b\na-c\nb\nc\u00e9\n'
        assert resp.headers['X-Account-Container-Count'] == '5'

    def test_empty_plain_is_204_json_and_xml_are_200(self, app):
        make_account(app)
        assert call(app, '/sda/0/a').status_int == 204
        resp = call(app, '/sda/0/a?format=json')
        assert (resp.status_int, resp.json) == (200, [])
        resp = call(app, '/sda/0/a?format=xml')
        assert resp.status_int == 200
        dom = minidom.parseString(resp.body)
        assert dom.documentElement.tagName == 'account'
        assert dom.documentElement.getAttribute('name') == 'a'

    def test_json(self, listed):
        resp = call(listed, '/sda/0/a?format=JSON&limit=2')
        assert resp.content_type == 'application/json'
        assert json.loads(resp.body) == [
            {'name': 'a', 'count': 1, 'bytes': 10},
            {'name': 'a-b', 'count': 2, 'bytes': 20}]

    def test_xml(self, listed):
        resp = call(listed, '/sda/0/a?format=xml&delimiter=-')
        assert resp.content_type == 'application/xml'
        assert resp.body.startswith(
            b'<?xml version="1.0" encoding="UTF-8"?>\n<account name="a">')
        dom = minidom.parseString(resp.body)
        containers = dom.getElementsByTagName('container')
        assert [c.getElementsByTagName('name')[0].firstChild.data
                for c in containers] == ['a', 'b', 'c\u00e9']
        assert containers[1].getElementsByTagName('count')[0] \
            .firstChild.data == '3'
        assert containers[1].getElementsByTagName('bytes')[0] \
            .firstChild.data == '30'
        assert [s.getAttribute('name')
                for s in dom.getElementsByTagName('subdir')] == ['a-']

    @pytest.mark.parametrize('accept,ctype', [
        ('application/json', 'application/json'),
        ('application/xml', 'application/xml'),
        ('text/xml', 'application/xml'),
        ('text/plain', 'text/plain'),
        ('*/*', 'text/plain'),
        ('image/png', 'text/plain'),
    ])
    def test_accept_header(self, listed, accept, ctype):
        resp = call(listed, '/sda/0/a', headers={'Accept': accept})
        assert resp.content_type == ctype

    def test_format_param_beats_accept(self, listed):
        resp = call(listed, '/sda/0/a?format=json',
                    headers={'Accept': 'application/xml'})
        assert resp.content_type == 'application/json'

    def test_parameters(self, listed):
        def plain(query):
            resp = call(listed, '/sda/0/a?' + query)
            return resp.body.decode('utf-8').split('\n')[:-1]
        assert plain('marker=a-b') == ['a-c', 'b', 'c\u00e9']
        assert plain('end_marker=b') == ['a', 'a-b', 'a-c']
        assert plain('prefix=a-') == ['a-b', 'a-c']
        assert plain('delimiter=-') == ['a', 'a-', 'b', 'c\u00e9']
        assert plain('limit=1&marker=a') == ['a-b']
        assert plain('marker=%C3%A9') == []
        assert plain('prefix=c%C3%A9') == ['c\u00e9']
        assert call(listed, '/sda/0/a?prefix=zz').status_int == 204

    def test_bad_parameters(self, listed):
        resp = call(listed, '/sda/0/a?limit=10001')
        assert resp.status_int == 412
        assert resp.body == b'Maximum limit is 10000'
        assert call(listed, '/sda/0/a?limit=10000').status_int == 200
        assert call(listed, '/sda/0/a?limit=x').status_int == 400
        assert call(listed, '/sda/0/a?limit=-1').status_int == 400
        resp = call(listed, '/sda/0/a?delimiter=ab')
        assert (resp.status_int, resp.body) == (412, b'Bad delimiter')
        assert call(listed, '/sda/0/a?prefix=%FF').status_int == 400


class TestAccountErrors:
    def test_unmounted_device_is_507(self, tmp_path):
        app = AccountController({'devices': str(tmp_path),
                                 'mount_check': 'true',
                                 'log_requests': 'false'})
        (tmp_path / 'sda').mkdir()
        assert make_account(app).status_int == 507
        assert call(app, '/sda/0/a', 'HEAD').status_int == 507

    def test_bad_paths(self, app):
        assert call(app, '/sda/0').status_int == 400
        assert call(app, '/sda/x/a').status_int == 400
        assert call(app, '/../0/a', 'HEAD').status_int == 400
        assert call(app, '/sda/0/a/c/o').status_int == 400
        resp = call(app, '/sda/0/%FF', 'HEAD')
        assert resp.status_int == 412
        assert call(app, '/sda/0/' + 'a' * 257, 'HEAD').status_int == 400

    def test_unknown_verbs_are_405(self, app):
        for method in ('COPY', 'OPTIONS', 'get', '__init__'):
            assert call(app, '/sda/0/a', method).status_int == 405

    def test_internal_error_is_500_without_traceback(self, app, monkeypatch):
        def boom(*args, **kwargs):
            raise RuntimeError('secret detail')
        monkeypatch.setattr(AccountController, '_broker', boom)
        resp = call(app, '/sda/0/a', 'HEAD',
                    headers={'X-Trans-Id': 'tx123'})
        assert resp.status_int == 500
        assert b'secret detail' not in resp.body
        assert resp.headers['X-Trans-Id'] == 'tx123'

    def test_app_factory_merges_confs(self, tmp_path):
        app = app_factory({'devices': str(tmp_path), 'mount_check': 'true'},
                          mount_check='false')
        assert app.devices == str(tmp_path) and not app.mount_check
