"""Users, projects and roles of the cloud, and how callers prove who they are.

Roles come in two kinds.  Global roles (``cloudadmin``, ``itsec``) hold
everywhere.  The others (``sysadmin``, ``netadmin``, ``developer``) are granted
globally *and* per project: a project-scoped check needs both grants, so an
operator can take a role away from a user in every project at once.  The
pseudo-role ``projectmanager`` is held by a project's manager.  Superusers
(the ``admin`` flag or ``cloudadmin``) pass every check.

EC2 callers sign requests with their secret key (``authenticate_ec2``); the
OpenStack API and Glance use tokens (``create_token``/``validate_token``).
Only a SHA-256 of each token is stored, so the token table leaks nothing that
can be replayed (the original stored the token itself).
"""

import datetime
import hashlib
import io
import secrets
import uuid
import zipfile

from nova import context
from nova import crypto
from nova import exception
from nova import flags
from nova import log as logging
from nova import utils

LOG = logging.getLogger('nova.auth.manager')
FLAGS = flags.FLAGS

flags.DEFINE_list('allowed_roles',
                  ['cloudadmin', 'itsec', 'sysadmin', 'netadmin', 'developer'],
                  'roles a user may be given')
flags.DEFINE_list('global_roles', ['cloudadmin', 'itsec'],
                  'roles that hold in every project and cannot be granted '
                  'per project')
flags.DEFINE_list('superuser_roles', ['cloudadmin'],
                  'roles that pass every authorization check')
flags.DEFINE_string('auth_driver', 'nova.auth.dbdriver.DbDriver',
                    'driver that keeps users, projects and roles')
flags.DEFINE_integer('auth_token_ttl', 86400,
                     'seconds an API token stays valid')
flags.DEFINE_string('credential_rc_file', 'novarc',
                    'name of the rc file in credential zips')
flags.DEFINE_string('credential_key_file', 'pk.pem',
                    'name of the private key in credential zips')
flags.DEFINE_string('credential_cert_file', 'cert.pem',
                    'name of the certificate in credential zips')
flags.DEFINE_string('swift_auth_url', '',
                    'v1.0 auth URL of the cloud\'s Swift, for rc files')
flags.DEFINE_string('glance_host_rc', '$my_ip',
                    'Glance host written into rc files')
flags.DEFINE_integer('glance_port_rc', 9292,
                     'Glance port written into rc files')


class User:
    """A user of the cloud; role checks go through the manager."""

    def __init__(self, id, name, access, secret, admin):
        self.id = id
        self.name = name
        self.access = access
        self.secret = secret
        self.admin = admin

    @classmethod
    def from_dict(cls, d):
        return cls(d['id'], d['name'], d['access'], d['secret'], d['admin'])

    def is_superuser(self):
        return AuthManager().is_superuser(self)

    def is_admin(self):
        return AuthManager().is_admin(self)

    def has_role(self, role, project=None):
        return AuthManager().has_role(self, role, project)

    def __repr__(self):
        return 'User(%r, admin=%r)' % (self.id, self.admin)


class Project:

    def __init__(self, id, name, project_manager_id, description, member_ids):
        self.id = id
        self.name = name
        self.project_manager_id = project_manager_id
        self.description = description
        self.member_ids = list(member_ids)

    @classmethod
    def from_dict(cls, d):
        return cls(d['id'], d['name'], d['project_manager_id'],
                   d['description'], d['member_ids'])

    def has_manager(self, user):
        return _id(user) == self.project_manager_id

    def has_member(self, user):
        return _id(user) in self.member_ids

    def __repr__(self):
        return 'Project(%r, manager=%r)' % (self.id, self.project_manager_id)


def _id(obj):
    return obj if isinstance(obj, str) else obj.id


def _hash_token(token):
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


