"""What every image store offers, and helpers for streaming through them.

A store keeps image bytes under a location URI.  Data moves as iterators
of byte chunks in both directions, so memory stays flat however large an
image is.  ``add`` must leave nothing behind when it fails: a half-written
image is removed before the error propagates.
"""

import hashlib
import urllib.parse

from glance.common import exception

CHUNK_SIZE = 64 * 1024


class Store:
    """Base class: read-only and delete-less until a subclass says so."""

    name = None
    schemes = ()

    def __init__(self, conf=None):
        self.conf = dict(conf or {})

    def add(self, image_id, chunks, size=None):
        """Store ``chunks`` as image ``image_id``; return the location URI.

        ``size`` is the byte count when known in advance (it lets stores
        choose a strategy); the caller checks the bytes that arrived.
        """
        raise exception.Invalid('The %s store is read-only; choose another '
                                'store for uploads' % self.name)

    def get(self, location):
        """``(chunk iterator, size or None)`` for the image at location."""
        raise NotImplementedError

    def get_size(self, location):
        """The byte count at ``location`` without reading it (or None)."""
        return None

    def delete(self, location):
        """Remove the data; NotFound when there is none."""
        raise exception.Invalid('The %s store cannot delete data'
                                % self.name)

    def validate_location(self, location, context=None):
        """Raise Invalid/Forbidden when a client may not register it."""


def chunk_file(fileobj, chunk_size=CHUNK_SIZE):
    """Iterate a file in chunks, closing it at the end (or on close())."""
    try:
        while True:
            data = fileobj.read(chunk_size)
            if not data:
                break
            yield data
    finally:
        fileobj.close()


class Segmenter:
    """Cuts one chunk iterator into consecutive runs of at most N bytes."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._pending = b''
        self._done = False

    def has_more(self):
        while not self._pending and not self._done:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                self._done = True
        return bool(self._pending)

    def take(self, limit):
        """A generator of the next ``limit`` bytes (fewer at the end)."""
        left = limit
        while left > 0 and self.has_more():
            piece = self._pending[:left]
            self._pending = self._pending[left:]
            left -= len(piece)
            yield piece


class HashingIterator:
    """Passes chunks through while counting and MD5-hashing them."""

    def __init__(self, chunks):
        self._chunks = chunks
        self.md5 = hashlib.md5()
        self.size = 0

    def __iter__(self):
        for chunk in self._chunks:
            self.md5.update(chunk)
            self.size += len(chunk)
            yield chunk

    def hexdigest(self):
        return self.md5.hexdigest()


def redact(location):
    """The location without any user:password part (safe to show)."""
    if not location:
        return location
    parts = urllib.parse.urlsplit(location)
    if '@' not in parts.netloc:
        return location
    netloc = parts.netloc.rsplit('@', 1)[1]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
