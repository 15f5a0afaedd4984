"""Buckets and objects on the local filesystem.

Layout under ``buckets_path``::

    <bucket>/bucket.json            {"ownerId": project, "creationDate": ...}
    <bucket>/meta/<sha256(key)>.json one sidecar per object (key, size, etag,
                                     content type, user metadata, data name)
    <bucket>/data/<uuid>            object bytes
    <bucket>/tmp/                   uploads in progress
    <bucket>/uploads/<upload id>/   multipart uploads: upload.json, parts

Keys never become paths: a key names its sidecar through its SHA-256, so
any key (``../x``, ``/etc/passwd``, NUL bytes) is harmless to the
filesystem; only bucket names, checked against S3's DNS-style rules, are
used as path components.  (The original joined the key onto the bucket
directory after a weak check; this closes that door entirely.)

Writes are atomic: bytes are streamed into ``tmp/``, checked, renamed into
``data/``, and only then does a rename of the new sidecar over the old one
make the object visible; the old data file is removed afterwards.  A reader
always sees a whole old or a whole new object.  A new bucket is built in a
staging directory and renamed into place, so a bucket is never seen
without its owner record.
"""

import dataclasses
import errno
import hashlib
import json
import os
import re
import shutil
import time
import uuid

import eventlet

from nova.objectstore import errors

MAX_KEY_BYTES = 1024
MAX_OBJECT_SIZE = 5 * 1024 ** 3        # S3's limit for one PUT
MAX_METADATA_BYTES = 2 * 1024          # x-amz-meta-* names and values
MIN_PART_SIZE = 5 * 1024 ** 2          # every part but the last
MAX_PART_NUMBER = 10000
COPY_BLOCK = 1024 * 1024

_BUCKET_RE = re.compile(r'[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]')
_IPV4_RE = re.compile(r'\d+\.\d+\.\d+\.\d+')


def validate_bucket_name(name):
    """S3's bucket naming rules (DNS-compatible); InvalidBucketName else.

    3-63 characters of lower-case letters, digits, dots and hyphens,
    starting and ending with a letter or digit, no ``..``, ``.-`` or
    ``-.``, and not shaped like an IPv4 address.
    """
    if (not isinstance(name, str) or not _BUCKET_RE.fullmatch(name)
            or '..' in name or '.-' in name or '-.' in name
            or _IPV4_RE.fullmatch(name)):
        raise errors.InvalidBucketName(
            'The specified bucket is not valid: bucket names are 3-63 '
            'lower-case letters, digits, dots and hyphens.')
    return name


def validate_key(key):
    """Keys are 1-1024 bytes of UTF-8.

    Keys never become file names here, but other parts of nova (image
    registration unpacks bundle parts named by keys) and clients that sync
    buckets to disk do treat them as paths, so ``.``/``..`` segments and a
    leading ``/`` are refused as defence in depth, as are NUL bytes.
    """
    if not key:
        raise errors.InvalidArgument('An object key must not be empty.')
    if len(key.encode('utf-8', 'surrogateescape')) > MAX_KEY_BYTES:
        raise errors.InvalidArgument('Your key is too long.')
    if key.startswith('/') or '\x00' in key:
        raise errors.InvalidArgument('Object keys must not start with "/" '
                                     'or contain NUL bytes.')
    if any(segment in ('.', '..') for segment in key.split('/')):
        raise errors.InvalidArgument('Object keys must not contain "." or '
                                     '".." path segments.')
    return key


@dataclasses.dataclass
class BucketInfo:
    name: str
    owner: str
    created: float


@dataclasses.dataclass
class ObjectInfo:
    key: str
    size: int
    etag: str                   # without quotes
    last_modified: float        # seconds since the epoch
    content_type: str = 'binary/octet-stream'
    metadata: dict = dataclasses.field(default_factory=dict)  # x-amz-meta-*
    headers: dict = dataclasses.field(default_factory=dict)   # Content-*...
    data: str = None            # file name under data/

    def to_json(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d):
        return cls(**{f.name: d.get(f.name) for f in dataclasses.fields(cls)
                      if f.name in d})


@dataclasses.dataclass
class Upload:
    upload_id: str
    key: str
    owner: str
    initiated: float
    content_type: str = 'binary/octet-stream'
    metadata: dict = dataclasses.field(default_factory=dict)
    headers: dict = dataclasses.field(default_factory=dict)


def _key_hash(key):
    return hashlib.sha256(key.encode('utf-8', 'surrogateescape')).hexdigest()


