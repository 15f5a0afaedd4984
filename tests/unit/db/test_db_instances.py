"""instances, their metadata, actions and project scoping."""

import pytest

from nova import context
from nova import db
from nova import exception


def _instance(ctx, project='proj1', **kw):
    values = {'project_id': project, 'user_id': 'alice', 'vcpus': 1,
              'memory_mb': 512, 'state': 0, 'state_description': 'scheduling'}
    values.update(kw)
    return db.instance_create(ctx, values)


def test_create_and_get(ctx):
    inst = _instance(ctx, instance_type='m1.small', host='h1',
                     reservation_id='r-1', mac_address='02:16:3e:00:00:01',
                     display_name='web', metadata={'role': 'web'})
    got = db.instance_get(ctx, inst.id)
    assert got.instance_type.name == 'm1.small'
    assert got.instance_type_id == got.instance_type.id
    assert got.display_name == 'web'
    assert len(got.uuid) == 36
    assert db.instance_get_by_uuid(ctx, got.uuid).id == inst.id
    assert db.instance_metadata_get(ctx, inst.id) == {'role': 'web'}
    assert got.locked is False
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get(ctx, 12345)
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get_by_uuid(ctx, 'no-such-uuid')
    with pytest.raises(exception.InstanceTypeNotFound):
        _instance(ctx, instance_type='m9.none')


def test_uuid_is_unique(ctx):
    inst = _instance(ctx)
    with pytest.raises(exception.Duplicate):
        _instance(ctx, uuid=inst.uuid)


def test_update_and_state(ctx):
    inst = _instance(ctx)
    updated = db.instance_update(ctx, inst.id, {'host': 'h2',
                                                'instance_type': 'm1.tiny'})
    assert updated.host == 'h2' and updated.instance_type.name == 'm1.tiny'
    db.instance_set_state(ctx, inst.id, 1, 'running')
    got = db.instance_get(ctx, inst.id)
    assert (got.state, got.state_description) == (1, 'running')
    db.instance_set_state(ctx, inst.id, 4)
    got = db.instance_get(ctx, inst.id)
    assert (got.state, got.state_description) == (4, 'running')
    with pytest.raises(exception.InstanceNotFound):
        db.instance_update(ctx, 999, {'host': 'x'})
    with pytest.raises(exception.Invalid):
        db.instance_update(ctx, inst.id, {'bogus': 1})


def test_metadata(ctx):
    inst = _instance(ctx, metadata={'a': '1', 'b': '2'})
    assert db.instance_metadata_update(ctx, inst.id, {'b': '3', 'c': '4'}) \
        == {'a': '1', 'b': '3', 'c': '4'}
    db.instance_metadata_delete(ctx, inst.id, 'a')
    assert db.instance_metadata_get(ctx, inst.id) == {'b': '3', 'c': '4'}
    with pytest.raises(exception.NotFound):
        db.instance_metadata_delete(ctx, inst.id, 'a')
    # instance_update with metadata replaces the whole set.
    db.instance_update(ctx, inst.id, {'metadata': {'z': '9'}})
    got = db.instance_get(ctx, inst.id)
    assert {m.key: m.value for m in got.metadata_items} == {'z': '9'}


def test_destroy_is_soft(ctx):
    sg = db.security_group_create(ctx, {'project_id': 'proj1',
                                        'name': 'default'})
    inst = _instance(ctx, security_groups=[sg.id], metadata={'k': 'v'})
    db.instance_destroy(ctx, inst.id)
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get(ctx, inst.id)
    assert db.instance_get_all(ctx) == []
    assert db.security_group_get(ctx, sg.id).instances == []
    old = db.instance_get(context.get_admin_context(read_deleted=True),
                          inst.id)
    assert old.deleted and old.deleted_at is not None
    with pytest.raises(exception.InstanceNotFound):
        db.instance_destroy(ctx, inst.id)


def test_listings(ctx):
    a = _instance(ctx, host='h1', reservation_id='r-1')
    b = _instance(ctx, host='h2', reservation_id='r-1', user_id='bob')
    c = _instance(ctx, project='proj2', host='h1', reservation_id='r-2')

    def ids(rows):
        return [r.id for r in rows]

    assert ids(db.instance_get_all(ctx)) == [a.id, b.id, c.id]
    assert ids(db.instance_get_all_by_project(ctx, 'proj1')) == [a.id, b.id]
    assert ids(db.instance_get_all_by_host(ctx, 'h1')) == [a.id, c.id]
    assert ids(db.instance_get_all_by_reservation(ctx, 'r-1')) == \
        [a.id, b.id]
    assert ids(db.instance_get_all_by_user(ctx, 'bob')) == [b.id]


def test_a_user_sees_only_its_project(ctx, user_ctx, other_ctx):
    mine = _instance(user_ctx, project='proj1', host='h1')
    theirs = _instance(other_ctx, project='proj2', host='h1')
    assert [i.id for i in db.instance_get_all(user_ctx)] == [mine.id]
    assert [i.id for i in db.instance_get_all_by_host(user_ctx, 'h1')] == \
        [mine.id]
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get(user_ctx, theirs.id)
    with pytest.raises(exception.InstanceNotFound):
        db.instance_update(user_ctx, theirs.id, {'display_name': 'x'})
    with pytest.raises(exception.InstanceNotFound):
        db.instance_destroy(user_ctx, theirs.id)
    with pytest.raises(exception.NotAuthorized):
        db.instance_get_all_by_project(user_ctx, 'proj2')
    with pytest.raises(exception.NotAuthorized):
        _instance(user_ctx, project='proj2')
    # The admin sees both; bob's instance is untouched.
    assert db.instance_get(ctx, theirs.id).display_name is None


def test_a_context_is_required(sqlite_db):
    with pytest.raises(exception.NotAuthorized):
        db.instance_get_all(None)


def test_actions(ctx):
    inst = _instance(ctx)
    db.instance_action_create(ctx, {'instance_id': inst.id,
                                    'action': 'reboot'})
    db.instance_action_create(ctx, {'instance_id': inst.id,
                                    'action': 'pause', 'error': 'boom'})
    actions = db.instance_get_actions(ctx, inst.id)
    assert [(a.action, a.error) for a in actions] == \
        [('reboot', None), ('pause', 'boom')]
    with pytest.raises(exception.InstanceNotFound):
        db.instance_action_create(ctx, {'instance_id': 999,
                                        'action': 'x'})


def test_addresses_of_an_instance(ctx):
    inst = _instance(ctx)
    assert db.instance_get_fixed_address(ctx, inst.id) is None
    assert db.instance_get_floating_address(ctx, inst.id) is None
    net = db.network_create(ctx, {'cidr': '10.0.0.0/28'})
    db.fixed_ip_create(ctx, {'address': '10.0.0.3', 'network_id': net.id})
    db.fixed_ip_associate(ctx, '10.0.0.3', inst.id)
    db.floating_ip_create(ctx, {'address': '4.4.4.4', 'host': 'n1'})
    db.floating_ip_allocate_address(ctx, 'n1', 'proj1')
    db.floating_ip_fixed_ip_associate(ctx, '4.4.4.4', '10.0.0.3')
    assert db.instance_get_fixed_address(ctx, inst.id) == '10.0.0.3'
    assert db.instance_get_floating_address(ctx, inst.id) == '4.4.4.4'
