"""tempauth: v1.0 token auth with the users listed in the filter section.

Config::

    [filter:tempauth]
    paste.filter_factory = swift.common.middleware.tempauth:filter_factory
    reseller_prefix = AUTH          # accounts we serve: AUTH_<name>
    token_life = 86400
    storage_url_scheme = default    # or http / https
    user_<account>_<user> = <key> [.admin] [.reseller_admin] [<storage url>]
    user64_<b64 account>_<b64 user> = ...  (names with '_' in them)

Handshake: ``GET /auth/v1.0`` (also ``/v1.0``, ``/auth/v1/<account>/auth``)
with ``X-Auth-User: account:user`` + ``X-Auth-Key`` (or ``X-Storage-User`` +
``X-Storage-Pass``) answers 200 with ``X-Auth-Token``, ``X-Storage-Token``,
``X-Storage-Url`` and ``X-Auth-Token-Expires``.

Authorization (called by the proxy through ``env['swift.authorize']``,
after it has put the container's ACL into ``req.acl``):

- ``.reseller_admin`` may do anything in any of our accounts;
- an ``.admin`` user owns its account (all but account PUT/DELETE);
- everyone else needs a container ACL naming the account, the user or a
  matching referrer;
- refused: 401 when no (valid) token came, 403 when one did.

Tokens live in ``env['swift.cache']`` (the ``cache`` filter), or in a cache
of our own when there is none.  Keys are compared in constant time.
"""

import base64
import hmac
import json
import time
import uuid

from webob import Request, Response
from webob.exc import HTTPBadRequest, HTTPForbidden, HTTPUnauthorized

from swift.common.middleware.acl import (clean_acl, parse_acl,
                                         referrer_allowed)
from swift.common.middleware.cacheclient import MemoryCache
from swift.common.utils import config_int, get_logger, split_path

ROLES = ('.admin', '.reseller_admin')


class User:
    def __init__(self, account, name, key, roles, url):
        self.account = account
        self.name = name
        self.key = key
        self.roles = roles
        self.url = url


def _b64(value):
    padded = value + '=' * (-len(value) % 4)
    return base64.urlsafe_b64decode(padded.encode('ascii')).decode('utf-8')


def parse_users(conf, reseller_prefix):
    """Users from ``user_*`` / ``user64_*`` keys; ValueError on bad lines."""
    users = {}
    for key, value in conf.items():
        if key.startswith('user64_'):
            parts = key[len('user64_'):].split('_')
            if len(parts) != 2:
                raise ValueError('tempauth: bad user line %r' % key)
            account, name = _b64(parts[0]), _b64(parts[1])
        elif key.startswith('user_'):
            parts = key[len('user_'):].split('_')
            if len(parts) != 2 or not all(parts):
                raise ValueError('tempauth: %r must be user_<account>_<user> '
                                 '(use user64_ for names with "_")' % key)
            account, name = parts
        else:
            continue
        words = value.split()
        if not words:
            raise ValueError('tempauth: %r has no key' % key)
        user_key, rest = words[0], words[1:]
        roles = []
        url = None
        for word in rest:
            if word in ROLES:
                roles.append(word)
            elif '://' in word:
                url = word
            else:
                raise ValueError('tempauth: unknown role %r for %r'
                                 % (word, key))
        if url is None:
            url = '$HOST/v1/%s%s' % (reseller_prefix, account)
        users['%s:%s' % (account, name)] = User(account, name, user_key,
                                                roles, url)
    return users


