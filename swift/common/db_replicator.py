"""Replication of account and container databases.

Every replica of an account or container DB is pushed, by the node that
holds it, to the other replicas named by the ring (``Replicator``, run as
swift-account-replicator / swift-container-replicator).  The receiving side
is the ``REPLICATE`` verb of the account and container servers, which hands
the request to ``ReplicatorRpc``.

The protocol (one JSON object per ``REPLICATE /<dev>/<part>/<hash>``):

``{"op": "sync", "id", "max_row", "hash", "created_at", "put_timestamp",
"delete_timestamp", "metadata"}``
    The receiver merges the DB's own timestamps and metadata and answers its
    replication info plus ``point``: the highest of the sender's ROWIDs it
    already holds.  404 when it has no such DB.
``{"op": "merge_items", "items": [...], "source": id}``
    Rows (at most ``per_diff``) the sender holds past ``point``.
``{"op": "merge_syncs", "syncs": [...]}``
    After a complete push, the sender's incoming sync points: the receiver
    now holds everything the sender had from those replicas too.
``{"op": "complete_rsync" | "rsync_then_merge", "tmp_name", "source"}``
    The sender rsynced a snapshot of its DB to ``<dev>/tmp/<tmp_name>`` on
    the receiver, because the receiver had no DB (adopt the copy, under a new
    id) or held less than half of the rows (merge the copy's rows).

A DB the receiver lacks, or holds far fewer rows of, is thus copied whole
with rsync (daemon module ``account``/``container``, or ``<module><port>``
with ``vm_test_mode``); otherwise only the missing rows travel over HTTP.

Differences from the original, on purpose:

* The original rsynced the live database file.  With SQLite in WAL mode the
  main file alone can miss committed transactions (they may still sit in the
  ``-wal`` file), and a file copied while being written can be torn; we send
  a snapshot made with SQLite's online backup API instead.
* RPC bodies are JSON objects, never pickles, and every value taken from
  the wire is type-checked before it touches a database; temp file names
  are checked so a request cannot name a path outside ``<dev>/tmp``.
* ``complete_rsync`` into a DB that appeared in the meantime (an inline
  update created it) merges the copy instead of failing.
* rsync runs as an argument list with a timeout, never through a shell.
"""

import errno
import json
import os
import re
import shutil
import sqlite3
import time
import uuid

from eventlet import GreenPool, Timeout
from eventlet import sleep as green_sleep
from eventlet.green import subprocess
from webob import Response
from webob.exc import (HTTPBadRequest, HTTPInsufficientStorage,
                       HTTPNoContent, HTTPNotFound, HTTPRequestEntityTooLarge)

from swift.common.bufferedhttp import http_connect
from swift.common.daemon import Daemon
from swift.common.db import CONNECTIONS
from swift.common.exceptions import ConnectionTimeout, DatabaseConnectionError
from swift.common.ring import Ring
from swift.common.utils import (audit_location_generator, config_float,
                                config_int, config_true_value, hash_path,
                                ismount, mkdirs, ratelimit_sleep, renamer,
                                storage_directory, whataremyips)

ONE_WEEK = 7 * 24 * 60 * 60
QUARANTINEDIR = 'quarantined'
TMPDIR = 'tmp'
#: Largest REPLICATE body accepted (per_diff rows of long names fit easily).
MAX_RPC_BODY = 64 * 1024 * 1024
HASH_RE = re.compile(r'^[0-9a-f]{32}$')
TMP_NAME_RE = re.compile(r'^[0-9a-f]{32}\.db$')
#: rsync exit 24: some source files vanished (cleaned up) while copying.
RSYNC_OK = (0, 24)
#: How many rows to read at a time when merging a whole rsynced copy.
MERGE_BATCH = 1000


# --------------------------------------------------------------- helpers

def local_devices(ring, port, ips=None):
    """The ring's devices served by this node: one of our IPs and ``port``.

    Several servers of one kind may share an IP (a test cluster on
    loopback), so the port tells them apart, as in the original.
    """
    ips = set(whataremyips() if ips is None else ips)
    return [dev for dev in ring.devs
            if dev and dev['ip'] in ips and int(dev['port']) == int(port)]


def rsync_destination(node, module, vm_test_mode=False):
    """``ip::module/<device>`` for a ring node (``module<port>`` with
    vm_test_mode, where several nodes share one rsync daemon)."""
    ip = node['ip']
    if ':' in ip:
        ip = '[%s]' % ip
    if vm_test_mode:
        module = '%s%s' % (module, node['port'])
    return '%s::%s/%s' % (ip, module, node['device'])


def run_rsync(args, timeout, logger):
    """Run rsync (an argv list, no shell); True when it succeeded.

    The process is killed when it outlives ``timeout`` seconds.
    """
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
    except OSError as err:
        logger.error('Cannot run rsync: %s', err)
        return False
    try:
        with Timeout(timeout):
            output, _ = proc.communicate()
    except Timeout:
        proc.kill()
        proc.wait()
        logger.error('Killed rsync after %ss: %s', timeout, ' '.join(args))
        return False
    if proc.returncode not in RSYNC_OK:
        logger.error('rsync exited %s: %s\n%s', proc.returncode,
                     ' '.join(args),
                     output.decode('utf-8', 'replace').strip()[-2000:])
        return False
    return True


def is_corruption(err):
    """True for SQLite errors that mean the file is damaged (not just busy)."""
    text = str(err).lower()
    return isinstance(err, sqlite3.DatabaseError) and (
        'malformed' in text or 'not a database' in text
        or 'file is encrypted' in text or 'no such table' in text
        or 'disk i/o error' in text)


def quarantine_db(db_path, server_type):
    """Move a broken DB's hash dir to ``<dev>/quarantined/<type>s/<hash>``.

    Replication then brings a good copy from another replica.  Returns the
    new location.
    """
    hash_dir = os.path.dirname(os.path.abspath(db_path))
    # <dev>/<datadir>/<partition>/<suffix>/<hash>
    device_path = hash_dir
    for _ in range(4):
        device_path = os.path.dirname(device_path)
    target = os.path.join(device_path, QUARANTINEDIR, server_type + 's',
                          os.path.basename(hash_dir))
    if os.path.exists(target):
        target += '-' + uuid.uuid4().hex
    CONNECTIONS.close_path(db_path)
    renamer(hash_dir, target)
    return target


def remove_db_dir(db_path):
    """Remove a DB with its hash dir, then empty suffix/partition dirs."""
    hash_dir = os.path.dirname(db_path)
    CONNECTIONS.close_path(db_path)
    shutil.rmtree(hash_dir, ignore_errors=True)
    parent = os.path.dirname(hash_dir)
    for _ in range(2):
        try:
            os.rmdir(parent)
        except OSError:
            break
        parent = os.path.dirname(parent)


def snapshot_db(broker, dest_path):
    """A consistent single-file copy of the DB (SQLite online backup)."""
    with broker.get() as conn:
        dest = sqlite3.connect(dest_path)
        try:
            conn.backup(dest)
        finally:
            dest.close()


def _unlink_db(path):
    CONNECTIONS.close_path(path)
    for name in (path, path + '-wal', path + '-shm'):
        try:
            os.unlink(name)
        except OSError as err:
            if err.errno != errno.ENOENT:
                raise


# ------------------------------------------------------- receiving side

def _json_response(status, data):
    return Response(status=status, body=json.dumps(data).encode('utf-8'),
                    content_type='application/json', charset=None)


