"""The real-QEMU half of tools/bench/boot_bench.py.

``run(args)`` makes everything it needs and removes it again:

1. the test image (tools/build_test_image.sh into NOVA_TEST_IMAGE_DIR,
   default /var/tmp/nova-test-image; reused when up to date);
2. a network namespace with a private libvirtd (tests/integration/
   libvirt_env.LibvirtEnv: bridge br-it, nothing shared with the host's
   libvirt);
3. nova-network (FlatManager, injected addresses on the namespace's
   bridge), nova-scheduler and one nova-compute on the libvirt driver
   (libvirt_type=qemu) over RabbitMQ, images in a LocalImageService
   (tests/functional/compute/fake_cloud.FakeCloud);
4. N guests of the AMI form (kernel + ramdisk + root disk) created through
   compute.api, at most C of them booting at a time;
5. the same kernel, ramdisk, root disk, config drive and NIC booted straight
   by qemu-system-x86_64 (TCG) without nova or libvirt, a few times in a row:
   the guest's own boot time, the floor nova's figures compare against.

Times: request -> running is the compute.api call to the instance's
``launched_at`` (the driver saw the domain running); request -> marker is
the call to the moment NOVA-TEST-IMAGE-BOOTED appears in the guest's
console.log (polled every 0.2 s).  The guest's own boot includes its
network set-up as nova's guests do it: DHCP tried and given up (about 2 s),
the injected static address, the metadata address tried (2 s); the raw
boots get the same config drive and a NIC whose frames go to a UDP socket
on 127.0.0.1 where nobody listens, so they wait the same way.

Clean-up runs in ``finally``: guests deleted through the API (bounded
wait), the control plane's processes stopped by PID, the namespace, its
libvirtd and any QEMU left destroyed, raw QEMU processes killed, temp
dirs removed.  boot_bench.py turns SIGTERM into KeyboardInterrupt so
Ctrl-C and kill both get here.
"""

import datetime
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
IMAGE_DIR = os.environ.get('NOVA_TEST_IMAGE_DIR', '/var/tmp/nova-test-image')
MARKER = b'NOVA-TEST-IMAGE-BOOTED'
POLL = 0.2
BENCH_TYPE = {'name': 'm1.bench', 'memory_mb': 160, 'vcpus': 1,
              'local_gb': 0}
SUBNET = '10.83.0'
MAX_GUESTS = 12
MAX_RAW_BOOTS = 5


class Unavailable(Exception):
    """Something the measurement needs is missing: the reason."""


# -- what must be there ------------------------------------------------------

def check_prerequisites():
    if os.geteuid() != 0:
        raise Unavailable('needs root (network namespace, libvirtd)')
    for tool in ('ip', 'libvirtd', 'qemu-system-x86_64', 'qemu-img',
                 'genisoimage', 'rabbitmqctl'):
        if shutil.which(tool) is None:
            raise Unavailable('%s is not installed (tools/install_deps.sh)'
                              % tool)
    try:
        import libvirt  # noqa: F401
    except ImportError as e:
        raise Unavailable('libvirt-python is missing (%s)' % e) from None
    try:
        socket.create_connection(('127.0.0.1', 5672), timeout=2).close()
    except OSError as e:
        raise Unavailable('RabbitMQ is not answering on 127.0.0.1:5672 '
                          '(%s)' % e) from None


