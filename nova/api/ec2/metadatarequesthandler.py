"""The EC2 metadata service: what a guest learns about itself over HTTP.

nova-api answers ``/latest/...``, ``/1.0/...`` and each dated version on
the EC2 port; guests reach it as ``http://169.254.169.254/`` through a DNAT
rule of nova-network (or directly, when nova-api listens there).  No
signature: the guest is known by its source address alone (the fixed IP;
``X-Forwarded-For`` only with ``use_forwarded_for``, else any guest could
claim to be any other).

A directory lists its children one per line, sub-directories with a
trailing ``/``; ``public-keys/`` lists ``0=<key name>``.  An address that
belongs to no instance, and any path that is not in the tree, is 404 (the
original answered an unknown address with a 500).
"""

import base64
import binascii

import webob
import webob.dec
import webob.exc

from nova import context as nova_context
from nova import exception
from nova import flags
from nova import log as logging
from nova import wsgi
from nova.api import ec2
from nova.api.ec2 import ec2utils
from nova.compute import api as compute_api
from nova.db import api as db

LOG = logging.getLogger('nova.api.ec2.metadata')
FLAGS = flags.FLAGS


def _image_ref(image_id, prefix):
    if image_id in (None, ''):
        return None
    try:
        return '%s-%08x' % (prefix, int(image_id))
    except (TypeError, ValueError):
        return str(image_id)


def instance_metadata(instance, floating_ip=None, image_location=None):
    """The tree of one instance: nested dicts of text leaves."""
    hostname = instance.get('hostname') or \
        ec2utils.instance_id_to_ec2(instance['id'])
    meta = {
        'ami-id': _image_ref(instance['image_id'], 'ami'),
        'ami-launch-index': str(instance.get('launch_index') or 0),
        'ami-manifest-path': image_location or 'FIXME',
        # Guests see virtio disks (the original listed static sd* names).
        'block-device-mapping': {'ami': 'vda', 'root': '/dev/vda',
                                 'ephemeral0': 'vdb'},
        'hostname': hostname,
        'instance-action': 'none',
        'instance-id': ec2utils.instance_id_to_ec2(instance['id']),
        'instance-type': instance.get('instance_type') or '',
        'local-hostname': hostname,
        'local-ipv4': instance.get('fixed_ip') or '',
        'placement': {'availability-zone':
                      instance.get('availability_zone')
                      or FLAGS.node_availability_zone},
        'public-hostname': hostname,
        'public-ipv4': floating_ip or '',
        'reservation-id': instance.get('reservation_id') or '',
        'security-groups': '\n'.join(instance.get('security_groups') or []),
    }
    kernel = _image_ref(instance.get('kernel_id'), 'aki')
    ramdisk = _image_ref(instance.get('ramdisk_id'), 'ari')
    if kernel:
        meta['kernel-id'] = kernel
    if ramdisk:
        meta['ramdisk-id'] = ramdisk
    if instance.get('key_name'):
        meta['public-keys'] = {'0': {'openssh-key':
                                     instance.get('key_data') or ''}}
    tree = {'meta-data': meta}
    user_data = instance.get('user_data')
    if user_data:
        try:
            tree['user-data'] = base64.b64decode(user_data)
        except (binascii.Error, ValueError):
            # Stored by an API that did not validate it: hand it over raw.
            tree['user-data'] = user_data.encode('utf-8')
    return tree


def _listing(node, key_name=None):
    lines = []
    for name in sorted(node):
        value = node[name]
        if isinstance(value, dict):
            if name == '0' and key_name is not None:
                lines.append('0=%s' % key_name)
            else:
                lines.append(name + '/')
        elif value is not None:
            lines.append(name)
    return '\n'.join(lines)


def resolve(tree, path, key_name=None):
    """The body (bytes) at ``path`` of the tree, or None when absent."""
    node = tree
    parts = [p for p in path.split('/') if p]
    for part in parts:
        if not isinstance(node, dict) or part not in node or \
                node[part] is None:
            return None
        node = node[part]
    if isinstance(node, dict):
        return _listing(node, key_name if parts == ['meta-data',
                                                    'public-keys']
                        else None).encode('utf-8')
    if isinstance(node, bytes):
        return node
    return str(node).encode('utf-8')


class MetadataRequestHandler(wsgi.Application):
    """Serves the tree of the instance whose fixed IP is asking."""

    def __init__(self, compute=None, **_config):
        self._compute = compute

    @property
    def compute(self):
        if self._compute is None:
            self._compute = compute_api.API()
        return self._compute

    def _instance(self, address):
        admin = nova_context.get_admin_context()
        try:
            found = self.compute.get_all(admin, fixed_ip=address)
        except exception.NotFound:
            return None
        return found[0] if found else None

    def _floating_ip(self, instance):
        try:
            return db.instance_get_floating_address(
                nova_context.get_admin_context(), instance['id'])
        except exception.NotFound:
            return None

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        if req.method not in ('GET', 'HEAD'):
            return webob.exc.HTTPMethodNotAllowed(allow='GET, HEAD')
        address = ec2.remote_address(req)
        instance = self._instance(address)
        if instance is None:
            LOG.info('metadata request from %s, which is no instance\'s '
                     'address', address)
            return webob.exc.HTTPNotFound()
        tree = instance_metadata(instance, self._floating_ip(instance))
        body = resolve(tree, req.path_info, instance.get('key_name'))
        if body is None:
            return webob.exc.HTTPNotFound()
        response = webob.Response(body=body)
        response.content_type = 'text/plain'
        return response
