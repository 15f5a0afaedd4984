"""Snapshots through compute.api: the image record says from its creation
what the snapshot will hold (ami/ami with the kernel and ramdisk for
kernel-booted instances, qcow2/bare for whole-disk ones), so the EC2 and
OpenStack views are right while the compute host is still uploading.
"""

import pytest

from nova import context
from nova.api.ec2 import images as ec2_images
from nova.api.openstack import images as os_images
from nova.compute import api as compute_api
from nova.image import local
from tests.unit.compute.conftest import settle


@pytest.fixture
def api(fake_env):
    return compute_api.API()


def _running(api, ctx, image_id, **kw):
    inst = api.create(ctx, 'm1.tiny', image_id, **kw)[0]
    settle()
    assert api.get(ctx, inst['id'])['state_description'] == 'running'
    return inst


def _watch_saving(cloud, host):
    """Record the image as the APIs see it while the driver uploads."""
    driver = cloud.computes[host].driver
    seen = []
    real = driver.snapshot

    def snapshot(ctx, instance, image_id):
        record = local.LocalImageService().show(ctx, image_id)
        seen.append({'record': record,
                     'ec2': ec2_images.format_image(record),
                     'osapi': os_images.image_status(record)})
        return real(ctx, instance, image_id)
    driver.snapshot = snapshot
    return seen


def test_ami_instance_snapshot_is_an_ami_from_the_start(api, cloud, user_ctx,
                                                         images):
    inst = _running(api, user_ctx, images['ami'])
    host = api.get(user_ctx, inst['id'])['host']
    seen = _watch_saving(cloud, host)
    made = api.snapshot(user_ctx, inst['id'], 'ami snap')
    assert (made['status'], made['disk_format'],
            made['container_format']) == ('queued', 'ami', 'ami')
    props = made['properties']
    assert props['kernel_id'] == images['kernel']
    assert props['ramdisk_id'] == images['ramdisk']
    assert props['instance_id'] == str(inst['id'])
    assert props['base_image_ref'] == images['ami']
    assert props['image_state'] == 'snapshotting'
    assert made['owner'] == 'proj1' and not made['is_public']
    settle()

    # While the host was uploading, both APIs told the truth.
    assert len(seen) == 1
    saving = seen[0]
    assert saving['record']['disk_format'] == 'ami'
    assert saving['osapi'] == 'SAVING'
    assert saving['ec2']['imageState'] == 'pending'
    assert saving['ec2']['imageType'] == 'machine'
    assert saving['ec2']['imageId'].startswith('ami-')
    assert saving['ec2']['kernelId'] == 'aki-%08x' % int(images['kernel'])
    assert saving['ec2']['ramdiskId'] == 'ari-%08x' % int(images['ramdisk'])

    done = local.LocalImageService().show(user_ctx, made['id'])
    assert (done['status'], done['disk_format'],
            done['container_format']) == ('active', 'ami', 'ami')
    assert done['properties']['kernel_id'] == images['kernel']
    assert done['properties']['image_state'] == 'available'
    assert ec2_images.format_image(done)['imageState'] == 'available'
    assert os_images.image_status(done) == 'ACTIVE'

    # The snapshot boots like the image it came from.
    again = _running(api, user_ctx, str(made['id']))
    assert again['kernel_id'] == images['kernel']
    assert again['ramdisk_id'] == images['ramdisk']


@pytest.mark.parametrize('source,kernel', [('raw', None), ('qcow2', None),
                                           ('ami_no_kernel', 'nokernel')])
def test_whole_disk_instance_snapshot_is_qcow2(api, cloud, user_ctx, images,
                                               source, kernel):
    inst = _running(api, user_ctx, images[source], kernel_id=kernel)
    host = api.get(user_ctx, inst['id'])['host']
    seen = _watch_saving(cloud, host)
    made = api.snapshot(user_ctx, inst['id'], 'disk snap')
    assert (made['disk_format'], made['container_format']) == ('qcow2',
                                                               'bare')
    assert 'kernel_id' not in made['properties']
    assert 'ramdisk_id' not in made['properties']
    settle()
    assert seen[0]['record']['disk_format'] == 'qcow2'
    assert seen[0]['osapi'] == 'SAVING'
    assert seen[0]['ec2']['kernelId'] is None
    assert seen[0]['ec2']['virtualizationType'] == 'hvm'
    done = local.LocalImageService().show(user_ctx, made['id'])
    assert (done['status'], done['disk_format']) == ('active', 'qcow2')
    again = _running(api, user_ctx, str(made['id']))
    assert again['kernel_id'] == ''


def test_snapshot_of_an_instance_whose_image_is_gone(api, cloud, user_ctx,
                                                     images):
    inst = _running(api, user_ctx, images['ami'])
    local.LocalImageService().delete(context.get_admin_context(),
                                     images['ami'])
    made = api.snapshot(user_ctx, inst['id'], 'orphan snap')
    assert made['disk_format'] == 'ami'
    assert made['properties']['kernel_id'] == images['kernel']
    settle()
    assert local.LocalImageService().show(
        user_ctx, made['id'])['status'] == 'active'


def test_snapshot_meta_copies_architecture_and_os_type(user_ctx):
    instance = {'id': 7, 'uuid': 'u-7', 'image_id': '3', 'kernel_id': '',
                'ramdisk_id': '', 'os_type': 'linux'}
    meta = compute_api.snapshot_image_meta(
        user_ctx, instance, 'n', {'properties': {'architecture': 'i686'}})
    assert meta['properties']['architecture'] == 'i686'
    assert meta['properties']['os_type'] == 'linux'
    assert meta['properties']['instance_uuid'] == 'u-7'
    assert meta['status'] == 'queued'
