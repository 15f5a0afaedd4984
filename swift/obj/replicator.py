"""swift-object-replicator: pushes object partitions to their other replicas.

For each partition directory on this node's devices:

* on a **primary** device, the partition's suffix hashes (see
  swift.obj.diskfile.get_hashes) are compared with each other primary's,
  fetched with ``REPLICATE /<dev>/<part>``; the suffix directories that
  differ are pushed with rsync (daemon module ``object``, or
  ``object<port>`` with ``vm_test_mode``) and the peer is asked to rehash
  them (``REPLICATE /<dev>/<part>/<suf>-<suf>``).  Only pushing: a peer
  holding something we lack sends it in its own pass.  A peer whose device
  is unmounted (507) is replaced by the next hand-off node.
* on a **hand-off** device (the ring does not list it for that partition,
  e.g. it took writes while a primary was down), the partition is pushed to
  every primary and removed here once all of them took it and nothing new
  arrived meanwhile.

Tombstones older than ``reclaim_age`` are removed when a suffix is rehashed;
every ``full_rehash_passes`` passes (and on the first) every suffix is
rehashed, so old tombstones in quiet suffixes go too.

rsync runs with an argument list and a timeout (never a shell), with
``--xattrs`` (object metadata lives in extended attributes) and
``--ignore-existing`` (a file name is its timestamp: same name, same data).
"""

import json
import os
import shutil
import time

from eventlet import GreenPool, Timeout
from eventlet import sleep as green_sleep

from swift.common.bufferedhttp import http_connect
from swift.common.daemon import Daemon
from swift.common.db_replicator import (local_devices, rsync_destination,
                                        run_rsync)
from swift.common.exceptions import ConnectionTimeout
from swift.common.ring import Ring
from swift.common.utils import (config_float, config_int, config_true_value,
                                ismount, whataremyips)
from swift.obj import diskfile

ONE_WEEK = 7 * 24 * 60 * 60


