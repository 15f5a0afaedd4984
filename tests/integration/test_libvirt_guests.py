"""Real guests through nova.virt.libvirt: QEMU (TCG) under a private
libvirtd in a network namespace, booting the test image in both forms.

Three guests are booted at once by a module fixture and then taken through
the driver's operations in file order; the last test destroys them and
checks that nothing is left behind.
"""

import base64
import json
import os
import re
import subprocess
import threading

import pytest

from nova import context as nova_context
from nova import exception
from nova.compute import power_state
from nova.image import local
from tests.integration import guests
from tests.integration.conftest import apply_libvirt_flags

pytestmark = pytest.mark.slow

USER_DATA = 'hello-from-user-data'
KEY = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0 it@test'


def _ctx():
    return nova_context.get_admin_context()


def _conn():
    from nova.virt.libvirt import connection
    return connection.LibvirtConnection()


def _spawn_all(conn, jobs):
    """Spawn (instance, network_info) pairs in parallel; raise the first
    failure."""
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
    if errors:
        raise AssertionError('spawn failed: %s' % errors)


def _boots(text):
    found = re.findall(r'NOVA-TEST-IMAGE-ROOT form=\S+ boots=(\d+)', text)
    return int(found[-1]) if found else None


@pytest.fixture(scope='module')
def fleet(libvirt_ns, integration_dirs, image_ids):
    apply_libvirt_flags(libvirt_ns, integration_dirs)
    conn = _conn()
    conn.init_host('it')
    ids = image_ids
    a = guests.make_instance(
        ids['ami'], ids['aki'], ids['ari'],
        user_data=base64.b64encode(USER_DATA.encode()).decode(),
        key_data=KEY)
    b = guests.make_instance(ids['disk'], local_gb=1)
    c = guests.make_instance(ids['ami'], ids['aki'], ids['ari'])
    nets = {a['name']: guests.network_info(libvirt_ns, a, 10),
            b['name']: guests.network_info(libvirt_ns, b, 11),
            c['name']: guests.network_info(libvirt_ns, c, 12)}
    fleet = {'conn': conn, 'a': a, 'b': b, 'c': c, 'nets': nets,
             'env': libvirt_ns, 'dirs': integration_dirs, 'extra': []}
    try:
        _spawn_all(conn, [(i, nets[i['name']]) for i in (a, b, c)])
        for i in (a, b, c):
            guests.wait_for_console(conn, i, guests.MARKER)
        yield fleet
    finally:
        apply_libvirt_flags(libvirt_ns, integration_dirs)
        for i in [a, b, c] + fleet['extra']:
            conn.destroy(i, nets.get(i['name']))


@pytest.fixture
def drv(fleet, libvirt_flags):
    return fleet['conn']


def _image_service(fleet):
    return local.LocalImageService(fleet['dirs']['images'])


def test_three_guests_boot_at_once(fleet, drv):
    names = drv.list_instances()
    for key, form in (('a', 'ami'), ('b', 'whole-disk'), ('c', 'ami')):
        instance = fleet[key]
        assert instance['name'] in names
        info = drv.get_info(instance['name'])
        assert info['state'] == power_state.RUNNING
        assert info['max_mem'] == instance['memory_mb'] * 1024
        assert info['num_cpu'] == 1
        text = drv.get_console_output(instance)
        assert '%s instance-id=%s' % (guests.MARKER,
                                      guests.ec2_id(instance)) in text
        assert 'NOVA-TEST-IMAGE-ROOT form=%s boots=1' % form in text


def test_config_drive_and_injected_network_reach_the_guest(fleet, drv):
    a, b = fleet['a'], fleet['b']
    text = drv.get_console_output(a)
    assert 'NOVA-TEST-IMAGE-USERDATA %s' % USER_DATA in text
    assert 'NOVA-TEST-IMAGE-SSH-KEY present' in text
    assert 'NOVA-TEST-IMAGE-CONFIG-DRIVE uuid=%s hostname=%s' % (
        a['uuid'], a['hostname']) in text
    assert 'NOVA-TEST-IMAGE-NET static address=%s.10/24' % (
        fleet['env'].prefix) in text
    text_b = drv.get_console_output(b)
    assert 'USERDATA' not in text_b
    assert 'SSH-KEY' not in text_b


