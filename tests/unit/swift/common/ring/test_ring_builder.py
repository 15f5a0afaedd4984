"""RingBuilder placement invariants, Ring lookups/reload and the CLIs."""

import collections
import gzip
import io
import json
import os
import pickle
import time

import pytest

from swift.cli import getnodes, ringbuilder
from swift.common import exceptions, utils
from swift.common.ring import Ring, RingBuilder, RingData


def make_builder(zones=4, devs_per_zone=1, part_power=8, replicas=3,
                 min_part_hours=1, weight=100.0):
    builder = RingBuilder(part_power, replicas, min_part_hours)
    port = 6000
    for zone in range(1, zones + 1):
        for i in range(devs_per_zone):
            builder.add_dev({'zone': zone, 'weight': weight,
                             'ip': '127.0.0.%d' % zone, 'port': port,
                             'device': 'sd%s' % chr(ord('a') + i)})
            port += 1
    return builder


def assignments(builder):
    return [list(t) for t in builder._replica2part2dev]


def assert_dispersed(builder):
    for part in range(builder.parts):
        devs = [builder.devs[t[part]] for t in builder._replica2part2dev]
        assert len({d['id'] for d in devs}) == builder.replicas, part
        if builder.zone_count() >= builder.replicas:
            assert len({d['zone'] for d in devs}) == builder.replicas, part


def moved_parts(before, after):
    return {part for r in range(len(before))
            for part in range(len(before[r])) if before[r][part] != after[r][part]}