class ReplicatorRpc:
    """What ``REPLICATE`` on an account/container server does.

    ``dispatch`` answers a webob response; it never raises for bad input.
    """

    OPS = ('sync', 'merge_items', 'merge_syncs', 'complete_rsync',
           'rsync_then_merge')

    def __init__(self, devices, datadir, broker_class, mount_check=True,
                 logger=None):
        self.devices = devices
        self.datadir = datadir
        self.broker_class = broker_class
        self.mount_check = mount_check
        self.logger = logger

    def dispatch(self, req, drive, partition, name_hash):
        if not HASH_RE.match(name_hash or ''):
            return HTTPBadRequest(request=req, body=b'Invalid hash',
                                  content_type='text/plain')
        if self.mount_check and not ismount(os.path.join(self.devices,
                                                         drive)):
            return HTTPInsufficientStorage(request=req)
        if req.content_length is not None and \
                req.content_length > MAX_RPC_BODY:
            return HTTPRequestEntityTooLarge(request=req)
        try:
            body = json.loads(req.body_file.read(MAX_RPC_BODY + 1))
            op = body['op']
            handler = getattr(self, 'op_' + op) if op in self.OPS else None
        except (ValueError, TypeError, KeyError, UnicodeDecodeError):
            handler = None
        if handler is None:
            return HTTPBadRequest(request=req, content_type='text/plain',
                                  body=b'Expected a JSON object with a '
                                  b'known "op"')
        db_file = os.path.join(storage_directory(
            os.path.join(self.devices, drive, self.datadir), partition,
            name_hash), name_hash + '.db')
        try:
            return handler(drive, db_file, body)
        except (ValueError, TypeError, KeyError) as err:
            return HTTPBadRequest(request=req, content_type='text/plain',
                                  body=('Bad %s request: %s'
                                        % (op, err)).encode('utf-8'))
        except DatabaseConnectionError:
            return HTTPNotFound(request=req)

    def _tmp_dir(self, drive):
        return os.path.join(self.devices, drive, TMPDIR)

    def op_sync(self, drive, db_file, body):
        # rsync needs <dev>/tmp to exist on this side; making it here (the
        # device is known to be mounted) keeps rsync from creating paths.
        mkdirs(self._tmp_dir(drive))
        broker = self.broker_class(db_file, logger=self.logger)
        if not broker.exists():
            return HTTPNotFound()
        remote_id = body['id']
        if not isinstance(remote_id, str) or not remote_id:
            raise ValueError('bad id')
        broker.merge_timestamps(body['created_at'], body['put_timestamp'],
                                body['delete_timestamp'])
        metadata = body.get('metadata') or {}
        if not isinstance(metadata, dict):
            raise ValueError('metadata must be an object')
        updates = {}
        for key, item in metadata.items():
            if not (isinstance(item, list) and len(item) == 2
                    and isinstance(item[0], str)):
                raise ValueError('bad metadata item %r' % key)
            updates[key] = (item[0], float(item[1]))
        broker.update_metadata(updates)
        info = broker.get_replication_info()
        info['point'] = broker.get_sync(remote_id)
        return _json_response(200, info)

    def op_merge_items(self, drive, db_file, body):
        broker = self.broker_class(db_file, logger=self.logger)
        if not broker.exists():
            return HTTPNotFound()
        items = body['items']
        source = body.get('source')
        if not isinstance(items, list) or \
                not all(isinstance(i, dict) for i in items):
            raise ValueError('items must be a list of objects')
        if source is not None and not isinstance(source, str):
            raise ValueError('bad source')
        broker.merge_items(items, source)
        return HTTPNoContent()

    def op_merge_syncs(self, drive, db_file, body):
        broker = self.broker_class(db_file, logger=self.logger)
        if not broker.exists():
            return HTTPNotFound()
        syncs = body['syncs']
        if not isinstance(syncs, list) or \
                not all(isinstance(s, dict) for s in syncs):
            raise ValueError('syncs must be a list of objects')
        broker.merge_syncs(syncs)
        return HTTPNoContent()

    def op_complete_rsync(self, drive, db_file, body):
        return self._take_rsynced(drive, db_file, body)

    def op_rsync_then_merge(self, drive, db_file, body):
        return self._take_rsynced(drive, db_file, body)

    def _take_rsynced(self, drive, db_file, body):
        """Adopt the rsynced copy when we have no DB, else merge it."""
        tmp_name, source = body['tmp_name'], body['source']
        if not isinstance(tmp_name, str) or not TMP_NAME_RE.match(tmp_name):
            raise ValueError('bad tmp_name')
        if not isinstance(source, str) or not source:
            raise ValueError('bad source')
        tmp_path = os.path.join(self._tmp_dir(drive), tmp_name)
        if not os.path.exists(tmp_path):
            return HTTPNotFound()
        try:
            copy = self.broker_class(tmp_path, logger=self.logger)
            copy.get_info()  # fails here when the copy is no database
            broker = self.broker_class(db_file, logger=self.logger)
            if not broker.exists():
                copy.newid(source)
                # Closing the copy's last connection folds its WAL (where
                # newid wrote) into the file that is linked into place.
                CONNECTIONS.close_path(tmp_path)
                mkdirs(os.path.dirname(db_file))
                try:
                    # link, not rename: never replaces a DB made meanwhile
                    os.link(tmp_path, db_file)
                    return HTTPNoContent()
                except FileExistsError:
                    pass
            merge_whole_db(copy, broker, source)
            return HTTPNoContent()
        except sqlite3.DatabaseError as err:
            raise ValueError('unusable database copy: %s' % err)
        finally:
            _unlink_db(tmp_path)


