"""networks, fixed IPs and floating IPs."""

import datetime

import pytest

from nova import db
from nova import exception
from nova import utils


def _network(ctx, cidr='10.0.0.0/28', count=6, **kw):
    values = {'cidr': cidr, 'bridge': 'br100', 'netmask': '255.255.255.240',
              'gateway': cidr.rsplit('.', 1)[0] + '.1'}
    values.update(kw)
    net = db.network_create(ctx, values)
    prefix = cidr.rsplit('.', 1)[0]
    db.fixed_ip_bulk_create(ctx, [
        {'address': '%s.%d' % (prefix, n), 'network_id': net.id,
         'reserved': n < 2} for n in range(count)])
    return net


def test_networks(ctx):
    net = _network(ctx, vlan=100, label='private')
    assert db.network_get(ctx, net.id).label == 'private'
    assert db.network_get_by_bridge(ctx, 'br100').id == net.id
    assert db.network_get_by_cidr(ctx, '10.0.0.0/28').id == net.id
    with pytest.raises(exception.Duplicate):
        db.network_create(ctx, {'cidr': '10.0.0.0/28'})
    assert db.network_create_safe(ctx, {'cidr': '10.0.0.0/28'}) is None
    with pytest.raises(exception.NetworkNotFound):
        db.network_get(ctx, 999)
    with pytest.raises(exception.NetworkNotFound):
        db.network_get_by_bridge(ctx, 'br999')
    assert db.network_update(ctx, net.id, {'dns': '8.8.8.8'}).dns == \
        '8.8.8.8'
    assert db.network_count(ctx) == 1
    assert db.network_count_reserved_ips(ctx, net.id) == 2
    assert db.network_count_available_ips(ctx, net.id) == 4
    assert db.network_count_allocated_ips(ctx, net.id) == 0


def test_set_host_is_claimed_once(ctx):
    net = _network(ctx)
    assert db.network_set_host(ctx, net.id, 'n1') == 'n1'
    assert db.network_set_host(ctx, net.id, 'n2') == 'n1'
    assert [n.id for n in db.network_get_all_by_host(ctx, 'n1')] == [net.id]


def test_project_networks(ctx, user_ctx):
    a = _network(ctx, '10.0.0.0/28')
    b = _network(ctx, '10.0.1.0/28', bridge='br101')
    got = db.project_get_network(user_ctx, 'proj1')
    assert got.id == a.id and got.project_id == 'proj1'
    assert db.project_get_network(user_ctx, 'proj1').id == a.id
    assert db.network_associate(ctx, 'proj2').id == b.id
    with pytest.raises(exception.NetworkNotFound):
        db.network_associate(ctx, 'proj3')
    with pytest.raises(exception.NetworkNotFound):
        db.project_get_network(ctx, 'proj3', associate=False)
    # A user sees its own project's network only.
    assert [n.id for n in db.network_get_all(user_ctx)] == [a.id]
    with pytest.raises(exception.NetworkNotFound):
        db.network_get(user_ctx, b.id)
    with pytest.raises(exception.NotAuthorized):
        db.project_get_network(user_ctx, 'proj2')
    db.network_disassociate(ctx, b.id)
    assert db.network_associate(ctx, 'proj3').id == b.id
    db.network_disassociate_all(ctx)
    assert all(n.project_id is None for n in db.network_get_all(ctx))