def test_guests_answer_http_with_their_instance_id(fleet, drv):
    env = fleet['env']
    for key, host in (('a', 10), ('b', 11), ('c', 12)):
        body = env.http_get('http://%s.%d/' % (env.prefix, host))
        assert body is not None, 'guest %s does not answer' % key
        assert 'instance-id=%s' % guests.ec2_id(fleet[key]) in body


def test_root_disks_are_overlays_on_one_cached_image(fleet, drv):
    instances = fleet['dirs']['instances']
    base = os.path.join(instances, '_base')

    def info(path):
        out = subprocess.run(['qemu-img', 'info', '-U', '--output=json',
                              path], capture_output=True, text=True,
                             check=True).stdout
        return json.loads(out)
    backing = {key: info(os.path.join(instances, fleet[key]['name'],
                                      'disk')).get('backing-filename')
               for key in 'abc'}
    ami_base = os.path.join(base, fleet['a']['image_id'])
    assert backing['a'] == backing['c'] == ami_base
    assert backing['b'] == os.path.join(base, fleet['b']['image_id'])
    local_disk = info(os.path.join(instances, fleet['b']['name'],
                                   'disk.local'))
    assert local_disk['virtual-size'] == 1024 ** 3
    assert not os.path.exists(os.path.join(instances, fleet['a']['name'],
                                           'disk.local'))
    for key in 'ab':
        assert os.path.exists(os.path.join(instances, fleet[key]['name'],
                                           'disk.config'))


def test_diagnostics_and_host_stats(fleet, drv):
    diags = drv.get_diagnostics(fleet['a'])
    assert diags['state'] == 'running'
    assert diags['cpu_time'] > 0
    assert diags['vda_read_req'] > 0
    stats = drv.get_host_stats(refresh=True)
    assert stats['hypervisor_type'] == 'QEMU'
    assert stats['vcpus'] >= 1
    assert stats['vcpus_used'] >= 3
    assert stats['memory_mb'] > 0 and stats['local_gb'] > 0


def test_pause_and_unpause(fleet, drv):
    c = fleet['c']
    drv.pause(c)
    assert drv.get_info(c['name'])['state'] == power_state.PAUSED
    with pytest.raises(exception.InvalidState):
        drv.pause(c)
    drv.unpause(c)
    assert drv.get_info(c['name'])['state'] == power_state.RUNNING


def test_suspend_and_resume_keep_the_running_guest(fleet, drv):
    c, env = fleet['c'], fleet['env']
    drv.suspend(c)
    assert drv.get_info(c['name'])['state'] == power_state.SUSPENDED
    drv.resume(c)
    assert drv.get_info(c['name'])['state'] == power_state.RUNNING
    body = env.http_get('http://%s.12/' % env.prefix)
    assert body is not None and guests.ec2_id(c) in body
    # Restored, not rebooted: the guest's boot counter did not move.
    assert _boots(drv.get_console_output(c)) == 1


def test_hard_reboot_boots_the_same_disk_again(fleet, drv):
    a = fleet['a']
    drv.reboot(a, fleet['nets'][a['name']])
    assert drv.get_info(a['name'])['state'] == power_state.RUNNING
    guests.wait_for_console(drv, a, r'NOVA-TEST-IMAGE-ROOT form=ami boots=2')
    guests.wait_for_console(drv, a, r'(?s)boots=2.*%s instance-id=%s'
                            % (guests.MARKER, guests.ec2_id(a)))


def test_soft_reboot_asks_the_guest_to_power_off(fleet, drv):
    b = fleet['b']
    drv.reboot(b, fleet['nets'][b['name']], reboot_type='SOFT')
    text = guests.wait_for_console(
        drv, b, r'NOVA-TEST-IMAGE-ROOT form=whole-disk boots=2')
    assert 'NOVA-TEST-IMAGE-POWEROFF' in text


def test_snapshots_boot_with_the_guests_disk(fleet, drv):
    """Snapshot both forms, boot both snapshots: each sees its source's
    boot counter, so the image holds the guest's disk, not the original."""
    service = _image_service(fleet)
    ctx = _ctx()
    a = fleet['a']
    snaps = {}
    for key in ('a', 'b'):
        source = fleet[key]
        boots = _boots(drv.get_console_output(source))
        meta = service.create(ctx, {'name': 'snap of %s' % source['name'],
                                    'is_public': True})
        drv.snapshot(ctx, source, str(meta['id']))
        assert drv.get_info(source['name'])['state'] == power_state.RUNNING
        snaps[key] = (str(meta['id']), boots)

    meta_a = service.show(ctx, snaps['a'][0])
    assert meta_a['status'] == 'active'
    assert meta_a['disk_format'] == 'ami'
    assert meta_a['properties']['kernel_id'] == a['kernel_id']
    assert meta_a['properties']['ramdisk_id'] == a['ramdisk_id']
    meta_b = service.show(ctx, snaps['b'][0])
    assert (meta_b['status'], meta_b['disk_format'],
            meta_b['container_format']) == ('active', 'qcow2', 'bare')

    from_a = guests.make_instance(snaps['a'][0], a['kernel_id'],
                                  a['ramdisk_id'])
    from_b = guests.make_instance(snaps['b'][0])
    fleet['extra'] += [from_a, from_b]
    _spawn_all(drv, [(from_a, []), (from_b, [])])
    guests.wait_for_console(drv, from_a, r'NOVA-TEST-IMAGE-ROOT form=ami '
                            r'boots=%d\b' % (snaps['a'][1] + 1))
    guests.wait_for_console(drv, from_b, r'NOVA-TEST-IMAGE-ROOT '
                            r'form=whole-disk boots=%d\b'
                            % (snaps['b'][1] + 1))
    for instance in (from_a, from_b):
        drv.destroy(instance, [])
        assert instance['name'] not in drv.list_instances()


def test_rescue_boots_a_fresh_disk_and_unrescue_the_old_one(fleet, drv):
    c = fleet['c']
    boots = _boots(drv.get_console_output(c))
    seen = drv.get_console_output(c).count(guests.MARKER)
    drv.rescue(_ctx(), c, fleet['nets'][c['name']])
    # The rescue disk is a fresh overlay of the image: its counter restarts.
    text = guests.wait_for_boot(drv, c, seen)
    assert _boots(text) == 1
    inst_dir = os.path.join(fleet['dirs']['instances'], c['name'])
    assert os.path.exists(os.path.join(inst_dir, 'disk.rescue'))
    drv.unrescue(c, fleet['nets'][c['name']])
    guests.wait_for_console(drv, c, r'NOVA-TEST-IMAGE-ROOT form=ami '
                            r'boots=%d\b' % (boots + 1))
    assert not os.path.exists(os.path.join(inst_dir, 'disk.rescue'))
    assert drv.get_info(c['name'])['state'] == power_state.RUNNING


def test_destroy_leaves_nothing_behind(fleet, drv):
    env = fleet['env']
    instances = fleet['dirs']['instances']
    taps_before = [link for link in env.links() if link.startswith('tap')]
    assert len(taps_before) >= 3
    for key in 'abc':
        instance = fleet[key]
        drv.destroy(instance, fleet['nets'][instance['name']])
        drv.destroy(instance, fleet['nets'][instance['name']])  # idempotent
        assert instance['name'] not in drv.list_instances()
        assert not os.path.exists(os.path.join(instances, instance['name']))
        with pytest.raises(exception.InstanceNotFound):
            drv.get_info(instance['name'])
    assert [link for link in env.links() if link.startswith('tap')] == []
    # The image cache stays for the next spawn on this host.
    assert os.path.exists(os.path.join(instances, '_base',
                                       fleet['a']['image_id']))
