"""The on-disk store: names, atomic writes, keys never used as paths."""

import hashlib
import os

import pytest

from nova.objectstore import errors
from nova.objectstore import store


@pytest.fixture
def st(tmp_path):
    s = store.Store(str(tmp_path / 'buckets'))
    s.create_bucket('bucket1', 'proj')
    return s


@pytest.mark.parametrize('name', ['abc', 'my.bucket-1', 'a' * 63, '1bucket'])
def test_valid_bucket_names(name):
    assert store.validate_bucket_name(name) == name


@pytest.mark.parametrize('name', ['ab', 'a' * 64, 'Abc', 'a_b', 'a..b',
                                  'a.-b', 'a-.b', '-ab', 'ab-', '10.0.0.1',
                                  '../x', 'a/b', '', '.abc'])
def test_invalid_bucket_names(name):
    with pytest.raises(errors.InvalidBucketName):
        store.validate_bucket_name(name)


def test_bucket_owner_record_and_listing(st):
    st.create_bucket('bucket2', 'other')
    assert [(b.name, b.owner) for b in st.list_buckets()] == [
        ('bucket1', 'proj'), ('bucket2', 'other')]
    # Leftovers of a crash are not buckets.
    os.makedirs(os.path.join(st.root, '.staging-dead'))
    assert [b.name for b in st.list_buckets()] == ['bucket1', 'bucket2']


def test_create_existing(st):
    with pytest.raises(errors.BucketAlreadyOwnedByYou):
        st.create_bucket('bucket1', 'proj')
    with pytest.raises(errors.BucketAlreadyExists):
        st.create_bucket('bucket1', 'someone')
    assert [n for n in os.listdir(st.root) if n.startswith('.')] == []


def test_keys_are_stored_under_hashes(st):
    key = 'dir/with spaces/and*stars?'
    st.put_object('bucket1', key, [b'payload'])
    meta = os.listdir(os.path.join(st.root, 'bucket1', 'meta'))
    assert meta == [hashlib.sha256(key.encode()).hexdigest() + '.json']
    info, f = st.open_object('bucket1', key)
    with f:
        assert f.read() == b'payload'
    assert info.key == key and info.size == 7
    assert info.etag == hashlib.md5(b'payload').hexdigest()


def test_failed_stream_leaves_nothing(st):
    st.put_object('bucket1', 'k', [b'old'])

    def broken():
        yield b'new data'
        raise errors.XAmzContentSHA256Mismatch()

    with pytest.raises(errors.XAmzContentSHA256Mismatch):
        st.put_object('bucket1', 'k', broken())
    info, f = st.open_object('bucket1', 'k')
    with f:
        assert f.read() == b'old'
    assert os.listdir(os.path.join(st.root, 'bucket1', 'tmp')) == []
    assert len(os.listdir(os.path.join(st.root, 'bucket1', 'data'))) == 1


def test_reader_keeps_old_version_during_overwrite(st):
    st.put_object('bucket1', 'k', [b'version one'])
    _info, f = st.open_object('bucket1', 'k')
    st.put_object('bucket1', 'k', [b'version two'])
    with f:
        assert f.read() == b'version one'
    _info, f = st.open_object('bucket1', 'k')
    with f:
        assert f.read() == b'version two'


def test_list_objects_sorted_by_utf8(st):
    for key in ['b', 'a', 'é', 'z', 'A']:
        st.put_object('bucket1', key, [key.encode()])
    assert [o.key for o in st.list_objects('bucket1')] == [
        'A', 'a', 'b', 'z', 'é']
    assert [o.key for o in st.list_objects('bucket1', prefix='a')] == ['a']


def test_delete_bucket_removes_unfinished_uploads(st):
    st.create_upload('bucket1', 'k', 'proj')
    st.delete_bucket('bucket1')
    assert os.listdir(st.root) == []
    with pytest.raises(errors.NoSuchBucket):
        st.get_bucket('bucket1')


def test_object_put_into_deleted_bucket(st):
    def body():
        yield b'part one'
        st.delete_bucket('bucket1')
        yield b'part two'

    with pytest.raises(errors.NoSuchBucket):
        st.put_object('bucket1', 'k', body())
    assert os.listdir(st.root) == []
