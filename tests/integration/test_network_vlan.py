"""VlanManager for real: two projects, each bound to its own network (VLAN
on a dummy interface, bridge, subnet, dnsmasq) at first use, one QEMU guest
each.  Each guest gets its lease and serves its own project; the other
project cannot reach it (probes: namespaces plugged into each project's
bridge).  Tests run in file order on one module fixture.

The VLAN devices ride on one end of a veth pair when the kernel has 802.1Q
support; the kernel of the machines here has none (CONFIG_VLAN_8021Q unset),
so there ``vlan_interface`` is empty and each project's bridge stands alone
(the isolation under test is the same: separate bridges and the FORWARD
drops between them).  The VLAN commands themselves are checked in
tests/unit/network/test_dhcp_managers.py.
"""

import pytest

from nova import context
from nova import flags
from nova.db import api as db
from nova.network import api as network_api
from tests.integration import guests
from tests.integration import netenv
from tests.integration.conftest import apply_libvirt_flags
from tests.integration.netenv import rabbit_vhost_module  # noqa: F401
from tests.integration.test_network_flatdhcp import make_guest
from tests.integration.test_network_flatdhcp import spawn_all

pytestmark = pytest.mark.slow
FLAGS = flags.FLAGS

FIXED = '10.79.0.0/24'
VLAN_START = 300


def _ctx():
    return context.get_admin_context()


def kernel_has_vlans():
    ns = netenv.Probe.__new__(netenv.Probe)  # only for its name helper
    name = 'nova-vlantest-%d' % id(ns)
    netenv.run('ip', 'netns', 'add', name)
    try:
        netenv.run('ip', 'netns', 'exec', name, 'ip', 'link', 'add', 'v0',
                   'type', 'veth', 'peer', 'name', 'v1')
        return netenv.run('ip', 'netns', 'exec', name, 'ip', 'link', 'add',
                          'link', 'v0', 'name', 'v0.5', 'type', 'vlan', 'id',
                          '5', check=False).returncode == 0
    finally:
        netenv.run('ip', 'netns', 'del', name, check=False)


@pytest.fixture(scope='module')
def cloud(libvirt_ns, integration_dirs, image_ids,
          rabbit_vhost_module):  # noqa: F811
    ns = libvirt_ns.ns
    vlans = kernel_has_vlans()
    node = netenv.NetworkNode(ns, rabbit_vhost_module, {
        'network_manager': 'nova.network.manager.VlanManager',
        'vlan_interface': 'vlanif0' if vlans else '',
        'fixed_range': FIXED,
        'public_interface': 'vlanif0',
        'routing_source_ip': '10.79.255.1',
        'ec2_dmz_host': '10.79.255.1',
        'ec2_port': 8776,
        # Backstop should dnsmasq never report a lease's end.
        'fixed_ip_disassociate_timeout': 30,
    }, host='it-vlan')
    node.devices = ['br300', 'br301', 'vlan300', 'vlan301', 'vlanif0']
    relay = None
    probes = []
    state = {'node': node, 'env': libvirt_ns, 'guests': [], 'probes': {},
             'vlans': vlans}
    try:
        node.ns_run('ip', 'link', 'add', 'vlanif0', 'type', 'veth', 'peer',
                    'name', 'vlanif0p')
        node.ns_run('ip', 'link', 'set', 'vlanif0', 'up')
        relay = netenv.AmqpRelay(ns, node.workdir).start()
        node.db_sync()
        node.manage('network', 'create', FIXED, '2', '16', str(VLAN_START),
                    '2000')
        node.configure_this_process(FLAGS)
        node.start()
        apply_libvirt_flags(libvirt_ns, integration_dirs)
        from nova.virt.libvirt import connection
        conn = connection.LibvirtConnection()
        conn.init_host('it')
        api = network_api.API()
        jobs = []
        for n, project in ((1, 'proj-a'), (2, 'proj-b')):
            inst = make_guest(image_ids, project, n)
            nw = api.allocate_for_instance(_ctx(), inst['id'])
            jobs.append((inst, nw))
        state.update({'conn': conn, 'api': api, 'guests': jobs})
        spawn_all(conn, jobs)
        for (inst, nw), name in zip(jobs, ('a', 'b')):
            vif = nw[0]
            subnet = vif['cidr'].split('/')
            last = vif['broadcast'].rsplit('.', 1)
            probe_ip = '%s.%d/%s' % (last[0], int(last[1]) - 1, subnet[1])
            probe = netenv.Probe(ns, vif['bridge'], probe_ip, vif['gateway'])
            probes.append(probe)
            state['probes'][name] = probe
        yield state
    finally:
        conn = state.get('conn')
        for inst, nw in state['guests']:
            try:
                conn.destroy(inst, nw)
            except Exception:  # noqa: BLE001 - clean up the rest
                pass
        for probe in probes:
            probe.delete()
        node.cleanup()
        if relay is not None:
            relay.stop()


