"""LibvirtConnection against an in-memory stand-in for a libvirt connection
(real images, qemu-img and genisoimage; no libvirtd)."""

import os
import xml.etree.ElementTree as ET

import libvirt
import pytest

from nova import context as nova_context
from nova import exception
from nova import flags
from nova.compute import power_state
from nova.image import local
from nova.virt.libvirt import connection

FLAGS = flags.FLAGS


def lv_error(code, message='libvirt says no'):
    # libvirtError takes its text from the thread's last real libvirt
    # error when there is one; this one must say only what we say.
    libvirt.virResetLastError()
    e = libvirt.libvirtError(message)
    e.args = (message,)
    e.err = (code, 0, message, 2, None, None, None, 0, 0)
    return e


class FakeDomain:
    def __init__(self, conn, xml):
        self.conn = conn
        self.xml = xml
        self._name = ET.fromstring(xml).findtext('name')
        self.state = libvirt.VIR_DOMAIN_SHUTOFF
        self.saved = False

    def name(self):
        return self._name

    def XMLDesc(self, flags_=0):
        return self.xml

    def info(self):
        return [self.state, 262144, 262144, 1, 12345]

    def isActive(self):
        return self.state != libvirt.VIR_DOMAIN_SHUTOFF

    def create(self):
        if self.conn.fail_create:
            raise lv_error(libvirt.VIR_ERR_INTERNAL_ERROR,
                           'qemu: could not load kernel')
        self.saved = False
        self.state = libvirt.VIR_DOMAIN_RUNNING

    def destroy(self):
        if not self.isActive():
            raise lv_error(libvirt.VIR_ERR_OPERATION_INVALID, 'not running')
        self.state = libvirt.VIR_DOMAIN_SHUTOFF

    def undefineFlags(self, flags_):
        self.conn.domains.pop(self._name, None)

    def hasManagedSaveImage(self, flags_):
        return self.saved

    def managedSave(self, flags_):
        self.state = libvirt.VIR_DOMAIN_SHUTOFF
        self.saved = True

    def managedSaveRemove(self, flags_):
        self.saved = False

    def suspend(self):
        self.state = libvirt.VIR_DOMAIN_PAUSED

    def resume(self):
        self.state = libvirt.VIR_DOMAIN_RUNNING


class FakeLibvirtConn:
    def __init__(self):
        self.domains = {}
        self.alive = True
        self.fail_create = False

    def isAlive(self):
        return self.alive

    def close(self):
        self.alive = False

    def lookupByName(self, name):
        if not self.alive:
            raise lv_error(libvirt.VIR_ERR_INTERNAL_ERROR, 'connection gone')
        try:
            return self.domains[name]
        except KeyError:
            raise lv_error(libvirt.VIR_ERR_NO_DOMAIN, 'no domain') from None

    def defineXML(self, xml):
        dom = FakeDomain(self, xml)
        existing = self.domains.get(dom.name())
        if existing is not None:
            existing.xml = xml
            return existing
        self.domains[dom.name()] = dom
        return dom

    def listAllDomains(self, flags_=0):
        return list(self.domains.values())


@pytest.fixture
def fake_libvirt(monkeypatch):
    opened = []

    def fake_open(uri):
        conn = FakeLibvirtConn()
        if opened:   # a reconnect sees the same guests
            conn.domains = opened[-1].domains
            for dom in conn.domains.values():
                dom.conn = conn
        opened.append(conn)
        return conn
    monkeypatch.setattr(connection.libvirt, 'open', fake_open)
    return opened


@pytest.fixture
def env(tmp_path, fake_libvirt):
    FLAGS.libvirt_type = 'qemu'
    FLAGS.instances_path = str(tmp_path / 'instances')
    FLAGS.image_service = 'nova.image.local.LocalImageService'
    FLAGS.local_image_path = str(tmp_path / 'images')
    FLAGS.libvirt_boot_timeout = 5
    # No database and no namespace here: the default iptables firewall
    # would read the one and write the host's tables.
    FLAGS.firewall_driver = 'nova.virt.libvirt.firewall.NoopFirewallDriver'
    service = local.LocalImageService(str(tmp_path / 'images'))
    ctx = nova_context.get_admin_context()
    disk = service.create(ctx, {'name': 'disk', 'disk_format': 'raw',
                                'container_format': 'bare',
                                'is_public': True}, data=[b'\0' * 65536])
    return {'conn': connection.LibvirtConnection(), 'ctx': ctx,
            'image_id': str(disk['id']), 'opened': fake_libvirt,
            'tmp': tmp_path}


def _instance(image_id, number=10):
    return {'id': number, 'uuid': '6f1c1f56-6d2b-4b36-9e3e-4f1a2b3c4d%02x'
            % number, 'name': 'instance-%08x' % number,
            'hostname': 'h', 'image_id': image_id, 'kernel_id': None,
            'ramdisk_id': None, 'memory_mb': 256, 'vcpus': 1, 'local_gb': 0,
            'mac_address': '02:16:3e:00:00:0a', 'user_data': None,
            'key_data': None, 'key_name': None, 'metadata': {},
            'instance_type': 'm1.tiny'}