def _write_json(path, tmp_dir, value):
    """Write JSON to ``path`` atomically (temp file in tmp_dir, rename)."""
    tmp = os.path.join(tmp_dir, '%s.json' % uuid.uuid4().hex)
    with open(tmp, 'w') as f:
        json.dump(value, f)
    os.replace(tmp, path)


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def metadata_size(metadata):
    return sum(len(k.encode('utf-8', 'surrogateescape'))
               + len(v.encode('utf-8', 'surrogateescape'))
               for k, v in metadata.items())


class Store:
    """The buckets under one directory."""

    def __init__(self, root):
        self.root = root
        os.makedirs(root, exist_ok=True)

    # -- paths ------------------------------------------------------------------

    def _bucket_dir(self, name):
        return os.path.join(self.root, validate_bucket_name(name))

    def _sub(self, bucket, *parts):
        return os.path.join(self._bucket_dir(bucket), *parts)

    def _sidecar(self, bucket, key):
        return self._sub(bucket, 'meta', _key_hash(key) + '.json')

    # -- buckets ----------------------------------------------------------------

    def list_buckets(self):
        buckets = []
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.name.startswith('.') or not entry.is_dir():
                continue
            try:
                buckets.append(self.get_bucket(entry.name))
            except (errors.NoSuchBucket, errors.InvalidBucketName):
                continue
        return buckets

    def get_bucket(self, name):
        path = os.path.join(self._bucket_dir(name), 'bucket.json')
        try:
            record = _read_json(path)
        except FileNotFoundError:
            raise errors.NoSuchBucket(resource=name) from None
        return BucketInfo(name, record['ownerId'], record['creationDate'])

    def create_bucket(self, name, owner):
        """A new bucket owned by project ``owner``.

        The S3 answers when it exists: BucketAlreadyOwnedByYou for the
        owner, BucketAlreadyExists for anyone else.
        """
        final = self._bucket_dir(name)
        if os.path.exists(final):
            self._raise_exists(name, owner)
        staging = os.path.join(self.root, '.staging-%s' % uuid.uuid4().hex)
        created = time.time()
        try:
            for sub in ('meta', 'data', 'tmp', 'uploads'):
                os.makedirs(os.path.join(staging, sub))
            with open(os.path.join(staging, 'bucket.json'), 'w') as f:
                json.dump({'ownerId': owner, 'creationDate': created}, f)
            try:
                # A bucket directory is never empty, so rename refuses to
                # replace one that a racing request made meanwhile.
                os.rename(staging, final)
            except OSError as e:
                if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    self._raise_exists(name, owner)
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return BucketInfo(name, owner, created)

    def _raise_exists(self, name, owner):
        try:
            existing = self.get_bucket(name)
        except errors.NoSuchBucket:
            existing = None
        if existing is not None and existing.owner == owner:
            raise errors.BucketAlreadyOwnedByYou(resource=name)
        raise errors.BucketAlreadyExists(resource=name)

    def is_empty(self, name):
        with os.scandir(self._sub(name, 'meta')) as entries:
            return not any(e.name.endswith('.json') for e in entries)

    def delete_bucket(self, name):
        """Remove an empty bucket (and its unfinished multipart uploads)."""
        self.get_bucket(name)
        if not self.is_empty(name):
            raise errors.BucketNotEmpty(resource=name)
        # Renamed away first so that no request finds it half-deleted.
        trash = os.path.join(self.root, '.trash-%s' % uuid.uuid4().hex)
        os.rename(self._bucket_dir(name), trash)
        shutil.rmtree(trash, ignore_errors=True)

    # -- objects ----------------------------------------------------------------

    def list_objects(self, bucket, prefix=''):
        """Every object of the bucket whose key starts with prefix, sorted.

        Python orders str by code point, which is UTF-8 byte order, the
        order S3 lists in.
        """
        self.get_bucket(bucket)
        found = []
        with os.scandir(self._sub(bucket, 'meta')) as entries:
            for entry in entries:
                if not entry.name.endswith('.json'):
                    continue
                try:
                    info = ObjectInfo.from_json(_read_json(entry.path))
                except (FileNotFoundError, ValueError):
                    continue        # replaced or removed while we looked
                if info.key.startswith(prefix):
                    found.append(info)
        found.sort(key=lambda o: o.key)
        return found

    def head_object(self, bucket, key):
        self.get_bucket(bucket)
        try:
            return ObjectInfo.from_json(_read_json(self._sidecar(bucket,
                                                                 key)))
        except FileNotFoundError:
            raise errors.NoSuchKey(resource='/%s/%s' % (bucket, key)) \
                from None

    def open_object(self, bucket, key):
        """(ObjectInfo, open binary file) of the object's current version."""
        for _attempt in range(3):
            info = self.head_object(bucket, key)
            try:
                return info, open(self._sub(bucket, 'data', info.data), 'rb')
            except FileNotFoundError:
                continue            # overwritten between the two reads
        raise errors.NoSuchKey(resource='/%s/%s' % (bucket, key))

    def put_object(self, bucket, key, blocks, content_type=None,
                   metadata=None, headers=None, content_md5=None):
        """Store the bytes of ``blocks`` as the object ``key``.

        ``content_md5`` (raw 16 bytes) is checked before anything becomes
        visible (BadDigest).  An exception from ``blocks`` (a body check
        failing at its end) leaves nothing behind.
        """
        self.get_bucket(bucket)
        validate_key(key)
        data_name = uuid.uuid4().hex
        tmp = self._sub(bucket, 'tmp', data_name)
        try:
            size, md5 = self._write_blocks(tmp, blocks)
        except FileNotFoundError:
            _unlink(tmp)
            raise errors.NoSuchBucket(resource=bucket) from None
        except BaseException:
            _unlink(tmp)
            raise
        if content_md5 is not None and md5.digest() != content_md5:
            _unlink(tmp)
            raise errors.BadDigest(resource='/%s/%s' % (bucket, key))
        info = ObjectInfo(key=key, size=size, etag=md5.hexdigest(),
                          last_modified=time.time(),
                          content_type=content_type or 'binary/octet-stream',
                          metadata=dict(metadata or {}),
                          headers=dict(headers or {}), data=data_name)
        return self._commit(bucket, tmp, info)

    def _write_blocks(self, path, blocks):
        md5 = hashlib.md5()
        size = 0
        with open(path, 'wb') as f:
            for data in blocks:
                f.write(data)
                md5.update(data)
                size += len(data)
        return size, md5

    def _commit(self, bucket, tmp, info):
        """Make the written file ``tmp`` the current version of info.key."""
        try:
            os.rename(tmp, self._sub(bucket, 'data', info.data))
        except FileNotFoundError:
            _unlink(tmp)
            raise errors.NoSuchBucket(resource=bucket) from None
        sidecar = self._sidecar(bucket, info.key)
        try:
            old = ObjectInfo.from_json(_read_json(sidecar))
        except (FileNotFoundError, ValueError):
            old = None
        try:
            _write_json(sidecar, self._sub(bucket, 'tmp'), info.to_json())
        except FileNotFoundError:
            raise errors.NoSuchBucket(resource=bucket) from None
        if old is not None and old.data and old.data != info.data:
            _unlink(self._sub(bucket, 'data', old.data))
        return info

    def delete_object(self, bucket, key):
        """Remove an object; absent keys are not an error (S3 answers 204)."""
        self.get_bucket(bucket)
        sidecar = self._sidecar(bucket, key)
        try:
            info = ObjectInfo.from_json(_read_json(sidecar))
        except (FileNotFoundError, ValueError):
            return
        _unlink(sidecar)
        if info.data:
            _unlink(self._sub(bucket, 'data', info.data))

    # -- multipart uploads --------------------------------------------------------

    def _upload_dir(self, bucket, upload_id):
        if not re.fullmatch(r'[0-9a-f]{32}', upload_id or ''):
            raise errors.NoSuchUpload()
        return self._sub(bucket, 'uploads', upload_id)

    def create_upload(self, bucket, key, owner, content_type=None,
                      metadata=None, headers=None):
        self.get_bucket(bucket)
        validate_key(key)
        upload = Upload(upload_id=uuid.uuid4().hex, key=key, owner=owner,
                        initiated=time.time(),
                        content_type=content_type or 'binary/octet-stream',
                        metadata=dict(metadata or {}),
                        headers=dict(headers or {}))
        path = self._upload_dir(bucket, upload.upload_id)
        os.makedirs(path)
        _write_json(os.path.join(path, 'upload.json'),
                    self._sub(bucket, 'tmp'), dataclasses.asdict(upload))
        return upload

    def get_upload(self, bucket, key, upload_id):
        self.get_bucket(bucket)
        path = self._upload_dir(bucket, upload_id)
        try:
            upload = Upload(**_read_json(os.path.join(path, 'upload.json')))
        except FileNotFoundError:
            raise errors.NoSuchUpload() from None
        if upload.key != key:
            raise errors.NoSuchUpload()
        return upload

    def put_part(self, bucket, key, upload_id, number, blocks,
                 content_md5=None):
        """Store one part; returns its ETag (hex MD5, no quotes)."""
        self.get_upload(bucket, key, upload_id)
        if not 1 <= number <= MAX_PART_NUMBER:
            raise errors.InvalidArgument('Part number must be an integer '
                                         'between 1 and %d, inclusive.'
                                         % MAX_PART_NUMBER)
        path = self._upload_dir(bucket, upload_id)
        tmp = self._sub(bucket, 'tmp', uuid.uuid4().hex)
        try:
            size, md5 = self._write_blocks(tmp, blocks)
        except BaseException:
            _unlink(tmp)
            raise
        if content_md5 is not None and md5.digest() != content_md5:
            _unlink(tmp)
            raise errors.BadDigest()
        part = os.path.join(path, 'part-%05d' % number)
        try:
            # The part record is written first and the bytes renamed after,
            # so a half-done replacement is caught by the size check of
            # complete_upload rather than silently used.
            _write_json(part + '.json', self._sub(bucket, 'tmp'),
                        {'etag': md5.hexdigest(), 'size': size})
            os.replace(tmp, part)
        except FileNotFoundError:
            _unlink(tmp)
            raise errors.NoSuchUpload() from None
        return md5.hexdigest()

    def list_parts(self, bucket, key, upload_id):
        """{number: {'etag': hex, 'size': n}} of the parts uploaded so far."""
        self.get_upload(bucket, key, upload_id)
        path = self._upload_dir(bucket, upload_id)
        parts = {}
        for name in os.listdir(path):
            match = re.fullmatch(r'part-(\d{5})\.json', name)
            if match:
                try:
                    parts[int(match.group(1))] = _read_json(
                        os.path.join(path, name))
                except FileNotFoundError:
                    continue
        return parts

    def complete_upload(self, bucket, key, upload_id, requested):
        """Join the parts named in ``requested`` [(number, etag)] in order.

        The ETag of the result is S3's: the MD5 of the parts' binary MD5s,
        a dash and the number of parts.
        """
        upload = self.get_upload(bucket, key, upload_id)
        if not requested:
            raise errors.MalformedXML('You must specify at least one part.')
        numbers = [n for n, _etag in requested]
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            raise errors.InvalidPartOrder()
        stored = self.list_parts(bucket, key, upload_id)
        path = self._upload_dir(bucket, upload_id)
        for index, (number, etag) in enumerate(requested):
            part = stored.get(number)
            if part is None or part['etag'] != etag.strip('"').lower():
                raise errors.InvalidPart()
            if index < len(requested) - 1 and part['size'] < MIN_PART_SIZE:
                raise errors.EntityTooSmall()
        data_name = uuid.uuid4().hex
        tmp = self._sub(bucket, 'tmp', data_name)
        md5s = hashlib.md5()
        size = 0
        try:
            with open(tmp, 'wb') as out:
                for number, _etag in requested:
                    part_path = os.path.join(path, 'part-%05d' % number)
                    with open(part_path, 'rb') as src:
                        copied = _copy(src, out)
                    if copied != stored[number]['size']:
                        raise errors.InvalidPart()
                    size += copied
                    md5s.update(bytes.fromhex(stored[number]['etag']))
        except FileNotFoundError:
            _unlink(tmp)
            raise errors.InvalidPart() from None
        except BaseException:
            _unlink(tmp)
            raise
        info = ObjectInfo(key=key, size=size,
                          etag='%s-%d' % (md5s.hexdigest(), len(requested)),
                          last_modified=time.time(),
                          content_type=upload.content_type,
                          metadata=upload.metadata, headers=upload.headers,
                          data=data_name)
        self._commit(bucket, tmp, info)
        shutil.rmtree(path, ignore_errors=True)
        return info

    def abort_upload(self, bucket, key, upload_id):
        self.get_upload(bucket, key, upload_id)
        shutil.rmtree(self._upload_dir(bucket, upload_id),
                      ignore_errors=True)


def _copy(src, out):
    """Copy a whole file, yielding to other green threads between blocks."""
    copied = 0
    while True:
        data = src.read(COPY_BLOCK)
        if not data:
            return copied
        out.write(data)
        copied += len(data)
        eventlet.sleep(0)
