"""CloudController: the actions of ``/services/Cloud``.

Each action is a method named after it in snake_case (``DescribeInstances``
-> ``describe_instances``) taking the request context and the action's
parsed parameters (see ``apirequest``) and returning a dict of EC2 element
names (or True for ``<return>true</return>``).  ``ACTIONS`` lists the
actions and who may call them (see ``nova.api.ec2.Authorizer``).

Everything is scoped by the context: the database and the image service
show a user only their project's rows (and public images), so another
project's ids answer NotFound exactly like ids that never existed.
"""

import base64
import binascii
import importlib
import string

from nova import crypto
from nova import exception
from nova import flags
from nova import log as logging
from nova import service
from nova import utils
from nova.api.ec2 import ec2utils
from nova.api.ec2 import faults
from nova.api.ec2 import filters
from nova.api.ec2 import images
from nova.compute import api as compute_api
from nova.compute import faults as compute_faults
from nova.compute import manager as compute_manager
from nova.compute import power_state
from nova.db import api as db
from nova.network import api as network_api

LOG = logging.getLogger('nova.api.ec2.cloud')
FLAGS = flags.FLAGS

_ALL = ('all',)
_NET = ('netadmin', 'projectmanager')
_SYS = ('sysadmin', 'projectmanager')

# AWS instance state codes and names.
PENDING = (0, 'pending')
RUNNING = (16, 'running')
SHUTTING_DOWN = (32, 'shutting-down')
TERMINATED = (48, 'terminated')
STOPPING = (64, 'stopping')
STOPPED = (80, 'stopped')

_KEY_NAME_CHARS = frozenset(string.printable) - frozenset('\t\n\r\x0b\x0c')


def _bad(reason):
    return exception.InvalidParameterValue(reason=reason)


def _as_list(value, name):
    """A parameter given once (``X``) or numbered (``X.N``) as a list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise _bad('%s must be a value or a list (%s.N) of values.' % (name, name))


def _single(value, name, required=False):
    """A plain string parameter (``X`` or ``X.1`` with one member)."""
    if isinstance(value, list) and len(value) == 1 and \
            isinstance(value[0], str):
        value = value[0]
    if value is None or value == '':
        if required:
            raise exception.MissingParameter(name=name)
        return None
    if not isinstance(value, str):
        raise _bad('%s must be a single value.' % name)
    return value


def _int(value, name, default=None, minimum=None):
    value = _single(value, name, required=default is None)
    if value is None:
        return default
    try:
        number = int(value, 10)
    except ValueError:
        raise _bad('%s must be a whole number, not %r.' % (name, value)) \
            from None
    if minimum is not None and number < minimum:
        raise _bad('%s must be at least %d.' % (name, minimum))
    return number


def _check_key_name(name):
    name = _single(name, 'KeyName', required=True)
    if len(name) > 255 or not set(name) <= _KEY_NAME_CHARS:
        raise _bad('Key names are 1-255 printable ASCII characters.')
    return name


def instance_state(instance):
    """(AWS code, name) from nova's power state and state description."""
    description = instance['state_description']
    state = instance['state']
    if description in ('terminating', 'deleting'):
        return SHUTTING_DOWN
    if description in ('pausing', 'suspending'):
        return STOPPING
    if description == compute_faults.ERROR or state == power_state.FAILED:
        return STOPPED
    if description in compute_manager.BUILDING or \
            state in (power_state.NOSTATE, power_state.BUILDING):
        return PENDING
    if state in (power_state.RUNNING, power_state.BLOCKED):
        return RUNNING
    return STOPPED


def _image_ref(image_id, prefix='ami'):
    if image_id in (None, ''):
        return None
    try:
        return '%s-%08x' % (prefix, int(image_id))
    except (TypeError, ValueError):
        return str(image_id)