def test_fixed_ip_pool(ctx):
    net = _network(ctx, count=4)   # .0 and .1 reserved, .2 and .3 free
    i1 = db.instance_create(ctx, {'project_id': 'proj1'})
    i2 = db.instance_create(ctx, {'project_id': 'proj1'})
    i3 = db.instance_create(ctx, {'project_id': 'proj1'})
    assert db.fixed_ip_associate_pool(ctx, net.id, i1.id) == '10.0.0.2'
    assert db.fixed_ip_associate_pool(ctx, net.id, i2.id) == '10.0.0.3'
    with pytest.raises(exception.FixedIpNotFound):
        db.fixed_ip_associate_pool(ctx, net.id, i3.id)
    ip = db.fixed_ip_get_by_address(ctx, '10.0.0.2')
    assert ip.instance.id == i1.id and ip.network.id == net.id
    assert db.fixed_ip_get_instance(ctx, '10.0.0.3').id == i2.id
    assert db.fixed_ip_get_network(ctx, '10.0.0.3').id == net.id
    assert [f.address for f in db.fixed_ip_get_all_by_instance(
        ctx, i1.id)] == ['10.0.0.2']
    assert [f.address for f in db.network_get_associated_fixed_ips(
        ctx, net.id)] == ['10.0.0.2', '10.0.0.3']
    assert db.network_get_by_instance(ctx, i1.id).id == net.id
    db.fixed_ip_disassociate(ctx, '10.0.0.2')
    assert db.fixed_ip_associate_pool(ctx, net.id, i3.id) == '10.0.0.2'


def test_fixed_ip_associate_given_address(ctx):
    net = _network(ctx)
    vpn = db.instance_create(ctx, {'project_id': 'proj1'})
    other = db.instance_create(ctx, {'project_id': 'proj1'})
    # A reserved address (the VPN's) can be given explicitly.
    assert db.fixed_ip_associate(ctx, '10.0.0.1', vpn.id).instance.id == \
        vpn.id
    with pytest.raises(exception.InvalidState):
        db.fixed_ip_associate(ctx, '10.0.0.1', other.id)
    with pytest.raises(exception.FixedIpNotFound):
        db.fixed_ip_associate(ctx, '10.9.9.9', other.id)
    with pytest.raises(exception.InstanceNotFound):
        db.fixed_ip_associate(ctx, '10.0.0.2', 999)
    assert db.network_count_available_ips(ctx, net.id) == 4


def test_fixed_ip_update_and_visibility(ctx, user_ctx, other_ctx):
    _network(ctx)
    inst = db.instance_create(ctx, {'project_id': 'proj1'})
    db.fixed_ip_associate(ctx, '10.0.0.4', inst.id)
    ip = db.fixed_ip_update(ctx, '10.0.0.4', {'allocated': True,
                                              'leased': True})
    assert ip.allocated and ip.leased and ip.instance.id == inst.id
    assert db.fixed_ip_get_by_address(user_ctx, '10.0.0.4').id == ip.id
    with pytest.raises(exception.FixedIpNotFound):
        db.fixed_ip_get_by_address(other_ctx, '10.0.0.4')
    with pytest.raises(exception.FixedIpNotFound):
        db.fixed_ip_get_by_address(ctx, '1.2.3.4')
    with pytest.raises(exception.Duplicate):
        db.fixed_ip_create(ctx, {'address': '10.0.0.4'})


def test_disassociate_by_timeout(ctx, monkeypatch):
    net = _network(ctx, host='n1')
    other = _network(ctx, '10.0.1.0/28', bridge='br101', host='n2')
    inst = db.instance_create(ctx, {'project_id': 'proj1'})
    old = datetime.datetime(2011, 1, 1, 0, 0, 0)
    monkeypatch.setattr(utils, 'utcnow', lambda: old)
    db.fixed_ip_associate(ctx, '10.0.0.2', inst.id)     # stale, unallocated
    db.fixed_ip_associate(ctx, '10.0.0.3', inst.id)
    db.fixed_ip_update(ctx, '10.0.0.3', {'allocated': True})   # in use
    db.fixed_ip_associate(ctx, '10.0.1.2', inst.id)     # another host's
    monkeypatch.undo()
    db.fixed_ip_associate(ctx, '10.0.0.4', inst.id)     # fresh
    cutoff = old + datetime.timedelta(minutes=10)
    assert db.fixed_ip_disassociate_all_by_timeout(ctx, 'n1', cutoff) == 1
    assert db.fixed_ip_get_by_address(ctx, '10.0.0.2').instance is None
    for address in ('10.0.0.3', '10.0.0.4', '10.0.1.2'):
        assert db.fixed_ip_get_by_address(ctx, address).instance.id == \
            inst.id
    assert other.id != net.id


