"""Account and container controllers over in-memory storage nodes."""

import json

from tests.unit.swift.proxy.conftest import Client, make_app
from tests.unit.swift.proxy.fakes import node_key

ACCOUNT = '/v1/AUTH_test'


# ------------------------------------------------------------ accounts

def test_missing_account_with_autocreate_looks_empty(client, cluster):
    resp = client.request('GET', ACCOUNT)
    assert resp.status_int == 204
    assert resp.headers['X-Account-Container-Count'] == '0'
    resp = client.request('GET', ACCOUNT + '?format=json')
    assert resp.status_int == 200 and json.loads(resp.body) == []
    resp = client.request('GET', ACCOUNT, headers={'Accept':
                                                   'application/xml'})
    assert b'<account name="AUTH_test">' in resp.body
    # looking did not create it
    assert not cluster.requests_to('PUT', 'account')


def test_missing_account_without_autocreate_is_404(cluster):
    client = Client(make_app(cluster, account_autocreate='false'))
    assert client.request('GET', ACCOUNT).status_int == 404
    assert client.request('PUT', ACCOUNT + '/c').status_int == 404
    assert not cluster.requests_to('PUT', 'container')


def test_container_put_autocreates_account(client, cluster):
    assert client.request('PUT', ACCOUNT + '/c').status_int == 201
    assert len(cluster.requests_to('PUT', 'account')) == 3
    resp = client.request('GET', ACCOUNT)
    assert resp.status_int == 200 and resp.body == b'c\n'


def test_reseller_request_autocreates_even_when_option_off(cluster):
    client = Client(make_app(cluster, account_autocreate='false'))
    resp = client.request('PUT', ACCOUNT + '/c',
                          environ={'reseller_request': True})
    assert resp.status_int == 201


def test_account_put_delete_need_management(cluster):
    client = Client(make_app(cluster))
    resp = client.request('PUT', ACCOUNT)
    assert resp.status_int == 405
    assert 'PUT' not in resp.headers['Allow']
    assert client.request('DELETE', ACCOUNT).status_int == 405
    client = Client(make_app(cluster, allow_account_management='true'))
    assert client.request('PUT', ACCOUNT).status_int == 201
    assert client.request('PUT', ACCOUNT).status_int == 202
    assert client.request('DELETE', ACCOUNT).status_int == 204


def test_account_post_metadata(client):
    client.request('PUT', ACCOUNT + '/c')
    resp = client.request('POST', ACCOUNT,
                          headers={'X-Account-Meta-Color': 'red'})
    assert resp.status_int == 204
    resp = client.request('HEAD', ACCOUNT)
    assert resp.headers['X-Account-Meta-Color'] == 'red'
    resp = client.request('POST', ACCOUNT,
                          headers={'X-Account-Meta-': 'x'})
    assert resp.status_int == 400


def test_account_post_autocreates(client, cluster):
    resp = client.request('POST', ACCOUNT,
                          headers={'X-Account-Meta-Color': 'red'})
    assert resp.status_int == 204
    assert client.request('HEAD', ACCOUNT).headers[
        'X-Account-Meta-Color'] == 'red'


def test_account_name_too_long(client):
    assert client.request('GET', '/v1/' + 'a' * 257).status_int == 400


# ---------------------------------------------------------- containers

def test_container_lifecycle(client, cluster):
    assert client.request('PUT', ACCOUNT + '/c').status_int == 201
    assert client.request('PUT', ACCOUNT + '/c').status_int == 202
    resp = client.request('HEAD', ACCOUNT + '/c')
    assert resp.status_int == 204
    assert resp.headers['X-Container-Object-Count'] == '0'
    client.request('PUT', ACCOUNT + '/c/o', body=b'x')
    assert client.request('DELETE', ACCOUNT + '/c').status_int == 409
    client.request('DELETE', ACCOUNT + '/c/o')
    assert client.request('DELETE', ACCOUNT + '/c').status_int == 204
    assert client.request('HEAD', ACCOUNT + '/c').status_int == 404
    assert client.request('DELETE', ACCOUNT + '/c').status_int == 404


