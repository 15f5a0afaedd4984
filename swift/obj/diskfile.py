"""How one object lives on disk, and the partition suffix hashes.

Layout under ``<devices>/<device>/``::

    objects/<partition>/<hash[-3:]>/<hash>/<timestamp>.data   the object body
    objects/<partition>/<hash[-3:]>/<hash>/<timestamp>.ts     a tombstone
    objects/<partition>/<hash[-3:]>/<hash>/<timestamp>.meta   a fast-POST
    objects/<partition>/hashes.json                           suffix hashes
    objects/<partition>/hashes.invalid      suffixes changed since then
    tmp/                                  writes in progress
    quarantined/objects/<hash>/           hash dirs found corrupt
    async_pending/<hash[-3:]>/<hash>-<timestamp>   container updates to redo

The newest timestamp wins: a hash dir holds at most one .data or .ts (the
newest) plus .meta files newer than it; everything older is removed once the
newer file is durable (renamed into place and its directory fsynced).

Metadata lives in the file's extended attributes through
``swift.common.utils.write_metadata`` / ``read_metadata`` (JSON).  Swift 1.2
stored a pickle there, which means anything able to set an xattr on a storage
node could run code in every daemon that reads it; JSON closes that hole.
"""

import errno
import fcntl
import hashlib
import json
import os
import tempfile
import time
import uuid

from swift.common import exceptions
from swift.common.utils import (drop_buffer_cache, fallocate, fsync,
                                hash_path, lock_path, mkdirs,
                                normalize_timestamp, read_metadata, renamer,
                                storage_directory, write_metadata)

DATADIR = 'objects'
ASYNCDIR = 'async_pending'
TMPDIR = 'tmp'
QUARANTINEDIR = 'quarantined'
HASH_FILE = 'hashes.json'
HASH_INVALID_FILE = 'hashes.invalid'
ONE_WEEK = 7 * 24 * 60 * 60
# How many read bytes may sit in the page cache before we ask the kernel
# to drop them: a 5 GiB download must not evict everything else on the node.
DROP_CACHE_WINDOW = 1024 * 1024
# How many written bytes a PUT lets pile up before it fdatasyncs them and
# drops them from the page cache (Swift 2.x's mb_per_sync, same default).
# It was 1 MiB: 64 fdatasyncs for a 64 MiB object, each stalling every
# request of the (single-threaded) server, for no durability gain -- the
# object is fsynced before its 201 anyway.
BYTES_PER_SYNC = 512 * 1024 * 1024
DATA_EXT, TOMBSTONE_EXT, META_EXT = '.data', '.ts', '.meta'
KNOWN_EXTS = (DATA_EXT, TOMBSTONE_EXT, META_EXT)


DiskFileNoSpace = exceptions.DiskFileNoSpace


class DiskFileXattrTooLarge(exceptions.DiskFileError):
    """The metadata does not fit in the filesystem's extended attributes.

    ext4 keeps all of an inode's xattrs in one block (about 3.5 KB of our
    metadata); Swift's own limits allow more.  The kernel says ENOSPC for
    that too, which must not read as "disk full" (507 error-limits the whole
    device at the proxy), so it becomes a 400 naming the cause.  XFS, the
    filesystem Swift recommends, has no such limit.
    """


def _is_no_space(err):
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC,
                                                      errno.EDQUOT)


def _has_free_space(path, wanted=16 * 1024 * 1024):
    try:
        st = os.statvfs(path)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize >= wanted


def file_timestamp(filename):
    """The float timestamp of ``<timestamp>.<ext>``, or None if not ours."""
    stem, ext = os.path.splitext(filename)
    if ext not in KNOWN_EXTS:
        return None
    try:
        return float(stem)
    except ValueError:
        return None


