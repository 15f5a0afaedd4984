"""Same-host resize in LibvirtConnection: resize, confirm_resize and
revert_resize against the in-memory libvirt stand-in, with real qemu-img
disks."""

import os
import xml.etree.ElementTree as ET

import libvirt
import pytest

from nova import exception
from nova import flags
from nova.compute import power_state
from nova.virt.libvirt import connection
from nova.virt.libvirt import resize as resize_files
from tests.unit.virt.test_libvirt_connection import (  # noqa: F401
    NET, FakeDomain, _instance, env, fake_libvirt, lv_error)

FLAGS = flags.FLAGS
GIB = 1024 ** 3
BIG = {'name': 'm1.big', 'memory_mb': 512, 'vcpus': 2, 'local_gb': 1,
       'flavorid': 90}
BIGGER = {'name': 'm1.bigger', 'memory_mb': 1024, 'vcpus': 4, 'local_gb': 2,
          'flavorid': 91}
OLD = {'name': 'm1.tiny', 'memory_mb': 256, 'vcpus': 1, 'local_gb': 0,
       'flavorid': 1}


@pytest.fixture
def shutdowns(monkeypatch):
    """FakeDomain answers ACPI shutdown by powering off; calls recorded."""
    calls = []

    def shutdown(self):
        calls.append(self.name())
        self.state = libvirt.VIR_DOMAIN_SHUTOFF
    monkeypatch.setattr(FakeDomain, 'shutdown', shutdown, raising=False)
    return calls


@pytest.fixture
def guest(env, shutdowns):
    instance = _instance(env['image_id'])
    env['conn'].spawn(env['ctx'], instance, NET)
    inst_dir = os.path.join(FLAGS.instances_path, instance['name'])
    with open(os.path.join(inst_dir, 'libvirt.xml')) as f:
        xml = f.read()
    return {'instance': instance, 'dir': inst_dir, 'xml': xml,
            'conn': env['conn'], 'shutdowns': shutdowns,
            'dom': env['opened'][-1].domains[instance['name']]}


def _shape(xml):
    root = ET.fromstring(xml)
    disks = {d.find('target').get('dev'): os.path.basename(
        d.find('source').get('file'))
        for d in root.findall('devices/disk')}
    return (int(root.findtext('memory')), int(root.findtext('vcpu')), disks)


def _file(guest, name):
    return os.path.join(guest['dir'], name)


def _read(path):
    with open(path) as f:
        return f.read()


# -- the XML ---------------------------------------------------------------

def test_resized_xml_changes_size_and_adds_the_local_disk(guest):
    xml = resize_files.resized_xml(guest['xml'], 1024, 3,
                                   local_disk=_file(guest, 'disk.local'))
    assert _shape(guest['xml']) == (256 * 1024, 1, {'vda': 'disk',
                                                    'vdb': 'disk.config'})
    assert _shape(xml) == (1024 * 1024, 3, {'vda': 'disk',
                                            'vdb': 'disk.local',
                                            'vdc': 'disk.config'})
    root = ET.fromstring(xml)
    assert root.find('currentMemory').text == str(1024 * 1024)
    assert root.find('devices/interface/target').get('dev') == \
        connection.tap_name(guest['instance'], 0)
    with pytest.raises(ValueError):
        resize_files.resized_xml(xml, 1024, 3,
                                 local_disk=_file(guest, 'disk.local'))


# -- resize and revert -----------------------------------------------------

def test_resize_then_revert_brings_the_old_guest_back(guest):
    conn, instance, dom = guest['conn'], guest['instance'], guest['dom']
    conn.resize(instance, BIG)
    assert guest['shutdowns'] == [instance['name']]   # asked, not pulled
    new_xml = _read(_file(guest, 'libvirt.xml'))
    assert _shape(new_xml) == (512 * 1024, 2, {'vda': 'disk',
                                               'vdb': 'disk.local',
                                               'vdc': 'disk.config'})
    assert dom.xml == new_xml                  # defined in libvirt too
    assert resize_files.qcow2_size(_file(guest, 'disk.local')) == GIB
    assert conn.get_info(instance['name'])['state'] == power_state.RUNNING
    manifest = resize_files.read_manifest(guest['dir'])
    assert manifest == {'was_running': True, 'saved': ['libvirt.xml'],
                        'created': ['disk.local']}

    conn.revert_resize(dict(instance, memory_mb=512, vcpus=2, local_gb=1),
                       OLD)
    assert _read(_file(guest, 'libvirt.xml')) == guest['xml']
    assert dom.xml == guest['xml']
    assert not os.path.exists(_file(guest, 'disk.local'))
    assert not os.path.exists(resize_files.save_dir(guest['dir']))
    assert conn.get_info(instance['name'])['state'] == power_state.RUNNING
    with pytest.raises(exception.InvalidState):
        conn.revert_resize(instance, OLD)


def test_growing_disks_are_saved_and_restored(guest):
    conn, instance = guest['conn'], guest['instance']
    conn.resize(instance, BIG)
    conn.confirm_resize(instance)
    with open(_file(guest, 'disk.local'), 'ab') as f:
        f.write(b'guest data')      # trailing bytes tell the copies apart
    before = open(_file(guest, 'disk.local'), 'rb').read()

    FLAGS.minimum_root_size = 1024 * 1024
    conn.resize(instance, BIGGER)
    assert resize_files.qcow2_size(_file(guest, 'disk.local')) == 2 * GIB
    assert resize_files.qcow2_size(_file(guest, 'disk')) == 1024 * 1024
    assert sorted(resize_files.read_manifest(guest['dir'])['saved']) == \
        ['disk', 'disk.local', 'libvirt.xml']
    assert _shape(_read(_file(guest, 'libvirt.xml')))[:2] == (1024 * 1024,
                                                              4)
    conn.revert_resize(instance, BIG)
    assert resize_files.qcow2_size(_file(guest, 'disk.local')) == GIB
    assert open(_file(guest, 'disk.local'), 'rb').read() == before
    assert resize_files.qcow2_size(_file(guest, 'disk')) == 65536
    assert _shape(_read(_file(guest, 'libvirt.xml')))[:2] == (512 * 1024, 2)