def build_image(timeout):
    """Paths of the test image files, built (or found fresh) first."""
    proc = subprocess.run([os.path.join(ROOT, 'tools',
                                        'build_test_image.sh'), IMAGE_DIR],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise Unavailable('tools/build_test_image.sh failed: %s'
                          % (proc.stderr.strip()[-500:] or
                             proc.stdout.strip()[-500:]))
    return {'aki': os.path.join(IMAGE_DIR, 'aki-vmlinuz'),
            'ari': os.path.join(IMAGE_DIR, 'ari-initrd.img'),
            'ami': os.path.join(IMAGE_DIR, 'ami-root.img'),
            'disk': os.path.join(IMAGE_DIR, 'disk.qcow2')}


# -- guests through nova -----------------------------------------------------

def _now():
    return datetime.datetime.utcnow()


def boot_through_nova(cloud, image_id, count, concurrency, timeout,
                      instances_path):
    """Create ``count`` instances, at most ``concurrency`` booting at once.

    Returns {'running': [s], 'marker': [s], 'span_running': s,
    'span_marker': s}.
    """
    from nova import context
    from nova.compute import api as compute_api
    from nova.db import api as db
    api = compute_api.API()
    ctx = context.RequestContext('bench', 'bench', is_admin=False)
    admin = context.get_admin_context()
    requested = {}       # id -> (utc datetime, monotonic) of the request
    marker_at = {}       # id -> monotonic when the marker was seen
    running_at = {}      # id -> seconds request -> launched_at
    names = {}
    deadline = time.monotonic() + timeout
    first = None
    while len(marker_at) < count:
        if time.monotonic() > deadline:
            raise RuntimeError('timed out after %ss: %d of %d guests reached '
                               'the marker' % (timeout, len(marker_at),
                                               count))
        cloud.check_alive()
        booting = len(requested) - len(marker_at)
        while len(requested) < count and booting < concurrency:
            t_utc, t_mono = _now(), time.monotonic()
            first = first if first is not None else t_mono
            row = api.create(ctx, BENCH_TYPE['name'], image_id)[0]
            requested[row['id']] = (t_utc, t_mono)
            names[row['id']] = row['name']
            booting += 1
        for instance_id, (t_utc, t_mono) in requested.items():
            if instance_id in marker_at:
                continue
            row = db.instance_get(admin, instance_id)
            if row['state_description'] == 'error':
                from nova.compute import faults
                fault = faults.last_fault(admin, instance_id)
                raise RuntimeError('instance %s failed: %s'
                                   % (instance_id, fault and
                                      fault.get('message')))
            if instance_id not in running_at and row['launched_at']:
                running_at[instance_id] = (row['launched_at'] -
                                           t_utc).total_seconds()
            log = os.path.join(instances_path, names[instance_id],
                               'console.log')
            try:
                with open(log, 'rb') as f:
                    seen = MARKER in f.read()
            except OSError:
                seen = False
            if seen:
                marker_at[instance_id] = time.monotonic()
                running_at.setdefault(instance_id, float('nan'))
        time.sleep(POLL)
    marker = [marker_at[i] - requested[i][1] for i in requested]
    last_running = max(requested[i][1] + running_at[i] for i in requested)
    return {'running': list(running_at.values()), 'marker': marker,
            'span_running': last_running - first,
            'span_marker': max(marker_at.values()) - first}


def delete_all(cloud, timeout):
    """Delete every instance through the API; wait (bounded) until gone."""
    from nova import context
    from nova.compute import api as compute_api
    api = compute_api.API()
    admin = context.get_admin_context()
    for row in cloud.instances():
        try:
            api.delete(admin, row['id'])
        except Exception as e:  # noqa: BLE001 - delete the others anyway
            print('  could not delete instance %s: %s' % (row['id'], e))
    deadline = time.monotonic() + timeout
    while cloud.instances() and time.monotonic() < deadline:
        time.sleep(1)


# -- the same guest without nova ---------------------------------------------

def _free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def make_config_drive(path):
    """A config drive like nova's for a guest with an injected address."""
    from nova.virt.libvirt import configdrive
    instance = {'id': 0xbe0c, 'uuid': '00000000-0000-4000-8000-00000000be0c',
                'name': 'instance-0000be0c', 'hostname': 'raw-boot',
                'image_id': '3', 'kernel_id': '1', 'ramdisk_id': '2',
                'project_id': 'bench', 'launch_index': 0, 'metadata': {},
                'availability_zone': 'nova', 'reservation_id': 'r-bench',
                'instance_type': BENCH_TYPE['name']}
    network_info = [{'bridge': 'none', 'ip': SUBNET + '.250',
                     'netmask': '255.255.255.0', 'gateway': SUBNET + '.1',
                     'broadcast': SUBNET + '.255', 'cidr': SUBNET + '.0/24',
                     'dns': [], 'mac': '02:16:3e:00:be:0c',
                     'dhcp_server': SUBNET + '.1', 'injected': True,
                     'vlan': None, 'label': 'bench'}]
    return configdrive.build(instance, network_info, path)


def raw_boot(files, config_drive, timeout):
    """Seconds from starting qemu-system-x86_64 to the marker on its serial
    port: the AMI kernel, ramdisk and root disk (read-only snapshot), the
    config drive and a NIC to nowhere on loopback, TCG, 160 MiB."""
    argv = ['qemu-system-x86_64', '-accel', 'tcg', '-m',
            str(BENCH_TYPE['memory_mb']), '-smp', '1', '-nographic',
            '-nodefaults', '-no-user-config', '-serial', 'stdio',
            '-monitor', 'none', '-no-reboot',
            '-kernel', files['aki'], '-initrd', files['ari'],
            '-append', 'root=/dev/vda console=ttyS0',
            '-drive', 'file=%s,format=raw,if=virtio,snapshot=on'
            % files['ami'],
            '-drive', 'file=%s,format=raw,if=virtio,readonly=on'
            % config_drive,
            '-netdev', 'socket,id=n0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d'
            % (_free_udp_port(), _free_udp_port()),
            '-device', 'virtio-net-pci,netdev=n0,mac=02:16:3e:00:be:0c']
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = b''
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while True:
                left = started + timeout - time.monotonic()
                if left <= 0:
                    raise RuntimeError('raw boot: no marker within %ss; '
                                       'output ends: %r'
                                       % (timeout, seen[-500:]))
                if not sel.select(min(left, 1.0)):
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    raise RuntimeError('raw boot: qemu exited (%s): %r'
                                       % (proc.wait(5), seen[-500:]))
                seen += chunk
                if MARKER in seen:
                    return time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        proc.stdout.close()


# -- the whole measurement ---------------------------------------------------

def run(args):
    """Measure; return a dict of figures (see boot_bench.report_libvirt).

    Raises Unavailable when the machine lacks something."""
    check_prerequisites()
    from tests.integration import libvirt_env
    files = build_image(args.timeout)
    count = max(1, min(args.libvirt_count, MAX_GUESTS))
    concurrency = max(1, min(args.libvirt_concurrency, count))
    workdir = tempfile.mkdtemp(prefix='boot-bench-libvirt-')
    env = libvirt_env.LibvirtEnv(subnet_prefix=SUBNET)
    cloud = None
    result = {'count': count, 'concurrency': concurrency}
    try:
        # The floor first, while the machine is quiet.
        drive = make_config_drive(os.path.join(workdir, 'raw-config.iso'))
        result['raw'] = []
        for _ in range(max(1, min(args.raw_boots, MAX_RAW_BOOTS))):
            result['raw'].append(raw_boot(files, drive, args.timeout))
            _progress('raw qemu boot: %.2f s' % result['raw'][-1])
        env.start()
        _progress('libvirtd up in namespace %s' % env.ns)
        cloud = _start_cloud(workdir, env, args.timeout)
        image_id = _upload(files)
        _progress('control plane up; booting %d guests' % count)
        instances = os.path.join(workdir, 'instances')
        result.update(boot_through_nova(cloud, image_id, count, concurrency,
                                        args.timeout, instances))
        return result
    finally:
        steps = []
        if cloud is not None:
            steps += [('delete the guests',
                       lambda: delete_all(cloud, min(args.timeout, 300)),
                       False),
                      ('stop the control plane', cloud.stop, True)]
        steps += [('stop libvirtd and the namespace', env.stop, True),
                  ('remove %s' % workdir,
                   lambda: shutil.rmtree(workdir, ignore_errors=True), True)]
        _clean_up(steps)


def _clean_up(steps):
    """Run every step even when one fails or a second Ctrl-C/SIGTERM hits
    it; an interrupted step marked ``again`` is run once more (env.stop
    destroys whatever guests the API did not delete).  A KeyboardInterrupt
    is raised again once all steps ran."""
    interrupted = None
    for what, step, again in steps:
        try:
            step()
        except KeyboardInterrupt as e:
            interrupted = interrupted or e
            _progress('interrupted while trying to %s; going on' % what)
            if not again:
                continue
            try:
                step()
            except BaseException as failure:  # noqa: BLE001 - keep going
                _progress('could not %s: %s' % (what, failure))
        except Exception as e:  # noqa: BLE001 - keep cleaning up
            _progress('could not %s: %s' % (what, e))
    if interrupted is not None:
        raise interrupted


def _progress(text):
    sys.stderr.write('  [libvirt] %s\n' % text)
    sys.stderr.flush()


def _start_cloud(workdir, env, timeout):
    from nova import flags
    from nova import quota  # noqa: F401 - defines the quota flags
    from nova.compute import instance_types
    from tests.functional.compute import fake_cloud
    instances = os.path.join(workdir, 'instances')
    cloud = fake_cloud.FakeCloud(
        workdir, compute_hosts=1, hosts_per_process=1,
        network=env.prefix + '.0/24',
        scheduler_driver='nova.scheduler.chance.ChanceScheduler',
        flags_extra={
            'connection_type': 'libvirt', 'libvirt_type': 'qemu',
            'libvirt_uri': env.uri, 'instances_path': instances,
            'libvirt_boot_timeout': timeout,
            'rpc_response_timeout': timeout,
            # nova-compute runs outside the namespace: its iptables
            # firewall would filter the host, not the guests.
            'firewall_driver':
                'nova.virt.libvirt.firewall.NoopFirewallDriver',
            'flat_network_bridge': env.bridge, 'flat_injected': True})
    try:
        cloud.configure_this_process()
        from nova.network import manager  # noqa: F401 - its flat_* flags
        flags.FLAGS.flat_network_bridge = env.bridge
        flags.FLAGS.flat_injected = True
        cloud.start(timeout=timeout)
        instance_types.create(BENCH_TYPE['name'], BENCH_TYPE['memory_mb'],
                              BENCH_TYPE['vcpus'], BENCH_TYPE['local_gb'],
                              flavorid=990)
        flags.FLAGS.quota_instances = MAX_GUESTS
        flags.FLAGS.quota_cores = MAX_GUESTS
    except BaseException:
        cloud.stop()
        raise
    return cloud


def _upload(files):
    """The AMI triple into the cloud's LocalImageService; the AMI's id."""
    from nova import context
    from nova.image import local
    from tests.integration import guests
    ids = guests.upload_test_images(local.LocalImageService(),
                                    context.get_admin_context(), files)
    return ids['ami']