def fsync_dir(path):
    """Make a rename into ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return []
        raise


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError as err:
        if err.errno != errno.ENOENT:
            raise


def cleanup_hash_dir(hash_dir, reclaim_age=None):
    """Remove files superseded by a newer .data/.ts; return what is left.

    What stays: the newest .data or .ts and the .meta files newer than a
    .data.  A tombstone older than ``reclaim_age`` seconds goes too (only the
    replicator passes one; a recent tombstone must stay so that replication
    spreads the delete).  Files we do not recognise are left alone.  The
    hash dir itself is removed when it ends up empty.

    No lock is needed: a file is only ever removed when a newer .data/.ts
    exists, so concurrent cleanups can never remove the newest one.  Returns
    the remaining known file names, newest first.
    """
    known = [(file_timestamp(f), f) for f in _listdir(hash_dir)]
    known = sorted((item for item in known if item[0] is not None),
                   key=lambda item: (item[0], item[1].endswith(DATA_EXT)),
                   reverse=True)
    keep, remove = [], []
    anchor = None
    for ts, name in known:
        if anchor is not None:
            remove.append(name)
        elif name.endswith(META_EXT):
            keep.append(name)
        else:
            anchor = name
            if name.endswith(TOMBSTONE_EXT):
                # POSTs after a delete are meaningless: a deleted object
                # has no metadata.
                remove.extend(keep)
                keep = []
                if reclaim_age is not None and \
                        time.time() - ts > reclaim_age:
                    remove.append(name)
                    continue
            keep.append(name)
    for name in remove:
        _unlink_quietly(os.path.join(hash_dir, name))
    if not keep and not _listdir(hash_dir):
        try:
            os.rmdir(hash_dir)
        except OSError:
            pass
    return keep


def quarantine_dir(device_path, hash_dir):
    """Move a corrupt hash dir aside so replication restores a good copy."""
    target = os.path.join(device_path, QUARANTINEDIR, DATADIR,
                          os.path.basename(hash_dir))
    if os.path.exists(target):
        target += '-' + uuid.uuid4().hex
    renamer(hash_dir, target)
    invalidate_hash(os.path.dirname(hash_dir))
    return target


class DiskFile:
    """One object's hash dir: what is there, and how to read it.

    ``open()`` finds the newest .data/.ts and any newer .meta and loads the
    merged metadata.  Afterwards:

    - ``exists``: a .data is current (not deleted);
    - ``timestamp``: float timestamp of the current .data or .ts (None
      when nothing is there) and ``meta_timestamp`` of the newest .meta;
    - ``metadata``: the .data's metadata with the .meta's POSTable keys
      replacing the old ones (see ``POSTABLE``), X-Timestamp the newest.
    """

    # What a fast-POST replaces as a whole set.  Content-Type and
    # X-Object-Manifest stay as the PUT wrote them (Swift 1.2 behaviour).
    POSTABLE_EXACT = ('content-encoding', 'content-disposition')
    POSTABLE_PREFIX = 'x-object-meta-'

    def __init__(self, devices, device, partition, account, container, obj,
                 disk_chunk_size=65536, logger=None,
                 bytes_per_sync=BYTES_PER_SYNC):
        self.device_path = os.path.join(devices, device)
        self.name = '/%s/%s/%s' % (account, container, obj)
        self.name_hash = hash_path(account, container, obj)
        self.datadir = storage_directory(
            os.path.join(self.device_path, DATADIR), partition,
            self.name_hash)
        self.tmpdir = os.path.join(self.device_path, TMPDIR)
        self.disk_chunk_size = disk_chunk_size
        self.bytes_per_sync = bytes_per_sync
        self.logger = logger
        self.data_file = None
        self.meta_file = None
        self.tombstone_file = None
        self.timestamp = None
        self.meta_timestamp = None
        self.metadata = {}
        self.quarantined_to = None

    @classmethod
    def is_postable(cls, key):
        key = key.lower()
        return key.startswith(cls.POSTABLE_PREFIX) or \
            key in cls.POSTABLE_EXACT

    @property
    def exists(self):
        return self.data_file is not None

    def open(self, _retries=3):
        """Load the current state; quarantine what is obviously corrupt."""
        files = cleanup_hash_dir(self.datadir)
        for name in files:
            path = os.path.join(self.datadir, name)
            if name.endswith(META_EXT):
                if self.meta_file is None:
                    self.meta_file = path
                    self.meta_timestamp = file_timestamp(name)
            elif name.endswith(DATA_EXT):
                self.data_file = path
                self.timestamp = file_timestamp(name)
            else:
                self.tombstone_file = path
                self.timestamp = file_timestamp(name)
        if self.data_file is None:
            self.meta_file = self.meta_timestamp = None
            return self
        try:
            metadata = read_metadata(self.data_file)
            size = os.path.getsize(self.data_file)
        except OSError as err:
            if err.errno == errno.ENOENT and _retries > 0:
                # Superseded and removed between listdir and read: look
                # again, as if we had come a moment later.
                return self._reset().open(_retries - 1)
            raise
        except ValueError:
            metadata = None
        if not self._metadata_sane(metadata, size):
            self.quarantine()
            return self
        if self.meta_file is not None:
            try:
                meta = read_metadata(self.meta_file)
            except (OSError, ValueError):
                meta = None
            if isinstance(meta, dict):
                for key in list(metadata):
                    if self.is_postable(key):
                        del metadata[key]
                metadata.update((k, v) for k, v in meta.items()
                                if self.is_postable(k) or k == 'X-Timestamp')
        self.metadata = metadata
        return self

    def _reset(self):
        self.data_file = self.meta_file = self.tombstone_file = None
        self.timestamp = self.meta_timestamp = None
        self.metadata = {}
        return self

    def _metadata_sane(self, metadata, size):
        if not isinstance(metadata, dict):
            return False
        if metadata.get('name') != self.name:
            return False
        try:
            return int(metadata.get('Content-Length')) == size
        except (TypeError, ValueError):
            return False

    def quarantine(self):
        """Move the whole hash dir aside; the object then reads as missing."""
        try:
            self.quarantined_to = quarantine_dir(self.device_path,
                                                 self.datadir)
        except OSError:
            if self.logger:
                self.logger.exception('Could not quarantine %s', self.datadir)
        if self.logger:
            self.logger.error('Quarantined %s to %s', self.datadir,
                              self.quarantined_to)
        self._reset()

    @property
    def content_length(self):
        return int(self.metadata['Content-Length'])

    def reader(self, verify=False):
        """A DiskFileReader on the current .data.

        The file is opened now, so a concurrent replacement cannot swap the
        bytes out from under a response whose headers are already built.
        With ``verify`` (whole-file reads) the MD5 is checked at the end and
        a mismatch quarantines the object for the next reader.
        """
        try:
            fp = open(self.data_file, 'rb')
        except FileNotFoundError:
            # Superseded (and cleaned up) since open(): for this reader the
            # object is gone, which is what a moment later would say too.
            raise exceptions.DiskFileNotExist(self.data_file)
        return DiskFileReader(self, fp, verify)

    def writer(self, size=None):
        return DiskFileWriter(self, size)


class DiskFileReader:
    """Streams an open .data file; closes it when done or abandoned.

    Iterating gives the whole file (checking its MD5 when ``verify``);
    ``ranges()`` gives byte ranges, optionally framed as multipart parts.
    """

    def __init__(self, diskfile, fp, verify):
        self.diskfile = diskfile
        self.fp = fp
        self.md5 = hashlib.md5() if verify else None
        self.read_to_end = False

    def _read(self, start, stop):
        self.fp.seek(start)
        offset = dropped = start
        chunk_size = self.diskfile.disk_chunk_size
        while stop is None or offset < stop:
            want = chunk_size if stop is None \
                else min(chunk_size, stop - offset)
            chunk = self.fp.read(want)
            if not chunk:
                break
            offset += len(chunk)
            if offset - dropped >= DROP_CACHE_WINDOW:
                drop_buffer_cache(self.fp.fileno(), dropped, offset - dropped)
                dropped = offset
            yield chunk

    def __iter__(self):
        try:
            for chunk in self._read(0, None):
                if self.md5 is not None:
                    self.md5.update(chunk)
                yield chunk
            self.read_to_end = True
        finally:
            self.close()

    def ranges(self, ranges, part_heads=None, tail=None):
        """Bytes of each (start, stop); with ``part_heads`` each range is
        preceded by its head and followed by CRLF, and ``tail`` ends it.

        The result has a ``close()`` that closes the file even when the
        server drops the response before iterating it."""
        self.md5 = None
        return _ClosingIterator(self._ranges(ranges, part_heads, tail),
                                self.close)

    def _ranges(self, ranges, part_heads, tail):
        try:
            for index, (start, stop) in enumerate(ranges):
                if part_heads:
                    yield part_heads[index]
                yield from self._read(start, stop)
                if part_heads:
                    yield b'\r\n'
            if tail:
                yield tail
        finally:
            self.close()

    def close(self):
        if self.fp is None:
            return
        fp, self.fp = self.fp, None
        try:
            fp.close()
        finally:
            if self.md5 is not None and self.read_to_end:
                etag = self.diskfile.metadata.get('ETag')
                if self.md5.hexdigest() != etag:
                    self.diskfile.quarantine()


class _ClosingIterator:
    def __init__(self, iterator, on_close):
        self.iterator = iterator
        self.on_close = on_close

    def __iter__(self):
        return self.iterator

    def close(self):
        try:
            self.iterator.close()
        finally:
            self.on_close()


class DiskFileWriter:
    """A write in progress: temp file under <device>/tmp, then rename.

    Use as a context manager; leaving it without ``put()`` removes the temp
    file, so a failed or abandoned upload leaves nothing behind.  ENOSPC at
    any step becomes ``DiskFileNoSpace``.
    """

    def __init__(self, diskfile, size=None):
        self.diskfile = diskfile
        self.size = size
        self.fd = None
        self.tmppath = None
        self.upload_size = 0
        self._dropped = 0

    def __enter__(self):
        try:
            try:
                self.fd, self.tmppath = tempfile.mkstemp(
                    dir=self.diskfile.tmpdir)
            except FileNotFoundError:
                mkdirs(self.diskfile.tmpdir)  # first write on this device
                self.fd, self.tmppath = tempfile.mkstemp(
                    dir=self.diskfile.tmpdir)
            if self.size:
                fallocate(self.fd, self.size)
        except OSError as err:
            self._discard()
            if _is_no_space(err):
                raise DiskFileNoSpace(str(err))
            raise
        return self

    def __exit__(self, *exc_info):
        self._discard()

    def _discard(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.tmppath is not None:
            _unlink_quietly(self.tmppath)
            self.tmppath = None

    def write(self, chunk):
        view = memoryview(chunk)
        try:
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
        except OSError as err:
            if _is_no_space(err):
                raise DiskFileNoSpace(str(err))
            raise
        self.upload_size += len(chunk)
        if self.upload_size - self._dropped >= self.diskfile.bytes_per_sync:
            # Dirty pages cannot be dropped; fdatasync first so the drop
            # actually frees them (this also spreads the final fsync's cost).
            os.fdatasync(self.fd)
            drop_buffer_cache(self.fd, self._dropped,
                              self.upload_size - self._dropped)
            self._dropped = self.upload_size

    def put(self, metadata, extension=DATA_EXT):
        """Make the file durable under ``<X-Timestamp><extension>``."""
        timestamp = normalize_timestamp(metadata['X-Timestamp'])
        datadir = self.diskfile.datadir
        target = os.path.join(datadir, timestamp + extension)
        try:
            write_metadata(self.fd, metadata)
        except OSError as err:
            if _is_no_space(err) and _has_free_space(self.diskfile.tmpdir):
                raise DiskFileXattrTooLarge(
                    'Metadata too large for the storage filesystem\'s '
                    'extended attributes')
            if _is_no_space(err):
                raise DiskFileNoSpace(str(err))
            raise
        try:
            fsync(self.fd)
            drop_buffer_cache(self.fd, 0, self.upload_size)
            try:
                renamer(self.tmppath, target)
            except FileNotFoundError:
                # A cleanup emptied and removed the hash dir between
                # renamer's mkdirs and its rename; once more is enough.
                renamer(self.tmppath, target)
        except OSError as err:
            if _is_no_space(err):
                raise DiskFileNoSpace(str(err))
            raise
        self.tmppath = None
        fsync_dir(datadir)
        cleanup_hash_dir(datadir)
        invalidate_hash(os.path.dirname(datadir))
        return target


def write_tombstone(diskfile, timestamp):
    """Record a delete at ``timestamp``."""
    with diskfile.writer() as writer:
        writer.put({'X-Timestamp': normalize_timestamp(timestamp),
                    'name': diskfile.name}, extension=TOMBSTONE_EXT)


def write_meta(diskfile, timestamp, metadata):
    """Record a fast-POST: ``metadata`` replaces the postable keys."""
    metadata = dict(metadata)
    metadata['X-Timestamp'] = normalize_timestamp(timestamp)
    metadata['name'] = diskfile.name
    with diskfile.writer() as writer:
        writer.put(metadata, extension=META_EXT)


# -- async pending container updates ------------------------------------

def async_pending_path(device_path, name_hash, timestamp):
    return os.path.join(device_path, ASYNCDIR, name_hash[-3:],
                        '%s-%s' % (name_hash, normalize_timestamp(timestamp)))


def write_async_pending(device_path, record):
    """Durably store one container update to redo later; return its path.

    ``record`` is a JSON-able dict with op, account, container, obj,
    headers (X-Timestamp among them) and the container nodes tried.
    """
    name_hash = hash_path(record['account'], record['container'],
                          record['obj'])
    target = async_pending_path(device_path, name_hash,
                                record['headers']['X-Timestamp'])
    tmpdir = os.path.join(device_path, TMPDIR)
    mkdirs(tmpdir)
    fd, tmppath = tempfile.mkstemp(dir=tmpdir)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as fp:
            json.dump(record, fp, sort_keys=True)
            fp.flush()
            os.fsync(fp.fileno())
        renamer(tmppath, target)
    except BaseException:
        _unlink_quietly(tmppath)
        raise
    fsync_dir(os.path.dirname(target))
    return target


def read_async_pending(path):
    """The record at ``path``; ValueError when it is not one of ours."""
    with open(path, encoding='utf-8') as fp:
        record = json.load(fp)
    if not isinstance(record, dict) or \
            not {'op', 'account', 'container', 'obj', 'headers'} <= \
            set(record) or record['op'] not in ('PUT', 'DELETE'):
        raise ValueError('not an async pending record: %s' % path)
    return record


# -- suffix hashes (REPLICATE) -------------------------------------------

def _is_suffix(name):
    return len(name) == 3 and all(c in '0123456789abcdef' for c in name)


def hash_suffix(suffix_dir, reclaim_age=ONE_WEEK):
    """MD5 over the surviving file names of every hash dir in a suffix.

    Two replicas with the same suffix hash hold the same objects at the same
    timestamps; empty hash dirs and an empty suffix dir are removed (and
    None is returned for the latter).
    """
    md5 = hashlib.md5()
    found = False
    for hash_name in sorted(_listdir(suffix_dir)):
        hash_dir = os.path.join(suffix_dir, hash_name)
        if not os.path.isdir(hash_dir):
            continue
        for name in sorted(cleanup_hash_dir(hash_dir, reclaim_age)):
            md5.update(name.encode('utf-8'))
            found = True
    if not found:
        try:
            os.rmdir(suffix_dir)
        except OSError:
            pass
        return None
    return md5.hexdigest()


def _write_hashes(partition_dir, hashes):
    # One write: json.dump to a file object wrote piece by piece, which
    # made this rewrite a visible share of an object server's CPU.
    data = json.dumps(hashes, sort_keys=True).encode('utf-8')
    fd, tmppath = tempfile.mkstemp(dir=partition_dir, prefix='.hashes')
    try:
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.rename(tmppath, os.path.join(partition_dir, HASH_FILE))
    except BaseException:
        _unlink_quietly(tmppath)
        raise


def _read_hashes(partition_dir):
    try:
        with open(os.path.join(partition_dir, HASH_FILE), 'rb') as fp:
            hashes = json.loads(fp.read())
    except (OSError, ValueError):
        return None
    return hashes if isinstance(hashes, dict) else None


def _flock(fd, operation, timeout=10):
    """flock without blocking the process (other greenthreads go on)."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() >= deadline:
            raise exceptions.LockTimeout(timeout, 'flock %d' % fd)
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def invalidate_hash(suffix_dir):
    """Note that a suffix changed, so the next get_hashes recomputes it.

    One line appended to ``hashes.invalid`` (under a shared flock, which
    only get_hashes' consolidation excludes).  Rewriting the whole
    ``hashes.json`` on every write -- what this did before -- cost an
    object server a read, a parse, a temp file and a rename per PUT once a
    replicator pass had cached the partition's hashes.  Written even
    before any hashes.json exists: a get_hashes listing the partition
    while this write landed will recompute the suffix next time.
    """
    partition_dir = os.path.dirname(suffix_dir)
    line = (os.path.basename(suffix_dir) + '\n').encode('utf-8')
    try:
        fd = os.open(os.path.join(partition_dir, HASH_INVALID_FILE),
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except FileNotFoundError:
        return  # no partition dir: nothing here to hash
    try:
        _flock(fd, fcntl.LOCK_SH)
        os.write(fd, line)
    finally:
        os.close(fd)


def _consolidate_invalid(partition_dir, hashes):
    """Fold ``hashes.invalid`` into ``hashes`` (those suffixes become
    None) and empty it.  hashes.json is written with the None marks
    before the invalid file is emptied, so a crash between the two loses
    nothing.  Returns whether anything was invalid."""
    try:
        fd = os.open(os.path.join(partition_dir, HASH_INVALID_FILE),
                     os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        _flock(fd, fcntl.LOCK_EX)
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        suffixes = set(b''.join(chunks).decode('utf-8', 'replace').split())
        if not suffixes:
            return False
        for suffix in suffixes:
            if _is_suffix(suffix):
                hashes[suffix] = None
        _write_hashes(partition_dir, hashes)
        os.ftruncate(fd, 0)
        return True
    finally:
        os.close(fd)


def get_hashes(partition_dir, recalculate=(), reclaim_age=ONE_WEEK):
    """Suffix -> hash for one partition, recomputing what is stale.

    Stale means: invalidated by a write, named in ``recalculate``, or not in
    the cache at all (in which case the partition is listed afresh).
    """
    if not os.path.isdir(partition_dir):
        return {}
    with lock_path(partition_dir):
        hashes = _read_hashes(partition_dir)
        if hashes is None:
            hashes = {name: None for name in _listdir(partition_dir)
                      if _is_suffix(name)}
        _consolidate_invalid(partition_dir, hashes)
        for suffix in recalculate:
            if _is_suffix(suffix):
                hashes[suffix] = None
        changed = False
        for suffix, value in list(hashes.items()):
            if value is None:
                value = hash_suffix(os.path.join(partition_dir, suffix),
                                    reclaim_age)
                changed = True
                if value is None:
                    del hashes[suffix]
                else:
                    hashes[suffix] = value
        if changed or not os.path.exists(
                os.path.join(partition_dir, HASH_FILE)):
            _write_hashes(partition_dir, hashes)
    return hashes
