"""The per-host cache of images: ``<instances_path>/_base/<name>``.

Each image is downloaded once per host and then shared read-only by every
instance built from it (as the backing file of their qcow2 overlays, or as
the source of their kernel/ramdisk copies).  Beside each cached file a
``<name>.info`` JSON file records the format it was checked to be and the
image's metadata; a file without its ``.info`` is an interrupted download
and is fetched again.

Two spawns of one image on one host download it once: a per-name lock
(green-safe ``threading.Lock`` within the process, ``flock`` on
``<name>.lock`` between processes, polled so a waiting green thread never
blocks the hub) is held while the image is fetched and checked.
"""

import fcntl
import hashlib
import json
import os
import re
import threading
import time

from nova import exception
from nova import flags
from nova import log as logging
from nova.virt import images

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

flags.DEFINE_integer('image_cache_lock_timeout', 1800,
                     'seconds a spawn waits for another one to finish '
                     'downloading the same image')

_SAFE_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')


class CachedImage:
    def __init__(self, path, format, meta):
        self.path = path
        self.format = format
        self.meta = meta


def cache_name(image_id, suffix=''):
    """File name of an image in the cache; ids that are not plain names
    (slashes, dots first, very long) are hashed instead."""
    text = str(image_id)
    if not _SAFE_NAME.match(text) or text.endswith(('.info', '.lock',
                                                    '.download')):
        text = hashlib.sha1(text.encode()).hexdigest()
    return text + suffix


class ImageCache:

    def __init__(self, base_dir):
        self.base_dir = base_dir
        self._locks = {}
        self._guard = threading.Lock()

    def path_for(self, image_id):
        return os.path.join(self.base_dir, cache_name(image_id))

    def _thread_lock(self, name):
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _locked(self, name):
        return _NameLock(self._thread_lock(name),
                         os.path.join(self.base_dir, name + '.lock'),
                         FLAGS.image_cache_lock_timeout)

    def fetch(self, context, image_service, image_id, check):
        """The cached copy of ``image_id``, downloading it if needed.

        ``check(path, meta)`` vets a fresh download and returns the format
        to open it with ('raw' or 'qcow2'); whatever it raises is raised
        here, and the download is removed.
        """
        os.makedirs(self.base_dir, exist_ok=True)
        name = cache_name(image_id)
        path = os.path.join(self.base_dir, name)
        info_path = path + '.info'
        with self._locked(name):
            if os.path.exists(path) and os.path.exists(info_path):
                with open(info_path) as f:
                    info = json.load(f)
                return CachedImage(path, info['format'], info['meta'])
            download = path + '.download'
            try:
                meta = images.fetch(context, image_service, image_id,
                                    download)
                fmt = check(download, meta)
                info = {'format': fmt, 'image_id': str(image_id),
                        'meta': _jsonable(meta)}
                with open(info_path + '.tmp', 'w') as f:
                    json.dump(info, f)
                os.replace(download, path)
                os.replace(info_path + '.tmp', info_path)
            except BaseException:
                for leftover in (download, info_path + '.tmp'):
                    if os.path.exists(leftover):
                        os.unlink(leftover)
                raise
            LOG.info('cached image %s as %s (%s)', image_id, path, fmt)
            return CachedImage(path, fmt, info['meta'])

    def cached(self):
        """Names of the complete images in the cache."""
        if not os.path.isdir(self.base_dir):
            return []
        return sorted(n[:-5] for n in os.listdir(self.base_dir)
                      if n.endswith('.info') and
                      os.path.exists(os.path.join(self.base_dir, n[:-5])))


def _jsonable(meta):
    meta = dict(meta or {})
    for key, value in list(meta.items()):
        if hasattr(value, 'isoformat'):
            meta[key] = value.isoformat()
    return json.loads(json.dumps(meta, default=str))


class _NameLock:
    """A thread lock plus an exclusive flock on a lock file, both bounded."""

    def __init__(self, thread_lock, lock_path, timeout):
        self.thread_lock = thread_lock
        self.lock_path = lock_path
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        deadline = time.monotonic() + self.timeout
        if not self.thread_lock.acquire(timeout=self.timeout):
            raise exception.NovaException('timed out waiting for the lock '
                                          'on %s' % self.lock_path)
        try:
            self.fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            while True:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return self
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise exception.NovaException(
                            'timed out waiting for the lock on %s'
                            % self.lock_path) from None
                    time.sleep(0.2)
        except BaseException:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
            self.thread_lock.release()
            raise

    def __exit__(self, *exc):
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
        finally:
            self.fd = None
            self.thread_lock.release()
