#!/usr/bin/env python3
"""CPU time per Swift request, per server kind, on a throwaway cluster.

    tools/bench/swift_cpu_profile.py [--ops N] [--concurrency C]
        [--workers W] [--log-level LEVEL] [--phases put,get,head,delete]
        [--py-spy KIND --py-spy-dir DIR] [--repeat R]

Wall-clock rates swing when the machine is shared; the CPU a request costs
does not (much).  This script starts the functional-test cluster
(tests/functional/swift/cluster.py: a proxy and 4 storage nodes, 3
replicas, every server its own process on loopback) with the servers set
up as an operator would run them (log level INFO by default), and for each
phase of ``--ops`` 4 KiB object requests (or ``--big-ops`` 64 MiB PUTs
or GETs, one at a time: phases bigput, bigget) it reads utime+stime of every
server process (and its forked workers) from /proc/<pid>/stat before and
after.  It prints, per phase, the milliseconds of CPU per request spent in
the proxy, the account, container and object servers (summed over the
nodes) and in total, how much of that total was kernel time (stime), plus
the wall-clock rate as a secondary figure.

``--py-spy object`` (needs ``pip install py-spy`` in the venv; not a project
dependency) records a py-spy profile of every object server during the
phases into ``--py-spy-dir`` (one speedscope file per process); CPU figures
taken at the same time include py-spy's sampling overhead.

``--cprofile object`` runs every object server under cProfile with a
CPU-time clock (tools/bench/_cprofile_server.py), profiling only during
the phases, and prints the functions with the most CPU time of all of
them together (use one phase at a time for a clean picture).

Everything (processes, temp dir) is removed at the end, also on Ctrl-C.
Every loop is bounded in count and time.

Figures (2-core VM shared with ~8 busy agents, load average 9-13; "before"
is commit 5a65311, run with this same script from a copy of that tree;
ms of CPU per request summed over all servers, two interleaved runs of
500 requests, concurrency 8, workers 0, log level INFO):

    phase    before (ms CPU)   after (ms CPU)   ops/s before -> after
    PUT      27.3 / 37.7       15.1 / 19.5      66 / 48  -> 111 / 71
    GET       2.82 / 2.94       2.22 / 2.58     556 / 530 -> 683 / 441
    HEAD      2.72 / 3.18       1.70 / 1.90     571 / 483 -> 951 / 601
    DELETE   25.7 / 35.5       12.9 / 14.0       71 / 50  -> 134 / 93

  per server kind, PUT: proxy 4.0 -> 2.5-2.8, container servers
  12.5-19.3 -> 3.5-3.9, object servers 10.8-14.3 -> 9.1-12.8 (about 40%
  of what remains is kernel time: file creation, fsync, mkdir, sockets).

What each change bought (ms CPU per 4 KiB PUT unless said otherwise):

- SQLite connections kept open per process (swift.common.db
  ConnectionCache): container servers 18 -> 6.5.
- keep-alive connections proxy -> storage nodes and object -> container
  (swift.common.bufferedhttp.POOL): total 21-26 -> 14-17 (PUT), GET
  3.3 -> 2.5, HEAD 3.4 -> 2.1, DELETE 20 -> 13-16.
- header blocks parsed without the email package (swift.common.
  fast_headers): 54 -> 18 us per block, 13 blocks per PUT, 3 per GET.
- hashes.json no longer rewritten per write (append-only hashes.invalid):
  600 -> 53 us per object write once a replicator pass has run.
- request headers written in one checked pass, metadata checks on the
  environ, container rows written only-if-live in one transaction, no
  webob templated bodies for container object rows, rename before mkdir:
  together about 1-2 ms per PUT.
- 10,000-object container listing, container server CPU: JSON 153 -> 66
  ms, plain 106 -> 14 ms.
- 64 MiB PUT: fdatasync every 512 MiB instead of every MiB (mb_per_sync):
  bigput 48-95 -> 123-126 MB/s at the same CPU (about 850 ms per object
  over the 3 replicas); bigget about 80 -> 185-194 MB/s.
- workers = 2 per storage server (4 nodes on 2 cores) was measured worse:
  PUT 19.7 -> 21.0 ms, GET 2.3 -> 4.3 ms CPU, fewer ops/s; the sample
  configs keep workers = 1.

tools/bench/swift_bench.py through the same kind of cluster (--swift-bench
"--duration 10 --concurrency 16", wall clock, load average 10-13):

    before: PUT 28.1/s  GET 184/s  HEAD 245/s  DELETE 47/s
            LIST 0.216 s (10,000 zero-byte objects made in 226 s)
            64 MiB PUT 76 MB/s, GET 120 MB/s
    after:  PUT 69.8/s  GET 513/s  HEAD 560/s  DELETE 85/s
            LIST 0.110 s (made in 93 s)
            64 MiB PUT 96.5 MB/s, GET 156 MB/s
    (single 64 MiB transfers swing with the load; see bigput/bigget)
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

_top = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
if os.path.exists(os.path.join(_top, 'swift', '__init__.py')):
    sys.path.insert(0, _top)

from swift.cli.swift import ClientError, Connection  # noqa: E402
from tests.functional.swift.cluster import SwiftCluster  # noqa: E402

SMALL = 4096
BIG_BLOCK = 1024 * 1024
BIG_SIZE = 64 * BIG_BLOCK
PHASES = ('put', 'get', 'head', 'delete', 'bigput', 'bigget')
KINDS = ('proxy', 'account', 'container', 'object')
TICK = os.sysconf('SC_CLK_TCK')
PHASE_LIMIT = 600  # seconds any phase may take


def proc_cpu(pid, kernel_only=False):
    """utime + stime (or stime alone) of ``pid`` in seconds (0 when it is
    gone)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    # fields[0] is the state (field 3 of stat): utime/stime are 14 and 15
    if kernel_only:
        return int(fields[12]) / TICK
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid):
    """Direct children of ``pid`` (forked workers)."""
    found = []
    try:
        tasks = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return found
    for task in tasks:
        try:
            with open('/proc/%d/task/%s/children' % (pid, task)) as f:
                found.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def server_pids(cluster):
    """{kind: [pid, ...]} of every server process and its workers."""
    pids = {kind: [] for kind in KINDS}
    pids['proxy'].append(cluster.proxy.pid)
    for node in cluster.nodes:
        for kind, server in node.servers.items():
            pids[kind].append(server.pid)
    for kind, group in pids.items():
        group.extend([child for pid in group for child in children(pid)])
    return pids


