"""On-disk rules: which files survive, async pending records, suffix hashes."""

import json
import os
import time

import pytest

from swift.common.utils import hash_path, write_metadata
from swift.obj import diskfile


def touch(directory, *names):
    os.makedirs(directory, exist_ok=True)
    for name in names:
        with open(os.path.join(directory, name), 'wb'):
            pass


def test_cleanup_keeps_newest_data_and_newer_meta(tmp_path):
    d = str(tmp_path / 'h')
    touch(d, '0000000001.00000.data', '0000000002.00000.ts',
          '0000000003.00000.data', '0000000004.00000.meta',
          '0000000005.00000.meta', '0000000002.50000.meta', 'junk.tmp')
    kept = diskfile.cleanup_hash_dir(d)
    assert kept == ['0000000005.00000.meta', '0000000004.00000.meta',
                    '0000000003.00000.data']
    assert sorted(os.listdir(d)) == sorted(kept + ['junk.tmp'])


def test_cleanup_drops_meta_newer_than_a_tombstone(tmp_path):
    d = str(tmp_path / 'h')
    touch(d, '0000000001.00000.data', '0000000002.00000.ts',
          '0000000003.00000.meta')
    assert diskfile.cleanup_hash_dir(d) == ['0000000002.00000.ts']


def test_cleanup_reclaims_old_tombstones_only_when_asked(tmp_path):
    d = str(tmp_path / 'h')
    old = '%016.05f.ts' % (time.time() - 10 * 86400)
    touch(d, old)
    assert diskfile.cleanup_hash_dir(d) == [old]
    assert diskfile.cleanup_hash_dir(d, reclaim_age=7 * 86400) == []
    assert not os.path.exists(d)


def test_cleanup_same_timestamp_prefers_data_over_ts(tmp_path):
    d = str(tmp_path / 'h')
    touch(d, '0000000001.00000.ts', '0000000001.00000.data')
    assert diskfile.cleanup_hash_dir(d) == ['0000000001.00000.data']


def test_file_timestamp():
    assert diskfile.file_timestamp('0000000001.50000.data') == 1.5
    assert diskfile.file_timestamp('x.data') is None
    assert diskfile.file_timestamp('0000000001.50000.tmp') is None


def test_open_missing_object(tmp_path):
    df = diskfile.DiskFile(str(tmp_path), 'sda1', '0', 'a', 'c', 'o').open()
    assert not df.exists
    assert df.timestamp is None


def test_open_rejects_metadata_of_another_object(tmp_path):
    df = diskfile.DiskFile(str(tmp_path), 'sda1', '0', 'a', 'c', 'o')
    touch(df.datadir, '0000000001.00000.data')
    write_metadata(os.path.join(df.datadir, '0000000001.00000.data'),
                   {'name': '/a/c/other', 'Content-Length': '0',
                    'X-Timestamp': '0000000001.00000', 'ETag': 'x',
                    'Content-Type': 't'})
    df.open()
    assert not df.exists
    assert df.quarantined_to is not None
    assert os.path.isdir(df.quarantined_to)


def test_writer_abandoned_leaves_no_temp_file(tmp_path):
    df = diskfile.DiskFile(str(tmp_path), 'sda1', '0', 'a', 'c', 'o')
    with pytest.raises(RuntimeError):
        with df.writer(size=10) as writer:
            writer.write(b'0123456789')
            raise RuntimeError('client went away')
    assert os.listdir(df.tmpdir) == []
    assert not os.path.exists(df.datadir)


def test_async_pending_round_trip_is_json(tmp_path):
    device = str(tmp_path / 'sda1')
    record = {'op': 'PUT', 'account': 'a', 'container': 'c', 'obj': 'o',
              'headers': {'X-Timestamp': '0000000007.00000', 'X-Size': '3'}}
    path = diskfile.write_async_pending(device, record)
    name_hash = hash_path('a', 'c', 'o')
    assert path == os.path.join(device, 'async_pending', name_hash[-3:],
                                name_hash + '-0000000007.00000')
    with open(path) as fp:
        assert json.load(fp) == record
    assert diskfile.read_async_pending(path) == record
    assert os.listdir(os.path.join(device, 'tmp')) == []


def test_read_async_pending_rejects_garbage(tmp_path):
    path = str(tmp_path / 'bad')
    for content in ('not json', '[1]', '{"op": "GET", "account": "a", '
                    '"container": "c", "obj": "o", "headers": {}}'):
        with open(path, 'w') as fp:
            fp.write(content)
        with pytest.raises(ValueError):
            diskfile.read_async_pending(path)


