"""Paging rules of bucket listings, and the request body decoder."""

import base64
import hashlib
import io
import zlib

import pytest

from nova.auth import signer
from nova.objectstore import body
from nova.objectstore import errors
from nova.objectstore import listing

KEYS = ['a', 'b/1', 'b/2', 'b/3/x', 'c', 'd/1']


def test_plain_listing():
    page = listing.list_page(KEYS)
    assert page.contents == KEYS
    assert page.common_prefixes == []
    assert not page.truncated and page.next_marker is None


def test_prefix_and_marker():
    assert listing.list_page(KEYS, prefix='b/').contents == ['b/1', 'b/2',
                                                             'b/3/x']
    assert listing.list_page(KEYS, marker='b/2').contents == ['b/3/x', 'c',
                                                              'd/1']


def test_delimiter_rolls_up():
    page = listing.list_page(KEYS, delimiter='/')
    assert page.contents == ['a', 'c']
    assert page.common_prefixes == ['b/', 'd/']
    page = listing.list_page(KEYS, prefix='b/', delimiter='/')
    assert page.contents == ['b/1', 'b/2']
    assert page.common_prefixes == ['b/3/']


def test_max_keys_counts_prefixes_once():
    page = listing.list_page(KEYS, delimiter='/', max_keys=2)
    assert page.contents == ['a']
    assert page.common_prefixes == ['b/']
    assert page.truncated and page.next_marker == 'b/'
    page = listing.list_page(KEYS, delimiter='/', max_keys=2,
                             marker=page.next_marker)
    assert page.contents == ['c']
    assert page.common_prefixes == ['d/']
    assert not page.truncated


def test_marker_inside_a_prefix_skips_it():
    page = listing.list_page(KEYS, delimiter='/', marker='b/1')
    assert page.common_prefixes == ['d/']
    assert page.contents == ['c']


def test_zero_max_keys():
    page = listing.list_page(KEYS, max_keys=0)
    assert page.contents == [] and page.truncated


# -- bodies ----------------------------------------------------------------------

def _environ(data, length=None, chunked=False):
    environ = {'wsgi.input': io.BytesIO(data)}
    if chunked:
        environ['HTTP_TRANSFER_ENCODING'] = 'chunked'
    else:
        environ['CONTENT_LENGTH'] = str(len(data) if length is None
                                        else length)
    return environ


def _read(environ, policy, **kw):
    return b''.join(body.request_body(environ, policy, **kw))


def test_plain_body_and_sha256():
    data = b'x' * 200000
    policy = body.BodyPolicy(sha256=hashlib.sha256(data).hexdigest())
    assert _read(_environ(data), policy) == data
    policy = body.BodyPolicy(sha256=hashlib.sha256(b'y').hexdigest())
    with pytest.raises(errors.XAmzContentSHA256Mismatch):
        _read(_environ(data), policy)


def test_body_blocks_are_bounded():
    data = b'z' * (3 * body.BLOCK + 5)
    blocks = list(body.request_body(_environ(data), body.BodyPolicy()))
    assert max(len(b) for b in blocks) <= body.BLOCK
    assert b''.join(blocks) == data


def test_short_body_and_size_limit():
    with pytest.raises(errors.IncompleteBody):
        _read(_environ(b'abc', length=10), body.BodyPolicy())
    with pytest.raises(errors.EntityTooLarge):
        _read(_environ(b'abcdef'), body.BodyPolicy(), max_size=5)


def test_chunked_transfer_without_length():
    assert _read(_environ(b'chunky', chunked=True), body.BodyPolicy()) == \
        b'chunky'
    # No length and no chunking: no body at all.
    assert _read({'wsgi.input': io.BytesIO(b'ignored')},
                 body.BodyPolicy()) == b''


def test_checksums():
    data = b'checksum me'
    sums = {
        'crc32': base64.b64encode(zlib.crc32(data).to_bytes(4, 'big')),
        'sha1': base64.b64encode(hashlib.sha1(data).digest()),
        'sha256': base64.b64encode(hashlib.sha256(data).digest()),
    }
    for alg, value in sums.items():
        policy = body.BodyPolicy(checksums={alg: value.decode()})
        assert _read(_environ(data), policy) == data
        with pytest.raises(errors.BadDigest):
            _read(_environ(data + b'!'), policy)
    # Algorithms the standard library lacks are accepted unchecked.
    policy = body.BodyPolicy(checksums={'crc32c': 'AAAAAA=='})
    assert _read(_environ(data), policy) == data


# The example of AWS's "Transferring Payload in Multiple Chunks" page: 66560
# bytes of 'a' sent as a 65536-byte and a 1024-byte chunk.
AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
AWS_SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9'
AWS_CHUNK_SIGNATURES = [
    'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
    '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
    'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
]


def _aws_example_signer():
    return body.ChunkSigner(
        signer.v4_signing_key(AWS_SECRET, '20130524', 'us-east-1', 's3'),
        '20130524T000000Z', '20130524/us-east-1/s3/aws4_request', AWS_SEED)


def _aws_example_body():
    out = b''
    for data, sig in zip([b'a' * 65536, b'a' * 1024, b''],
                         AWS_CHUNK_SIGNATURES):
        out += b'%x;chunk-signature=%s\r\n' % (len(data), sig.encode())
        out += data + b'\r\n' if data else b''
    return out + b'\r\n'


def test_aws_documented_chunk_signatures():
    policy = body.BodyPolicy(streaming=body.STREAMING_SIGNED,
                             chunk_signer=_aws_example_signer(),
                             decoded_length=66560)
    data = _read(_environ(_aws_example_body()), policy)
    assert data == b'a' * 66560


def test_aws_chunked_tampering_is_caught():
    policy = body.BodyPolicy(streaming=body.STREAMING_SIGNED,
                             chunk_signer=_aws_example_signer())
    tampered = _aws_example_body().replace(b'a' * 1024, b'b' * 1024)
    with pytest.raises(errors.SignatureDoesNotMatch):
        _read(_environ(tampered), policy)
    # A chunk cut short.
    truncated = _aws_example_body()[:66000]
    with pytest.raises(errors.IncompleteBody):
        _read(_environ(truncated), policy)


def test_aws_chunked_decoded_length_checked():
    policy = body.BodyPolicy(streaming=body.STREAMING_SIGNED,
                             chunk_signer=_aws_example_signer(),
                             decoded_length=66561)
    with pytest.raises(errors.IncompleteBody):
        _read(_environ(_aws_example_body()), policy)


def test_unsigned_chunks_with_trailer():
    data = b'hello chunks'
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, 'big')).decode()
    framed = (b'5\r\nhello\r\n7\r\n chunks\r\n0\r\n'
              b'x-amz-checksum-crc32:' + crc.encode() + b'\r\n\r\n')
    policy = body.BodyPolicy(streaming=body.STREAMING_UNSIGNED_TRAILER,
                             trailer_names=('x-amz-checksum-crc32',))
    assert _read(_environ(framed), policy) == data
    policy = body.BodyPolicy(streaming=body.STREAMING_UNSIGNED_TRAILER,
                             trailer_names=('x-amz-checksum-crc32',))
    with pytest.raises(errors.BadDigest):
        _read(_environ(framed.replace(b'hello', b'HELLO')), policy)


def test_announced_trailer_must_arrive():
    policy = body.BodyPolicy(streaming=body.STREAMING_UNSIGNED_TRAILER,
                             trailer_names=('x-amz-checksum-crc32',))
    with pytest.raises(errors.InvalidRequest):
        _read(_environ(b'2\r\nhi\r\n0\r\n\r\n'), policy)


def test_malformed_chunk_size():
    policy = body.BodyPolicy(streaming=body.STREAMING_UNSIGNED_TRAILER)
    with pytest.raises(errors.InvalidRequest):
        _read(_environ(b'zz\r\nhi\r\n0\r\n\r\n'), policy)