class TempAuth:
    def __init__(self, app, conf):
        self.app = app
        self.conf = conf
        self.logger = get_logger(conf, log_route='tempauth')
        prefix = conf.get('reseller_prefix', 'AUTH').strip()
        if prefix and not prefix.endswith('_'):
            prefix += '_'
        self.reseller_prefix = prefix
        self.auth_prefix = conf.get('auth_prefix', '/auth/')
        if not self.auth_prefix.startswith('/'):
            self.auth_prefix = '/' + self.auth_prefix
        if not self.auth_prefix.endswith('/'):
            self.auth_prefix += '/'
        self.token_life = config_int(conf, 'token_life', 86400)
        if self.token_life <= 0:
            raise ValueError('tempauth: token_life must be positive')
        self.storage_url_scheme = conf.get('storage_url_scheme', 'default')
        if self.storage_url_scheme not in ('default', 'http', 'https'):
            raise ValueError('tempauth: storage_url_scheme must be default, '
                             'http or https')
        self.users = parse_users(conf, self.reseller_prefix)
        self._own_cache = MemoryCache()

    # ------------------------------------------------------------- WSGI

    def __call__(self, env, start_response):
        path = env.get('PATH_INFO', '')
        if path == '/v1.0' or path == self.auth_prefix.rstrip('/') \
                or path.startswith(self.auth_prefix):
            return self.handle_auth(env, start_response)
        token = env.get('HTTP_X_AUTH_TOKEN') or env.get('HTTP_X_STORAGE_TOKEN')
        if token and token.startswith(self.reseller_prefix):
            groups = self.get_groups(env, token)
            if groups:
                env['REMOTE_USER'] = ','.join(groups)
                env['swift.authorize'] = self.authorize
                env['swift.clean_acl'] = clean_acl
                if '.reseller_admin' in groups:
                    env['reseller_request'] = True
            else:
                # a token of ours that is unknown or expired
                env['swift.authorize'] = self.denied_response
        elif 'swift.authorize' not in env:
            account = self._account_of(path)
            if account and account.startswith(self.reseller_prefix):
                # anonymous: container ACL referrer rules may still allow
                env['swift.authorize'] = self.authorize
                env['swift.clean_acl'] = clean_acl
            else:
                env['swift.authorize'] = self.denied_response
        return self.app(env, start_response)

    @staticmethod
    def _account_of(path):
        try:
            return split_path(path, 1, 4, True)[1]
        except ValueError:
            return None

    # --------------------------------------------------------- tokens

    def _cache(self, env):
        return env.get('swift.cache') or self._own_cache

    def _token_key(self, token):
        return '%s/token/%s' % (self.reseller_prefix, token)

    def _user_key(self, account_user):
        return '%s/user/%s' % (self.reseller_prefix, account_user)

    def get_groups(self, env, token):
        """The groups of a valid token, or None."""
        cache = self._cache(env)
        cached = cache.get(self._token_key(token))
        if not cached:
            return None
        expires, groups = cached
        if expires <= time.time():
            cache.delete(self._token_key(token))
            return None
        return groups.split(',')

    def user_groups(self, user):
        groups = [user.account, '%s:%s' % (user.account, user.name)]
        if '.admin' in user.roles:
            groups.append(self.reseller_prefix + user.account)
        if '.reseller_admin' in user.roles:
            groups.append('.reseller_admin')
        return groups

    def handle_auth(self, env, start_response):
        req = Request(env)
        try:
            resp = self.handle_get_token(req)
        except Exception:
            self.logger.exception('tempauth: error handling %s', req.path)
            resp = Response(status=500, body=b'Internal server error\n',
                            content_type='text/plain')
        return resp(env, start_response)

    def _credentials(self, req):
        """(account, user, key) from the handshake request, or None."""
        path = req.path_info
        if path.startswith(self.auth_prefix):
            path = '/' + path[len(self.auth_prefix):]
        elif path == self.auth_prefix.rstrip('/'):
            path = '/auth'
        try:
            segs = split_path(path, 1, 3, True)
        except ValueError:
            return None
        user = (req.headers.get('x-auth-user')
                or req.headers.get('x-storage-user') or '')
        key = (req.headers.get('x-auth-key')
               or req.headers.get('x-storage-pass') or '')
        if segs[0] == 'v1' and segs[2] == 'auth':
            account = segs[1]
            if ':' in user:
                user_account, user = user.split(':', 1)
                if user_account != account:
                    return False
        elif segs[0] in ('v1.0', 'auth') and segs[1] is None:
            if ':' not in user:
                return False
            account, user = user.split(':', 1)
        else:
            return None
        return account, user, key

    def handle_get_token(self, req):
        if req.method not in ('GET', 'HEAD'):
            return Response(status=405, headers=[('Allow', 'GET, HEAD')],
                            body=b'Method not allowed\n',
                            content_type='text/plain')
        creds = self._credentials(req)
        if creds is None:
            return HTTPBadRequest(body=b'Unknown auth path\n',
                                  content_type='text/plain')
        if creds is False:
            return HTTPUnauthorized(body=b'Unauthorized\n',
                                    content_type='text/plain')
        account, name, key = creds
        user = self.users.get('%s:%s' % (account, name))
        # compare with something of the same type even for unknown users
        expected = user.key if user else uuid.uuid4().hex
        if not key or not hmac.compare_digest(key.encode('utf-8'),
                                              expected.encode('utf-8')) \
                or user is None:
            self.logger.info('tempauth: bad credentials for %s:%s',
                             account, name)
            return HTTPUnauthorized(body=b'Unauthorized\n',
                                    content_type='text/plain')
        token, expires = self._token_for(req.environ, user)
        url = self._storage_url(req, user)
        body = json.dumps({'storage': {'default': 'local', 'local': url}})
        return Response(status=200, body=body.encode('utf-8'),
                        content_type='application/json',
                        headers=[('X-Auth-Token', token),
                                 ('X-Storage-Token', token),
                                 ('X-Storage-Url', url),
                                 ('X-Auth-Token-Expires',
                                  str(max(int(expires - time.time()), 0)))])

    def _token_for(self, env, user):
        """The user's live token, or a new one; (token, expires)."""
        cache = self._cache(env)
        account_user = '%s:%s' % (user.account, user.name)
        groups = self.user_groups(user)
        token = cache.get(self._user_key(account_user))
        if token:
            cached = cache.get(self._token_key(token))
            # reuse only while it lives and still carries today's roles
            if cached and cached[0] > time.time() \
                    and cached[1] == ','.join(groups):
                return token, cached[0]
        token = '%stk%s' % (self.reseller_prefix, uuid.uuid4().hex)
        expires = time.time() + self.token_life
        cache.set(self._token_key(token), [expires, ','.join(groups)],
                  timeout=self.token_life)
        cache.set(self._user_key(account_user), token,
                  timeout=self.token_life)
        return token, expires

    def _storage_url(self, req, user):
        url = user.url
        if '$HOST' in url:
            if self.storage_url_scheme == 'default':
                host = req.host_url
            else:
                host = '%s://%s' % (self.storage_url_scheme, req.host)
            url = url.replace('$HOST', host)
        return url

    # ------------------------------------------------------ authorize

    def authorize(self, req):
        """None when ``req`` may go on, else the 401/403 response."""
        try:
            _version, account, container, obj = split_path(
                req.path_info, 1, 4, True)
        except ValueError:
            return self.denied_response(req)
        if not account or not account.startswith(self.reseller_prefix):
            return self.denied_response(req)
        user_groups = (req.remote_user or '').split(',')
        if '.reseller_admin' in user_groups and account != self.reseller_prefix:
            req.environ['swift_owner'] = True
            return None
        if account in user_groups and (req.method not in ('PUT', 'DELETE')
                                       or container):
            # the account's owner, except creating/deleting the account
            req.environ['swift_owner'] = True
            return None
        referrers, groups = parse_acl(getattr(req, 'acl', None))
        if referrer_allowed(req.referer, referrers):
            if obj or '.rlistings' in groups:
                return None
        for group in user_groups:
            if group and group in groups:
                return None
        return self.denied_response(req)

    def denied_response(self, req):
        if req.remote_user:
            return HTTPForbidden(request=req, body=b'Forbidden\n',
                                 content_type='text/plain')
        return HTTPUnauthorized(request=req, body=b'Unauthorized\n',
                                content_type='text/plain')


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)

    def auth_filter(app):
        return TempAuth(app, conf)
    return auth_filter
