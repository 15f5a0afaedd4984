"""The compute service as the APIs see it: validate, write rows, cast.

``API.create`` checks everything a request names before it writes a row
(the instance type, the image and its kernel/ramdisk, the key pair, the
security groups, counts, user data, metadata, injected files, the zone and
the quota), so a rejected request leaves nothing behind.  Then it writes one
row per instance in state ``scheduling`` and casts ``run_instance`` to the
scheduler for each.

Every other action checks the instance's lock and state here, where the
caller gets the error, and casts to the instance's host.

Choices made here (the original's behaviour in brackets):

* user data is base64 text whose decoded size is at most 16 KiB, EC2's
  limit [unchecked];
* MAC addresses are 02:16:3e plus the low 23 bits of the instance id, so
  they are unique among the first 8 million instances of a cloud [3 random
  bytes, which collide with 1% odds among 600 instances];
* actions on a locked instance by a non-admin raise InstanceLocked
  [silently ignored by the compute host];
* an action in the wrong state raises InvalidState [sent anyway];
* the quota check and the inserts are not one transaction, so two
  concurrent requests may together exceed a quota by one request's worth.
"""

import base64
import binascii
import re

from nova import exception
from nova import flags
from nova import image
from nova import log as logging
from nova import quota
from nova import rpc
from nova import utils
from nova.compute import faults
from nova.compute import instance_types
from nova.compute import manager as compute_manager
from nova.compute import power_state
from nova.compute import security_groups
from nova.db import api as db

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

flags.DEFINE_string('null_kernel', 'nokernel',
                    'kernel id meaning "boot the image as a whole disk"')
flags.DEFINE_integer('max_user_data_bytes', 16 * 1024,
                     'largest user data (decoded) an instance may get')

WHOLE_DISK_FORMATS = ('raw', 'qcow2', 'vhd', 'vmdk', 'vdi')
MACHINE_FORMATS = ('ami',) + WHOLE_DISK_FORMATS
_FIELD_MAX = 255
_HOSTNAME_BAD = re.compile(r'[^a-z0-9-]+')

_UPDATABLE = ('display_name', 'display_description')


def _generate_mac(instance_id):
    low = instance_id & 0x7fffff
    return '02:16:3e:%02x:%02x:%02x' % (low >> 16, (low >> 8) & 0xff,
                                        low & 0xff)


def _hostname(display_name, instance_id):
    """A DNS label from the display name, else server-<id>."""
    name = _HOSTNAME_BAD.sub('-', (display_name or '').lower()).strip('-')
    return name[:63].strip('-') or 'server-%d' % instance_id


def _invalid(reason):
    return exception.InvalidInput(reason=reason)


def _check_text(name, value):
    if value is None:
        return ''
    if not isinstance(value, str):
        raise _invalid('%s must be text' % name)
    if len(value) > _FIELD_MAX:
        raise _invalid('%s is longer than %d characters' % (name, _FIELD_MAX))
    return value


def snapshot_image_meta(context, instance, name, source=None):
    """The Glance record of a snapshot of ``instance``, true from the start.

    What the driver uploads is the root disk alone.  For a kernel-booted
    (AMI) instance that is a bare file system, which boots only with the
    instance's kernel and ramdisk: the record is ami/ami and names them,
    like the image it came from.  A whole-disk instance gives a standalone
    qcow2 disk.  (The original recorded every snapshot as the source's
    formats or raw/bare, and the driver re-labelled AMI snapshots only when
    the upload was done, so DescribeImages and /images showed a raw image
    that could not boot while it was saving.)  ``source``: the instance's
    image record, when it still exists, for its architecture.
    """
    properties = {'instance_id': str(instance['id']),
                  'image_state': 'snapshotting',
                  'image_location': 'snapshot',
                  'base_image_ref': str(instance['image_id']),
                  'owner_id': context.project_id}
    if instance['uuid']:
        properties['instance_uuid'] = instance['uuid']
    if instance['kernel_id']:
        disk_format = container_format = 'ami'
        properties['kernel_id'] = str(instance['kernel_id'])
        if instance['ramdisk_id']:
            properties['ramdisk_id'] = str(instance['ramdisk_id'])
    else:
        disk_format, container_format = 'qcow2', 'bare'
    source_props = (source or {}).get('properties') or {}
    if source_props.get('architecture'):
        properties['architecture'] = source_props['architecture']
    if instance['os_type']:
        properties['os_type'] = instance['os_type']
    return {'name': name, 'is_public': False, 'status': 'queued',
            'disk_format': disk_format, 'container_format': container_format,
            'owner': context.project_id, 'properties': properties}