def snapshot(pids):
    cpu = {kind: sum(proc_cpu(pid) for pid in group)
           for kind, group in pids.items()}
    cpu['kernel'] = sum(proc_cpu(pid, True) for group in pids.values()
                        for pid in group)
    return cpu


def run_ops(op, count, threads):
    """op(i) for i in range(count) over ``threads`` threads; (ok, errors,
    first error, seconds)."""
    lock = threading.Lock()
    state = {'next': 0, 'ok': 0, 'errors': 0, 'first': None}
    deadline = time.monotonic() + PHASE_LIMIT

    def worker():
        while time.monotonic() < deadline:
            with lock:
                i = state['next']
                if i >= count:
                    return
                state['next'] += 1
            try:
                op(i)
                with lock:
                    state['ok'] += 1
            except (ClientError, OSError) as e:
                with lock:
                    state['errors'] += 1
                    state['first'] = state['first'] or e

    start = time.monotonic()
    workers = [threading.Thread(target=worker, daemon=True)
               for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(PHASE_LIMIT + 60)
    return state['ok'], state['errors'], state['first'], \
        time.monotonic() - start


def phases(conn, container, body):
    def put(i):
        conn.request('PUT', container, 'o%08d' % i, body=body,
                     headers={'Content-Length': str(SMALL)})

    def get(i):
        resp = conn.request('GET', container, 'o%08d' % i)
        if len(resp.body) != SMALL:
            raise ClientError('short GET: %d bytes' % len(resp.body))

    def head(i):
        conn.request('HEAD', container, 'o%08d' % i)

    def delete(i):
        conn.request('DELETE', container, 'o%08d' % i)

    big = os.urandom(BIG_BLOCK)

    def bigput(i):
        conn.request('PUT', container, 'big%04d' % i,
                     body=lambda: BlockReader(big, BIG_SIZE),
                     headers={'Content-Length': str(BIG_SIZE)})

    def bigget(i):
        resp = conn.request('GET', container, 'big%04d' % i, stream=True)
        got = 0
        try:
            for _ in range(BIG_SIZE // 65536 + 2):
                chunk = resp.read(65536)
                if not chunk:
                    break
                got += len(chunk)
        finally:
            resp.close()
            conn._drop_http()
        if got != BIG_SIZE:
            raise ClientError('short big GET: %d bytes' % got)

    return {'put': put, 'get': get, 'head': head, 'delete': delete,
            'bigput': bigput, 'bigget': bigget}


class BlockReader:
    """``size`` bytes of a repeated block, read in pieces."""

    def __init__(self, block, size):
        self.block, self.left = block, size

    def read(self, n=-1):
        n = len(self.block) if n is None or n < 0 else min(n, len(self.block))
        n = min(n, self.left)
        self.left -= n
        return self.block[:n]


def start_py_spy(cluster, kind, out_dir, tag):
    procs = []
    for pid in server_pids(cluster)[kind]:
        path = os.path.join(out_dir, '%s-%s-%d.speedscope.json'
                            % (tag, kind, pid))
        procs.append(subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), 'py-spy'),
             'record', '--pid', str(pid), '--format', 'speedscope',
             '--rate', '200', '--output', path, '--nonblocking'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
    time.sleep(1.0)  # let py-spy attach before the load starts
    return procs


def run_swift_bench(cluster, bench_args):
    import shlex
    bench = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         'swift_bench.py')
    pids = server_pids(cluster)
    before = snapshot(pids)
    proc = subprocess.run(
        [sys.executable, bench, cluster.auth_url, 'test:tester', 'testing']
        + shlex.split(bench_args), stdin=subprocess.DEVNULL,
        timeout=PHASE_LIMIT * 6)
    after = snapshot(pids)
    print('server CPU for the whole run: %s' % ', '.join(
        '%s %.1fs' % (kind, after[kind] - before[kind])
        for kind in KINDS + ('kernel',)), flush=True)
    return proc.returncode


