"""bin/nova-objectstore as a process, driven by the real boto 2 and boto3.

One daemon serves the module: a throwaway state dir, an SQLite database
synced with nova-manage, users alice and bob each with their own project,
and an admin.  boto 2 signs with S3 SigV2 headers, boto3 with SigV4 (hex
payload hashes over plain HTTP, or UNSIGNED-PAYLOAD when told).
"""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import boto
import boto.exception
import boto.s3.connection
import boto3
import botocore.exceptions
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from tests.functional.nova import helpers

MiB = 1024 * 1024


def _listening_port(log_path):
    try:
        with open(log_path) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    match = re.search(r'nova-objectstore listening on [^ ]+:(\d+)', text)
    return int(match.group(1)) if match else None


class ObjectStore:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='nova-os-ft-')
        self.flagfile = helpers.write_flagfile(
            self.dir, s3_listen='127.0.0.1', s3_listen_port=0)
        self.daemon = None
        self.port = None

    def setup(self):
        helpers.nova_manage(self.flagfile, 'db', 'sync')
        helpers.nova_manage(self.flagfile, 'user', 'create', 'alice',
                            'alice-access', 'alice-secret')
        helpers.nova_manage(self.flagfile, 'project', 'create', 'alice',
                            'alice')
        helpers.nova_manage(self.flagfile, 'user', 'create', 'bob',
                            'bob-access', 'bob-secret')
        helpers.nova_manage(self.flagfile, 'project', 'create', 'bob', 'bob')
        helpers.nova_manage(self.flagfile, 'user', 'admin', 'root',
                            'root-access', 'root-secret')
        helpers.nova_manage(self.flagfile, 'project', 'create', 'root',
                            'root')
        self.daemon = helpers.Daemon('nova-objectstore', self.flagfile)
        log = os.path.join(self.dir, 'logs', 'nova-objectstore.log')

        def up():
            if not self.daemon.alive():
                raise AssertionError('nova-objectstore died:\n%s'
                                     % self.daemon.output())
            return _listening_port(log)
        self.port = helpers.wait_for(up, 60, what='nova-objectstore')

    def close(self):
        """Stop the daemon; (exit status, its log) and remove the state."""
        rc = None
        if self.daemon is not None:
            rc = self.daemon.stop()
        try:
            with open(os.path.join(self.dir, 'logs',
                                   'nova-objectstore.log')) as f:
                log = f.read()
        except FileNotFoundError:
            log = ''
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc, log

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def boto2(self, access='alice-access', secret='alice-secret'):
        return boto.s3.connection.S3Connection(
            access, secret, host='127.0.0.1', port=self.port,
            is_secure=False,
            calling_format=boto.s3.connection.OrdinaryCallingFormat())

    def boto3(self, access='alice-access', secret='alice-secret', **s3cfg):
        s3cfg.setdefault('addressing_style', 'path')
        return boto3.client(
            's3', endpoint_url=self.url, aws_access_key_id=access,
            aws_secret_access_key=secret, region_name='us-east-1',
            config=Config(s3=s3cfg, retries={'max_attempts': 1}))


@pytest.fixture(scope='module')
def objectstore():
    os_ = ObjectStore()
    try:
        os_.setup()
        yield os_
    finally:
        rc, log = os_.close()
    assert rc == 0, 'nova-objectstore did not stop cleanly on SIGTERM'
    # No request may have ended in an unexpected exception (a 500).
    assert 'Traceback' not in log, log


def _code(excinfo):
    return excinfo.value.response['Error']['Code']


def _lower_keys(d):
    # eventlet's WSGI server title-cases response header names, so clients
    # see X-Amz-Meta-Color; S3 metadata names are case-insensitive.
    return {k.lower(): v for k, v in d.items()}


# -- boto 2 (S3 SigV2 headers) ---------------------------------------------------------

def test_boto2_buckets_and_objects(objectstore):
    conn = objectstore.boto2()
    bucket = conn.create_bucket('boto2-bucket')
    assert 'boto2-bucket' in [b.name for b in conn.get_all_buckets()]
    with pytest.raises(boto.exception.S3CreateError) as err:
        conn.create_bucket('boto2-bucket')
    assert err.value.status == 409
    assert err.value.error_code == 'BucketAlreadyOwnedByYou'

    key = bucket.new_key('docs/readme.txt')
    key.set_metadata('color', 'red')
    key.set_contents_from_string('hello from boto 2',
                                 headers={'Content-Type': 'text/plain'})
    got = bucket.get_key('docs/readme.txt')
    assert got.get_contents_as_string() == b'hello from boto 2'
    assert got.content_type == 'text/plain'
    assert _lower_keys(got.metadata) == {'color': 'red'}
    assert got.etag == '"%s"' % hashlib.md5(b'hello from boto 2').hexdigest()
    assert got.size == len(b'hello from boto 2')

    for name in ('docs/a', 'docs/b', 'top'):
        bucket.new_key(name).set_contents_from_string(name)
    listed = [k.name for k in bucket.list(prefix='docs/')]
    assert listed == ['docs/a', 'docs/b', 'docs/readme.txt']
    top = bucket.list(delimiter='/')
    assert sorted(getattr(k, 'name', None) for k in top) == ['docs/', 'top']
    # boto 2 pages through a listing with markers on its own.
    paged = [k.name for k in bucket.get_all_keys(max_keys=2)]
    assert paged == ['docs/a', 'docs/b']

    with pytest.raises(boto.exception.S3ResponseError) as err:
        conn.delete_bucket('boto2-bucket')
    assert err.value.status == 409
    assert err.value.error_code == 'BucketNotEmpty'
    for k in list(bucket.list()):
        k.delete()
    bucket.delete_key('never-was')     # absent keys delete fine
    conn.delete_bucket('boto2-bucket')
    assert 'boto2-bucket' not in [b.name for b in conn.get_all_buckets()]


def test_boto2_wrong_secret(objectstore):
    conn = objectstore.boto2(secret='not-the-secret')
    with pytest.raises(boto.exception.S3ResponseError) as err:
        conn.get_all_buckets()
    assert err.value.status == 403
    assert err.value.error_code == 'SignatureDoesNotMatch'


def test_boto2_large_single_put_streams(objectstore, tmp_path):
    """A 50 MiB PUT and GET go through without the daemon holding them:
    its peak resident size grows by far less than the object."""
    conn = objectstore.boto2()
    bucket = conn.create_bucket('boto2-large')
    path = tmp_path / 'big.bin'
    digest = _random_file(path, 50 * MiB)
    peak_before = _peak_rss(objectstore.daemon.proc.pid)
    key = bucket.new_key('big.bin')
    with open(path, 'rb') as f:
        key.set_contents_from_file(f)
    out = tmp_path / 'back.bin'
    bucket.get_key('big.bin').get_contents_to_filename(str(out))
    assert _md5_file(out) == digest
    growth = _peak_rss(objectstore.daemon.proc.pid) - peak_before
    assert growth < 20 * MiB, 'daemon peak RSS grew by %d bytes' % growth
    bucket.delete_key('big.bin')
    conn.delete_bucket('boto2-large')


# -- boto3 (SigV4) -----------------------------------------------------------------------

def test_boto3_buckets(objectstore):
    s3 = objectstore.boto3()
    s3.create_bucket(Bucket='boto3-bucket')
    names = [b['Name'] for b in s3.list_buckets()['Buckets']]
    assert 'boto3-bucket' in names
    s3.head_bucket(Bucket='boto3-bucket')
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.create_bucket(Bucket='boto3-bucket')
    assert _code(err) == 'BucketAlreadyOwnedByYou'
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.create_bucket(Bucket='Bad_Name')
    assert _code(err) == 'InvalidBucketName'
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.head_bucket(Bucket='no-such-bucket')
    assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 404
    s3.delete_bucket(Bucket='boto3-bucket')
    names = [b['Name'] for b in s3.list_buckets()['Buckets']]
    assert 'boto3-bucket' not in names


def test_boto3_objects_with_metadata(objectstore):
    s3 = objectstore.boto3()
    s3.create_bucket(Bucket='boto3-objects')
    put = s3.put_object(Bucket='boto3-objects', Key='a/b/c.txt',
                        Body=b'boto3 body', ContentType='text/plain',
                        Metadata={'owner': 'alice', 'purpose': 'test'})
    assert put['ETag'] == '"%s"' % hashlib.md5(b'boto3 body').hexdigest()

    got = s3.get_object(Bucket='boto3-objects', Key='a/b/c.txt')
    assert got['Body'].read() == b'boto3 body'
    assert got['ContentType'] == 'text/plain'
    assert got['ContentLength'] == len(b'boto3 body')
    assert _lower_keys(got['Metadata']) == {'owner': 'alice',
                                            'purpose': 'test'}
    assert got['ETag'] == put['ETag']

    head = s3.head_object(Bucket='boto3-objects', Key='a/b/c.txt')
    assert head['ContentLength'] == len(b'boto3 body')
    assert _lower_keys(head['Metadata'])['owner'] == 'alice'

    part = s3.get_object(Bucket='boto3-objects', Key='a/b/c.txt',
                         Range='bytes=6-9')
    assert part['Body'].read() == b'body'
    assert part['ContentRange'] == 'bytes 6-9/10'

    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket='boto3-objects', Key='missing')
    assert _code(err) == 'NoSuchKey'

    s3.delete_object(Bucket='boto3-objects', Key='a/b/c.txt')
    s3.delete_object(Bucket='boto3-objects', Key='a/b/c.txt')   # again: 204
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.head_object(Bucket='boto3-objects', Key='a/b/c.txt')
    assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 404
    s3.delete_bucket(Bucket='boto3-objects')


def test_boto3_unsigned_payload(objectstore):
    s3 = objectstore.boto3(payload_signing_enabled=False)
    s3.create_bucket(Bucket='boto3-unsigned')
    s3.put_object(Bucket='boto3-unsigned', Key='k', Body=b'unsigned body')
    got = s3.get_object(Bucket='boto3-unsigned', Key='k')
    assert got['Body'].read() == b'unsigned body'
    s3.delete_object(Bucket='boto3-unsigned', Key='k')
    s3.delete_bucket(Bucket='boto3-unsigned')


def test_boto3_listing_prefix_delimiter_paging(objectstore):
    s3 = objectstore.boto3()
    s3.create_bucket(Bucket='boto3-list')
    keys = ['logs/2011/01/%02d' % d for d in range(1, 8)] + \
        ['logs/2011/02/01', 'logs/readme', 'photos/a b.jpg', 'top']
    for key in keys:
        s3.put_object(Bucket='boto3-list', Key=key, Body=key.encode())

    listed = s3.list_objects(Bucket='boto3-list', Prefix='logs/',
                             Delimiter='/')
    assert [c['Key'] for c in listed['Contents']] == ['logs/readme']
    assert [p['Prefix'] for p in listed['CommonPrefixes']] == ['logs/2011/']
    assert listed['Contents'][0]['Size'] == len(b'logs/readme')
    assert listed['Contents'][0]['StorageClass'] == 'STANDARD'

    listed = s3.list_objects(Bucket='boto3-list', Delimiter='/')
    assert [c['Key'] for c in listed['Contents']] == ['top']
    assert [p['Prefix'] for p in listed['CommonPrefixes']] == [
        'logs/', 'photos/']

    for operation in ('list_objects', 'list_objects_v2'):
        pages = s3.get_paginator(operation).paginate(
            Bucket='boto3-list', PaginationConfig={'PageSize': 3})
        seen, count = [], 0
        for page in pages:
            count += 1
            seen += [c['Key'] for c in page.get('Contents', [])]
        assert seen == sorted(keys), operation
        assert count == 4, operation

    pages = s3.get_paginator('list_objects').paginate(
        Bucket='boto3-list', Prefix='logs/2011/', Delimiter='/',
        PaginationConfig={'PageSize': 1})
    prefixes = [p['Prefix'] for page in pages
                for p in page.get('CommonPrefixes', [])]
    assert prefixes == ['logs/2011/01/', 'logs/2011/02/']

    for key in keys:
        s3.delete_object(Bucket='boto3-list', Key=key)
    s3.delete_bucket(Bucket='boto3-list')


def test_boto3_multipart_50mib_round_trip(objectstore, tmp_path):
    """upload_file above its 8 MiB threshold uses multipart upload, and
    download_file fetches with parallel ranged GETs."""
    s3 = objectstore.boto3()
    s3.create_bucket(Bucket='boto3-large')
    path = tmp_path / 'big.bin'
    digest = _random_file(path, 50 * MiB)
    config = TransferConfig(multipart_threshold=8 * MiB,
                            multipart_chunksize=8 * MiB, max_concurrency=4)
    s3.upload_file(str(path), 'boto3-large', 'big.bin', Config=config)
    head = s3.head_object(Bucket='boto3-large', Key='big.bin')
    assert head['ContentLength'] == 50 * MiB
    assert head['ETag'].endswith('-7"')        # 7 parts of up to 8 MiB
    out = tmp_path / 'back.bin'
    s3.download_file('boto3-large', 'big.bin', str(out), Config=config)
    assert _md5_file(out) == digest
    s3.delete_object(Bucket='boto3-large', Key='big.bin')
    s3.delete_bucket(Bucket='boto3-large')


def test_boto3_abort_multipart(objectstore):
    s3 = objectstore.boto3()
    s3.create_bucket(Bucket='boto3-abort')
    upload = s3.create_multipart_upload(Bucket='boto3-abort', Key='k')
    s3.upload_part(Bucket='boto3-abort', Key='k', PartNumber=1,
                   UploadId=upload['UploadId'], Body=b'x' * 1000)
    s3.abort_multipart_upload(Bucket='boto3-abort', Key='k',
                              UploadId=upload['UploadId'])
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.complete_multipart_upload(
            Bucket='boto3-abort', Key='k', UploadId=upload['UploadId'],
            MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': '"x"'}]})
    assert _code(err) == 'NoSuchUpload'
    s3.delete_bucket(Bucket='boto3-abort')


def test_boto3_wrong_secret(objectstore):
    s3 = objectstore.boto3(secret='not-the-secret')
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.list_buckets()
    assert _code(err) == 'SignatureDoesNotMatch'
    s3 = objectstore.boto3(access='nobody')
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.list_buckets()
    assert _code(err) == 'InvalidAccessKeyId'


def test_other_projects_bucket_is_denied(objectstore):
    alice = objectstore.boto3()
    alice.create_bucket(Bucket='alice-private')
    alice.put_object(Bucket='alice-private', Key='secret', Body=b'mine')
    bob = objectstore.boto3(access='bob-access', secret='bob-secret')
    assert 'alice-private' not in [b['Name'] for b in
                                   bob.list_buckets()['Buckets']]
    for call in (lambda: bob.get_object(Bucket='alice-private', Key='secret'),
                 lambda: bob.list_objects(Bucket='alice-private'),
                 lambda: bob.put_object(Bucket='alice-private', Key='x',
                                        Body=b'theirs'),
                 lambda: bob.delete_bucket(Bucket='alice-private')):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            call()
        assert _code(err) == 'AccessDenied'
    with pytest.raises(botocore.exceptions.ClientError) as err:
        bob.create_bucket(Bucket='alice-private')
    assert _code(err) == 'BucketAlreadyExists'
    # boto 2 from bob's project is refused too.
    conn = objectstore.boto2('bob-access', 'bob-secret')
    with pytest.raises(boto.exception.S3ResponseError) as err2:
        conn.get_bucket('alice-private')
    assert err2.value.status == 403
    # An admin sees and reads every project's buckets.
    root = objectstore.boto3(access='root-access', secret='root-secret')
    assert 'alice-private' in [b['Name'] for b in
                               root.list_buckets()['Buckets']]
    got = root.get_object(Bucket='alice-private', Key='secret')
    assert got['Body'].read() == b'mine'
    alice.delete_object(Bucket='alice-private', Key='secret')
    alice.delete_bucket(Bucket='alice-private')


def test_project_in_access_key(objectstore):
    # novarc's EC2_ACCESS_KEY is access:project.
    s3 = objectstore.boto3(access='alice-access:alice')
    s3.create_bucket(Bucket='alice-by-project')
    s3.delete_bucket(Bucket='alice-by-project')
    s3 = objectstore.boto3(access='alice-access:bob')
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.list_buckets()
    assert _code(err) == 'AccessDenied'


def test_presigned_urls(objectstore):
    s3 = objectstore.boto3()
    s3.create_bucket(Bucket='presigned')
    s3.put_object(Bucket='presigned', Key='file', Body=b'shared')
    url = s3.generate_presigned_url(
        'get_object', Params={'Bucket': 'presigned', 'Key': 'file'},
        ExpiresIn=300)
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.read() == b'shared'
    conn = objectstore.boto2()
    url = conn.generate_url(300, 'GET', bucket='presigned', key='file')
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.read() == b'shared'
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url.replace('Signature=', 'Signature=x'),
                               timeout=30)
    assert err.value.code == 403
    s3.delete_object(Bucket='presigned', Key='file')
    s3.delete_bucket(Bucket='presigned')


def test_unsigned_request_denied(objectstore):
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(objectstore.url + '/', timeout=30)
    assert err.value.code == 403
    assert b'<Code>AccessDenied</Code>' in err.value.read()


# -- the daemon itself --------------------------------------------------------------------

def test_help_and_sigterm(tmp_path):
    """--help prints the flags; SIGTERM stops the daemon with status 0."""
    out = subprocess.run([sys.executable,
                          os.path.join(helpers.BIN, 'nova-objectstore'),
                          '--help'], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0
    assert '--buckets_path' in out.stdout and '--s3_listen' in out.stdout

    directory = tempfile.mkdtemp(prefix='nova-os-stop-')
    try:
        flagfile = helpers.write_flagfile(directory, s3_listen='127.0.0.1',
                                          s3_listen_port=0)
        daemon = helpers.Daemon('nova-objectstore', flagfile)
        log = os.path.join(directory, 'logs', 'nova-objectstore.log')
        try:
            helpers.wait_for(lambda: daemon.alive() and _listening_port(log),
                             60, what='nova-objectstore')
        finally:
            rc = daemon.stop(signal.SIGTERM, timeout=30)
        assert rc == 0, daemon.output()
        with open(log) as f:
            assert 'caught signal 15' in f.read()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- helpers ---------------------------------------------------------------------------------

def _random_file(path, size):
    """Write ``size`` pseudo-random bytes; return their MD5 hex digest."""
    digest = hashlib.md5()
    block = os.urandom(MiB)
    with open(path, 'wb') as f:
        for i in range(size // MiB):
            chunk = hashlib.sha256(b'%d' % i).digest() + block[32:]
            f.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def _peak_rss(pid):
    """VmHWM (peak resident set size) of a process, in bytes."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    raise AssertionError('no VmHWM for pid %d' % pid)


def _md5_file(path):
    digest = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(MiB), b''):
            digest.update(chunk)
    return digest.hexdigest()