def test_network_delete_safe(ctx):
    net = _network(ctx)
    inst = db.instance_create(ctx, {'project_id': 'proj1'})
    db.fixed_ip_associate_pool(ctx, net.id, inst.id)
    with pytest.raises(exception.InvalidState):
        db.network_delete_safe(ctx, net.id)
    assert db.network_get(ctx, net.id)
    db.fixed_ip_disassociate(ctx, '10.0.0.2')
    db.network_delete_safe(ctx, net.id)
    with pytest.raises(exception.NetworkNotFound):
        db.network_get(ctx, net.id)
    with pytest.raises(exception.FixedIpNotFound):
        db.fixed_ip_get_by_address(ctx, '10.0.0.2')
    # The range may be created again.
    _network(ctx)


def test_floating_ips(ctx, user_ctx, other_ctx):
    _network(ctx)
    inst = db.instance_create(ctx, {'project_id': 'proj1'})
    db.fixed_ip_associate(ctx, '10.0.0.2', inst.id)
    for n in (1, 2):
        db.floating_ip_create(ctx, {'address': '4.4.4.%d' % n,
                                    'host': 'n1'})
    db.floating_ip_create(ctx, {'address': '5.5.5.5', 'host': 'n2'})
    with pytest.raises(exception.Duplicate):
        db.floating_ip_create(ctx, {'address': '4.4.4.1', 'host': 'n1'})
    assert db.floating_ip_allocate_address(user_ctx, 'n1', 'proj1') == \
        '4.4.4.1'
    assert db.floating_ip_allocate_address(ctx, 'n1', 'proj2') == '4.4.4.2'
    with pytest.raises(exception.FloatingIpNotFound):
        db.floating_ip_allocate_address(ctx, 'n1', 'proj1')
    with pytest.raises(exception.NotAuthorized):
        db.floating_ip_allocate_address(user_ctx, 'n2', 'proj2')

    db.floating_ip_fixed_ip_associate(user_ctx, '4.4.4.1', '10.0.0.2')
    fl = db.floating_ip_get_by_address(user_ctx, '4.4.4.1')
    assert fl.fixed_ip.address == '10.0.0.2'
    assert fl.fixed_ip.instance.id == inst.id
    assert fl.fixed_ip.instance.fixed_ip.floating_ips[0].address == '4.4.4.1'
    with pytest.raises(exception.FloatingIpNotFound):
        db.floating_ip_get_by_address(other_ctx, '4.4.4.1')
    assert [f.address for f in db.floating_ip_get_all(user_ctx)] == \
        ['4.4.4.1']
    assert [f.address for f in db.floating_ip_get_all_by_project(
        ctx, 'proj2')] == ['4.4.4.2']
    assert [f.address for f in db.floating_ip_get_all_by_host(
        ctx, 'n1')] == ['4.4.4.1', '4.4.4.2']
    # An associated address cannot go back to the pool.
    with pytest.raises(exception.InvalidState):
        db.floating_ip_deallocate(user_ctx, '4.4.4.1')
    assert db.floating_ip_disassociate(user_ctx, '4.4.4.1') == '10.0.0.2'
    assert db.floating_ip_disassociate(user_ctx, '4.4.4.1') is None
    db.floating_ip_deallocate(user_ctx, '4.4.4.1')
    assert db.floating_ip_get_by_address(ctx, '4.4.4.1').project_id is None
    db.floating_ip_destroy(ctx, '5.5.5.5')
    with pytest.raises(exception.FloatingIpNotFound):
        db.floating_ip_get_by_address(ctx, '5.5.5.5')
    assert db.floating_ip_update(ctx, '4.4.4.2', {'host': 'n3'}).host == 'n3'
