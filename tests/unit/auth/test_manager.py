"""nova.auth.manager over the SQL driver on a real (SQLite) database."""

import io
import zipfile

import pytest

from nova import context
from nova import exception
from nova import flags
from nova import utils
from nova.auth import manager
from nova.db import api as db
from tests.unit.db.conftest import _template_db, sqlite_db  # noqa: F401

FLAGS = flags.FLAGS


@pytest.fixture
def auth(sqlite_db, tmp_path):  # noqa: F811
    FLAGS.ca_path = str(tmp_path / 'CA')
    FLAGS.keys_path = str(tmp_path / 'keys')
    return manager.AuthManager()


@pytest.fixture
def people(auth):
    admin = auth.create_user('root', 'rootaccess', 'rootsecret', admin=True)
    alice = auth.create_user('alice', 'aliceaccess', 'alicesecret')
    bob = auth.create_user('bob', 'bobaccess', 'bobsecret')
    proj = auth.create_project('proj', alice, 'a project', [bob])
    return admin, alice, bob, proj


def test_users(auth):
    user = auth.create_user('carol')
    assert user.access and user.secret and not user.admin
    assert auth.get_user('carol').secret == user.secret
    assert auth.get_user_from_access_key(user.access).id == 'carol'
    assert auth.get_user_from_access_key('nope') is None
    with pytest.raises(exception.Duplicate):
        auth.create_user('carol')
    with pytest.raises(exception.Duplicate):
        auth.create_user('dave', access=user.access)
    with pytest.raises(exception.InvalidInput):
        auth.create_user('bad name/with slash')
    auth.modify_user('carol', access_key='newaccess', admin=True)
    carol = auth.get_user('carol')
    assert carol.access == 'newaccess' and carol.admin
    assert [u.id for u in auth.get_users()] == ['carol']
    auth.delete_user('carol')
    assert auth.get_user('carol') is None
    with pytest.raises(exception.UserNotFound):
        auth.delete_user('carol')


def test_projects_and_membership(auth, people):
    _admin, alice, bob, proj = people
    assert proj.project_manager_id == 'alice'
    assert set(proj.member_ids) == {'alice', 'bob'}
    assert auth.is_project_manager(alice, 'proj')
    assert auth.is_project_member(bob, 'proj')
    assert [p.id for p in auth.get_projects(bob)] == ['proj']
    auth.remove_from_project(bob, 'proj')
    assert not auth.is_project_member(bob, 'proj')
    with pytest.raises(exception.InvalidInput):
        auth.remove_from_project(alice, 'proj')   # the manager stays
    auth.modify_project('proj', manager_user=bob, description='new')
    proj = auth.get_project('proj')
    assert proj.project_manager_id == 'bob' and proj.description == 'new'
    assert proj.has_member(bob)
    with pytest.raises(exception.Duplicate):
        auth.create_project('proj', alice)
    with pytest.raises(exception.UserNotFound):
        auth.create_project('other', 'ghost')
    assert auth.get_project('other') is None
    auth.delete_project('proj')
    assert auth.get_project('proj') is None


def test_roles_need_global_and_project_grants(auth, people):
    admin, alice, bob, proj = people
    assert not auth.has_role(bob, 'netadmin', proj)
    auth.add_role(bob, 'netadmin', proj)
    assert not auth.has_role(bob, 'netadmin', proj)    # no global grant yet
    auth.add_role(bob, 'netadmin')
    assert auth.has_role(bob, 'netadmin', proj)
    assert auth.has_role(bob, 'netadmin')
    auth.remove_role(bob, 'netadmin')
    assert not auth.has_role(bob, 'netadmin', proj)
    assert auth.has_role(alice, 'projectmanager', proj)
    assert not auth.has_role(bob, 'projectmanager', proj)
    with pytest.raises(exception.RoleNotFound):
        auth.add_role(bob, 'emperor')
    with pytest.raises(exception.InvalidInput):
        auth.add_role(bob, 'cloudadmin', proj)
    with pytest.raises(exception.ProjectNotFound):
        auth.add_role(bob, 'developer', 'ghost')
    assert auth.is_superuser(admin) and auth.is_admin(admin)
    assert not auth.is_admin(bob)
    auth.add_role(bob, 'itsec')
    assert auth.is_admin(bob) and not auth.is_superuser(bob)
    auth.add_role(alice, 'cloudadmin')
    assert auth.is_superuser(alice)
    assert 'cloudadmin' not in auth.get_roles(project_roles=True)


