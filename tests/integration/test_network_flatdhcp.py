"""FlatDHCPManager for real: bin/nova-network, dnsmasq and nova-dhcpbridge
inside the libvirt test namespace, two QEMU guests of the test image.

The guests get their addresses by DHCP (leased in the database), serve
HTTP to the namespace, reach the metadata address (DNAT to a stub server);
a floating IP reaches a guest from an "outside" namespace over a veth pair
and from the network namespace itself, and stops after disassociation; a
restarted nova-network rebuilds identical rules; after terminate nothing
of the guests is left.  Tests run in file order on one module fixture.
"""

import os
import threading

import pytest

from nova import context
from nova import flags
from nova.db import api as db
from nova.network import api as network_api
from nova.network import iptables
from tests.integration import guests
from tests.integration import netenv
from tests.integration.conftest import apply_libvirt_flags
from tests.integration.netenv import rabbit_vhost_module  # noqa: F401

pytestmark = pytest.mark.slow
FLAGS = flags.FLAGS

FIXED = '10.78.0.0/24'
PUBLIC_NS = '203.0.113.1'        # network namespace's public address
PUBLIC_OUT = '203.0.113.2'       # the outside namespace's
FLOATING = ['203.0.113.10', '203.0.113.11']
METADATA_PORT = 8775


def _ctx():
    return context.get_admin_context()


def _user(project='it-proj'):
    return context.RequestContext('it-user', project, is_admin=False)