NET = [{'bridge': 'br100', 'ip': '10.0.0.3', 'netmask': '255.255.255.0',
        'gateway': '10.0.0.1', 'broadcast': '10.0.0.255',
        'cidr': '10.0.0.0/24', 'dns': [], 'mac': '02:16:3e:00:00:0a',
        'dhcp_server': '10.0.0.1', 'injected': False, 'vlan': None,
        'label': 'private'}]


def test_spawn_builds_disks_and_a_running_domain(env):
    conn, instance = env['conn'], _instance(env['image_id'])
    conn.spawn(env['ctx'], instance, NET)
    inst_dir = os.path.join(FLAGS.instances_path, instance['name'])
    assert sorted(os.listdir(inst_dir)) == ['console.log', 'disk',
                                            'disk.config', 'libvirt.xml']
    assert conn.list_instances() == [instance['name']]
    info = conn.get_info(instance['name'])
    assert info['state'] == power_state.RUNNING
    assert info['max_mem'] == 262144
    root = ET.parse(os.path.join(inst_dir, 'libvirt.xml')).getroot()
    assert root.findtext('uuid') == instance['uuid']
    assert root.find('devices/interface/target').get('dev') == \
        connection.tap_name(instance, 0)


def test_spawn_failure_removes_what_it_made(env):
    conn, instance = env['conn'], _instance(env['image_id'])
    conn.list_instances()                       # opens the connection
    env['opened'][-1].fail_create = True
    with pytest.raises(connection.SpawnError) as caught:
        conn.spawn(env['ctx'], instance, NET)
    assert 'could not load kernel' in str(caught.value)
    assert conn.list_instances() == []
    assert not os.path.exists(os.path.join(FLAGS.instances_path,
                                           instance['name']))


def test_spawn_over_an_existing_guest_touches_nothing(env):
    conn, instance = env['conn'], _instance(env['image_id'])
    conn.spawn(env['ctx'], instance, NET)
    with pytest.raises(connection.InstanceExists):
        conn.spawn(env['ctx'], instance, NET)
    assert conn.get_info(instance['name'])['state'] == power_state.RUNNING
    assert os.path.exists(os.path.join(FLAGS.instances_path,
                                       instance['name'], 'disk'))


def test_destroy_is_idempotent(env):
    conn, instance = env['conn'], _instance(env['image_id'])
    conn.spawn(env['ctx'], instance, NET)
    conn.destroy(instance, NET)
    conn.destroy(instance, NET)
    assert conn.list_instances() == []
    assert not os.path.exists(os.path.join(FLAGS.instances_path,
                                           instance['name']))
    with pytest.raises(exception.InstanceNotFound):
        conn.get_info(instance['name'])


def test_power_states_through_pause_and_managed_save(env):
    conn, instance = env['conn'], _instance(env['image_id'])
    conn.spawn(env['ctx'], instance, NET)
    conn.pause(instance)
    assert conn.get_info(instance['name'])['state'] == power_state.PAUSED
    with pytest.raises(exception.InvalidState):
        conn.pause(instance)
    conn.unpause(instance)
    conn.suspend(instance)
    assert conn.get_info(instance['name'])['state'] == power_state.SUSPENDED
    with pytest.raises(exception.InvalidState):
        conn.unpause(instance)
    conn.resume(instance)
    assert conn.get_info(instance['name'])['state'] == power_state.RUNNING


def test_reconnects_after_the_connection_dies(env):
    conn, instance = env['conn'], _instance(env['image_id'])
    conn.spawn(env['ctx'], instance, NET)
    assert len(env['opened']) == 1
    env['opened'][0].alive = False
    assert conn.get_info(instance['name'])['state'] == power_state.RUNNING
    assert len(env['opened']) == 2


def test_console_output_is_a_bounded_tail(env):
    conn, instance = env['conn'], _instance(env['image_id'])
    conn.spawn(env['ctx'], instance, NET)
    path = os.path.join(FLAGS.instances_path, instance['name'],
                        'console.log')
    with open(path, 'w') as f:
        f.write('a' * 5000 + 'THE END')
    FLAGS.console_log_max_bytes = 100
    text = conn.get_console_output(instance)
    assert len(text) == 100 and text.endswith('THE END')
    conn.destroy(instance, NET)
    with pytest.raises(exception.InstanceNotFound):
        conn.get_console_output(instance)


def test_tap_names_fit_and_differ():
    instance = {'uuid': '6f1c1f56-6d2b-4b36-9e3e-4f1a2b3c4d5e',
                'name': 'instance-0000000a'}
    names = [connection.tap_name(instance, i) for i in range(12)]
    assert len(set(names)) == 12
    assert all(len(n) <= 15 and n.startswith('tap') for n in names)
    assert names[0] == 'tap6f1c1f566d2b'[:14]


def test_unsupported_types_and_bad_names_are_refused(env):
    FLAGS.libvirt_type = 'lxc'
    with pytest.raises(exception.Invalid):
        connection.LibvirtConnection()
    FLAGS.libvirt_type = 'qemu'
    for name in ('../etc', '_base', ''):
        with pytest.raises(exception.Invalid):
            env['conn'].destroy({'name': name})
