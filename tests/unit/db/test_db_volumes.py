"""volumes, iSCSI targets and AoE export devices."""

import pytest

from nova import db
from nova import exception


def test_volume_lifecycle(ctx, user_ctx, other_ctx):
    vol = db.volume_create(user_ctx, {'project_id': 'proj1', 'user_id': 'a',
                                      'size': 5, 'status': 'creating',
                                      'host': 'v1'})
    assert vol.name == 'volume-%08x' % vol.id and vol.instance is None
    inst = db.instance_create(user_ctx, {'project_id': 'proj1'})
    attached = db.volume_attached(user_ctx, vol.id, inst.id, '/dev/vdb')
    assert (attached.status, attached.attach_status, attached.mountpoint) \
        == ('in-use', 'attached', '/dev/vdb')
    assert attached.attach_time is not None
    assert attached.instance.id == inst.id
    assert [v.id for v in db.instance_get(user_ctx, inst.id).volumes] == \
        [vol.id]
    assert db.volume_get_instance(user_ctx, vol.id).id == inst.id
    assert [v.id for v in db.volume_get_all_by_instance(user_ctx,
                                                        inst.id)] == [vol.id]
    detached = db.volume_detached(user_ctx, vol.id)
    assert (detached.status, detached.instance_id, detached.mountpoint) == \
        ('available', None, None)
    assert db.volume_update(user_ctx, vol.id, {'display_name': 'd'}) \
        .display_name == 'd'
    with pytest.raises(exception.VolumeNotFound):
        db.volume_get(other_ctx, vol.id)
    with pytest.raises(exception.NotAuthorized):
        db.volume_get_all_by_project(other_ctx, 'proj1')
    assert db.volume_get_all(other_ctx) == []
    assert [v.id for v in db.volume_get_all_by_host(ctx, 'v1')] == [vol.id]
    db.volume_destroy(user_ctx, vol.id)
    with pytest.raises(exception.VolumeNotFound):
        db.volume_get(user_ctx, vol.id)
    with pytest.raises(exception.VolumeNotFound):
        db.volume_destroy(user_ctx, vol.id)


def test_iscsi_targets(ctx):
    for num in (1, 2):
        assert db.iscsi_target_create_safe(ctx, {'target_num': num,
                                                 'host': 'v1'})
    assert db.iscsi_target_create_safe(ctx, {'target_num': 1,
                                             'host': 'v1'}) is None
    assert db.iscsi_target_count_by_host(ctx, 'v1') == 2
    v1 = db.volume_create(ctx, {'size': 1})
    v2 = db.volume_create(ctx, {'size': 1})
    v3 = db.volume_create(ctx, {'size': 1})
    assert db.volume_allocate_iscsi_target(ctx, v1.id, 'v1') == 1
    assert db.volume_allocate_iscsi_target(ctx, v2.id, 'v1') == 2
    with pytest.raises(exception.NotFound):
        db.volume_allocate_iscsi_target(ctx, v3.id, 'v1')
    assert db.volume_get_iscsi_target_num(ctx, v2.id) == 2
    db.volume_destroy(ctx, v1.id)    # frees its target
    assert db.volume_allocate_iscsi_target(ctx, v3.id, 'v1') == 1
    with pytest.raises(exception.NotFound):
        db.volume_get_iscsi_target_num(ctx, v1.id)


def test_export_devices(ctx):
    for shelf, blade in ((0, 1), (0, 0)):
        db.export_device_create_safe(ctx, {'shelf_id': shelf,
                                           'blade_id': blade})
    assert db.export_device_create_safe(ctx, {'shelf_id': 0,
                                              'blade_id': 0}) is None
    assert db.export_device_count(ctx) == 2
    vol = db.volume_create(ctx, {'size': 1})
    assert db.volume_allocate_shelf_and_blade(ctx, vol.id) == (0, 0)
    assert db.volume_get_shelf_and_blade(ctx, vol.id) == (0, 0)