class TestRingBuilder:
    def test_initial_rebalance_places_every_replica_in_distinct_zones(self):
        builder = make_builder(zones=5, devs_per_zone=2)
        moved, balance = builder.rebalance()
        assert moved == builder.parts
        builder.validate()
        assert_dispersed(builder)
        assert balance < 2.0

    def test_weights_respected(self):
        builder = RingBuilder(10, 3, 1)
        for zone, weight in ((1, 100), (2, 200), (3, 100), (4, 200),
                             (5, 100), (6, 200)):
            builder.add_dev({'zone': zone, 'weight': weight, 'ip': '10.0.0.1',
                             'port': 6000 + zone, 'device': 'sdb'})
        builder.rebalance()
        total = builder.parts * builder.replicas
        for dev in builder.devs:
            wanted = total * dev['weight'] / 900.0
            assert abs(dev['parts'] - wanted) / wanted < 0.02, dev
        assert builder.get_balance() < 2.0

    def test_adding_a_device_moves_about_the_minimum(self):
        builder = make_builder(zones=4)
        builder.rebalance()
        before = assignments(builder)
        builder.add_dev({'zone': 5, 'weight': 100.0, 'ip': '127.0.0.5',
                         'port': 7000, 'device': 'sdz'})
        builder.pretend_min_part_hours_passed()
        moved, balance = builder.rebalance()
        after = assignments(builder)
        ideal = builder.parts * builder.replicas / 5.0
        changed_replicas = sum(1 for r in range(3)
                               for p in range(builder.parts)
                               if before[r][p] != after[r][p])
        # only the new device's share moves (a few percent of slack)
        assert ideal * 0.95 <= changed_replicas <= ideal * 1.05
        assert moved == len(moved_parts(before, after))
        # every moved replica went to the new device
        for r in range(3):
            for p in range(builder.parts):
                if before[r][p] != after[r][p]:
                    assert after[r][p] == 4
        assert balance < 2.0
        assert_dispersed(builder)

    def test_min_part_hours_is_honoured(self):
        builder = make_builder(zones=4, min_part_hours=1)
        builder.rebalance()
        before = assignments(builder)
        builder.add_dev({'zone': 5, 'weight': 100.0, 'ip': '127.0.0.5',
                         'port': 7000, 'device': 'sdz'})
        moved, _balance = builder.rebalance()
        assert moved == 0
        assert assignments(builder) == before
        # an hour later the partitions may move, once each
        builder._last_part_moves_epoch -= 3600
        moved, _balance = builder.rebalance()
        assert moved > 0
        after = assignments(builder)
        for p in moved_parts(before, after):
            assert sum(before[r][p] != after[r][p] for r in range(3)) == 1
        just_moved = moved_parts(before, after)
        builder.set_dev_weight(4, 300.0)
        assert builder.rebalance()[0] > 0
        # partitions moved an hour ago may not move again yet
        assert not moved_parts(after, assignments(builder)) & just_moved

    def test_remove_device_moves_its_partitions_even_within_min_part_hours(self):
        builder = make_builder(zones=5)
        builder.rebalance()
        builder.remove_dev(2)
        builder.rebalance()
        assert builder.devs[2] is None
        for table in builder._replica2part2dev:
            assert 2 not in table
        builder.validate()
        assert_dispersed(builder)

    def test_zero_weight_drains_device(self):
        builder = make_builder(zones=5)
        builder.rebalance()
        builder.set_dev_weight(0, 0)
        builder.pretend_min_part_hours_passed()
        builder.rebalance()
        assert builder.devs[0]['parts'] == 0
        assert_dispersed(builder)

    def test_fewer_zones_than_replicas_still_uses_distinct_devices(self):
        builder = make_builder(zones=2, devs_per_zone=2)
        builder.rebalance()
        builder.validate()
        for part in range(builder.parts):
            devs = {t[part] for t in builder._replica2part2dev}
            assert len(devs) == 3
            zones = {builder.devs[d]['zone'] for d in devs}
            assert zones == {1, 2}

    def test_errors(self):
        with pytest.raises(exceptions.RingBuilderError):
            RingBuilder(30, 3, 1)
        with pytest.raises(exceptions.RingBuilderError):
            RingBuilder(8, 0, 1)
        builder = make_builder(zones=1)
        with pytest.raises(exceptions.DuplicateDeviceError):
            builder.add_dev({'zone': 2, 'weight': 1, 'ip': '127.0.0.1',
                             'port': 6000, 'device': 'sda'})
        with pytest.raises(exceptions.RingBuilderError):
            builder.add_dev({'zone': 2, 'weight': -1, 'ip': '127.0.0.9',
                             'port': 6000, 'device': 'sda'})
        with pytest.raises(exceptions.EmptyRingError):
            RingBuilder(4, 3, 1).rebalance()
        with pytest.raises(exceptions.RingValidationError):
            RingBuilder(4, 3, 1).get_ring()

    def test_search(self):
        builder = make_builder(zones=3)
        builder.devs[1]['meta'] = 'fast disk'
        assert [d['id'] for d in builder.search_devs('d1')] == [1]
        assert [d['id'] for d in builder.search_devs('z3')] == [2]
        assert [d['id'] for d in builder.search_devs('-127.0.0.2')] == [1]
        assert [d['id'] for d in builder.search_devs('z1-127.0.0.1:6000')] \
            == [0]
        assert [d['id'] for d in builder.search_devs('/sda')] == [0, 1, 2]
        assert [d['id'] for d in builder.search_devs('_fast')] == [1]
        assert builder.search_devs('d9') == []

    def test_save_and_load_roundtrip_as_json(self, tmp_path):
        builder = make_builder()
        builder.rebalance()
        path = str(tmp_path / 'object.builder')
        builder.save(path)
        with gzip.open(path) as f:
            data = json.loads(f.read())
        assert data['format'] == 'swift-ring-builder'
        loaded = RingBuilder.load(path)
        assert assignments(loaded) == assignments(builder)
        assert [d['parts'] for d in loaded.devs] == \
            [d['parts'] for d in builder.devs]
        assert loaded.min_part_hours == 1

    def test_pickled_builder_is_refused(self, tmp_path):
        path = str(tmp_path / 'old.builder')
        with gzip.open(path, 'wb') as f:
            f.write(pickle.dumps({'part_power': 8}))
        with pytest.raises(exceptions.RingBuilderError):
            RingBuilder.load(path)


@pytest.fixture
def ring_dir(tmp_path):
    builder = make_builder(zones=5, part_power=6)
    builder.rebalance()
    builder.get_ring().save(str(tmp_path / 'object.ring.gz'))
    return tmp_path, builder


