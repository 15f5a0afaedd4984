"""Security groups enforced on a real guest: the test image booted by the
libvirt driver under a private libvirtd in a network namespace of this
module's own, filtered by IptablesFirewallDriver with iptables running in
that namespace (root_helper = ``ip netns exec <ns>``).

* the namespace itself (10.79.0.1, the "host side") is no member of any
  group;
* an "outside world" namespace joined to the guests' bridge by a veth pair
  holds 10.79.0.200, the fixed address of a database-only instance that is
  made a member of a source group;
* group changes go through the compute API; the casts it makes are
  checked for their target host and handed to a ComputeManager whose
  driver is the libvirt connection, as nova-compute would.

allow_project_net_traffic is off, so only the groups decide (the
namespace and the outside address are on the project's /24).  The tests
run in file order on one guest; the last one terminates it and checks
that no chain or rule of it is left.
"""

import os
import shutil
import sys
import tempfile
import time

import pytest

from nova import context as nova_context
from nova import flags
from nova import rpc
from nova.compute import api as compute_api
from nova.compute import manager as compute_manager
from nova.db import api as db
from nova.db import migration
from nova.db.sqlalchemy import session as db_session
from nova.image import local
from nova.network import iptables
from tests.integration import guests
from tests.integration import libvirt_env
from tests.integration.conftest import apply_libvirt_flags

pytestmark = pytest.mark.slow
FLAGS = flags.FLAGS

PREFIX = '10.79.0'
HOST = 'it-sg'
GUEST_IP = PREFIX + '.50'
MEMBER_IP = PREFIX + '.200'
HTTP_WAIT = 30


class World:
    """The module's namespaces, database, images and guest."""

    def __init__(self, test_image):
        self.env = libvirt_env.LibvirtEnv(subnet_prefix=PREFIX)
        self.out_ns = self.env.ns + '-o'
        self.tmp = tempfile.mkdtemp(prefix='nova-it-sg-')
        self.dirs = {'root': self.tmp,
                     'instances': os.path.join(self.tmp, 'instances'),
                     'images': os.path.join(self.tmp, 'images')}
        self.db_url = 'sqlite:///%s' % os.path.join(self.tmp, 'nova.sqlite')
        self.test_image = test_image
        self.conn = None
        self.guest = None
        self.network_info = None
        self._out_made = False

    def start(self):
        os.makedirs(self.dirs['instances'])
        os.makedirs(self.dirs['images'])
        self.env.start()
        self._make_outside()
        self.configure()
        migration.db_sync()
        self.admin = nova_context.get_admin_context()
        self.user = nova_context.RequestContext('alice', 'p1',
                                                is_admin=False)
        self.image_ids = guests.upload_test_images(
            local.LocalImageService(self.dirs['images']), self.admin,
            self.test_image)
        self.network = db.network_create(self.admin, {
            'cidr': PREFIX + '.0/24', 'gateway': self.env.gateway,
            'netmask': '255.255.255.0', 'broadcast': PREFIX + '.255',
            'bridge': self.env.bridge, 'label': 'private',
            'injected': True})

    def _make_outside(self):
        libvirt_env.run('ip', 'netns', 'add', self.out_ns)
        self._out_made = True
        self.env.ns_run('ip', 'link', 'add', 'sgo0', 'type', 'veth',
                        'peer', 'name', 'sgo1')
        self.env.ns_run('ip', 'link', 'set', 'sgo1', 'netns', self.out_ns)
        self.env.ns_run('ip', 'link', 'set', 'sgo0', 'master',
                        self.env.bridge)
        self.env.ns_run('ip', 'link', 'set', 'sgo0', 'up')
        self.out_run('ip', 'link', 'set', 'lo', 'up')
        self.out_run('ip', 'addr', 'add', MEMBER_IP + '/24', 'dev', 'sgo1')
        self.out_run('ip', 'link', 'set', 'sgo1', 'up')

    def out_run(self, *argv, check=True, timeout=60):
        return libvirt_env.run('ip', 'netns', 'exec', self.out_ns, *argv,
                               check=check, timeout=timeout)

    def configure(self):
        """Flags of this module (tests/conftest.py resets them per test)."""
        apply_libvirt_flags(self.env, self.dirs)
        FLAGS.firewall_driver = \
            'nova.virt.libvirt.firewall.IptablesFirewallDriver'
        FLAGS.sql_connection = self.db_url
        FLAGS.root_helper = 'ip netns exec %s' % self.env.ns
        FLAGS.iptables_lock_file = ''
        FLAGS.host = HOST
        FLAGS.allow_project_net_traffic = False

    def new_connection(self):
        """A libvirt connection with a fresh IptablesManager, as a newly
        started nova-compute has."""
        from nova.virt.libvirt import connection
        conn = connection.LibvirtConnection()
        conn.firewall._iptables = iptables.IptablesManager(
            binary='compute', use_ipv6=False)
        return conn

    def compute(self, conn):
        return compute_manager.ComputeManager(compute_driver=conn, host=HOST)

    def stop(self):
        try:
            if self.conn is not None and self.guest is not None:
                self.configure()
                self.conn.destroy(self.guest, self.network_info)
        finally:
            self.env.stop()
            if self._out_made:
                libvirt_env.run('ip', 'netns', 'del', self.out_ns,
                                check=False)
            db_session.dispose(self.db_url)
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- looking at the namespace ----------------------------------------------

    def save(self):
        """The namespace's filter table, without counters and comments."""
        out = self.env.ns_run('iptables-save', '-t', 'filter').stdout
        return iptables.normalize(out)

    def http_from_host(self, timeout=3):
        return self.env.http_get('http://%s/' % GUEST_IP, timeout=timeout)

    def http_from_outside(self, timeout=3):
        code = ('import sys, urllib.request\n'
                'print(urllib.request.urlopen(sys.argv[1], timeout=%d)'
                '.read().decode())' % timeout)
        proc = self.out_run(sys.executable, '-c', code,
                            'http://%s/' % GUEST_IP, check=False,
                            timeout=timeout + 10)
        return proc.stdout if proc.returncode == 0 else None


