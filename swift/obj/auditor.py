"""swift-object-auditor: finds rotten objects and quarantines them.

Every ``.data`` file under ``<devices>/<dev>/objects`` is read whole; it is
bad when its metadata cannot be read or names no object, when its size
differs from ``Content-Length``, or when the MD5 of its bytes differs from
``ETag``.  A bad object's whole hash dir moves to
``<dev>/quarantined/objects/<hash>`` and its suffix hash is invalidated, so
the next replication pass of a healthy replica puts a good copy back.

Reads are throttled by ``files_per_second`` (20) and ``bytes_per_second``
(10,000,000) so auditing does not starve client traffic; pages read are
dropped from the page cache as we go.  ``[object-auditor]`` of
object-server.conf (with [DEFAULT]) also takes ``devices``,
``mount_check``, ``interval`` (seconds between passes, 30) and
``log_time`` (seconds between progress lines, 3600).
"""

import errno
import hashlib
import os
import time

from eventlet import sleep as green_sleep

from swift.common.daemon import Daemon
from swift.common.utils import (audit_location_generator, config_float,
                                config_int, config_true_value,
                                drop_buffer_cache, ratelimit_sleep,
                                read_metadata)
from swift.obj import diskfile

READ_CHUNK = 65536


class AuditError(Exception):
    """Why one object is bad."""


class ObjectAuditor(Daemon):

    def __init__(self, conf):
        super().__init__(conf)
        self.devices = conf.get('devices', '/srv/node')
        self.mount_check = config_true_value(conf.get('mount_check', 'true'))
        self.interval = config_float(conf, 'interval', 30)
        self.files_per_second = config_float(conf, 'files_per_second', 20)
        self.bytes_per_second = config_float(conf, 'bytes_per_second',
                                             10000000)
        self.log_time = config_int(conf, 'log_time', 3600)
        self.stats = {}
        self._files_running_time = 0
        self._bytes_running_time = 0

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
        """Audit every object once; returns the pass's stats."""
        started = reported = time.time()
        self.stats = {'passes': 0, 'quarantines': 0, 'errors': 0,
                      'bytes': 0}
        for path, device, _partition in audit_location_generator(
                self.devices, diskfile.DATADIR, self.mount_check,
                self.logger, suffix=diskfile.DATA_EXT):
            self.audit_object(path, os.path.join(self.devices, device))
            self._files_running_time = ratelimit_sleep(
                self._files_running_time, self.files_per_second)
            if time.time() - reported >= self.log_time:
                reported = time.time()
                self.logger.info('Object audit in progress: %s', self.stats)
        self.logger.info(
            'Object audit pass done in %.2fs: %d passed, %d quarantined, '
            '%d errors, %d bytes read', time.time() - started,
            self.stats['passes'], self.stats['quarantines'],
            self.stats['errors'], self.stats['bytes'])
        return dict(self.stats)

    def audit_object(self, data_path, device_path):
        """Check one .data file; quarantine its hash dir when it is bad."""
        try:
            self.check_data_file(data_path)
        except AuditError as reason:
            hash_dir = os.path.dirname(data_path)
            if not os.path.exists(data_path):
                # Replaced by a newer write (or removed) while we read it:
                # that newer file is audited next pass, nothing to move.
                return
            try:
                target = diskfile.quarantine_dir(device_path, hash_dir)
            except OSError as err:
                self.stats['errors'] += 1
                self.logger.error('ERROR could not quarantine %s: %s',
                                  hash_dir, err)
                return
            self.stats['quarantines'] += 1
            self.logger.error('Quarantined %s to %s: %s', hash_dir, target,
                              reason)
        except OSError as err:
            if err.errno == errno.ENOENT:
                return  # superseded and cleaned up since we listed it
            self.stats['errors'] += 1
            self.logger.error('ERROR auditing %s: %s', data_path, err)
        else:
            self.stats['passes'] += 1

    def check_data_file(self, data_path):
        """Raise AuditError when the file does not match its metadata."""
        with open(data_path, 'rb') as fp:
            try:
                metadata = read_metadata(fp)
            except (ValueError, UnicodeDecodeError) as err:
                raise AuditError('unreadable metadata: %s' % err)
            if not metadata.get('name'):
                raise AuditError('metadata names no object')
            try:
                expected_size = int(metadata['Content-Length'])
                expected_etag = metadata['ETag']
            except (KeyError, TypeError, ValueError):
                raise AuditError('metadata lacks Content-Length/ETag')
            size = os.fstat(fp.fileno()).st_size
            if size != expected_size:
                raise AuditError('size %d != Content-Length %d'
                                 % (size, expected_size))
            md5 = hashlib.md5()
            offset = 0
            while True:
                chunk = fp.read(READ_CHUNK)
                if not chunk:
                    break
                md5.update(chunk)
                drop_buffer_cache(fp.fileno(), offset, len(chunk))
                offset += len(chunk)
                self.stats['bytes'] += len(chunk)
                self._bytes_running_time = ratelimit_sleep(
                    self._bytes_running_time, self.bytes_per_second,
                    incr_by=len(chunk))
            if md5.hexdigest() != expected_etag:
                raise AuditError('md5 %s != ETag %s'
                                 % (md5.hexdigest(), expected_etag))
