"""FlatDHCPManager and VlanManager on SQLite and a recording host:
bridges, dnsmasq (command line, hosts file, HUP vs restart), lease
lifecycle, VLAN naming and isolation rules, floating IP NAT, quota."""

import datetime
import os

import pytest

from nova import context
from nova import exception
from nova import flags
from nova import utils
from nova.db import api as db
from nova.network import api as network_api
from nova.network import iptables
from nova.network import linux_net
from nova.network import manager
from tests.unit.db.conftest import _template_db, sqlite_db  # noqa: F401
from tests.unit.network.fake_host import FakeHost

FLAGS = flags.FLAGS


@pytest.fixture
def host(sqlite_db, tmp_path, monkeypatch):  # noqa: F811
    fake = FakeHost(tmp_path)
    monkeypatch.setattr(utils, 'execute', fake)
    monkeypatch.setattr(linux_net, 'iptables_manager',
                        iptables.IptablesManager(binary='network'))
    FLAGS.networks_path = str(tmp_path / 'networks')
    FLAGS.iptables_lock_file = str(tmp_path / 'iptables.lock')
    FLAGS.state_path = str(tmp_path)
    FLAGS.fixed_range = '10.20.0.0/16'
    FLAGS.routing_source_ip = '192.0.2.10'
    FLAGS.ec2_dmz_host = '192.0.2.20'
    FLAGS.ec2_port = 8773
    FLAGS.public_interface = 'eth0'
    FLAGS.rpc_backend = 'fake'
    yield fake
    fake.stop()


@pytest.fixture
def admin(host):
    return context.get_admin_context()


def _instance(admin, n, project='p1'):
    return db.instance_create(admin, {
        'project_id': project, 'user_id': 'u', 'hostname': 'vm%d' % n,
        'mac_address': '02:16:3e:00:00:%02x' % n})


@pytest.fixture
def flatdhcp(admin):
    FLAGS.flat_network_bridge = 'br100'
    FLAGS.flat_interface = None
    mgr = manager.FlatDHCPManager(host='net1')
    mgr.create_networks(admin, '10.20.0.0/24', 1, 256)
    mgr.init_host()
    return mgr


def hosts_file(bridge='br100'):
    with open(os.path.join(FLAGS.networks_path,
                           'nova-%s.conf' % bridge)) as f:
        return f.read()


def test_flatdhcp_allocation_sets_up_bridge_dnsmasq_and_hosts(flatdhcp, admin,
                                                              host):
    inst = _instance(admin, 1)
    [vif] = flatdhcp.allocate_for_instance(admin, inst['id'])
    assert vif['ip'] == '10.20.0.2'
    assert vif['bridge'] == 'br100'
    assert vif['should_create_bridge'] and not vif['should_create_vlan']
    assert vif['injected'] is False
    assert 'br100' in host.links
    assert host.addresses['br100'] == ['10.20.0.1/24']
    assert db.network_get_all(admin)[0]['host'] == 'net1'
    assert hosts_file() == '02:16:3e:00:00:01,vm1.novalocal,10.20.0.2\n'

    [started] = host.dnsmasq
    argv = started['argv']
    networks = FLAGS.networks_path
    assert argv == [
        'dnsmasq', '--strict-order', '--bind-interfaces', '--conf-file=',
        '--pid-file=%s/nova-br100.pid' % networks,
        '--listen-address=10.20.0.1', '--except-interface=lo',
        '--dhcp-range=10.20.0.2,static,120s',
        '--dhcp-hostsfile=%s/nova-br100.conf' % networks,
        '--dhcp-script=%s' % FLAGS.dhcpbridge, '--leasefile-ro']
    assert started['env']['DNSMASQ_INTERFACE'] == 'br100'
    assert started['env']['NOVA_NETWORK_HOST'] == 'net1'
    flagfile = started['env']['FLAGFILE']
    with open(flagfile) as f:
        text = f.read()
    assert '--sql_connection=%s\n' % FLAGS.sql_connection in text
    assert '--host=%s\n' % FLAGS.host in text
    assert oct(os.stat(flagfile).st_mode & 0o777) == '0o600'

    # A second guest: hosts file rewritten, dnsmasq HUPed, not restarted.
    inst2 = _instance(admin, 2)
    flatdhcp.allocate_for_instance(admin, inst2['id'])
    assert len(host.dnsmasq) == 1
    assert host.wait_hups(1) == 1
    assert hosts_file().splitlines() == [
        '02:16:3e:00:00:01,vm1.novalocal,10.20.0.2',
        '02:16:3e:00:00:02,vm2.novalocal,10.20.0.3']


