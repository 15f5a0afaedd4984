"""users, projects, roles, auth tokens and certificates."""

import datetime

import pytest

from nova import db
from nova import exception


def _user(ctx, name, **kw):
    values = {'id': name, 'name': name, 'access_key': name + '-access',
              'secret_key': name + '-secret', 'is_admin': False}
    values.update(kw)
    return db.user_create(ctx, values)


def test_users(ctx):
    alice = _user(ctx, 'alice', is_admin=True)
    _user(ctx, 'bob')
    assert alice.is_admin is True
    assert db.user_get(ctx, 'alice').secret_key == 'alice-secret'
    assert db.user_get_by_access_key(ctx, 'bob-access').id == 'bob'
    assert [u.id for u in db.user_get_all(ctx)] == ['alice', 'bob']
    assert db.user_update(ctx, 'bob', {'is_admin': True}).is_admin
    with pytest.raises(exception.UserNotFound):
        db.user_get(ctx, 'carol')
    with pytest.raises(exception.UserNotFound):
        db.user_get_by_access_key(ctx, 'nope')
    with pytest.raises(exception.Duplicate):
        _user(ctx, 'alice')
    with pytest.raises(exception.Duplicate):
        _user(ctx, 'carol', access_key='bob-access')


def test_projects_and_members(ctx):
    _user(ctx, 'alice')
    _user(ctx, 'bob')
    proj = db.project_create(ctx, {'id': 'p1', 'name': 'p1',
                                   'description': 'first',
                                   'project_manager': 'alice',
                                   'members': ['alice']})
    assert [m.id for m in proj.members] == ['alice']
    db.project_create(ctx, {'id': 'p2', 'name': 'p2',
                            'project_manager': 'bob'})
    db.project_add_member(ctx, 'p1', 'bob')
    db.project_add_member(ctx, 'p1', 'bob')     # twice is fine
    assert [m.id for m in db.project_get(ctx, 'p1').members] == \
        ['alice', 'bob']
    assert [p.id for p in db.project_get_by_user(ctx, 'bob')] == ['p1']
    assert [p.id for p in db.project_get_all(ctx)] == ['p1', 'p2']
    updated = db.project_update(ctx, 'p1', {'description': 'new'})
    assert updated.description == 'new'
    assert [m.id for m in updated.members] == ['alice', 'bob']
    db.project_remove_member(ctx, 'p1', 'bob')
    assert db.project_get_by_user(ctx, 'bob') == []
    db.project_delete(ctx, 'p1')
    with pytest.raises(exception.ProjectNotFound):
        db.project_get(ctx, 'p1')
    # The id is free again: projects and users are removed outright.
    db.project_create(ctx, {'id': 'p1', 'name': 'again'})


def test_project_errors(ctx):
    _user(ctx, 'alice')
    with pytest.raises(exception.UserNotFound):
        db.project_create(ctx, {'id': 'p', 'project_manager': 'ghost'})
    with pytest.raises(exception.UserNotFound):
        db.project_create(ctx, {'id': 'p', 'members': ['ghost']})
    # Nothing half-made is left behind.
    assert db.project_get_all(ctx) == []
    db.project_create(ctx, {'id': 'p'})
    with pytest.raises(exception.Duplicate):
        db.project_create(ctx, {'id': 'p'})
    with pytest.raises(exception.ProjectNotFound):
        db.project_add_member(ctx, 'nope', 'alice')
    with pytest.raises(exception.UserNotFound):
        db.project_add_member(ctx, 'p', 'ghost')
    with pytest.raises(exception.UserNotFound):
        db.project_get_by_user(ctx, 'ghost')


def test_roles(ctx):
    _user(ctx, 'alice')
    db.project_create(ctx, {'id': 'p1', 'members': ['alice']})
    db.project_create(ctx, {'id': 'p2', 'members': ['alice']})
    db.user_add_role(ctx, 'alice', 'netadmin')
    db.user_add_role(ctx, 'alice', 'cloudadmin')
    db.user_add_role(ctx, 'alice', 'netadmin')
    assert db.user_get_roles(ctx, 'alice') == ['cloudadmin', 'netadmin']
    db.user_add_project_role(ctx, 'alice', 'p1', 'developer')
    db.user_add_project_role(ctx, 'alice', 'p2', 'sysadmin')
    assert db.user_get_roles_for_project(ctx, 'alice', 'p1') == ['developer']
    db.user_remove_project_role(ctx, 'alice', 'p1', 'developer')
    assert db.user_get_roles_for_project(ctx, 'alice', 'p1') == []
    db.user_remove_role(ctx, 'alice', 'netadmin')
    assert db.user_get_roles(ctx, 'alice') == ['cloudadmin']
    # Leaving a project drops the roles held in it.
    db.project_remove_member(ctx, 'p2', 'alice')
    assert db.user_get_roles_for_project(ctx, 'alice', 'p2') == []
    with pytest.raises(exception.UserNotFound):
        db.user_get_roles(ctx, 'ghost')
    with pytest.raises(exception.ProjectNotFound):
        db.user_add_project_role(ctx, 'alice', 'nope', 'developer')


