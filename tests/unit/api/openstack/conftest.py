"""The OpenStack API in-process, on the small fake cloud of the compute tests.

``osapi`` loads the ``osapi`` composite of the repository's api-paste.ini
(the real pipelines) and offers ``request()`` and ``login()`` on it; users
alice (project proj1) and bob (project proj2) exist.
"""

import json
import os

import pytest
import webob

from nova import flags
from nova.api.openstack import limits
from nova.auth import manager as auth_manager
from tests.unit.compute.conftest import (  # noqa: F401 - fixtures
    cloud, fake_env, images, settle)
from tests.unit.db.conftest import _template_db, sqlite_db  # noqa: F401

FLAGS = flags.FLAGS
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..', '..'))
PASTE = os.path.join(ROOT, 'etc', 'nova', 'api-paste.ini')


class Api:
    def __init__(self, app):
        self.app = app
        self.tokens = {}

    def request(self, method, path, body=None, token=None, headers=None,
                content_type=None, raw=None):
        req = webob.Request.blank(path, method=method,
                                  base_url='http://127.0.0.1:8774')
        for name, value in (headers or {}).items():
            req.headers[name] = value
        if token:
            req.headers['X-Auth-Token'] = token
        if raw is not None:
            req.body = raw if isinstance(raw, bytes) else raw.encode()
            if content_type:
                req.content_type = content_type
        elif body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = content_type or 'application/json'
        return req.get_response(self.app)

    def login(self, user, version='1.1', project=None):
        headers = {'X-Auth-User': user.id, 'X-Auth-Key': user.access}
        if project:
            headers['X-Auth-Project-Id'] = project
        resp = self.request('GET', '/v%s' % version, headers=headers)
        assert resp.status_int == 204, resp.body
        return resp.headers['X-Auth-Token']


@pytest.fixture
def osapi(cloud):  # noqa: F811
    from paste import deploy
    limits._LIMITERS.clear()
    FLAGS.osapi_rate_limits = '(POST, "*", .*, 1000, MINUTE)'
    manager = auth_manager.AuthManager()
    api = Api(deploy.loadapp('config:%s' % PASTE, name='osapi'))
    api.cloud = cloud
    api.alice = manager.create_user('alice')
    manager.create_project('proj1', 'alice')
    api.bob = manager.create_user('bob')
    manager.create_project('proj2', 'bob')
    yield api
    limits._LIMITERS.clear()