def test_dnsmasq_restarted_when_dead_or_foreign(flatdhcp, admin, host):
    flatdhcp.allocate_for_instance(admin, _instance(admin, 1)['id'])
    first = host.dnsmasq[0]['proc']
    first.terminate()
    first.wait(10)
    flatdhcp.allocate_for_instance(admin, _instance(admin, 2)['id'])
    assert len(host.dnsmasq) == 2
    # A pid file naming some other process (pid reuse) is not trusted.
    with open(os.path.join(FLAGS.networks_path, 'nova-br100.pid'), 'w') as f:
        f.write('%d\n' % os.getpid())
    flatdhcp.allocate_for_instance(admin, _instance(admin, 3)['id'])
    assert len(host.dnsmasq) == 3


def test_nat_and_metadata_rules(flatdhcp, host):
    nat = host.iptables.rules('nat')
    assert '-A nova-network-snat -s 10.20.0.0/16 -j SNAT --to-source ' \
        '192.0.2.10' in nat
    assert '-A nova-network-snat -j nova-network-floating-snat' in nat
    assert nat.index('-A nova-network-snat -j nova-network-floating-snat') \
        < nat.index('-A nova-network-snat -s 10.20.0.0/16 -j SNAT '
                    '--to-source 192.0.2.10')
    assert '-A nova-network-POSTROUTING -s 10.20.0.0/16 -d 10.128.0.0/24 ' \
        '-j ACCEPT' in nat
    assert '-A nova-network-PREROUTING -d 169.254.169.254/32 -p tcp -m tcp ' \
        '--dport 80 -j DNAT --to-destination 192.0.2.20:8773' in nat


def test_lease_release_lifecycle(flatdhcp, admin, host):
    inst = _instance(admin, 1)
    flatdhcp.allocate_for_instance(admin, inst['id'])
    # The wrong MAC does not lease it.
    assert not flatdhcp.lease_fixed_ip(admin, '10.20.0.2',
                                       mac='02:16:3e:00:00:99')
    assert not db.fixed_ip_get_by_address(admin, '10.20.0.2')['leased']
    assert flatdhcp.lease_fixed_ip(admin, '10.20.0.2',
                                   mac='02:16:3E:00:00:01')
    assert db.fixed_ip_get_by_address(admin, '10.20.0.2')['leased']

    flatdhcp.deallocate_for_instance(admin, inst['id'])
    row = db.fixed_ip_get_by_address(admin, '10.20.0.2')
    # Still bound until dnsmasq says the lease ended; out of the hosts file.
    assert not row['allocated'] and row['instance_id'] == inst['id']
    assert host.released == [('br100', '10.20.0.2', '02:16:3e:00:00:01')]
    assert hosts_file() == ''
    # Not handed to another instance meanwhile.
    [vif] = flatdhcp.allocate_for_instance(admin, _instance(admin, 2)['id'])
    assert vif['ip'] == '10.20.0.3'

    assert flatdhcp.release_fixed_ip(admin, '10.20.0.2',
                                     mac='02:16:3e:00:00:01')
    row = db.fixed_ip_get_by_address(admin, '10.20.0.2')
    assert row['instance_id'] is None and not row['leased']


def test_never_leased_address_is_freed_at_once(flatdhcp, admin, host):
    inst = _instance(admin, 1)
    flatdhcp.allocate_for_instance(admin, inst['id'])
    flatdhcp.deallocate_for_instance(admin, inst['id'])
    assert db.fixed_ip_get_by_address(admin, '10.20.0.2')['instance_id'] \
        is None
    assert host.released == []


