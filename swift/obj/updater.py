"""swift-object-updater: replays container updates the object server could
not deliver inline.

Each record under ``<device>/async_pending/<suffix>/<hash>-<timestamp>`` is
sent to every replica of its container (from the container ring) and
removed once all of them accepted it (2xx).  Nodes that already accepted are
remembered in the record (``successes``) so a later pass only retries the
others.  When several records exist for one object only the newest is
needed: the container keeps the newest timestamp anyway, so older ones are
removed unsent.

Without a container ring in ``swift_dir`` (a single-node test setup) the
record's ``failed_nodes`` (the hosts the object server tried) are used.
"""

import errno
import os
import time

from eventlet import Timeout

from swift.common.bufferedhttp import http_connect
from swift.common.daemon import Daemon
from swift.common.exceptions import ConnectionTimeout
from swift.common.utils import (config_true_value, get_logger, ismount,
                                renamer)
from swift.obj import diskfile


class ObjectUpdater(Daemon):
    """Walks every device's async_pending tree; see the module docstring."""

    def __init__(self, conf, logger=None):
        super().__init__(conf)
        self.logger = logger or get_logger(conf, log_route='object-updater')
        self.devices = conf.get('devices', '/srv/node')
        self.mount_check = config_true_value(conf.get('mount_check', 'true'))
        self.swift_dir = conf.get('swift_dir', '/etc/swift')
        self.interval = float(conf.get('interval', 300))
        self.slowdown = float(conf.get('slowdown', 0.01))
        self.node_timeout = float(conf.get('node_timeout', 10))
        self.conn_timeout = float(conf.get('conn_timeout', 0.5))
        self._container_ring = None
        self.stats = {}

    def get_container_ring(self):
        """The container ring, or None when this node has none."""
        if self._container_ring is None:
            path = os.path.join(self.swift_dir, 'container.ring.gz')
            if not os.path.exists(path):
                return None
            from swift.common.ring import Ring
            self._container_ring = Ring(self.swift_dir,
                                        ring_name='container')
        return self._container_ring

    def run_forever(self, *args, max_passes=None, **kwargs):
        """A pass every ``interval`` seconds (``max_passes`` bounds tests)."""
        passes = 0
        while max_passes is None or passes < max_passes:
            started = time.time()
            try:
                self.run_once()
            except Exception:
                self.logger.exception('Exception in object updater pass')
            passes += 1
            elapsed = time.time() - started
            if elapsed < self.interval and \
                    (max_passes is None or passes < max_passes):
                time.sleep(self.interval - elapsed)

    def run_once(self, *args, **kwargs):
        """One pass over every mounted device; returns the pass's counts."""
        started = time.time()
        self.stats = {'successes': 0, 'failures': 0, 'unlinks': 0,
                      'errors': 0}
        try:
            devices = sorted(os.listdir(self.devices))
        except OSError as err:
            self.logger.error('Cannot list devices %s: %s', self.devices, err)
            return self.stats
        for device in devices:
            device_path = os.path.join(self.devices, device)
            if self.mount_check and not ismount(device_path):
                self.logger.warning('Skipping %s: not mounted', device)
                continue
            self.sweep_device(device_path)
        self.logger.info(
            'Object update pass completed in %.02fs: %d successes, '
            '%d failures, %d superseded, %d unreadable',
            time.time() - started, self.stats['successes'],
            self.stats['failures'], self.stats['unlinks'],
            self.stats['errors'])
        return self.stats

    def sweep_device(self, device_path):
        async_dir = os.path.join(device_path, diskfile.ASYNCDIR)
        for suffix in sorted(_listdir(async_dir)):
            suffix_dir = os.path.join(async_dir, suffix)
            seen = set()
            # Newest first per hash: names are <hash>-<timestamp>.
            for name in sorted(_listdir(suffix_dir), reverse=True):
                path = os.path.join(suffix_dir, name)
                name_hash, dash, _timestamp = name.rpartition('-')
                if not dash or len(name_hash) != 32:
                    continue
                if name_hash in seen:
                    _unlink(path)
                    self.stats['unlinks'] += 1
                    continue
                seen.add(name_hash)
                self.process(device_path, path)
                if self.slowdown:
                    time.sleep(self.slowdown)
            try:
                os.rmdir(suffix_dir)
            except OSError:
                pass  # not empty: records are still pending

    def process(self, device_path, path):
        """Send one record to its container replicas; unlink when done."""
        try:
            record = diskfile.read_async_pending(path)
        except (OSError, ValueError) as err:
            self.logger.error('Unreadable async pending %s: %s', path, err)
            self.stats['errors'] += 1
            self._quarantine(device_path, path)
            return
        successes = list(record.get('successes', []))
        all_ok = True
        for key, ip, port, part, dev in self.targets(record):
            if key in successes:
                continue
            if self.send(record, ip, port, part, dev):
                successes.append(key)
            else:
                all_ok = False
        if all_ok:
            self.stats['successes'] += 1
            _unlink(path)
            return
        self.stats['failures'] += 1
        if successes != record.get('successes', []):
            record['successes'] = successes
            diskfile.write_async_pending(device_path, record)

    def targets(self, record):
        """[(key, ip, port, partition, device)] the record must reach."""
        ring = self.get_container_ring()
        if ring is not None:
            part, nodes = ring.get_nodes(record['account'],
                                         record['container'])
            return [('%s:%s/%s' % (n['ip'], n['port'], n['device']),
                     n['ip'], n['port'], str(part), n['device'])
                    for n in nodes]
        return [('%s:%s/%s' % (n['ip'], n['port'], n['device']),
                 n['ip'], n['port'], str(n['partition']), n['device'])
                for n in record.get('failed_nodes', [])]

    def send(self, record, ip, port, part, dev):
        path = '/%s/%s/%s' % (record['account'], record['container'],
                              record['obj'])
        try:
            with ConnectionTimeout(self.conn_timeout):
                conn = http_connect(ip, port, dev, part, record['op'], path,
                                    record['headers'])
            try:
                with Timeout(self.node_timeout):
                    resp = conn.getresponse()
                    resp.read()
            finally:
                conn.close()
            if 200 <= resp.status < 300:
                return True
            self.logger.warning('Update %s %s to %s:%s/%s answered %s',
                                record['op'], path, ip, port, dev,
                                resp.status)
        except (Exception, Timeout) as err:
            self.logger.warning('Update %s %s to %s:%s/%s failed: %s %s',
                                record['op'], path, ip, port, dev,
                                err.__class__.__name__, err)
        return False

    def _quarantine(self, device_path, path):
        target = os.path.join(device_path, diskfile.QUARANTINEDIR,
                              diskfile.ASYNCDIR, os.path.basename(path))
        try:
            renamer(path, target)
        except OSError:
            self.logger.exception('Could not quarantine %s', path)


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def _unlink(path):
    try:
        os.unlink(path)
    except OSError as err:
        if err.errno != errno.ENOENT:
            raise
