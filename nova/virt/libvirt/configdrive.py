"""The config drive: what a guest needs to know about itself, on an ISO.

The original driver mounted the guest's root disk on the host to write the
SSH key and /etc/network/interfaces into it.  That parses an untrusted file
system with the host kernel (and needs nbd or loop devices); instead every
guest gets a small read-only ISO 9660 image (volume label ``config-2``)
attached as an extra virtio disk:

    openstack/latest/meta_data.json     uuid, name, hostname, keys, metadata,
                                        files, network_config
    openstack/latest/user_data          the user data, decoded (if any)
    openstack/latest/network_data.json  links and networks of every NIC
    openstack/content/0000              Debian-style interfaces file (only
                                        when a network is ``injected``)
    openstack/content/NNNN              injected files (``files`` says where)
    ec2/latest/meta-data.json           the EC2 metadata service's view
    ec2/latest/user-data                the user data again (if any)
"""

import base64
import binascii
import json
import os
import shutil
import tempfile

from nova import exception
from nova import utils

LABEL = 'config-2'


class ConfigDriveError(exception.Invalid):
    message = 'cannot build the config drive: %(reason)s'


def ec2_id(value, prefix):
    """i-0000000a style ids from integer ids (other ids pass through)."""
    try:
        return '%s-%08x' % (prefix, int(value))
    except (TypeError, ValueError):
        return None if value in (None, '') else str(value)


def decode_user_data(user_data):
    """The user data bytes from the base64 text nova stores (or None)."""
    if not user_data:
        return None
    try:
        return base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigDriveError(reason='user data is not valid base64') \
            from None


def interfaces_file(network_info):
    """A Debian /etc/network/interfaces for the injected networks, or None."""
    lines = ['# Written by nova: the addresses of this instance.',
             'auto lo', 'iface lo inet loopback']
    injected = False
    for index, vif in enumerate(network_info or []):
        if not vif.get('injected') or not vif.get('ip'):
            continue
        injected = True
        lines += ['', 'auto eth%d' % index, 'iface eth%d inet static' % index,
                  '    address %s' % vif['ip'],
                  '    netmask %s' % vif['netmask']]
        if vif.get('broadcast'):
            lines.append('    broadcast %s' % vif['broadcast'])
        if vif.get('gateway') and index == 0:
            lines.append('    gateway %s' % vif['gateway'])
        if vif.get('dns'):
            lines.append('    dns-nameservers %s' % ' '.join(vif['dns']))
    return '\n'.join(lines) + '\n' if injected else None


def network_data(network_info):
    links, networks = [], []
    for index, vif in enumerate(network_info or []):
        link = 'tap%d' % index
        links.append({'id': link, 'type': 'bridge', 'name': 'eth%d' % index,
                      'ethernet_mac_address': vif.get('mac'),
                      'vif_id': vif.get('label')})
        if not vif.get('ip'):
            continue
        net = {'id': 'network%d' % index, 'link': link, 'type': 'ipv4',
               'ip_address': vif['ip'], 'netmask': vif.get('netmask'),
               'cidr': vif.get('cidr'), 'dns': list(vif.get('dns') or []),
               'routes': []}
        if vif.get('gateway'):
            net['routes'].append({'network': '0.0.0.0', 'netmask': '0.0.0.0',
                                  'gateway': vif['gateway']})
        networks.append(net)
    return {'links': links, 'networks': networks,
            'services': [{'type': 'dns', 'address': d}
                         for vif in (network_info or [])
                         for d in (vif.get('dns') or [])]}


def contents(instance, network_info):
    """{path inside the drive: bytes} for ``instance``."""
    files = {}
    user_data = decode_user_data(instance.get('user_data'))
    keys = {}
    if instance.get('key_data'):
        keys[instance.get('key_name') or 'default'] = instance['key_data']
    meta = {
        'uuid': instance.get('uuid'),
        'name': instance.get('display_name') or instance.get('name'),
        'hostname': instance.get('hostname') or instance.get('name'),
        'launch_index': instance.get('launch_index') or 0,
        'availability_zone': instance.get('availability_zone'),
        'project_id': instance.get('project_id'),
        'public_keys': keys,
        'meta': dict(instance.get('metadata') or {}),
        'files': [],
    }
    if instance.get('admin_password'):
        meta['admin_pass'] = instance['admin_password']
    interfaces = interfaces_file(network_info)
    if interfaces is not None:
        files['openstack/content/0000'] = interfaces.encode()
        meta['network_config'] = {'content_path': '/content/0000',
                                  'name': 'interfaces'}
    for number, item in enumerate(instance.get('injected_files') or [], 1):
        path, data = item
        if not isinstance(path, str) or not path.startswith('/'):
            raise ConfigDriveError(reason='injected file path %r is not '
                                   'absolute' % (path,))
        name = 'content/%04d' % number
        files['openstack/' + name] = data if isinstance(data, bytes) \
            else str(data).encode()
        meta['files'].append({'path': path, 'content_path': '/' + name})

    first_ip = next((vif.get('ip') for vif in (network_info or [])
                     if vif.get('ip')), None)
    ec2 = {
        'instance-id': ec2_id(instance.get('id'), 'i'),
        'ami-id': ec2_id(instance.get('image_id'), 'ami'),
        'kernel-id': ec2_id(instance.get('kernel_id'), 'aki'),
        'ramdisk-id': ec2_id(instance.get('ramdisk_id'), 'ari'),
        'hostname': meta['hostname'],
        'local-hostname': meta['hostname'],
        'local-ipv4': first_ip,
        'reservation-id': instance.get('reservation_id'),
        'ami-launch-index': meta['launch_index'],
        'instance-type': instance.get('instance_type'),
        'placement': {'availability-zone': meta['availability_zone']},
        'public-keys': keys,
    }
    files['openstack/latest/meta_data.json'] = json.dumps(meta).encode()
    files['openstack/latest/network_data.json'] = json.dumps(
        network_data(network_info)).encode()
    files['ec2/latest/meta-data.json'] = json.dumps(ec2).encode()
    if user_data is not None:
        files['openstack/latest/user_data'] = user_data
        files['ec2/latest/user-data'] = user_data
    return files


def build(instance, network_info, path):
    """Write the config drive of ``instance`` to ``path`` (an ISO image)."""
    files = contents(instance, network_info)
    scratch = tempfile.mkdtemp(prefix='nova-configdrive-')
    try:
        for name, data in files.items():
            target = os.path.join(scratch, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, 'wb') as f:
                f.write(data)
        utils.execute('genisoimage', '-o', path, '-V', LABEL, '-r', '-J',
                      '-l', '-ldots', '-allow-lowercase', '-allow-multidot',
                      '-input-charset', 'utf-8', '-quiet', scratch,
                      timeout=120)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return path