def test_release_of_allocated_address_keeps_it(flatdhcp, admin):
    inst = _instance(admin, 1)
    flatdhcp.allocate_for_instance(admin, inst['id'])
    flatdhcp.lease_fixed_ip(admin, '10.20.0.2', mac='02:16:3e:00:00:01')
    # The guest let its lease go but still runs: it keeps its address.
    flatdhcp.release_fixed_ip(admin, '10.20.0.2', mac='02:16:3e:00:00:01')
    row = db.fixed_ip_get_by_address(admin, '10.20.0.2')
    assert row['instance_id'] == inst['id'] and row['allocated']


def test_disassociate_timeout(flatdhcp, admin):
    inst = _instance(admin, 1)
    flatdhcp.allocate_for_instance(admin, inst['id'])
    flatdhcp.lease_fixed_ip(admin, '10.20.0.2', mac='02:16:3e:00:00:01')
    flatdhcp.deallocate_for_instance(admin, inst['id'])
    FLAGS.fixed_ip_disassociate_timeout = 600
    assert flatdhcp.disassociate_stale_fixed_ips(admin) == 0
    assert db.fixed_ip_get_by_address(admin, '10.20.0.2')['instance_id']
    later = utils.utcnow() + datetime.timedelta(seconds=601)
    original = utils.utcnow
    try:
        utils.utcnow = lambda: later
        assert flatdhcp.disassociate_stale_fixed_ips(admin) == 1
    finally:
        utils.utcnow = original
    assert db.fixed_ip_get_by_address(admin, '10.20.0.2')['instance_id'] \
        is None


def test_restart_rebuilds_identical_rules_and_restarts_nothing(
        flatdhcp, admin, host):
    flatdhcp.allocate_for_instance(admin, _instance(admin, 1)['id'])
    before = iptables.normalize(host.iptables.text['iptables'])
    linux_net.iptables_manager = iptables.IptablesManager(binary='network')
    restores = len(host.iptables.restores)
    again = manager.FlatDHCPManager(host='net1')
    again.init_host()
    assert iptables.normalize(host.iptables.text['iptables']) == before
    assert len(host.iptables.restores) == restores
    assert len(host.dnsmasq) == 1     # still running: HUP, no restart
    assert host.wait_hups(1) == 1


# -- VLAN ----------------------------------------------------------------------

@pytest.fixture
def vlan(admin):
    FLAGS.vlan_interface = 'eth0'
    mgr = manager.VlanManager(host='net1')
    mgr.create_networks(admin, '10.20.0.0/16', 3, 16, vlan_start=200,
                        vpn_start=2000)
    mgr.init_host()
    return mgr


def test_vlan_networks_layout(vlan, admin):
    nets = db.network_get_all(admin)
    assert [(n['vlan'], n['bridge'], n['cidr'], n['vpn_public_port'])
            for n in nets] == [(200, 'br200', '10.20.0.0/28', 2000),
                               (201, 'br201', '10.20.0.16/28', 2001),
                               (202, 'br202', '10.20.0.32/28', 2002)]
    assert nets[1]['gateway'] == '10.20.0.17'
    assert nets[1]['vpn_private_address'] == '10.20.0.18'
    assert nets[1]['dhcp_start'] == '10.20.0.19'
    assert db.fixed_ip_get_by_address(admin, '10.20.0.18')['reserved']


def test_bad_vlan_range_makes_nothing(admin):
    mgr = manager.VlanManager(host='net1')
    with pytest.raises(exception.InvalidInput):
        mgr.create_networks(admin, '10.20.0.0/16', 3, 16, vlan_start=4093)
    assert db.network_get_all(admin) == []


