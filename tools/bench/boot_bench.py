#!/usr/bin/env python3
"""Boot benchmark: instances per second and request-to-running latency.

    tools/bench/boot_bench.py [--instances N] [--hosts H] [--batch B]
        [--timeout S] [--libvirt | --only-libvirt] [--libvirt-count N]
        [--libvirt-concurrency C] [--raw-boots R]

Fake driver (the default): starts its own control plane in a temporary
directory (nova-network, nova-scheduler and H compute hosts on the fake
driver, five per process, SQLite, a RabbitMQ virtual host of its own on
127.0.0.1; see tests/functional/compute/fake_cloud.py), creates N
instances through compute.api in batches of B and prints:

    fake: 200 instances on 4 hosts: 11.2 boots/s, request->running
          p50 6.10 s, p99 14.02 s

Real QEMU (--libvirt adds it after the fake run, --only-libvirt runs it
alone; see tools/bench/libvirt_boot.py): builds or reuses the test image,
starts a private libvirtd in a network namespace and a control plane with
one libvirt compute host (libvirt_type=qemu), boots --libvirt-count
(default 6, at most 12) AMI guests, at most --libvirt-concurrency (default
3) at a time, and boots the same kernel/ramdisk/disk --raw-boots times
(default 3) straight under qemu-system-x86_64 for comparison:

    libvirt: 6 guests, 3 at a time: 0.21 boots/s to running, 0.15 to the
             marker; request->running p50 .. p99 ..; request->marker ...
    raw qemu (same kernel, initrd, disks, TCG): boot to marker p50 ...

or 'libvirt: skipped (reason)' when the machine lacks something (root,
libvirtd, RabbitMQ...).

Every phase is bounded by --timeout; the processes, namespace, libvirtd,
guests, virtual host and directories are removed at the end, also after a
failure, Ctrl-C or SIGTERM.
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

_here = os.path.dirname(os.path.abspath(__file__))
_top = os.path.dirname(os.path.dirname(_here))
sys.path.insert(0, _top)
sys.path.insert(0, _here)

MAX_INSTANCES = 2000


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


def report_libvirt(result):
    r = result
    print('libvirt: %d guests, %d at a time: %.2f boots/s to running, %.2f '
          'boots/s to the marker; request->running p50 %.2f s, p99 %.2f s; '
          'request->marker p50 %.2f s, p99 %.2f s'
          % (r['count'], r['concurrency'], r['count'] / r['span_running'],
             r['count'] / r['span_marker'], percentile(r['running'], 0.5),
             percentile(r['running'], 0.99), percentile(r['marker'], 0.5),
             percentile(r['marker'], 0.99)))
    print('raw qemu (same kernel, initrd, disks and NIC, TCG, no nova, no '
          'libvirt): start->marker %s; p50 %.2f s'
          % (', '.join('%.2f s' % t for t in r['raw']),
             percentile(r['raw'], 0.5)))
    sys.stdout.flush()


def run_libvirt(args):
    import libvirt_boot
    try:
        result = libvirt_boot.run(args)
    except libvirt_boot.Unavailable as e:
        print('libvirt: skipped (%s)' % e)
        return 0
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001 - a figure or a reason, never both
        print('libvirt: failed (%s)' % e)
        return 1
    report_libvirt(result)
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--instances', type=int, default=200)
    parser.add_argument('--hosts', type=int, default=4)
    parser.add_argument('--batch', type=int, default=50)
    parser.add_argument('--timeout', type=int, default=600)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--libvirt', action='store_true',
                      help='after the fake run, boot real QEMU guests')
    mode.add_argument('--only-libvirt', action='store_true',
                      help='boot real QEMU guests only')
    parser.add_argument('--libvirt-count', type=int, default=6)
    parser.add_argument('--libvirt-concurrency', type=int, default=3)
    parser.add_argument('--raw-boots', type=int, default=3)
    args = parser.parse_args(argv)
    if not 1 <= args.instances <= MAX_INSTANCES:
        parser.error('--instances must be 1..%d' % MAX_INSTANCES)
    if not 1 <= args.hosts <= 100:
        parser.error('--hosts must be 1..100')
    if not 1 <= args.timeout <= 3600:
        parser.error('--timeout must be 1..3600 seconds')
    args.batch = max(1, args.batch)
    # kill (SIGTERM) cleans up like Ctrl-C: every phase undoes itself in a
    # finally block.
    signal.signal(signal.SIGTERM, _interrupt)
    status = 0
    try:
        if not args.only_libvirt:
            run_fake(args)
        if args.libvirt or args.only_libvirt:
            status = run_libvirt(args)
    except KeyboardInterrupt:
        print('interrupted; everything started was stopped')
        return 130
    return status


if __name__ == '__main__':
    sys.exit(main())