class AuthManager:

    def __init__(self, driver=None):
        self.driver = driver or utils.import_class(FLAGS.auth_driver)()

    # -- authentication ---------------------------------------------------------

    def authenticate_ec2(self, access, verify_signature):
        """Identify an EC2 caller; return (user, project).

        ``access`` is ``ACCESS`` or ``ACCESS:PROJECT``.  ``verify_signature``
        is called with the user's secret key and raises
        ``SignatureError``/``RequestExpired`` when the request does not prove
        knowledge of it.  Without a project the user's own project (named
        like the user) is used, else the first project they belong to.
        """
        access_key, _sep, project_id = (access or '').partition(':')
        user = self.get_user_from_access_key(access_key)
        if user is None:
            LOG.warning('no user with access key %s', access_key)
            raise exception.NotAuthenticated('Unknown access key %s'
                                             % access_key)
        verify_signature(user.secret)
        project = self._project_for(user, project_id)
        return user, project

    def _project_for(self, user, project_id):
        if project_id:
            project = self.get_project(project_id)
            if project is None:
                raise exception.NotAuthenticated('No project called %s'
                                                 % project_id)
            if not (self.is_admin(user) or project.has_member(user)):
                raise exception.NotAuthorized('%s is not a member of %s'
                                              % (user.id, project_id))
            return project
        own = self.get_project(user.id)
        if own is not None and (own.has_member(user) or self.is_admin(user)):
            return own
        projects = self.get_projects(user)
        if not projects:
            raise exception.NotAuthorized('%s belongs to no project' % user.id)
        return projects[0]

    def authenticate_api_key(self, username, api_key, project_id=None):
        """OpenStack API login: the user's access key is its API key."""
        user = self.get_user(username)
        if user is None or not api_key or not secrets.compare_digest(
                user.access.encode(), api_key.encode()):
            raise exception.NotAuthenticated('Bad user name or API key')
        return user, self._project_for(user, project_id)

    def create_token(self, user, project, extra=None):
        """A new API token for user in project; returns (token, expires)."""
        from nova.db import api as db
        token = secrets.token_hex(20)
        expires = utils.utcnow() + datetime.timedelta(
            seconds=FLAGS.auth_token_ttl)
        values = {'token_hash': _hash_token(token), 'user_id': _id(user),
                  'project_id': _id(project), 'expires': expires}
        values.update(extra or {})
        db.auth_token_create(context.get_admin_context(), values)
        return token, expires

    def validate_token(self, token):
        """Identity behind a token, or NotAuthenticated when unknown/expired."""
        from nova.db import api as db
        ctxt = context.get_admin_context()
        if not token:
            raise exception.NotAuthenticated('No auth token')
        token_hash = _hash_token(token)
        try:
            row = db.auth_token_get(ctxt, token_hash)
        except exception.NotFound:
            raise exception.NotAuthenticated('Unknown auth token') from None
        if row['expires'] is not None and row['expires'] < utils.utcnow():
            db.auth_token_destroy(ctxt, token_hash)
            raise exception.NotAuthenticated('Auth token expired')
        user = self.get_user(row['user_id'])
        if user is None:
            raise exception.NotAuthenticated('Token of a deleted user')
        project_id = row['project_id']
        return {'user_id': user.id, 'project_id': project_id,
                'is_admin': self.is_admin(user),
                'roles': self.get_user_roles(user, project_id)
                + self.get_user_roles(user)}

    def delete_token(self, token):
        from nova.db import api as db
        try:
            db.auth_token_destroy(context.get_admin_context(),
                                  _hash_token(token))
        except exception.NotFound:
            pass

    # -- roles ------------------------------------------------------------------

    def is_superuser(self, user):
        if user.admin:
            return True
        roles = self.driver.get_user_roles(user.id, None)
        return any(role in roles for role in FLAGS.superuser_roles)

    def is_admin(self, user):
        """Superusers and holders of a global role see every project."""
        if self.is_superuser(user):
            return True
        roles = self.driver.get_user_roles(user.id, None)
        return any(role in roles for role in FLAGS.global_roles)

    def has_role(self, user, role, project=None):
        if role == 'projectmanager':
            if project is None:
                return False
            project = self._get_project_obj(project)
            return project is not None and project.has_manager(user)
        global_roles = self.driver.get_user_roles(_id(user), None)
        if project is None or role in FLAGS.global_roles:
            return role in global_roles
        if role not in global_roles:
            return False
        return role in self.driver.get_user_roles(_id(user), _id(project))

    def _check_role(self, role, project):
        if role not in FLAGS.allowed_roles:
            raise exception.RoleNotFound(role=role)
        if project is not None and role in FLAGS.global_roles:
            raise exception.InvalidInput(
                reason='%s is a global role and cannot be granted per '
                       'project' % role)

    def add_role(self, user, role, project=None):
        self._check_role(role, project)
        self._require_user(user)
        if project is not None:
            self._require_project(project)
        if role not in self.driver.get_user_roles(_id(user),
                                                  project and _id(project)):
            LOG.info('adding role %s to %s%s', role, _id(user),
                     ' in %s' % _id(project) if project else '')
            self.driver.add_role(_id(user), role, project and _id(project))

    def remove_role(self, user, role, project=None):
        self._check_role(role, project)
        self._require_user(user)
        if project is not None:
            self._require_project(project)
        self.driver.remove_role(_id(user), role, project and _id(project))

    def get_user_roles(self, user, project=None):
        return self.driver.get_user_roles(_id(user), project and _id(project))

    @staticmethod
    def get_roles(project_roles=True):
        if project_roles:
            return [r for r in FLAGS.allowed_roles if r not in FLAGS.global_roles]
        return list(FLAGS.allowed_roles)

    # -- users ------------------------------------------------------------------

    def get_user(self, uid):
        d = self.driver.get_user(uid)
        return User.from_dict(d) if d else None

    def get_user_from_access_key(self, access_key):
        if not access_key:
            return None
        d = self.driver.get_user_from_access_key(access_key)
        return User.from_dict(d) if d else None

    def get_users(self):
        return [User.from_dict(d) for d in self.driver.get_users()]

    def create_user(self, name, access=None, secret=None, admin=False):
        if not name or not _safe_name(name):
            raise exception.InvalidInput(reason='bad user name %r' % name)
        if self.driver.get_user(name) is not None:
            raise exception.Duplicate('User %s already exists' % name)
        access = access or str(uuid.uuid4())
        secret = secret or str(uuid.uuid4())
        if self.driver.get_user_from_access_key(access) is not None:
            raise exception.Duplicate('Access key %s is taken' % access)
        LOG.info('creating user %s (admin=%s)', name, admin)
        return User.from_dict(self.driver.create_user(name, access, secret,
                                                      admin))

    def modify_user(self, user, access_key=None, secret_key=None, admin=None):
        self._require_user(user)
        if access_key is not None:
            other = self.driver.get_user_from_access_key(access_key)
            if other is not None and other['id'] != _id(user):
                raise exception.Duplicate('Access key %s is taken' % access_key)
        self.driver.modify_user(_id(user), access_key, secret_key, admin)

    def delete_user(self, user):
        self._require_user(user)
        LOG.info('deleting user %s', _id(user))
        self.driver.delete_user(_id(user))

    def _require_user(self, user):
        if self.driver.get_user(_id(user)) is None:
            raise exception.UserNotFound(user_id=_id(user))

    # -- projects ---------------------------------------------------------------

    def _get_project_obj(self, project):
        if isinstance(project, Project):
            return project
        return self.get_project(project)

    def _require_project(self, project):
        if self.driver.get_project(_id(project)) is None:
            raise exception.ProjectNotFound(project_id=_id(project))

    def get_project(self, pid):
        d = self.driver.get_project(pid)
        return Project.from_dict(d) if d else None

    def get_projects(self, user=None):
        return [Project.from_dict(d)
                for d in self.driver.get_projects(user and _id(user))]

    def create_project(self, name, manager_user, description=None,
                       member_users=None):
        if not name or not _safe_name(name):
            raise exception.InvalidInput(reason='bad project name %r' % name)
        self._require_user(manager_user)
        members = [_id(u) for u in (member_users or [])]
        for uid in members:
            self._require_user(uid)
        if self.driver.get_project(name) is not None:
            raise exception.Duplicate('Project %s already exists' % name)
        LOG.info('creating project %s managed by %s', name, _id(manager_user))
        d = self.driver.create_project(name, _id(manager_user),
                                       description or name, members)
        return Project.from_dict(d)

    def modify_project(self, project, manager_user=None, description=None):
        self._require_project(project)
        if manager_user is not None:
            self._require_user(manager_user)
        self.driver.modify_project(_id(project),
                                   manager_user and _id(manager_user),
                                   description)

    def add_to_project(self, user, project):
        self._require_user(user)
        self._require_project(project)
        self.driver.add_to_project(_id(user), _id(project))

    def remove_from_project(self, user, project):
        self._require_user(user)
        proj = self.get_project(_id(project))
        if proj is None:
            raise exception.ProjectNotFound(project_id=_id(project))
        if proj.has_manager(user):
            raise exception.InvalidInput(
                reason='%s manages %s; choose another manager first'
                       % (_id(user), proj.id))
        self.driver.remove_from_project(_id(user), _id(project))

    def is_project_member(self, user, project):
        proj = self._get_project_obj(project)
        return proj is not None and proj.has_member(user)

    def is_project_manager(self, user, project):
        proj = self._get_project_obj(project)
        return proj is not None and proj.has_manager(user)

    def delete_project(self, project):
        self._require_project(project)
        LOG.info('deleting project %s', _id(project))
        self.driver.delete_project(_id(project))

    # -- credentials ------------------------------------------------------------

    def get_environment_rc(self, user, project=None, use_dmz=True):
        """The text of a novarc for user in project."""
        user = self._get_user_obj(user)
        project = self._get_project_obj(project or user.id)
        if project is None:
            raise exception.ProjectNotFound(project_id=user.id)
        ec2_host = FLAGS.ec2_dmz_host if use_dmz else FLAGS.ec2_host
        s3_host = FLAGS.s3_dmz if use_dmz else FLAGS.s3_host
        values = {
            'EC2_ACCESS_KEY': '%s:%s' % (user.access, project.id),
            'EC2_SECRET_KEY': user.secret,
            'EC2_URL': '%s://%s:%s%s' % (FLAGS.ec2_scheme, ec2_host,
                                         FLAGS.ec2_port, FLAGS.ec2_path),
            'S3_URL': 'http://%s:%s' % (s3_host, FLAGS.s3_port),
            'EC2_USER_ID': '42',
            'NOVA_URL': '%s://%s:%s%s' % (FLAGS.osapi_scheme, FLAGS.osapi_host,
                                          FLAGS.osapi_port, FLAGS.osapi_path),
            'NOVA_USERNAME': user.name,
            'NOVA_API_KEY': user.access,
            'NOVA_PROJECT_ID': project.id,
            'GLANCE_HOST': FLAGS.glance_host_rc,
            'GLANCE_PORT': str(FLAGS.glance_port_rc),
        }
        if FLAGS.swift_auth_url:
            values['ST_AUTH'] = FLAGS.swift_auth_url
        lines = ['# Credentials of %s in project %s' % (user.name, project.id),
                 'NOVA_KEY_DIR=$(dirname $(readlink -f "${BASH_SOURCE:-$0}"))']
        lines += ['export %s=%s' % (k, _shell_quote(v))
                  for k, v in values.items()]
        lines += ['export EC2_PRIVATE_KEY=${NOVA_KEY_DIR}/%s'
                  % FLAGS.credential_key_file,
                  'export EC2_CERT=${NOVA_KEY_DIR}/%s'
                  % FLAGS.credential_cert_file,
                  'export NOVA_CERT=${NOVA_KEY_DIR}/%s' % FLAGS.ca_file,
                  'export EUCALYPTUS_CERT=${NOVA_CERT}',
                  'export CLOUD_SERVERS_API_KEY="${NOVA_API_KEY}"',
                  'export CLOUD_SERVERS_USERNAME="${NOVA_USERNAME}"',
                  'export CLOUD_SERVERS_URL="${NOVA_URL}"']
        return '\n'.join(lines) + '\n'

    def get_credentials(self, user, project=None):
        """A zip with the rc file, a new key and certificate, and the CA cert."""
        user = self._get_user_obj(user)
        project = self._get_project_obj(project or user.id)
        if project is None:
            raise exception.ProjectNotFound(project_id=user.id)
        rc = self.get_environment_rc(user, project)
        private_key, cert = crypto.generate_x509_cert(user.id, project.id)
        cacert = crypto.fetch_ca(project.id)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(FLAGS.credential_rc_file, rc)
            zf.writestr(FLAGS.credential_key_file, _bytes(private_key))
            zf.writestr(FLAGS.credential_cert_file, _bytes(cert))
            zf.writestr(FLAGS.ca_file, _bytes(cacert))
        return buf.getvalue()

    def _get_user_obj(self, user):
        if isinstance(user, User):
            return user
        found = self.get_user(user)
        if found is None:
            raise exception.UserNotFound(user_id=user)
        return found


def _safe_name(name):
    return all(c.isalnum() or c in '-_.@' for c in name) and len(name) <= 255


def _shell_quote(value):
    return "'%s'" % str(value).replace("'", "'\\''")


def _bytes(text):
    return text if isinstance(text, bytes) else text.encode('utf-8')