def test_get_hashes_caches_and_invalidates(tmp_path):
    part = str(tmp_path / 'objects' / '0')
    touch(os.path.join(part, 'abc', 'f' * 29 + 'abc'),
          '0000000001.00000.data')
    first = diskfile.get_hashes(part)
    assert set(first) == {'abc'}
    cache = json.load(open(os.path.join(part, diskfile.HASH_FILE)))
    assert cache == first
    # A write invalidates; the next call recomputes just that suffix.
    touch(os.path.join(part, 'abc', 'f' * 29 + 'abc'),
          '0000000002.00000.data')
    diskfile.invalidate_hash(os.path.join(part, 'abc'))
    # noted in the append-only invalidation file; hashes.json untouched
    invalid = os.path.join(part, diskfile.HASH_INVALID_FILE)
    assert open(invalid).read() == 'abc\n'
    assert json.load(open(os.path.join(part, diskfile.HASH_FILE))) == first
    second = diskfile.get_hashes(part)
    assert second['abc'] != first['abc']
    assert json.load(open(os.path.join(part, diskfile.HASH_FILE))) == second
    assert open(invalid).read() == ''
    assert diskfile.get_hashes(part) == second


def test_a_write_while_hashing_is_recomputed_next_time(tmp_path, monkeypatch):
    part = str(tmp_path / 'objects' / '0')
    hash_dir = os.path.join(part, 'abc', 'f' * 29 + 'abc')
    touch(hash_dir, '0000000001.00000.data')
    real_hash_suffix = diskfile.hash_suffix

    def hash_then_write(suffix_dir, reclaim_age):
        value = real_hash_suffix(suffix_dir, reclaim_age)
        # a PUT lands after the suffix was hashed, before hashes.json
        touch(hash_dir, '0000000002.00000.data')
        diskfile.invalidate_hash(suffix_dir)
        return value

    monkeypatch.setattr(diskfile, 'hash_suffix', hash_then_write)
    stale = diskfile.get_hashes(part)
    monkeypatch.setattr(diskfile, 'hash_suffix', real_hash_suffix)
    fresh = diskfile.get_hashes(part)
    assert fresh['abc'] != stale['abc']
    assert fresh == diskfile.get_hashes(part)


def test_invalidations_survive_until_folded_into_hashes_json(tmp_path):
    part = str(tmp_path / 'objects' / '0')
    for suffix in ('abc', 'def'):
        touch(os.path.join(part, suffix, 'f' * 29 + suffix),
              '0000000001.00000.data')
    first = diskfile.get_hashes(part)
    for _ in range(3):
        diskfile.invalidate_hash(os.path.join(part, 'def'))
    hashes = dict(first)
    assert diskfile._consolidate_invalid(part, hashes)
    # written with the None mark before the invalid file was emptied
    assert json.load(open(os.path.join(part, diskfile.HASH_FILE))) == \
        {'abc': first['abc'], 'def': None}
    assert not diskfile._consolidate_invalid(part, hashes)
    assert diskfile.get_hashes(part) == first


def test_invalidate_without_a_partition_dir_is_harmless(tmp_path):
    diskfile.invalidate_hash(str(tmp_path / 'objects' / '9' / 'abc'))
    assert not os.path.exists(str(tmp_path / 'objects' / '9'))


def test_get_hashes_drops_empty_suffixes(tmp_path):
    part = str(tmp_path / 'objects' / '0')
    os.makedirs(os.path.join(part, 'def'))
    assert diskfile.get_hashes(part) == {}
    assert not os.path.exists(os.path.join(part, 'def'))


def test_same_files_same_hash(tmp_path):
    parts = []
    for replica in ('r1', 'r2'):
        part = str(tmp_path / replica / '0')
        touch(os.path.join(part, 'abc', 'e' * 29 + 'abc'),
              '0000000001.00000.data')
        parts.append(diskfile.get_hashes(part))
    assert parts[0] == parts[1]


def test_a_put_syncs_every_bytes_per_sync_and_always_at_the_end(
        tmp_path, monkeypatch):
    synced = []
    real_fdatasync = os.fdatasync
    monkeypatch.setattr(diskfile.os, 'fdatasync', lambda fd: (
        synced.append(fd), real_fdatasync(fd)))
    fsynced = []
    real_fsync = diskfile.fsync
    monkeypatch.setattr(diskfile, 'fsync', lambda fd: (
        fsynced.append(fd), real_fsync(fd)))
    chunk = b'x' * 65536
    for per_sync, expected in ((256 * 1024, 4), (diskfile.BYTES_PER_SYNC, 0)):
        synced.clear()
        fsynced.clear()
        df = diskfile.DiskFile(str(tmp_path), 'sda', '0', 'a', 'c',
                               'o%d' % per_sync, bytes_per_sync=per_sync)
        df.open()
        with df.writer() as writer:
            for _ in range(16):  # 1 MiB
                writer.write(chunk)
            writer.put({'X-Timestamp': '1.00000', 'name': df.name,
                        'Content-Length': str(16 * 65536), 'ETag': 'e',
                        'Content-Type': 'a/b'})
        assert len(synced) == expected
        assert len(fsynced) == 1
