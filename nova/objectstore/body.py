"""Request bodies as a stream of byte blocks, checked as they go by.

A body is never held in memory: ``request_body`` yields blocks of at most
``BLOCK`` bytes from ``wsgi.input`` and, once the last block has been
yielded, raises an S3 error if the body was not what the request said it
would be.  A consumer that writes blocks to a temporary file therefore sees
the exception before it commits anything.

What is checked (``BodyPolicy``, built from the request by ``auth``):

* the byte count against ``Content-Length`` (``IncompleteBody``);
* the SHA-256 a SigV4 request declared in ``x-amz-content-sha256``;
* ``aws-chunked`` framing (SigV4 streaming uploads): chunk signatures are
  chained from the request's seed signature and verified one by one, the
  trailer signature too; the decoded length against
  ``x-amz-decoded-content-length``;
* ``x-amz-checksum-crc32/sha1/sha256`` sent as a header or a trailer
  (CRC32C and CRC64NVME are accepted unchecked: the standard library has
  no implementation of them).

Content-MD5 is the store's business: it computes the MD5 anyway for the
ETag.
"""

import base64
import binascii
import dataclasses
import hashlib
import hmac
import zlib

from nova.objectstore import errors

BLOCK = 64 * 1024
MAX_CHUNK_HEADER = 4096     # bytes of one aws-chunked size line or trailer
EMPTY_SHA256 = hashlib.sha256(b'').hexdigest()

STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
STREAMING_MODES = (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER,
                   STREAMING_UNSIGNED_TRAILER)


@dataclasses.dataclass
class ChunkSigner:
    """What is needed to check the signatures of SigV4 streaming chunks."""
    signing_key: bytes
    amz_date: str
    scope: str
    seed_signature: str

    def chunk_signature(self, previous, data_sha256):
        text = '\n'.join(['AWS4-HMAC-SHA256-PAYLOAD', self.amz_date,
                          self.scope, previous, EMPTY_SHA256, data_sha256])
        return hmac.new(self.signing_key, text.encode('utf-8'),
                        hashlib.sha256).hexdigest()

    def trailer_signature(self, previous, trailers):
        canonical = ''.join('%s:%s\n' % (name, trailers[name])
                            for name in sorted(trailers))
        text = '\n'.join(['AWS4-HMAC-SHA256-TRAILER', self.amz_date,
                          self.scope, previous,
                          hashlib.sha256(canonical.encode()).hexdigest()])
        return hmac.new(self.signing_key, text.encode('utf-8'),
                        hashlib.sha256).hexdigest()


@dataclasses.dataclass
class BodyPolicy:
    """How a request's body must be read and what must hold of it."""
    sha256: str = None              # hex digest the body must have
    streaming: str = None           # one of STREAMING_MODES, or None
    chunk_signer: ChunkSigner = None
    decoded_length: int = None      # x-amz-decoded-content-length
    checksums: dict = dataclasses.field(default_factory=dict)  # alg -> b64
    trailer_names: tuple = ()       # x-amz-trailer


_CHECKSUMS = {
    'crc32': lambda: _Crc32(),
    'sha1': hashlib.sha1,
    'sha256': hashlib.sha256,
}
KNOWN_CHECKSUMS = ('crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256')


class _Crc32:
    def __init__(self):
        self.value = 0

    def update(self, data):
        self.value = zlib.crc32(data, self.value)

    def digest(self):
        return self.value.to_bytes(4, 'big')


def content_length(environ):
    """The declared Content-Length, None if absent; InvalidArgument if bad."""
    text = environ.get('CONTENT_LENGTH')
    if text in (None, ''):
        return None
    try:
        value = int(text)
    except ValueError:
        raise errors.InvalidArgument('Content-Length %r is not a number.'
                                     % text) from None
    if value < 0:
        raise errors.InvalidArgument('Content-Length must not be negative.')
    return value


def is_chunked_transfer(environ):
    return 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower()


def raw_input(environ, block=BLOCK):
    """Blocks of the body as it came over HTTP (transfer framing removed).

    With a Content-Length exactly that many bytes are read; a body that
    ends early raises IncompleteBody.  A chunked transfer is read to its
    end.  A request with neither has no body.
    """
    stream = environ['wsgi.input']
    length = content_length(environ)
    if length is None:
        if not is_chunked_transfer(environ):
            return
        while True:
            data = stream.read(block)
            if not data:
                return
            yield data
    remaining = length
    while remaining > 0:
        data = stream.read(min(block, remaining))
        if not data:
            raise errors.IncompleteBody()
        remaining -= len(data)
        yield data


class _Buffered:
    """Reads lines and exact byte counts out of a stream of blocks."""

    def __init__(self, blocks):
        self._blocks = iter(blocks)
        self._buf = bytearray()
        self._eof = False

    def _fill(self):
        if self._eof:
            return False
        try:
            self._buf += next(self._blocks)
        except StopIteration:
            self._eof = True
            return False
        return True

    def line(self):
        """The next CRLF-terminated line without its CRLF; None at EOF."""
        while True:
            index = self._buf.find(b'\r\n')
            if index >= 0:
                line = bytes(self._buf[:index])
                del self._buf[:index + 2]
                return line
            if len(self._buf) > MAX_CHUNK_HEADER:
                raise errors.InvalidRequest('aws-chunked header line too '
                                            'long.')
            if not self._fill():
                if self._buf:
                    raise errors.IncompleteBody('The aws-chunked body ended '
                                                'inside a header line.')
                return None

    def take(self, size):
        """Yield exactly ``size`` bytes in pieces of at most BLOCK bytes."""
        while size > 0:
            if not self._buf and not self._fill():
                raise errors.IncompleteBody('The aws-chunked body ended '
                                            'inside a chunk.')
            piece = bytes(self._buf[:min(size, BLOCK)])
            del self._buf[:len(piece)]
            size -= len(piece)
            yield piece


def _parse_chunk_header(line):
    size_text, _sep, extension = line.decode('latin-1').partition(';')
    try:
        size = int(size_text.strip(), 16)
    except ValueError:
        raise errors.InvalidRequest('Malformed aws-chunked size line %r.'
                                    % line[:80]) from None
    signature = None
    if extension:
        name, _sep, value = extension.partition('=')
        if name.strip() == 'chunk-signature':
            signature = value.strip()
    return size, signature


def decode_aws_chunked(blocks, policy):
    """The payload of an ``aws-chunked`` body, chunk signatures verified.

    Trailers (``x-amz-checksum-*``) are stored into ``policy.checksums``
    once the body has been read, so the caller's checks see them.
    """
    signer = policy.chunk_signer if policy.streaming in (
        STREAMING_SIGNED, STREAMING_SIGNED_TRAILER) else None
    previous = signer.seed_signature if signer else None
    reader = _Buffered(blocks)
    while True:
        line = reader.line()
        if line is None:
            raise errors.IncompleteBody('The aws-chunked body ended before '
                                        'its final chunk.')
        size, signature = _parse_chunk_header(line)
        if signer is not None and signature is None:
            raise errors.SignatureDoesNotMatch('A chunk carries no '
                                               'chunk-signature.')
        digest = hashlib.sha256() if signer is not None else None
        for piece in reader.take(size):
            if digest is not None:
                digest.update(piece)
            yield piece
        if size:
            if reader.line() != b'':
                raise errors.InvalidRequest('An aws-chunked chunk is not '
                                            'followed by CRLF.')
        if signer is not None:
            expected = signer.chunk_signature(previous, digest.hexdigest())
            if not hmac.compare_digest(expected, signature.lower()):
                raise errors.SignatureDoesNotMatch(
                    'A chunk signature does not match.')
            previous = expected
        if size == 0:
            break
    _read_trailers(reader, policy, signer, previous)


