"""The config drive's contents, and the ISO genisoimage makes of them."""

import base64
import json
import subprocess

import pytest

from nova.virt.libvirt import configdrive


def _instance(**overrides):
    instance = {
        'id': 10, 'uuid': 'u-1', 'name': 'instance-0000000a',
        'hostname': 'web1', 'display_name': 'web 1', 'image_id': '3',
        'kernel_id': '1', 'ramdisk_id': '2', 'launch_index': 0,
        'availability_zone': 'nova', 'project_id': 'proj',
        'key_name': 'mykey', 'key_data': 'ssh-rsa AAAA me@host',
        'user_data': base64.b64encode(b'#!/bin/sh\necho hi\n').decode(),
        'metadata': {'role': 'web'}, 'reservation_id': 'r-1',
        'instance_type': 'm1.small'}
    instance.update(overrides)
    return instance


NET = [{'bridge': 'br100', 'ip': '10.0.0.3', 'netmask': '255.255.255.0',
        'gateway': '10.0.0.1', 'broadcast': '10.0.0.255',
        'cidr': '10.0.0.0/24', 'dns': ['10.0.0.1'],
        'mac': '02:16:3e:00:00:0a', 'dhcp_server': '10.0.0.1',
        'injected': True, 'vlan': None, 'label': 'private'}]


def test_metadata_keys_and_user_data():
    files = configdrive.contents(_instance(), NET)
    meta = json.loads(files['openstack/latest/meta_data.json'])
    assert meta['uuid'] == 'u-1'
    assert meta['hostname'] == 'web1'
    assert meta['public_keys'] == {'mykey': 'ssh-rsa AAAA me@host'}
    assert meta['meta'] == {'role': 'web'}
    assert files['openstack/latest/user_data'] == b'#!/bin/sh\necho hi\n'
    assert files['ec2/latest/user-data'] == b'#!/bin/sh\necho hi\n'
    ec2 = json.loads(files['ec2/latest/meta-data.json'])
    assert ec2['instance-id'] == 'i-0000000a'
    assert ec2['ami-id'] == 'ami-00000003'
    assert ec2['kernel-id'] == 'aki-00000001'
    assert ec2['local-ipv4'] == '10.0.0.3'
    assert ec2['instance-type'] == 'm1.small'


def test_injected_network_gets_an_interfaces_file():
    files = configdrive.contents(_instance(), NET)
    text = files['openstack/content/0000'].decode()
    assert 'iface eth0 inet static' in text
    assert '    address 10.0.0.3' in text
    assert '    netmask 255.255.255.0' in text
    assert '    gateway 10.0.0.1' in text
    assert '    dns-nameservers 10.0.0.1' in text
    meta = json.loads(files['openstack/latest/meta_data.json'])
    assert meta['network_config']['content_path'] == '/content/0000'
    net = json.loads(files['openstack/latest/network_data.json'])
    assert net['networks'][0]['ip_address'] == '10.0.0.3'
    assert net['links'][0]['ethernet_mac_address'] == '02:16:3e:00:00:0a'


def test_dhcp_network_gets_no_interfaces_file():
    net = [dict(NET[0], injected=False)]
    files = configdrive.contents(_instance(user_data=None, key_data=None),
                                 net)
    assert 'openstack/content/0000' not in files
    assert 'openstack/latest/user_data' not in files
    meta = json.loads(files['openstack/latest/meta_data.json'])
    assert 'network_config' not in meta
    assert meta['public_keys'] == {}


def test_injected_files_are_listed():
    files = configdrive.contents(_instance(injected_files=[
        ('/etc/motd', b'hello'), ('/root/x', 'text')]), [])
    meta = json.loads(files['openstack/latest/meta_data.json'])
    assert meta['files'] == [
        {'path': '/etc/motd', 'content_path': '/content/0001'},
        {'path': '/root/x', 'content_path': '/content/0002'}]
    assert files['openstack/content/0001'] == b'hello'
    assert files['openstack/content/0002'] == b'text'


def test_bad_input_is_refused():
    with pytest.raises(configdrive.ConfigDriveError):
        configdrive.contents(_instance(user_data='not base64!!'), [])
    with pytest.raises(configdrive.ConfigDriveError):
        configdrive.contents(_instance(injected_files=[('rel/path', 'x')]),
                             [])


def test_iso_has_the_label_and_the_files(tmp_path):
    path = str(tmp_path / 'disk.config')
    configdrive.build(_instance(), NET, path)
    listing = subprocess.run(['isoinfo', '-R', '-f', '-i', path],
                             capture_output=True, text=True,
                             check=True).stdout.split()
    assert '/openstack/latest/meta_data.json' in listing
    assert '/openstack/latest/user_data' in listing
    assert '/openstack/content/0000' in listing
    assert '/ec2/latest/meta-data.json' in listing
    header = subprocess.run(['isoinfo', '-d', '-i', path],
                            capture_output=True, text=True,
                            check=True).stdout
    assert 'Volume id: config-2' in header
    data = subprocess.run(['isoinfo', '-R', '-i', path, '-x',
                           '/openstack/latest/user_data'],
                          capture_output=True, check=True).stdout
    assert data == b'#!/bin/sh\necho hi\n'
