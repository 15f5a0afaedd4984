"""Pagination, references and server status (nova.api.openstack.common)."""

import pytest
import webob

from nova import flags
from nova.api.openstack import common
from nova.api.openstack import faults
from nova.compute import power_state

FLAGS = flags.FLAGS
ITEMS = [{'id': i} for i in range(1, 11)]


def _req(query=''):
    return webob.Request.blank('/servers' + query)


def _ids(items):
    return [i['id'] for i in items]


@pytest.mark.parametrize('query,expected', [
    ('', list(range(1, 11))), ('?limit=3', [1, 2, 3]),
    ('?offset=8', [9, 10]), ('?offset=2&limit=2', [3, 4]),
    ('?limit=0', list(range(1, 11))), ('?offset=20', [])])
def test_limit_offset(query, expected):
    assert _ids(common.limited(ITEMS, _req(query))) == expected


def test_limit_is_capped():
    FLAGS.osapi_max_limit = 4
    assert _ids(common.limited(ITEMS, _req('?limit=100'))) == [1, 2, 3, 4]


@pytest.mark.parametrize('query', ['?limit=abc', '?limit=-1', '?offset=-2',
                                   '?offset=x'])
def test_bad_numbers_are_400(query):
    with pytest.raises(faults.Fault) as info:
        common.limited(ITEMS, _req(query))
    assert info.value.code == 400


def test_marker_pages():
    assert _ids(common.limited_by_marker(ITEMS, _req('?limit=3'))) == \
        [1, 2, 3]
    assert _ids(common.limited_by_marker(ITEMS,
                                         _req('?marker=3&limit=3'))) == \
        [4, 5, 6]
    assert _ids(common.limited_by_marker(ITEMS, _req('?marker=10'))) == []
    with pytest.raises(faults.Fault) as info:
        common.limited_by_marker(ITEMS, _req('?marker=99'))
    assert info.value.code == 400


def test_paginate_by_version():
    assert _ids(common.paginate(ITEMS, _req('?offset=8'), '1.0')) == [9, 10]
    # v1.1 pages by marker: offset means nothing there.
    assert len(common.paginate(ITEMS, _req('?offset=8'), '1.1')) == 10


@pytest.mark.parametrize('ref,expected', [
    (3, 3), ('3', 3), ('http://h:8774/v1.1/p/images/12', 12),
    ('http://h/v1.1/p/flavors/2/', 2)])
def test_id_from_ref(ref, expected):
    assert common.id_from_ref(ref, 'imageRef') == expected


@pytest.mark.parametrize('ref', ['abc', '', None, True, 'http://h/images/x',
                                 [1]])
def test_bad_refs_are_400(ref):
    with pytest.raises(faults.Fault) as info:
        common.id_from_ref(ref, 'imageRef')
    assert info.value.code == 400


def test_changes_since():
    assert common.changes_since(_req()) is None
    since = common.changes_since(_req('?changes-since=2011-01-24T17:08:01Z'))
    assert (since.year, since.hour, since.second) == (2011, 17, 1)
    with pytest.raises(faults.Fault):
        common.changes_since(_req('?changes-since=yesterday'))


@pytest.mark.parametrize('description,state,version,expected', [
    ('scheduling', power_state.NOSTATE, '1.0', ('BUILD', 0)),
    ('running', power_state.RUNNING, '1.0', ('ACTIVE', 100)),
    ('rebooting', power_state.RUNNING, '1.0', ('REBOOT', 100)),
    ('rebooting_hard', power_state.RUNNING, '1.1', ('HARD_REBOOT', 100)),
    ('rescued', power_state.RUNNING, '1.0', ('RESCUE', 100)),
    ('resizing', power_state.RUNNING, '1.0', ('RESIZE', 0)),
    ('resize_verify', power_state.RUNNING, '1.1', ('VERIFY_RESIZE', 100)),
    ('error', power_state.FAILED, '1.0', ('ERROR', 100)),
    ('suspended', power_state.SUSPENDED, '1.0', ('SUSPENDED', 100)),
    ('terminating', power_state.RUNNING, '1.0', ('DELETED', 100)),
    ('rebuilding', power_state.RUNNING, '1.1', ('REBUILD', 0)),
    ('rebuilding', power_state.RUNNING, '1.0', ('BUILD', 0)),
    ('shutdown', power_state.SHUTOFF, '1.1', ('SHUTOFF', 100)),
    ('odd', 42, '1.0', ('UNKNOWN', 100)),
])
def test_server_status(description, state, version, expected):
    instance = {'state_description': description, 'state': state}
    assert common.server_status(instance, version) == expected


def test_deleted_status():
    assert common.server_status({'deleted': True, 'state': 1},
                                '1.1') == ('DELETED', 100)
