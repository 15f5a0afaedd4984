"""LibvirtConnection.snapshot writes the format the image record names and
leaves the record's formats alone (fake libvirt, real qemu-img)."""

import os

import pytest

from nova import exception
from nova import flags
from nova import image
from nova.compute import power_state
from tests.unit.virt.test_libvirt_connection import (  # noqa: F401
    NET, _instance, env, fake_libvirt)

FLAGS = flags.FLAGS


def _record(env, **meta):
    meta.setdefault('name', 'snap')
    return str(image.get_default_image_service().create(env['ctx'],
                                                        meta)['id'])


def _data(env, image_id):
    path = os.path.join(FLAGS.local_image_path, image_id, 'image')
    with open(path, 'rb') as f:
        return f.read()


@pytest.fixture
def running(env):
    instance = _instance(env['image_id'])
    env['conn'].spawn(env['ctx'], instance, NET)
    return instance


def test_qcow2_record_gets_a_qcow2_disk(env, running):
    image_id = _record(env, disk_format='qcow2', container_format='bare',
                       properties={'image_state': 'snapshotting'})
    env['conn'].snapshot(env['ctx'], running, image_id)
    shown = image.get_default_image_service().show(env['ctx'], image_id)
    assert (shown['status'], shown['disk_format'],
            shown['container_format']) == ('active', 'qcow2', 'bare')
    assert _data(env, image_id)[:4] == b'QFI\xfb'
    # The guest was paused for the copy and runs again.
    assert env['conn'].get_info(running['name'])['state'] == \
        power_state.RUNNING


def test_ami_record_gets_raw_bytes_and_keeps_its_labels(env, running):
    running = dict(running, kernel_id='41', ramdisk_id='42')
    image_id = _record(env, disk_format='ami', container_format='ami',
                       properties={'kernel_id': '41', 'ramdisk_id': '42'})
    env['conn'].snapshot(env['ctx'], running, image_id)
    shown = image.get_default_image_service().show(env['ctx'], image_id)
    assert (shown['disk_format'], shown['container_format']) == ('ami',
                                                                 'ami')
    assert shown['properties']['kernel_id'] == '41'
    data = _data(env, image_id)
    assert data == b'\0' * 65536       # the raw root disk, flattened


def test_unlabelled_record_is_labelled_by_the_driver(env, running):
    running = dict(running, kernel_id='41', ramdisk_id=None)
    image_id = _record(env)
    env['conn'].snapshot(env['ctx'], running, image_id)
    shown = image.get_default_image_service().show(env['ctx'], image_id)
    assert (shown['disk_format'], shown['container_format']) == ('ami',
                                                                 'ami')
    assert shown['properties']['kernel_id'] == '41'
    assert 'ramdisk_id' not in shown['properties']


def test_unwritable_format_is_refused_before_the_guest_is_touched(env,
                                                                   running):
    image_id = _record(env, disk_format='vhd', container_format='bare')
    with pytest.raises(exception.Invalid) as caught:
        env['conn'].snapshot(env['ctx'], running, image_id)
    assert 'vhd' in str(caught.value)
    shown = image.get_default_image_service().show(env['ctx'], image_id)
    assert shown['status'] == 'queued'
    assert env['conn'].get_info(running['name'])['state'] == \
        power_state.RUNNING
    inst_dir = os.path.join(FLAGS.instances_path, running['name'])
    assert not [n for n in os.listdir(inst_dir) if n.startswith('snapshot')]
