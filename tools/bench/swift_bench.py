#!/usr/bin/env python3
"""Swift benchmark: request rates and throughput through a proxy.

    tools/bench/swift_bench.py AUTH_URL USER KEY [--duration S]
        [--concurrency N] [--list-objects N] [--big-mib N] [--max-ops N]

Prints, one line each:
- ops/s for 4 KiB object PUT, GET, HEAD and DELETE (each phase runs
  --duration seconds or --max-ops requests, whichever ends first, with
  --concurrency threads);
- the seconds to list a container of --list-objects (10,000) objects, paged
  as clients do (created with --concurrency parallel PUTs first);
- MB/s for one --big-mib (64) MiB object PUT and GET.

Everything is made in containers named bench_<random> and deleted at the end
(also after a failure or Ctrl-C).  Every phase is bounded in time and count.
Send it only to a cloud you run (e.g. tools/stack.sh on loopback).
"""

import argparse
import concurrent.futures
import hashlib
import os
import sys
import threading
import time
import uuid

_top = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
if os.path.exists(os.path.join(_top, 'swift', '__init__.py')):
    sys.path.insert(0, _top)

from swift.cli.swift import ClientError, Connection  # noqa: E402

SMALL = 4096
SETUP_LIMIT = 900  # seconds any create/cleanup phase may take


