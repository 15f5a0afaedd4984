"""Who is calling glance-api: the ``glance.context`` of every request.

``auth_strategy = noauth`` (the default) runs the service open, as glance's
first releases did: every caller is an admin and images belong to whatever
``x-image-meta-owner`` says.  ``auth_strategy = nova`` requires an
``X-Auth-Token`` issued by nova's auth manager; nova's flags (database,
auth driver...) are read from ``nova_flagfile``.
"""

import logging

from glance.common import config
from glance.common import context as glance_context
from glance.common import exception
from glance.common import wsgi

LOG = logging.getLogger(__name__)

CONTEXT_KEY = 'glance.context'


class NoAuth:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ[CONTEXT_KEY] = glance_context.open_context()
        return self.app(environ, start_response)


class NovaTokenAuth:
    """Validates ``X-Auth-Token`` with nova's AuthManager."""

    def __init__(self, app, flagfile=None, validator=None):
        self.app = app
        self._validator = validator
        self._flagfile = flagfile

    def _validate(self, token):
        if self._validator is None:
            # Imported on first use: nova's flags must be read before its
            # auth manager (and the flags it defines) is loaded.
            from nova import flags
            if self._flagfile:
                flags.FLAGS.read_flagfile(self._flagfile)
            from nova.auth import manager
            self._validator = manager.AuthManager().validate_token
        return self._validator(token)

    def __call__(self, environ, start_response):
        token = environ.get('HTTP_X_AUTH_TOKEN')
        if not token:
            resp = wsgi.error_response(exception.NotAuthenticated(
                'This glance requires an X-Auth-Token from nova'))
            return resp(environ, start_response)
        try:
            identity = self._validate(token)
        except Exception as e:  # nova.exception.NotAuthenticated and kin
            if type(e).__name__ not in ('NotAuthenticated', 'NotAuthorized',
                                        'TokenNotFound', 'NotFound',
                                        'UserNotFound', 'ProjectNotFound'):
                LOG.exception('token validation failed')
                resp = wsgi.error_response(exception.ServiceUnavailable(
                    'Cannot validate the token right now'))
                return resp(environ, start_response)
            resp = wsgi.error_response(exception.NotAuthenticated(
                'Invalid or expired X-Auth-Token'))
            return resp(environ, start_response)
        environ[CONTEXT_KEY] = glance_context.RequestContext(
            user_id=identity.get('user_id'),
            project_id=identity.get('project_id'),
            is_admin=identity.get('is_admin', False),
            roles=identity.get('roles'),
            auth_token=token)
        return self.app(environ, start_response)


def make_middleware(app, conf):
    strategy = config.get_str(conf, 'auth_strategy', 'noauth')
    if strategy == 'noauth':
        LOG.warning('glance-api runs without authentication '
                    '(auth_strategy = noauth): every caller is an admin')
        return NoAuth(app)
    if strategy == 'nova':
        return NovaTokenAuth(app, config.get_str(conf, 'nova_flagfile'))
    raise exception.Invalid('auth_strategy must be noauth or nova, not %r'
                            % strategy)


def filter_factory(global_conf, **local_conf):
    """paste.deploy entry point (``[filter:authcontext]``)."""
    conf = config.merge(global_conf, local_conf)

    def _filter(app):
        return make_middleware(app, conf)
    return _filter
