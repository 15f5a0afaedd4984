"""Reading an image upload off the request, with its limits enforced.

The body arrives either with a Content-Length or chunked.  The reader
yields it in chunks and raises as soon as something is wrong: the client
stopped early (fewer bytes than declared, or a broken chunked stream), the
image grew past the size the client declared, or past the service's cap.
"""

from glance.common import exception
from glance.store import base

CHUNK_SIZE = 64 * 1024


def has_body(req):
    if req.headers.get('Transfer-Encoding'):
        return True
    return bool(req.content_length)


def content_length(req):
    if req.headers.get('Transfer-Encoding'):
        return None
    return req.content_length


class BodyReader:
    """Iterates the request body; counts and hashes what passes."""

    def __init__(self, environ, length=None, declared_size=None,
                 size_cap=None):
        self.stream = environ['wsgi.input']
        self.length = length
        self.declared_size = declared_size
        self.size_cap = size_cap
        self.hashing = base.HashingIterator(self._read())

    def __iter__(self):
        return iter(self.hashing)

    @property
    def size(self):
        return self.hashing.size

    def checksum(self):
        return self.hashing.hexdigest()

    def _read(self):
        remaining = self.length
        total = 0
        while remaining is None or remaining > 0:
            want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE,
                                                            remaining)
            try:
                data = self.stream.read(want)
            except (OSError, ValueError) as e:
                raise exception.UploadIncomplete(
                    'The upload broke off after %d bytes: %s' % (total, e)) \
                    from None
            if not data:
                if remaining:
                    raise exception.UploadIncomplete(
                        'The upload ended after %d of %d bytes'
                        % (total, self.length))
                break
            total += len(data)
            if remaining is not None:
                remaining -= len(data)
            if self.declared_size is not None and total > self.declared_size:
                raise exception.Invalid(
                    'The image data is larger than the declared size %d'
                    % self.declared_size)
            if self.size_cap is not None and total > self.size_cap:
                raise exception.TooLarge('The image exceeds the size limit of '
                                         '%d bytes' % self.size_cap)
            yield data