class Phase:
    """Runs op(i) from `threads` threads until `seconds` or `count` ops."""

    def __init__(self, name, op, seconds, count, threads):
        self.name, self.op = name, op
        self.seconds, self.count, self.threads = seconds, count, threads
        self.lock = threading.Lock()
        self.next = 0
        self.done = 0
        self.errors = 0
        self.first_error = None

    def _take(self, deadline):
        with self.lock:
            if self.next >= self.count or time.monotonic() >= deadline:
                return None
            self.next += 1
            return self.next - 1

    def _worker(self, deadline):
        while True:
            i = self._take(deadline)
            if i is None:
                return
            try:
                self.op(i)
                ok = True
            except (ClientError, OSError) as e:
                ok = False
                with self.lock:
                    self.first_error = self.first_error or e
            with self.lock:
                if ok:
                    self.done += 1
                else:
                    self.errors += 1

    def run(self):
        start = time.monotonic()
        deadline = start + self.seconds
        workers = [threading.Thread(target=self._worker, args=(deadline,),
                                    daemon=True)
                   for _ in range(self.threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(self.seconds + 120)
        self.elapsed = time.monotonic() - start
        return self

    def report(self):
        rate = self.done / self.elapsed if self.elapsed else 0.0
        line = '%-8s %8.1f ops/s  (%d ok, %d errors, %.1fs)' % (
            self.name, rate, self.done, self.errors, self.elapsed)
        if self.first_error:
            line += '  first error: %s' % self.first_error
        print(line, flush=True)


def bench_small(conn, container, args):
    body = os.urandom(SMALL)
    put = Phase('PUT', lambda i: conn.request(
        'PUT', container, 'o%08d' % i, body=body,
        headers={'Content-Length': str(SMALL)}),
        args.duration, args.max_ops, args.concurrency).run()
    put.report()
    made = put.next  # names 0..made-1 may exist (failed ones are 404 later)
    if not made:
        return 0

    def get(i):
        resp = conn.request('GET', container, 'o%08d' % (i % made))
        if len(resp.body) != SMALL:
            raise ClientError('short GET: %d bytes' % len(resp.body))

    Phase('GET', get, args.duration, args.max_ops, args.concurrency).run() \
        .report()
    Phase('HEAD', lambda i: conn.request('HEAD', container,
                                         'o%08d' % (i % made)),
          args.duration, args.max_ops, args.concurrency).run().report()
    Phase('DELETE', lambda i: conn.request('DELETE', container,
                                           'o%08d' % i, ok=(2, 404)),
          args.duration, made, args.concurrency).run().report()
    return made


def bench_listing(conn, container, args):
    count = args.list_objects
    conn.request('PUT', container, headers={'Content-Length': '0'}, body=b'')
    setup = Phase('create', lambda i: conn.request(
        'PUT', container, 'l%08d' % i, body=b'',
        headers={'Content-Length': '0'}),
        SETUP_LIMIT, count, args.concurrency).run()
    if setup.done < count:
        print('listing: only %d of %d objects created in %.0fs (%d errors)'
              % (setup.done, count, setup.elapsed, setup.errors), flush=True)
    start = time.monotonic()
    listed = sum(1 for _ in conn.iter_listing(container))
    elapsed = time.monotonic() - start
    print('LIST     %8.3f s     to list %d objects (%d created in %.1fs)'
          % (elapsed, listed, setup.done, setup.elapsed), flush=True)


class RepeatReader:
    """`size` bytes of a repeated random block, without holding them all."""

    def __init__(self, block, size):
        self.block, self.left = block, size
        self.pos = 0
        self.md5 = hashlib.md5()

    def read(self, n=-1):
        if self.left <= 0:
            return b''
        room = len(self.block) - self.pos
        n = room if n is None or n < 0 else n
        n = min(n, self.left, room)
        data = self.block[self.pos:self.pos + n]
        self.pos = (self.pos + n) % len(self.block)
        self.left -= n
        self.md5.update(data)
        return data


def bench_big(conn, container, args):
    size = args.big_mib * 1024 * 1024
    block = os.urandom(1024 * 1024)
    reader = RepeatReader(block, size)
    start = time.monotonic()
    conn.request('PUT', container, 'big', headers={
        'Content-Length': str(size)}, body=lambda: RepeatReader(block, size))
    put_s = time.monotonic() - start
    print('PUT %d MiB  %8.1f MB/s  (%.2fs)' % (args.big_mib,
                                               size / put_s / 1e6, put_s),
          flush=True)
    start = time.monotonic()
    resp = conn.request('GET', container, 'big', stream=True)
    got = 0
    md5 = hashlib.md5()
    try:
        for _ in range(size // 65536 + 2):
            chunk = resp.read(65536)
            if not chunk:
                break
            got += len(chunk)
            md5.update(chunk)
    finally:
        resp.close()
        conn._drop_http()
    get_s = time.monotonic() - start
    for _ in range(size // len(block)):
        reader.read(len(block))
    intact = got == size and md5.hexdigest() == reader.md5.hexdigest()
    print('GET %d MiB  %8.1f MB/s  (%.2fs)%s' % (
        args.big_mib, got / get_s / 1e6, get_s,
        '' if intact else '  DATA MISMATCH (%d bytes)' % got), flush=True)


def cleanup(conn, containers, concurrency):
    for container in containers:
        try:
            names = list(conn.iter_listing(container))
        except ClientError as e:
            if e.status != 404:
                print('cleanup: cannot list %s: %s' % (container, e),
                      file=sys.stderr)
            continue
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda e: _quiet_delete(conn, container,
                                                  e['name']), names))
        # Deleted objects can linger in listings for a moment.
        for attempt in range(20):
            try:
                conn.request('DELETE', container, ok=(2, 404))
                break
            except ClientError as e:
                if e.status != 409 or attempt == 19:
                    print('cleanup: cannot delete %s: %s' % (container, e),
                          file=sys.stderr)
                    break
                for entry in conn.iter_listing(container):
                    _quiet_delete(conn, container, entry['name'])
                time.sleep(0.5)


def _quiet_delete(conn, container, name):
    try:
        conn.request('DELETE', container, name, ok=(2, 404))
    except ClientError:
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('auth')
    parser.add_argument('user')
    parser.add_argument('key')
    parser.add_argument('--duration', type=float, default=10.0,
                        help='seconds per rate phase (default 10)')
    parser.add_argument('--concurrency', type=int, default=16,
                        help='parallel requests (default 16)')
    parser.add_argument('--max-ops', type=int, default=100000,
                        help='request cap per rate phase (default 100000)')
    parser.add_argument('--list-objects', type=int, default=10000,
                        help='objects in the listed container (default '
                        '10000)')
    parser.add_argument('--big-mib', type=int, default=64,
                        help='size of the throughput object (default 64)')
    parser.add_argument('--skip', action='append', default=[],
                        choices=('small', 'list', 'big'),
                        help='leave out a part (repeatable)')
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.duration <= 0:
        parser.error('--concurrency and --duration must be positive')

    conn = Connection(args.auth, args.user, args.key, retries=1)
    try:
        conn.ensure_auth()
    except ClientError as e:
        print('swift_bench: %s' % e, file=sys.stderr)
        return 1
    tag = uuid.uuid4().hex[:10]
    small_c, list_c, big_c = ('bench_%s_%s' % (tag, part)
                              for part in ('small', 'list', 'big'))
    made = []
    print('swift_bench: %s as %s, concurrency %d, %.0fs per phase'
          % (args.auth, args.user, args.concurrency, args.duration),
          flush=True)
    try:
        if 'small' not in args.skip:
            made.append(small_c)
            conn.request('PUT', small_c, headers={'Content-Length': '0'},
                         body=b'')
            bench_small(conn, small_c, args)
        if 'list' not in args.skip:
            made.append(list_c)
            bench_listing(conn, list_c, args)
        if 'big' not in args.skip:
            made.append(big_c)
            conn.request('PUT', big_c, headers={'Content-Length': '0'},
                         body=b'')
            bench_big(conn, big_c, args)
    except ClientError as e:
        print('swift_bench: %s' % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('swift_bench: interrupted; cleaning up', file=sys.stderr)
        return 130
    finally:
        start = time.monotonic()
        cleanup(conn, made, args.concurrency)
        print('cleanup  %.1fs' % (time.monotonic() - start), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
