"""Resize a real guest through nova.virt.libvirt (QEMU under the session's
private libvirtd in its namespace): the guest comes back bigger, boots
and answers HTTP; revert brings back the old definition and the root disk
as it was before the resize; a confirmed resize keeps the new size.
"""

import os
import re

import libvirt
import pytest

from nova.compute import power_state
from nova.virt.libvirt import config
from nova.virt.libvirt import resize as resize_files
from tests.integration import guests
from tests.integration.conftest import apply_libvirt_flags

pytestmark = pytest.mark.slow

BIG = {'name': 'm1.it-big', 'memory_mb': 256, 'vcpus': 2, 'local_gb': 1,
       'flavorid': 901}
SMALL = {'name': 'm1.it', 'memory_mb': 160, 'vcpus': 1, 'local_gb': 0,
         'flavorid': 900}
ROOT_GROWN_TO = 16 * 1024 * 1024      # the AMI root is an 8 MiB file system


def _boots(text):
    found = re.findall(r'NOVA-TEST-IMAGE-ROOT form=\S+ boots=(\d+)', text)
    return int(found[-1]) if found else None


def _answers(env, instance, address):
    body = env.http_get('http://%s/' % address)
    return body is not None and \
        'instance-id=%s' % guests.ec2_id(instance) in body


def _disks(conn, name):
    xml = conn._lookup(name).XMLDesc(0)
    return sorted(os.path.basename(path) for path in
                  config.disk_targets(xml).values())


@pytest.fixture
def guest(libvirt_ns, integration_dirs, image_ids):
    from nova.virt.libvirt import connection
    flags_ = apply_libvirt_flags(libvirt_ns, integration_dirs)
    conn = connection.LibvirtConnection()
    instance = guests.make_instance(image_ids['ami'], image_ids['aki'],
                                    image_ids['ari'], memory_mb=160)
    instance['instance_type'] = SMALL['name']
    nw = guests.network_info(libvirt_ns, instance, 40)
    try:
        conn.spawn(None, instance, nw)
        guests.wait_for_console(conn, instance, guests.MARKER)
        yield {'conn': conn, 'instance': instance, 'env': libvirt_ns,
               'address': nw[0]['ip'], 'flags': flags_,
               'dir': os.path.join(integration_dirs['instances'],
                                   instance['name'])}
    finally:
        apply_libvirt_flags(libvirt_ns, integration_dirs)
        conn.destroy(instance, nw)


def test_resize_up_then_revert_then_confirm(guest):
    conn, instance, env = guest['conn'], guest['instance'], guest['env']
    name = instance['name']
    assert _answers(env, instance, guest['address'])
    assert _boots(conn.get_console_output(instance)) == 1

    # Bigger: more memory and cores, an ephemeral disk, a grown root.
    guest['flags'].minimum_root_size = ROOT_GROWN_TO
    conn.resize(instance, BIG)
    info = conn.get_info(name)
    assert info['state'] == power_state.RUNNING
    assert (info['max_mem'], info['num_cpu']) == (256 * 1024, 2)
    assert _disks(conn, name) == ['disk', 'disk.config', 'disk.local']
    assert resize_files.qcow2_size(os.path.join(guest['dir'], 'disk')) == \
        ROOT_GROWN_TO
    text = guests.wait_for_boot(conn, instance, 1)
    assert 'NOVA-TEST-IMAGE-POWEROFF' in text     # shut down cleanly first
    assert _boots(text) == 2                      # same disk, booted again
    assert _answers(env, instance, guest['address'])

    # Revert: the old definition, and the root disk from before the resize.
    conn.revert_resize(instance, SMALL)
    info = conn.get_info(name)
    assert info['state'] == power_state.RUNNING
    assert (info['max_mem'], info['num_cpu']) == (160 * 1024, 1)
    assert _disks(conn, name) == ['disk', 'disk.config']
    assert not os.path.exists(os.path.join(guest['dir'], 'disk.local'))
    assert not os.path.exists(resize_files.save_dir(guest['dir']))
    text = guests.wait_for_boot(conn, instance, 2)
    assert _boots(text) == 2          # the copy taken after boot 1
    assert _answers(env, instance, guest['address'])

    # Resize again and keep it.
    conn.resize(instance, BIG)
    guests.wait_for_boot(conn, instance, 3)
    conn.confirm_resize(instance)
    assert not os.path.exists(resize_files.save_dir(guest['dir']))
    assert conn.get_info(name)['max_mem'] == 256 * 1024
    assert _answers(env, instance, guest['address'])
    # A reboot boots the confirmed definition.
    conn.reboot(instance, None)
    guests.wait_for_boot(conn, instance, 4)
    dom = libvirt.open(env.uri)
    try:
        assert dom.lookupByName(name).info()[3] == 2
    finally:
        dom.close()
