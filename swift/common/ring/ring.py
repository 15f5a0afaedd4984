"""The ring: which devices hold which partition, as read by every server.

File format.  The original pickled ``RingData`` into ``<name>.ring.gz``.
Unpickling runs arbitrary code, so anyone able to plant a ring file (or a
builder file) on a node could take over every server that reads it.  We
store gzipped JSON instead::

    {"format": "swift-ring", "version": 1,
     "part_shift": 24, "replica_count": 3,
     "devs": [{"id": 0, "zone": 1, "weight": 100.0, "ip": "...",
               "port": 6000, "device": "sdb1", "meta": ""}, null, ...],
     "replica2part2dev_id": ["<base64 of little-endian uint16 array>", ...]}

Readers reject any other format or a newer version instead of guessing.
"""

import array
import base64
import gzip
import hashlib
import json
import os
import struct
import sys
import tempfile
import time

from swift.common.utils import hash_path

RING_FORMAT = 'swift-ring'
RING_VERSION = 1
#: Device keys a ring file carries (builder-only bookkeeping is dropped).
DEV_KEYS = ('id', 'zone', 'weight', 'ip', 'port', 'device', 'meta')


def _encode_part_table(table):
    arr = array.array('H', table)
    if sys.byteorder != 'little':
        arr.byteswap()
    return base64.b64encode(arr.tobytes()).decode('ascii')


def _decode_part_table(text):
    arr = array.array('H')
    arr.frombytes(base64.b64decode(text.encode('ascii')))
    if sys.byteorder != 'little':
        arr.byteswap()
    return arr


class RingData:
    """The partition tables, device list and part shift of one ring."""

    def __init__(self, replica2part2dev_id, devs, part_shift):
        self._replica2part2dev_id = [array.array('H', t)
                                     for t in replica2part2dev_id]
        self.devs = devs
        self._part_shift = part_shift

    def to_dict(self):
        return {
            'format': RING_FORMAT,
            'version': RING_VERSION,
            'part_shift': self._part_shift,
            'replica_count': len(self._replica2part2dev_id),
            'devs': [None if d is None else {k: d.get(k) for k in DEV_KEYS}
                     for d in self.devs],
            'replica2part2dev_id': [_encode_part_table(t)
                                    for t in self._replica2part2dev_id],
        }

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or data.get('format') != RING_FORMAT:
            raise ValueError('not a swift ring file')
        if data.get('version') != RING_VERSION:
            raise ValueError('unsupported ring version %r' % data.get('version'))
        tables = [_decode_part_table(t) for t in data['replica2part2dev_id']]
        devs = data['devs']
        if len(tables) != data['replica_count']:
            raise ValueError('ring replica count does not match its tables')
        for table in tables:
            for dev_id in set(table):
                if dev_id >= len(devs) or devs[dev_id] is None:
                    raise ValueError('ring refers to unknown device %d' % dev_id)
        return cls(tables, devs, int(data['part_shift']))

    def save(self, filename):
        """Write atomically (temp file + rename): readers never see half."""
        directory = os.path.dirname(os.path.abspath(filename))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.ring.', suffix='.tmp')
        try:
            with os.fdopen(fd, 'wb') as raw:
                with gzip.GzipFile(fileobj=raw, mode='wb', mtime=0) as gz:
                    gz.write(json.dumps(self.to_dict()).encode('utf-8'))
                raw.flush()
                os.fsync(raw.fileno())
            os.chmod(tmp, 0o644)
            os.rename(tmp, filename)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    @classmethod
    def load(cls, filename):
        with gzip.open(filename, 'rb') as gz:
            raw = gz.read()
        try:
            data = json.loads(raw.decode('utf-8'))
        except (UnicodeDecodeError, ValueError):
            raise ValueError('%s is not a JSON ring (old pickled rings are '
                             'not read; rebuild it with swift-ring-builder)'
                             % filename)
        return cls.from_dict(data)


class Ring:
    """Read-only view of ``<swift_dir>/<ring_name>.ring.gz``.

    The file is re-read when its mtime changes; the check happens at most
    every ``reload_time`` seconds (0 = on every lookup).
    """

    def __init__(self, swift_dir, ring_name=None, reload_time=15):
        if ring_name is None:
            # Also accept the path of the ring file itself.
            self.serialized_path = swift_dir
        else:
            self.serialized_path = os.path.join(swift_dir,
                                                '%s.ring.gz' % ring_name)
        self.reload_time = reload_time
        self._mtime = None
        self._reload(force=True)

    def _reload(self, force=False):
        mtime = os.path.getmtime(self.serialized_path)
        if not force and mtime == self._mtime:
            self._rtime = time.monotonic() + self.reload_time
            return
        data = RingData.load(self.serialized_path)
        self._devs = data.devs
        self._replica2part2dev_id = data._replica2part2dev_id
        self._part_shift = data._part_shift
        self._mtime = mtime
        self._rtime = time.monotonic() + self.reload_time

    def has_changed(self):
        return os.path.getmtime(self.serialized_path) != self._mtime

    def _check_reload(self):
        if time.monotonic() >= self._rtime:
            self._reload()

    @property
    def devs(self):
        self._check_reload()
        return self._devs

    @property
    def replica_count(self):
        self._check_reload()
        return len(self._replica2part2dev_id)

    @property
    def partition_count(self):
        self._check_reload()
        return len(self._replica2part2dev_id[0]) \
            if self._replica2part2dev_id else 0

    @property
    def part_shift(self):
        return self._part_shift

    def get_part(self, account, container=None, obj=None):
        """Top bits of md5(path + suffix): the partition of this name."""
        self._check_reload()
        digest = hash_path(account, container, obj, raw_digest=True)
        return struct.unpack_from('>I', digest)[0] >> self._part_shift

    def get_part_nodes(self, part):
        """The primary device dicts of ``part``, one per replica."""
        self._check_reload()
        seen = set()
        nodes = []
        for table in self._replica2part2dev_id:
            dev_id = table[part]
            if dev_id not in seen:
                seen.add(dev_id)
                nodes.append(self._devs[dev_id])
        return nodes

    def get_nodes(self, account, container=None, obj=None):
        """(partition, primary nodes) for an account/container/object."""
        part = self.get_part(account, container, obj)
        return part, self.get_part_nodes(part)

    def get_more_nodes(self, part):
        """Hand-off devices for ``part``: first one per zone not used by the
        primaries, then every other device; the order is a deterministic
        shuffle seeded by the partition so hand-off load spreads out."""
        self._check_reload()
        primaries = self.get_part_nodes(part)
        primary_ids = {d['id'] for d in primaries}
        used_zones = {d['zone'] for d in primaries}
        candidates = [d for d in self._devs
                      if d is not None and d['id'] not in primary_ids
                      and d.get('weight', 0)]
        candidates.sort(key=lambda d: hashlib.md5(
            ('%d-%d' % (part, d['id'])).encode()).digest())
        yielded = set()
        for dev in candidates:
            if dev['zone'] not in used_zones:
                used_zones.add(dev['zone'])
                yielded.add(dev['id'])
                yield dev
        for dev in candidates:
            if dev['id'] not in yielded:
                yield dev
