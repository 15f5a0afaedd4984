"""swift-account-reaper: empties accounts that were DELETEd.

An account DELETE (by the reseller, through a proxy with
``allow_account_management``) only marks the account DB ``DELETED``.  The
reaper, running beside each account server, finds such DBs on the devices
where it holds the partition's *first* primary replica (so one node per
account does the work), waits ``delay_reaping`` seconds after the delete
(a window to undo a mistake; 0 by default), then for every container of the
account:

1. lists the container from a container replica and DELETEs every object on
   all its object replicas directly (each object server is told which
   container replica to update, as a proxy would);
2. DELETEs the container on all its replicas;
3. marks the container deleted in the local account DB, which replication
   spreads to the other account replicas.

Failures are logged and retried next pass.  Once no container is left the
account replicator removes the DB after ``reclaim_age``.

``[account-reaper]`` of account-server.conf (with [DEFAULT]): ``devices``,
``mount_check``, ``swift_dir``, ``bind_port``, ``concurrency`` (25),
``interval`` (3600), ``node_timeout`` (10), ``conn_timeout`` (0.5),
``delay_reaping`` (0).
"""

import json
import os
import time
from urllib.parse import quote

from eventlet import GreenPool, Timeout
from eventlet import sleep as green_sleep

from swift.account.server import DATADIR
from swift.common.bufferedhttp import http_connect
from swift.common.daemon import Daemon
from swift.common.db import AccountBroker
from swift.common.db_replicator import local_devices
from swift.common.exceptions import ConnectionTimeout
from swift.common.ring import Ring
from swift.common.utils import (config_float, config_int, config_true_value,
                                ismount, normalize_timestamp, whataremyips)

LISTING_LIMIT = 1000
#: Bound on listing pages per container in one pass (10M objects).
MAX_PAGES = 10000


