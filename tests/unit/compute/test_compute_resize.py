"""Resize through compute.api onto a compute host running the libvirt
driver (against the in-memory libvirt stand-in, real qemu-img disks):
resize, revert and confirm change the guest's definition, and an instance
waiting for its resize to be verified refuses every other action."""

import os
import xml.etree.ElementTree as ET

import libvirt
import pytest

from nova import context
from nova import exception
from nova import flags
from nova.compute import api as compute_api
from nova.db import api as db
from nova.image import local
from nova.network import manager as network_manager
from nova.virt.libvirt import resize as resize_files
from tests.unit.compute.conftest import Cloud, settle
from tests.unit.virt.test_libvirt_connection import (  # noqa: F401
    FakeDomain, FakeLibvirtConn, fake_libvirt)

FLAGS = flags.FLAGS


@pytest.fixture
def lv_cloud(fake_env, fake_libvirt, tmp_path, monkeypatch):  # noqa: F811
    """network + scheduler + one compute host 'lv1' on the libvirt driver."""
    monkeypatch.setattr(FakeLibvirtConn, 'getType', lambda self: 'QEMU',
                        raising=False)
    monkeypatch.setattr(FakeLibvirtConn, 'getVersion', lambda self: 8000000,
                        raising=False)

    def shutdown(self):
        self.state = libvirt.VIR_DOMAIN_SHUTOFF
    monkeypatch.setattr(FakeDomain, 'shutdown', shutdown, raising=False)
    FLAGS.connection_type = 'libvirt'
    FLAGS.libvirt_type = 'qemu'
    FLAGS.instances_path = str(tmp_path / 'instances')
    FLAGS.libvirt_boot_timeout = 5
    FLAGS.firewall_driver = 'nova.virt.libvirt.firewall.NoopFirewallDriver'
    image_id = str(local.LocalImageService().create(
        context.get_admin_context(),
        {'name': 'disk', 'disk_format': 'raw', 'container_format': 'bare',
         'is_public': True}, data=[b'\0' * 65536])['id'])
    network_manager.FlatManager().create_networks(
        context.get_admin_context(), '10.0.0.0/24', 1, 256)
    c = Cloud()
    c.start('net1', 'nova-network', 'network',
            'nova.network.manager.FlatManager')
    c.start('sched1', 'nova-scheduler', 'scheduler',
            'nova.scheduler.manager.SchedulerManager')
    c.add_compute('lv1')
    c.image_id = image_id
    c.libvirt = fake_libvirt
    yield c
    settle()
    c.stop()


@pytest.fixture
def api(fake_env):
    return compute_api.API()


def _domain(cloud, name):
    root = ET.fromstring(cloud.libvirt[-1].domains[name].xml)
    return {'memory_mib': int(root.findtext('memory')) // 1024,
            'vcpus': int(root.findtext('vcpu')),
            'disks': sorted(os.path.basename(d.get('file')) for d in
                            root.findall('devices/disk/source'))}


def _running(api, cloud, ctx):
    inst = api.create(ctx, 'm1.tiny', cloud.image_id)[0]
    settle()
    inst = api.get(ctx, inst['id'])
    assert inst['state_description'] == 'running', inst['fault']
    assert inst['host'] == 'lv1'
    return inst


def _resize(api, ctx, inst, flavor_id):
    api.resize(ctx, inst['id'], flavor_id)
    settle()
    return api.get(ctx, inst['id'])


def test_resize_revert_and_confirm_on_libvirt(api, lv_cloud, user_ctx):
    inst = _running(api, lv_cloud, user_ctx)
    name = inst['name']
    assert _domain(lv_cloud, name) == {'memory_mib': 512, 'vcpus': 1,
                                       'disks': ['disk', 'disk.config']}

    resized = _resize(api, user_ctx, inst, 2)           # m1.small
    assert resized['fault'] is None
    assert resized['state_description'] == 'resize_verify'
    assert (resized['instance_type'], resized['memory_mb']) == ('m1.small',
                                                                2048)
    assert _domain(lv_cloud, name) == {
        'memory_mib': 2048, 'vcpus': 1,
        'disks': ['disk', 'disk.config', 'disk.local']}

    api.revert_resize(user_ctx, inst['id'])
    settle()
    reverted = api.get(user_ctx, inst['id'])
    assert reverted['state_description'] == 'running'
    assert (reverted['instance_type'], reverted['memory_mb']) == ('m1.tiny',
                                                                  512)
    assert _domain(lv_cloud, name)['memory_mib'] == 512
    inst_dir = os.path.join(FLAGS.instances_path, name)
    assert not os.path.exists(os.path.join(inst_dir, 'disk.local'))

    _resize(api, user_ctx, inst, 3)                     # m1.medium
    api.confirm_resize(user_ctx, inst['id'])
    settle()
    confirmed = api.get(user_ctx, inst['id'])
    assert confirmed['state_description'] == 'running'
    assert confirmed['instance_type'] == 'm1.medium'
    assert _domain(lv_cloud, name)['vcpus'] == 2
    assert not os.path.exists(resize_files.save_dir(inst_dir))
    admin = context.get_admin_context()
    for status in ('reverted', 'confirmed'):
        assert db.migration_get_by_instance_and_status(admin, inst['id'],
                                                       status)


def test_shrinking_is_refused_and_recorded(api, lv_cloud, user_ctx):
    inst = _running(api, lv_cloud, user_ctx)
    _resize(api, user_ctx, inst, 3)                     # m1.medium, 40 GiB
    api.confirm_resize(user_ctx, inst['id'])
    settle()
    back = _resize(api, user_ctx, inst, 2)              # m1.small, 20 GiB
    assert back['state_description'] == 'running'
    assert back['instance_type'] == 'm1.medium'
    actions = db.instance_get_actions(user_ctx, inst['id'])
    assert actions[-1]['action'] == 'resize_instance'
    assert 'shrink from 40 to 20 GiB' in actions[-1]['error']
    assert _domain(lv_cloud, inst['name'])['memory_mib'] == 4096


def test_waiting_for_verify_refuses_other_actions(api, lv_cloud, user_ctx):
    inst = _running(api, lv_cloud, user_ctx)
    _resize(api, user_ctx, inst, 2)
    for action in (lambda: api.resize(user_ctx, inst['id'], 3),
                   lambda: api.reboot(user_ctx, inst['id']),
                   lambda: api.pause(user_ctx, inst['id']),
                   lambda: api.snapshot(user_ctx, inst['id'], 'snap'),
                   lambda: api.rebuild(user_ctx, inst['id'],
                                       lv_cloud.image_id),
                   lambda: api.rescue(user_ctx, inst['id'])):
        with pytest.raises(exception.InvalidState) as caught:
            action()
        assert 'confirmed or reverted' in str(caught.value)
    settle()
    assert api.get(user_ctx, inst['id'])['state_description'] == \
        'resize_verify'
    # Deleting is always allowed, and takes the saved state with it.
    api.delete(user_ctx, inst['id'])
    settle()
    assert not os.path.exists(os.path.join(FLAGS.instances_path,
                                           inst['name']))
    assert inst['name'] not in lv_cloud.libvirt[-1].domains
