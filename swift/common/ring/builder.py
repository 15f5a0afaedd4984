"""RingBuilder: decides which devices hold each partition's replicas.

Placement rules, in priority order:

1. a partition's replicas sit on distinct devices, and in distinct zones as
   long as there are at least as many zones as replicas;
2. a partition is moved at most once per ``min_part_hours`` (except off a
   device being removed, whose data must go somewhere), and at most one of
   its replicas moves per rebalance, so two copies are always in place;
3. devices hold partitions in proportion to their weight;
4. a rebalance moves as few partitions as it can to get there.

The builder file is gzipped JSON with a format version (the original
pickled the builder; see swift.common.ring.ring for why we do not).
"""

import array
import gzip
import heapq
import json
import os
import random
import re
import tempfile
import time

from swift.common import exceptions
from swift.common.ring.ring import RingData

BUILDER_FORMAT = 'swift-ring-builder'
BUILDER_VERSION = 1
#: Marker for a partition replica not assigned to any device.
NONE_DEV = 0xFFFF
MAX_PART_POWER = 24
DEV_FIELDS = ('id', 'zone', 'weight', 'ip', 'port', 'device', 'meta')


class RingBuilder:

    def __init__(self, part_power, replicas, min_part_hours):
        part_power = int(part_power)
        replicas = int(replicas)
        min_part_hours = int(min_part_hours)
        if not 0 <= part_power <= MAX_PART_POWER:
            raise exceptions.RingBuilderError(
                'part_power must be between 0 and %d' % MAX_PART_POWER)
        if replicas < 1:
            raise exceptions.RingBuilderError('replicas must be at least 1')
        if not 0 <= min_part_hours <= 255:
            raise exceptions.RingBuilderError(
                'min_part_hours must be between 0 and 255')
        self.part_power = part_power
        self.replicas = replicas
        self.min_part_hours = min_part_hours
        self.parts = 2 ** part_power
        self.devs = []
        self.devs_changed = False
        self.version = 0
        self._replica2part2dev = None
        self._last_part_moves = array.array('B', bytes(self.parts))
        self._last_part_moves_epoch = None
        self._remove_devs = []

    # ------------------------------------------------------------- devices

    def add_dev(self, dev):
        """Add a device dict (zone, weight, ip, port, device, meta; optional
        id).  Returns its id.  Ids are never reused."""
        dev = dict(dev)
        for key in ('zone', 'weight', 'ip', 'port', 'device'):
            if key not in dev:
                raise exceptions.RingBuilderError('device needs %r' % key)
        dev.setdefault('meta', '')
        dev['zone'] = int(dev['zone'])
        dev['port'] = int(dev['port'])
        dev['weight'] = float(dev['weight'])
        if dev['weight'] < 0:
            raise exceptions.RingBuilderError('weight must be >= 0')
        if not dev['device'] or '/' in dev['device']:
            raise exceptions.RingBuilderError('bad device name %r'
                                              % dev['device'])
        for other in self.devs:
            if other is not None and (other['ip'], other['port'],
                                      other['device']) == (
                    dev['ip'], dev['port'], dev['device']):
                raise exceptions.DuplicateDeviceError(
                    'Device %s:%s/%s already exists with id %d'
                    % (dev['ip'], dev['port'], dev['device'], other['id']))
        if dev.get('id') is None:
            dev['id'] = len(self.devs)
        dev['id'] = int(dev['id'])
        if dev['id'] >= NONE_DEV:
            raise exceptions.RingBuilderError('too many devices')
        while dev['id'] >= len(self.devs):
            self.devs.append(None)
        if self.devs[dev['id']] is not None:
            raise exceptions.DuplicateDeviceError(
                'Duplicate device id: %d' % dev['id'])
        dev['parts'] = 0
        self.devs[dev['id']] = {k: dev[k] for k in DEV_FIELDS + ('parts',)}
        self._count_parts()
        self.devs_changed = True
        self.version += 1
        return dev['id']

    def _get_dev(self, dev_id):
        if not 0 <= dev_id < len(self.devs) or self.devs[dev_id] is None:
            raise exceptions.RingBuilderError('no device with id %s' % dev_id)
        return self.devs[dev_id]

    def set_dev_weight(self, dev_id, weight):
        weight = float(weight)
        if weight < 0:
            raise exceptions.RingBuilderError('weight must be >= 0')
        self._get_dev(dev_id)['weight'] = weight
        self.devs_changed = True
        self.version += 1

    def set_dev_info(self, dev_id, ip=None, port=None, device=None, meta=None):
        dev = self._get_dev(dev_id)
        for key, value in (('ip', ip), ('port', port), ('device', device),
                           ('meta', meta)):
            if value is not None:
                dev[key] = int(value) if key == 'port' else value
        self.devs_changed = True
        self.version += 1

    def remove_dev(self, dev_id):
        """Drain the device (weight 0); the next rebalance removes it."""
        dev = self._get_dev(dev_id)
        dev['weight'] = 0.0
        if dev_id not in self._remove_devs:
            self._remove_devs.append(dev_id)
        self.devs_changed = True
        self.version += 1

    def search_devs(self, search_value):
        """Devices matching ``d<id>z<zone>-<ip>:<port>/<device>_<meta>``
        (every part optional)."""
        criteria = parse_search_value(search_value)
        found = []
        for dev in self.devs:
            if dev is None:
                continue
            if all(str(dev[k]) == str(v) if k != 'meta'
                   else v in dev['meta'] for k, v in criteria.items()):
                found.append(dev)
        return found

    def pretend_min_part_hours_passed(self):
        self._last_part_moves = array.array('B', [0xFF] * self.parts)

    def set_min_part_hours(self, hours):
        hours = int(hours)
        if not 0 <= hours <= 255:
            raise exceptions.RingBuilderError(
                'min_part_hours must be between 0 and 255')
        self.min_part_hours = hours

    # ------------------------------------------------------------- balance

    def _live_devs(self):
        return [d for d in self.devs if d is not None]

    def _weighted_devs(self):
        return [d for d in self._live_devs() if d['weight'] > 0]

    def _parts_per_weight(self):
        total = sum(d['weight'] for d in self._weighted_devs())
        if not total:
            return 0.0
        return self.parts * self.replicas / total

    def _count_parts(self):
        for dev in self._live_devs():
            dev['parts'] = 0
        if self._replica2part2dev is None:
            return
        for table in self._replica2part2dev:
            for dev_id in table:
                if dev_id != NONE_DEV and self.devs[dev_id] is not None:
                    self.devs[dev_id]['parts'] += 1

    def dev_balance(self, dev):
        """Percent above (+) or below (-) the device's fair share."""
        ppw = self._parts_per_weight()
        if not dev['weight'] or not ppw:
            return 0.0 if not dev['parts'] else 999.99
        return 100.0 * dev['parts'] / (dev['weight'] * ppw) - 100.0

    def get_balance(self):
        """The worst |balance| over devices (0 = perfect)."""
        self._count_parts()
        worst = 0.0
        for dev in self._live_devs():
            worst = max(worst, abs(self.dev_balance(dev)))
        return worst

    def zone_count(self):
        return len({d['zone'] for d in self._weighted_devs()})

    # ----------------------------------------------------------- rebalance

    def _update_last_part_moves(self):
        """Age every partition by the whole hours since the last rebalance."""
        now = int(time.time())
        if self._last_part_moves_epoch is None:
            self._last_part_moves_epoch = now
            return
        elapsed = (now - self._last_part_moves_epoch) // 3600
        if elapsed <= 0:
            return
        self._last_part_moves = array.array(
            'B', [min(0xFF, h + elapsed) for h in self._last_part_moves])
        self._last_part_moves_epoch += elapsed * 3600

    def rebalance(self, seed=None):
        """Reassign partitions; returns (partitions moved, balance)."""
        rng = random.Random(seed)
        if not self._weighted_devs():
            raise exceptions.EmptyRingError(
                'There are no devices with weight in this ring')
        self._update_last_part_moves()
        if self._replica2part2dev is None:
            self._replica2part2dev = [
                array.array('H', [NONE_DEV] * self.parts)
                for _ in range(self.replicas)]
        self._count_parts()
        ppw = self._parts_per_weight()
        for dev in self._live_devs():
            dev['desired'] = dev['weight'] * ppw
        moved_parts = set()
        to_place = self._gather_parts(rng, moved_parts)
        self._place_parts(to_place, rng)
        for part, _replica in to_place:
            self._last_part_moves[part] = 0
        for dev_id in self._remove_devs:
            self.devs[dev_id] = None
        self._remove_devs = []
        for dev in self._live_devs():
            dev.pop('desired', None)
        self.devs_changed = False
        self.version += 1
        self._count_parts()
        moved = len({part for part, _r in to_place})
        return moved, self.get_balance()

    def _movable(self, part):
        return self._last_part_moves[part] >= self.min_part_hours

    def _gather_parts(self, rng, moved_parts):
        """Take replicas off devices; returns [(part, replica)] to place."""
        tables = self._replica2part2dev
        devs = self.devs
        enough_zones = self.zone_count() >= self.replicas
        to_place = []

        def take(part, replica):
            dev_id = tables[replica][part]
            if dev_id != NONE_DEV and devs[dev_id] is not None:
                devs[dev_id]['parts'] -= 1
            tables[replica][part] = NONE_DEV
            to_place.append((part, replica))
            moved_parts.add(part)

        # 1. unassigned replicas and replicas on devices being removed
        removing = set(self._remove_devs)
        for replica, table in enumerate(tables):
            for part, dev_id in enumerate(table):
                if dev_id == NONE_DEV or dev_id in removing \
                        or devs[dev_id] is None:
                    take(part, replica)

        # 2. replicas sharing a device, or a zone when zones suffice
        for part in range(self.parts):
            if not self._movable(part) or part in moved_parts:
                continue
            seen_devs = set()
            seen_zones = set()
            for replica, table in enumerate(tables):
                dev_id = table[part]
                if dev_id == NONE_DEV:
                    continue
                zone = devs[dev_id]['zone']
                if dev_id in seen_devs or (enough_zones and zone in seen_zones):
                    take(part, replica)
                    break
                seen_devs.add(dev_id)
                seen_zones.add(zone)

        # 3. devices holding more than their share (at least one whole part
        #    more, so a device is never robbed to be left short)
        overweight = [d for d in self._live_devs()
                      if d['parts'] >= d['desired'] + 1]
        if overweight:
            where = {d['id']: [] for d in overweight}
            for replica, table in enumerate(tables):
                for part, dev_id in enumerate(table):
                    if dev_id in where:
                        where[dev_id].append((part, replica))
            for dev in overweight:
                candidates = where[dev['id']]
                rng.shuffle(candidates)
                for part, replica in candidates:
                    if dev['parts'] < dev['desired'] + 1:
                        break
                    if part in moved_parts or not self._movable(part):
                        continue
                    take(part, replica)
        return to_place

    def _place_parts(self, to_place, rng):
        """Give each (part, replica) to the neediest allowed device."""
        tables = self._replica2part2dev
        devs = self.devs
        weighted = self._weighted_devs()
        zones = {}
        for dev in weighted:
            zones.setdefault(dev['zone'], []).append(dev)
        # per-zone max-heaps on how many parts a device still wants
        heaps = {}
        for zone, zdevs in zones.items():
            heap = [(-(d['desired'] - d['parts']), rng.random(), d['id'])
                    for d in zdevs]
            heapq.heapify(heap)
            heaps[zone] = heap

        def give(dev, part, replica):
            tables[replica][part] = dev['id']
            dev['parts'] += 1

        rng.shuffle(to_place)
        for part, replica in to_place:
            holders = {tables[r][part] for r in range(self.replicas)
                       if tables[r][part] != NONE_DEV}
            used_zones = {devs[h]['zone'] for h in holders}
            best_zone = None
            best_key = None
            for zone, heap in heaps.items():
                if zone in used_zones:
                    continue
                if best_key is None or heap[0] < best_key:
                    best_key = heap[0]
                    best_zone = zone
            if best_zone is not None:
                heap = heaps[best_zone]
                _, _, dev_id = heapq.heappop(heap)
                dev = devs[dev_id]
                give(dev, part, replica)
                heapq.heappush(heap, (-(dev['desired'] - dev['parts']),
                                      rng.random(), dev_id))
                continue
            # Fewer zones than replicas: a different device in a used zone,
            # or, with fewer devices than replicas, any device at all.
            choices = [d for d in weighted if d['id'] not in holders] \
                or weighted
            dev = max(choices, key=lambda d: (d['desired'] - d['parts'],
                                              rng.random()))
            give(dev, part, replica)
            heap = heaps[dev['zone']]
            heap[:] = [(-(d['desired'] - d['parts']), rng.random(), d['id'])
                       for d in zones[dev['zone']]]
            heapq.heapify(heap)

    # ---------------------------------------------------------------- ring

    def validate(self, stats=False):
        """Raise RingValidationError unless every replica of every partition
        sits on a live device and part counts add up."""
        if self._replica2part2dev is None:
            raise exceptions.RingValidationError('ring has not been balanced')
        counts = {}
        for table in self._replica2part2dev:
            if len(table) != self.parts:
                raise exceptions.RingValidationError('bad partition table')
            for part, dev_id in enumerate(table):
                if dev_id == NONE_DEV or dev_id >= len(self.devs) \
                        or self.devs[dev_id] is None:
                    raise exceptions.RingValidationError(
                        'partition %d has an unassigned replica' % part)
                counts[dev_id] = counts.get(dev_id, 0) + 1
        self._count_parts()
        for dev in self._live_devs():
            if dev['parts'] != counts.get(dev['id'], 0):
                raise exceptions.RingValidationError(
                    'device %d part count is wrong' % dev['id'])
        if stats:
            return counts
        return None

    def get_ring(self):
        """The RingData servers read (partition tables + device dicts)."""
        if self._replica2part2dev is None:
            raise exceptions.RingValidationError('ring has not been balanced')
        devs = [None if d is None else {k: d[k] for k in DEV_FIELDS}
                for d in self.devs]
        return RingData([array.array('H', t) for t in self._replica2part2dev],
                        devs, 32 - self.part_power)

    def to_dict(self):
        return {
            'format': BUILDER_FORMAT,
            'version': BUILDER_VERSION,
            'build_version': self.version,
            'part_power': self.part_power,
            'replicas': self.replicas,
            'min_part_hours': self.min_part_hours,
            'devs': [None if d is None else {k: d[k] for k in DEV_FIELDS}
                     for d in self.devs],
            'devs_changed': self.devs_changed,
            'remove_devs': list(self._remove_devs),
            'replica2part2dev': None if self._replica2part2dev is None
            else [list(t) for t in self._replica2part2dev],
            'last_part_moves': list(self._last_part_moves),
            'last_part_moves_epoch': self._last_part_moves_epoch,
        }

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or data.get('format') != BUILDER_FORMAT:
            raise exceptions.RingBuilderError('not a ring builder file')
        if data.get('version') != BUILDER_VERSION:
            raise exceptions.RingBuilderError(
                'unsupported builder version %r' % data.get('version'))
        builder = cls(data['part_power'], data['replicas'],
                      data['min_part_hours'])
        builder.version = int(data.get('build_version', 0))
        builder.devs = [None if d is None else dict(d, parts=0)
                        for d in data['devs']]
        builder.devs_changed = bool(data.get('devs_changed'))
        builder._remove_devs = list(data.get('remove_devs', []))
        if data.get('replica2part2dev') is not None:
            builder._replica2part2dev = [array.array('H', t)
                                         for t in data['replica2part2dev']]
        builder._last_part_moves = array.array('B', data['last_part_moves'])
        builder._last_part_moves_epoch = data.get('last_part_moves_epoch')
        builder._count_parts()
        return builder

    def save(self, filename):
        """Write the builder file atomically (gzipped JSON)."""
        directory = os.path.dirname(os.path.abspath(filename))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.builder.',
                                   suffix='.tmp')
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
        try:
            with gzip.open(filename, 'rb') as gz:
                raw = gz.read()
            data = json.loads(raw.decode('utf-8'))
        except (OSError, EOFError, UnicodeDecodeError, ValueError) as err:
            raise exceptions.RingBuilderError(
                'cannot read builder file %s (%s); pickled builders from '
                'the original are not read' % (filename, err))
        return cls.from_dict(data)