def servers_of(cluster, kind):
    if kind == 'proxy':
        return [cluster.proxy]
    return [node.servers[kind] for node in cluster.nodes]


def signal_all(pids, signum):
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def print_cprofile(prefix, top):
    import glob
    import pstats
    files = glob.glob(prefix + '.*')
    if not files:
        print('no cProfile output (did the servers exit through SIGTERM?)')
        return
    stats = pstats.Stats(*files, stream=sys.stdout)
    print('-- cProfile, %d processes, CPU seconds' % len(files))
    stats.sort_stats('tottime').print_stats(top)
    stats.sort_stats('cumulative').print_stats(top)


def paths_of(procs):
    return [proc.args[proc.args.index('--output') + 1] for proc in procs]


def stop_py_spy(procs):
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def summarize_profiles(paths, top=25):
    """Print the functions with the most samples (self and inclusive)
    over py-spy speedscope files."""
    import collections
    import json
    self_count = collections.Counter()
    incl_count = collections.Counter()
    total = 0
    for path in paths:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        frames = data['shared']['frames']
        names = ['%s (%s:%s)' % (fr['name'], os.path.basename(
            fr.get('file', '?')), fr.get('line', '?')) for fr in frames]
        for profile in data['profiles']:
            for stack, weight in zip(profile['samples'], profile['weights']):
                total += weight
                if stack:
                    self_count[names[stack[-1]]] += weight
                for name in set(names[i] for i in stack):
                    incl_count[name] += weight
    if not total:
        print('no samples')
        return
    for title, counter in (('self', self_count), ('inclusive', incl_count)):
        print('-- top %d by %s samples (of %d)' % (top, title, total))
        for name, count in counter.most_common(top):
            print('%5.1f%%  %s' % (100.0 * count / total, name))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--ops', type=int, default=500,
                        help='requests per phase (default 500)')
    parser.add_argument('--concurrency', type=int, default=8,
                        help='client threads (default 8)')
    parser.add_argument('--workers', type=int, default=0,
                        help='workers per storage server (default 0: serve '
                        'in the launched process)')
    parser.add_argument('--proxy-workers', type=int, default=0,
                        help='proxy workers (default 0; tokens are per '
                        'process without memcached, so keep it <= 1)')
    parser.add_argument('--big-ops', type=int, default=3,
                        help='64 MiB objects in the bigput/bigget phases, '
                        'one at a time (default 3)')
    parser.add_argument('--log-level', default='INFO')
    parser.add_argument('--phases', default='put,get,head,delete')
    parser.add_argument('--repeat', type=int, default=1,
                        help='run the phases this many times (new objects '
                        'each time)')
    parser.add_argument('--py-spy', choices=KINDS,
                        help='record a py-spy profile of these servers')
    parser.add_argument('--py-spy-dir', default='.')
    parser.add_argument('--cprofile', choices=KINDS,
                        help='profile these servers\' CPU time (cProfile)')
    parser.add_argument('--swift-bench', metavar='ARGS',
                        help='instead of the phases, run '
                        'tools/bench/swift_bench.py with these arguments '
                        '(e.g. "--duration 10") against the cluster, with '
                        'the CPU of the whole run')
    parser.add_argument('--profile-phases', default=None,
                        help='phases to profile (default: all of --phases)')
    parser.add_argument('--top', type=int, default=30,
                        help='lines of profile summary (default 30)')
    args = parser.parse_args(argv)
    wanted = [p.strip() for p in args.phases.split(',') if p.strip()]
    if any(p not in PHASES for p in wanted):
        parser.error('--phases takes %s' % ', '.join(PHASES))
    if args.ops < 1 or args.concurrency < 1 or not 1 <= args.repeat <= 20:
        parser.error('--ops and --concurrency must be positive, --repeat '
                     '1..20')

    cluster = SwiftCluster(log_level=args.log_level, workers=args.workers,
                           proxy_workers=args.proxy_workers)
    prof_prefix = os.path.join(cluster.root, 'cprofile')
    if args.cprofile:
        for server in servers_of(cluster, args.cprofile):
            server.launcher = [sys.executable, os.path.join(
                os.path.dirname(os.path.abspath(__file__)),
                '_cprofile_server.py'), prof_prefix]
    try:
        cluster.setup()
        conn = Connection(cluster.auth_url, 'test:tester', 'testing',
                          retries=0)
        conn.ensure_auth()
        if args.swift_bench is not None:
            return run_swift_bench(cluster, args.swift_bench)
        body = os.urandom(SMALL)
        print('swift_cpu_profile: %d ops/phase, concurrency %d, workers %d,'
              ' log level %s' % (args.ops, args.concurrency, args.workers,
                                 args.log_level), flush=True)
        print('%-7s %7s %7s %7s %7s %7s %7s %8s' % (
            'phase', 'proxy', 'account', 'contnr', 'object', 'total',
            'kernel', 'ops/s'), '(ms CPU per request)', flush=True)
        for round_ in range(args.repeat):
            container = 'prof%d' % round_
            conn.request('PUT', container, headers={'Content-Length': '0'},
                         body=b'')
            ops = phases(conn, container, body)
            for name in wanted:
                count = args.big_ops if name.startswith('big') else args.ops
                spies = []
                profiled = args.profile_phases is None or \
                    name in args.profile_phases.split(',')
                if args.py_spy and profiled:
                    spies = start_py_spy(cluster, args.py_spy,
                                         args.py_spy_dir,
                                         '%s%d' % (name, round_))
                pids = server_pids(cluster)
                if args.cprofile and profiled:
                    signal_all(pids[args.cprofile], signal.SIGUSR1)
                before = snapshot(pids)
                ok, errors, first, seconds = run_ops(
                    ops[name], count,
                    1 if name.startswith('big') else args.concurrency)
                after = snapshot(pids)
                if args.cprofile and profiled:
                    signal_all(pids[args.cprofile], signal.SIGUSR2)
                stop_py_spy(spies)
                recorded = [p for p in spies]
                per_op = {kind: (after[kind] - before[kind]) * 1000.0
                          / max(ok, 1) for kind in KINDS + ('kernel',)}
                line = '%-7s %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f %8.1f' % (
                    name.upper(), per_op['proxy'], per_op['account'],
                    per_op['container'], per_op['object'],
                    sum(per_op[k] for k in KINDS), per_op['kernel'],
                    ok / seconds if seconds else 0)
                if name.startswith('big') and seconds:
                    line += '  %.1f MB/s' % (ok * BIG_SIZE / seconds / 1e6)
                if errors:
                    line += '  %d errors, first: %s' % (errors, first)
                print(line, flush=True)
                if recorded:
                    summarize_profiles(paths_of(recorded), args.top)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    finally:
        cluster.stop_all()
        if args.cprofile:
            print_cprofile(prof_prefix, args.top)
        cluster.teardown()
        shutil.rmtree(cluster.root, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
