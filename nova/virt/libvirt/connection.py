"""The libvirt driver: QEMU/KVM guests through libvirt-python.

Files of one instance live in ``<instances_path>/<name>/``:

    libvirt.xml     the domain's definition (what reboot/unrescue go back to)
    console.log     serial port 0 (get_console_output reads its tail)
    kernel, ramdisk copies of the AKI/ARI (only for AMI images)
    disk            root disk: qcow2 overlay on ``_base/<image>`` (or a
                    standalone qcow2 copy when use_cow_images is off)
    disk.local      ephemeral disk of local_gb GiB (only when local_gb > 0)
    disk.config     the config drive (ISO 9660, label config-2)
    *.rescue        disk, kernel and ramdisk of the rescue image; rescue.xml
    resize-orig/    the definition and disks from before a resize, until it
                    is confirmed or reverted (see nova.virt.libvirt.resize)

Domains are persistent (defineXML + create) so libvirtd restarts keep them;
NICs are bridge interfaces whose tap devices are named ``tap<uuid prefix>``
so a terminate can find and remove one libvirt left behind.

Differences from Bexar, on purpose:

* nothing is injected into the guest's disk (that mounted untrusted file
  systems on the host); SSH key, user data, injected files and (for
  ``injected`` networks) the interfaces file go on the config drive;
* images are checked before use (see nova.virt.images: no qcow2 backing
  files, formats are never probed for declared raw images);
* pause/unpause (libvirt suspend/resume), suspend/resume (managed save),
  snapshot (qemu-img convert of the paused guest's disk) and diagnostics
  work; Bexar raised for all of them;
* the root disk is not resized with resize2fs on the host; with
  ``minimum_root_size`` the overlay's virtual size grows and the guest
  grows its own file system;
* resize (same host: new memory, vcpus and a bigger ephemeral disk, with
  confirm and revert) works; Bexar had none, Cactus only through xenapi.

Calls into libvirt block the calling (green) thread: they are short here
(define, create, destroy, managed save of a small guest).  The connection
is reopened whenever it is found dead, so a libvirtd restart costs one
failed call at most.  ``libvirt_type=lxc`` is not supported yet.
"""

import os
import shutil
import threading
import time
import uuid as uuidlib

import libvirt

from nova import exception
from nova import flags
from nova import image
from nova import log as logging
from nova import utils
from nova.compute import power_state
from nova.virt import driver
from nova.virt import images
from nova.virt.libvirt import config
from nova.virt.libvirt import configdrive
from nova.virt.libvirt import firewall
from nova.virt.libvirt import imagecache
from nova.virt.libvirt import resize as resize_files

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

flags.DEFINE_string('libvirt_type', 'kvm',
                    'libvirt domain type: kvm or qemu (qemu = TCG, for '
                    'hosts without usable KVM)')
flags.DEFINE_string('libvirt_uri', '',
                    'libvirt connection URI; empty means derived from '
                    'libvirt_type (qemu:///system)')
flags.DEFINE_string('instances_path', '$state_path/instances',
                    'where instances\' disks, consoles and the image cache '
                    '(_base) live')
flags.DEFINE_bool('use_cow_images', True,
                  'root disks are qcow2 overlays on the cached image (else '
                  'standalone copies)')
flags.DEFINE_integer('minimum_root_size', 0,
                     'bytes: grow root disks smaller than this (except '
                     'm1.tiny and rescue disks); Bexar used 10 GiB. 0 keeps '
                     'the image\'s own size')
flags.DEFINE_string('rescue_image_id', None,
                    'image rescue boots (default: the instance\'s own)')
flags.DEFINE_string('rescue_kernel_id', None,
                    'kernel of the rescue image (default: its kernel_id)')
flags.DEFINE_string('rescue_ramdisk_id', None,
                    'ramdisk of the rescue image (default: its ramdisk_id)')
flags.DEFINE_string('libvirt_kernel_cmdline', 'root=/dev/vda console=ttyS0',
                    'kernel command line of AMI (kernel + ramdisk) guests')
flags.DEFINE_integer('libvirt_wait_soft_reboot_seconds', 60,
                     'a soft reboot waits this long for the guest to shut '
                     'down after the ACPI request, then powers it off')
flags.DEFINE_integer('libvirt_boot_timeout', 60,
                     'seconds a started guest has to reach RUNNING')
flags.DEFINE_integer('console_log_max_bytes', 64 * 1024,
                     'get_console_output returns at most this much of the '
                     'end of console.log')

# libvirt's default error handler prints every error to stderr; errors
# reach us as exceptions anyway.
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