def merge_whole_db(copy, broker, source):
    """Merge every row, sync point, timestamp and metadata of ``copy``
    (a snapshot of replica ``source``) into ``broker``."""
    point = -1
    while True:
        items = copy.get_items_since(point, MERGE_BATCH)
        if not items:
            break
        broker.merge_items(items)
        point = items[-1]['ROWID']
    broker.merge_syncs(copy.get_syncs())
    broker.merge_syncs([{'remote_id': source, 'sync_point': point}])
    info = copy.get_info()
    broker.merge_timestamps(info['created_at'], info['put_timestamp'],
                            info['delete_timestamp'])
    broker.update_metadata({k: tuple(v) for k, v in copy.metadata.items()})


# --------------------------------------------------------- pushing side

class Replicator(Daemon):
    """Pushes every local account/container DB to its other replicas.

    Subclasses set ``server_type``, ``datadir``, ``broker_class`` and
    ``default_port`` and say when a whole DB may be removed
    (``reclaimable``).  Config (``[account-replicator]`` /
    ``[container-replicator]`` merged with [DEFAULT]): ``devices``,
    ``mount_check``, ``swift_dir``, ``bind_port`` (which ring devices are
    ours), ``per_diff`` (1000), ``max_diffs`` (100), ``concurrency`` (8),
    ``run_pause`` (30 s between passes; ``interval`` is an alias),
    ``node_timeout`` (10), ``conn_timeout`` (0.5), ``reclaim_age`` (one
    week), ``rsync_timeout`` (900), ``rsync_io_timeout`` (30),
    ``vm_test_mode``, ``rsync_module`` (the server type), ``rsync_port``
    (when the rsync daemon does not listen on 873; our addition).
    """

    server_type = None
    datadir = None
    broker_class = None
    default_port = None

    def __init__(self, conf, ring=None):
        super().__init__(conf)
        self.devices = conf.get('devices', '/srv/node')
        self.mount_check = config_true_value(conf.get('mount_check', 'true'))
        self.swift_dir = conf.get('swift_dir', '/etc/swift')
        self.port = config_int(conf, 'bind_port', self.default_port)
        self.per_diff = config_int(conf, 'per_diff', 1000)
        self.max_diffs = config_int(conf, 'max_diffs', 100)
        self.concurrency = config_int(conf, 'concurrency', 8)
        self.run_pause = config_float(conf, 'run_pause',
                                      conf.get('interval', 30))
        self.node_timeout = config_float(conf, 'node_timeout', 10)
        self.conn_timeout = config_float(conf, 'conn_timeout', 0.5)
        self.reclaim_age = config_float(conf, 'reclaim_age', ONE_WEEK)
        self.rsync_timeout = config_float(conf, 'rsync_timeout', 900)
        self.rsync_io_timeout = config_int(conf, 'rsync_io_timeout', 30)
        self.vm_test_mode = config_true_value(conf.get('vm_test_mode', 'no'))
        self.rsync_module = conf.get('rsync_module', self.server_type)
        self.rsync_port = conf.get('rsync_port')
        self.ring_check_interval = config_float(conf, 'ring_check_interval',
                                                15)
        self._ring = ring
        self.stats = {}

    @property
    def ring(self):
        if self._ring is None:
            self._ring = Ring(self.swift_dir, self.server_type,
                              reload_time=self.ring_check_interval)
        return self._ring

    # -- passes ----------------------------------------------------------

    def run_forever(self, *args, max_passes=None, **kwargs):
        """A pass, then ``run_pause`` seconds (``max_passes`` bounds tests)."""
        passes = 0
        while max_passes is None or passes < max_passes:
            try:
                self.run_once()
            except (Exception, Timeout):
                self.logger.exception('ERROR in replication pass')
            passes += 1
            green_sleep(self.run_pause)

    def run_once(self, *args, **kwargs):
        """Replicate every DB on this node's devices once; returns stats."""
        started = time.time()
        self.stats = dict.fromkeys(
            ('attempted', 'success', 'failure', 'no_change', 'diff',
             'rsync', 'remote_merge', 'remove', 'reclaimed_rows',
             'handoff_removed', 'quarantined'), 0)
        pool = GreenPool(self.concurrency)
        ips = whataremyips()
        for dev in local_devices(self.ring, self.port, ips):
            dev_path = os.path.join(self.devices, dev['device'])
            if self.mount_check and not ismount(dev_path):
                self.logger.warning('Skipping %s as it is not mounted',
                                    dev_path)
                continue
            for partition, db_path in self._db_files(dev_path):
                pool.spawn_n(self._replicate_quietly, partition, db_path,
                             dev)
        pool.waitall()
        self.logger.info('Replication pass done in %.2fs: %s',
                         time.time() - started,
                         ', '.join('%s %d' % item
                                   for item in sorted(self.stats.items())))
        return dict(self.stats)

    def _db_files(self, dev_path):
        """(partition, path) of every <part>/<suffix>/<hash>/<hash>.db."""
        datadir = os.path.join(dev_path, self.datadir)
        for partition in sorted(_listdir(datadir)):
            if not partition.isdigit():
                continue
            part_dir = os.path.join(datadir, partition)
            for suffix in sorted(_listdir(part_dir)):
                suffix_dir = os.path.join(part_dir, suffix)
                for name_hash in sorted(_listdir(suffix_dir)):
                    db_path = os.path.join(suffix_dir, name_hash,
                                           name_hash + '.db')
                    if os.path.isfile(db_path):
                        yield partition, db_path

    def _replicate_quietly(self, partition, db_path, dev):
        try:
            self.replicate_db(partition, db_path, dev)
        except (Exception, Timeout):
            self.stats['failure'] += 1
            self.logger.exception('ERROR replicating %s', db_path)

    # -- one database ----------------------------------------------------

    def reclaimable(self, info, reclaim_point):
        """True when the whole DB is deleted long enough ago to remove."""
        raise NotImplementedError

    def replicate_db(self, partition, db_path, dev):
        """Push one DB to its other replicas; remove it when it is a
        hand-off copy every primary now has, or deleted long ago."""
        self.stats['attempted'] += 1
        broker = self.broker_class(db_path, logger=self.logger)
        reclaim_point = time.time() - self.reclaim_age
        try:
            self.stats['reclaimed_rows'] += broker.reclaim(reclaim_point)
            info = broker.get_replication_info()
        except DatabaseConnectionError:
            return  # removed since we listed it
        except sqlite3.DatabaseError as err:
            if is_corruption(err):
                target = quarantine_db(db_path, self.server_type)
                self.stats['quarantined'] += 1
                self.logger.error('Quarantined %s to %s: %s', db_path,
                                  target, err)
                return
            raise
        if self.reclaimable(info, reclaim_point):
            remove_db_dir(db_path)
            self.stats['remove'] += 1
            return
        part = int(partition)
        nodes = self.ring.get_part_nodes(part)
        is_primary = any(node['id'] == dev['id'] for node in nodes)
        handoffs = (node for node in self.ring.get_more_nodes(part)
                    if node['id'] != dev['id'])
        results = []
        for node in nodes:
            if node['id'] == dev['id']:
                continue
            result = self._repl_to_node(node, broker, part, info)
            if result == 507 and is_primary:
                # A primary's disk is gone: keep the replica count by
                # pushing to the next hand-off instead.
                for other in handoffs:
                    if self._repl_to_node(other, broker, part, info) is True:
                        break
            results.append(result is True)
        if all(results):
            self.stats['success'] += 1
        else:
            self.stats['failure'] += 1
        if not is_primary and results and all(results):
            # Only when nothing was written to the hand-off meanwhile.
            if broker.get_replication_info()['max_row'] == info['max_row']:
                remove_db_dir(db_path)
                self.stats['handoff_removed'] += 1

    def _repl_to_node(self, node, broker, part, info):
        """True when ``node`` now holds everything we have; 507 when its
        device is unmounted; False on any other failure."""
        name_hash = os.path.basename(broker.db_file)[:-3]
        body = {'op': 'sync', 'id': info['id'], 'max_row': info['max_row'],
                'hash': info['hash'], 'created_at': info['created_at'],
                'put_timestamp': info['put_timestamp'],
                'delete_timestamp': info['delete_timestamp'],
                'metadata': json.loads(info['metadata'] or '{}')}
        answer = self._rpc(node, part, name_hash, body)
        if answer is None:
            return False
        status, data = answer
        if status == 507:
            return 507
        if status == 404:
            return self._rsync_db(broker, node, part, name_hash, info,
                                  'complete_rsync')
        if status // 100 != 2:
            return False
        try:
            rinfo = json.loads(data)
            remote_id, point = rinfo['id'], int(rinfo['point'])
            remote_count = int(rinfo['count'])
        except (ValueError, TypeError, KeyError):
            self.logger.error('Bad sync answer from %s:%s', node['ip'],
                              node['port'])
            return False
        local_sync = broker.get_sync(remote_id, incoming=False)
        if max(point, local_sync) >= info['max_row'] or \
                rinfo.get('hash') == info['hash']:
            self.stats['no_change'] += 1
            return True
        if remote_count * 2 < info['count'] and \
                info['count'] - remote_count > self.per_diff:
            ok = self._rsync_db(broker, node, part, name_hash, info,
                                'rsync_then_merge')
            if ok:
                self.stats['remote_merge'] += 1
                broker.merge_syncs([{'remote_id': remote_id,
                                     'sync_point': info['max_row']}],
                                   incoming=False)
            return ok
        return self._usync(broker, node, part, name_hash, info, remote_id,
                           point)

    def _usync(self, broker, node, part, name_hash, info, remote_id, point):
        """Send the rows past ``point`` in batches of ``per_diff``."""
        self.stats['diff'] += 1
        for _ in range(self.max_diffs):
            items = broker.get_items_since(point, self.per_diff)
            if not items:
                break
            answer = self._rpc(node, part, name_hash,
                               {'op': 'merge_items', 'items': items,
                                'source': info['id']})
            if answer is None or answer[0] // 100 != 2:
                return False
            point = items[-1]['ROWID']
        broker.merge_syncs([{'remote_id': remote_id, 'sync_point': point}],
                           incoming=False)
        if broker.get_items_since(point, 1):
            # max_diffs reached: the rest goes next pass
            self.logger.info('Diff cap reached for %s to %s:%s',
                             broker.db_file, node['ip'], node['port'])
            return False
        answer = self._rpc(node, part, name_hash,
                           {'op': 'merge_syncs', 'syncs': broker.get_syncs()})
        return answer is not None and answer[0] // 100 == 2

    def _rsync_db(self, broker, node, part, name_hash, info, op):
        """Copy a snapshot of the DB to the node's tmp dir and have it
        adopt (``complete_rsync``) or merge (``rsync_then_merge``) it."""
        self.stats['rsync'] += 1
        tmp_name = uuid.uuid4().hex + '.db'
        local_tmp_dir = os.path.join(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.dirname(os.path.dirname(
                broker.db_file))))), TMPDIR)
        mkdirs(local_tmp_dir)
        local_tmp = os.path.join(local_tmp_dir, tmp_name)
        try:
            snapshot_db(broker, local_tmp)
            ok = run_rsync(self.rsync_args(
                local_tmp, '%s/%s/%s' % (self.rsync_target(node), TMPDIR,
                                         tmp_name)),
                self.rsync_timeout, self.logger)
        finally:
            _unlink_db(local_tmp)
        if not ok:
            return False
        answer = self._rpc(node, part, name_hash,
                           {'op': op, 'tmp_name': tmp_name,
                            'source': info['id']})
        return answer is not None and answer[0] // 100 == 2

    def rsync_target(self, node):
        """Where a node's device is, for rsync (tests point it elsewhere)."""
        return rsync_destination(node, self.rsync_module, self.vm_test_mode)

    def rsync_args(self, *paths):
        args = ['rsync', '--quiet', '--no-motd', '--whole-file',
                '--timeout=%d' % self.rsync_io_timeout]
        if '::' in paths[-1]:
            # only meaningful (and only accepted) for an rsync daemon
            args.append('--contimeout=%d'
                        % max(1, int(self.conn_timeout + 0.999)))
        if self.rsync_port:
            args.append('--port=%d' % int(self.rsync_port))
        return args + list(paths)

    def _rpc(self, node, part, name_hash, body):
        """(status, body bytes) of one REPLICATE, or None on failure."""
        data = json.dumps(body).encode('utf-8')
        conn = None
        try:
            with ConnectionTimeout(self.conn_timeout):
                conn = http_connect(
                    node['ip'], node['port'], node['device'], part,
                    'REPLICATE', '/' + name_hash,
                    {'Content-Type': 'application/json',
                     'Content-Length': str(len(data))})
            with Timeout(self.node_timeout):
                conn.send(data)
                resp = conn.getresponse()
                payload = resp.read()
            return resp.status, payload
        except (Exception, Timeout) as err:
            self.logger.error('ERROR REPLICATE %s to %s:%s/%s: %s',
                              body.get('op'), node['ip'], node['port'],
                              node['device'],
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


# ------------------------------------------------------------- auditing

class DatabaseAuditor(Daemon):
    """Opens every account/container DB of this node and checks it.

    A DB is bad when SQLite's ``quick_check`` finds damage, when it cannot
    be read as one of our databases, or when the name it holds does not
    hash to the directory it sits in.  Bad DBs are quarantined to
    ``<dev>/quarantined/<type>s/<hash>``; replication restores a good copy.
    Subclasses set ``server_type``, ``datadir`` and ``broker_class``.
    Config: ``devices``, ``mount_check``, ``interval`` (1800),
    ``dbs_per_second`` (50).
    """

    server_type = None
    datadir = None
    broker_class = None

    def __init__(self, conf):
        super().__init__(conf)
        self.devices = conf.get('devices', '/srv/node')
        self.mount_check = config_true_value(conf.get('mount_check', 'true'))
        self.interval = config_float(conf, 'interval', 1800)
        self.dbs_per_second = config_float(conf, 'dbs_per_second', 50)
        self.stats = {}
        self._running_time = 0

    def run_forever(self, *args, max_passes=None, **kwargs):
        done = 0
        while max_passes is None or done < max_passes:
            started = time.time()
            try:
                self.run_once()
            except Exception:
                self.logger.exception('ERROR in audit pass')
            done += 1
            elapsed = time.time() - started
            if elapsed < self.interval:
                green_sleep(self.interval - elapsed)

    def run_once(self, *args, **kwargs):
        started = time.time()
        self.stats = {'passes': 0, 'quarantines': 0, 'errors': 0}
        for path, _device, _partition in audit_location_generator(
                self.devices, self.datadir, self.mount_check, self.logger,
                suffix='.db'):
            self.audit_db(path)
            self._running_time = ratelimit_sleep(self._running_time,
                                                 self.dbs_per_second)
        self.logger.info('%s audit pass done in %.2fs: %d passed, '
                         '%d quarantined, %d errors',
                         self.server_type.title(), time.time() - started,
                         self.stats['passes'], self.stats['quarantines'],
                         self.stats['errors'])
        return dict(self.stats)

    def audit_db(self, db_path):
        broker = self.broker_class(db_path, logger=self.logger)
        try:
            problem = self.check_db(broker, db_path)
        except DatabaseConnectionError:
            return  # removed since it was listed
        except sqlite3.DatabaseError as err:
            if not is_corruption(err):
                self.stats['errors'] += 1
                self.logger.error('ERROR auditing %s: %s', db_path, err)
                return
            problem = str(err)
        if problem is None:
            self.stats['passes'] += 1
            return
        try:
            target = quarantine_db(db_path, self.server_type)
        except OSError as err:
            self.stats['errors'] += 1
            self.logger.error('ERROR could not quarantine %s: %s', db_path,
                              err)
            return
        self.stats['quarantines'] += 1
        self.logger.error('Quarantined %s to %s: %s', db_path, target,
                          problem)

    def check_db(self, broker, db_path):
        """None when the DB is sound, else what is wrong with it."""
        with broker.get() as conn:
            result = [row[0] for row in conn.execute('PRAGMA quick_check')]
        if result != ['ok']:
            return 'quick_check: %s' % '; '.join(map(str, result[:5]))
        info = broker.get_info()
        names = [info.get('account')]
        if self.server_type == 'container':
            names.append(info.get('container'))
        if not all(isinstance(n, str) and n for n in names):
            return 'no %s name stored' % self.server_type
        expected = os.path.basename(db_path)[:-3]
        if hash_path(*names) != expected:
            return 'holds %s, which does not hash to %s' % (
                '/'.join(names), expected)
        return None