def test_confirm_drops_the_saved_state_and_is_idempotent(guest):
    conn, instance = guest['conn'], guest['instance']
    conn.resize(instance, BIG)
    conn.confirm_resize(instance)
    conn.confirm_resize(instance)
    assert not os.path.exists(resize_files.save_dir(guest['dir']))
    assert _shape(_read(_file(guest, 'libvirt.xml')))[:2] == (512 * 1024, 2)
    assert os.path.exists(_file(guest, 'disk.local'))
    with pytest.raises(exception.InvalidState):
        conn.revert_resize(instance, OLD)


def test_a_shut_off_guest_stays_off(guest):
    conn, instance, dom = guest['conn'], guest['instance'], guest['dom']
    dom.destroy()
    conn.resize(instance, BIG)
    assert guest['shutdowns'] == []
    assert conn.get_info(instance['name'])['state'] == power_state.SHUTOFF
    assert _shape(dom.xml)[:2] == (512 * 1024, 2)
    conn.revert_resize(instance, OLD)
    assert conn.get_info(instance['name'])['state'] == power_state.SHUTOFF
    assert dom.xml == guest['xml']


# -- refusals change nothing -----------------------------------------------

def _unchanged(guest):
    assert _read(_file(guest, 'libvirt.xml')) == guest['xml']
    assert guest['dom'].xml == guest['xml']
    assert guest['dom'].state == libvirt.VIR_DOMAIN_RUNNING
    assert not os.path.exists(resize_files.save_dir(guest['dir']))


def test_shrinking_the_ephemeral_disk_is_refused_before_anything(guest):
    conn, instance = guest['conn'], guest['instance']
    conn.resize(instance, BIGGER)
    conn.confirm_resize(instance)
    guest['xml'] = _read(_file(guest, 'libvirt.xml'))
    guest['shutdowns'].clear()
    with pytest.raises(exception.Invalid) as caught:
        conn.resize(instance, BIG)
    assert 'shrink from 2 to 1 GiB' in str(caught.value)
    assert guest['shutdowns'] == []
    _unchanged(guest)


def test_a_second_resize_waits_for_the_first(guest):
    conn, instance = guest['conn'], guest['instance']
    conn.resize(instance, BIG)
    with pytest.raises(exception.InvalidState) as caught:
        conn.resize(instance, BIGGER)
    assert 'confirmed or reverted' in str(caught.value)
    assert _shape(_read(_file(guest, 'libvirt.xml')))[:2] == (512 * 1024, 2)


def test_suspended_and_missing_guests_are_refused(guest):
    conn, instance = guest['conn'], guest['instance']
    conn.suspend(instance)
    with pytest.raises(exception.InvalidState):
        conn.resize(instance, BIG)
    conn.resume(instance)
    _unchanged(guest)
    with pytest.raises(exception.InstanceNotFound):
        conn.resize(dict(instance, name='instance-0000ffff'), BIG)


def test_a_guest_that_will_not_start_is_put_back(guest, monkeypatch):
    conn, instance, dom = guest['conn'], guest['instance'], guest['dom']
    real_create = FakeDomain.create
    failures = []

    def create_once_failing(self):
        if not failures:
            failures.append(self.name())
            raise lv_error(libvirt.VIR_ERR_INTERNAL_ERROR,
                           'cannot allocate memory')
        return real_create(self)
    monkeypatch.setattr(FakeDomain, 'create', create_once_failing)
    with pytest.raises(connection.SpawnError) as caught:
        conn.resize(instance, BIG)
    assert 'cannot allocate memory' in str(caught.value)
    assert failures == [instance['name']]
    assert not os.path.exists(_file(guest, 'disk.local'))
    _unchanged(guest)
    assert dom.xml == guest['xml']


def test_a_paused_guest_is_powered_off_without_asking(guest):
    conn, instance = guest['conn'], guest['instance']
    conn.pause(instance)
    conn.resize(instance, BIG)
    assert guest['shutdowns'] == []
    assert conn.get_info(instance['name'])['state'] == power_state.RUNNING
    assert _shape(guest['dom'].xml)[:2] == (512 * 1024, 2)


def test_an_interrupted_revert_can_be_run_again(guest, monkeypatch):
    conn, instance = guest['conn'], guest['instance']
    FLAGS.minimum_root_size = 1024 * 1024
    conn.resize(instance, BIG)
    libvirt_conn = guest['dom'].conn
    real_define = libvirt_conn.defineXML
    calls = []

    def define_failing_once(xml):
        if not calls:
            calls.append(1)
            raise lv_error(libvirt.VIR_ERR_INTERNAL_ERROR, 'libvirtd died')
        return real_define(xml)
    monkeypatch.setattr(libvirt_conn, 'defineXML', define_failing_once)
    with pytest.raises(libvirt.libvirtError):
        conn.revert_resize(instance, OLD)
    conn.revert_resize(instance, OLD)
    assert _read(_file(guest, 'libvirt.xml')) == guest['xml']
    assert guest['dom'].xml == guest['xml']
    assert resize_files.qcow2_size(_file(guest, 'disk')) == 65536
    assert not os.path.exists(resize_files.save_dir(guest['dir']))
