"""nova-manage floating create|delete|list on SQLite."""

import pytest

from nova import context
from nova import exception
from nova.cli import manage_compute
from nova.db import api as db
from tests.unit.db.conftest import _template_db, sqlite_db  # noqa: F401


@pytest.fixture
def cmds(sqlite_db):  # noqa: F811
    return manage_compute.FloatingIpCommands()


def addresses(host=None):
    ctxt = context.get_admin_context()
    rows = db.floating_ip_get_all_by_host(ctxt, host) if host else \
        db.floating_ip_get_all(ctxt)
    return sorted((r['host'], r['address']) for r in rows)


def test_create_list_delete(cmds, capsys):
    cmds.create('net1', '198.51.100.0/30')
    cmds.create('net2', '198.51.100.9')
    assert addresses() == [('net1', '198.51.100.1'), ('net1', '198.51.100.2'),
                           ('net2', '198.51.100.9')]
    capsys.readouterr()
    ctxt = context.get_admin_context()
    inst = db.instance_create(ctxt, {'project_id': 'p', 'user_id': 'u'})
    net = db.network_create(ctxt, {'cidr': '10.0.0.0/30', 'bridge': 'b'})
    db.fixed_ip_create(ctxt, {'address': '10.0.0.2', 'network_id': net['id'],
                              'instance_id': inst['id']})
    db.floating_ip_update(ctxt, '198.51.100.2', {'project_id': 'p'})
    db.floating_ip_fixed_ip_associate(ctxt, '198.51.100.2', '10.0.0.2')
    cmds.list('net1')
    out = capsys.readouterr().out.splitlines()
    assert out == ['net1\t198.51.100.1\t-\t-\t-',
                   'net1\t198.51.100.2\tp\t10.0.0.2\ti-%08x' % inst['id']]
    with pytest.raises(exception.InvalidState):
        cmds.delete('198.51.100.0/30')
    assert len(addresses()) == 3          # nothing half-deleted
    cmds.delete('198.51.100.9/32')
    assert addresses('net2') == []


@pytest.mark.parametrize('bad', ['banana', '10.0.0.0/8', 'fd00::/120'])
def test_bad_ranges_make_nothing(cmds, bad):
    with pytest.raises(exception.InvalidInput):
        cmds.create('net1', bad)
    assert addresses() == []


def test_duplicates_refused_whole(cmds):
    cmds.create('net1', '198.51.100.2')
    with pytest.raises(exception.InvalidInput):
        cmds.create('net1', '198.51.100.0/30')
    assert addresses() == [('net1', '198.51.100.2')]
    with pytest.raises(exception.FloatingIpNotFound):
        cmds.delete('198.51.100.0/30')