class ObjectReplicator(Daemon):
    """``[object-replicator]`` of object-server.conf (with [DEFAULT]).

    Options: ``devices``, ``mount_check``, ``swift_dir``, ``bind_port``
    (which ring devices are ours), ``concurrency`` (1), ``run_pause`` (30),
    ``rsync_timeout`` (900), ``rsync_io_timeout`` (30), ``http_timeout``
    (60), ``conn_timeout`` (0.5), ``reclaim_age`` (one week),
    ``ring_check_interval`` (15), ``vm_test_mode`` (no), ``rsync_module``
    (object), ``rsync_port`` (our addition, for a daemon not on 873),
    ``full_rehash_passes`` (10).
    """

    def __init__(self, conf, ring=None):
        super().__init__(conf)
        self.devices = conf.get('devices', '/srv/node')
        self.mount_check = config_true_value(conf.get('mount_check', 'true'))
        self.swift_dir = conf.get('swift_dir', '/etc/swift')
        self.port = config_int(conf, 'bind_port', 6000)
        self.concurrency = config_int(conf, 'concurrency', 1)
        self.run_pause = config_float(conf, 'run_pause', 30)
        self.rsync_timeout = config_float(conf, 'rsync_timeout', 900)
        self.rsync_io_timeout = config_int(conf, 'rsync_io_timeout', 30)
        self.http_timeout = config_float(conf, 'http_timeout', 60)
        self.conn_timeout = config_float(conf, 'conn_timeout', 0.5)
        self.reclaim_age = config_float(conf, 'reclaim_age', ONE_WEEK)
        self.ring_check_interval = config_float(conf, 'ring_check_interval',
                                                15)
        self.vm_test_mode = config_true_value(conf.get('vm_test_mode', 'no'))
        self.rsync_module = conf.get('rsync_module', 'object')
        self.rsync_port = conf.get('rsync_port')
        self.full_rehash_passes = max(1, config_int(
            conf, 'full_rehash_passes', 10))
        self._ring = ring
        self.passes = 0
        self.stats = {}

    @property
    def ring(self):
        if self._ring is None:
            self._ring = Ring(self.swift_dir, 'object',
                              reload_time=self.ring_check_interval)
        return self._ring

    # -- passes ----------------------------------------------------------

    def run_forever(self, *args, max_passes=None, **kwargs):
        """A pass, then ``run_pause`` seconds (``max_passes`` bounds tests)."""
        done = 0
        while max_passes is None or done < max_passes:
            try:
                self.run_once()
            except (Exception, Timeout):
                self.logger.exception('ERROR in replication pass')
            done += 1
            green_sleep(self.run_pause)

    def run_once(self, *args, **kwargs):
        """Replicate every local partition once; returns the pass's stats."""
        started = time.time()
        self.stats = dict.fromkeys(
            ('partitions', 'primary', 'handoff', 'suffixes_synced',
             'rsyncs', 'failures', 'handoffs_removed'), 0)
        full_rehash = self.passes % self.full_rehash_passes == 0
        self.passes += 1
        pool = GreenPool(self.concurrency)
        for job in self.collect_jobs():
            pool.spawn_n(self._run_job_quietly, job, full_rehash)
        pool.waitall()
        self.logger.info('Object replication pass done in %.2fs: %s',
                         time.time() - started,
                         ', '.join('%s %d' % item
                                   for item in sorted(self.stats.items())))
        return dict(self.stats)

    def collect_jobs(self):
        """One job per partition dir on this node's mounted devices:
        dict(device, partition, path, nodes, primary)."""
        jobs = []
        for dev in local_devices(self.ring, self.port, whataremyips()):
            dev_path = os.path.join(self.devices, dev['device'])
            if self.mount_check and not ismount(dev_path):
                self.logger.warning('Skipping %s as it is not mounted',
                                    dev_path)
                continue
            obj_dir = os.path.join(dev_path, diskfile.DATADIR)
            try:
                partitions = sorted(os.listdir(obj_dir))
            except OSError:
                continue
            for partition in partitions:
                path = os.path.join(obj_dir, partition)
                if not partition.isdigit() or not os.path.isdir(path):
                    continue
                part = int(partition)
                if part >= self.ring.partition_count:
                    self.logger.warning('Partition %s outside the ring', path)
                    continue
                nodes = self.ring.get_part_nodes(part)
                primary = any(n['id'] == dev['id'] for n in nodes)
                jobs.append({'device': dev, 'partition': partition,
                             'path': path, 'primary': primary,
                             'nodes': [n for n in nodes
                                       if n['id'] != dev['id']]})
        return jobs

    def _run_job_quietly(self, job, full_rehash):
        self.stats['partitions'] += 1
        try:
            if job['primary']:
                self.stats['primary'] += 1
                self.update(job, full_rehash)
            else:
                self.stats['handoff'] += 1
                self.update_deleted(job)
        except (Exception, Timeout):
            self.stats['failures'] += 1
            self.logger.exception('ERROR replicating %s', job['path'])

    # -- jobs -------------------------------------------------------------

    def local_hashes(self, job, recalculate=()):
        return diskfile.get_hashes(job['path'], recalculate,
                                   reclaim_age=self.reclaim_age)

    def update(self, job, full_rehash=False):
        """Primary partition: bring every other primary up to date."""
        hashes = self.local_hashes(
            job, self._all_suffixes(job['path']) if full_rehash else ())
        handoffs = (node for node in self.ring.get_more_nodes(
            int(job['partition'])) if node['id'] != job['device']['id'])
        for node in job['nodes']:
            result = self.sync_node(job, node, hashes)
            if result == 507:
                for other in handoffs:
                    if self.sync_node(job, other, hashes) is True:
                        break
            if result is not True:
                self.stats['failures'] += 1

    def update_deleted(self, job):
        """Hand-off partition: push to every primary, then remove it here."""
        hashes = self.local_hashes(job)
        results = [self.sync_node(job, node, hashes) is True
                   for node in job['nodes']]
        if not (results and all(results)):
            self.stats['failures'] += 1
            return
        # Anything written here while we pushed must not be lost.
        if self.local_hashes(job) != hashes:
            return
        shutil.rmtree(job['path'], ignore_errors=True)
        self.stats['handoffs_removed'] += 1

    def sync_node(self, job, node, hashes):
        """Push the suffixes that differ to ``node``.

        True when the node now matches; 507 when its device is unmounted;
        False on other failures.
        """
        answer = self._replicate(node, job['partition'])
        if answer is None:
            return False
        status, data = answer
        if status == 507:
            return 507
        if status != 200:
            return False
        try:
            remote = json.loads(data)
            if not isinstance(remote, dict):
                raise ValueError
        except ValueError:
            self.logger.error('Bad REPLICATE answer from %s:%s/%s',
                              node['ip'], node['port'], node['device'])
            return False
        suffixes = [s for s, h in hashes.items() if remote.get(s) != h]
        if not suffixes:
            return True
        # Our cached hashes may be stale for these: look again first.
        hashes.update(self.local_hashes(job, suffixes))
        suffixes = [s for s in suffixes if hashes.get(s) != remote.get(s)]
        if not suffixes:
            return True
        present = [s for s in suffixes
                   if os.path.isdir(os.path.join(job['path'], s))]
        if present and not self.rsync(job, node, present):
            return False
        self.stats['suffixes_synced'] += len(suffixes)
        answer = self._replicate(node, job['partition'], suffixes)
        return answer is not None and answer[0] == 200

    def rsync(self, job, node, suffixes):
        """rsync ``<part>/<suffix>`` dirs into the node's device.

        The ``/./`` marker with --relative recreates objects/<part>/<suffix>
        under the remote device, so the remote partition dir need not exist.
        """
        self.stats['rsyncs'] += 1
        dev_path = os.path.join(self.devices, job['device']['device'])
        sources = [os.path.join(dev_path, '.', diskfile.DATADIR,
                                job['partition'], suffix)
                   for suffix in suffixes]
        return run_rsync(self.rsync_args(sources, self.rsync_target(node)),
                         self.rsync_timeout, self.logger)

    def rsync_target(self, node):
        """Where a node's device is, for rsync (tests point it elsewhere)."""
        return rsync_destination(node, self.rsync_module, self.vm_test_mode)

    def rsync_args(self, sources, destination):
        args = ['rsync', '--recursive', '--relative', '--whole-file',
                '--xattrs', '--ignore-existing', '--quiet', '--no-motd',
                '--timeout=%d' % self.rsync_io_timeout]
        if '::' in destination:
            # only meaningful (and only accepted) for an rsync daemon
            args.append('--contimeout=%d'
                        % max(1, int(self.conn_timeout + 0.999)))
        if self.rsync_port:
            args.append('--port=%d' % int(self.rsync_port))
        return args + list(sources) + [destination]

    @staticmethod
    def _all_suffixes(part_path):
        try:
            return [name for name in os.listdir(part_path)
                    if len(name) == 3 and os.path.isdir(
                        os.path.join(part_path, name))]
        except OSError:
            return []

    def _replicate(self, node, partition, suffixes=()):
        """(status, body) of ``REPLICATE /<dev>/<part>[/<suf>-...]``."""
        path = '/' + '-'.join(suffixes) if suffixes else ''
        conn = None
        try:
            with ConnectionTimeout(self.conn_timeout):
                conn = http_connect(node['ip'], node['port'], node['device'],
                                    partition, 'REPLICATE', path,
                                    {'Content-Length': '0'})
            with Timeout(self.http_timeout):
                resp = conn.getresponse()
                return resp.status, resp.read()
        except (Exception, Timeout) as err:
            self.logger.error('ERROR REPLICATE %s:%s/%s/%s: %s', node['ip'],
                              node['port'], node['device'], partition,
                              err.__class__.__name__
                              if isinstance(err, Timeout) else err)
            return None
        finally:
            if conn is not None:
                conn.close()