def _wait_http(get, want_open, seconds=HTTP_WAIT):
    """The last answer once it is (not) None as wanted, or at the end."""
    deadline = time.monotonic() + seconds
    while True:
        body = get()
        if (body is not None) == want_open or time.monotonic() > deadline:
            return body
        time.sleep(1)


@pytest.fixture(scope='module')
def world(test_image):
    if os.geteuid() != 0:
        pytest.fail('integration tests need root', pytrace=False)
    w = World(test_image)
    try:
        w.start()
    except libvirt_env.LibvirtEnvError as e:
        w.stop()
        pytest.fail('cannot start libvirtd in a namespace: %s' % e,
                    pytrace=False)
    except BaseException:
        w.stop()
        raise
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture
def w(world):
    world.configure()
    return world


@pytest.fixture
def casts(w, monkeypatch):
    seen = []

    def cast(ctxt, topic, msg):
        seen.append((topic, msg['method'], msg['args']))
    monkeypatch.setattr(rpc, 'cast', cast)
    return seen


def _deliver(w, casts, conn=None):
    """Hand the casts to this host's compute manager, as the queue
    compute.<HOST> would; every cast must be for this host."""
    manager = w.compute(conn or w.conn)
    for topic, method, args in casts:
        assert topic == 'compute.%s' % HOST, casts
        getattr(manager, method)(w.admin, **args)
    del casts[:]


def test_guest_in_default_group_is_closed_to_the_host(w, casts):
    api = compute_api.API()
    default = api.ensure_default_security_group(w.user)
    web = api.create_security_group(w.user, 'web', 'web servers')
    row = db.instance_create(w.admin, {
        'project_id': 'p1', 'user_id': 'alice', 'host': HOST,
        'state_description': 'spawning',
        'security_groups': [default['id'], web['id']]})
    ids = w.image_ids
    guest = guests.make_instance(ids['ami'], ids['aki'], ids['ari'])
    guest.update({'id': row['id'], 'uuid': row['uuid'], 'name': row['name'],
                  'host': HOST, 'project_id': 'p1'})
    db.instance_update(w.admin, row['id'],
                       {'mac_address': guest['mac_address']})
    db.fixed_ip_create(w.admin, {'address': GUEST_IP, 'allocated': True,
                                 'network_id': w.network['id'],
                                 'instance_id': row['id']})
    w.network_info = guests.network_info(w.env, guest, 50)
    assert w.network_info[0]['ip'] == GUEST_IP
    w.conn = w.new_connection()
    w.conn.init_host(HOST)
    w.conn.spawn(w.admin, guest, w.network_info)
    w.guest = guest
    db.instance_update(w.admin, row['id'], {'state_description': 'running'})
    guests.wait_for_console(w.conn, guest, 'NOVA-TEST-IMAGE-BOOTED')

    saved = w.save()
    assert '-A nova-compute-local -d %s/32 -j nova-compute-inst-%d' % (
        GUEST_IP, row['id']) in saved
    assert w.http_from_host() is None
    assert w.http_from_outside() is None


