"""In-process S3 app with a fake auth driver, and request signing helpers."""

import base64
import datetime
import email.utils
import hashlib

import webob

from nova.auth import manager
from nova.auth import signer
from nova.objectstore import s3server

# access -> (user id, secret, admin)
USERS = {
    'AK': ('alice', 'SK', False),
    'BK': ('bob', 'BS', False),
    'RK': ('root', 'RS', True),
}
PROJECTS = {'alice': ['alice'], 'bob': ['bob'], 'root': ['root']}


class FakeAuthDriver:
    """The auth driver interface over two plain dicts (no database)."""

    def _user(self, access):
        uid, secret, admin = USERS[access]
        return {'id': uid, 'name': uid, 'access': access, 'secret': secret,
                'admin': admin}

    def get_user(self, uid):
        for access, (user_id, _s, _a) in USERS.items():
            if user_id == uid:
                return self._user(access)
        return None

    def get_user_from_access_key(self, access):
        return self._user(access) if access in USERS else None

    def get_project(self, pid):
        if pid not in PROJECTS:
            return None
        return {'id': pid, 'name': pid, 'project_manager_id': pid,
                'description': pid, 'member_ids': PROJECTS[pid]}

    def get_projects(self, uid=None):
        return [self.get_project(p) for p, members in PROJECTS.items()
                if uid is None or uid in members]

    def get_user_roles(self, uid, pid=None):
        return []


def make_app(path):
    return s3server.S3Application(
        buckets_path=str(path),
        auth_manager=manager.AuthManager(driver=FakeAuthDriver()))


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def sign_v2(req, access='AK', secret='SK', when=None):
    """Sign ``req`` with ``Authorization: AWS access:signature``."""
    when = when or now_utc()
    req.headers['Date'] = email.utils.format_datetime(when, usegmt=True)
    sig = signer.s3_signature(secret, req.method,
                              signer.request_path(req.environ),
                              signer.request_headers(req.environ),
                              req.query_string)
    req.headers['Authorization'] = 'AWS %s:%s' % (access, sig)
    return req


def sign_v4(req, access='AK', secret='SK', payload='UNSIGNED-PAYLOAD',
            when=None, extra_signed=()):
    """Sign ``req`` with SigV4 (header form), payload hash as given."""
    when = when or now_utc()
    amz_date = when.strftime('%Y%m%dT%H%M%SZ')
    req.headers['X-Amz-Date'] = amz_date
    req.headers['X-Amz-Content-Sha256'] = payload
    signed = tuple(sorted(('host', 'x-amz-content-sha256', 'x-amz-date')
                          + tuple(extra_signed)))
    v4 = signer.V4Request(access_key=access, date=amz_date[:8],
                          region='us-east-1', service='s3',
                          signed_headers=signed, signature='0' * 64,
                          amz_date=amz_date)
    sig = signer.generate_v4(secret, v4, req.method,
                             signer.request_path(req.environ),
                             req.query_string,
                             signer.request_headers(req.environ), None)
    req.headers['Authorization'] = (
        'AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/s3/aws4_request, '
        'SignedHeaders=%s, Signature=%s' % (access, amz_date[:8],
                                            ';'.join(signed), sig))
    return sig


def request(method, path, body=None, headers=None):
    req = webob.Request.blank(path, method=method)
    for name, value in (headers or {}).items():
        req.headers[name] = value
    if body is not None:
        req.body = body
    return req


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()
