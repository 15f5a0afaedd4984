"""The S3 WSGI app in-process: every status it answers, with a fake auth
driver behind the real AuthManager."""

import base64
import datetime
import hashlib
import os
import urllib.parse
import xml.etree.ElementTree as ElementTree
import zlib

import pytest

from nova.objectstore import body as s3body
from nova.objectstore import store
from nova.auth import signer
from tests.unit.objectstore import fakes

NS = '{http://s3.amazonaws.com/doc/2006-03-01/}'


@pytest.fixture
def app(tmp_path):
    return fakes.make_app(tmp_path / 'buckets')


def send(app, method, path, body=None, headers=None, access='AK',
         secret='SK', sign='v2', when=None):
    req = fakes.request(method, path, body, headers)
    if sign == 'v2':
        fakes.sign_v2(req, access, secret, when)
    elif sign == 'v4':
        payload = hashlib.sha256(body or b'').hexdigest()
        fakes.sign_v4(req, access, secret, payload, when)
    return req.get_response(app)


def error_code(resp):
    root = ElementTree.fromstring(resp.body)
    assert root.tag == 'Error'
    fields = {child.tag: child.text for child in root}
    assert set(fields) == {'Code', 'Message', 'Resource', 'RequestId'}
    assert fields['RequestId'] == resp.headers['x-amz-request-id']
    return fields['Code']


def doc(resp):
    assert resp.content_type == 'application/xml'
    return ElementTree.fromstring(resp.body)


def texts(root, path):
    """Texts of the elements at ``path`` (names without the S3 namespace)."""
    qualified = '/'.join(NS + part for part in path.split('/'))
    return [node.text for node in root.iterfind(qualified)]


def make_bucket(app, name='bucket1', access='AK', secret='SK'):
    resp = send(app, 'PUT', '/' + name, access=access, secret=secret)
    assert resp.status_int == 200, resp.body
    return name


def put(app, path, data, headers=None, **kw):
    resp = send(app, 'PUT', path, data, headers, **kw)
    assert resp.status_int == 200, resp.body
    return resp


# -- authentication -------------------------------------------------------------

def test_unsigned_request_is_access_denied(app):
    resp = fakes.request('GET', '/').get_response(app)
    assert resp.status_int == 403
    assert error_code(resp) == 'AccessDenied'


def test_unknown_access_key(app):
    resp = send(app, 'GET', '/', access='NOPE', secret='x')
    assert resp.status_int == 403
    assert error_code(resp) == 'InvalidAccessKeyId'


@pytest.mark.parametrize('sign', ['v2', 'v4'])
def test_wrong_secret_is_signature_mismatch(app, sign):
    resp = send(app, 'GET', '/', secret='wrong', sign=sign)
    assert resp.status_int == 403
    assert error_code(resp) == 'SignatureDoesNotMatch'


@pytest.mark.parametrize('sign', ['v2', 'v4'])
def test_skewed_clock_is_refused(app, sign):
    when = fakes.now_utc() - datetime.timedelta(minutes=16)
    resp = send(app, 'GET', '/', sign=sign, when=when)
    assert resp.status_int == 403
    assert error_code(resp) == 'RequestTimeTooSkewed'
    # Within the 15-minute window it is fine.
    when = fakes.now_utc() - datetime.timedelta(minutes=14)
    assert send(app, 'GET', '/', sign=sign, when=when).status_int == 200


def test_v2_without_date_is_denied(app):
    req = fakes.request('GET', '/')
    sig = signer.s3_signature('SK', 'GET', '/', {}, '')
    req.headers['Authorization'] = 'AWS AK:%s' % sig
    resp = req.get_response(app)
    assert resp.status_int == 403
    assert error_code(resp) == 'AccessDenied'


def test_malformed_v4_header(app):
    req = fakes.request('GET', '/', headers={
        'Authorization': 'AWS4-HMAC-SHA256 Credential=AK/2011/x, Nonsense'})
    resp = req.get_response(app)
    assert resp.status_int == 400
    assert error_code(resp) == 'AuthorizationHeaderMalformed'


def test_v4_needs_content_sha256(app):
    req = fakes.request('GET', '/')
    fakes.sign_v4(req)
    del req.headers['X-Amz-Content-Sha256']
    resp = req.get_response(app)
    assert resp.status_int == 400
    assert error_code(resp) == 'InvalidRequest'


def test_access_with_project_suffix(app):
    make_bucket(app)
    resp = send(app, 'GET', '/', access='AK:alice')
    assert resp.status_int == 200
    # alice is no member of bob's project.
    resp = send(app, 'GET', '/', access='AK:bob')
    assert resp.status_int == 403
    assert error_code(resp) == 'AccessDenied'
    resp = send(app, 'GET', '/', access='AK:nosuchproject')
    assert resp.status_int == 403
    assert error_code(resp) == 'AccessDenied'


def test_presigned_v2_url(app):
    make_bucket(app)
    put(app, '/bucket1/obj', b'presigned data')
    expires = str(int(fakes.now_utc().timestamp()) + 60)
    sig = signer.s3_signature('SK', 'GET', '/bucket1/obj', {}, '', expires)
    query = urllib.parse.urlencode({'AWSAccessKeyId': 'AK',
                                    'Expires': expires, 'Signature': sig})
    resp = fakes.request('GET', '/bucket1/obj?' + query).get_response(app)
    assert resp.status_int == 200
    assert resp.body == b'presigned data'

    expired = str(int(fakes.now_utc().timestamp()) - 1)
    sig = signer.s3_signature('SK', 'GET', '/bucket1/obj', {}, '', expired)
    query = urllib.parse.urlencode({'AWSAccessKeyId': 'AK',
                                    'Expires': expired, 'Signature': sig})
    resp = fakes.request('GET', '/bucket1/obj?' + query).get_response(app)
    assert resp.status_int == 403
    assert error_code(resp) == 'AccessDenied'


def test_presigned_v4_url(app):
    make_bucket(app)
    put(app, '/bucket1/obj', b'v4 presigned')
    amz_date = fakes.now_utc().strftime('%Y%m%dT%H%M%SZ')
    params = {'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
              'X-Amz-Credential': 'AK/%s/us-east-1/s3/aws4_request'
                                  % amz_date[:8],
              'X-Amz-Date': amz_date, 'X-Amz-Expires': '300',
              'X-Amz-SignedHeaders': 'host'}
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    req = fakes.request('GET', '/bucket1/obj?' + query)
    v4 = signer.parse_v4({}, query + '&X-Amz-Signature=' + '0' * 64)
    sig = signer.generate_v4('SK', v4, 'GET', '/bucket1/obj', query,
                             signer.request_headers(req.environ), None)
    req = fakes.request('GET', '/bucket1/obj?%s&X-Amz-Signature=%s'
                        % (query, sig))
    resp = req.get_response(app)
    assert resp.status_int == 200, resp.body
    assert resp.body == b'v4 presigned'


# -- buckets ------------------------------------------------------------------------

def test_list_buckets_shows_own_project_only_admin_all(app):
    make_bucket(app, 'alices')
    make_bucket(app, 'bobs', access='BK', secret='BS')
    root = doc(send(app, 'GET', '/'))
    assert root.tag == NS + 'ListAllMyBucketsResult'
    assert texts(root, 'Buckets/Bucket/Name') == ['alices']
    assert texts(root, 'Owner/ID') == ['alice']
    created = texts(root, 'Buckets/Bucket/CreationDate')[0]
    assert created.endswith('Z') and 'T' in created
    root = doc(send(app, 'GET', '/', access='RK', secret='RS'))
    assert texts(root, 'Buckets/Bucket/Name') == ['alices', 'bobs']


def test_create_bucket_conflicts(app):
    resp = send(app, 'PUT', '/bucket1')
    assert resp.status_int == 200
    assert resp.headers['Location'].endswith('/bucket1')
    resp = send(app, 'PUT', '/bucket1')
    assert resp.status_int == 409
    assert error_code(resp) == 'BucketAlreadyOwnedByYou'
    resp = send(app, 'PUT', '/bucket1', access='BK', secret='BS')
    assert resp.status_int == 409
    assert error_code(resp) == 'BucketAlreadyExists'


@pytest.mark.parametrize('name', ['ab', 'a' * 64, 'UPPER', 'under_score',
                                  '-dash', 'dot.', 'a..b', '192.168.1.1',
                                  'sp%20ace', '.staging-x'])
def test_invalid_bucket_names(app, name):
    resp = send(app, 'PUT', '/' + name)
    assert resp.status_int == 400
    assert error_code(resp) == 'InvalidBucketName'
    assert os.listdir(app.store.root) == []


def test_create_bucket_with_location_configuration(app):
    config = (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/'
              b'doc/2006-03-01/"><LocationConstraint>nova</LocationConstraint>'
              b'</CreateBucketConfiguration>')
    assert send(app, 'PUT', '/bucket1', config).status_int == 200
    resp = send(app, 'PUT', '/bucket2', b'<not xml')
    assert resp.status_int == 400
    assert error_code(resp) == 'MalformedXML'
    assert send(app, 'HEAD', '/bucket2').status_int == 404


def test_head_bucket(app):
    make_bucket(app)
    resp = send(app, 'HEAD', '/bucket1')
    assert resp.status_int == 200 and resp.body == b''
    resp = send(app, 'HEAD', '/nosuchbucket')
    assert resp.status_int == 404 and resp.body == b''
    resp = send(app, 'HEAD', '/bucket1', access='BK', secret='BS')
    assert resp.status_int == 403 and resp.body == b''


def test_delete_bucket(app):
    make_bucket(app)
    put(app, '/bucket1/k', b'x')
    resp = send(app, 'DELETE', '/bucket1')
    assert resp.status_int == 409
    assert error_code(resp) == 'BucketNotEmpty'
    assert send(app, 'DELETE', '/bucket1/k').status_int == 204
    resp = send(app, 'DELETE', '/bucket1', access='BK', secret='BS')
    assert resp.status_int == 403
    assert send(app, 'DELETE', '/bucket1').status_int == 204
    resp = send(app, 'DELETE', '/bucket1')
    assert resp.status_int == 404
    assert error_code(resp) == 'NoSuchBucket'
    assert os.listdir(app.store.root) == []


def test_other_projects_bucket_is_denied_admin_allowed(app):
    make_bucket(app)
    put(app, '/bucket1/k', b'secret')
    for method in ('GET', 'HEAD', 'DELETE'):
        for path in ('/bucket1', '/bucket1/k'):
            resp = send(app, method, path, access='BK', secret='BS')
            assert resp.status_int == 403, (method, path)
    resp = send(app, 'PUT', '/bucket1/k', b'overwrite', access='BK',
                secret='BS')
    assert resp.status_int == 403
    assert error_code(resp) == 'AccessDenied'
    resp = send(app, 'GET', '/bucket1/k', access='RK', secret='RS')
    assert resp.status_int == 200 and resp.body == b'secret'


def test_missing_bucket(app):
    for method, path in (('GET', '/nobucket'), ('GET', '/nobucket/k'),
                         ('DELETE', '/nobucket/k')):
        resp = send(app, method, path)
        assert resp.status_int == 404
        assert error_code(resp) == 'NoSuchBucket'
    resp = send(app, 'PUT', '/nobucket/k', b'data')
    assert resp.status_int == 404
    assert error_code(resp) == 'NoSuchBucket'


def test_bucket_location(app):
    make_bucket(app)
    root = doc(send(app, 'GET', '/bucket1?location'))
    assert root.tag == NS + 'LocationConstraint'


def test_method_not_allowed(app):
    make_bucket(app)
    for method, path in (('POST', '/'), ('PUT', '/'), ('DELETE', '/'),
                         ('POST', '/bucket1'), ('PATCH', '/bucket1/k')):
        resp = send(app, method, path)
        assert resp.status_int == 405, (method, path)
        assert error_code(resp) == 'MethodNotAllowed'
        assert 'Allow' in resp.headers


def test_unsupported_subresource_is_not_implemented(app):
    make_bucket(app)
    resp = send(app, 'GET', '/bucket1?acl')
    assert resp.status_int == 501
    assert error_code(resp) == 'NotImplemented'


# -- objects -------------------------------------------------------------------------

def test_put_get_head_object_with_metadata(app):
    make_bucket(app)
    data = b'hello world'
    resp = put(app, '/bucket1/dir/file.txt', data, headers={
        'Content-Type': 'text/plain', 'X-Amz-Meta-Color': 'red',
        'Content-MD5': fakes.md5_b64(data),
        'Content-Disposition': 'attachment'})
    etag = '"%s"' % hashlib.md5(data).hexdigest()
    assert resp.headers['ETag'] == etag

    resp = send(app, 'GET', '/bucket1/dir/file.txt')
    assert resp.status_int == 200
    assert resp.body == data
    assert resp.headers['Content-Type'] == 'text/plain'
    assert resp.headers['Content-Length'] == str(len(data))
    assert resp.headers['ETag'] == etag
    assert resp.headers['x-amz-meta-color'] == 'red'
    assert resp.headers['Content-Disposition'] == 'attachment'
    assert resp.headers['Last-Modified'].endswith('GMT')

    resp = send(app, 'HEAD', '/bucket1/dir/file.txt')
    assert resp.status_int == 200
    assert resp.body == b''
    assert resp.headers['Content-Length'] == str(len(data))
    assert resp.headers['x-amz-meta-color'] == 'red'


def test_overwrite_keeps_one_version(app):
    make_bucket(app)
    put(app, '/bucket1/k', b'first')
    put(app, '/bucket1/k', b'second', headers={'X-Amz-Meta-V': '2'})
    resp = send(app, 'GET', '/bucket1/k')
    assert resp.body == b'second'
    assert resp.headers['x-amz-meta-v'] == '2'
    bucket_dir = os.path.join(app.store.root, 'bucket1')
    assert len(os.listdir(os.path.join(bucket_dir, 'data'))) == 1
    assert os.listdir(os.path.join(bucket_dir, 'tmp')) == []


def test_default_content_type(app):
    make_bucket(app)
    put(app, '/bucket1/k', b'x')
    assert send(app, 'GET', '/bucket1/k').headers['Content-Type'] == \
        'binary/octet-stream'


@pytest.mark.parametrize('key', ['a b', 'dir/sub/leaf', 'ünïcødé/ключ',
                                 'plus+sign', 'x' * 1024, 'a//b',
                                 'pct%25'])
def test_odd_keys_round_trip(app, key):
    make_bucket(app)
    path = '/bucket1/' + urllib.parse.quote(key)
    put(app, path, key.encode('utf-8'))
    assert send(app, 'GET', path).body == key.encode('utf-8')
    root = doc(send(app, 'GET', '/bucket1'))
    assert texts(root, 'Contents/Key') == [key]


@pytest.mark.parametrize('key', ['../etc/passwd', 'a/../../b', 'a/./b',
                                 '/abs', 'x' * 1025])
def test_unsafe_or_long_keys_are_refused(app, key):
    make_bucket(app)
    resp = send(app, 'PUT', '/bucket1/' + urllib.parse.quote(key), b'x')
    assert resp.status_int == 400
    assert error_code(resp) == 'InvalidArgument'
    assert os.listdir(os.path.join(app.store.root, 'bucket1', 'meta')) == []


def test_bad_content_md5(app):
    make_bucket(app)
    resp = send(app, 'PUT', '/bucket1/k', b'data',
                {'Content-MD5': fakes.md5_b64(b'other')})
    assert resp.status_int == 400
    assert error_code(resp) == 'BadDigest'
    assert send(app, 'GET', '/bucket1/k').status_int == 404
    for sub in ('tmp', 'data', 'meta'):
        assert os.listdir(os.path.join(app.store.root, 'bucket1', sub)) == []
    resp = send(app, 'PUT', '/bucket1/k', b'data', {'Content-MD5': 'zz!'})
    assert resp.status_int == 400
    assert error_code(resp) == 'InvalidDigest'


def test_v4_payload_hash_is_checked(app):
    make_bucket(app)
    req = fakes.request('PUT', '/bucket1/k', b'the real body')
    fakes.sign_v4(req, payload=hashlib.sha256(b'another body').hexdigest())
    resp = req.get_response(app)
    assert resp.status_int == 400
    assert error_code(resp) == 'XAmzContentSHA256Mismatch'
    assert send(app, 'GET', '/bucket1/k').status_int == 404
    assert os.listdir(os.path.join(app.store.root, 'bucket1', 'tmp')) == []
    resp = send(app, 'PUT', '/bucket1/k', b'the real body', sign='v4')
    assert resp.status_int == 200
    assert send(app, 'GET', '/bucket1/k', sign='v4').body == b'the real body'


def test_checksum_header_is_checked(app):
    make_bucket(app)
    good = base64.b64encode(zlib.crc32(b'data').to_bytes(4, 'big')).decode()
    resp = send(app, 'PUT', '/bucket1/k', b'data',
                {'x-amz-checksum-crc32': good}, sign='v4')
    assert resp.status_int == 200
    bad = base64.b64encode(zlib.crc32(b'datb').to_bytes(4, 'big')).decode()
    resp = send(app, 'PUT', '/bucket1/k', b'changed',
                {'x-amz-checksum-crc32': bad}, sign='v4')
    assert resp.status_int == 400
    assert error_code(resp) == 'BadDigest'
    assert send(app, 'GET', '/bucket1/k').body == b'data'


def _aws_chunked(chunks, signer_obj, trailers=None):
    """An aws-chunked body; chunk signatures chained when signer_obj."""
    out = b''
    previous = signer_obj.seed_signature if signer_obj else None
    for data in list(chunks) + [b'']:
        if signer_obj:
            previous = signer_obj.chunk_signature(
                previous, hashlib.sha256(data).hexdigest())
            out += b'%x;chunk-signature=%s\r\n' % (len(data),
                                                   previous.encode())
        else:
            out += b'%x\r\n' % len(data)
        if data:
            out += data + b'\r\n'
    if trailers:
        for name, value in trailers.items():
            out += ('%s:%s\r\n' % (name, value)).encode()
        if signer_obj:
            sig = signer_obj.trailer_signature(previous, trailers)
            out += b'x-amz-trailer-signature:%s\r\n' % sig.encode()
    out += b'\r\n'
    return out


def _streaming_put(app, path, chunks, mode=s3body.STREAMING_SIGNED,
                   tamper=None, trailers=None):
    data = b''.join(chunks)
    req = fakes.request('PUT', path)
    req.headers['Content-Encoding'] = 'aws-chunked'
    req.headers['x-amz-decoded-content-length'] = str(len(data))
    if trailers:
        req.headers['x-amz-trailer'] = ','.join(trailers)
    sig = fakes.sign_v4(req, payload=mode, extra_signed=(
        'content-encoding', 'x-amz-decoded-content-length'))
    amz_date = req.headers['X-Amz-Date']
    chunk_signer = None
    if mode != s3body.STREAMING_UNSIGNED_TRAILER:
        chunk_signer = s3body.ChunkSigner(
            signer.v4_signing_key('SK', amz_date[:8], 'us-east-1', 's3'),
            amz_date, '%s/us-east-1/s3/aws4_request' % amz_date[:8], sig)
    payload = _aws_chunked(chunks, chunk_signer, trailers)
    if tamper:
        payload = tamper(payload)
    req.body = payload
    return req.get_response(app)


def test_aws_chunked_signed_upload(app):
    make_bucket(app)
    chunks = [b'a' * 65536, b'b' * 1000]
    resp = _streaming_put(app, '/bucket1/chunky', chunks)
    assert resp.status_int == 200, resp.body
    got = send(app, 'GET', '/bucket1/chunky')
    assert got.body == b''.join(chunks)
    # The framing is not the object's encoding.
    assert 'Content-Encoding' not in got.headers


def test_aws_chunked_bad_chunk_signature(app):
    make_bucket(app)
    resp = _streaming_put(
        app, '/bucket1/chunky', [b'a' * 100],
        tamper=lambda p: p.replace(b'a' * 100, b'b' * 100))
    assert resp.status_int == 403
    assert error_code(resp) == 'SignatureDoesNotMatch'
    assert send(app, 'GET', '/bucket1/chunky').status_int == 404
    assert os.listdir(os.path.join(app.store.root, 'bucket1', 'tmp')) == []


def test_aws_chunked_with_signed_trailer(app):
    make_bucket(app)
    data = b'trailing data'
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, 'big')).decode()
    resp = _streaming_put(app, '/bucket1/t', [data],
                          mode=s3body.STREAMING_SIGNED_TRAILER,
                          trailers={'x-amz-checksum-crc32': crc})
    assert resp.status_int == 200, resp.body
    assert send(app, 'GET', '/bucket1/t').body == data


def test_aws_chunked_unsigned_trailer_checksum(app):
    make_bucket(app)
    data = b'unsigned trailer'
    bad = base64.b64encode(zlib.crc32(b'x').to_bytes(4, 'big')).decode()
    resp = _streaming_put(app, '/bucket1/u', [data],
                          mode=s3body.STREAMING_UNSIGNED_TRAILER,
                          trailers={'x-amz-checksum-crc32': bad})
    assert resp.status_int == 400
    assert error_code(resp) == 'BadDigest'
    good = base64.b64encode(zlib.crc32(data).to_bytes(4, 'big')).decode()
    resp = _streaming_put(app, '/bucket1/u', [data],
                          mode=s3body.STREAMING_UNSIGNED_TRAILER,
                          trailers={'x-amz-checksum-crc32': good})
    assert resp.status_int == 200
    assert send(app, 'GET', '/bucket1/u').body == data


def test_put_without_content_length(app):
    make_bucket(app)
    req = fakes.request('PUT', '/bucket1/k')
    req.environ.pop('CONTENT_LENGTH', None)
    fakes.sign_v2(req)
    resp = req.get_response(app)
    assert resp.status_int == 411
    assert error_code(resp) == 'MissingContentLength'


def test_short_body_is_incomplete(app):
    make_bucket(app)
    req = fakes.request('PUT', '/bucket1/k', b'12345')
    req.environ['CONTENT_LENGTH'] = '10'
    fakes.sign_v2(req)
    resp = req.get_response(app)
    assert resp.status_int == 400
    assert error_code(resp) == 'IncompleteBody'
    assert send(app, 'GET', '/bucket1/k').status_int == 404


def test_metadata_too_large(app):
    make_bucket(app)
    resp = send(app, 'PUT', '/bucket1/k', b'x',
                {'X-Amz-Meta-Big': 'v' * 2100})
    assert resp.status_int == 400
    assert error_code(resp) == 'MetadataTooLarge'


def test_missing_key_and_delete(app):
    make_bucket(app)
    resp = send(app, 'GET', '/bucket1/nokey')
    assert resp.status_int == 404
    assert error_code(resp) == 'NoSuchKey'
    resp = send(app, 'HEAD', '/bucket1/nokey')
    assert resp.status_int == 404 and resp.body == b''
    assert send(app, 'DELETE', '/bucket1/nokey').status_int == 204
    put(app, '/bucket1/k', b'x')
    assert send(app, 'DELETE', '/bucket1/k').status_int == 204
    assert send(app, 'GET', '/bucket1/k').status_int == 404
    assert os.listdir(os.path.join(app.store.root, 'bucket1', 'data')) == []


def test_ranges(app):
    make_bucket(app)
    data = bytes(range(256)) * 4
    put(app, '/bucket1/r', data)
    resp = send(app, 'GET', '/bucket1/r', headers={'Range': 'bytes=10-19'})
    assert resp.status_int == 206
    assert resp.body == data[10:20]
    assert resp.headers['Content-Range'] == 'bytes 10-19/1024'
    assert resp.headers['Content-Length'] == '10'
    resp = send(app, 'GET', '/bucket1/r', headers={'Range': 'bytes=-5'})
    assert resp.status_int == 206 and resp.body == data[-5:]
    resp = send(app, 'GET', '/bucket1/r', headers={'Range': 'bytes=1000-'})
    assert resp.status_int == 206 and resp.body == data[1000:]
    resp = send(app, 'GET', '/bucket1/r', headers={'Range': 'bytes=0-1,5-6'})
    assert resp.status_int == 200 and resp.body == data
    resp = send(app, 'GET', '/bucket1/r', headers={'Range': 'bytes=2000-'})
    assert resp.status_int == 416
    assert error_code(resp) == 'InvalidRange'
    assert resp.headers['Content-Range'] == 'bytes */1024'


def test_conditional_get(app):
    make_bucket(app)
    etag = put(app, '/bucket1/c', b'cond').headers['ETag']
    resp = send(app, 'GET', '/bucket1/c', headers={'If-None-Match': etag})
    assert resp.status_int == 304 and resp.body == b''
    resp = send(app, 'GET', '/bucket1/c', headers={'If-Match': '"other"'})
    assert resp.status_int == 412
    assert error_code(resp) == 'PreconditionFailed'
    resp = send(app, 'GET', '/bucket1/c', headers={'If-Match': etag})
    assert resp.status_int == 200 and resp.body == b'cond'


def test_response_header_overrides(app):
    make_bucket(app)
    put(app, '/bucket1/o', b'x')
    resp = send(app, 'GET', '/bucket1/o?response-content-type=text%2Fhtml')
    assert resp.headers['Content-Type'] == 'text/html'


# -- listings ----------------------------------------------------------------------

def _fill(app, keys):
    make_bucket(app)
    for key in keys:
        put(app, '/bucket1/' + urllib.parse.quote(key), key.encode())


def test_listing_fields(app):
    _fill(app, ['b', 'a'])
    root = doc(send(app, 'GET', '/bucket1'))
    assert root.tag == NS + 'ListBucketResult'
    assert texts(root, 'Name') == ['bucket1']
    assert texts(root, 'Prefix') == [None]
    assert texts(root, 'Marker') == [None]
    assert texts(root, 'MaxKeys') == ['1000']
    assert texts(root, 'IsTruncated') == ['false']
    assert texts(root, 'Contents/Key') == ['a', 'b']
    assert texts(root, 'Contents/ETag') == [
        '"%s"' % hashlib.md5(b'a').hexdigest(),
        '"%s"' % hashlib.md5(b'b').hexdigest()]
    assert texts(root, 'Contents/Size') == ['1', '1']
    assert texts(root, 'Contents/StorageClass') == ['STANDARD'] * 2
    assert texts(root, 'Contents/Owner/ID') == ['alice'] * 2
    modified = texts(root, 'Contents/LastModified')[0]
    datetime.datetime.strptime(modified, '%Y-%m-%dT%H:%M:%S.%fZ')


def test_listing_prefix_delimiter_paging(app):
    _fill(app, ['photos/2006/jan/1.jpg', 'photos/2006/feb/2.jpg',
                'photos/2007/x.jpg', 'photos/top.jpg', 'readme',
                'zebra'])
    root = doc(send(app, 'GET', '/bucket1?delimiter=/'))
    assert texts(root, 'Contents/Key') == ['readme', 'zebra']
    assert texts(root, 'CommonPrefixes/Prefix') == ['photos/']

    root = doc(send(app, 'GET', '/bucket1?prefix=photos/&delimiter=/'))
    assert texts(root, 'Contents/Key') == ['photos/top.jpg']
    assert texts(root, 'CommonPrefixes/Prefix') == ['photos/2006/',
                                                    'photos/2007/']

    # Paging one entry at a time with NextMarker visits everything once.
    seen, marker = [], ''
    for _page in range(10):
        root = doc(send(app, 'GET', '/bucket1?delimiter=/&max-keys=1&marker='
                        + urllib.parse.quote(marker)))
        seen += texts(root, 'Contents/Key') + texts(root,
                                                    'CommonPrefixes/Prefix')
        if texts(root, 'IsTruncated') == ['false']:
            assert texts(root, 'NextMarker') == []
            break
        marker = texts(root, 'NextMarker')[0]
    assert seen == ['photos/', 'readme', 'zebra']


def test_listing_max_keys_and_marker(app):
    _fill(app, ['k%02d' % i for i in range(7)])
    root = doc(send(app, 'GET', '/bucket1?max-keys=3'))
    assert texts(root, 'Contents/Key') == ['k00', 'k01', 'k02']
    assert texts(root, 'IsTruncated') == ['true']
    root = doc(send(app, 'GET', '/bucket1?max-keys=3&marker=k02'))
    assert texts(root, 'Contents/Key') == ['k03', 'k04', 'k05']
    root = doc(send(app, 'GET', '/bucket1?max-keys=3&marker=k05'))
    assert texts(root, 'Contents/Key') == ['k06']
    assert texts(root, 'IsTruncated') == ['false']
    resp = send(app, 'GET', '/bucket1?max-keys=abc')
    assert resp.status_int == 400
    assert error_code(resp) == 'InvalidArgument'


def test_listing_v2_and_url_encoding(app):
    _fill(app, ['a b', 'c&d', 'e'])
    root = doc(send(app, 'GET', '/bucket1?list-type=2&max-keys=2'
                    '&encoding-type=url'))
    assert texts(root, 'EncodingType') == ['url']
    assert texts(root, 'Contents/Key') == ['a%20b', 'c%26d']
    assert texts(root, 'KeyCount') == ['2']
    token = texts(root, 'NextContinuationToken')[0]
    root = doc(send(app, 'GET', '/bucket1?list-type=2&continuation-token='
                    + urllib.parse.quote(token)))
    assert texts(root, 'Contents/Key') == ['e']
    assert texts(root, 'IsTruncated') == ['false']


# -- multipart uploads -----------------------------------------------------------------

def _initiate(app, key, headers=None):
    root = doc(send(app, 'POST', '/bucket1/%s?uploads' % key,
                    headers=headers))
    return texts(root, 'UploadId')[0]


def _complete_doc(parts):
    return ('<CompleteMultipartUpload>%s</CompleteMultipartUpload>' % ''.join(
        '<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>' % p
        for p in parts)).encode()


def test_multipart_upload(app, monkeypatch):
    monkeypatch.setattr(store, 'MIN_PART_SIZE', 10)
    make_bucket(app)
    upload_id = _initiate(app, 'big', {'Content-Type': 'text/x-big',
                                       'X-Amz-Meta-Kind': 'multi'})
    pieces = [b'0123456789' * 2, b'abcdefghij', b'tail']
    etags = []
    for number, piece in enumerate(pieces, 1):
        resp = send(app, 'PUT', '/bucket1/big?partNumber=%d&uploadId=%s'
                    % (number, upload_id), piece)
        assert resp.status_int == 200
        etags.append(resp.headers['ETag'])
    assert etags[0] == '"%s"' % hashlib.md5(pieces[0]).hexdigest()
    root = doc(send(app, 'GET', '/bucket1/big?uploadId=' + upload_id))
    assert texts(root, 'Part/PartNumber') == ['1', '2', '3']
    resp = send(app, 'POST', '/bucket1/big?uploadId=' + upload_id,
                _complete_doc([(n, e) for n, e in enumerate(etags, 1)]))
    assert resp.status_int == 200, resp.body
    expected = hashlib.md5(b''.join(hashlib.md5(p).digest()
                                    for p in pieces)).hexdigest() + '-3'
    assert texts(doc(resp), 'ETag') == ['"%s"' % expected]
    got = send(app, 'GET', '/bucket1/big')
    assert got.body == b''.join(pieces)
    assert got.headers['ETag'] == '"%s"' % expected
    assert got.headers['Content-Type'] == 'text/x-big'
    assert got.headers['x-amz-meta-kind'] == 'multi'
    # The upload is gone once complete.
    resp = send(app, 'GET', '/bucket1/big?uploadId=' + upload_id)
    assert resp.status_int == 404
    assert error_code(resp) == 'NoSuchUpload'
    assert os.listdir(os.path.join(app.store.root, 'bucket1',
                                   'uploads')) == []


def test_multipart_errors(app, monkeypatch):
    monkeypatch.setattr(store, 'MIN_PART_SIZE', 10)
    make_bucket(app)
    upload_id = _initiate(app, 'obj')
    e1 = send(app, 'PUT', '/bucket1/obj?partNumber=1&uploadId=' + upload_id,
              b'short').headers['ETag']
    e2 = send(app, 'PUT', '/bucket1/obj?partNumber=2&uploadId=' + upload_id,
              b'last').headers['ETag']
    cases = [
        ([(1, e1), (2, e2)], 'EntityTooSmall'),
        ([(2, e2), (1, e1)], 'InvalidPartOrder'),
        ([(1, '"0000"')], 'InvalidPart'),
        ([(3, e2)], 'InvalidPart'),
    ]
    for parts, code in cases:
        resp = send(app, 'POST', '/bucket1/obj?uploadId=' + upload_id,
                    _complete_doc(parts))
        assert resp.status_int == 400, code
        assert error_code(resp) == code
    resp = send(app, 'POST', '/bucket1/obj?uploadId=' + upload_id, b'<x')
    assert error_code(resp) == 'MalformedXML'
    resp = send(app, 'PUT', '/bucket1/obj?partNumber=0&uploadId=' + upload_id,
                b'x')
    assert error_code(resp) == 'InvalidArgument'
    resp = send(app, 'PUT', '/bucket1/other?partNumber=1&uploadId='
                + upload_id, b'x')
    assert resp.status_int == 404
    assert error_code(resp) == 'NoSuchUpload'
    assert send(app, 'GET', '/bucket1/obj').status_int == 404

    assert send(app, 'DELETE', '/bucket1/obj?uploadId='
                + upload_id).status_int == 204
    resp = send(app, 'DELETE', '/bucket1/obj?uploadId=' + upload_id)
    assert resp.status_int == 404
    assert error_code(resp) == 'NoSuchUpload'
    resp = send(app, 'DELETE', '/bucket1/obj?uploadId=../../etc')
    assert error_code(resp) == 'NoSuchUpload'


# -- odds and ends ------------------------------------------------------------------------

def test_unexpected_failure_is_internal_error(app, monkeypatch):
    def boom():
        raise RuntimeError('disk on fire')
    monkeypatch.setattr(app.store, 'list_buckets', boom)
    resp = send(app, 'GET', '/')
    assert resp.status_int == 500
    assert error_code(resp) == 'InternalError'
    assert b'disk on fire' not in resp.body


def test_refused_upload_closes_connection(app):
    resp = send(app, 'PUT', '/nobucket/k', b'body nobody reads')
    assert resp.status_int == 404
    assert resp.headers['Connection'] == 'close'


def test_listen_port_defaults_to_s3_port():
    from nova import flags
    from nova.objectstore import s3server
    flags.FLAGS.s3_port = 4567
    assert s3server.listen_port() == 4567
    flags.FLAGS.s3_listen_port = 0
    assert s3server.listen_port() == 0
    assert flags.FLAGS.buckets_path == flags.FLAGS.state_path + '/buckets'
