"""An in-memory hypervisor for tests and for simulating many hosts.

Every driver operation works and changes only this object's state, so one
process can run many compute services, each with its own FakeConnection.
Failures are configurable two ways:

* flags (reach daemons started with a flagfile): ``fake_fail_image_ids``
  makes ``spawn`` fail for those images, ``fake_spawn_delay`` makes a boot
  take that long (a green sleep under eventlet);
* ``conn.fail_next(method, exc)`` / ``conn.fail_always(method, exc)`` for
  tests holding the connection object.
"""

import threading
import time

from nova import exception
from nova import flags
from nova import log as logging
from nova.compute import power_state
from nova.virt import driver

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

flags.DEFINE_list('fake_fail_image_ids', [],
                  'fake driver: spawning these image ids fails')
flags.DEFINE_float('fake_spawn_delay', 0.0,
                   'fake driver: seconds a spawn takes')
flags.DEFINE_integer('fake_host_vcpus', 64, 'fake driver: cores of a host')
flags.DEFINE_integer('fake_host_memory_mb', 128 * 1024,
                     'fake driver: memory of a host')
flags.DEFINE_integer('fake_host_local_gb', 4096,
                     'fake driver: disk of a host')


class FakeSpawnError(exception.NovaException):
    message = 'fake driver: spawning image %(image_id)s failed on purpose'


def get_connection(read_only=False):
    return FakeConnection()


class FakeInstance:
    def __init__(self, instance, network_info):
        self.name = instance['name']
        self.state = power_state.RUNNING
        self.memory_mb = int(instance.get('memory_mb') or 0)
        self.vcpus = int(instance.get('vcpus') or 0)
        self.local_gb = int(instance.get('local_gb') or 0)
        self.image_id = instance.get('image_id')
        self.network_info = list(network_info or [])
        self.rescued = False
        self.boots = 1
        self.console = ['fake console of %s' % self.name, 'booted']