class CloudController:
    """The EC2 actions of nova."""

    ACTIONS = {
        'DescribeAvailabilityZones': _ALL,
        'DescribeRegions': _ALL,
        'DescribeKeyPairs': _ALL,
        'CreateKeyPair': _ALL,
        'ImportKeyPair': _ALL,
        'DeleteKeyPair': _ALL,
        'DescribeInstances': _ALL,
        'RunInstances': _SYS,
        'TerminateInstances': _SYS,
        'RebootInstances': _SYS,
        'GetConsoleOutput': _SYS,
        'DescribeImages': _ALL,
        'DescribeImageAttribute': _ALL,
        'RegisterImage': _SYS,
        'DeregisterImage': _SYS,
        'ModifyImageAttribute': _SYS,
        'DescribeSecurityGroups': _ALL,
        'CreateSecurityGroup': _NET,
        'DeleteSecurityGroup': _NET,
        'AuthorizeSecurityGroupIngress': _NET,
        'RevokeSecurityGroupIngress': _NET,
        'DescribeAddresses': _ALL,
        'AllocateAddress': _NET,
        'ReleaseAddress': _NET,
        'AssociateAddress': _NET,
        'DisassociateAddress': _NET,
    }

    def __init__(self, compute=None, image_service=None, store=None,
                 network=None):
        self._compute = compute
        self._network = network
        self._image_service = image_service
        self._store = store

    @property
    def compute(self):
        if self._compute is None:
            self._compute = compute_api.API()
        return self._compute

    @property
    def network(self):
        if self._network is None:
            self._network = network_api.API()
        return self._network

    @property
    def image_service(self):
        if self._image_service is None:
            self._image_service = self.compute.image_service
        return self._image_service

    @property
    def store(self):
        if self._store is None:
            # buckets_path is defined by nova-objectstore's server module.
            importlib.import_module('nova.objectstore.s3server')
            from nova.objectstore import store
            self._store = store.Store(FLAGS.buckets_path)
        return self._store

    # -- zones and regions -----------------------------------------------------

    def describe_availability_zones(self, context, zone_name=None):
        names = _as_list(zone_name, 'ZoneName')
        services = db.service_get_all(context.elevated())
        zones = {}
        for svc in services:
            zone = svc['availability_zone'] or FLAGS.node_availability_zone
            up = not svc['disabled'] and service.service_is_up(svc)
            zones[zone] = zones.get(zone, False) or up
        if not zones:
            zones[FLAGS.node_availability_zone] = False
        verbose = 'verbose' in names and context.is_admin
        info = []
        for zone in sorted(zones):
            if names and not verbose and zone not in names:
                continue
            info.append({'zoneName': zone,
                         'zoneState': 'available' if zones[zone]
                         else 'unavailable',
                         'regionName': self._region_name()})
            if verbose:
                info.extend(self._zone_hosts(zone, services))
        return {'availabilityZoneInfo': info}

    def _zone_hosts(self, zone, services):
        """The original's verbose tree: hosts, then their services."""
        rows = []
        hosts = {}
        for svc in services:
            if (svc['availability_zone'] or FLAGS.node_availability_zone) \
                    == zone:
                hosts.setdefault(svc['host'], []).append(svc)
        for host in sorted(hosts):
            rows.append({'zoneName': '|- %s' % host, 'zoneState': ''})
            for svc in sorted(hosts[host], key=lambda s: s['binary']):
                alive = ':-)' if service.service_is_up(svc) else 'XXX'
                active = 'disabled' if svc['disabled'] else 'enabled'
                updated = svc['updated_at'] or svc['created_at']
                rows.append({'zoneName': '| |- %s' % svc['binary'],
                             'zoneState': '%s %s %s' % (
                                 active, alive,
                                 utils.isotime(updated) if updated else '')})
        return rows

    @staticmethod
    def _region_name():
        if FLAGS.region_list:
            return FLAGS.region_list[0].partition('=')[0]
        return 'nova'

    def describe_regions(self, context, region_name=None):
        names = _as_list(region_name, 'RegionName')
        regions = []
        if FLAGS.region_list:
            for pair in FLAGS.region_list:
                name, _sep, endpoint = pair.partition('=')
                regions.append({'regionName': name,
                                'regionEndpoint': endpoint})
        else:
            regions.append({'regionName': 'nova',
                            'regionEndpoint': '%s://%s:%s%s' % (
                                FLAGS.ec2_scheme, FLAGS.ec2_host,
                                FLAGS.ec2_port, FLAGS.ec2_path)})
        if names:
            regions = [r for r in regions if r['regionName'] in names]
        return {'regionInfo': regions}

    # -- key pairs -------------------------------------------------------------

    def describe_key_pairs(self, context, key_name=None, filter=None):
        names = _as_list(key_name, 'KeyName')
        wanted = filters.parse(filter, ('key-name', 'fingerprint'))
        pairs = db.key_pair_get_all_by_user(context, context.user_id)
        by_name = {p['name']: p for p in pairs}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise exception.KeypairNotFound(name=missing[0])
        result = []
        for pair in pairs:
            if names and pair['name'] not in names:
                continue
            if not filters.matches(wanted, {'key-name': pair['name'],
                                            'fingerprint':
                                                pair['fingerprint']}):
                continue
            result.append({'keyName': pair['name'],
                           'keyFingerprint': pair['fingerprint']})
        return {'keySet': result}

    def _save_key_pair(self, context, name, fingerprint, public_key):
        try:
            db.key_pair_get(context, context.user_id, name)
        except exception.KeypairNotFound:
            pass
        else:
            raise faults.EC2APIError('InvalidKeyPair.Duplicate',
                                     'The key pair %r already exists.' % name)
        try:
            db.key_pair_create(context, {'user_id': context.user_id,
                                         'name': name,
                                         'fingerprint': fingerprint,
                                         'public_key': public_key})
        except exception.Duplicate:
            raise faults.EC2APIError(
                'InvalidKeyPair.Duplicate',
                'The key pair %r already exists.' % name) from None

    def create_key_pair(self, context, key_name=None):
        name = _check_key_name(key_name)
        private_key, public_key, fingerprint = crypto.generate_key_pair()
        self._save_key_pair(context, name, fingerprint, public_key)
        LOG.info('created key pair %s', name, context=context)
        return {'keyName': name, 'keyFingerprint': fingerprint,
                'keyMaterial': private_key}

    def import_key_pair(self, context, key_name=None,
                        public_key_material=None):
        name = _check_key_name(key_name)
        material = _single(public_key_material, 'PublicKeyMaterial',
                           required=True)
        try:
            public_key = base64.b64decode(material.encode('ascii'),
                                          validate=True).decode('utf-8')
        except (binascii.Error, ValueError, UnicodeError):
            raise _bad('PublicKeyMaterial must be the base64 of an OpenSSH '
                       'public key.') from None
        public_key = public_key.strip()
        try:
            fingerprint = crypto.generate_fingerprint(public_key)
        except exception.InvalidInput as e:
            raise _bad('PublicKeyMaterial is not a valid OpenSSH public '
                       'key (%s).' % e) from None
        self._save_key_pair(context, name, fingerprint, public_key)
        return {'keyName': name, 'keyFingerprint': fingerprint}

    def delete_key_pair(self, context, key_name=None):
        name = _single(key_name, 'KeyName', required=True)
        try:
            db.key_pair_destroy(context, context.user_id, name)
        except exception.KeypairNotFound:
            pass    # EC2 answers true for a key that does not exist
        return True

    # -- instances -------------------------------------------------------------

    def _instance_ids(self, value, name='InstanceId'):
        return [ec2utils.ec2_instance_id_to_id(i)
                for i in _as_list(value, name)]

    def _get_instance(self, context, ec2_id):
        internal = ec2utils.ec2_instance_id_to_id(ec2_id)
        try:
            return self.compute.get(context, internal)
        except exception.InstanceNotFound:
            raise exception.InstanceNotFound(
                'The instance ID %r does not exist' % ec2_id,
                instance_id=ec2_id) from None

    def _format_instance(self, context, instance):
        code, name = instance_state(instance)
        fixed = instance.get('fixed_ip')
        floating = None
        if fixed:
            try:
                floating = db.instance_get_floating_address(context,
                                                            instance['id'])
            except exception.NotFound:
                floating = None
        item = {
            'instanceId': ec2utils.instance_id_to_ec2(instance['id']),
            'imageId': _image_ref(instance['image_id']),
            'instanceState': {'code': code, 'name': name},
            'privateDnsName': instance.get('hostname') or '',
            'dnsName': floating or fixed or '',
            'reason': '',
            'keyName': instance.get('key_name') or None,
            'amiLaunchIndex': instance.get('launch_index') or 0,
            'productCodes': [],
            'instanceType': instance.get('instance_type') or '',
            'launchTime': instance.get('launched_at')
            or instance.get('created_at'),
            'placement': {'availabilityZone':
                          instance.get('availability_zone')
                          or FLAGS.node_availability_zone},
            'kernelId': _image_ref(instance.get('kernel_id'), 'aki'),
            'ramdiskId': _image_ref(instance.get('ramdisk_id'), 'ari'),
            'monitoring': {'state': 'disabled'},
            'privateIpAddress': fixed,
            'ipAddress': floating,
            'groupSet': [{'groupId': g, 'groupName': g}
                         for g in instance.get('security_groups') or []],
            'architecture': 'x86_64',
            'rootDeviceType': 'instance-store',
            'displayName': instance.get('display_name') or None,
            'displayDescription': instance.get('display_description')
            or None,
        }
        if code == STOPPED[0] and instance.get('fault'):
            item['stateReason'] = {
                'code': 'Server.InternalError',
                'message': instance['fault'].get('message') or 'error'}
        return item

    @staticmethod
    def _instance_filter_attributes(item, instance):
        return {'instance-id': item['instanceId'],
                'instance-state-name': item['instanceState']['name'],
                'instance-state-code': item['instanceState']['code'],
                'image-id': item['imageId'],
                'key-name': item.get('keyName'),
                'instance-type': item['instanceType'],
                'reservation-id': instance['reservation_id'],
                'owner-id': instance['project_id'],
                'availability-zone': item['placement']['availabilityZone'],
                'private-ip-address': item.get('privateIpAddress'),
                'ip-address': item.get('ipAddress'),
                'private-dns-name': item['privateDnsName'],
                'dns-name': item['dnsName'],
                'group-name': [g['groupName'] for g in item['groupSet']],
                'instance.group-name': [g['groupName']
                                        for g in item['groupSet']],
                'launch-index': item['amiLaunchIndex'],
                'kernel-id': item.get('kernelId'),
                'ramdisk-id': item.get('ramdiskId')}

    _INSTANCE_FILTERS = ('instance-id', 'instance-state-name',
                         'instance-state-code', 'image-id', 'key-name',
                         'instance-type', 'reservation-id', 'owner-id',
                         'availability-zone', 'private-ip-address',
                         'ip-address', 'private-dns-name', 'dns-name',
                         'group-name', 'instance.group-name', 'launch-index',
                         'kernel-id', 'ramdisk-id')

    def _reservations(self, context, instances, wanted=()):
        """reservationSet items: instances grouped by reservation."""
        reservations = {}
        for instance in sorted(instances, key=lambda i: i['id']):
            item = self._format_instance(context, instance)
            if wanted and not filters.matches(
                    wanted, self._instance_filter_attributes(item, instance)):
                continue
            rid = instance['reservation_id']
            if rid not in reservations:
                groups = instance.get('security_groups') or []
                reservations[rid] = {
                    'reservationId': rid,
                    'ownerId': instance['project_id'],
                    'groupSet': [{'groupId': g, 'groupName': g}
                                 for g in groups],
                    'instancesSet': []}
            reservations[rid]['instancesSet'].append(item)
        return list(reservations.values())

    def describe_instances(self, context, instance_id=None, filter=None):
        wanted = filters.parse(filter, self._INSTANCE_FILTERS)
        ec2_ids = _as_list(instance_id, 'InstanceId')
        if ec2_ids:
            instances = [self._get_instance(context, i)
                         for i in dict.fromkeys(ec2_ids)]
        else:
            instances = self.compute.get_all(context)
        return {'reservationSet': self._reservations(context, instances,
                                                     wanted)}

    def run_instances(self, context, image_id=None, min_count=None,
                      max_count=None, key_name=None, security_group=None,
                      user_data=None, instance_type=None, placement=None,
                      kernel_id=None, ramdisk_id=None, display_name=None,
                      display_description=None, addressing_type=None,
                      **_ignored):
        image_ec2 = _single(image_id, 'ImageId', required=True)
        image = images.show(self.image_service, context, image_ec2)
        if images.image_type(image) != 'machine':
            raise _bad('%s is a %s image; only machine images (ami-) boot.'
                       % (image_ec2, images.image_type(image)))
        kernel = _single(kernel_id, 'KernelId')
        ramdisk = _single(ramdisk_id, 'RamdiskId')
        if kernel:
            kernel = str(images.show(self.image_service, context,
                                     kernel)['id'])
        if ramdisk:
            ramdisk = str(images.show(self.image_service, context,
                                      ramdisk)['id'])
        zone = None
        if placement is not None:
            if not isinstance(placement, dict):
                raise _bad('Placement must be given as '
                           'Placement.AvailabilityZone.')
            zone = _single(placement.get('availability_zone'),
                           'Placement.AvailabilityZone')
        minimum = _int(min_count, 'MinCount', default=1, minimum=1)
        maximum = _int(max_count, 'MaxCount', default=minimum, minimum=1)
        groups = _as_list(security_group, 'SecurityGroup') or ['default']
        user_data = _single(user_data, 'UserData')
        instances = self.compute.create(
            context,
            instance_type=_single(instance_type, 'InstanceType')
            or FLAGS.default_instance_type,
            image_id=str(image['id']), kernel_id=kernel, ramdisk_id=ramdisk,
            min_count=minimum, max_count=maximum,
            display_name=_single(display_name, 'DisplayName') or '',
            display_description=_single(display_description,
                                        'DisplayDescription') or '',
            key_name=_single(key_name, 'KeyName'),
            security_group=groups, availability_zone=zone,
            user_data=user_data)
        reservation = self._reservations(context, instances)[0]
        return reservation

    def _all_instances(self, context, instance_id):
        """Every named instance, looked up before any is acted on."""
        ec2_ids = _as_list(instance_id, 'InstanceId')
        if not ec2_ids:
            raise exception.MissingParameter(name='InstanceId')
        return [(i, self._get_instance(context, i))
                for i in dict.fromkeys(ec2_ids)]

    def terminate_instances(self, context, instance_id=None):
        targets = self._all_instances(context, instance_id)
        result = []
        for ec2_id, instance in targets:
            code, name = instance_state(instance)
            self.compute.delete(context, instance['id'])
            result.append({'instanceId': ec2_id,
                           'previousState': {'code': code, 'name': name},
                           'currentState': {'code': SHUTTING_DOWN[0],
                                            'name': SHUTTING_DOWN[1]}})
        return {'instancesSet': result}

    def reboot_instances(self, context, instance_id=None):
        targets = self._all_instances(context, instance_id)
        for _ec2_id, instance in targets:
            self.compute.reboot(context, instance['id'])
        return True

    def get_console_output(self, context, instance_id=None):
        ec2_id = _single(instance_id, 'InstanceId', required=True)
        instance = self._get_instance(context, ec2_id)
        output = self.compute.get_console_output(context, instance['id'])
        if isinstance(output, str):
            output = output.encode('utf-8', 'replace')
        return {'instanceId': ec2_id, 'timestamp': utils.utcnow(),
                'output': base64.b64encode(output or b'').decode('ascii')}

    # -- images ----------------------------------------------------------------

    _IMAGE_FILTERS = ('image-id', 'name', 'owner-id', 'state', 'image-type',
                      'is-public', 'architecture', 'kernel-id', 'ramdisk-id',
                      'manifest-location')

    def describe_images(self, context, image_id=None, owner=None,
                        executable_by=None, filter=None):
        wanted = filters.parse(filter, self._IMAGE_FILTERS)
        ec2_ids = _as_list(image_id, 'ImageId')
        owners = {context.project_id if o == 'self' else o
                  for o in _as_list(owner, 'Owner')}
        executors = _as_list(executable_by, 'ExecutableBy')
        if ec2_ids:
            found = [images.show(self.image_service, context, i)
                     for i in dict.fromkeys(ec2_ids)]
        else:
            found = self.image_service.detail(context)
        result = []
        for image in found:
            if image.get('status') == 'deleted' or \
                    not images.visible(context, image):
                continue
            if owners and image.get('owner') not in owners:
                continue
            if executors and not self._executable_by(context, image,
                                                     executors):
                continue
            item = images.format_image(image)
            if not filters.matches(wanted,
                                   images.filter_attributes(image, item)):
                continue
            result.append(item)
        return {'imagesSet': result}

    @staticmethod
    def _executable_by(context, image, executors):
        for who in executors:
            if who == 'all' and image.get('is_public'):
                return True
            project = context.project_id if who == 'self' else who
            if image.get('is_public') or image.get('owner') == project:
                return True
        return False

    def register_image(self, context, image_location=None, name=None,
                       description=None, architecture=None, kernel_id=None,
                       ramdisk_id=None, **_ignored):
        """Register an image by location.

        ``ImageLocation`` (or ``Name`` alone) names either an image already
        in the image service (by its name, or its ``image_location``
        property) that the project owns: it gets the given kernel,
        ramdisk, architecture and description; or an S3 bundle manifest
        ``bucket/key.manifest.xml`` in nova-objectstore: a new private
        image is made and the bundle is decrypted into it in the
        background (state pending until it is available, or failed).
        """
        location = _single(image_location, 'ImageLocation')
        name = _single(name, 'Name')
        if not location and not name:
            raise exception.MissingParameter(name='ImageLocation')
        kernel = _single(kernel_id, 'KernelId')
        ramdisk = _single(ramdisk_id, 'RamdiskId')
        if kernel:
            kernel = str(images.show(self.image_service, context,
                                     kernel)['id'])
        if ramdisk:
            ramdisk = str(images.show(self.image_service, context,
                                      ramdisk)['id'])
        architecture = _single(architecture, 'Architecture')
        description = _single(description, 'Description')
        existing = self._find_registered(context, location or name)
        if existing is not None:
            props = {}
            if location:
                props['image_location'] = location
            for key, value in (('kernel_id', kernel),
                               ('ramdisk_id', ramdisk),
                               ('architecture', architecture),
                               ('description', description)):
                if value:
                    props[key] = value
            if props:
                existing = self.image_service.update(
                    context, existing['id'], {'properties': props})
            return {'imageId': images.ec2_id(existing)}
        if not location or not location.endswith('.manifest.xml'):
            raise exception.ImageNotFound(image_id=location or name)
        image = images.register_bundle(
            self.image_service, self.store, context, location, name=name,
            description=description, architecture=architecture,
            kernel_id=kernel, ramdisk_id=ramdisk)
        return {'imageId': images.ec2_id(image)}

    def _find_registered(self, context, location):
        for image in self.image_service.detail(context):
            if image.get('owner') != context.project_id and \
                    not context.is_admin:
                continue
            props = image.get('properties') or {}
            if location in (image.get('name'), props.get('image_location')) \
                    and image.get('status') != 'deleted':
                return image
        return None

    def deregister_image(self, context, image_id=None):
        ec2_id = _single(image_id, 'ImageId', required=True)
        image = images.show(self.image_service, context, ec2_id)
        images.check_owner(context, image, ec2_id)
        self.image_service.delete(context, image['id'])
        return True

    def describe_image_attribute(self, context, image_id=None,
                                 attribute=None):
        ec2_id = _single(image_id, 'ImageId', required=True)
        attribute = _single(attribute, 'Attribute', required=True)
        image = images.show(self.image_service, context, ec2_id)
        props = image.get('properties') or {}
        result = {'imageId': ec2_id}
        if attribute == 'launchPermission':
            result['launchPermission'] = ([{'group': 'all'}]
                                          if image.get('is_public') else [])
        elif attribute == 'kernel':
            result['kernel'] = {'value': _image_ref(props.get('kernel_id'),
                                                    'aki')}
        elif attribute == 'ramdisk':
            result['ramdisk'] = {'value': _image_ref(props.get('ramdisk_id'),
                                                     'ari')}
        elif attribute == 'description':
            result['description'] = {'value': props.get('description')}
        elif attribute == 'blockDeviceMapping':
            result['blockDeviceMapping'] = []
        elif attribute == 'productCodes':
            result['productCodes'] = []
        else:
            raise _bad('Attribute %r is not supported; use launchPermission,'
                       ' kernel, ramdisk, description, blockDeviceMapping or '
                       'productCodes.' % attribute)
        return result

    def modify_image_attribute(self, context, image_id=None, attribute=None,
                               operation_type=None, user_group=None,
                               user_id=None, launch_permission=None,
                               description=None):
        """launchPermission add/remove of the group ``all`` (the old
        ``OperationType``/``UserGroup.N`` form and the newer
        ``LaunchPermission.Add.N.Group`` form), or the description."""
        ec2_id = _single(image_id, 'ImageId', required=True)
        image = images.show(self.image_service, context, ec2_id)
        if isinstance(description, dict):
            description = description.get('value')
        if description is not None and attribute in (None, 'description'):
            images.check_owner(context, image, ec2_id)
            self.image_service.update(context, image['id'], {
                'properties': {'description': _single(description,
                                                      'Description')}})
            return True
        changes = []   # (operation, group)
        if isinstance(launch_permission, dict):
            for op in ('add', 'remove'):
                for entry in launch_permission.get(op) or []:
                    if not isinstance(entry, dict):
                        raise _bad('LaunchPermission.%s.N needs Group or '
                                   'UserId.' % op.title())
                    if entry.get('user_id'):
                        raise _bad('Launch permissions for single users are'
                                   ' not supported; use the group all.')
                    changes.append((op, entry.get('group')))
        elif launch_permission is not None:
            raise _bad('LaunchPermission must be LaunchPermission.Add.N.Group'
                       ' or LaunchPermission.Remove.N.Group.')
        else:
            attribute = _single(attribute, 'Attribute', required=True)
            if attribute != 'launchPermission':
                raise _bad('Only the launchPermission attribute can be '
                           'modified.')
            operation = _single(operation_type, 'OperationType',
                                required=True)
            if operation not in ('add', 'remove'):
                raise _bad('OperationType must be add or remove.')
            if _as_list(user_id, 'UserId'):
                raise _bad('Launch permissions for single users are not '
                           'supported; use UserGroup all.')
            groups = _as_list(user_group, 'UserGroup')
            if not groups:
                raise exception.MissingParameter(name='UserGroup.1')
            changes = [(operation, g) for g in groups]
        if not changes:
            raise exception.MissingParameter(name='LaunchPermission')
        for _op, group in changes:
            if group != 'all':
                raise _bad('The only launch permission group is all, not '
                           '%r.' % group)
        images.check_owner(context, image, ec2_id)
        self.image_service.update(context, image['id'],
                                  {'is_public': changes[-1][0] == 'add'})
        return True

    # -- security groups -------------------------------------------------------

    _GROUP_FILTERS = ('group-name', 'group-id', 'description', 'owner-id')

    @staticmethod
    def _group_id(group):
        return 'sg-%08x' % group['id']

    @staticmethod
    def _lookup_args(group_name, group_id):
        """(name, internal id) from GroupName / GroupId (``sg-%08x``)."""
        name = _single(group_name, 'GroupName')
        gid = _single(group_id, 'GroupId')
        if gid is not None:
            gid = ec2utils.ec2_id_to_id(gid, ('sg',))
        if name is None and gid is None:
            raise exception.MissingParameter(name='GroupName')
        return name, gid

    def _format_group(self, group):
        permissions = {}
        for rule in group['rules']:
            key = (rule['protocol'], rule['from_port'], rule['to_port'])
            perm = permissions.setdefault(key, {
                'ipProtocol': rule['protocol'],
                'fromPort': rule['from_port'], 'toPort': rule['to_port'],
                'groups': [], 'ipRanges': []})
            if rule['group']:
                source = rule['group']
                perm['groups'].append({'userId': source['project_id'],
                                       'groupName': source['name'],
                                       'groupId': 'sg-%08x' % source['id']})
            elif rule['cidr']:
                perm['ipRanges'].append({'cidrIp': rule['cidr']})
        return {'ownerId': group['project_id'],
                'groupName': group['name'],
                'groupId': self._group_id(group),
                'groupDescription': group['description'],
                'ipPermissions': [permissions[k]
                                  for k in sorted(permissions,
                                                  key=lambda k: (k[0] or '',
                                                                 k[1] or 0,
                                                                 k[2] or 0))]}

    def describe_security_groups(self, context, group_name=None,
                                 group_id=None, filter=None):
        wanted = filters.parse(filter, self._GROUP_FILTERS)
        names = _as_list(group_name, 'GroupName')
        ids = {ec2utils.ec2_id_to_id(g, ('sg',))
               for g in _as_list(group_id, 'GroupId')}
        groups = self.compute.get_security_groups(context, names or None)
        if ids:
            found = {g['id'] for g in groups}
            missing = ids - found
            if missing:
                raise exception.SecurityGroupNotFound(
                    group_id='sg-%08x' % min(missing))
            groups = [g for g in groups if g['id'] in ids]
        result = []
        for group in groups:
            item = self._format_group(group)
            if filters.matches(wanted, {
                    'group-name': item['groupName'],
                    'group-id': item['groupId'],
                    'description': item['groupDescription'],
                    'owner-id': item['ownerId']}):
                result.append(item)
        return {'securityGroupInfo': result}

    def create_security_group(self, context, group_name=None,
                              group_description=None):
        name = _single(group_name, 'GroupName', required=True)
        description = _single(group_description, 'GroupDescription',
                              required=True)
        group = self.compute.create_security_group(context, name,
                                                   description)
        return {'return': True, 'groupId': self._group_id(group)}

    def delete_security_group(self, context, group_name=None, group_id=None):
        name, gid = self._lookup_args(group_name, group_id)
        self.compute.delete_security_group(context, name=name, group_id=gid)
        return True

    def _rules(self, context, args):
        """Rule dicts (nova.compute.security_groups) from either form."""
        permissions = args.get('ip_permissions')
        flat_keys = ('ip_protocol', 'from_port', 'to_port', 'cidr_ip',
                     'source_security_group_name',
                     'source_security_group_owner_id')
        if permissions is None:
            if not any(args.get(k) is not None for k in flat_keys):
                raise exception.MissingParameter(name='IpPermissions')
            permissions = [{
                'ip_protocol': args.get('ip_protocol'),
                'from_port': args.get('from_port'),
                'to_port': args.get('to_port'),
                'ip_ranges': ([{'cidr_ip': args['cidr_ip']}]
                              if args.get('cidr_ip') is not None else []),
                'groups': ([{'group_name':
                             args['source_security_group_name'],
                             'user_id':
                             args.get('source_security_group_owner_id')}]
                           if args.get('source_security_group_name')
                           is not None else [])}]
        if not isinstance(permissions, list) or \
                not all(isinstance(p, dict) for p in permissions):
            raise _bad('IpPermissions must be IpPermissions.N.IpProtocol, '
                       'FromPort, ToPort, IpRanges.M.CidrIp, '
                       'Groups.M.GroupName...')
        rules = []
        for perm in permissions:
            protocol = _single(perm.get('ip_protocol'),
                               'IpPermissions.N.IpProtocol')
            ports = {'from_port': _single(perm.get('from_port'),
                                          'IpPermissions.N.FromPort'),
                     'to_port': _single(perm.get('to_port'),
                                        'IpPermissions.N.ToPort')}
            sources = []
            for key, field in (('ip_ranges', 'cidr_ip'),
                               ('ipv6_ranges', 'cidr_ipv6')):
                entries = perm.get(key) or []
                if not isinstance(entries, list) or \
                        not all(isinstance(e, dict) for e in entries):
                    raise _bad('IpPermissions.N.IpRanges must be '
                               'IpRanges.M.CidrIp.')
                sources += [{'cidr': _single(e.get(field), field)}
                            for e in entries]
            groups = perm.get('groups') or []
            if not isinstance(groups, list) or \
                    not all(isinstance(g, dict) for g in groups):
                raise _bad('IpPermissions.N.Groups must be '
                           'Groups.M.GroupName.')
            for entry in groups:
                name = _single(entry.get('group_name'), 'GroupName')
                if name is None and entry.get('group_id'):
                    gid = ec2utils.ec2_id_to_id(
                        _single(entry['group_id'], 'GroupId'), ('sg',))
                    group = db.security_group_get(context, gid)
                    name = group['name']
                    entry = dict(entry, user_id=group['project_id'])
                sources.append({'source_group_name': name,
                                'source_project_id':
                                _single(entry.get('user_id'), 'UserId')})
            if not sources:
                sources = [{}]
            if protocol in ('-1', 'all'):
                for source in sources:
                    rules += [dict(source, protocol='tcp', from_port='1',
                                   to_port='65535'),
                              dict(source, protocol='udp', from_port='1',
                                   to_port='65535'),
                              dict(source, protocol='icmp', from_port='-1',
                                   to_port='-1')]
                continue
            for source in sources:
                rule = dict(source)
                if protocol is not None:
                    rule['protocol'] = protocol
                rule.update({k: v for k, v in ports.items()
                             if v is not None})
                rules.append(rule)
        return rules

    def _change_ingress(self, method, context, group_name, group_id, args):
        name, gid = self._lookup_args(group_name, group_id)
        # EC2 projects always have their default group, also as a source.
        self.compute.ensure_default_security_group(context)
        rules = self._rules(context, args)
        method(context, name, rules, group_id=gid)
        return True

    def authorize_security_group_ingress(self, context, group_name=None,
                                         group_id=None, **args):
        return self._change_ingress(
            self.compute.authorize_security_group_ingress, context,
            group_name, group_id, args)

    def revoke_security_group_ingress(self, context, group_name=None,
                                      group_id=None, **args):
        return self._change_ingress(
            self.compute.revoke_security_group_ingress, context,
            group_name, group_id, args)

    # -- floating addresses ----------------------------------------------------

    def _format_address(self, floating):
        fixed = floating['fixed_ip']
        instance = fixed['instance'] if fixed is not None else None
        item = {'publicIp': floating['address'], 'domain': 'standard',
                'instanceId': ec2utils.instance_id_to_ec2(instance['id'])
                if instance is not None else None,
                'privateIpAddress': fixed['address'] if fixed is not None
                else None}
        return item

    def describe_addresses(self, context, public_ip=None, filter=None):
        wanted = filters.parse(filter, ('public-ip', 'instance-id',
                                        'domain', 'private-ip-address'))
        named = _as_list(public_ip, 'PublicIp')
        if context.is_admin:
            rows = db.floating_ip_get_all(context)
            rows = [r for r in rows if r['project_id']]
        else:
            rows = db.floating_ip_get_all_by_project(context,
                                                     context.project_id)
        by_address = {r['address']: r for r in rows}
        for address in named:
            if address not in by_address:
                raise exception.FloatingIpNotFound(address=address)
        result = []
        for row in rows:
            if named and row['address'] not in named:
                continue
            item = self._format_address(row)
            if filters.matches(wanted, {
                    'public-ip': item['publicIp'],
                    'instance-id': item['instanceId'],
                    'domain': item['domain'],
                    'private-ip-address': item['privateIpAddress']}):
                result.append(item)
        return {'addressesSet': result}

    def allocate_address(self, context, domain=None):
        address = self.network.allocate_floating_ip(context)
        return {'publicIp': address, 'domain': 'standard'}

    def release_address(self, context, public_ip=None):
        address = _single(public_ip, 'PublicIp', required=True)
        self.network.release_floating_ip(context, address)
        return True

    def associate_address(self, context, instance_id=None, public_ip=None):
        ec2_id = _single(instance_id, 'InstanceId', required=True)
        address = _single(public_ip, 'PublicIp', required=True)
        instance = self._get_instance(context, ec2_id)
        if not instance.get('fixed_ip'):
            raise exception.InvalidState(
                reason='Instance %s has no private address yet.' % ec2_id)
        self.network.associate_floating_ip(context, address,
                                           instance['fixed_ip'])
        return True

    def disassociate_address(self, context, public_ip=None):
        address = _single(public_ip, 'PublicIp', required=True)
        self.network.disassociate_floating_ip(context, address)
        return True