class AccountReaper(Daemon):

    def __init__(self, conf, account_ring=None, container_ring=None,
                 object_ring=None):
        super().__init__(conf)
        self.devices = conf.get('devices', '/srv/node')
        self.mount_check = config_true_value(conf.get('mount_check', 'true'))
        self.swift_dir = conf.get('swift_dir', '/etc/swift')
        self.port = config_int(conf, 'bind_port', 6002)
        self.concurrency = config_int(conf, 'concurrency', 25)
        self.interval = config_float(conf, 'interval', 3600)
        self.node_timeout = config_float(conf, 'node_timeout', 10)
        self.conn_timeout = config_float(conf, 'conn_timeout', 0.5)
        self.delay_reaping = config_float(conf, 'delay_reaping', 0)
        self._rings = {'account': account_ring, 'container': container_ring,
                       'object': object_ring}
        self.stats = {}

    def ring(self, kind):
        if self._rings[kind] is None:
            self._rings[kind] = Ring(self.swift_dir, kind)
        return self._rings[kind]

    def run_forever(self, *args, max_passes=None, **kwargs):
        done = 0
        while max_passes is None or done < max_passes:
            started = time.time()
            try:
                self.run_once()
            except (Exception, Timeout):
                self.logger.exception('ERROR in reaper pass')
            done += 1
            elapsed = time.time() - started
            if elapsed < self.interval:
                green_sleep(self.interval - elapsed)

    def run_once(self, *args, **kwargs):
        """One pass over this node's devices; returns the pass's stats."""
        started = time.time()
        self.stats = dict.fromkeys(
            ('accounts', 'containers_deleted', 'containers_remaining',
             'objects_deleted', 'objects_remaining', 'failures'), 0)
        for dev in local_devices(self.ring('account'), self.port,
                                 whataremyips()):
            dev_path = os.path.join(self.devices, dev['device'])
            if self.mount_check and not ismount(dev_path):
                self.logger.warning('Skipping %s as it is not mounted',
                                    dev_path)
                continue
            self.reap_device(dev, dev_path)
        self.logger.info('Reaper pass done in %.2fs: %s',
                         time.time() - started,
                         ', '.join('%s %d' % item
                                   for item in sorted(self.stats.items())))
        return dict(self.stats)

    def reap_device(self, dev, dev_path):
        datadir = os.path.join(dev_path, DATADIR)
        for partition in sorted(_listdir(datadir)):
            if not partition.isdigit():
                continue
            nodes = self.ring('account').get_part_nodes(int(partition))
            if not nodes or nodes[0]['id'] != dev['id']:
                continue  # another replica's node does this one
            part_dir = os.path.join(datadir, partition)
            for suffix in sorted(_listdir(part_dir)):
                for name_hash in sorted(_listdir(os.path.join(part_dir,
                                                              suffix))):
                    db_path = os.path.join(part_dir, suffix, name_hash,
                                           name_hash + '.db')
                    if not os.path.isfile(db_path):
                        continue
                    broker = AccountBroker(db_path, logger=self.logger)
                    try:
                        if broker.is_status_deleted():
                            self.reap_account(broker, int(partition), nodes)
                    except (Exception, Timeout):
                        self.stats['failures'] += 1
                        self.logger.exception('ERROR reaping %s', db_path)

    def reap_account(self, broker, partition, account_nodes):
        """Delete every container (and its objects) of a deleted account.

        Returns True when nothing is left."""
        info = broker.get_info()
        if time.time() - float(info['status_changed_at']) < \
                self.delay_reaping:
            return False
        account = info['account']
        self.stats['accounts'] += 1
        self.logger.info('Reaping account %s', account)
        marker = ''
        remaining = 0
        while True:
            rows = broker.list_containers_iter(LISTING_LIMIT, marker)
            if not rows:
                break
            marker = rows[-1][0]
            for name, _count, _bytes, _subdir in rows:
                if self.reap_container(account, name):
                    broker.put_container(name, 0,
                                         normalize_timestamp(time.time()),
                                         0, 0)
                    self.stats['containers_deleted'] += 1
                else:
                    remaining += 1
                    self.stats['containers_remaining'] += 1
        return remaining == 0

    def reap_container(self, account, container):
        """Delete a container's objects, then the container on every
        replica.  True when every replica confirmed (or never had it)."""
        cpart, cnodes = self.ring('container').get_nodes(account, container)
        marker = ''
        pool = GreenPool(self.concurrency)
        for _ in range(MAX_PAGES):
            objects = self._list_objects(cpart, cnodes, account, container,
                                         marker)
            if not objects:
                break
            for obj in objects:
                pool.spawn_n(self.reap_object, account, container, cpart,
                             cnodes, obj)
            pool.waitall()
            marker = objects[-1]
        timestamp = normalize_timestamp(time.time())
        deleted = 0
        for cnode in cnodes:
            status = self._direct(cnode, cpart, 'DELETE',
                                  '/%s/%s' % (account, container),
                                  {'X-Timestamp': timestamp})
            if status is not None and (status // 100 == 2 or status == 404):
                deleted += 1
            else:
                self.logger.warning('Container %s/%s on %s:%s/%s not '
                                    'deleted (%s)', account, container,
                                    cnode['ip'], cnode['port'],
                                    cnode['device'], status)
        return deleted == len(cnodes)

    def reap_object(self, account, container, cpart, cnodes, obj):
        """DELETE one object on all its replicas; each replica updates one
        container replica, as on a proxy DELETE."""
        opart, onodes = self.ring('object').get_nodes(account, container,
                                                      obj)
        timestamp = normalize_timestamp(time.time())
        ok = 0
        for index, onode in enumerate(onodes):
            cnode = cnodes[index % len(cnodes)]
            status = self._direct(onode, opart, 'DELETE',
                                  '/%s/%s/%s' % (account, container, obj),
                                  {'X-Timestamp': timestamp,
                                   'X-Container-Host': '%s:%s' % (
                                       cnode['ip'], cnode['port']),
                                   'X-Container-Partition': str(cpart),
                                   'X-Container-Device': cnode['device']})
            if status is not None and (status // 100 == 2 or status == 404):
                ok += 1
        if ok == len(onodes):
            self.stats['objects_deleted'] += 1
        else:
            self.stats['objects_remaining'] += 1

    def _list_objects(self, cpart, cnodes, account, container, marker):
        """Object names after ``marker`` from the first container replica
        that has the container; [] when none has any (or none answers)."""
        query = 'format=json&limit=%d&marker=%s' % (
            LISTING_LIMIT, quote(marker.encode('utf-8'), safe=''))
        for cnode in cnodes:
            answer = self._direct(cnode, cpart, 'GET',
                                  '/%s/%s' % (account, container), {},
                                  query_string=query, want_body=True)
            if answer is None:
                continue
            status, body = answer
            if status == 200:
                try:
                    return [entry['name'] for entry in json.loads(body)
                            if 'name' in entry]
                except (ValueError, TypeError, KeyError):
                    continue
            if status == 204:
                return []
            # 404 or an error: another replica may still know the objects
        return []

    def _direct(self, node, partition, method, path, headers,
                query_string=None, want_body=False):
        """Status (or (status, body)) of one request to a storage node;
        None when it could not be made."""
        conn = None
        try:
            with ConnectionTimeout(self.conn_timeout):
                conn = http_connect(node['ip'], node['port'], node['device'],
                                    partition, method, path, headers,
                                    query_string=query_string)
            with Timeout(self.node_timeout):
                resp = conn.getresponse()
                body = resp.read()
            return (resp.status, body) if want_body else resp.status
        except (Exception, Timeout) as err:
            self.logger.error('ERROR %s %s:%s/%s%s: %s', method, node['ip'],
                              node['port'], node['device'], path,
                              err.__class__.__name__
                              if isinstance(err, Timeout) else err)
            return None
        finally:
            if conn is not None:
                conn.close()


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []
