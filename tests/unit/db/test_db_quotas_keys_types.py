"""quotas and usage counts, key pairs, instance types."""

import pytest

from nova import db
from nova import exception


def test_quota_rows(ctx):
    q = db.quota_create(ctx, {'project_id': 'p1', 'instances': 5})
    assert q.instances == 5 and q.cores is None   # None: the flag default
    with pytest.raises(exception.Duplicate):
        db.quota_create(ctx, {'project_id': 'p1'})
    assert db.quota_update(ctx, 'p1', {'cores': 7, 'metadata_items': 3}) \
        .cores == 7
    got = db.quota_get(ctx, 'p1')
    assert (got.instances, got.cores, got.metadata_items) == (5, 7, 3)
    db.quota_destroy(ctx, 'p1')
    with pytest.raises(exception.NotFound):
        db.quota_get(ctx, 'p1')
    db.quota_create(ctx, {'project_id': 'p1'})   # may be made again
    with pytest.raises(exception.NotFound):
        db.quota_update(ctx, 'nope', {'cores': 1})


def test_quota_visibility(ctx, user_ctx):
    db.quota_create(ctx, {'project_id': 'proj1', 'volumes': 2})
    db.quota_create(ctx, {'project_id': 'other', 'volumes': 2})
    assert db.quota_get(user_ctx, 'proj1').volumes == 2
    with pytest.raises(exception.NotAuthorized):
        db.quota_get(user_ctx, 'other')
    with pytest.raises(exception.AdminRequired):
        db.quota_update(user_ctx, 'proj1', {'volumes': 100})


def test_usage_counts(ctx, user_ctx):
    assert db.instance_data_get_for_project(ctx, 'proj1') == (0, 0)
    db.instance_create(ctx, {'project_id': 'proj1', 'vcpus': 2})
    db.instance_create(ctx, {'project_id': 'proj1', 'vcpus': 4})
    gone = db.instance_create(ctx, {'project_id': 'proj1', 'vcpus': 8})
    db.instance_destroy(ctx, gone.id)
    db.instance_create(ctx, {'project_id': 'other', 'vcpus': 1})
    assert db.instance_data_get_for_project(user_ctx, 'proj1') == (2, 6)

    db.volume_create(ctx, {'project_id': 'proj1', 'size': 10})
    db.volume_create(ctx, {'project_id': 'proj1', 'size': 5})
    assert db.volume_data_get_for_project(user_ctx, 'proj1') == (2, 15)

    for n in range(3):
        db.floating_ip_create(ctx, {'address': '4.4.4.%d' % n,
                                    'host': 'net1'})
    db.floating_ip_allocate_address(ctx, 'net1', 'proj1')
    db.floating_ip_allocate_address(ctx, 'net1', 'proj1')
    assert db.floating_ip_count_by_project(user_ctx, 'proj1') == 2
    with pytest.raises(exception.NotAuthorized):
        db.instance_data_get_for_project(user_ctx, 'other')


def test_key_pairs(ctx, user_ctx, other_ctx):
    kp = db.key_pair_create(user_ctx, {'user_id': 'alice', 'name': 'k1',
                                       'fingerprint': 'aa:bb',
                                       'public_key': 'ssh-rsa AAA'})
    db.key_pair_create(user_ctx, {'user_id': 'alice', 'name': 'k2'})
    assert db.key_pair_get(user_ctx, 'alice', 'k1').id == kp.id
    assert [k.name for k in db.key_pair_get_all_by_user(user_ctx,
                                                        'alice')] == \
        ['k1', 'k2']
    with pytest.raises(exception.Duplicate):
        db.key_pair_create(user_ctx, {'user_id': 'alice', 'name': 'k1'})
    # Another user neither sees nor makes alice's key pairs.
    with pytest.raises(exception.NotAuthorized):
        db.key_pair_get(other_ctx, 'alice', 'k1')
    with pytest.raises(exception.NotAuthorized):
        db.key_pair_create(other_ctx, {'user_id': 'alice', 'name': 'k3'})
    db.key_pair_destroy(user_ctx, 'alice', 'k1')
    with pytest.raises(exception.KeypairNotFound):
        db.key_pair_get(user_ctx, 'alice', 'k1')
    with pytest.raises(exception.KeypairNotFound):
        db.key_pair_destroy(user_ctx, 'alice', 'k1')
    db.key_pair_destroy_all_by_user(ctx, 'alice')
    assert db.key_pair_get_all_by_user(ctx, 'alice') == []


def test_default_instance_types(ctx):
    types = db.instance_type_get_all(ctx)
    assert [(t.name, t.memory_mb, t.vcpus, t.local_gb, t.flavorid)
            for t in types] == [
        ('m1.tiny', 512, 1, 0, 1),
        ('m1.small', 2048, 1, 20, 2),
        ('m1.medium', 4096, 2, 40, 3),
        ('m1.large', 8192, 4, 80, 4),
        ('m1.xlarge', 16384, 8, 160, 5)]
    assert db.instance_type_get_by_name(ctx, 'm1.large').flavorid == 4
    assert db.instance_type_get_by_flavor_id(ctx, 3).name == 'm1.medium'
    assert db.instance_type_get_by_flavor_id(ctx, '3').name == 'm1.medium'


def test_instance_type_lifecycle(ctx, user_ctx):
    made = db.instance_type_create(ctx, {'name': 'm1.huge',
                                         'memory_mb': 32768, 'vcpus': 16,
                                         'local_gb': 320, 'flavorid': 6,
                                         'swap': 1024})
    assert (made.swap, made.rxtx_quota, made.rxtx_cap) == (1024, 0, 0)
    with pytest.raises(exception.Duplicate):
        db.instance_type_create(ctx, {'name': 'm1.huge', 'memory_mb': 1,
                                      'vcpus': 1, 'local_gb': 1,
                                      'flavorid': 7})
    with pytest.raises(exception.Duplicate):
        db.instance_type_create(ctx, {'name': 'other', 'memory_mb': 1,
                                      'vcpus': 1, 'local_gb': 1,
                                      'flavorid': 6})
    with pytest.raises(exception.InvalidInput):
        db.instance_type_create(ctx, {'name': 'no-memory', 'vcpus': 1,
                                      'local_gb': 1, 'flavorid': 8})
    with pytest.raises(exception.AdminRequired):
        db.instance_type_create(user_ctx, {'name': 'x'})
    inst = db.instance_create(ctx, {'instance_type': 'm1.huge'})
    db.instance_type_destroy(ctx, 'm1.huge')
    with pytest.raises(exception.InstanceTypeNotFound):
        db.instance_type_get_by_name(ctx, 'm1.huge')
    assert 'm1.huge' not in [t.name for t in db.instance_type_get_all(ctx)]
    assert 'm1.huge' in [t.name for t in
                         db.instance_type_get_all(ctx, inactive=True)]
    # The instance still knows its (deleted) type.
    assert db.instance_get(ctx, inst.id).instance_type.memory_mb == 32768
    assert db.instance_type_get_by_id(ctx, made.id).name == 'm1.huge'
    with pytest.raises(exception.InstanceTypeNotFound):
        db.instance_type_destroy(ctx, 'm1.huge')
    with pytest.raises(exception.InstanceTypeNotFound):
        db.instance_type_get_by_flavor_id(ctx, 'abc')
    # The flavor id is free again.
    db.instance_type_create(ctx, {'name': 'm1.huge', 'memory_mb': 1,
                                  'vcpus': 1, 'local_gb': 1, 'flavorid': 6})
