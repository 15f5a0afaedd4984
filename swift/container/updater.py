"""swift-container-updater: tell the account servers about container changes.

A container database whose stats or timestamps differ from what it last
reported (its ``reported_*`` columns) is reported to every account replica
(PUT /<dev>/<part>/<account>/<container> with X-Put-Timestamp,
X-Delete-Timestamp, X-Object-Count, X-Bytes-Used).  When a majority of them
accept, the database records the report.  This is how account listings and
totals catch up after object writes and after inline updates that failed.
"""

import os
import time

from eventlet import GreenPool, Timeout

from swift.common.bufferedhttp import http_connect
from swift.common.daemon import Daemon
from swift.common.db import ContainerBroker
from swift.common.exceptions import ConnectionTimeout
from swift.common.ring import Ring
from swift.common.utils import (audit_location_generator, config_float,
                                config_int, config_true_value)


class ContainerUpdater(Daemon):

    def __init__(self, conf, account_ring=None):
        super().__init__(conf)
        self.devices = conf.get('devices', '/srv/node')
        self.mount_check = config_true_value(conf.get('mount_check', 'true'))
        self.swift_dir = conf.get('swift_dir', '/etc/swift')
        self.interval = config_float(conf, 'interval', 300)
        self.node_timeout = config_float(conf, 'node_timeout', 3)
        self.conn_timeout = config_float(conf, 'conn_timeout', 0.5)
        self.concurrency = config_int(conf, 'concurrency', 4)
        self.slowdown = config_float(conf, 'slowdown', 0.01)
        self._account_ring = account_ring
        self.stats = {'successes': 0, 'failures': 0, 'no_changes': 0}

    @property
    def account_ring(self):
        if self._account_ring is None:
            self._account_ring = Ring(self.swift_dir, 'account')
        return self._account_ring

    def run_forever(self, *args, **kwargs):
        while True:
            started = time.time()
            self.run_once()
            elapsed = time.time() - started
            if elapsed < self.interval:
                time.sleep(self.interval - elapsed)

    def run_once(self, *args, **kwargs):
        """One pass over every container database on this node."""
        started = time.time()
        self.stats = {'successes': 0, 'failures': 0, 'no_changes': 0}
        for path, _device, _partition in audit_location_generator(
                self.devices, 'containers', self.mount_check, self.logger,
                suffix='.db'):
            self.process_container(path)
            if self.slowdown:
                time.sleep(self.slowdown)
        self.logger.info(
            'Container update pass completed in %.02fs: %d successes, '
            '%d failures, %d with no changes', time.time() - started,
            self.stats['successes'], self.stats['failures'],
            self.stats['no_changes'])
        return dict(self.stats)

    def process_container(self, dbfile):
        try:
            broker = ContainerBroker(dbfile, logger=self.logger)
            info = broker.get_info()
        except Exception as err:
            self.logger.error('ERROR reading %s: %s', dbfile, err)
            return
        if info['put_timestamp'] <= info['reported_put_timestamp'] and \
                info['delete_timestamp'] <= \
                info['reported_delete_timestamp'] and \
                info['object_count'] == info['reported_object_count'] and \
                info['bytes_used'] == info['reported_bytes_used']:
            self.stats['no_changes'] += 1
            return
        if not info['account'] or not info['container']:
            self.logger.error('ERROR %s does not name its container', dbfile)
            return
        part, nodes = self.account_ring.get_nodes(info['account'])
        pool = GreenPool(self.concurrency)
        results = list(pool.imap(
            lambda node: self.send_report(node, part, info), nodes))
        successes = sum(1 for ok in results if ok)
        if successes > len(nodes) // 2:
            broker.reported(info['put_timestamp'], info['delete_timestamp'],
                            info['object_count'], info['bytes_used'])
            self.stats['successes'] += 1
        else:
            self.stats['failures'] += 1
            self.logger.info('Update report failed for %s/%s (%d of %d '
                             'account replicas accepted)', info['account'],
                             info['container'], successes, len(nodes))

    def send_report(self, node, part, info):
        headers = {'X-Put-Timestamp': info['put_timestamp'],
                   'X-Delete-Timestamp': info['delete_timestamp'],
                   'X-Object-Count': str(info['object_count']),
                   'X-Bytes-Used': str(info['bytes_used']),
                   'X-Trans-Id': 'container-updater-%d' % os.getpid()}
        try:
            with ConnectionTimeout(self.conn_timeout):
                conn = http_connect(node['ip'], node['port'], node['device'],
                                    part, 'PUT', '/%s/%s' % (
                                        info['account'], info['container']),
                                    headers)
            with Timeout(self.node_timeout):
                resp = conn.getresponse()
                resp.read()
            return 200 <= resp.status < 300
        except (Exception, Timeout) as err:
            self.logger.error('ERROR account update to %s:%s/%s failed: %s',
                              node['ip'], node['port'], node['device'],
                              err.__class__.__name__
                              if isinstance(err, Timeout) else err)
            return False
