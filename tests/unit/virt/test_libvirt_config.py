"""Domain XML built by nova.virt.libvirt.config."""

import xml.etree.ElementTree as ET

import pytest

from nova.virt.libvirt import config


def _domain(**overrides):
    values = dict(
        name='instance-0000000a', uuid='6f1c1f56-6d2b-4b36-9e3e-4f1a2b3c4d5e',
        virt_type='qemu', memory_mib=256, vcpus=2,
        disks=[config.Disk('/i/disk', 'vda'),
               config.Disk('/i/disk.config', 'vdb', 'raw', readonly=True)],
        interfaces=[config.Interface('02:16:3e:00:00:0a', 'br100',
                                     'tap6f1c1f566d2')],
        console_log='/i/console.log')
    values.update(overrides)
    return config.Domain(**values)


def test_ami_guest_boots_its_kernel_with_the_command_line():
    root = ET.fromstring(config.domain_xml(_domain(
        kernel='/i/kernel', initrd='/i/ramdisk',
        cmdline='root=/dev/vda console=ttyS0')))
    assert root.get('type') == 'qemu'
    assert root.findtext('name') == 'instance-0000000a'
    assert root.find('memory').text == str(256 * 1024)
    assert root.find('memory').get('unit') == 'KiB'
    assert root.findtext('vcpu') == '2'
    assert root.findtext('os/kernel') == '/i/kernel'
    assert root.findtext('os/initrd') == '/i/ramdisk'
    assert root.findtext('os/cmdline') == 'root=/dev/vda console=ttyS0'
    assert root.find('os/boot') is None
    assert root.find('features/acpi') is not None


def test_whole_disk_guest_boots_from_its_disk():
    root = ET.fromstring(config.domain_xml(_domain()))
    assert root.find('os/kernel') is None
    assert root.find('os/boot').get('dev') == 'hd'


def test_disks_nic_and_serial_console():
    root = ET.fromstring(config.domain_xml(_domain()))
    disks = root.findall('devices/disk')
    assert [(d.find('source').get('file'), d.find('target').get('dev'),
             d.find('target').get('bus'), d.find('driver').get('type'))
            for d in disks] == [('/i/disk', 'vda', 'virtio', 'qcow2'),
                                ('/i/disk.config', 'vdb', 'virtio', 'raw')]
    assert disks[0].find('readonly') is None
    assert disks[1].find('readonly') is not None
    nic = root.find('devices/interface')
    assert nic.get('type') == 'bridge'
    assert nic.find('mac').get('address') == '02:16:3e:00:00:0a'
    assert nic.find('source').get('bridge') == 'br100'
    assert nic.find('target').get('dev') == 'tap6f1c1f566d2'
    assert nic.find('model').get('type') == 'virtio'
    assert nic.find('filterref') is None
    serial = root.find('devices/serial')
    assert serial.get('type') == 'file'
    assert serial.find('source').get('path') == '/i/console.log'


def test_filterref_carries_its_parameters():
    nic = config.Interface('02:00:00:00:00:01', 'br100', 'tapx',
                           filter_name='nova-instance-instance-0000000a',
                           filter_params={'IP': '10.0.0.3',
                                          'DHCPSERVER': '10.0.0.1'})
    root = ET.fromstring(config.domain_xml(_domain(interfaces=[nic])))
    ref = root.find('devices/interface/filterref')
    assert ref.get('filter') == 'nova-instance-instance-0000000a'
    assert {p.get('name'): p.get('value') for p in ref} == {
        'IP': '10.0.0.3', 'DHCPSERVER': '10.0.0.1'}


def test_hostile_text_stays_text():
    """Quotes, angle brackets and ampersands cannot add XML."""
    evil = "x'/><devices><disk type='block'><source dev='/dev/sda'/>&amp;"
    root = ET.fromstring(config.domain_xml(_domain(
        description=evil, kernel='/i/kernel', cmdline=evil)))
    assert root.findtext('description') == evil
    assert root.findtext('os/cmdline') == evil
    assert len(root.findall('devices/disk')) == 2
    assert root.find(".//source[@dev='/dev/sda']") is None


def test_unknown_domain_type_is_refused():
    with pytest.raises(ValueError):
        config.domain_xml(_domain(virt_type='xen'))


def test_targets_are_read_back_from_xml():
    xml = config.domain_xml(_domain())
    assert config.disk_targets(xml) == {'vda': '/i/disk',
                                        'vdb': '/i/disk.config'}
    assert config.interface_targets(xml) == ['tap6f1c1f566d2']