def spawn_all(conn, jobs):
    errors = []

    def one(instance, nw):
        try:
            conn.spawn(_ctx(), instance, nw)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((instance['name'], e))
    threads = [threading.Thread(target=one, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, 'spawn failed: %s' % errors


def make_guest(image_ids, project, n):
    """An instance row for nova-network and its driver dict."""
    row = db.instance_create(_ctx(), {
        'project_id': project, 'user_id': 'it-user',
        'hostname': 'net-it-%d' % n,
        'mac_address': '02:16:3e:4e:%02x:%02x' % (os.getpid() % 256, n)})
    inst = guests.make_instance(image_ids['ami'], image_ids['aki'],
                                image_ids['ari'])
    inst.update({'id': row['id'], 'mac_address': row['mac_address'],
                 'hostname': row['hostname'], 'project_id': project})
    return inst


@pytest.fixture(scope='module')
def cloud(libvirt_ns, integration_dirs, image_ids,
          rabbit_vhost_module):  # noqa: F811
    ns = libvirt_ns.ns
    node = netenv.NetworkNode(ns, rabbit_vhost_module, {
        'network_manager': 'nova.network.manager.FlatDHCPManager',
        'flat_network_bridge': 'br100',
        'fixed_range': FIXED,
        'public_interface': 'pub0',
        'routing_source_ip': PUBLIC_NS,
        'ec2_dmz_host': PUBLIC_NS,
        'ec2_port': METADATA_PORT,
        'dhcp_lease_time': 120,
        # Backstop should dnsmasq never report a lease's end.
        'fixed_ip_disassociate_timeout': 30,
    })
    node.devices = ['br100']
    relay = outside = stub = None
    state = {'node': node, 'env': libvirt_ns, 'guests': []}
    try:
        relay = netenv.AmqpRelay(ns, node.workdir).start()
        outside = netenv.Outside(ns, 'pub0', PUBLIC_NS + '/24',
                                 PUBLIC_OUT + '/24')
        stub = netenv.MetadataStub(ns, PUBLIC_NS, METADATA_PORT)
        node.db_sync()
        node.manage('network', 'create', FIXED, '1', '256')
        node.manage('floating', 'create', node.host, FLOATING[0])
        node.manage('floating', 'create', node.host, FLOATING[1])
        node.configure_this_process(FLAGS)
        node.start()
        apply_libvirt_flags(libvirt_ns, integration_dirs)
        from nova.virt.libvirt import connection
        conn = connection.LibvirtConnection()
        conn.init_host('it')
        api = network_api.API()
        jobs = []
        for n in (1, 2):
            inst = make_guest(image_ids, 'it-proj', n)
            nw = api.allocate_for_instance(_ctx(), inst['id'])
            jobs.append((inst, nw))
        spawn_all(conn, jobs)
        state.update({'conn': conn, 'api': api, 'outside': outside,
                      'guests': jobs, 'relay': relay})
        yield state
    finally:
        conn = state.get('conn')
        for inst, nw in state['guests']:
            try:
                conn.destroy(inst, nw)
            except Exception:  # noqa: BLE001 - clean up the rest
                pass
        node.cleanup()
        for part in (stub, relay):
            if part is not None:
                part.stop()
        if outside is not None:
            outside.delete()


@pytest.fixture(autouse=True)
def flags_again(request, libvirt_ns, integration_dirs):
    """tests/conftest.py resets flags after every test."""
    if 'cloud' in request.fixturenames:
        state = request.getfixturevalue('cloud')
        state['node'].configure_this_process(FLAGS)
        apply_libvirt_flags(libvirt_ns, integration_dirs)


def fixed_row(address):
    return db.fixed_ip_get_by_address(_ctx(), address)


def test_guests_lease_by_dhcp_and_serve_http(cloud):
    node, env = cloud['node'], cloud['env']
    for inst, nw in cloud['guests']:
        ip = nw[0]['ip']
        assert nw[0]['bridge'] == 'br100'
        text = guests.wait_for_console(cloud['conn'], inst, r'BOOTED')
        assert 'NET dhcp address=%s/24' % ip in text, text[-2000:]
        netenv.wait_for(lambda: fixed_row(ip)['leased'], 60,
                        'the lease of %s to reach the database\n%s'
                        % (ip, node.output()))
        body = env.http_get('http://%s/' % ip)
        assert body and 'instance-id=' in body, body
        # The metadata address was forwarded to the stub (which answers
        # with the client's address: the guest's own fixed IP).
        assert 'METADATA instance-id=i-meta-%s' % ip in text
    assert len(node.dnsmasq_pids()) == 1
    with open(os.path.join(node.networks_path, 'nova-br100.conf')) as f:
        lines = f.read().splitlines()
    assert sorted(lines) == sorted(
        '%s,%s.novalocal,%s' % (inst['mac_address'], inst['hostname'],
                                nw[0]['ip']) for inst, nw in cloud['guests'])


def test_floating_ip_reaches_guest_from_outside_and_stops(cloud):
    node, env, api = cloud['node'], cloud['env'], cloud['api']
    inst, nw = cloud['guests'][0]
    user = _user()
    address = api.allocate_floating_ip(user)
    assert address in FLOATING
    api.associate_floating_ip(user, address, nw[0]['ip'])
    url = 'http://%s/' % address
    direct = env.http_get('http://%s/' % nw[0]['ip'])
    assert direct and 'instance-id=' in direct
    assert cloud['outside'].http_get(url) == direct, node.output()
    assert env.http_get(url) == direct
    addrs = node.ns_run('ip', '-o', '-4', 'addr', 'show', 'dev',
                        'pub0').stdout
    assert '%s/32' % address in addrs

    assert api.disassociate_floating_ip(user, address) == nw[0]['ip']
    assert cloud['outside'].http_get(url, timeout=3) is None
    assert env.http_get(url, timeout=3) is None
    assert address not in node.iptables_save()
    api.release_floating_ip(user, address)


def test_restarted_network_rebuilds_identical_rules(cloud):
    node, api = cloud['node'], cloud['api']
    inst, nw = cloud['guests'][1]
    user = _user()
    address = api.allocate_floating_ip(user)
    api.associate_floating_ip(user, address, nw[0]['ip'])
    before = iptables.normalize(node.iptables_save())
    assert address in before
    pids = node.dnsmasq_pids()
    node.stop()
    # Wipe what nova made: the restart must rebuild it from the database.
    saved = node.iptables_save()
    node.ns_run('iptables-restore', input='\n'.join(
        line for line in saved.splitlines() if 'nova-' not in line) + '\n')
    node.ns_run('ip', 'addr', 'del', '%s/32' % address, 'dev', 'pub0')
    assert address not in node.iptables_save()
    node.start()
    assert iptables.normalize(node.iptables_save()) == before
    assert node.dnsmasq_pids() == pids      # reloaded, not restarted
    body = cloud['outside'].http_get('http://%s/' % address)
    assert body and 'instance-id=' in body, node.output()


def test_terminate_leaves_nothing(cloud):
    node, api, conn = cloud['node'], cloud['api'], cloud['conn']
    for inst, nw in cloud['guests']:
        conn.destroy(inst, nw)
        api.deallocate_for_instance(_ctx(), inst['id'])
    done = list(cloud['guests'])
    cloud['guests'] = []
    for inst, nw in done:
        ip = nw[0]['ip']
        # dhcp_release made dnsmasq end the lease; its "del" freed the IP.
        netenv.wait_for(lambda: fixed_row(ip)['instance_id'] is None, 60,
                        'the lease of %s to end\n%s' % (ip, node.output()))
        assert not fixed_row(ip)['leased']
    with open(os.path.join(node.networks_path, 'nova-br100.conf')) as f:
        assert f.read() == ''
    saved = node.iptables_save()
    for address in FLOATING:
        assert address not in saved
    addrs = node.ns_run('ip', '-o', '-4', 'addr', 'show', 'dev',
                        'pub0').stdout
    assert addrs.count('inet ') == 1        # only its own address
    links = cloud['env'].links()
    assert not [link for link in links if link.startswith('tap')]
    for floating in db.floating_ip_get_all(_ctx()):
        assert floating['fixed_ip_id'] is None
