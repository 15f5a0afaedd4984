"""nova-compute's manager: runs guests on this host through a virt driver.

``run_instance`` moves an instance from ``scheduling`` (set by the API)
through ``networking`` (an address from nova-network over RPC) and
``spawning`` (the driver builds and boots the guest) to the power state the
driver reports (``running``), with ``launched_at`` set.  A failure at any
step releases what was taken (the driver's guest, the fixed IP) and leaves
the instance in ``error`` with the reason as its fault (see
``nova.compute.faults``); the original left it half-built in SHUTDOWN.

The other actions (reboot, pause, suspend, rescue, snapshot...) call the
driver and then write the power state it reports; a failure is recorded
as a fault and the state refreshed from the driver.  Actions on one
instance are serialized by a per-instance lock, so a terminate cannot
race a half-done reboot.

A periodic task keeps the database's power states in line with the
hypervisor (the original had none, so a guest that crashed stayed
"running" forever); ``init_host`` does the same at start and finishes
builds and terminations that a restart interrupted.

Resource reporting: the driver's ``get_host_stats`` is refreshed on the
periodic tick and served by the ``get_host_stats`` call; the schedulers
still count cores from the instances table, because the schema has no
compute_nodes table yet.
"""

import collections
import contextlib
import threading

from nova import exception
from nova import flags
from nova import log as logging
from nova import manager
from nova import utils
from nova.compute import faults
from nova.compute import power_state
from nova.compute import security_groups
from nova.network import api as network_api

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

# state_description values while the compute service works on an instance.
BUILDING = ('scheduling', 'networking', 'spawning', 'launching')
TRANSITIONAL = BUILDING + ('rebooting', 'pausing', 'unpausing', 'suspending',
                           'resuming', 'rescuing', 'unrescuing',
                           'snapshotting', 'terminating', 'updating_password',
                           'rebooting_hard', 'rebuilding', 'resizing',
                           'reverting_resize')
RESCUED = 'rescued'

INSTANCE_FIELDS = ('id', 'uuid', 'name', 'hostname', 'host', 'image_id',
                   'kernel_id', 'ramdisk_id', 'memory_mb', 'vcpus',
                   'local_gb', 'mac_address', 'key_name', 'key_data',
                   'user_data', 'project_id', 'user_id', 'display_name',
                   'launch_index', 'reservation_id', 'availability_zone',
                   'os_type', 'state', 'state_description')


def instance_dict(instance, **extra):
    """The plain dict drivers get (see nova.virt.driver)."""
    values = {key: instance[key] for key in INSTANCE_FIELDS}
    for key in ('kernel_id', 'ramdisk_id'):
        if values[key] in ('', None):
            values[key] = None
    values['metadata'] = {item['key']: item['value']
                          for item in (instance['metadata_items'] or [])}
    itype = instance['instance_type']
    values['instance_type'] = itype['name'] if itype else None
    values.update(extra)
    return values


