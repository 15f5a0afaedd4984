"""The EC2 app of etc/nova/api-paste.ini in-process, over the small fake
cloud of tests/unit/compute (SQLite, fake RPC, fake driver, local images).

``ec2.call(user, action, **params)`` signs a request with botocore's own
signers (SigV2 or SigV4, independent of nova.auth.signer) and returns the
webob response; ``ec2.ok(...)`` parses a successful answer.
"""

import os
import time
import urllib.parse
import xml.etree.ElementTree as ElementTree

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import webob

from nova import context
from nova import flags
from nova import wsgi
from nova.auth import manager as auth_manager
from nova.objectstore import s3server  # noqa: F401 - defines buckets_path
from tests.unit.compute.conftest import (  # noqa: F401 - fixtures
    admin_ctx, cloud, fake_env, images, settle)
from tests.unit.db.conftest import _template_db, sqlite_db  # noqa: F401

FLAGS = flags.FLAGS
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..', '..'))
PASTE = os.path.join(ROOT, 'etc', 'nova', 'api-paste.ini')
NS = '{http://ec2.amazonaws.com/doc/%s/}'
VERSION = '2016-11-15'


def strip_ns(root):
    for node in root.iter():
        node.tag = node.tag.rpartition('}')[2]
    return root


class EC2:
    def __init__(self, app):
        self.app = app
        self.host = '127.0.0.1:8773'

    def request(self, creds, action, params=None, sig='v2', path=None,
                version=VERSION, method='POST', when=None, extra=None):
        path = path or '/services/Cloud/'
        data = {'Action': action, 'Version': version}
        data.update(params or {})
        url = 'http://%s%s' % (self.host, path)
        if sig == 'v2':
            host = self.host.split(':')[0]
            url = 'http://%s%s' % (host, path)
            request = botocore.awsrequest.AWSRequest(
                method=method, url=url,
                **({'params': data} if method == 'GET' else {'data': data}))
            auth = botocore.auth.SigV2Auth(
                botocore.credentials.Credentials(*creds))
            if when is not None:
                original = botocore.auth.time
                botocore.auth.time = _Clock(when)
                try:
                    auth.add_auth(request)
                finally:
                    botocore.auth.time = original
            else:
                auth.add_auth(request)
            if method == 'GET':
                path += '?' + urllib.parse.urlencode(request.params)
                body = ''
            else:
                body = urllib.parse.urlencode(request.data)
            headers = {'Host': host,
                       'Content-Type': 'application/x-www-form-urlencoded'}
        else:
            request = botocore.awsrequest.AWSRequest(
                method=method, url=url,
                data=urllib.parse.urlencode(data),
                headers={'Content-Type':
                         'application/x-www-form-urlencoded'})
            auth = botocore.auth.SigV4Auth(
                botocore.credentials.Credentials(*creds), 'ec2', 'nova')
            auth.add_auth(request)
            body = request.data
            headers = dict(request.headers.items())
            headers['Host'] = self.host
        headers.update(extra or {})
        req = webob.Request.blank(path, method=method, headers=headers,
                                  body=body.encode() if isinstance(body, str)
                                  else body)
        req.environ['REMOTE_ADDR'] = '127.0.0.1'
        return req.get_response(self.app)

    def call(self, user, action, sig='v2', **params):
        return self.request(user, action, params, sig=sig)

    def ok(self, user, action, sig='v2', path=None, **params):
        resp = self.request(user, action, params, sig=sig, path=path)
        assert resp.status_int == 200, resp.body
        root = ElementTree.fromstring(resp.body)
        assert root.tag == NS % VERSION + action + 'Response'
        return strip_ns(root)

    def error(self, user, action, status, code, sig='v2', path=None,
              **params):
        resp = self.request(user, action, params, sig=sig, path=path)
        root = ElementTree.fromstring(resp.body)
        got = (resp.status_int, root.findtext('Errors/Error/Code'))
        assert got == (status, code), resp.body
        assert root.findtext('RequestID')
        return root.findtext('Errors/Error/Message')


class _Clock:
    """Stands in for botocore.auth's time module to sign at a given time."""

    def __init__(self, when):
        self._when = when
        self.strftime = time.strftime

    def gmtime(self):
        return self._when.timetuple()


@pytest.fixture
def ec2(fake_env, tmp_path):  # noqa: F811
    FLAGS.state_path = str(tmp_path)
    FLAGS.buckets_path = str(tmp_path / 'buckets')
    app = wsgi.Loader(PASTE).load_app('ec2')
    return EC2(app)


@pytest.fixture
def users(fake_env):  # noqa: F811
    """(access, secret) of: admin (cloudadmin), alice (manager of proj1),
    sam (sysadmin in proj1), nell (plain member of proj1), bob (manager of
    proj2)."""
    mgr = auth_manager.AuthManager()
    made = {}
    for name, admin in (('admin', True), ('alice', False), ('sam', False),
                        ('nell', False), ('bob', False)):
        user = mgr.create_user(name, access='%s-access' % name,
                               secret='%s-secret' % name, admin=admin)
        made[name] = (user.access, user.secret)
    mgr.create_project('proj1', 'alice', member_users=['sam', 'nell'])
    mgr.create_project('proj2', 'bob')
    mgr.add_role('sam', 'sysadmin')
    mgr.add_role('sam', 'sysadmin', 'proj1')
    mgr.add_role('sam', 'netadmin')
    mgr.add_role('sam', 'netadmin', 'proj1')
    made['alice1'] = ('alice-access:proj1', 'alice-secret')
    made['sam1'] = ('sam-access:proj1', 'sam-secret')
    made['nell1'] = ('nell-access:proj1', 'nell-secret')
    made['admin1'] = ('admin-access:proj1', 'admin-secret')
    return made


@pytest.fixture
def user_context(fake_env):  # noqa: F811
    return context.RequestContext('alice', 'proj1', is_admin=False)