class FakeConnection(driver.ComputeDriver):

    def __init__(self):
        self.instances = {}           # name -> FakeInstance
        self.host = None
        self.calls = []               # (method, instance name) for tests
        self._failures = {}           # method -> (exc, always)
        self._lock = threading.Lock()

    # -- failure injection -----------------------------------------------------

    def fail_next(self, method, exc=None):
        """Make the next call of ``method`` raise ``exc``."""
        self._failures[method] = (exc or exception.NovaException(
            'fake driver: %s failed on purpose' % method), False)

    def fail_always(self, method, exc=None):
        self._failures[method] = (exc or exception.NovaException(
            'fake driver: %s failed on purpose' % method), True)

    def clear_failures(self):
        self._failures.clear()

    def _enter(self, method, name=None):
        self.calls.append((method, name))
        failure = self._failures.get(method)
        if failure is not None:
            exc, always = failure
            if not always:
                del self._failures[method]
            raise exc

    def _get(self, name):
        try:
            return self.instances[name]
        except KeyError:
            raise exception.InstanceNotFound(instance_id=name) from None

    # -- the driver interface --------------------------------------------------

    def init_host(self, host):
        self.host = host

    def list_instances(self):
        return list(self.instances)

    def get_info(self, instance_name):
        self._enter('get_info', instance_name)
        inst = self._get(instance_name)
        return {'state': inst.state,
                'max_mem': inst.memory_mb * 1024,
                'mem': inst.memory_mb * 1024,
                'num_cpu': inst.vcpus,
                'cpu_time': 0}

    def spawn(self, context, instance, network_info):
        name = instance['name']
        self._enter('spawn', name)
        if str(instance.get('image_id')) in [str(i) for i in
                                             FLAGS.fake_fail_image_ids]:
            raise FakeSpawnError(image_id=instance.get('image_id'))
        with self._lock:
            if name in self.instances:
                raise exception.Duplicate('fake driver: %s already exists'
                                          % name)
            self.instances[name] = FakeInstance(instance, network_info)
            self.instances[name].state = power_state.BUILDING
        if FLAGS.fake_spawn_delay > 0:
            time.sleep(FLAGS.fake_spawn_delay)
        self.instances[name].state = power_state.RUNNING

    def destroy(self, instance, network_info=None, cleanup=True):
        self._enter('destroy', instance['name'])
        self.instances.pop(instance['name'], None)

    def reboot(self, instance, network_info):
        self._enter('reboot', instance['name'])
        inst = self._get(instance['name'])
        inst.state = power_state.RUNNING
        inst.boots += 1
        inst.console.append('rebooted')

    def pause(self, instance):
        self._enter('pause', instance['name'])
        self._get(instance['name']).state = power_state.PAUSED

    def unpause(self, instance):
        self._enter('unpause', instance['name'])
        self._get(instance['name']).state = power_state.RUNNING

    def suspend(self, instance):
        self._enter('suspend', instance['name'])
        self._get(instance['name']).state = power_state.SUSPENDED

    def resume(self, instance):
        self._enter('resume', instance['name'])
        self._get(instance['name']).state = power_state.RUNNING

    def rescue(self, context, instance, network_info, rescue_image_id=None):
        self._enter('rescue', instance['name'])
        inst = self._get(instance['name'])
        inst.rescued = True
        inst.state = power_state.RUNNING

    def unrescue(self, instance, network_info):
        self._enter('unrescue', instance['name'])
        inst = self._get(instance['name'])
        inst.rescued = False
        inst.state = power_state.RUNNING

    def snapshot(self, context, instance, image_id):
        self._enter('snapshot', instance['name'])
        inst = self._get(instance['name'])
        from nova import image
        data = ('fake disk of %s from image %s\n'
                % (inst.name, inst.image_id)).encode()
        image.get_default_image_service().update(
            context, image_id, {}, data=iter([data]))

    def resize(self, instance, instance_type):
        """Give the guest another size, remembering the old one."""
        self._enter('resize', instance['name'])
        inst = self._get(instance['name'])
        inst.old_size = (inst.memory_mb, inst.vcpus, inst.local_gb)
        inst.memory_mb = int(instance_type['memory_mb'])
        inst.vcpus = int(instance_type['vcpus'])
        inst.local_gb = int(instance_type['local_gb'])

    def revert_resize(self, instance, instance_type):
        self._enter('revert_resize', instance['name'])
        inst = self._get(instance['name'])
        inst.memory_mb = int(instance_type['memory_mb'])
        inst.vcpus = int(instance_type['vcpus'])
        inst.local_gb = int(instance_type['local_gb'])
        inst.old_size = None

    def confirm_resize(self, instance):
        self._enter('confirm_resize', instance['name'])
        self._get(instance['name']).old_size = None

    def get_console_output(self, instance):
        self._enter('get_console_output', instance['name'])
        return '\n'.join(self._get(instance['name']).console) + '\n'

    def get_diagnostics(self, instance):
        self._enter('get_diagnostics', instance['name'])
        inst = self._get(instance['name'])
        return {'cpu0_time': 17300000000, 'memory': inst.memory_mb * 1024,
                'vda_read': 262144, 'vda_write': 5778432,
                'vnet0_rx': 2070139, 'vnet0_tx': 140208,
                'boots': inst.boots}

    def set_admin_password(self, instance, new_pass):
        self._enter('set_admin_password', instance['name'])
        self._get(instance['name'])

    def attach_volume(self, instance_name, connection_info, mountpoint):
        raise NotImplementedError('volumes arrive with the volume issue')

    def detach_volume(self, instance_name, mountpoint):
        raise NotImplementedError('volumes arrive with the volume issue')

    def get_host_stats(self, refresh=False):
        live = list(self.instances.values())
        return {'vcpus': FLAGS.fake_host_vcpus,
                'vcpus_used': sum(i.vcpus for i in live),
                'memory_mb': FLAGS.fake_host_memory_mb,
                'memory_mb_used': sum(i.memory_mb for i in live),
                'local_gb': FLAGS.fake_host_local_gb,
                'local_gb_used': sum(i.local_gb for i in live),
                'hypervisor_type': 'fake',
                'hypervisor_version': 1,
                'hypervisor_hostname': self.host or FLAGS.host}

    def plug_vifs(self, instance, network_info):
        self._enter('plug_vifs', instance['name'])