def test_authorize_opens_port_80_and_revoke_closes_it(w, casts):
    api = compute_api.API()
    rule = {'protocol': 'tcp', 'from_port': 80, 'to_port': 80,
            'cidr': '0.0.0.0/0'}
    api.authorize_security_group_ingress(w.user, 'web', [rule])
    assert [c[:2] for c in casts] == [('compute.%s' % HOST,
                                       'refresh_security_group_rules')]
    _deliver(w, casts)
    body = _wait_http(w.http_from_host, True)
    assert body is not None and 'instance-id=%s' % guests.ec2_id(w.guest) \
        in body
    assert w.http_from_outside() is not None

    api.revoke_security_group_ingress(w.user, 'web', [rule])
    _deliver(w, casts)
    assert _wait_http(w.http_from_host, False) is None
    assert w.http_from_outside() is None


def test_source_group_admits_members_and_keeps_others_out(w, casts):
    api = compute_api.API()
    client_group = api.create_security_group(w.user, 'client', 'clients')
    member = db.instance_create(w.admin, {
        'project_id': 'p1', 'user_id': 'alice', 'host': 'elsewhere',
        'state_description': 'running',
        'security_groups': [client_group['id']]})
    db.fixed_ip_create(w.admin, {'address': MEMBER_IP, 'allocated': True,
                                 'network_id': w.network['id'],
                                 'instance_id': member['id']})
    api.authorize_security_group_ingress(
        w.user, 'web', [{'protocol': 'tcp', 'from_port': 80, 'to_port': 80,
                         'source_group_name': 'client'}])
    _deliver(w, casts)
    assert _wait_http(w.http_from_outside, True) is not None
    assert w.http_from_host() is None

    # The member leaves: nova-compute on its host asks for a members
    # refresh, which reaches the guest's host.
    db.fixed_ip_disassociate(w.admin, MEMBER_IP)
    db.instance_destroy(w.admin, member['id'])
    api.trigger_security_group_members_refresh(w.admin, client_group['id'])
    assert [c[:2] for c in casts] == [('compute.%s' % HOST,
                                       'refresh_security_group_members')]
    _deliver(w, casts)
    assert _wait_http(w.http_from_outside, False) is None

    # A new member at the same address is admitted again.
    again = db.instance_create(w.admin, {
        'project_id': 'p1', 'user_id': 'alice', 'host': 'elsewhere',
        'state_description': 'running',
        'security_groups': [client_group['id']]})
    db.fixed_ip_associate(w.admin, MEMBER_IP, again['id'])
    api.trigger_security_group_members_refresh(w.admin, client_group['id'])
    _deliver(w, casts)
    assert _wait_http(w.http_from_outside, True) is not None
    assert w.http_from_host() is None


def test_restarted_compute_rebuilds_identical_rules(w, casts):
    before = w.save()
    assert 'nova-compute-inst-%d' % w.guest['id'] in before
    conn = w.new_connection()
    compute = w.compute(conn)
    compute.init_host()
    assert w.save() == before
    # The new process owns the rules now: a refresh through it changes
    # nothing either, and the guest is filtered as before.
    compute.refresh_security_group_rules(w.admin, security_group_id=1)
    assert w.save() == before
    w.conn = conn
    assert w.http_from_outside() is not None
    assert w.http_from_host() is None


def test_terminate_removes_every_chain_and_rule_of_the_guest(w, casts):
    instance_id = w.guest['id']
    w.conn.destroy(w.guest, w.network_info)
    w.guest = None
    saved = w.save()
    for name in ('inst-%d' % instance_id, 'src-%d' % instance_id):
        assert name not in saved
    assert GUEST_IP not in saved
    own = [line for line in saved.splitlines()
           if line.startswith('-A nova-compute-')]
    assert own == [], own
    assert [t for t in w.env.links() if t.startswith('tap')] == []
