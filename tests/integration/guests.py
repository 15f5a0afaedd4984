"""Helpers for tests that boot the test image through the libvirt driver."""

import itertools
import os
import re
import time
import uuid

MARKER = 'NOVA-TEST-IMAGE-BOOTED'
_ids = itertools.count(0x100 + (os.getpid() % 0x1000) * 0x10)


def upload_test_images(image_service, context, files):
    """Put the test image into ``image_service``; return their ids:
    {'aki', 'ari', 'ami', 'disk'}."""
    ids = {}

    def add(key, name, disk_format, container_format, properties=None):
        with open(files[key], 'rb') as f:
            meta = image_service.create(context, {
                'name': name, 'disk_format': disk_format,
                'container_format': container_format, 'is_public': True,
                'properties': properties or {}}, data=f)
        ids[key] = str(meta['id'])

    add('aki', 'nova-test-kernel', 'aki', 'aki')
    add('ari', 'nova-test-ramdisk', 'ari', 'ari')
    add('ami', 'nova-test-ami', 'ami', 'ami',
        {'kernel_id': ids['aki'], 'ramdisk_id': ids['ari']})
    add('disk', 'nova-test-disk', 'qcow2', 'bare')
    return ids


def upload_bytes(image_service, context, name, data, disk_format,
                 container_format='bare', properties=None):
    meta = image_service.create(context, {
        'name': name, 'disk_format': disk_format,
        'container_format': container_format, 'is_public': True,
        'properties': properties or {}}, data=[data])
    return str(meta['id'])


def make_instance(image_id, kernel_id=None, ramdisk_id=None, memory_mb=160,
                  local_gb=0, user_data=None, key_data=None):
    instance_id = next(_ids)
    return {
        'id': instance_id, 'uuid': str(uuid.uuid4()),
        'name': 'instance-%08x' % instance_id,
        'hostname': 'it-%d' % instance_id, 'host': 'it',
        'image_id': image_id, 'kernel_id': kernel_id,
        'ramdisk_id': ramdisk_id, 'memory_mb': memory_mb, 'vcpus': 1,
        'local_gb': local_gb,
        'mac_address': '02:16:3e:%02x:%02x:%02x' % (
            (instance_id >> 16) & 0xff, (instance_id >> 8) & 0xff,
            instance_id & 0xff),
        'key_name': 'it-key' if key_data else None, 'key_data': key_data,
        'user_data': user_data, 'project_id': 'it-project',
        'user_id': 'it-user', 'display_name': 'it %d' % instance_id,
        'launch_index': 0, 'reservation_id': 'r-it', 'os_type': 'linux',
        'availability_zone': 'nova', 'metadata': {'purpose': 'it'},
        'instance_type': 'm1.it',
    }


def network_info(env, instance, host_number):
    return [{'bridge': env.bridge, 'ip': '%s.%d' % (env.prefix, host_number),
             'netmask': '255.255.255.0', 'gateway': env.gateway,
             'broadcast': env.prefix + '.255',
             'cidr': env.prefix + '.0/24', 'dns': [],
             'mac': instance['mac_address'], 'dhcp_server': env.gateway,
             'injected': True, 'vlan': None, 'label': 'it'}]


def ec2_id(instance):
    return 'i-%08x' % instance['id']


def wait_for_console(conn, instance, pattern, timeout=240):
    """The console text once ``pattern`` (a regex) appears in it;
    AssertionError with the console's end when it never does."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    text = ''
    while time.monotonic() < deadline:
        text = conn.get_console_output(instance)
        if regex.search(text):
            return text
        time.sleep(1)
    raise AssertionError('%r never appeared on the console of %s; it ends '
                         'with:\n%s' % (pattern, instance['name'],
                                        text[-3000:]))


def wait_for_boot(conn, instance, seen, timeout=240):
    """The console text once it shows more than ``seen`` boot markers."""
    deadline = time.monotonic() + timeout
    text = ''
    while time.monotonic() < deadline:
        text = conn.get_console_output(instance)
        if text.count(MARKER) > seen:
            return text
        time.sleep(1)
    raise AssertionError('%s did not boot again (%d markers); its console '
                         'ends with:\n%s' % (instance['name'], seen,
                                             text[-3000:]))