def test_vlan_projects_get_own_network_and_isolation(vlan, admin, host):
    a = _instance(admin, 1, project='pa')
    b = _instance(admin, 2, project='pb')
    a2 = _instance(admin, 3, project='pa')
    [va] = vlan.allocate_for_instance(admin, a['id'])
    [vb] = vlan.allocate_for_instance(admin, b['id'])
    [va2] = vlan.allocate_for_instance(admin, a2['id'])
    assert (va['bridge'], va['vlan'], va['ip']) == ('br200', 200,
                                                    '10.20.0.3')
    assert (vb['bridge'], vb['vlan'], vb['ip']) == ('br201', 201,
                                                    '10.20.0.19')
    assert va2['bridge'] == 'br200' and va2['ip'] == '10.20.0.4'
    assert va['should_create_vlan'] and va['bridge_interface'] == 'eth0'
    assert {'vlan200', 'vlan201', 'br200', 'br201'} <= host.links
    assert host.masters['vlan200'] == 'br200'
    assert host.ran('ip', 'link', 'add', 'link', 'eth0', 'name', 'vlan200',
                    'type', 'vlan', 'id', '200')
    assert host.addresses['br201'] == ['10.20.0.17/28']
    assert len(host.dnsmasq) == 2
    filt = host.iptables.rules('filter')
    assert '-A nova-network-FORWARD -i br200 -o br201 -j DROP' in filt
    assert '-A nova-network-FORWARD -i br201 -o br200 -j DROP' in filt
    assert filt.index('-A nova-network-FORWARD -i br200 -o br201 -j DROP') \
        < filt.index('-A nova-network-FORWARD -i br200 -j ACCEPT')
    assert db.project_get_network(admin, 'pa')['vlan'] == 200


def test_compute_side_setup_makes_vlan_bridge_without_address(host):
    linux_net.setup_compute_network([{
        'bridge': 'br300', 'vlan': 300, 'should_create_bridge': True,
        'should_create_vlan': True, 'bridge_interface': 'eth0'}])
    assert {'vlan300', 'br300'} <= host.links
    assert host.masters['vlan300'] == 'br300'
    assert 'br300' not in host.addresses
    linux_net.setup_compute_network([{'bridge': 'br9',
                                      'should_create_bridge': False}])
    assert 'br9' not in host.links


# -- floating IPs --------------------------------------------------------------

def _pool(admin, *addresses, host_name='net1'):
    for address in addresses:
        db.floating_ip_create(admin, {'address': address, 'host': host_name})


def test_floating_ip_nat_and_unbind(flatdhcp, admin, host):
    inst = _instance(admin, 1)
    flatdhcp.allocate_for_instance(admin, inst['id'])
    _pool(admin, '198.51.100.5')
    address = flatdhcp.allocate_floating_ip(admin, project_id='p1')
    assert address == '198.51.100.5'
    flatdhcp.associate_floating_ip(admin, address, '10.20.0.2')
    nat = host.iptables.rules('nat')
    assert '-A nova-network-PREROUTING -d 198.51.100.5/32 -j DNAT ' \
        '--to-destination 10.20.0.2' in nat
    assert '-A nova-network-OUTPUT -d 198.51.100.5/32 -j DNAT ' \
        '--to-destination 10.20.0.2' in nat
    assert '-A nova-network-floating-snat -s 10.20.0.2/32 -j SNAT ' \
        '--to-source 198.51.100.5' in nat
    assert host.addresses['eth0'] == ['198.51.100.5/32']

    # Restarted: rebinds and rebuilds the same.
    before = iptables.normalize(host.iptables.text['iptables'])
    linux_net.iptables_manager = iptables.IptablesManager(binary='network')
    host.addresses['eth0'] = []
    manager.FlatDHCPManager(host='net1').init_host()
    assert iptables.normalize(host.iptables.text['iptables']) == before
    assert host.addresses['eth0'] == ['198.51.100.5/32']

    assert flatdhcp.disassociate_floating_ip(admin, address) == '10.20.0.2'
    linux_net.iptables_manager.apply()
    text = host.iptables.text['iptables']
    assert '198.51.100.5' not in text
    assert host.addresses['eth0'] == []


def test_terminate_unbinds_floating_ip(flatdhcp, admin, host):
    inst = _instance(admin, 1)
    flatdhcp.allocate_for_instance(admin, inst['id'])
    _pool(admin, '198.51.100.6')
    flatdhcp.allocate_floating_ip(admin, project_id='p1')
    flatdhcp.associate_floating_ip(admin, '198.51.100.6', '10.20.0.2')
    flatdhcp.deallocate_for_instance(admin, inst['id'])
    assert '198.51.100.6' not in host.iptables.text['iptables']
    floating = db.floating_ip_get_by_address(admin, '198.51.100.6')
    assert floating['fixed_ip_id'] is None and floating['project_id'] == 'p1'