class TestRing:
    def test_get_nodes_matches_builder_and_hash(self, ring_dir):
        import hashlib
        import struct
        path, builder = ring_dir
        ring = Ring(str(path), 'object')
        assert ring.replica_count == 3
        assert ring.partition_count == 64
        part, nodes = ring.get_nodes('a', 'c', 'o')
        digest = hashlib.md5(b'/a/c/o' + utils.HASH_PATH_SUFFIX).digest()
        assert part == struct.unpack('>I', digest[:4])[0] >> (32 - 6)
        assert [n['id'] for n in nodes] == \
            [t[part] for t in builder._replica2part2dev]
        assert set(nodes[0]) == {'id', 'zone', 'weight', 'ip', 'port',
                                 'device', 'meta'}
        assert ring.get_part_nodes(part) == nodes

    def test_handoffs_other_zones_first_then_rest(self, ring_dir):
        path, _builder = ring_dir
        ring = Ring(str(path), 'object')
        for part in range(ring.partition_count):
            primaries = ring.get_part_nodes(part)
            handoffs = list(ring.get_more_nodes(part))
            assert len(handoffs) == 2
            assert {h['id'] for h in handoffs}.isdisjoint(
                p['id'] for p in primaries)
            assert len({h['zone'] for h in handoffs} |
                       {p['zone'] for p in primaries}) == 5
            assert handoffs == list(ring.get_more_nodes(part))

    def test_reload_when_file_changes(self, ring_dir):
        path, builder = ring_dir
        ring = Ring(str(path), 'object', reload_time=0)
        old_ids = {d['id'] for d in ring.devs if d}
        builder.add_dev({'zone': 6, 'weight': 100.0, 'ip': '127.0.0.6',
                         'port': 7777, 'device': 'sdx'})
        builder.pretend_min_part_hours_passed()
        builder.rebalance()
        builder.get_ring().save(str(path / 'object.ring.gz'))
        # make sure the mtime differs even on coarse-grained filesystems
        mtime = os.path.getmtime(path / 'object.ring.gz') + 5
        os.utime(path / 'object.ring.gz', (mtime, mtime))
        assert {d['id'] for d in ring.devs if d} == old_ids | {5}
        slow = Ring(str(path), 'object', reload_time=3600)
        assert len(slow.devs) == 6

    def test_ring_file_is_json_and_pickle_refused(self, ring_dir, tmp_path):
        path, _builder = ring_dir
        with gzip.open(path / 'object.ring.gz') as f:
            data = json.loads(f.read())
        assert data['format'] == 'swift-ring' and data['version'] == 1
        with gzip.open(tmp_path / 'bad.ring.gz', 'wb') as f:
            f.write(pickle.dumps({'devs': []}))
        with pytest.raises(ValueError):
            Ring(str(tmp_path), 'bad')
        data['version'] = 99
        with pytest.raises(ValueError):
            RingData.from_dict(data)


def run_cli(*args):
    out = io.StringIO()
    code = ringbuilder.main(['swift-ring-builder'] + list(args), out=out)
    return code, out.getvalue()


