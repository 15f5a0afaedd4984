"""What a same-host resize changes in a guest's definition, and what it
keeps for a revert.

The connection module shuts the guest down and applies a resize; this
module only computes the new domain XML and reads and writes the record of
what was saved.  Saved files live in ``<instance dir>/resize-orig/``:

    manifest.json   {"was_running": bool, "saved": [names], "created": [names]}
    libvirt.xml     the definition before the resize
    disk, ...       copies of the disks the resize grew (taken while the
                    guest was shut down, so they are consistent)

The manifest is written last: a directory without one is an interrupted
start of a resize that had not changed anything yet.
"""

import json
import os
import xml.etree.ElementTree as ET

from nova.virt.libvirt import config

SAVE_DIR = 'resize-orig'
MANIFEST = 'manifest.json'


def resized_xml(xml_text, memory_mib, vcpus, local_disk=None):
    """``xml_text`` with new memory and vcpus.

    ``local_disk``: path of an ephemeral disk (qcow2) to add as the second
    disk, where spawn puts one; the disks after it move one target letter
    on (guests find the config drive by its label, not its device name).
    """
    root = ET.fromstring(xml_text)
    for tag in ('memory', 'currentMemory'):
        element = root.find(tag)
        if element is None:
            element = ET.SubElement(root, tag)
        element.text = str(int(memory_mib) * config.KIB_PER_MIB)
        element.set('unit', 'KiB')
    vcpu = root.find('vcpu')
    if vcpu is None:
        vcpu = ET.SubElement(root, 'vcpu')
    vcpu.text = str(int(vcpus))

    if local_disk is not None:
        devices = root.find('devices')
        disks = devices.findall('disk')
        if any(d.find('source') is not None and
               d.find('source').get('file') == local_disk for d in disks):
            raise ValueError('%s is already a disk of the domain'
                             % local_disk)
        new = ET.Element('disk', type='file', device='disk')
        ET.SubElement(new, 'driver', name='qemu', type='qcow2')
        ET.SubElement(new, 'source', file=local_disk)
        ET.SubElement(new, 'target', dev='vdb', bus='virtio')
        position = list(devices).index(disks[0]) + 1 if disks else 0
        devices.insert(position, new)
        for index, disk in enumerate(devices.findall('disk')):
            target = disk.find('target')
            if target is not None and target.get('bus') == 'virtio':
                target.set('dev', 'vd' + chr(ord('a') + index))
    ET.indent(root)
    return ET.tostring(root, encoding='unicode')


def qcow2_size(path):
    """Virtual size of the qcow2 file ``path``, from its header.

    Read directly because ``qemu-img info`` refuses a disk a running guest
    holds locked, and these files are the driver's own qcow2 disks.
    """
    with open(path, 'rb') as f:
        header = f.read(32)
    if len(header) < 32 or header[:4] != b'QFI\xfb':
        raise ValueError('%s is not a qcow2 file' % path)
    return int.from_bytes(header[24:32], 'big')


def save_dir(inst_dir):
    return os.path.join(inst_dir, SAVE_DIR)


def read_manifest(inst_dir):
    """The manifest of the resize waiting for confirm/revert, or None."""
    try:
        with open(os.path.join(save_dir(inst_dir), MANIFEST)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def write_manifest(inst_dir, was_running, saved, created):
    path = os.path.join(save_dir(inst_dir), MANIFEST)
    with open(path + '.tmp', 'w') as f:
        json.dump({'was_running': bool(was_running), 'saved': list(saved),
                   'created': list(created)}, f)
    os.replace(path + '.tmp', path)