@pytest.fixture(autouse=True)
def flags_again(request, libvirt_ns, integration_dirs):
    if 'cloud' in request.fixturenames:
        state = request.getfixturevalue('cloud')
        state['node'].configure_this_process(FLAGS)
        apply_libvirt_flags(libvirt_ns, integration_dirs)


def test_each_project_has_its_vlan_and_lease(cloud):
    node = cloud['node']
    (a, nwa), (b, nwb) = cloud['guests']
    assert (nwa[0]['vlan'], nwa[0]['bridge']) == (300, 'br300')
    assert (nwb[0]['vlan'], nwb[0]['bridge']) == (301, 'br301')
    assert db.project_get_network(_ctx(), 'proj-a')['vlan'] == 300
    links = set(cloud['env'].links())
    assert {'br300', 'br301'} <= links
    if cloud['vlans']:
        assert {'vlan300', 'vlan301'} <= links
    addrs = node.ns_run('ip', '-o', '-4', 'addr', 'show', 'dev',
                        'br301').stdout
    assert '%s/28' % nwb[0]['gateway'] in addrs
    assert len(node.dnsmasq_pids()) == 2
    for inst, nw in cloud['guests']:
        ip = nw[0]['ip']
        text = guests.wait_for_console(cloud['conn'], inst, r'BOOTED')
        assert 'NET dhcp address=%s/28' % ip in text, text[-2000:]
        netenv.wait_for(
            lambda: db.fixed_ip_get_by_address(_ctx(), ip)['leased'], 60,
            'the lease of %s\n%s' % (ip, node.output()))


def test_projects_cannot_reach_each_other(cloud):
    (a, nwa), (b, nwb) = cloud['guests']
    probes = cloud['probes']
    url_a = 'http://%s/' % nwa[0]['ip']
    url_b = 'http://%s/' % nwb[0]['ip']
    assert 'instance-id=' in (probes['a'].http_get(url_a) or '')
    assert 'instance-id=' in (probes['b'].http_get(url_b) or '')
    assert probes['a'].http_get(url_b, timeout=3) is None
    assert probes['b'].http_get(url_a, timeout=3) is None
    saved = cloud['node'].iptables_save()
    assert '-A nova-network-FORWARD -i br300 -o br301 -j DROP' in saved
    # The network host itself reaches both.
    assert cloud['env'].http_get(url_a) and cloud['env'].http_get(url_b)


def test_terminate_frees_addresses(cloud):
    node, conn, api = cloud['node'], cloud['conn'], cloud['api']
    done = list(cloud['guests'])
    for inst, nw in done:
        conn.destroy(inst, nw)
        api.deallocate_for_instance(_ctx(), inst['id'])
    cloud['guests'] = []
    for inst, nw in done:
        ip = nw[0]['ip']
        netenv.wait_for(
            lambda: db.fixed_ip_get_by_address(_ctx(), ip)['instance_id']
            is None, 60, 'the lease of %s to end\n%s' % (ip, node.output()))
    assert not [link for link in cloud['env'].links()
                if link.startswith('tap')]