def _read_trailers(reader, policy, signer, previous):
    trailers = {}
    trailer_signature = None
    for _count in range(64):
        line = reader.line()
        if not line:            # blank line or EOF ends the trailer section
            break
        name, sep, value = line.decode('latin-1').partition(':')
        if not sep:
            raise errors.InvalidRequest('Malformed aws-chunked trailer.')
        name = name.strip().lower()
        if name == 'x-amz-trailer-signature':
            trailer_signature = value.strip()
        else:
            trailers[name] = value.strip()
    else:
        raise errors.InvalidRequest('Too many aws-chunked trailers.')
    expected_names = set(policy.trailer_names)
    if expected_names - set(trailers):
        raise errors.InvalidRequest('Trailer %s was announced in '
                                    'x-amz-trailer but not sent.'
                                    % ', '.join(sorted(expected_names
                                                       - set(trailers))))
    if signer is not None and policy.streaming == STREAMING_SIGNED_TRAILER:
        if trailer_signature is None:
            raise errors.SignatureDoesNotMatch('The trailer is not signed.')
        expected = signer.trailer_signature(previous, trailers)
        if not hmac.compare_digest(expected, trailer_signature.lower()):
            raise errors.SignatureDoesNotMatch(
                'The trailer signature does not match.')
    for name, value in trailers.items():
        if name.startswith('x-amz-checksum-'):
            policy.checksums[name[len('x-amz-checksum-'):]] = value


def request_body(environ, policy, max_size=None):
    """The body's payload in blocks; raises at the end if a check fails.

    ``max_size`` bounds the payload (EntityTooLarge).
    """
    blocks = raw_input(environ)
    if policy.streaming:
        blocks = decode_aws_chunked(blocks, policy)
    sha = hashlib.sha256() if policy.sha256 else None
    sums = {}
    for alg in set(_CHECKSUMS) & (set(policy.checksums)
                                  | {n[len('x-amz-checksum-'):]
                                     for n in policy.trailer_names}):
        sums[alg] = _CHECKSUMS[alg]()
    total = 0
    for data in blocks:
        total += len(data)
        if max_size is not None and total > max_size:
            raise errors.EntityTooLarge()
        if sha is not None:
            sha.update(data)
        for digest in sums.values():
            digest.update(data)
        yield data
    if policy.decoded_length is not None and total != policy.decoded_length:
        raise errors.IncompleteBody('The decoded body has %d bytes, '
                                    'x-amz-decoded-content-length says %d.'
                                    % (total, policy.decoded_length))
    if sha is not None and not hmac.compare_digest(sha.hexdigest(),
                                                   policy.sha256.lower()):
        raise errors.XAmzContentSHA256Mismatch()
    for alg, digest in sums.items():
        expected = policy.checksums.get(alg)
        if expected is None:
            continue
        try:
            expected_bytes = base64.b64decode(expected, validate=True)
        except (binascii.Error, ValueError):
            raise errors.InvalidRequest('x-amz-checksum-%s is not base64.'
                                        % alg) from None
        if not hmac.compare_digest(digest.digest(), expected_bytes):
            raise errors.BadDigest('The %s you specified did not match the '
                                   'calculated checksum.' % alg.upper())


def read_small_body(environ, policy, limit):
    """The whole body of a request that is small by nature (XML documents)."""
    length = content_length(environ)
    if length is not None and length > limit:
        raise errors.InvalidRequest('The request body is larger than %d '
                                    'bytes.' % limit)
    chunks = []
    for data in request_body(environ, policy, max_size=limit):
        chunks.append(data)
    return b''.join(chunks)


def drain(environ, policy, limit=1024 * 1024):
    """Read and check a body whose content is ignored (e.g. a bucket's
    CreateBucketConfiguration), so a bad signature on it is still caught."""
    for _data in request_body(environ, policy, max_size=limit):
        pass