def test_user_delete_removes_links_and_key_pairs(ctx):
    _user(ctx, 'alice')
    _user(ctx, 'bob')
    db.project_create(ctx, {'id': 'p1', 'project_manager': 'alice',
                            'members': ['alice', 'bob']})
    db.user_add_role(ctx, 'alice', 'netadmin')
    db.user_add_project_role(ctx, 'alice', 'p1', 'developer')
    db.key_pair_create(ctx, {'user_id': 'alice', 'name': 'k1'})
    db.key_pair_create(ctx, {'user_id': 'bob', 'name': 'k1'})
    db.user_delete(ctx, 'alice')
    with pytest.raises(exception.UserNotFound):
        db.user_get(ctx, 'alice')
    project = db.project_get(ctx, 'p1')
    assert [m.id for m in project.members] == ['bob']
    assert project.project_manager is None
    assert db.key_pair_get_all_by_user(ctx, 'alice') == []
    assert len(db.key_pair_get_all_by_user(ctx, 'bob')) == 1
    # A new alice starts with nothing.
    _user(ctx, 'alice')
    assert db.user_get_roles(ctx, 'alice') == []
    assert db.user_get_roles_for_project(ctx, 'alice', 'p1') == []
    assert db.project_get_by_user(ctx, 'alice') == []
    with pytest.raises(exception.UserNotFound):
        db.user_delete(ctx, 'ghost')


def test_auth_tables_need_an_admin(user_ctx):
    with pytest.raises(exception.AdminRequired):
        db.user_get(user_ctx, 'alice')
    with pytest.raises(exception.AdminRequired):
        db.project_create(user_ctx, {'id': 'p'})


def test_auth_tokens(ctx):
    now = datetime.datetime(2011, 2, 3, 12, 0, 0)
    db.auth_token_create(ctx, {'token_hash': 'old', 'user_id': 'alice',
                               'project_id': 'p1',
                               'server_management_url': 'http://x/v1.0/',
                               'expires': now - datetime.timedelta(hours=1)})
    db.auth_token_create(ctx, {'token_hash': 'new', 'user_id': 'alice',
                               'expires': now + datetime.timedelta(hours=1)})
    db.auth_token_create(ctx, {'token_hash': 'forever', 'user_id': 'bob'})
    token = db.auth_token_get(ctx, 'old')
    assert token.server_management_url == 'http://x/v1.0/'
    assert token.project_id == 'p1'
    with pytest.raises(exception.Duplicate):
        db.auth_token_create(ctx, {'token_hash': 'old'})
    assert db.auth_token_destroy_expired(ctx, now) == 1
    with pytest.raises(exception.TokenNotFound):
        db.auth_token_get(ctx, 'old')
    db.auth_token_get(ctx, 'new')
    db.auth_token_get(ctx, 'forever')
    db.auth_token_destroy(ctx, 'new')
    with pytest.raises(exception.TokenNotFound):
        db.auth_token_get(ctx, 'new')
    with pytest.raises(exception.TokenNotFound):
        db.auth_token_destroy(ctx, 'new')


def test_certificates(ctx):
    a = db.certificate_create(ctx, {'user_id': 'alice', 'project_id': 'p1',
                                    'file_name': 'a.pem'})
    db.certificate_create(ctx, {'user_id': 'alice', 'project_id': 'p2',
                                'file_name': 'b.pem'})
    db.certificate_create(ctx, {'user_id': 'bob', 'project_id': 'p1',
                                'file_name': 'c.pem'})

    def names(rows):
        return sorted(r.file_name for r in rows)

    assert names(db.certificate_get_all_by_user(ctx, 'alice')) == \
        ['a.pem', 'b.pem']
    assert names(db.certificate_get_all_by_project(ctx, 'p1')) == \
        ['a.pem', 'c.pem']
    assert names(db.certificate_get_all_by_user_and_project(
        ctx, 'alice', 'p1')) == ['a.pem']
    db.certificate_destroy(ctx, a.id)
    assert names(db.certificate_get_all_by_user(ctx, 'alice')) == ['b.pem']
    with pytest.raises(exception.CertificateNotFound):
        db.certificate_destroy(ctx, a.id)
