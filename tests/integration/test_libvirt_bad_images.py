"""Images the libvirt driver must refuse (or fail to boot) cleanly: the
spawn raises with the reason and leaves no domain, instance directory,
tap device or cached file behind."""

import os
import subprocess

import pytest

from nova import context as nova_context
from nova import exception
from nova.image import local
from nova.virt import images
from tests.integration import guests

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(libvirt_flags, libvirt_ns, integration_dirs, image_ids):
    from nova.virt.libvirt import connection
    return {'conn': connection.LibvirtConnection(), 'env': libvirt_ns,
            'dirs': integration_dirs, 'ids': image_ids,
            'service': local.LocalImageService(integration_dirs['images']),
            'ctx': nova_context.get_admin_context()}


def _assert_nothing_left(setup, instance, image_id=None):
    conn, env = setup['conn'], setup['env']
    assert instance['name'] not in conn.list_instances()
    assert not os.path.exists(os.path.join(setup['dirs']['instances'],
                                           instance['name']))
    taps = [link for link in env.links()
            if link.startswith(guests_tap_prefix(instance))]
    assert taps == []
    if image_id is not None:
        base = os.path.join(setup['dirs']['instances'], '_base')
        leftovers = [n for n in os.listdir(base)
                     if n.split('.')[0] == image_id]
        assert leftovers == [] or leftovers == [image_id + '.lock']


def guests_tap_prefix(instance):
    from nova.virt.libvirt import connection
    return connection.tap_name(instance, 0)


def test_garbage_declared_qcow2_is_refused(setup):
    image_id = guests.upload_bytes(setup['service'], setup['ctx'], 'garbage',
                                   os.urandom(64 * 1024), 'qcow2')
    instance = guests.make_instance(image_id)
    with pytest.raises(images.ImageUnacceptable) as caught:
        setup['conn'].spawn(setup['ctx'], instance,
                            guests.network_info(setup['env'], instance, 40))
    assert 'declared qcow2 but its content is raw' in str(caught.value)
    _assert_nothing_left(setup, instance, image_id)


def test_qcow2_naming_a_backing_file_is_refused(setup, tmp_path):
    evil = tmp_path / 'evil.qcow2'
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b',
                    '/etc/hostname', '-F', 'raw', str(evil)], check=True)
    for declared in ('qcow2', None):
        image_id = guests.upload_bytes(setup['service'], setup['ctx'],
                                       'evil', evil.read_bytes(), declared)
        instance = guests.make_instance(image_id)
        with pytest.raises(images.ImageUnacceptable) as caught:
            setup['conn'].spawn(setup['ctx'], instance, [])
        assert 'backing file (/etc/hostname)' in str(caught.value)
        _assert_nothing_left(setup, instance, image_id)


def test_kernel_that_does_not_load_fails_the_spawn(setup):
    ids = setup['ids']
    bad_kernel = guests.upload_bytes(setup['service'], setup['ctx'],
                                     'bad kernel', b'not a kernel' * 100,
                                     'aki', 'aki')
    instance = guests.make_instance(ids['ami'], bad_kernel, ids['ari'])
    with pytest.raises(exception.NovaException) as caught:
        setup['conn'].spawn(setup['ctx'], instance,
                            guests.network_info(setup['env'], instance, 41))
    assert 'did not start' in str(caught.value)
    assert 'kernel' in str(caught.value).lower()
    _assert_nothing_left(setup, instance)


def test_missing_bridge_fails_the_spawn(setup):
    ids = setup['ids']
    instance = guests.make_instance(ids['disk'])
    network_info = guests.network_info(setup['env'], instance, 42)
    network_info[0]['bridge'] = 'br-missing'
    with pytest.raises(exception.NovaException) as caught:
        setup['conn'].spawn(setup['ctx'], instance, network_info)
    assert 'br-missing' in str(caught.value)
    _assert_nothing_left(setup, instance)


def test_missing_image_fails_the_spawn(setup):
    instance = guests.make_instance('987654')
    with pytest.raises(exception.ImageNotFound):
        setup['conn'].spawn(setup['ctx'], instance, [])
    _assert_nothing_left(setup, instance, '987654')


def test_existing_guest_is_not_touched_by_a_second_spawn(setup):
    ids = setup['ids']
    conn = setup['conn']
    instance = guests.make_instance(ids['disk'])
    conn.spawn(setup['ctx'], instance, [])
    try:
        with pytest.raises(exception.Duplicate):
            conn.spawn(setup['ctx'], instance, [])
        assert instance['name'] in conn.list_instances()
        assert os.path.exists(os.path.join(setup['dirs']['instances'],
                                           instance['name'], 'disk'))
    finally:
        conn.destroy(instance, [])
    _assert_nothing_left(setup, instance)