class ComputeManager(manager.Manager):
    """Manages the guests of one compute host."""

    def __init__(self, compute_driver=None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if compute_driver is None:
            from nova.virt import connection
            compute_driver = connection.get_connection()
        self.driver = compute_driver
        self.network_api = network_api.API()
        self.host_stats = {}
        self._locks = collections.defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()

    # -- helpers ---------------------------------------------------------------

    @contextlib.contextmanager
    def _instance_lock(self, instance_id, blocking=True):
        with self._locks_guard:
            lock = self._locks[instance_id]
        got = lock.acquire(blocking)
        try:
            yield got
        finally:
            if got:
                lock.release()
            with self._locks_guard:
                if not lock.locked() and self._locks.get(instance_id) is lock:
                    del self._locks[instance_id]

    def _power_state(self, instance):
        try:
            return self.driver.get_info(instance['name'])['state']
        except exception.InstanceNotFound:
            return power_state.SHUTOFF

    def _sync_instance(self, ctxt, instance_id, description=None):
        """Write the driver's power state (and its name, or ``description``)."""
        try:
            instance = self.db.instance_get(ctxt, instance_id)
        except exception.InstanceNotFound:
            return None
        state = self._power_state(instance)
        values = {'state': state,
                  'state_description': description or power_state.name(state)}
        try:
            return self.db.instance_update(ctxt, instance_id, values)
        except exception.InstanceNotFound:
            return None

    def _network_info(self, context, instance_id):
        """What the instance has from nova-network; [] when unreachable."""
        try:
            return self.network_api.get_instance_nw_info(context, instance_id)
        except Exception as e:  # noqa: BLE001 - best effort for teardown
            LOG.warning('no network info for instance %s: %s', instance_id,
                        faults.describe(e), context=context)
            return []

    def _do(self, context, instance_id, action, work, description=None,
            reraise=False):
        """Run ``work(ctxt, instance)`` under the instance's lock.

        Success writes the driver's power state (``description`` replaces its
        name); failure records a fault and refreshes the state.  Casts log a
        failure; calls (``reraise``) hand it back to the caller.
        """
        ctxt = context.elevated()
        with self._instance_lock(instance_id):
            try:
                instance = self.db.instance_get(ctxt, instance_id)
            except exception.InstanceNotFound:
                if reraise:
                    raise
                LOG.warning('%s: instance %s is gone', action, instance_id,
                            context=context)
                return None
            try:
                result = work(ctxt, instance)
            except Exception as e:  # noqa: BLE001 - recorded for the user
                faults.record(ctxt, instance_id, action, faults.describe(e))
                if not isinstance(e, exception.NovaException):
                    LOG.exception('%s of instance %s failed', action,
                                  instance_id, context=context)
                self._sync_instance(ctxt, instance_id)
                if reraise:
                    raise
                return None
            self._sync_instance(ctxt, instance_id, description)
            return result

    # -- start-up and periodic work --------------------------------------------

    def init_host(self):
        self.driver.init_host(host=self.host)
        ctxt = _admin_context()
        for instance in self.db.instance_get_all_by_host(ctxt, self.host):
            try:
                self._init_instance(ctxt, instance)
            except Exception:  # noqa: BLE001 - one bad row must not stop us
                LOG.exception('could not restore instance %s',
                              instance['id'])

    def _init_instance(self, ctxt, instance):
        description = instance['state_description']
        if description in ('networking', 'spawning', 'launching'):
            self._abort_build(ctxt, instance, None, description,
                              'the compute service restarted while '
                              'building the instance')
        elif description == 'terminating':
            self.terminate_instance(ctxt, instance['id'])
        elif description != faults.ERROR:
            keep = description if description == RESCUED else None
            instance = self._sync_instance(ctxt, instance['id'], keep)
            if instance is not None:
                self._restore_filter(ctxt, instance)

    def _restore_filter(self, ctxt, instance):
        """Rebuild the guest's firewall rules from the database (the
        original re-applied them only for running guests, and from the
        network service, which may not be up yet): network_info None asks
        the driver to read the addresses from the database."""
        try:
            self.driver.ensure_filtering_rules_for_instance(
                instance_dict(instance), None)
        except Exception:  # noqa: BLE001 - one guest must not stop the rest
            LOG.exception('could not restore the firewall of instance %s',
                          instance['id'])

    def _refresh_group_members(self, ctxt, instance):
        """The instance joined or left its groups' address sets: hosts whose
        rules admit those groups as source must recompute them."""
        group_ids = [g['id'] for g in (instance['security_groups'] or [])]
        if not group_ids:
            return
        try:
            security_groups.trigger_members_refresh(ctxt, group_ids)
        except Exception:  # noqa: BLE001 - the instance itself is fine
            LOG.exception('could not ask for a refresh of the groups of '
                          'instance %s', instance['id'])

    @manager.periodic_task
    def sync_power_states(self, context):
        """Make the database's power states match the hypervisor's."""
        ctxt = context.elevated()
        for instance in self.db.instance_get_all_by_host(ctxt, self.host):
            description = instance['state_description']
            if description in TRANSITIONAL or description == faults.ERROR:
                continue
            with self._instance_lock(instance['id'], blocking=False) as got:
                if not got:
                    continue
                state = self._power_state(instance)
                if state == instance['state']:
                    continue
                LOG.info('instance %s: power state %s in the database, %s '
                         'on the hypervisor', instance['id'],
                         power_state.name(instance['state']),
                         power_state.name(state))
                values = {'state': state}
                if description != RESCUED:
                    values['state_description'] = power_state.name(state)
                try:
                    self.db.instance_update(ctxt, instance['id'], values)
                except exception.InstanceNotFound:
                    pass

    @manager.periodic_task
    def update_host_stats(self, context):
        self.host_stats = self.driver.get_host_stats(refresh=True)

    def get_host_stats(self, context, refresh=False):
        if refresh or not self.host_stats:
            self.host_stats = self.driver.get_host_stats(refresh=True)
        return self.host_stats

    # -- building and terminating ----------------------------------------------

    def run_instance(self, context, instance_id, **kwargs):
        """Build and boot an instance the scheduler placed here."""
        ctxt = context.elevated()
        with self._instance_lock(instance_id):
            try:
                instance = self.db.instance_get(ctxt, instance_id)
            except exception.InstanceNotFound:
                LOG.info('instance %s was deleted before it was built',
                         instance_id, context=context)
                return
            if instance['state_description'] != 'scheduling':
                LOG.warning('instance %s is %s, not scheduling; not building '
                            'it again', instance_id,
                            instance['state_description'], context=context)
                return
            if instance['name'] in self.driver.list_instances():
                faults.set_error(ctxt, instance_id, 'run_instance',
                                 'a guest named %s already exists on %s'
                                 % (instance['name'], self.host))
                return
            self._build(context, ctxt, instance, kwargs)

    def _build(self, context, ctxt, instance, kwargs):
        instance_id = instance['id']
        network_info = None
        step = 'networking'
        try:
            instance = self.db.instance_update(
                ctxt, instance_id, {'host': self.host,
                                    'state': power_state.BUILDING,
                                    'state_description': step})
            network_info = self.network_api.allocate_for_instance(
                context, instance_id)
            self._setup_compute_network(network_info)
            step = 'spawning'
            instance = self.db.instance_update(
                ctxt, instance_id, {'state_description': step})
            extra = {k: kwargs[k] for k in ('injected_files', 'admin_password')
                     if kwargs.get(k)}
            self.driver.spawn(ctxt, instance_dict(instance, **extra),
                              network_info)
            step = 'launching'
            state = self.driver.get_info(instance['name'])['state']
            self.db.instance_update(ctxt, instance_id, {
                'state': state, 'state_description': power_state.name(state),
                'launched_at': utils.utcnow()})
        except Exception as e:  # noqa: BLE001 - every failure is undone
            if not isinstance(e, exception.NovaException):
                LOG.exception('building instance %s failed', instance_id,
                              context=context)
            self._abort_build(ctxt, instance, network_info, step,
                              '%s failed: %s' % (step, faults.describe(e)))
            return
        LOG.info('instance %s is %s on %s', instance_id,
                 power_state.name(state), self.host, context=context)
        self._refresh_group_members(ctxt, instance)

    def _setup_compute_network(self, network_info):
        """The bridge (and VLAN device) the guest's NIC joins, made on this
        host when the network service asks for it (network_info's
        should_create_bridge / should_create_vlan / bridge_interface, see
        nova.network.linux_net.setup_compute_network).  Only the libvirt
        driver plugs guests into host bridges."""
        if FLAGS.get('connection_type') != 'libvirt':
            return
        from nova.network import linux_net
        linux_net.setup_compute_network(network_info)

    def _abort_build(self, ctxt, instance, network_info, step, reason):
        """Undo a build: remove the guest, free the address, mark error."""
        try:
            self.driver.destroy(instance_dict(instance), network_info)
        except Exception:  # noqa: BLE001 - keep undoing the rest
            LOG.exception('could not remove the guest of instance %s',
                          instance['id'])
        try:
            self.network_api.deallocate_for_instance(ctxt, instance['id'])
        except Exception as e:  # noqa: BLE001
            reason = '%s; its address could not be released: %s' % (
                reason, faults.describe(e))
        faults.set_error(ctxt, instance['id'], 'run_instance', reason)

    def terminate_instance(self, context, instance_id, **kwargs):
        """Remove the guest, free its address, delete the row."""
        ctxt = context.elevated()
        with self._instance_lock(instance_id):
            try:
                instance = self.db.instance_get(ctxt, instance_id)
            except exception.InstanceNotFound:
                LOG.info('instance %s is already gone', instance_id,
                         context=context)
                return
            network_info = self._network_info(ctxt, instance_id)
            try:
                self.driver.destroy(instance_dict(instance), network_info)
            except Exception as e:  # noqa: BLE001 - recorded for the user
                faults.set_error(ctxt, instance_id, 'terminate_instance',
                                 'could not remove the guest: %s'
                                 % faults.describe(e),
                                 state=self._power_state(instance))
                return
            try:
                self.network_api.deallocate_for_instance(ctxt, instance_id)
            except Exception as e:  # noqa: BLE001
                # The guest is gone; the row stays so a retried delete
                # can release the address.
                faults.set_error(ctxt, instance_id, 'terminate_instance',
                                 'could not release the address: %s'
                                 % faults.describe(e),
                                 state=power_state.SHUTOFF)
                return
            try:
                self.db.instance_update(ctxt, instance_id, {
                    'state': power_state.SHUTOFF,
                    'state_description': 'terminated',
                    'terminated_at': utils.utcnow()})
                self.db.instance_destroy(ctxt, instance_id)
            except exception.InstanceNotFound:
                pass
            LOG.info('terminated instance %s', instance_id, context=context)
            self._refresh_group_members(ctxt, instance)

    # -- actions ---------------------------------------------------------------

    def reboot_instance(self, context, instance_id, **kwargs):
        def work(ctxt, instance):
            self.driver.reboot(instance_dict(instance),
                               self._network_info(ctxt, instance['id']))
        return self._do(context, instance_id, 'reboot_instance', work)

    def pause_instance(self, context, instance_id, **kwargs):
        return self._do(context, instance_id, 'pause_instance',
                        lambda c, i: self.driver.pause(instance_dict(i)))

    def unpause_instance(self, context, instance_id, **kwargs):
        return self._do(context, instance_id, 'unpause_instance',
                        lambda c, i: self.driver.unpause(instance_dict(i)))

    def suspend_instance(self, context, instance_id, **kwargs):
        return self._do(context, instance_id, 'suspend_instance',
                        lambda c, i: self.driver.suspend(instance_dict(i)))

    def resume_instance(self, context, instance_id, **kwargs):
        return self._do(context, instance_id, 'resume_instance',
                        lambda c, i: self.driver.resume(instance_dict(i)))

    def rescue_instance(self, context, instance_id, rescue_image_id=None,
                        **kwargs):
        def work(ctxt, instance):
            self.driver.rescue(ctxt, instance_dict(instance),
                               self._network_info(ctxt, instance['id']),
                               rescue_image_id)
        return self._do(context, instance_id, 'rescue_instance', work,
                        description=RESCUED)

    def unrescue_instance(self, context, instance_id, **kwargs):
        def work(ctxt, instance):
            self.driver.unrescue(instance_dict(instance),
                                 self._network_info(ctxt, instance['id']))
        return self._do(context, instance_id, 'unrescue_instance', work)

    def snapshot_instance(self, context, instance_id, image_id, **kwargs):
        """Upload the root disk into the queued image ``image_id``.

        The image becomes active; if the snapshot fails it is deleted, so no
        image is left queued forever.
        """
        from nova import image
        image_service = image.get_default_image_service()

        def work(ctxt, instance):
            try:
                self.driver.snapshot(context, instance_dict(instance),
                                     image_id)
                # The formats and properties were right from the start
                # (compute.api.snapshot_image_meta); only the EC2 state
                # (and the status, for a service that does not set it on
                # upload) change now.
                done = {'properties': {'image_state': 'available'}}
                if image_service.show(context, image_id)['status'] != \
                        'active':
                    done['status'] = 'active'
                image_service.update(context, image_id, done)
            except Exception:
                try:
                    image_service.delete(context, image_id)
                except Exception:  # noqa: BLE001 - the first error matters
                    LOG.exception('could not delete the failed snapshot '
                                  'image %s', image_id)
                raise
        return self._do(context, instance_id, 'snapshot_instance', work)

    def set_admin_password(self, context, instance_id, new_pass=None,
                           **kwargs):
        def work(ctxt, instance):
            password = new_pass or utils.generate_password(
                FLAGS.password_length)
            try:
                self.driver.set_admin_password(instance_dict(instance),
                                               password)
            except NotImplementedError:
                raise exception.NovaException(
                    'this hypervisor cannot set the admin password') \
                    from None
        return self._do(context, instance_id, 'set_admin_password', work)

    def get_console_output(self, context, instance_id, **kwargs):
        instance = self.db.instance_get(context.elevated(), instance_id)
        return self.driver.get_console_output(instance_dict(instance))

    def get_diagnostics(self, context, instance_id, **kwargs):
        instance = self.db.instance_get(context.elevated(), instance_id)
        return self.driver.get_diagnostics(instance_dict(instance))

    def lock_instance(self, context, instance_id, **kwargs):
        self.db.instance_update(context.elevated(), instance_id,
                                {'locked': True})

    def unlock_instance(self, context, instance_id, **kwargs):
        self.db.instance_update(context.elevated(), instance_id,
                                {'locked': False})

    def refresh_security_group_rules(self, context, security_group_id,
                                     **kwargs):
        return self.driver.refresh_security_group_rules(security_group_id)

    def refresh_security_group_members(self, context, security_group_id,
                                       **kwargs):
        return self.driver.refresh_security_group_members(security_group_id)


    # -- rebuild and resize (OpenStack API) -------------------------------------

    def rebuild_instance(self, context, instance_id, injected_files=None,
                         admin_password=None, **kwargs):
        """Replace the guest with one booted from the instance's (new) image.

        The address stays.  A failed spawn leaves the instance in error
        with the reason, since the old guest is already gone.
        """
        ctxt = context.elevated()
        with self._instance_lock(instance_id):
            try:
                instance = self.db.instance_get(ctxt, instance_id)
            except exception.InstanceNotFound:
                return
            network_info = self._network_info(ctxt, instance_id)
            extra = {}
            if injected_files:
                extra['injected_files'] = injected_files
            if admin_password:
                extra['admin_password'] = admin_password
            try:
                self.driver.destroy(instance_dict(instance), network_info)
                self.driver.spawn(ctxt, instance_dict(instance, **extra),
                                  network_info)
            except Exception as e:  # noqa: BLE001 - recorded for the user
                if not isinstance(e, exception.NovaException):
                    LOG.exception('rebuilding instance %s failed',
                                  instance_id, context=context)
                try:
                    self.driver.destroy(instance_dict(instance),
                                        network_info)
                except Exception:  # noqa: BLE001
                    LOG.exception('could not remove the half-built guest '
                                  'of instance %s', instance_id)
                faults.set_error(ctxt, instance_id, 'rebuild_instance',
                                 'rebuild failed: %s' % faults.describe(e))
                return
            self._sync_instance(ctxt, instance_id)
            self.db.instance_update(ctxt, instance_id,
                                    {'launched_at': utils.utcnow()})

    def _set_type(self, ctxt, instance_id, itype, description=None):
        values = {'instance_type': itype, 'memory_mb': itype['memory_mb'],
                  'vcpus': itype['vcpus'], 'local_gb': itype['local_gb']}
        if description:
            values['state_description'] = description
        self.db.instance_update(ctxt, instance_id, values)

    def _migration_step(self, context, instance_id, migration_id, action,
                        flavor_key, driver_method, done_status,
                        description=None):
        """Run a driver resize step; the instance gets the flavor it names.

        A driver without the step (``NotImplementedError``) or failing in
        it leaves the instance as it was, with the reason as its fault.
        """
        from nova.compute import instance_types
        ctxt = context.elevated()
        with self._instance_lock(instance_id):
            try:
                instance = self.db.instance_get(ctxt, instance_id)
                migration = self.db.migration_get(ctxt, migration_id)
            except exception.NotFound:
                return
            itype = instance_types.get_instance_type_by_flavor_id(
                migration[flavor_key])
            method = getattr(self.driver, driver_method, None)
            try:
                if method is None:
                    raise NotImplementedError()
                method(instance_dict(instance), itype)
            except Exception as e:  # noqa: BLE001 - recorded for the user
                reason = ('this hypervisor cannot resize instances'
                          if isinstance(e, NotImplementedError)
                          else faults.describe(e))
                faults.record(ctxt, instance_id, action, reason)
                self.db.migration_update(ctxt, migration_id,
                                         {'status': 'error'})
                self._sync_instance(ctxt, instance_id)
                return
            self._set_type(ctxt, instance_id, itype)
            self.db.migration_update(ctxt, migration_id,
                                     {'status': done_status})
            self._sync_instance(ctxt, instance_id, description)

    def resize_instance(self, context, instance_id, migration_id, **kwargs):
        """Give the guest the migration's new flavor; wait for verify."""
        self._migration_step(context, instance_id, migration_id,
                             'resize_instance', 'new_flavor_id', 'resize',
                             'finished', description='resize_verify')

    def revert_resize(self, context, instance_id, migration_id, **kwargs):
        """Give the guest its old flavor back."""
        self._migration_step(context, instance_id, migration_id,
                             'revert_resize', 'old_flavor_id',
                             'revert_resize', 'reverted')

    def confirm_resize(self, context, instance_id, migration_id=None,
                       **kwargs):
        """Keep the new size; the driver may drop what revert needed."""
        def work(ctxt, instance):
            method = getattr(self.driver, 'confirm_resize', None)
            if method is not None:
                method(instance_dict(instance))
        return self._do(context, instance_id, 'confirm_resize', work)

def _admin_context():
    from nova import context
    return context.get_admin_context()


flags.DEFINE_integer('password_length', 12,
                     'length of generated admin passwords')