def test_authenticate_ec2(auth, people):
    _admin, alice, bob, proj = people
    seen = []

    def verify(secret):
        seen.append(secret)

    user, project = auth.authenticate_ec2('bobaccess:proj', verify)
    assert (user.id, project.id) == ('bob', 'proj') and seen == ['bobsecret']
    user, project = auth.authenticate_ec2('bobaccess', verify)
    assert project.id == 'proj'     # bob's only project
    with pytest.raises(exception.NotAuthenticated):
        auth.authenticate_ec2('nobody', verify)

    def reject(secret):
        raise exception.SignatureError()
    with pytest.raises(exception.SignatureError):
        auth.authenticate_ec2('bobaccess', reject)

    auth.create_project('other', 'root')
    with pytest.raises(exception.NotAuthorized):
        auth.authenticate_ec2('bobaccess:other', verify)
    user, project = auth.authenticate_ec2('rootaccess:proj', verify)
    assert project.id == 'proj'     # admins reach every project
    auth.create_user('loner')
    with pytest.raises(exception.NotAuthorized):
        auth.authenticate_ec2(auth.get_user('loner').access, verify)


def test_api_key_login_and_tokens(auth, people):
    _admin, alice, bob, proj = people
    user, project = auth.authenticate_api_key('bob', 'bobaccess')
    assert user.id == 'bob' and project.id == 'proj'
    with pytest.raises(exception.NotAuthenticated):
        auth.authenticate_api_key('bob', 'bobsecret')
    with pytest.raises(exception.NotAuthenticated):
        auth.authenticate_api_key('ghost', 'x')

    token, expires = auth.create_token(user, project)
    assert expires > utils.utcnow()
    identity = auth.validate_token(token)
    assert identity['user_id'] == 'bob' and identity['project_id'] == 'proj'
    assert identity['is_admin'] is False
    ctxt = context.get_admin_context()
    with pytest.raises(exception.NotFound):
        db.auth_token_get(ctxt, token)          # only the hash is stored
    with pytest.raises(exception.NotAuthenticated):
        auth.validate_token(token + 'x')
    with pytest.raises(exception.NotAuthenticated):
        auth.validate_token('')

    FLAGS.auth_token_ttl = -1
    old, _ = auth.create_token(user, project)
    with pytest.raises(exception.NotAuthenticated):
        auth.validate_token(old)
    FLAGS.auth_token_ttl = 3600
    auth.delete_token(token)
    with pytest.raises(exception.NotAuthenticated):
        auth.validate_token(token)


def test_rc_file_and_credentials_zip(auth, people):
    from cryptography import x509
    _admin, alice, bob, proj = people
    FLAGS.ec2_dmz_host = 'cloud.example'
    rc = auth.get_environment_rc('bob', 'proj')
    assert "export EC2_ACCESS_KEY='bobaccess:proj'" in rc
    assert "export EC2_SECRET_KEY='bobsecret'" in rc
    assert "EC2_URL='http://cloud.example:8773/services/Cloud'" in rc
    assert "NOVA_API_KEY='bobaccess'" in rc
    data = auth.get_credentials('bob', 'proj')
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        cert = x509.load_pem_x509_certificate(zf.read('cert.pem'))
        ca = x509.load_pem_x509_certificate(zf.read('cacert.pem'))
        assert zf.read('novarc').decode() == rc
    cert.verify_directly_issued_by(ca)
    rows = db.certificate_get_all_by_user_and_project(
        context.get_admin_context(), 'bob', 'proj')
    assert len(rows) == 1
    with pytest.raises(exception.UserNotFound):
        auth.get_credentials('ghost', 'proj')
    with pytest.raises(exception.ProjectNotFound):
        auth.get_environment_rc('bob', 'ghost')


def test_deleting_a_user_removes_roles_and_membership(auth, people):
    _admin, alice, bob, proj = people
    auth.add_role(bob, 'developer')
    auth.add_role(bob, 'developer', proj)
    auth.delete_user(bob)
    auth.create_user('bob', 'bobaccess2', 'x')
    assert not auth.has_role('bob', 'developer')
    assert not auth.is_project_member('bob', 'proj')