LIBVIRT_POWER_STATE = {
    libvirt.VIR_DOMAIN_NOSTATE: power_state.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: power_state.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: power_state.BLOCKED,
    libvirt.VIR_DOMAIN_PAUSED: power_state.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: power_state.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: power_state.SHUTOFF,
    libvirt.VIR_DOMAIN_CRASHED: power_state.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: power_state.SUSPENDED,
}

POLL_INTERVAL = 0.5
GIB = 1024 ** 3
# disk_format of a snapshot's image record -> what qemu-img writes.
SNAPSHOT_FORMATS = {'ami': 'raw', 'raw': 'raw', 'qcow2': 'qcow2'}


class InstanceExists(exception.Duplicate):
    message = 'a guest named %(name)s already exists on this host'


class SpawnError(exception.NovaException):
    message = 'guest %(name)s did not start: %(reason)s'


def get_connection(read_only=False):
    return LibvirtConnection(read_only)


def default_uri(virt_type):
    if virt_type in ('kvm', 'qemu'):
        return 'qemu:///system'
    raise exception.Invalid('libvirt_type %r is not supported (kvm or qemu)'
                            % virt_type)


def tap_name(instance, index):
    """Name of the tap device of NIC ``index`` (at most 14 characters)."""
    key = (instance.get('uuid') or instance['name']).replace('-', '')
    suffix = '' if index == 0 else '-%d' % index
    return ('tap' + key)[:14 - len(suffix)] + suffix


def _error_code(e):
    try:
        return e.get_error_code()
    except Exception:  # noqa: BLE001 - odd libvirtError objects
        return None


