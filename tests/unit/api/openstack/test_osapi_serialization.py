"""JSON/XML output and input of the OpenStack API (nova.api.openstack.xmlutil)."""

import xml.etree.ElementTree as ET

import pytest
import webob

from nova.api.openstack import xmlutil

V10 = '{%s}' % xmlutil.XMLNS_V10
V11 = '{%s}' % xmlutil.XMLNS_V11
ATOM = '{%s}' % xmlutil.XMLNS_ATOM


def _xml(data, version):
    body = xmlutil.to_xml(data, version)
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(body)


def test_v10_server_scalars_are_attributes_in_the_cloud_servers_namespace():
    root = _xml({'server': {'id': 1, 'name': 'web', 'imageId': 3,
                            'flavorId': 2, 'status': 'ACTIVE',
                            'progress': 100, 'hostId': 'abc',
                            'metadata': {'role': 'db'},
                            'addresses': {'public': ['1.2.3.4'],
                                          'private': ['10.0.0.2']}}}, '1.0')
    assert root.tag == V10 + 'server'
    assert root.attrib == {'id': '1', 'name': 'web', 'imageId': '3',
                           'flavorId': '2', 'status': 'ACTIVE',
                           'progress': '100', 'hostId': 'abc'}
    meta = root.find(V10 + 'metadata/' + V10 + 'meta')
    assert meta.get('key') == 'role' and meta.text == 'db'
    public = root.find(V10 + 'addresses/' + V10 + 'public')
    assert [ip.get('addr') for ip in public] == ['1.2.3.4']
    private = root.find(V10 + 'addresses/' + V10 + 'private')
    assert [ip.get('addr') for ip in private] == ['10.0.0.2']


def test_v11_links_are_atom_links_and_addresses_are_networks():
    root = _xml({'servers': [{
        'id': 7, 'name': 'x',
        'addresses': {'private': [{'version': 4, 'addr': '10.0.0.3'}]},
        'links': [{'rel': 'self', 'href': 'http://h/v1.1/p/servers/7'}]}]},
        '1.1')
    assert root.tag == V11 + 'servers'
    server = root.find(V11 + 'server')
    assert server.get('id') == '7'
    link = server.find(ATOM + 'link')
    assert link.get('rel') == 'self'
    assert link.get('href') == 'http://h/v1.1/p/servers/7'
    network = server.find(V11 + 'addresses/' + V11 + 'network')
    assert network.get('id') == 'private'
    ip = network.find(V11 + 'ip')
    assert (ip.get('version'), ip.get('addr')) == ('4', '10.0.0.3')


def test_v11_one_network_document():
    root = _xml({'net1': [{'version': 4, 'addr': '10.1.0.2'}]}, '1.1')
    assert root.tag == V11 + 'network' and root.get('id') == 'net1'
    assert root.find(V11 + 'ip').get('addr') == '10.1.0.2'


def test_list_members_and_absolute_limits():
    root = _xml({'limits': {'rate': [{'verb': 'POST', 'value': 10}],
                            'absolute': {'maxTotalInstances': 5}}}, '1.0')
    assert root.find(V10 + 'rate/' + V10 + 'limit').get('verb') == 'POST'
    limit = root.find(V10 + 'absolute/' + V10 + 'limit')
    assert (limit.get('name'), limit.get('value')) == ('maxTotalInstances',
                                                       '5')


def test_fault_xml_has_code_message_and_details():
    body = xmlutil.fault_to_xml('itemNotFound', {
        'code': 404, 'message': 'gone', 'details': 'really'}, '1.1')
    root = ET.fromstring(body)
    assert root.tag == V11 + 'itemNotFound'
    assert root.get('code') == '404'
    assert root.find(V11 + 'message').text == 'gone'
    assert root.find(V11 + 'details').text == 'really'


def test_admin_pass_is_an_element():
    root = _xml({'server': {'id': 1, 'adminPass': 's3cret'}}, '1.0')
    assert root.find(V10 + 'adminPass').text == 's3cret'


def _req(body=b'', content_type=None, path='/servers', accept=None):
    req = webob.Request.blank(path, method='POST')
    req.body = body
    if content_type:
        req.content_type = content_type
    if accept:
        req.headers['Accept'] = accept
    return req


def test_xml_server_create_body_with_metadata_and_personality():
    body = (b'<server xmlns="%s" name="web" imageId="3" flavorId="1">'
            b'<metadata><meta key="a">b</meta></metadata>'
            b'<personality><file path="/etc/motd">aGk=</file></personality>'
            b'</server>' % xmlutil.XMLNS_V10.encode())
    data = xmlutil.parse_body(_req(body, 'application/xml'))
    assert data == {'server': {'name': 'web', 'imageId': '3',
                               'flavorId': '1', 'metadata': {'a': 'b'},
                               'personality': [{'path': '/etc/motd',
                                                'contents': 'aGk='}]}}


def test_xml_action_and_meta_bodies():
    assert xmlutil.parse_body(_req(b'<reboot type="HARD"/>',
                                   'application/xml')) == \
        {'reboot': {'type': 'HARD'}}
    assert xmlutil.parse_body(_req(b'<confirmResize/>', 'text/xml')) == \
        {'confirmResize': None}
    assert xmlutil.parse_body(_req(b'<meta key="k">v</meta>',
                                   'application/xml')) == {'meta': {'k': 'v'}}


def test_body_type_is_sniffed_without_content_type():
    assert xmlutil.parse_body(_req(b'  {"a": {}}')) == {'a': {}}
    assert xmlutil.parse_body(_req(b'<a x="1"/>')) == {'a': {'x': '1'}}


@pytest.mark.parametrize('body,ctype', [
    (b'{"server": ', 'application/json'),
    (b'[1, 2]', 'application/json'),
    (b'<server name="x">', 'application/xml'),
    (b'\xff\xfe', 'application/json'),
    (b'', 'application/json'),
])
def test_malformed_bodies_are_400(body, ctype):
    with pytest.raises(xmlutil.BodyError) as info:
        xmlutil.parse_body(_req(body, ctype))
    assert info.value.code == 400


def test_entities_are_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
            b'<server name="&a;"/>')
    with pytest.raises(xmlutil.BodyError) as info:
        xmlutil.parse_body(_req(bomb, 'application/xml'))
    assert info.value.code == 400


def test_unknown_media_type_is_415():
    with pytest.raises(xmlutil.BodyError) as info:
        xmlutil.parse_body(_req(b'name=x', 'text/plain'))
    assert info.value.code == 415


@pytest.mark.parametrize('path,accept,expected', [
    ('/servers.xml', 'application/json', xmlutil.XML),
    ('/servers.json', 'application/xml', xmlutil.JSON),
    ('/servers', 'application/xml', xmlutil.XML),
    ('/servers', 'application/json;q=0.5, application/xml', xmlutil.XML),
    ('/servers', None, xmlutil.JSON),
    ('/servers', 'text/html', xmlutil.JSON),
])
def test_response_type(path, accept, expected):
    assert xmlutil.response_type(_req(path=path, accept=accept)) == expected


def test_v11_rate_limits_are_grouped_by_uri():
    root = _xml({'limits': {'rate': [{'uri': '*', 'regex': '.*', 'limit': [
        {'verb': 'POST', 'value': 10, 'remaining': 9, 'unit': 'MINUTE'}]}],
        'absolute': {}}}, '1.1')
    rate = root.find(V11 + 'rate/' + V11 + 'rate')
    assert rate.get('uri') == '*'
    assert rate.find(V11 + 'limit').get('remaining') == '9'