_SEARCH_RE = re.compile(
    r'^(?:d(?P<id>\d+))?'
    r'(?:z(?P<zone>\d+))?'
    r'(?:-(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9.]+|[A-Za-z0-9.-]+?))?'
    r'(?::(?P<port>\d+))?'
    r'(?:/(?P<device>[^_]+))?'
    r'(?:_(?P<meta>.*))?$')


def parse_search_value(search_value):
    """``d1z2-10.0.0.1:6000/sdb1_meta`` -> {'id': 1, 'zone': 2, ...}."""
    if not search_value:
        raise exceptions.RingBuilderError('empty search value')
    value = search_value
    match = _SEARCH_RE.match(value)
    if not match:
        raise exceptions.RingBuilderError(
            'Invalid search value: %s' % search_value)
    criteria = {}
    for key, found in match.groupdict().items():
        if found is None:
            continue
        if key in ('id', 'zone', 'port'):
            found = int(found)
        if key == 'ip' and found.startswith('['):
            found = found[1:-1]
        criteria[key] = found
    if not criteria:
        raise exceptions.RingBuilderError(
            'Invalid search value: %s' % search_value)
    return criteria


def parse_add_value(add_value):
    """``z1-10.0.0.1:6000/sdb1_meta`` -> device dict (no weight)."""
    match = re.match(r'^z(?P<zone>\d+)-(?P<ip>\[[0-9a-fA-F:.]+\]|[^:/\[]+)'
                     r':(?P<port>\d+)/(?P<device>[^_/]+)(?:_(?P<meta>.*))?$',
                     add_value)
    if not match:
        raise exceptions.RingBuilderError(
            'Invalid device value %r: expected z<zone>-<ip>:<port>/'
            '<device>_<meta>' % add_value)
    ip = match.group('ip')
    if ip.startswith('['):
        ip = ip[1:-1]
    return {'zone': int(match.group('zone')), 'ip': ip,
            'port': int(match.group('port')),
            'device': match.group('device'),
            'meta': match.group('meta') or ''}