class LibvirtConnection(driver.ComputeDriver):

    def __init__(self, read_only=False, uri=None):
        self.read_only = read_only
        self.uri = uri or FLAGS.libvirt_uri or default_uri(FLAGS.libvirt_type)
        if FLAGS.libvirt_type not in ('kvm', 'qemu'):
            default_uri(FLAGS.libvirt_type)   # raises the clear error
        self._wrapped = None
        self._conn_lock = threading.Lock()
        self.firewall = utils.import_class(
            FLAGS.firewall_driver or firewall.DEFAULT_DRIVER)(conn=self)
        self._host_stats = None

    # -- the libvirt connection -----------------------------------------------

    @property
    def _conn(self):
        """A live libvirt connection, reopened when the old one died."""
        with self._conn_lock:
            conn = self._wrapped
            if conn is not None:
                try:
                    if conn.isAlive():
                        return conn
                except libvirt.libvirtError:
                    pass
                LOG.warning('connection to %s is broken; reconnecting',
                            self.uri)
                try:
                    conn.close()
                except libvirt.libvirtError:
                    pass
                self._wrapped = None
            try:
                if self.read_only:
                    conn = libvirt.openReadOnly(self.uri)
                else:
                    conn = libvirt.open(self.uri)
            except libvirt.libvirtError as e:
                raise exception.NovaException(
                    'cannot connect to libvirt at %s: %s' % (self.uri, e)) \
                    from None
            self._wrapped = conn
            return conn

    def _lookup(self, name):
        """The domain named ``name``; InstanceNotFound when there is none."""
        for attempt in (1, 2):
            conn = self._conn
            try:
                return conn.lookupByName(name)
            except libvirt.libvirtError as e:
                if _error_code(e) == libvirt.VIR_ERR_NO_DOMAIN:
                    raise exception.InstanceNotFound(instance_id=name) \
                        from None
                if attempt == 2 or self._alive(conn):
                    raise

    @staticmethod
    def _alive(conn):
        try:
            return bool(conn.isAlive())
        except libvirt.libvirtError:
            return False

    def _find(self, name):
        try:
            return self._lookup(name)
        except exception.InstanceNotFound:
            return None

    # -- paths ----------------------------------------------------------------

    @staticmethod
    def _instance_dir(instance_or_name):
        name = instance_or_name if isinstance(instance_or_name, str) \
            else instance_or_name['name']
        if not name or name in ('.', '..', '_base') or \
                os.path.basename(name) != name:
            raise exception.Invalid('bad instance name %r' % (name,))
        return os.path.join(FLAGS.instances_path, name)

    @staticmethod
    def _base_dir():
        return os.path.join(FLAGS.instances_path, '_base')

    def _image_cache(self):
        return imagecache.ImageCache(self._base_dir())

    # -- host -----------------------------------------------------------------

    def init_host(self, host):
        os.makedirs(self._base_dir(), exist_ok=True)
        conn = self._conn
        LOG.info('libvirt driver on %s: %s %s at %s', host, conn.getType(),
                 conn.getVersion(), self.uri)

    def list_instances(self):
        return [dom.name() for dom in self._conn.listAllDomains(0)]

    def get_info(self, instance_name):
        dom = self._lookup(instance_name)
        try:
            state, max_mem, mem, num_cpu, cpu_time = dom.info()
        except libvirt.libvirtError as e:
            if _error_code(e) == libvirt.VIR_ERR_NO_DOMAIN:
                raise exception.InstanceNotFound(instance_id=instance_name) \
                    from None
            raise
        code = LIBVIRT_POWER_STATE.get(state, power_state.NOSTATE)
        if code == power_state.SHUTOFF and dom.hasManagedSaveImage(0):
            code = power_state.SUSPENDED
        return {'state': code, 'max_mem': max_mem, 'mem': mem,
                'num_cpu': num_cpu, 'cpu_time': cpu_time}

    def get_host_stats(self, refresh=False):
        if self._host_stats is not None and not refresh:
            return dict(self._host_stats)
        conn = self._conn
        _model, memory_mb, cpus = conn.getInfo()[:3]
        vcpus_used = 0
        active = libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE
        for dom in conn.listAllDomains(active):
            try:
                vcpus_used += dom.info()[3]
            except libvirt.libvirtError:
                continue    # went away while we counted
        free_mb = conn.getFreeMemory() // (1024 * 1024)
        os.makedirs(FLAGS.instances_path, exist_ok=True)
        fs = os.statvfs(FLAGS.instances_path)
        total_gb = fs.f_frsize * fs.f_blocks // GIB
        free_gb = fs.f_frsize * fs.f_bavail // GIB
        self._host_stats = {
            'vcpus': cpus, 'vcpus_used': vcpus_used,
            'memory_mb': memory_mb,
            'memory_mb_used': max(0, memory_mb - free_mb),
            'local_gb': total_gb, 'local_gb_used': max(0, total_gb - free_gb),
            'hypervisor_type': conn.getType(),
            'hypervisor_version': conn.getVersion(),
            'hypervisor_hostname': conn.getHostname(),
        }
        return dict(self._host_stats)

    # -- building -------------------------------------------------------------

    def spawn(self, context, instance, network_info):
        name = instance['name']
        if self._find(name) is not None:
            raise InstanceExists(name=name)
        inst_dir = self._instance_dir(instance)
        made = False
        try:
            if os.path.exists(inst_dir):
                LOG.warning('removing the leftovers of an earlier %s', name)
                shutil.rmtree(inst_dir)
            os.makedirs(inst_dir)
            made = True
            domain = self._prepare(context, instance, network_info, inst_dir)
            xml = config.domain_xml(domain)
            self._write(os.path.join(inst_dir, 'libvirt.xml'), xml)
            self.firewall.prepare_instance_filter(instance, network_info)
            self._start(xml, name)
            self.firewall.apply_instance_filter(instance, network_info)
        except Exception as e:
            LOG.error('spawning %s failed: %s', name, e)
            if made:
                self._cleanup_quietly(instance, network_info)
            raise
        LOG.info('instance %s is running', name)

    def _prepare(self, context, instance, network_info, inst_dir,
                 rescue=None):
        """Fetch images and make the disks; return the config.Domain.

        ``rescue``: (image_id, kernel_id, ramdisk_id) to boot instead, with
        the instance's own root disk as the second disk.
        """
        image_service = image.get_default_image_service()
        cache = self._image_cache()
        suffix = '.rescue' if rescue else ''
        image_id, kernel_id, ramdisk_id = rescue or (
            instance['image_id'], instance.get('kernel_id'),
            instance.get('ramdisk_id'))

        root = cache.fetch(context, image_service, image_id,
                           self._disk_check(image_id))
        props = root.meta.get('properties') or {}
        if not rescue and not kernel_id and not ramdisk_id and \
                (root.meta.get('disk_format') == 'ami'):
            kernel_id = props.get('kernel_id')
            ramdisk_id = props.get('ramdisk_id')
        kernel = ramdisk = None
        if kernel_id:
            kernel = os.path.join(inst_dir, 'kernel' + suffix)
            self._fetch_blob(context, cache, image_service, kernel_id, kernel)
        if ramdisk_id:
            ramdisk = os.path.join(inst_dir, 'ramdisk' + suffix)
            self._fetch_blob(context, cache, image_service, ramdisk_id,
                             ramdisk)

        root_path = os.path.join(inst_dir, 'disk' + suffix)
        size = None
        if not rescue and FLAGS.minimum_root_size and \
                instance.get('instance_type') != 'm1.tiny':
            current = images.virtual_size(root.path, root.format)
            if current < FLAGS.minimum_root_size:
                size = FLAGS.minimum_root_size
        if FLAGS.use_cow_images:
            images.create_cow_image(root.path, root.format, root_path, size)
        else:
            images.copy_image(root.path, root.format, root_path)
            if size:
                images.resize_image(root_path, size)

        disks = [config.Disk(root_path, 'vda', 'qcow2')]
        if rescue:
            disks.append(config.Disk(os.path.join(inst_dir, 'disk'), 'vdb',
                                     'qcow2'))
        local_gb = int(instance.get('local_gb') or 0)
        local_path = os.path.join(inst_dir, 'disk.local')
        if local_gb > 0 and not rescue:
            images.create_blank_image(local_path, local_gb * GIB)
            disks.append(config.Disk(local_path, 'vdb', 'qcow2'))
        drive = os.path.join(inst_dir, 'disk.config')
        if not rescue:
            configdrive.build(instance, network_info, drive)
        disks.append(config.Disk(drive, 'vd' + chr(ord('a') + len(disks)),
                                 'raw', readonly=True))

        console_log = os.path.join(inst_dir, 'console.log')
        if not os.path.exists(console_log):
            self._write(console_log, '')

        interfaces = []
        for index, vif in enumerate(network_info or []):
            filter_name, params = self.firewall.instance_filter(instance, vif)
            interfaces.append(config.Interface(
                mac=vif.get('mac') or instance.get('mac_address'),
                bridge=vif['bridge'], target_dev=tap_name(instance, index),
                filter_name=filter_name, filter_params=params))

        return config.Domain(
            name=instance['name'],
            uuid=instance.get('uuid') or str(
                uuidlib.uuid5(uuidlib.NAMESPACE_URL, instance['name'])),
            virt_type=FLAGS.libvirt_type,
            memory_mib=int(instance['memory_mb']),
            vcpus=int(instance['vcpus']),
            disks=disks, interfaces=interfaces, console_log=console_log,
            kernel=kernel, initrd=ramdisk,
            cmdline=FLAGS.libvirt_kernel_cmdline if kernel else None,
            description='nova instance %s%s' % (
                instance.get('id'), ' (rescue)' if rescue else ''))

    @staticmethod
    def _disk_check(image_id):
        def check(path, meta):
            if (meta.get('disk_format') or '') in ('aki', 'ari'):
                raise images.ImageUnacceptable(
                    image_id, 'it is a %s, not a disk image'
                    % meta['disk_format'])
            return images.check_disk_image(image_id, path,
                                           meta.get('disk_format'))
        return check

    @staticmethod
    def _fetch_blob(context, cache, image_service, image_id, target):
        """A kernel or ramdisk, copied out of the cache to ``target``."""
        def check(path, meta):
            if os.path.getsize(path) == 0:
                raise images.ImageUnacceptable(image_id, 'it is empty')
            return 'raw'
        cached = cache.fetch(context, image_service, image_id, check)
        shutil.copyfile(cached.path, target)

    @staticmethod
    def _write(path, text):
        with open(path + '.tmp', 'w') as f:
            f.write(text)
        os.replace(path + '.tmp', path)

    def _start(self, xml, name):
        """Define ``xml`` and boot it; wait (bounded) until it runs."""
        conn = self._conn
        try:
            dom = conn.defineXML(xml)
            dom.create()
        except libvirt.libvirtError as e:
            raise SpawnError(name=name, reason=str(e)) from None
        self._wait_running(dom, name)
        return dom

    def _wait_running(self, dom, name):
        deadline = time.monotonic() + FLAGS.libvirt_boot_timeout
        while True:
            try:
                state = dom.info()[0]
            except libvirt.libvirtError as e:
                raise SpawnError(name=name, reason=str(e)) from None
            if state == libvirt.VIR_DOMAIN_RUNNING:
                return
            if state in (libvirt.VIR_DOMAIN_SHUTOFF,
                         libvirt.VIR_DOMAIN_CRASHED):
                raise SpawnError(name=name, reason='it stopped at once (%s)'
                                 % power_state.name(
                                     LIBVIRT_POWER_STATE[state]))
            if time.monotonic() > deadline:
                raise SpawnError(name=name, reason='not running after %ss'
                                 % FLAGS.libvirt_boot_timeout)
            time.sleep(POLL_INTERVAL)

    # -- removing -------------------------------------------------------------

    def destroy(self, instance, network_info=None, cleanup=True):
        name = instance['name']
        dom = self._find(name)
        taps = {tap_name(instance, i)
                for i in range(max(1, len(network_info or [])))}
        if dom is not None:
            try:
                taps.update(config.interface_targets(dom.XMLDesc(0)))
            except libvirt.libvirtError:
                pass
            self._power_off(dom)
            self._undefine(dom)
        for tap in sorted(taps):
            self._remove_tap(tap)
        self.firewall.unfilter_instance(instance, network_info)
        if cleanup:
            inst_dir = self._instance_dir(instance)
            if os.path.exists(inst_dir):
                shutil.rmtree(inst_dir)
        LOG.info('destroyed %s', name)

    def _cleanup_quietly(self, instance, network_info):
        try:
            self.destroy(instance, network_info, cleanup=True)
        except Exception:  # noqa: BLE001 - the first error is the one raised
            LOG.exception('could not clean up after %s', instance['name'])

    @staticmethod
    def _power_off(dom):
        """Hard power-off; a domain that is not running is fine."""
        try:
            if dom.isActive():
                dom.destroy()
        except libvirt.libvirtError as e:
            if _error_code(e) not in (libvirt.VIR_ERR_OPERATION_INVALID,
                                      libvirt.VIR_ERR_NO_DOMAIN):
                raise

    @staticmethod
    def _undefine(dom):
        flags_ = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                  libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                  libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
        try:
            dom.undefineFlags(flags_)
        except libvirt.libvirtError as e:
            if _error_code(e) != libvirt.VIR_ERR_NO_DOMAIN:
                raise

    @staticmethod
    def _remove_tap(tap):
        """libvirt removes its taps; this catches one left by a crash."""
        if os.path.exists(os.path.join('/sys/class/net', tap)):
            utils.execute('ip', 'link', 'delete', tap,
                          check_exit_code=[0, 1, 2])

    # -- power ----------------------------------------------------------------

    def reboot(self, instance, network_info, reboot_type='HARD'):
        """Hard: power off and boot the same definition.  Soft: ask the guest
        (ACPI) to shut down, wait at most libvirt_wait_soft_reboot_seconds,
        then continue as hard."""
        name = instance['name']
        dom = self._find(name)
        if dom is None:
            xml_path = os.path.join(self._instance_dir(instance),
                                    'libvirt.xml')
            if not os.path.exists(xml_path):
                raise exception.InstanceNotFound(instance_id=name)
            # libvirt forgot the guest (a lost host): define it again.
            with open(xml_path) as f:
                dom = self._conn.defineXML(f.read())
        if (reboot_type or 'HARD').upper() == 'SOFT' and dom.isActive():
            self._soft_shutdown(dom, FLAGS.libvirt_wait_soft_reboot_seconds)
        self._power_off(dom)
        if dom.hasManagedSaveImage(0):
            dom.managedSaveRemove(0)
        try:
            dom.create()
        except libvirt.libvirtError as e:
            raise SpawnError(name=name, reason=str(e)) from None
        self._wait_running(dom, name)

    @staticmethod
    def _soft_shutdown(dom, timeout):
        try:
            dom.shutdown()
        except libvirt.libvirtError as e:
            LOG.warning('ACPI shutdown of %s refused: %s', dom.name(), e)
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not dom.isActive():
                    return True
            except libvirt.libvirtError:
                return False
            time.sleep(POLL_INTERVAL)
        LOG.warning('%s did not shut down within %ss; powering it off',
                    dom.name(), timeout)
        return False

    def _state_error(self, name, reason):
        return exception.InvalidState(reason='instance %s %s' % (name, reason))

    def pause(self, instance):
        dom = self._lookup(instance['name'])
        if dom.info()[0] != libvirt.VIR_DOMAIN_RUNNING:
            raise self._state_error(instance['name'], 'is not running')
        dom.suspend()

    def unpause(self, instance):
        dom = self._lookup(instance['name'])
        if dom.info()[0] != libvirt.VIR_DOMAIN_PAUSED:
            raise self._state_error(instance['name'], 'is not paused')
        dom.resume()

    def suspend(self, instance):
        dom = self._lookup(instance['name'])
        if not dom.isActive():
            raise self._state_error(instance['name'], 'is not running')
        dom.managedSave(0)

    def resume(self, instance):
        dom = self._lookup(instance['name'])
        if dom.isActive() or not dom.hasManagedSaveImage(0):
            raise self._state_error(instance['name'], 'is not suspended')
        dom.create()
        self._wait_running(dom, instance['name'])

    # -- rescue ---------------------------------------------------------------

    def rescue(self, context, instance, network_info, rescue_image_id=None):
        name = instance['name']
        dom = self._lookup(name)
        inst_dir = self._instance_dir(instance)
        image_id = rescue_image_id or FLAGS.rescue_image_id
        if image_id:
            meta = image.get_default_image_service().show(context, image_id)
            props = meta.get('properties') or {}
            rescue = (image_id,
                      FLAGS.rescue_kernel_id or props.get('kernel_id'),
                      FLAGS.rescue_ramdisk_id or props.get('ramdisk_id'))
        else:
            rescue = (instance['image_id'], instance.get('kernel_id'),
                      instance.get('ramdisk_id'))
        self._remove_rescue_files(inst_dir)
        try:
            domain = self._prepare(context, instance, network_info, inst_dir,
                                   rescue=rescue)
            xml = config.domain_xml(domain)
            self._write(os.path.join(inst_dir, 'rescue.xml'), xml)
            self._power_off(dom)
            if dom.hasManagedSaveImage(0):
                dom.managedSaveRemove(0)
            self._start(xml, name)
        except Exception:
            LOG.exception('rescue of %s failed; booting it normally again',
                          name)
            self._boot_original(instance)
            self._remove_rescue_files(inst_dir)
            raise

    def unrescue(self, instance, network_info):
        name = instance['name']
        self._power_off(self._lookup(name))
        self._boot_original(instance)
        self._remove_rescue_files(self._instance_dir(instance))

    def _boot_original(self, instance):
        name = instance['name']
        with open(os.path.join(self._instance_dir(instance),
                               'libvirt.xml')) as f:
            xml = f.read()
        dom = self._find(name)
        if dom is not None:
            self._power_off(dom)
        self._start(xml, name)

    @staticmethod
    def _remove_rescue_files(inst_dir):
        for name in ('disk.rescue', 'kernel.rescue', 'ramdisk.rescue',
                     'rescue.xml'):
            path = os.path.join(inst_dir, name)
            if os.path.exists(path):
                os.unlink(path)

    # -- snapshot -------------------------------------------------------------

    def snapshot(self, context, instance, image_id):
        """Upload the root disk (flattened) into the queued image.

        A running guest is paused for the copy (QEMU flushes its disks when
        it stops the CPUs), so the image is crash-consistent.  The image
        record normally says what it holds already
        (compute.api.snapshot_image_meta: ami for kernel-booted guests,
        qcow2 for whole-disk ones): the disk is written in that format and
        the record's formats are left alone.  A record without a disk
        format gets the same choice, made here.
        """
        name = instance['name']
        dom = self._lookup(name)
        inst_dir = self._instance_dir(instance)
        disk = os.path.join(inst_dir, 'disk')
        image_service = image.get_default_image_service()
        record = image_service.show(context, image_id)
        meta = {}
        if not record.get('disk_format'):
            meta = self._snapshot_labels(instance)
        disk_format = record.get('disk_format') or meta['disk_format']
        out_format = SNAPSHOT_FORMATS.get(disk_format)
        if out_format is None:
            raise exception.Invalid(
                'cannot write a snapshot of %s as disk format %s (only %s)'
                % (name, disk_format, ', '.join(sorted(SNAPSHOT_FORMATS))))
        target = os.path.join(inst_dir, 'snapshot-%s.%s'
                              % (imagecache.cache_name(image_id), out_format))
        paused_here = False
        try:
            if dom.info()[0] == libvirt.VIR_DOMAIN_RUNNING:
                dom.suspend()
                paused_here = True
            try:
                images.convert_image(disk, 'qcow2', target, out_format,
                                     force_share=True)
            finally:
                if paused_here:
                    dom.resume()
            with open(target, 'rb') as data:
                image_service.update(context, image_id, meta, data=data)
        finally:
            if os.path.exists(target):
                os.unlink(target)
        LOG.info('snapshot of %s uploaded as image %s', name, image_id)

    @staticmethod
    def _snapshot_labels(instance):
        """Formats and properties of a snapshot whose record has none."""
        if instance.get('kernel_id'):
            meta = {'disk_format': 'ami', 'container_format': 'ami',
                    'properties': {'kernel_id': str(instance['kernel_id'])}}
            if instance.get('ramdisk_id'):
                meta['properties']['ramdisk_id'] = str(instance['ramdisk_id'])
            return meta
        return {'disk_format': 'qcow2', 'container_format': 'bare'}

    # -- resize (same host) ---------------------------------------------------

    def resize(self, instance, instance_type):
        """Give the guest ``instance_type``'s memory, vcpus and disks.

        The guest is shut down (ACPI first, at most
        libvirt_wait_soft_reboot_seconds, then powered off), the disks it
        will grow are copied aside with its definition (see
        nova.virt.libvirt.resize), the ephemeral disk grows to the type's
        local_gb (or is made), the root disk grows to minimum_root_size
        when that applies, the new definition is defined, and a guest that
        was running is started again.  Disks never shrink: a type with a
        smaller ephemeral disk is refused before anything changes.  A
        failure after the shutdown puts the old guest back and raises.

        The config drive keeps describing the instance as it was launched.
        """
        name = instance['name']
        dom = self._lookup(name)
        inst_dir = self._instance_dir(instance)
        saved_dir = resize_files.save_dir(inst_dir)
        if resize_files.read_manifest(inst_dir) is not None:
            raise self._state_error(name, 'has a resize waiting to be '
                                    'confirmed or reverted')
        if dom.hasManagedSaveImage(0):
            raise self._state_error(name, 'is suspended')
        xml_path = os.path.join(inst_dir, 'libvirt.xml')
        with open(xml_path) as f:
            old_xml = f.read()
        local_path = os.path.join(inst_dir, 'disk.local')
        root_path = os.path.join(inst_dir, 'disk')
        want_local = int(instance_type['local_gb'] or 0) * GIB
        has_local = os.path.exists(local_path)
        old_local = resize_files.qcow2_size(local_path) if has_local else 0
        if want_local < old_local:
            raise exception.Invalid(
                'cannot resize %s to %s: its ephemeral disk would shrink '
                'from %d to %d GiB' % (name, instance_type['name'],
                                       old_local // GIB, want_local // GIB))
        want_root = 0
        if FLAGS.minimum_root_size and \
                instance_type.get('name') != 'm1.tiny':
            want_root = FLAGS.minimum_root_size
        grow_root = want_root > resize_files.qcow2_size(root_path)
        new_xml = resize_files.resized_xml(
            old_xml, instance_type['memory_mb'], instance_type['vcpus'],
            local_disk=local_path if want_local and not has_local else None)

        if os.path.exists(saved_dir):
            shutil.rmtree(saved_dir)    # an interrupted start: nothing moved
        was_running = bool(dom.isActive())
        os.makedirs(saved_dir)
        try:
            if was_running:
                # A paused guest cannot answer the ACPI request.
                if dom.info()[0] == libvirt.VIR_DOMAIN_RUNNING:
                    self._soft_shutdown(
                        dom, FLAGS.libvirt_wait_soft_reboot_seconds)
                self._power_off(dom)
            saved = ['libvirt.xml']
            if grow_root:
                saved.append('disk')
            if has_local and want_local > old_local:
                saved.append('disk.local')
            for file_name in saved:
                shutil.copyfile(os.path.join(inst_dir, file_name),
                                os.path.join(saved_dir, file_name))
            created = ['disk.local'] if want_local and not has_local else []
            resize_files.write_manifest(inst_dir, was_running, saved,
                                        created)
        except Exception:
            shutil.rmtree(saved_dir, ignore_errors=True)
            if was_running:
                self._start_quietly(dom, name)
            raise
        try:
            if grow_root:
                images.resize_image(root_path, want_root)
            if created:
                images.create_blank_image(local_path, want_local)
            elif want_local > old_local:
                images.resize_image(local_path, want_local)
            self._write(xml_path, new_xml)
            dom = self._conn.defineXML(new_xml)
            if was_running:
                try:
                    dom.create()
                except libvirt.libvirtError as e:
                    raise SpawnError(name=name, reason=str(e)) from None
                self._wait_running(dom, name)
        except Exception as e:
            LOG.error('resizing %s failed (%s); putting the old guest back',
                      name, e)
            try:
                self._restore_resize(instance, inst_dir)
            except Exception:  # noqa: BLE001 - the first error is raised
                LOG.exception('could not put the old %s back', name)
            raise
        LOG.info('resized %s to %s (%s MiB, %s vcpus, %s GiB ephemeral)',
                 name, instance_type.get('name'), instance_type['memory_mb'],
                 instance_type['vcpus'], want_local // GIB)

    def confirm_resize(self, instance):
        """Keep the new size: drop what a revert needed (idempotent)."""
        saved_dir = resize_files.save_dir(self._instance_dir(instance))
        if os.path.exists(saved_dir):
            shutil.rmtree(saved_dir)

    def revert_resize(self, instance, instance_type):
        """Put back the definition and disks from before the resize.

        What the guest wrote to the grown disks since the resize is lost,
        as with a resize that moved the guest to another host.
        """
        inst_dir = self._instance_dir(instance)
        if resize_files.read_manifest(inst_dir) is None:
            raise self._state_error(instance['name'],
                                    'has no resize to revert')
        self._restore_resize(instance, inst_dir)
        LOG.info('reverted the resize of %s', instance['name'])

    def _restore_resize(self, instance, inst_dir):
        """Power off, put the saved files back, define and start the old
        guest (if it was running), then drop the saved copies."""
        name = instance['name']
        manifest = resize_files.read_manifest(inst_dir)
        saved_dir = resize_files.save_dir(inst_dir)
        dom = self._find(name)
        if dom is not None:
            self._power_off(dom)
        if manifest is None:
            return
        for file_name in manifest['created']:
            path = os.path.join(inst_dir, file_name)
            if os.path.exists(path):
                os.unlink(path)
        for file_name in manifest['saved']:
            saved = os.path.join(saved_dir, file_name)
            if os.path.exists(saved):     # else put back by an earlier try
                os.replace(saved, os.path.join(inst_dir, file_name))
        with open(os.path.join(inst_dir, 'libvirt.xml')) as f:
            dom = self._conn.defineXML(f.read())
        if manifest['was_running']:
            try:
                dom.create()
            except libvirt.libvirtError as e:
                raise SpawnError(name=name, reason=str(e)) from None
            self._wait_running(dom, name)
        shutil.rmtree(saved_dir)

    def _start_quietly(self, dom, name):
        try:
            if not dom.isActive():
                dom.create()
        except libvirt.libvirtError:
            LOG.exception('could not start %s again', name)

    # -- looking --------------------------------------------------------------

    def get_console_output(self, instance):
        name = instance['name']
        path = os.path.join(self._instance_dir(instance), 'console.log')
        if not os.path.exists(path):
            self._lookup(name)          # InstanceNotFound when truly gone
            return ''
        limit = max(1, FLAGS.console_log_max_bytes)
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            data = f.read(limit)
        return data.decode('utf-8', 'replace')

    def get_diagnostics(self, instance):
        dom = self._lookup(instance['name'])
        state, max_mem, mem, num_cpu, cpu_time = dom.info()
        diags = {'state': power_state.name(
                     LIBVIRT_POWER_STATE.get(state, power_state.NOSTATE)),
                 'cpu_time': cpu_time, 'num_cpu': num_cpu,
                 'max_memory_kib': max_mem, 'memory_kib': mem}
        if not dom.isActive():
            return diags
        xml = dom.XMLDesc(0)
        for target in config.disk_targets(xml):
            try:
                rd_req, rd_bytes, wr_req, wr_bytes, errs = dom.blockStats(
                    target)
            except libvirt.libvirtError:
                continue
            diags.update({'%s_read_req' % target: rd_req,
                          '%s_read' % target: rd_bytes,
                          '%s_write_req' % target: wr_req,
                          '%s_write' % target: wr_bytes,
                          '%s_errors' % target: errs})
        for tap in config.interface_targets(xml):
            try:
                stats = dom.interfaceStats(tap)
            except libvirt.libvirtError:
                continue
            for key, value in zip(('rx', 'rx_packets', 'rx_errors',
                                   'rx_drop', 'tx', 'tx_packets', 'tx_errors',
                                   'tx_drop'), stats):
                diags['%s_%s' % (tap, key)] = value
        try:
            for key, value in dom.memoryStats().items():
                diags['memory-%s' % key] = value
        except libvirt.libvirtError:
            pass
        return diags

    # -- not here (yet) -------------------------------------------------------

    def set_admin_password(self, instance, new_pass):
        raise NotImplementedError('the libvirt driver cannot set passwords '
                                  'in a running guest')

    def attach_volume(self, instance_name, connection_info, mountpoint):
        raise NotImplementedError()

    def detach_volume(self, instance_name, mountpoint):
        raise NotImplementedError()

    def plug_vifs(self, instance, network_info):
        """Bridges are the network service's (or, for FlatManager, the
        operator's); libvirt fails the boot clearly when one is missing."""
        return None

    # -- firewall -------------------------------------------------------------

    def refresh_security_group_rules(self, security_group_id):
        return self.firewall.refresh_security_group_rules(security_group_id)

    def refresh_security_group_members(self, security_group_id):
        return self.firewall.refresh_security_group_members(
            security_group_id)

    def ensure_filtering_rules_for_instance(self, instance, network_info):
        return self.firewall.prepare_instance_filter(instance, network_info)

    def unfilter_instance(self, instance, network_info):
        return self.firewall.unfilter_instance(instance, network_info)