def test_container_put_sends_account_updates(client, cluster):
    client.request('PUT', ACCOUNT + '/c')
    puts = cluster.requests_to('PUT', 'container')
    apart, anodes = cluster.account_ring.get_nodes('AUTH_test')
    assert sorted(h['X-Account-Host'] for _k, _p, h, _q in puts) == \
        sorted('%s:%s' % (n['ip'], n['port']) for n in anodes)
    assert {h['X-Account-Partition'] for _k, _p, h, _q in puts} == \
        {str(apart)}
    assert len({h['X-Timestamp'] for _k, _p, h, _q in puts}) == 1


def test_container_name_rules(client):
    assert client.request('PUT', ACCOUNT + '/' + 'c' * 257).status_int \
        == 400
    assert client.request('PUT', ACCOUNT + '/' + 'c' * 256).status_int \
        == 201


def test_container_metadata(client):
    client.request('PUT', ACCOUNT + '/c',
                   headers={'X-Container-Meta-A': '1'})
    client.request('POST', ACCOUNT + '/c',
                   headers={'X-Container-Meta-B': '2'})
    resp = client.request('HEAD', ACCOUNT + '/c')
    assert resp.headers['X-Container-Meta-A'] == '1'
    assert resp.headers['X-Container-Meta-B'] == '2'
    headers = {'X-Container-Meta-K%d' % i: 'v' for i in range(91)}
    assert client.request('POST', ACCOUNT + '/c',
                          headers=headers).status_int == 400
    assert client.request('POST', ACCOUNT + '/nope').status_int == 404


def test_listing_parameters_pass_through(client, cluster):
    client.request('PUT', ACCOUNT + '/c')
    for name in ('a', 'b/1', 'b/2', 'c', 'd'):
        client.request('PUT', ACCOUNT + '/c/' + name, body=b'x')
    resp = client.request('GET', ACCOUNT + '/c?format=json&marker=a&limit=3')
    assert [e['name'] for e in json.loads(resp.body)] == ['b/1', 'b/2', 'c']
    resp = client.request('GET', ACCOUNT + '/c?delimiter=/')
    assert resp.body == b'a\nb/\nc\nd\n'
    resp = client.request('GET', ACCOUNT + '/c?prefix=b/&end_marker=b/2')
    assert resp.body == b'b/1\n'
    resp = client.request('GET', ACCOUNT + '/c?marker=d')
    assert resp.status_int == 204
    gets = cluster.requests_to('GET', 'container')
    assert gets[-1][3] == 'marker=d'


def test_container_put_survives_down_node(client, cluster):
    part, nodes = cluster.container_ring.get_nodes('AUTH_test', 'c')
    client.request('PUT', ACCOUNT + '/c0')  # account exists
    cluster.down.add(node_key(nodes[0]))
    assert client.request('PUT', ACCOUNT + '/c').status_int == 201
    handoff = next(cluster.container_ring.get_more_nodes(part))
    assert (node_key(handoff), '/AUTH_test/c') in cluster.containers


def test_container_info_cached(client, cluster):
    client.request('PUT', ACCOUNT + '/c')
    client.request('PUT', ACCOUNT + '/c/o1', body=b'x')
    heads = len(cluster.requests_to('HEAD', 'container'))
    client.request('PUT', ACCOUNT + '/c/o2', body=b'x')
    client.request('GET', ACCOUNT + '/c/o2')
    assert len(cluster.requests_to('HEAD', 'container')) == heads
    info = client.cache.get('container/AUTH_test/c')
    assert info['status'] == 204 or info['status'] == 200


def test_container_delete_clears_cache(client, cluster):
    client.request('PUT', ACCOUNT + '/c')
    client.request('HEAD', ACCOUNT + '/c')
    assert client.cache.get('container/AUTH_test/c')
    client.request('DELETE', ACCOUNT + '/c')
    assert client.cache.get('container/AUTH_test/c') is None
    assert client.request('PUT', ACCOUNT + '/c/o', body=b'x').status_int \
        == 404
