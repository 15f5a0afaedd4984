"""The file store: each image is one file ``<datadir>/<id>``."""

import errno
import os
import urllib.parse

from glance.common import exception
from glance.store import base


class FilesystemStore(base.Store):
    name = 'file'
    schemes = ('file',)

    def __init__(self, conf=None):
        super().__init__(conf)
        self.datadir = os.path.abspath(
            self.conf.get('filesystem_store_datadir')
            or '/var/lib/glance/images/')

    def _ensure_datadir(self):
        try:
            os.makedirs(self.datadir, exist_ok=True)
        except OSError as e:
            raise exception.StoreError('Cannot create image directory %s: %s'
                                       % (self.datadir, e.strerror)) from None

    def _path(self, location):
        parts = urllib.parse.urlsplit(location)
        if parts.scheme != 'file':
            raise exception.Invalid('Not a file location: %s' % location)
        path = os.path.realpath(urllib.parse.unquote(parts.path))
        # A location names a file on the API host; only files inside the
        # store's own directory may be served, or a client could register
        # file:///etc/shadow and download it.
        if os.path.commonpath([path, os.path.realpath(self.datadir)]) != \
                os.path.realpath(self.datadir):
            raise exception.Forbidden('File locations must lie inside the '
                                      'image directory %s' % self.datadir)
        return path

    def validate_location(self, location, context=None):
        self._path(location)

    def add(self, image_id, chunks, size=None):
        self._ensure_datadir()
        final = os.path.join(self.datadir, str(image_id))
        if os.path.exists(final):
            raise exception.Conflict('Image data for %s already exists in '
                                     'the file store' % image_id)
        # Written under a temporary name and renamed at the end, so a reader
        # never sees half an image and a failure leaves no file behind.
        partial = final + '.partial'
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except FileExistsError:
            raise exception.Conflict('An upload of image %s is already in '
                                     'progress' % image_id) from None
        try:
            with os.fdopen(fd, 'wb') as f:
                for chunk in chunks:
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            os.rename(partial, final)
        except OSError as e:
            _unlink_quietly(partial)
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise exception.TooLarge('The file store is full') from None
            raise exception.StoreError('Writing image %s failed: %s'
                                       % (image_id, e)) from None
        except BaseException:
            _unlink_quietly(partial)
            raise
        return 'file://' + urllib.parse.quote(final)

    def get(self, location):
        path = self._path(location)
        try:
            f = open(path, 'rb')
        except FileNotFoundError:
            raise exception.NotFound('Image data not found at %s'
                                     % location) from None
        return base.chunk_file(f), os.fstat(f.fileno()).st_size

    def get_size(self, location):
        try:
            return os.path.getsize(self._path(location))
        except FileNotFoundError:
            raise exception.NotFound('Image data not found at %s'
                                     % location) from None

    def delete(self, location):
        try:
            os.unlink(self._path(location))
        except FileNotFoundError:
            raise exception.NotFound('Image data not found at %s'
                                     % location) from None


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass
