"""Stores that need no service, and the parsing parts of the others."""

import hashlib
import os

import pytest

from glance.common import exception
from glance import store
from glance.store import base
from glance.store import filesystem
from glance.store import s3
from glance.store import swift


@pytest.fixture
def fs(tmp_path):
    return filesystem.FilesystemStore(
        {'filesystem_store_datadir': str(tmp_path / 'images')})


def test_file_store_round_trip(fs, tmp_path):
    data = [os.urandom(70000), os.urandom(5), os.urandom(200000)]
    location = fs.add(7, iter(data))
    assert location == 'file://%s/images/7' % tmp_path
    chunks, size = fs.get(location)
    assert size == sum(map(len, data))
    assert b''.join(chunks) == b''.join(data)
    assert fs.get_size(location) == size
    fs.delete(location)
    with pytest.raises(exception.NotFound):
        fs.get(location)
    with pytest.raises(exception.NotFound):
        fs.delete(location)


def test_file_store_refuses_existing_data(fs):
    fs.add(1, iter([b'a']))
    with pytest.raises(exception.Conflict):
        fs.add(1, iter([b'b']))


def test_file_store_failed_upload_leaves_nothing(fs):
    def broken():
        yield b'x' * 1000
        raise exception.UploadIncomplete()
    with pytest.raises(exception.UploadIncomplete):
        fs.add(3, broken())
    assert os.listdir(fs.datadir) == []
    # and the id can be uploaded afterwards
    fs.add(3, iter([b'ok']))


def test_file_locations_outside_the_datadir_are_forbidden(fs):
    with pytest.raises(exception.Forbidden):
        fs.validate_location('file:///etc/passwd')
    with pytest.raises(exception.Forbidden):
        fs.get('file://%s/../../etc/passwd' % fs.datadir)


def test_segmenter_cuts_exact_runs():
    seg = base.Segmenter(iter([b'abcde', b'fg', b'hijklmnop']))
    runs = []
    while seg.has_more():
        runs.append(b''.join(seg.take(4)))
    assert runs == [b'abcd', b'efgh', b'ijkl', b'mnop']


def test_hashing_iterator():
    h = base.HashingIterator(iter([b'hello ', b'world']))
    assert b''.join(h) == b'hello world'
    assert h.size == 11
    assert h.hexdigest() == hashlib.md5(b'hello world').hexdigest()


def test_redact_hides_credentials():
    assert base.redact('swift+http://acct:user:key@h:8080/auth/v1.0/c/1') \
        == 'swift+http://h:8080/auth/v1.0/c/1'
    assert base.redact('file:///x/1') == 'file:///x/1'


def test_swift_location_parsing():
    loc = swift.SwiftLocation.parse(
        'swift+http://127.0.0.1:8080/auth/v1.0/glance/12')
    assert loc.auth_url == 'http://127.0.0.1:8080/auth/v1.0'
    assert (loc.container, loc.obj, loc.user) == ('glance', '12', None)
    loc = swift.SwiftLocation.parse('swift://test:tester:testing@h/v1.0/c/o')
    assert loc.auth_url == 'https://h/v1.0'
    assert (loc.user, loc.key) == ('test:tester', 'testing')
    with pytest.raises(exception.Invalid):
        swift.SwiftLocation.parse('swift+http://h/only')


def test_swift_store_writes_locations_without_credentials():
    st = swift.SwiftStore({'swift_store_auth_address':
                           'http://127.0.0.1:8080/auth/v1.0',
                           'swift_store_user': 'a:b',
                           'swift_store_key': 'secret'})
    uri = st._location_uri(st._location_for(5))
    assert uri == 'swift+http://127.0.0.1:8080/auth/v1.0/glance/5'
    assert 'secret' not in uri
    assert swift._auth_url('h:8080/v1.0') == 'https://h:8080/v1.0'


def test_s3_signature_matches_the_documented_example():
    # The example request of the S3 developer guide (signature version 2).
    sig = s3.sign('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'GET',
                  '/johnsmith/photos/puppy.jpg',
                  {'Date': 'Tue, 27 Mar 2007 19:36:42 +0000'})
    assert sig == 'bWq2s1WEIj+Ydj0vQ697zp+IXMU='


def test_s3_location_parsing():
    loc = s3.S3Location.parse('s3+http://ak:sk@127.0.0.1:3333/bucket/12')
    assert (loc.host, loc.bucket, loc.key, loc.access, loc.secret) == \
        ('127.0.0.1:3333', 'bucket', '12', 'ak', 'sk')
    assert loc.http_scheme == 'http'
    with pytest.raises(exception.Invalid):
        s3.S3Location.parse('s3://host/bucketonly')


def test_store_choice_by_name_and_scheme(tmp_path):
    stores = store.Stores({'filesystem_store_datadir': str(tmp_path)})
    assert stores.get().name == 'file'
    assert stores.for_location('swift+https://h/a/c/o').name == 'swift'
    assert stores.for_location('https://example.invalid/x').name == 'http'
    assert stores.for_location('s3://h/b/k').name == 's3'
    with pytest.raises(exception.Invalid, match='gopher'):
        stores.for_location('gopher://h/x')
    with pytest.raises(exception.Invalid, match='tape'):
        stores.get('tape')
    with pytest.raises(exception.Invalid):
        store.Stores({'default_store': 'http'})


def test_http_store_is_read_only():
    st = store.Stores({}).get('http')
    with pytest.raises(exception.Invalid, match='read-only'):
        st.add(1, iter([b'x']))
    assert st.delete('http://example.invalid/x') is None
