"""OpenStack API authentication: the X-Auth handshake and token checks.

Handshake: ``GET /v1.0`` or ``/v1.1`` (path empty or ``/``) with
``X-Auth-User`` (user name) and ``X-Auth-Key`` (the user's access key as
API key), optionally ``X-Auth-Project-Id``, answers 204 with

* ``X-Auth-Token``: valid ``auth_token_ttl`` seconds (only its SHA-256 is
  stored, see nova.auth.manager);
* ``X-Server-Management-Url``: ``http://host:port/v1.0`` for v1.0 (Cloud
  Servers clients append their paths to it) and
  ``http://host:port/v1.1/<project>`` for v1.1 -- the host is the one the
  client called, unless ``osapi_public_url`` names another;
* ``X-Storage-Url`` / ``X-CDN-Management-Url``: the flags
  ``osapi_storage_url`` / ``osapi_cdn_url`` (``%(project_id)s`` and
  ``%(user_id)s`` are filled in; empty when the cloud has no Swift).

Every other request needs ``X-Auth-Token``, else 401.  A request is scoped
to the token's project (the original always used ``default_project``, so
every user saw one shared project).  In v1.1 the project also appears in
the path; a token of another project is refused with 403 (admins may name
any project).  A GET of the version root without credentials answers the
version's own document, which openstacksdk reads before anything else.
"""

import webob
import webob.dec

from nova import context as nova_context
from nova import exception
from nova import flags
from nova import log as logging
from nova import wsgi
from nova.api.openstack import faults
from nova.api.openstack import resource
from nova.api.openstack import versions

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

flags.DEFINE_string('osapi_storage_url', '',
                    'X-Storage-Url of the OpenStack API handshake; '
                    '%(project_id)s and %(user_id)s are filled in')
flags.DEFINE_string('osapi_cdn_url', '',
                    'X-CDN-Management-Url of the OpenStack API handshake')
flags.DEFINE_string('osapi_public_url', '',
                    'scheme://host:port clients reach the OpenStack API at '
                    '(default: the host of each request)')


def _is_root(path):
    return path in ('', '/')


def _fill(template, user_id, project_id):
    try:
        return template % {'project_id': project_id, 'user_id': user_id}
    except (KeyError, ValueError, TypeError):
        return template


class AuthMiddleware(wsgi.Middleware):

    def __init__(self, application, auth_manager=None, **config):
        super().__init__(application, **config)
        self._manager = auth_manager

    @property
    def manager(self):
        if self._manager is None:
            from nova.auth import manager
            self._manager = manager.AuthManager()
        return self._manager

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        version = resource.version_of(req.environ)
        token = req.headers.get('X-Auth-Token') or \
            req.headers.get('X-Storage-Token')
        if _is_root(req.path_info) and 'X-Auth-User' in req.headers \
                and not token:
            return self.handshake(req, version)
        if not token:
            if _is_root(req.path_info) and req.method in ('GET', 'HEAD'):
                return versions.version_response(req, version)
            raise faults.Fault(401, 'This request needs an X-Auth-Token '
                               'header; get one with X-Auth-User and '
                               'X-Auth-Key at the API root')
        try:
            identity = self.manager.validate_token(token)
        except exception.NotAuthenticated as e:
            raise faults.Fault(401, str(e)) from None
        project_id = identity['project_id']
        if version != '1.0':
            project_id = self._scope_v11(req, identity)
            if project_id is None:
                return versions.version_response(req, version)
        elif _is_root(req.path_info):
            return versions.version_response(req, version)
        req.environ['nova.context'] = nova_context.RequestContext(
            user_id=identity['user_id'], project_id=project_id,
            is_admin=identity['is_admin'], roles=identity['roles'],
            remote_address=req.remote_addr, auth_token=token)
        return self.application

    @staticmethod
    def _scope_v11(req, identity):
        """Move /<project> from PATH_INFO to SCRIPT_NAME; None at the root."""
        if _is_root(req.path_info):
            return None
        project_id = req.path_info_peek()
        if project_id != identity['project_id'] and not identity['is_admin']:
            raise faults.Fault(403, 'your token is for project %s, not %s'
                               % (identity['project_id'], project_id))
        req.path_info_pop()
        req.environ['nova.osapi.project_prefix'] = '/' + project_id
        if _is_root(req.path_info):
            return None
        return project_id

    def handshake(self, req, version):
        if req.method not in ('GET', 'HEAD'):
            raise faults.Fault(405, 'authenticate with GET')
        username = req.headers.get('X-Auth-User')
        key = req.headers.get('X-Auth-Key')
        project_id = req.headers.get('X-Auth-Project-Id') or None
        if not username or not key:
            raise faults.Fault(401, 'X-Auth-User and X-Auth-Key are both '
                               'needed to authenticate')
        try:
            user, project = self.manager.authenticate_api_key(
                username, key, project_id)
        except exception.NotAuthorized as e:
            LOG.info('OpenStack API login of %s refused: %s', username, e)
            raise faults.Fault(401, 'Bad user name, API key or project') \
                from None
        token, _expires = self.manager.create_token(user, project)
        base = (FLAGS.osapi_public_url.rstrip('/') or req.host_url) + \
            req.script_name
        if version != '1.0':
            base += '/' + project.id
        response = webob.Response(status=204)
        response.headers['X-Auth-Token'] = token
        response.headers['X-Server-Management-Url'] = base
        response.headers['X-Storage-Url'] = _fill(FLAGS.osapi_storage_url,
                                                  user.id, project.id)
        response.headers['X-CDN-Management-Url'] = _fill(FLAGS.osapi_cdn_url,
                                                         user.id, project.id)
        response.content_type = None
        response.headers.pop('Content-Type', None)
        return response
