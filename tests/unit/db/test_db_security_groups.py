"""security groups, their rules and members."""

import pytest

from nova import db
from nova import exception


def _group(ctx, name='default', project='proj1'):
    return db.security_group_create(ctx, {'name': name, 'project_id': project,
                                          'user_id': 'alice',
                                          'description': name})


def test_groups(ctx, user_ctx):
    g = _group(user_ctx)
    assert g.rules == [] and g.instances == []
    assert db.security_group_get(user_ctx, g.id).name == 'default'
    assert db.security_group_get_by_name(user_ctx, 'proj1', 'default').id \
        == g.id
    assert db.security_group_exists(user_ctx, 'proj1', 'default')
    assert not db.security_group_exists(user_ctx, 'proj1', 'web')
    with pytest.raises(exception.Duplicate):
        _group(user_ctx)
    _group(ctx, project='proj2')    # same name, other project: fine
    assert [x.id for x in db.security_group_get_by_project(user_ctx,
                                                           'proj1')] == [g.id]
    assert len(db.security_group_get_all(ctx)) == 2
    assert len(db.security_group_get_all(user_ctx)) == 1
    with pytest.raises(exception.SecurityGroupNotFound):
        db.security_group_get(user_ctx, 999)
    with pytest.raises(exception.SecurityGroupNotFound):
        db.security_group_get_by_name(user_ctx, 'proj1', 'web')


def test_other_projects_groups_are_hidden(ctx, user_ctx):
    theirs = _group(ctx, project='proj2')
    with pytest.raises(exception.SecurityGroupNotFound):
        db.security_group_get(user_ctx, theirs.id)
    with pytest.raises(exception.NotAuthorized):
        db.security_group_get_by_project(user_ctx, 'proj2')
    with pytest.raises(exception.NotAuthorized):
        _group(user_ctx, project='proj2')
    with pytest.raises(exception.SecurityGroupNotFound):
        db.security_group_rule_create(user_ctx, {'parent_group_id': theirs.id,
                                                 'cidr': '0.0.0.0/0'})


def test_rules(ctx, user_ctx, other_ctx):
    g = _group(user_ctx)
    src = _group(user_ctx, 'src')
    r1 = db.security_group_rule_create(user_ctx, {
        'parent_group_id': g.id, 'protocol': 'tcp', 'from_port': 22,
        'to_port': 22, 'cidr': '0.0.0.0/0'})
    r2 = db.security_group_rule_create(user_ctx, {
        'parent_group_id': g.id, 'group_id': src.id})
    assert r1.parent_group.id == g.id
    assert r2.grantee_group.name == 'src'
    got = db.security_group_get(user_ctx, g.id)
    assert [r.id for r in got.rules] == [r1.id, r2.id]
    assert got.rules[1].grantee_group.id == src.id
    assert [r.id for r in db.security_group_rule_get_by_security_group(
        user_ctx, g.id)] == [r1.id, r2.id]
    assert [r.id for r in db.security_group_rule_get_by_security_group_grantee(
        ctx, src.id)] == [r2.id]
    assert db.security_group_rule_get(user_ctx, r1.id).from_port == 22
    with pytest.raises(exception.NotFound):
        db.security_group_rule_get(other_ctx, r1.id)
    db.security_group_rule_destroy(user_ctx, r1.id)
    with pytest.raises(exception.NotFound):
        db.security_group_rule_get(user_ctx, r1.id)
    with pytest.raises(exception.SecurityGroupNotFound):
        db.security_group_rule_create(user_ctx, {'parent_group_id': g.id,
                                                 'group_id': 999})


def test_members(ctx):
    g = _group(ctx)
    web = _group(ctx, 'web')
    inst = db.instance_create(ctx, {'project_id': 'proj1',
                                    'security_groups': [g.id]})
    db.instance_add_security_group(ctx, inst.id, web.id)
    db.instance_add_security_group(ctx, inst.id, web.id)   # idempotent
    assert [x.name for x in db.instance_get(ctx, inst.id).security_groups] \
        == ['default', 'web']
    assert [x.name for x in db.security_group_get_by_instance(
        ctx, inst.id)] == ['default', 'web']
    assert [i.id for i in db.security_group_get(ctx, web.id).instances] == \
        [inst.id]
    assert db.security_group_in_use(ctx, web.id)
    db.instance_remove_security_group(ctx, inst.id, web.id)
    assert not db.security_group_in_use(ctx, web.id)
    assert [x.name for x in db.instance_get(ctx, inst.id).security_groups] \
        == ['default']


def test_destroy_removes_rules_links_and_grants(ctx):
    g = _group(ctx)
    other = _group(ctx, 'other')
    db.security_group_rule_create(ctx, {'parent_group_id': g.id,
                                        'cidr': '10.0.0.0/8'})
    grant = db.security_group_rule_create(ctx, {'parent_group_id': other.id,
                                                'group_id': g.id})
    inst = db.instance_create(ctx, {'project_id': 'proj1',
                                    'security_groups': [g.id]})
    db.security_group_destroy(ctx, g.id)
    with pytest.raises(exception.SecurityGroupNotFound):
        db.security_group_get(ctx, g.id)
    assert db.instance_get(ctx, inst.id).security_groups == []
    assert db.security_group_get(ctx, other.id).rules == []
    with pytest.raises(exception.NotFound):
        db.security_group_rule_get(ctx, grant.id)
    # The name is free again.
    _group(ctx)