class TestRingBuilderCli:
    def test_full_workflow(self, tmp_path):
        b = str(tmp_path / 'account.builder')
        assert run_cli(b, 'create', '6', '3', '1')[0] == 0
        code, out = run_cli(b, 'add', 'z1-127.0.0.1:6002/sdb1_ssd', '100',
                            'z2-127.0.0.1:6012/sdb2', '100',
                            'z3-127.0.0.1:6022/sdb3', '100',
                            'z4-127.0.0.1:6032/sdb4', '100')
        assert code == 0 and 'got id 3' in out
        code, out = run_cli(b, 'rebalance')
        assert code == 0, out
        assert 'Reassigned 64' in out
        assert os.path.exists(tmp_path / 'account.ring.gz')
        assert os.listdir(tmp_path / 'backups')
        code, out = run_cli(b, 'rebalance')
        assert code == 1 and 'No partitions could be reassigned' in out
        code, out = run_cli(b)
        assert code == 0
        assert '64 partitions, 3 replicas, 4 zones, 4 devices' in out
        assert 'ssd' in out
        code, out = run_cli(b, 'search', 'z2')
        assert code == 0 and 'sdb2' in out and 'sdb1' not in out
        assert run_cli(b, 'search', 'z9')[0] == 2
        assert run_cli(b, 'set_weight', 'd0', '50')[0] == 0
        assert RingBuilder.load(b).devs[0]['weight'] == 50.0
        assert run_cli(b, 'set_info', 'd0', '127.0.0.9:7000/sdq_x')[0] == 0
        assert RingBuilder.load(b).devs[0]['device'] == 'sdq'
        assert run_cli(b, 'remove', 'd3')[0] == 0
        assert run_cli(b, 'pretend_min_part_hours_passed')[0] == 0
        code, out = run_cli(b, 'rebalance')
        assert code in (0, 1), out
        assert RingBuilder.load(b).devs[3] is None
        assert run_cli(b, 'validate')[0] == 0
        os.unlink(tmp_path / 'account.ring.gz')
        assert run_cli(b, 'write_ring')[0] == 0
        assert Ring(str(tmp_path), 'account').replica_count == 3
        assert run_cli(b, 'set_min_part_hours', '5')[0] == 0
        assert RingBuilder.load(b).min_part_hours == 5

    def test_errors_exit_2_and_save_nothing(self, tmp_path):
        b = str(tmp_path / 'o.builder')
        assert run_cli()[0] == 2
        assert run_cli(b)[0] == 2  # missing builder
        code, out = run_cli(b, 'create', 'x', '3', '1')
        assert code == 2 and not os.path.exists(b)
        assert run_cli(b, 'create', '6', '3', '1')[0] == 0
        with open(b, 'rb') as f:
            saved = f.read()
        assert run_cli(b, 'add', 'z1-127.0.0.1:6000/sda', '1',
                       'bogus', '1')[0] == 2
        assert run_cli(b, 'add', 'z1-127.0.0.1:6000/sda')[0] == 2
        assert run_cli(b, 'add', 'z1-127.0.0.1:6000/sda', 'heavy')[0] == 2
        with open(b, 'rb') as f:
            assert f.read() == saved
        code, out = run_cli(b, 'frobnicate')
        assert code == 2 and 'Usage' not in out and 'create' in out
        assert run_cli(b, 'rebalance')[0] == 2  # no devices
        assert run_cli(b, 'write_ring')[0] == 2  # never balanced

    def test_launcher_runs_from_checkout(self, tmp_path):
        import subprocess
        import sys
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__)))))))
        b = str(tmp_path / 'c.builder')
        proc = subprocess.run(
            [sys.executable, os.path.join(root, 'bin', 'swift-ring-builder'),
             b, 'create', '4', '3', '1'], capture_output=True, timeout=60,
            cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stderr
        assert os.path.exists(b)


def test_get_nodes_cli(ring_dir):
    path, _builder = ring_dir
    out = io.StringIO()
    code = getnodes.main(['swift-get-nodes', str(path / 'object.ring.gz'),
                          'AUTH_test', 'c', 'o'], out=out)
    text = out.getvalue()
    assert code == 0
    ring = Ring(str(path), 'object')
    part, nodes = ring.get_nodes('AUTH_test', 'c', 'o')
    assert 'Partition\t%d' % part in text
    assert text.count('[Handoff]') == 6  # 2 handoffs: node, curl, ssh lines
    for node in nodes:
        assert 'curl -I -XHEAD "http://%s:%s/%s/%d/AUTH_test/c/o"' % (
            node['ip'], node['port'], node['device'], part) in text
    assert getnodes.main(['swift-get-nodes'], out=io.StringIO()) == 1


def test_counts_helper_is_consistent():
    builder = make_builder()
    builder.rebalance()
    counts = collections.Counter(d for t in builder._replica2part2dev
                                 for d in t)
    assert counts == {d['id']: d['parts'] for d in builder.devs}
    assert time.time() >= builder._last_part_moves_epoch
