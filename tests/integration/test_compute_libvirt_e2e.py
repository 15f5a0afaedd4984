"""End to end: compute.api here, bin/nova-scheduler, bin/nova-network and a
nova-compute on the libvirt driver (QEMU in the session's namespace) over
RabbitMQ, images served by real glance-api/glance-registry processes.

The test image is uploaded to Glance, booted through compute.api in both
forms, reached over HTTP at the address nova-network gave it, snapshotted
into Glance and booted again from the snapshot, then deleted: nothing of
it stays in libvirt, on disk or in the namespace.
"""

import base64
import os
import re

import pytest

from nova import context
from nova import exception
from nova import flags
from nova.compute import api as compute_api
from nova.compute import power_state
from nova.image import glance as glance_image
from tests.functional.compute import fake_cloud
from tests.functional.glance.servers import GlanceServers
from tests.integration import guests

pytestmark = pytest.mark.slow
FLAGS = flags.FLAGS
BOOT_TIMEOUT = 300


@pytest.fixture
def cloud(rabbit, libvirt_ns, test_image, tmp_path):
    glance = GlanceServers().start()
    cloud = None
    try:
        instances = str(tmp_path / 'instances')
        cloud = fake_cloud.FakeCloud(
            str(tmp_path), compute_hosts=1, hosts_per_process=1,
            network=libvirt_ns.prefix + '.0/24',
            flags_extra={
                'connection_type': 'libvirt', 'libvirt_type': 'qemu',
                'libvirt_uri': libvirt_ns.uri, 'instances_path': instances,
                'libvirt_boot_timeout': 120,
                # nova-compute runs outside the namespace: its iptables
                # firewall would filter the host, not the guests.
                'firewall_driver':
                    'nova.virt.libvirt.firewall.NoopFirewallDriver',
                'image_service': 'nova.image.glance.GlanceImageService',
                'glance_host': '127.0.0.1', 'glance_port': glance.api_port,
                'flat_network_bridge': libvirt_ns.bridge,
                'flat_injected': True,
                'scheduler_driver': 'nova.scheduler.chance.ChanceScheduler',
            })
        cloud.configure_this_process()
        from nova.network import manager as network_manager
        assert network_manager.FLAGS is FLAGS   # its flat_* flags exist
        FLAGS.glance_host = '127.0.0.1'
        FLAGS.glance_port = glance.api_port
        FLAGS.flat_network_bridge = libvirt_ns.bridge
        FLAGS.flat_injected = True
        service = glance_image.GlanceImageService('127.0.0.1',
                                                  glance.api_port)
        ids = guests.upload_test_images(service, context.get_admin_context(),
                                        test_image)
        cloud.start()
        yield {'cloud': cloud, 'glance': glance, 'images': ids,
               'service': service, 'env': libvirt_ns,
               'instances': instances}
    finally:
        if cloud is not None:
            cloud.stop()
        glance.stop()


def _state(api, ctx, instance_id):
    try:
        return api.get(ctx, instance_id)['state_description']
    except exception.InstanceNotFound:
        return 'gone'


def _wait_running(c, api, ctx, ids):
    def check():
        states = {i: _state(api, ctx, i) for i in ids}
        failed = {i: api.get(ctx, i).get('fault') for i, s in states.items()
                  if s == 'error'}
        if failed:
            raise AssertionError('instances failed: %s' % failed)
        return all(s == 'running' for s in states.values())
    c.wait(check, BOOT_TIMEOUT, 'instances %s to run' % ids, interval=1)


def _wait_console(c, api, ctx, instance_id, pattern):
    regex = re.compile(pattern)
    c.wait(lambda: regex.search(api.get_console_output(ctx, instance_id)),
           BOOT_TIMEOUT, '%r on the console of %s' % (pattern, instance_id),
           interval=2)
    return api.get_console_output(ctx, instance_id)


def test_boot_snapshot_and_delete_through_compute_api(cloud):
    c, env, images = cloud['cloud'], cloud['env'], cloud['images']
    api = compute_api.API()
    ctx = context.RequestContext('alice', 'proj1', is_admin=False)
    user_data = base64.b64encode(b'e2e-user-data').decode()
    ami = api.create(ctx, 'm1.tiny', images['ami'], user_data=user_data)[0]
    disk = api.create(ctx, 'm1.tiny', images['disk'])[0]
    _wait_running(c, api, ctx, [ami['id'], disk['id']])

    for made in (ami, disk):
        got = api.get(ctx, made['id'])
        assert got['state'] == power_state.RUNNING
        text = _wait_console(c, api, ctx, made['id'], guests.MARKER)
        assert '%s instance-id=i-%08x' % (guests.MARKER, made['id']) in text
        assert 'NOVA-TEST-IMAGE-NET static address=%s/24' % got['fixed_ip'] \
            in text
        body = env.http_get('http://%s/' % got['fixed_ip'])
        assert body is not None and 'instance-id=i-%08x' % made['id'] in body
    assert 'NOVA-TEST-IMAGE-USERDATA e2e-user-data' in \
        api.get_console_output(ctx, ami['id'])
    assert 'NOVA-TEST-IMAGE-ROOT form=whole-disk boots=1' in \
        api.get_console_output(ctx, disk['id'])

    snap = api.snapshot(ctx, disk['id'], 'e2e snapshot')
    c.wait(lambda: cloud['service'].show(ctx, snap['id'])['status'] ==
           'active', BOOT_TIMEOUT, 'the snapshot to be uploaded')
    _wait_running(c, api, ctx, [disk['id']])
    again = api.create(ctx, 'm1.tiny', str(snap['id']))[0]
    _wait_running(c, api, ctx, [again['id']])
    # The snapshot holds the guest's disk: its boot counter goes on.
    _wait_console(c, api, ctx, again['id'],
                  r'NOVA-TEST-IMAGE-ROOT form=whole-disk boots=2\b')

    names = [api.get(ctx, i)['name'] for i in (ami['id'], disk['id'],
                                               again['id'])]
    ids = [ami['id'], disk['id'], again['id']]
    for instance_id in ids:
        api.delete(ctx, instance_id)
    c.wait(lambda: all(_state(api, ctx, i) == 'gone' for i in ids),
           BOOT_TIMEOUT, 'instances to be deleted')
    import libvirt
    conn = libvirt.open(env.uri)
    try:
        left = [d.name() for d in conn.listAllDomains(0)]
    finally:
        conn.close()
    assert not set(names) & set(left)
    for name in names:
        assert not os.path.exists(os.path.join(cloud['instances'], name))
    assert [link for link in env.links() if link.startswith('tap')] == []