class API:

    def __init__(self, image_service=None, network_api=None):
        self._image_service = image_service
        if network_api is None:
            from nova.network import api as network_api_module
            network_api = network_api_module.API()
        self.network_api = network_api

    @property
    def image_service(self):
        if self._image_service is None:
            self._image_service = image.get_default_image_service()
        return self._image_service

    # -- validation ------------------------------------------------------------

    def _check_counts(self, min_count, max_count):
        counts = []
        for name, value in (('min_count', min_count),
                            ('max_count', max_count)):
            try:
                if isinstance(value, bool):
                    raise ValueError
                value = int(value)
            except (TypeError, ValueError):
                raise _invalid('%s must be a whole number' % name) from None
            if value < 1:
                raise _invalid('%s must be at least 1' % name)
            counts.append(value)
        if counts[0] > counts[1]:
            raise _invalid('min_count (%d) is larger than max_count (%d)'
                           % tuple(counts))
        return counts

    def _show_image(self, context, image_id, what='image'):
        if image_id in (None, ''):
            raise exception.MissingParameter(name=what)
        image_meta = self.image_service.show(context, image_id)
        # The image service may answer for a token-less or admin caller, so
        # visibility is checked here too: another project's private image
        # does not exist for this caller.
        if not (context.is_admin or image_meta.get('is_public')
                or image_meta.get('owner') in (None, context.project_id)):
            raise exception.ImageNotFound(image_id=image_id)
        if image_meta.get('status') != 'active':
            raise _invalid('%s %s is not active (status %s)'
                           % (what, image_id, image_meta.get('status')))
        return image_meta

    def _check_image(self, context, image_id, kernel_id, ramdisk_id):
        """(image, kernel_id, ramdisk_id): None ids for whole-disk boots."""
        image_meta = self._show_image(context, image_id)
        disk_format = image_meta.get('disk_format')
        if disk_format not in MACHINE_FORMATS:
            raise _invalid('image %s has disk format %s; only machine images '
                           '(%s) can boot' % (image_id, disk_format,
                                              ', '.join(MACHINE_FORMATS)))
        props = image_meta.get('properties') or {}
        kernel_id = kernel_id or props.get('kernel_id')
        if disk_format in WHOLE_DISK_FORMATS or \
                str(kernel_id) == FLAGS.null_kernel:
            return image_meta, None, None
        if not kernel_id:
            raise _invalid('image %s is an AMI and needs a kernel: give '
                           'kernel_id or set its kernel_id property'
                           % image_id)
        kernel = self._show_image(context, kernel_id, 'kernel')
        if kernel.get('disk_format') != 'aki':
            raise _invalid('kernel %s is not a kernel image (disk format %s)'
                           % (kernel_id, kernel.get('disk_format')))
        ramdisk_id = ramdisk_id or props.get('ramdisk_id')
        if ramdisk_id:
            ramdisk = self._show_image(context, ramdisk_id, 'ramdisk')
            if ramdisk.get('disk_format') != 'ari':
                raise _invalid('ramdisk %s is not a ramdisk image (disk '
                               'format %s)' % (ramdisk_id,
                                               ramdisk.get('disk_format')))
        return image_meta, str(kernel_id), (str(ramdisk_id) if ramdisk_id
                                            else None)

    def _check_groups(self, context, security_group):
        """(existing group rows, whether 'default' must be made)."""
        if security_group is None:
            names = ['default']
        elif isinstance(security_group, str):
            names = [security_group]
        else:
            names = list(security_group)
        rows, make_default = [], False
        for name in dict.fromkeys(names):
            if not isinstance(name, str) or not name:
                raise _invalid('security group names must be non-empty text')
            try:
                rows.append(db.security_group_get_by_name(
                    context, context.project_id, name))
            except exception.SecurityGroupNotFound:
                if name != 'default':
                    raise
                make_default = True
        return rows, make_default

    def _check_user_data(self, user_data):
        if user_data in (None, '', b''):
            return None
        if isinstance(user_data, bytes):
            try:
                user_data = user_data.decode('ascii')
            except UnicodeDecodeError:
                raise _invalid('user data must be base64 text') from None
        if not isinstance(user_data, str):
            raise _invalid('user data must be base64 text')
        try:
            raw = base64.b64decode(user_data.encode('ascii'), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise _invalid('user data is not valid base64') from None
        if len(raw) > FLAGS.max_user_data_bytes:
            raise _invalid('user data is %d bytes; at most %d are allowed'
                           % (len(raw), FLAGS.max_user_data_bytes))
        return user_data

    def _check_metadata(self, context, metadata):
        metadata = metadata or {}
        if not isinstance(metadata, dict):
            raise _invalid('metadata must be a mapping of keys to values')
        allowed = quota.allowed_metadata_items(context, len(metadata))
        if len(metadata) > allowed:
            raise exception.QuotaError(
                reason='%d metadata items given, the quota allows %d'
                % (len(metadata), allowed))
        clean = {}
        for key, value in metadata.items():
            if not isinstance(key, str) or not key:
                raise _invalid('metadata keys must be non-empty text')
            if value is None:
                value = ''
            if not isinstance(value, str):
                value = str(value)
            if len(key) > _FIELD_MAX or len(value) > _FIELD_MAX:
                raise _invalid('metadata key or value longer than %d '
                               'characters' % _FIELD_MAX)
            clean[key] = value
        return clean

    def _check_files(self, context, injected_files):
        files = list(injected_files or [])
        allowed = quota.allowed_injected_files(context, len(files))
        if len(files) > allowed:
            raise exception.QuotaError(
                reason='%d files to inject, the quota allows %d'
                % (len(files), allowed))
        limit = quota.allowed_injected_file_content_bytes(
            context, FLAGS.quota_max_injected_file_content_bytes)
        clean = []
        for item in files:
            try:
                path, contents = item
            except (TypeError, ValueError):
                raise _invalid('injected files are (path, contents) '
                               'pairs') from None
            if not isinstance(path, str) or not path.startswith('/') or \
                    len(path) > _FIELD_MAX or '..' in path.split('/'):
                raise _invalid('injected file path %r must be absolute, '
                               'without "..", and at most %d characters'
                               % (path, _FIELD_MAX))
            if not isinstance(contents, str):
                raise _invalid('injected file contents must be text')
            if len(contents.encode('utf-8')) > limit:
                raise exception.QuotaError(
                    reason='injected file %s is larger than %d bytes'
                    % (path, limit))
            clean.append([path, contents])
        return clean

    def _check_zone(self, context, availability_zone):
        if not availability_zone:
            return None
        if not isinstance(availability_zone, str):
            raise _invalid('availability zone must be text')
        zone, _sep, host = availability_zone.partition(':')
        services = db.service_get_all_by_topic(context.elevated(),
                                               FLAGS.compute_topic)
        if host:
            if not context.is_admin:
                raise exception.NotAuthorized(
                    'only admins may choose a host (zone:host)')
            if not any(s['host'] == host for s in services):
                raise _invalid('no compute host named %s' % host)
        if zone and not any(s['availability_zone'] == zone
                            for s in services):
            raise _invalid('no availability zone named %s' % zone)
        return availability_zone

    # -- create ----------------------------------------------------------------

    def create(self, context, instance_type, image_id, kernel_id=None,
               ramdisk_id=None, min_count=1, max_count=1, display_name='',
               display_description='', key_name=None, key_data=None,
               security_group='default', availability_zone=None,
               user_data=None, metadata=None, injected_files=None,
               admin_password=None):
        """Create instances; returns their dicts (with reservation_id)."""
        itype = instance_types.get_instance_type(instance_type)
        min_count, max_count = self._check_counts(min_count, max_count)
        display_name = _check_text('display_name', display_name)
        display_description = _check_text('display_description',
                                          display_description)
        image_meta, kernel_id, ramdisk_id = self._check_image(
            context, image_id, kernel_id, ramdisk_id)
        if key_name:
            key_pair = db.key_pair_get(context, context.user_id, key_name)
            key_data = key_pair['public_key']
        groups, make_default = self._check_groups(context, security_group)
        user_data = self._check_user_data(user_data)
        metadata = self._check_metadata(context, metadata)
        injected_files = self._check_files(context, injected_files)
        availability_zone = self._check_zone(context, availability_zone)
        if admin_password is not None and not isinstance(admin_password,
                                                         str):
            raise _invalid('admin password must be text')

        count = quota.allowed_instances(context, max_count, itype)
        if count < min_count:
            limits = quota.get_quota(context, context.project_id)
            raise exception.InstanceLimitExceeded(
                reason='the project may start %d more instance(s) of type '
                       '%s, %d were asked for (limits: instances=%d, '
                       'cores=%d)' % (count, itype['name'], min_count,
                                      limits['instances'], limits['cores']))

        if make_default:
            groups.append(self._ensure_default_group(context))
        reservation_id = utils.generate_uid('r-')
        base = {
            'reservation_id': reservation_id,
            'image_id': str(image_meta['id']),
            'kernel_id': kernel_id or '',
            'ramdisk_id': ramdisk_id or '',
            'state': power_state.NOSTATE,
            'state_description': 'scheduling',
            'user_id': context.user_id,
            'project_id': context.project_id,
            'instance_type': itype,
            'memory_mb': itype['memory_mb'],
            'vcpus': itype['vcpus'],
            'local_gb': itype['local_gb'],
            'display_name': display_name,
            'display_description': display_description,
            'user_data': user_data,
            'key_name': key_name,
            'key_data': key_data,
            'locked': False,
            'availability_zone': (availability_zone or '').partition(':')[0]
                                 or FLAGS.node_availability_zone,
            'os_type': (image_meta.get('properties') or {}).get('os_type'),
        }
        instances = []
        try:
            for index in range(count):
                values = dict(base, launch_index=index,
                              metadata=dict(metadata),
                              security_groups=[g['id'] for g in groups])
                row = db.instance_create(context, values)
                row = db.instance_update(context, row['id'], {
                    'mac_address': _generate_mac(row['id']),
                    'hostname': _hostname(display_name, row['id']),
                    'display_name': display_name or 'Server %d' % row['id']})
                instances.append(row)
        except Exception:
            for row in instances:
                try:
                    db.instance_destroy(context, row['id'])
                except Exception:  # noqa: BLE001 - report the first error
                    LOG.exception('could not undo instance %s', row['id'])
            raise

        for row in instances:
            LOG.info('casting instance %s to the scheduler', row['id'],
                     context=context)
            rpc.cast(context, FLAGS.scheduler_topic,
                     {'method': 'run_instance',
                      'args': {'topic': FLAGS.compute_topic,
                               'instance_id': row['id'],
                               'availability_zone': availability_zone,
                               'injected_files': injected_files,
                               'admin_password': admin_password}})
        for group in groups:
            self.trigger_security_group_members_refresh(context, group['id'])
        return [self._to_dict(context, row) for row in instances]

    def _ensure_default_group(self, context):
        return security_groups.ensure_default(context)

    def trigger_security_group_members_refresh(self, context, group_id):
        security_groups.trigger_members_refresh(context, [group_id])

    # -- security groups (see nova.compute.security_groups) --------------------

    def ensure_default_security_group(self, context):
        """The project's ``default`` group (made when missing), as a dict."""
        return security_groups.group_dict(
            security_groups.ensure_default(context))

    def create_security_group(self, context, name, description):
        """A new group (dict); SecurityGroupExists when the name is taken."""
        return security_groups.create(context, name, description)

    def delete_security_group(self, context, name=None, group_id=None):
        """Refuses ``default`` and groups that instances still use."""
        security_groups.delete(context, name=name, group_id=group_id)

    def get_security_groups(self, context, names=None):
        """Group dicts with their rules: the named ones of the caller's
        project, else the project's (every project's for admins)."""
        return security_groups.get_all(context, names)

    def authorize_security_group_ingress(self, context, group_name, rules,
                                         group_id=None):
        """Add rules (dicts, see nova.compute.security_groups); returns the
        stored rules and refreshes the members' hosts."""
        return security_groups.authorize_ingress(context, group_name, rules,
                                                 group_id=group_id)

    def revoke_security_group_ingress(self, context, group_name, rules,
                                      group_id=None):
        security_groups.revoke_ingress(context, group_name, rules,
                                       group_id=group_id)

    def trigger_security_group_rules_refresh(self, context, group_id):
        security_groups.trigger_rules_refresh(context, group_id)

    # -- reading ---------------------------------------------------------------

    def _to_dict(self, context, row):
        values = dict(row)
        values['name'] = row['name']
        values['metadata'] = {item['key']: item['value']
                              for item in (row['metadata_items'] or [])}
        values['security_groups'] = [g['name']
                                     for g in (row['security_groups'] or [])]
        values['fixed_ips'] = [f['address'] for f in (row['fixed_ips'] or [])]
        values['fixed_ip'] = values['fixed_ips'][0] if values['fixed_ips'] \
            else None
        itype = row['instance_type']
        values['instance_type'] = itype['name'] if itype else None
        values['fault'] = None
        if row['state_description'] == faults.ERROR:
            values['fault'] = faults.last_fault(context, row['id'])
        return values

    def get(self, context, instance_id):
        """One instance of the caller's project (any, for admins)."""
        return self._to_dict(context, db.instance_get(context, instance_id))

    def get_all(self, context, project_id=None, reservation_id=None,
                fixed_ip=None):
        """Instances the caller may see, optionally narrowed."""
        if fixed_ip is not None:
            try:
                row = db.fixed_ip_get_instance(context, fixed_ip)
            except exception.FixedIpNotFound:
                return []
            if row is None or row['deleted']:
                return []
            return [self.get(context, row['id'])]
        if reservation_id is not None:
            rows = db.instance_get_all_by_reservation(context, reservation_id)
        elif project_id is not None:
            rows = db.instance_get_all_by_project(context, project_id)
        elif context.is_admin:
            rows = db.instance_get_all(context)
        else:
            rows = db.instance_get_all_by_project(context,
                                                  context.project_id)
        if project_id is not None:
            rows = [r for r in rows if r['project_id'] == project_id]
        return [self._to_dict(context, row) for row in rows]

    def update(self, context, instance_id, **values):
        """Change what users may change: display_name, display_description."""
        unknown = sorted(set(values) - set(_UPDATABLE))
        if unknown:
            raise _invalid('cannot update %s' % ', '.join(unknown))
        clean = {k: _check_text(k, v) for k, v in values.items()}
        instance = db.instance_get(context, instance_id)
        self._check_lock(context, instance)
        return self._to_dict(context, db.instance_update(context, instance_id,
                                                         clean))

    # -- actions ---------------------------------------------------------------

    @staticmethod
    def _check_lock(context, instance):
        if instance['locked'] and not context.is_admin:
            raise exception.InstanceLocked(instance_id=instance['id'])

    @staticmethod
    def _check_state(instance, action, allowed_states):
        description = instance['state_description']
        if description == faults.ERROR:
            raise exception.InvalidState(
                reason='instance %s is in error; it can only be deleted'
                % instance['id'])
        if description in compute_manager.TRANSITIONAL or \
                not instance['host']:
            raise exception.InvalidState(
                reason='cannot %s instance %s while it is %s'
                % (action, instance['id'], description))
        if description == 'resize_verify':
            # Any other action would end the wait: the compute host writes
            # the power state over ``resize_verify`` when it is done, and
            # the resize could then be neither confirmed nor reverted.
            raise exception.InvalidState(
                reason='cannot %s instance %s: its resize waits to be '
                       'confirmed or reverted first' % (action,
                                                        instance['id']))
        if description == compute_manager.RESCUED and \
                action not in ('unrescue', 'get console output of'):
            raise exception.InvalidState(
                reason='cannot %s instance %s while it is rescued; unrescue '
                       'it first' % (action, instance['id']))
        if allowed_states is not None and \
                instance['state'] not in allowed_states:
            raise exception.InvalidState(
                reason='cannot %s instance %s: it is %s, it must be %s'
                % (action, instance['id'],
                   power_state.name(instance['state']),
                   ' or '.join(sorted({power_state.name(s)
                                       for s in allowed_states}))))

    def _cast_action(self, context, instance_id, method, action,
                     allowed_states, transition=None, **args):
        instance = db.instance_get(context, instance_id)
        self._check_lock(context, instance)
        self._check_state(instance, action, allowed_states)
        if transition:
            db.instance_update(context, instance_id,
                               {'state_description': transition})
        args['instance_id'] = instance['id']
        rpc.cast(context, '%s.%s' % (FLAGS.compute_topic, instance['host']),
                 {'method': method, 'args': args})

    def _call_action(self, context, instance_id, method, action, **args):
        instance = db.instance_get(context, instance_id)
        if not instance['host'] or instance['state_description'] in \
                compute_manager.BUILDING:
            raise exception.InvalidState(
                reason='cannot %s instance %s while it is %s'
                % (action, instance['id'], instance['state_description']))
        args['instance_id'] = instance['id']
        return rpc.call(context,
                        '%s.%s' % (FLAGS.compute_topic, instance['host']),
                        {'method': method, 'args': args})

    def delete(self, context, instance_id):
        """Terminate an instance (allowed in any state but locked)."""
        instance = db.instance_get(context, instance_id)
        self._check_lock(context, instance)
        if instance['state_description'] == 'terminating':
            return
        db.instance_update(context, instance_id, {
            'state_description': 'terminating',
            'terminated_at': utils.utcnow()})
        if not instance['host']:
            # Never placed: nothing exists outside this row.  A scheduler
            # that places it later finds the row gone and builds nothing.
            db.instance_destroy(context, instance_id)
            return
        rpc.cast(context, '%s.%s' % (FLAGS.compute_topic, instance['host']),
                 {'method': 'terminate_instance',
                  'args': {'instance_id': instance['id']}})

    _REBOOTABLE = (power_state.RUNNING, power_state.BLOCKED,
                   power_state.SHUTDOWN, power_state.SHUTOFF,
                   power_state.CRASHED)

    def reboot(self, context, instance_id):
        self._cast_action(context, instance_id, 'reboot_instance', 'reboot',
                          self._REBOOTABLE, 'rebooting')

    def pause(self, context, instance_id):
        self._cast_action(context, instance_id, 'pause_instance', 'pause',
                          (power_state.RUNNING,), 'pausing')

    def unpause(self, context, instance_id):
        self._cast_action(context, instance_id, 'unpause_instance',
                          'unpause', (power_state.PAUSED,), 'unpausing')

    def suspend(self, context, instance_id):
        self._cast_action(context, instance_id, 'suspend_instance',
                          'suspend', (power_state.RUNNING,), 'suspending')

    def resume(self, context, instance_id):
        self._cast_action(context, instance_id, 'resume_instance', 'resume',
                          (power_state.SUSPENDED,), 'resuming')

    def rescue(self, context, instance_id, rescue_image_id=None):
        self._cast_action(context, instance_id, 'rescue_instance', 'rescue',
                          self._REBOOTABLE, 'rescuing',
                          rescue_image_id=rescue_image_id)

    def unrescue(self, context, instance_id):
        instance = db.instance_get(context, instance_id)
        if instance['state_description'] != compute_manager.RESCUED:
            raise exception.InvalidState(
                reason='instance %s is not rescued' % instance['id'])
        self._cast_action(context, instance_id, 'unrescue_instance',
                          'unrescue', None, 'unrescuing')

    def set_admin_password(self, context, instance_id, password=None):
        self._cast_action(context, instance_id, 'set_admin_password',
                          'set the password of', (power_state.RUNNING,),
                          new_pass=password)

    def snapshot(self, context, instance_id, name):
        """A queued image of the project, filled by the compute host."""
        name = _check_text('name', name)
        if not name:
            raise _invalid('a snapshot needs a name')
        instance = db.instance_get(context, instance_id)
        self._check_lock(context, instance)
        self._check_state(instance, 'snapshot',
                          (power_state.RUNNING, power_state.PAUSED,
                           power_state.SHUTDOWN, power_state.SHUTOFF))
        try:
            source = self.image_service.show(context, instance['image_id'])
        except exception.ImageNotFound:
            source = None
        image_meta = self.image_service.create(
            context, snapshot_image_meta(context, instance, name, source))
        db.instance_update(context, instance_id,
                           {'state_description': 'snapshotting'})
        rpc.cast(context, '%s.%s' % (FLAGS.compute_topic, instance['host']),
                 {'method': 'snapshot_instance',
                  'args': {'instance_id': instance['id'],
                           'image_id': image_meta['id']}})
        return image_meta

    def get_console_output(self, context, instance_id):
        return self._call_action(context, instance_id, 'get_console_output',
                                 'get console output of')

    def get_diagnostics(self, context, instance_id):
        return self._call_action(context, instance_id, 'get_diagnostics',
                                 'get diagnostics of')

    def lock(self, context, instance_id):
        """Only admins may act on a locked instance (owners may lock)."""
        db.instance_get(context, instance_id)
        db.instance_update(context, instance_id, {'locked': True})

    def unlock(self, context, instance_id):
        instance = db.instance_get(context, instance_id)
        self._check_lock(context, instance)
        db.instance_update(context, instance_id, {'locked': False})

    def get_lock(self, context, instance_id):
        return bool(db.instance_get(context, instance_id)['locked'])

    # -- rebuild, resize, metadata (OpenStack API) -----------------------------

    def reboot_hard(self, context, instance_id):
        """A reboot shown as HARD_REBOOT; drivers reboot the same way."""
        self._cast_action(context, instance_id, 'reboot_instance', 'reboot',
                          self._REBOOTABLE, 'rebooting_hard')

    def rebuild(self, context, instance_id, image_id, name=None,
                metadata=None, injected_files=None, admin_password=None):
        """Boot the instance again from ``image_id``, keeping its address.

        Everything is checked before the instance changes; the compute
        host replaces the guest (``rebuild_instance``).
        """
        instance = db.instance_get(context, instance_id)
        self._check_lock(context, instance)
        self._check_state(instance, 'rebuild', self._REBOOTABLE)
        image_meta, kernel_id, ramdisk_id = self._check_image(
            context, image_id, None, None)
        values = {'image_id': str(image_meta['id']),
                  'kernel_id': kernel_id or '',
                  'ramdisk_id': ramdisk_id or '',
                  'state_description': 'rebuilding'}
        if name is not None:
            values['display_name'] = _check_text('name', name)
        if metadata is not None:
            values['metadata'] = self._check_metadata(context, metadata)
        injected_files = self._check_files(context, injected_files)
        if admin_password is not None and not isinstance(admin_password,
                                                         str):
            raise _invalid('admin password must be text')
        db.instance_update(context, instance_id, values)
        rpc.cast(context, '%s.%s' % (FLAGS.compute_topic, instance['host']),
                 {'method': 'rebuild_instance',
                  'args': {'instance_id': instance['id'],
                           'injected_files': injected_files,
                           'admin_password': admin_password}})

    def resize(self, context, instance_id, flavor_id):
        """Give the instance another instance type (on its own host).

        The instance then waits in ``resize_verify`` for confirm_resize or
        revert_resize.
        """
        instance = db.instance_get(context, instance_id)
        self._check_lock(context, instance)
        self._check_state(instance, 'resize', (power_state.RUNNING,
                                               power_state.SHUTDOWN,
                                               power_state.SHUTOFF))
        new_type = instance_types.get_instance_type_by_flavor_id(flavor_id)
        old_type = instance['instance_type']
        if old_type and old_type['id'] == new_type['id']:
            raise _invalid('instance %s already has flavor %s'
                           % (instance_id, flavor_id))
        extra_cores = new_type['vcpus'] - (instance['vcpus'] or 0)
        if extra_cores > 0:
            limits = quota.get_quota(context, context.project_id)
            _count, used_cores = db.instance_data_get_for_project(
                context, context.project_id)
            used_cores = used_cores or 0
            if used_cores + extra_cores > limits['cores']:
                raise exception.QuotaError(
                    reason='resizing needs %d more cores, the project has '
                           '%d of %d' % (extra_cores,
                                         limits['cores'] - used_cores,
                                         limits['cores']))
        migration = db.migration_create(context.elevated(), {
            'instance_id': instance['id'],
            'source_compute': instance['host'],
            'dest_compute': instance['host'],
            'dest_host': instance['host'],
            'old_flavor_id': old_type['flavorid'] if old_type else None,
            'new_flavor_id': new_type['flavorid'],
            'status': 'migrating'})
        db.instance_update(context, instance_id,
                           {'state_description': 'resizing'})
        rpc.cast(context, '%s.%s' % (FLAGS.compute_topic, instance['host']),
                 {'method': 'resize_instance',
                  'args': {'instance_id': instance['id'],
                           'migration_id': migration['id']}})

    def _finished_migration(self, context, instance_id, action):
        instance = db.instance_get(context, instance_id)
        self._check_lock(context, instance)
        if instance['state_description'] != 'resize_verify':
            raise exception.InvalidState(
                reason='cannot %s instance %s: it is %s, not waiting for a '
                       'resize to be verified'
                       % (action, instance['id'],
                          instance['state_description']))
        migration = db.migration_get_by_instance_and_status(
            context.elevated(), instance['id'], 'finished')
        return instance, migration

    def confirm_resize(self, context, instance_id):
        instance, migration = self._finished_migration(context, instance_id,
                                                       'confirm the resize of')
        db.migration_update(context.elevated(), migration['id'],
                            {'status': 'confirmed'})
        rpc.cast(context, '%s.%s' % (FLAGS.compute_topic, instance['host']),
                 {'method': 'confirm_resize',
                  'args': {'instance_id': instance['id'],
                           'migration_id': migration['id']}})

    def revert_resize(self, context, instance_id):
        instance, migration = self._finished_migration(context, instance_id,
                                                       'revert the resize of')
        db.migration_update(context.elevated(), migration['id'],
                            {'status': 'reverting'})
        db.instance_update(context, instance_id,
                           {'state_description': 'reverting_resize'})
        rpc.cast(context, '%s.%s' % (FLAGS.compute_topic, instance['host']),
                 {'method': 'revert_resize',
                  'args': {'instance_id': instance['id'],
                           'migration_id': migration['id']}})

    def get_instance_metadata(self, context, instance_id):
        return db.instance_metadata_get(context, instance_id)

    def update_instance_metadata(self, context, instance_id, metadata,
                                 delete=False):
        """Set keys (``delete``: replace the whole set); returns the dict."""
        instance = db.instance_get(context, instance_id)
        self._check_lock(context, instance)
        current = {} if delete else db.instance_metadata_get(context,
                                                             instance_id)
        merged = dict(current)
        merged.update(metadata or {})
        self._check_metadata(context, merged)
        clean = self._check_metadata(context, metadata)
        return db.instance_metadata_update(context, instance_id, clean,
                                           delete=delete)

    def delete_instance_metadata(self, context, instance_id, key):
        instance = db.instance_get(context, instance_id)
        self._check_lock(context, instance)
        if key not in db.instance_metadata_get(context, instance_id):
            raise exception.InstanceMetadataNotFound(instance_id=instance_id,
                                                     key=key)
        db.instance_metadata_delete(context, instance_id, key)

    def get_network_addresses(self, context, instance_id):
        """[{'network', 'address', 'version', 'floating_ips'}] of an instance.

        ``network`` is the network's label (its CIDR when it has none).
        """
        result = []
        for fixed in db.fixed_ip_get_all_by_instance(context, instance_id):
            network = fixed['network']
            label = None
            if network is not None:
                label = network['label'] or network['cidr']
            result.append({
                'network': label or 'private',
                'address': fixed['address'],
                'version': 6 if ':' in (fixed['address'] or '') else 4,
                'floating_ips': [f['address'] for f in
                                 (fixed['floating_ips'] or [])]})
        return result
