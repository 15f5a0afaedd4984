#!/usr/bin/env python3
"""Boot benchmark: instances per second and request-to-running latency.

    tools/bench/boot_bench.py [--instances N] [--hosts H] [--batch B]
        [--timeout S] [--libvirt [--libvirt-image PATH] [--libvirt-count N]]

Starts its own control plane in a temporary directory (nova-network,
nova-scheduler and H compute hosts on the fake driver, five per process,
SQLite, a RabbitMQ virtual host of its own on 127.0.0.1; see
tests/functional/compute/fake_cloud.py), creates N instances through
compute.api in batches of B and prints, one line each driver:

    fake: 200 instances on 4 hosts: 11.2 boots/s, request->running
          p50 6.10 s, p99 14.02 s

With --libvirt it also boots --libvirt-count (at most 5) real QEMU guests of
the whole-disk image --libvirt-image on one libvirt compute host (the
libvirt driver, libvirt_type=qemu), or prints 'libvirt: skipped (reason)'
when the driver, libvirtd or the image is missing.

Every phase is bounded by --timeout; the processes, the virtual host and
the directory are removed at the end, also after a failure or Ctrl-C.
Needs the machine's RabbitMQ (rabbitmqctl for the virtual host).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

_top = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, _top)

MAX_INSTANCES = 2000
MAX_LIBVIRT = 5


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float('nan')
    index = min(len(ordered) - 1, max(0, int(round(fraction *
                                                   (len(ordered) - 1)))))
    return ordered[index]


def boot(cloud, count, batch, timeout, image_id):
    """Create ``count`` instances; return (boots/s, latencies in s)."""
    from nova import context
    from nova import flags
    from nova.compute import api as compute_api
    flags.FLAGS.quota_instances = count
    flags.FLAGS.quota_cores = count
    api = compute_api.API()
    ctx = context.RequestContext('bench', 'bench', is_admin=False)
    started = time.monotonic()
    made = 0
    while made < count:
        n = min(batch, count - made)
        made += len(api.create(ctx, 'm1.tiny', image_id, min_count=n,
                               max_count=n))

    def done():
        rows = cloud.instances()
        failed = [r for r in rows if r['state_description'] == 'error']
        if failed:
            raise RuntimeError('%d instance(s) failed, e.g. %s'
                               % (len(failed), failed[0]['id']))
        return all(r['state_description'] == 'running' for r in rows) \
            and len(rows) == count
    remaining = timeout - (time.monotonic() - started)
    cloud.wait(done, max(remaining, 1), '%d instances to run' % count,
               interval=2)
    rows = cloud.instances()
    latencies = [(r['launched_at'] - r['created_at']).total_seconds()
                 for r in rows]
    span = (max(r['launched_at'] for r in rows) -
            min(r['created_at'] for r in rows)).total_seconds()
    return count / span if span > 0 else float('inf'), latencies


def report(label, count, hosts, rate, latencies):
    print('%s: %d instances on %d host(s): %.1f boots/s, request->running '
          'p50 %.2f s, p99 %.2f s' % (label, count, hosts, rate,
                                       percentile(latencies, 0.5),
                                       percentile(latencies, 0.99)))
    sys.stdout.flush()


def run_fake(args):
    from tests.functional.compute import fake_cloud
    from tests.functional.compute.conftest import make_images
    workdir = tempfile.mkdtemp(prefix='boot-bench-')
    cloud = fake_cloud.FakeCloud(
        workdir, compute_hosts=args.hosts, hosts_per_process=5,
        network='10.80.0.0/%d' % (32 - max(8, (args.instances + 8)
                                          .bit_length())),
        flags_extra={'rpc_response_timeout': args.timeout})
    try:
        cloud.start()
        images = make_images()
        rate, latencies = boot(cloud, args.instances, args.batch,
                               args.timeout, images['raw'])
        report('fake', args.instances, args.hosts, rate, latencies)
    finally:
        cloud.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _libvirt_unavailable(args):
    try:
        import libvirt
        from nova.virt.libvirt import connection  # noqa: F401
    except ImportError as e:
        return 'the libvirt driver is not available (%s)' % e
    if not args.libvirt_image or not os.path.isfile(args.libvirt_image):
        return 'no --libvirt-image disk file given'
    try:
        libvirt.open('qemu:///system').close()
    except libvirt.libvirtError as e:
        return 'libvirtd is not answering (%s)' % str(e).splitlines()[0]
    return None


def run_libvirt(args):
    reason = _libvirt_unavailable(args)
    if reason:
        print('libvirt: skipped (%s)' % reason)
        return
    from nova import context
    from nova.image import local
    from tests.functional.compute import fake_cloud
    count = min(args.libvirt_count, MAX_LIBVIRT)
    workdir = tempfile.mkdtemp(prefix='boot-bench-libvirt-')
    cloud = fake_cloud.FakeCloud(
        workdir, compute_hosts=1, hosts_per_process=1,
        network='10.81.0.0/24',
        flags_extra={'connection_type': 'libvirt', 'libvirt_type': 'qemu',
                     'instances_path': os.path.join(workdir, 'instances'),
                     'rpc_response_timeout': args.timeout})
    try:
        cloud.configure_this_process()
        fmt = 'qcow2' if args.libvirt_image.endswith('qcow2') else 'raw'
        with open(args.libvirt_image, 'rb') as f:
            image_id = local.LocalImageService().create(
                context.get_admin_context(),
                {'name': 'bench', 'disk_format': fmt,
                 'container_format': 'bare', 'is_public': True}, data=f)['id']
        cloud.start()
        rate, latencies = boot(cloud, count, count, args.timeout,
                               str(image_id))
        report('libvirt', count, 1, rate, latencies)
    except Exception as e:  # noqa: BLE001 - a figure or a reason, never both
        print('libvirt: failed (%s)' % e)
    finally:
        from nova import context as ctx_module
        from nova.compute import api as compute_api
        try:
            api = compute_api.API()
            admin = ctx_module.get_admin_context()
            for row in cloud.instances():
                api.delete(admin, row['id'])
            cloud.wait(lambda: not cloud.instances(), 120,
                       'guests to be removed')
        except Exception:  # noqa: BLE001
            pass
        cloud.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--instances', type=int, default=200)
    parser.add_argument('--hosts', type=int, default=4)
    parser.add_argument('--batch', type=int, default=50)
    parser.add_argument('--timeout', type=int, default=600)
    parser.add_argument('--libvirt', action='store_true')
    parser.add_argument('--libvirt-image')
    parser.add_argument('--libvirt-count', type=int, default=3)
    args = parser.parse_args(argv)
    if not 1 <= args.instances <= MAX_INSTANCES:
        parser.error('--instances must be 1..%d' % MAX_INSTANCES)
    if not 1 <= args.hosts <= 100:
        parser.error('--hosts must be 1..100')
    args.batch = max(1, args.batch)
    run_fake(args)
    if args.libvirt:
        run_libvirt(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