def test_floating_api_quota_ownership_and_release(flatdhcp, admin, host):
    import nova.quota  # noqa: F401 - defines quota_floating_ips
    from nova import rpc
    from nova.rpc import impl_fake
    FLAGS.quota_floating_ips = 1
    conn = rpc.create_connection()
    conn.create_consumer('network', flatdhcp)
    conn.create_consumer('network.net1', flatdhcp)
    conn.consume_in_thread()
    try:
        user = context.RequestContext('alice', 'p1', is_admin=False)
        other = context.RequestContext('bob', 'p2', is_admin=False)
        _pool(admin, '198.51.100.7', '198.51.100.8')
        inst = _instance(admin, 1)
        flatdhcp.allocate_for_instance(admin, inst['id'])
        api = network_api.API()
        address = api.allocate_floating_ip(user)
        with pytest.raises(exception.AddressLimitExceeded):
            api.allocate_floating_ip(user)
        with pytest.raises(exception.FloatingIpNotFound):
            api.associate_floating_ip(other, address, '10.20.0.2')
        api.associate_floating_ip(user, address, '10.20.0.2')
        assert db.floating_ip_get_by_address(admin, address)['fixed_ip'][
            'address'] == '10.20.0.2'
        with pytest.raises(exception.InvalidState):
            api.release_floating_ip(user, address)
        assert api.disassociate_floating_ip(user, address) == '10.20.0.2'
        api.release_floating_ip(user, address)
        assert db.floating_ip_get_by_address(admin, address)[
            'project_id'] is None
        assert impl_fake.wait_idle(10)
    finally:
        conn.close()


def test_vlan_without_vlan_interface_makes_bridges_only(admin, host):
    FLAGS.vlan_interface = ''
    mgr = manager.VlanManager(host='net1')
    mgr.create_networks(admin, '10.20.0.0/16', 2, 16, vlan_start=200)
    mgr.init_host()
    [vif] = mgr.allocate_for_instance(admin, _instance(admin, 1, 'pa')['id'])
    assert vif['bridge'] == 'br200' and not vif['should_create_vlan']
    assert 'br200' in host.links and 'vlan200' not in host.links
    assert host.addresses['br200'] == ['10.20.0.1/28']


def test_compute_calls_host_setup_only_for_libvirt(monkeypatch):
    from nova.compute import manager as compute_manager
    import nova.virt.connection  # noqa: F401 - defines connection_type
    made = []
    monkeypatch.setattr(linux_net, 'setup_compute_network', made.append)
    mgr = compute_manager.ComputeManager.__new__(
        compute_manager.ComputeManager)
    info = [{'bridge': 'br100', 'should_create_bridge': True}]
    FLAGS.connection_type = 'fake'
    mgr._setup_compute_network(info)
    assert made == []
    FLAGS.connection_type = 'libvirt'
    mgr._setup_compute_network(info)
    assert made == [info]


def test_deallocated_address_is_not_leased_again(flatdhcp, admin, host):
    inst = _instance(admin, 1)
    flatdhcp.allocate_for_instance(admin, inst['id'])
    flatdhcp.lease_fixed_ip(admin, '10.20.0.2', mac='02:16:3e:00:00:01')
    flatdhcp.deallocate_for_instance(admin, inst['id'])
    # dnsmasq's "old" after the HUP must not mark it leased again.
    assert not flatdhcp.lease_fixed_ip(admin, '10.20.0.2',
                                       mac='02:16:3e:00:00:01')
    row = db.fixed_ip_get_by_address(admin, '10.20.0.2')
    assert not row['allocated'] and row['instance_id'] == inst['id']
    # Its "del" then frees it.
    flatdhcp.release_fixed_ip(admin, '10.20.0.2', mac='02:16:3e:00:00:01')
    assert db.fixed_ip_get_by_address(admin, '10.20.0.2')['instance_id'] \
        is None


def test_concurrent_first_allocations_start_one_dnsmasq(flatdhcp, admin,
                                                        host):
    import threading
    ids = [_instance(admin, n)['id'] for n in (1, 2, 3)]
    errors = []

    def allocate(instance_id):
        try:
            flatdhcp.allocate_for_instance(admin, instance_id)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=allocate, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(host.dnsmasq) == 1
    assert hosts_file().count('\n') >= 3
