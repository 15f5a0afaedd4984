"""Libvirt domain XML, built with xml.etree from plain data.

Nothing here formats user-supplied text into XML by hand: names, paths, MAC
addresses and the kernel command line become element text or attribute
values, which ElementTree escapes.  The connection module decides *what*
goes into a guest (a ``Domain``); this module only says how libvirt spells
it.
"""

import dataclasses
import xml.etree.ElementTree as ET

KIB_PER_MIB = 1024


@dataclasses.dataclass
class Disk:
    path: str
    target: str                 # vda, vdb, ...
    format: str = 'qcow2'       # driver type: qcow2 or raw
    bus: str = 'virtio'
    device: str = 'disk'        # disk or cdrom
    readonly: bool = False
    serial: str = None


@dataclasses.dataclass
class Interface:
    mac: str
    bridge: str
    target_dev: str             # the tap device's name, so it can be found
    model: str = 'virtio'
    filter_name: str = None     # an nwfilter to reference, with parameters
    filter_params: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Domain:
    name: str
    uuid: str
    virt_type: str              # kvm or qemu
    memory_mib: int
    vcpus: int
    disks: list
    interfaces: list
    console_log: str            # serial port 0 writes here
    kernel: str = None          # direct kernel boot when set
    initrd: str = None
    cmdline: str = None
    arch: str = 'x86_64'
    description: str = None


def _sub(parent, tag, text=None, **attrs):
    element = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()
                                          if v is not None})
    if text is not None:
        element.text = str(text)
    return element


def domain_element(domain):
    """The <domain> element of ``domain``."""
    if domain.virt_type not in ('kvm', 'qemu'):
        raise ValueError('unsupported domain type %r' % domain.virt_type)
    root = ET.Element('domain', type=domain.virt_type)
    _sub(root, 'name', domain.name)
    _sub(root, 'uuid', domain.uuid)
    if domain.description:
        _sub(root, 'description', domain.description)
    _sub(root, 'memory', int(domain.memory_mib) * KIB_PER_MIB, unit='KiB')
    _sub(root, 'currentMemory', int(domain.memory_mib) * KIB_PER_MIB,
         unit='KiB')
    _sub(root, 'vcpu', int(domain.vcpus))

    os_el = _sub(root, 'os')
    _sub(os_el, 'type', 'hvm', arch=domain.arch)
    if domain.kernel:
        _sub(os_el, 'kernel', domain.kernel)
        if domain.initrd:
            _sub(os_el, 'initrd', domain.initrd)
        if domain.cmdline:
            _sub(os_el, 'cmdline', domain.cmdline)
    else:
        _sub(os_el, 'boot', dev='hd')

    features = _sub(root, 'features')
    _sub(features, 'acpi')
    _sub(features, 'apic')
    _sub(root, 'clock', offset='utc')
    _sub(root, 'on_poweroff', 'destroy')
    _sub(root, 'on_reboot', 'restart')
    _sub(root, 'on_crash', 'destroy')

    devices = _sub(root, 'devices')
    for disk in domain.disks:
        _disk(devices, disk)
    for nic in domain.interfaces:
        _interface(devices, nic)
    # Serial port 0 goes to a file that get_console_output reads.  There is
    # no pty console as well: nothing here reads it, and a file keeps the
    # whole boot even when nobody is attached.
    serial = _sub(devices, 'serial', type='file')
    _sub(serial, 'source', path=domain.console_log, append='on')
    _sub(serial, 'target', port=0)
    _sub(devices, 'memballoon', model='virtio')
    return root


def _disk(devices, disk):
    element = _sub(devices, 'disk', type='file', device=disk.device)
    _sub(element, 'driver', name='qemu', type=disk.format)
    _sub(element, 'source', file=disk.path)
    _sub(element, 'target', dev=disk.target, bus=disk.bus)
    if disk.readonly:
        _sub(element, 'readonly')
    if disk.serial:
        _sub(element, 'serial', disk.serial)


def _interface(devices, nic):
    element = _sub(devices, 'interface', type='bridge')
    _sub(element, 'mac', address=nic.mac)
    _sub(element, 'source', bridge=nic.bridge)
    _sub(element, 'target', dev=nic.target_dev)
    _sub(element, 'model', type=nic.model)
    if nic.filter_name:
        ref = _sub(element, 'filterref', filter=nic.filter_name)
        for name, value in sorted(nic.filter_params.items()):
            _sub(ref, 'parameter', name=name, value=value)


def domain_xml(domain):
    """``domain`` as libvirt XML text."""
    root = domain_element(domain)
    ET.indent(root)
    return ET.tostring(root, encoding='unicode')


def disk_targets(xml_text):
    """{target dev: source file} of the disks in a domain's XML."""
    root = ET.fromstring(xml_text)
    found = {}
    for disk in root.findall('./devices/disk'):
        target = disk.find('target')
        source = disk.find('source')
        if target is not None:
            found[target.get('dev')] = (source.get('file') or source.get('dev')
                                        if source is not None else None)
    return found


def interface_targets(xml_text):
    """Names of the tap devices of a domain's XML."""
    root = ET.fromstring(xml_text)
    return [t.get('dev') for t in root.findall('./devices/interface/target')
            if t.get('dev')]
