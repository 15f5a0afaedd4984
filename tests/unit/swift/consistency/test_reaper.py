"""The account reaper empties a DELETEd account through the storage nodes."""

import os
import time

from webob import Request

from swift.account.reaper import AccountReaper
from swift.account.server import AccountController
from swift.common.db import AccountBroker, ContainerBroker
from swift.common.utils import hash_path, storage_directory
from swift.container.server import ContainerController
from swift.obj.server import ObjectController


def request(app, path, method, **headers):
    headers = {k.replace('_', '-'): v for k, v in headers.items()}
    req = Request.blank(path, method=method, headers=headers)
    if method == 'PUT':
        req.body = b''
    return req.get_response(app)


def db(nodes, index, datadir, part, *names):
    name_hash = hash_path(*names)
    return os.path.join(storage_directory(
        os.path.join(nodes.device_path(index), datadir), part, name_hash),
        name_hash + '.db')


def build(nodes):
    """Account AUTH_a with container c holding objects o1, o2; deleted."""
    rings = {kind: nodes.serve(kind)
             for kind in ('account', 'container', 'object')}
    apart, anodes = rings['account'].get_nodes('AUTH_a')
    cpart, cnodes = rings['container'].get_nodes('AUTH_a', 'c')
    for node in anodes:
        index = nodes.index_of(node)
        app = AccountController(nodes.conf_for_app(index))
        assert request(app, '/sd%d/%d/AUTH_a' % (index, apart), 'PUT',
                       X_Timestamp='1').status_int == 201
        assert request(app, '/sd%d/%d/AUTH_a/c' % (index, apart), 'PUT',
                       X_Put_Timestamp='2', X_Delete_Timestamp='0',
                       X_Object_Count='2',
                       X_Bytes_Used='0').status_int == 201
    for node in cnodes:
        index = nodes.index_of(node)
        app = ContainerController(nodes.conf_for_app(index))
        assert request(app, '/sd%d/%d/AUTH_a/c' % (index, cpart), 'PUT',
                       X_Timestamp='2').status_int == 201
    for name in ('o1', 'o2'):
        opart, onodes = rings['object'].get_nodes('AUTH_a', 'c', name)
        for onode, cnode in zip(onodes, cnodes):
            index = nodes.index_of(onode)
            app = ObjectController(nodes.conf_for_app(index))
            resp = request(
                app, '/sd%d/%d/AUTH_a/c/%s' % (index, opart, name), 'PUT',
                X_Timestamp=str(time.time()), Content_Length='0',
                Content_Type='t',
                X_Container_Host='127.0.0.1:%d' % cnode['port'],
                X_Container_Partition=str(cpart),
                X_Container_Device=cnode['device'])
            assert resp.status_int == 201
    for node in cnodes:
        assert ContainerBroker(db(nodes, nodes.index_of(node), 'containers',
                                  cpart, 'AUTH_a', 'c')).get_info()[
            'object_count'] == 2
    for node in anodes:
        index = nodes.index_of(node)
        app = AccountController(nodes.conf_for_app(index))
        assert request(app, '/sd%d/%d/AUTH_a' % (index, apart), 'DELETE',
                       X_Timestamp='3').status_int == 204
    return rings, apart, anodes, cpart, cnodes


def test_reaper_deletes_objects_and_containers(nodes):
    rings, apart, anodes, cpart, cnodes = build(nodes)
    # only the first primary's node reaps
    others = [n for n in range(1, nodes.count + 1)
              if n != nodes.index_of(anodes[0])]
    for index in others:
        stats = AccountReaper(nodes.conf(index, 'account')).run_once()
        assert stats['accounts'] == 0
    first = nodes.index_of(anodes[0])
    stats = AccountReaper(nodes.conf(first, 'account')).run_once()
    assert stats['accounts'] == 1 and stats['objects_deleted'] == 2, stats
    assert stats['containers_deleted'] == 1, stats
    for name in ('o1', 'o2'):
        opart, onodes = rings['object'].get_nodes('AUTH_a', 'c', name)
        for onode in onodes:
            app = ObjectController(nodes.conf_for_app(nodes.index_of(onode)))
            assert request(app, '/%s/%d/AUTH_a/c/%s' % (
                onode['device'], opart, name), 'HEAD').status_int == 404
    for node in cnodes:
        assert ContainerBroker(db(nodes, nodes.index_of(node), 'containers',
                                  cpart, 'AUTH_a', 'c')).is_deleted()
    account = AccountBroker(db(nodes, first, 'accounts', apart, 'AUTH_a'))
    assert account.get_info()['container_count'] == 0
    # a second pass has nothing left to do
    stats = AccountReaper(nodes.conf(first, 'account')).run_once()
    assert stats['containers_deleted'] == 0 and stats['accounts'] == 1


def test_delay_reaping_waits(nodes):
    _rings, _apart, anodes, cpart, cnodes = build(nodes)
    first = nodes.index_of(anodes[0])
    # the DELETE was stamped "3" (1970): make it recent instead
    account = AccountBroker(db(nodes, first, 'accounts', _apart, 'AUTH_a'))
    with account.transaction() as conn:
        conn.execute('UPDATE account_stat SET status_changed_at = ?',
                     (str(time.time()),))
    stats = AccountReaper(nodes.conf(first, 'account',
                                     delay_reaping=3600)).run_once()
    assert stats['containers_deleted'] == 0
    assert not ContainerBroker(db(nodes, nodes.index_of(cnodes[0]),
                                  'containers', cpart, 'AUTH_a',
                                  'c')).is_deleted()
