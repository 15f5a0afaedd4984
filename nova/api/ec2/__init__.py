"""The EC2 Query API of nova-api: ``/services/Cloud`` and ``/services/Admin``.

A request passes through the paste pipeline of ``etc/nova/api-paste.ini``
(outer to inner)::

    ec2logrequest   RequestLogging   request id, one log line per request
    ec2faultwrap    FaultWrapper     every exception -> EC2 XML error
    ec2lockout      Lockout          refuse keys after repeated auth failures
    ec2authenticate Authenticate     SigV2 / SigV4 -> RequestContext
    ec2cloudrequest Requestify       Action, Version, arguments
    ec2authorizer   Authorizer       roles per action -> UnauthorizedOperation
    ec2executor     Executor         controller method -> XML response

Errors are raised where they are found and rendered in one place
(FaultWrapper, see ``faults``).  The request id, the authenticated
identity and the parsed request travel in the WSGI environ under
``ec2.request_id``, ``nova.context``, ``ec2.user``/``ec2.project`` and
``ec2.request``.

Differences from the original, on purpose: SigV4 is accepted (every boto
since 2.35 and boto3 use it); SigV2 honours HmacSHA1 as well as HmacSHA256;
signature versions 0 and 1 are refused (v0 signs only Action and
Timestamp, so the other parameters could be changed in flight; v1's
case-insensitive sort lets different requests share a signature); the
Timestamp/Expires of every request is checked; the lockout is in the
pipeline (it was defined but left out); DescribeAvailabilityZones is open
to every user (a typo made it superuser-only); authorization denials are
403 UnauthorizedOperation, not a bare 401.
"""

import inspect
import threading
import time

import webob
import webob.dec

from nova import context as nova_context
from nova import exception
from nova import flags
from nova import log as logging
from nova import utils
from nova import wsgi
from nova.api.ec2 import apirequest
from nova.api.ec2 import faults
from nova.auth import manager as auth_manager
from nova.auth import signer

LOG = logging.getLogger('nova.api.ec2')
FLAGS = flags.FLAGS

flags.DEFINE_integer('lockout_attempts', 5,
                     'failed authentications of one access key within '
                     'lockout_window minutes before it is locked out')
flags.DEFINE_integer('lockout_minutes', 15,
                     'minutes an access key stays locked out')
flags.DEFINE_integer('lockout_window', 15,
                     'minutes over which failed authentications are counted')
flags.DEFINE_integer('ec2_timestamp_window', 900,
                     'seconds a signed EC2 request stays valid around its '
                     'Timestamp / X-Amz-Date')
if 'use_forwarded_for' not in FLAGS:
    # Shared with the other APIs; whichever module loads first defines it.
    flags.DEFINE_bool('use_forwarded_for', False,
                      'trust X-Forwarded-For for the client address (only '
                      'behind a proxy that sets it)')

# Bound on the access keys the lockout remembers, so that a flood of
# made-up keys cannot grow the table without limit.
_LOCKOUT_MAX_KEYS = 10000


def remote_address(req):
    """The client's address: REMOTE_ADDR, or X-Forwarded-For if trusted."""
    address = req.remote_addr
    if FLAGS.use_forwarded_for:
        forwarded = req.headers.get('X-Forwarded-For', '')
        first = forwarded.split(',')[0].strip()
        if first:
            address = first
    return address


def request_id(req):
    rid = req.environ.get('ec2.request_id')
    if rid is None:
        rid = req.environ['ec2.request_id'] = nova_context.generate_request_id()
    return rid


# -- outermost: logging and faults ---------------------------------------------

class RequestLogging(wsgi.Middleware):
    """One line per request: who, what, how it ended and how long it took."""

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        start = time.monotonic()
        rid = request_id(req)
        response = req.get_response(self.application)
        ctxt = req.environ.get('nova.context')
        api_request = req.environ.get('ec2.request')
        LOG.info('%s %s %s %s %s -> %s in %.3fs (%s, %s)',
                 rid, remote_address(req), req.method, req.path,
                 api_request.action if api_request else '-',
                 response.status_int, time.monotonic() - start,
                 ctxt.user_id if ctxt else '-',
                 req.user_agent or '-', context=ctxt)
        return response


class FaultWrapper(wsgi.Middleware):
    """Turns every exception of the layers below into an EC2 error."""

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        try:
            return req.get_response(self.application)
        except Exception as exc:  # noqa: BLE001 - this is the one place
            return faults.exception_response(
                request_id(req), exc, req.environ.get('nova.context'))


# -- lockout ----------------------------------------------------------------------

def access_key_of(req):
    """The access key a request claims (without ``:project``), or None."""
    try:
        v4 = signer.parse_v4(signer.request_headers(req.environ),
                             req.query_string)
    except exception.NovaException:
        v4 = None
    if v4 is not None:
        access = v4.access_key
    else:
        try:
            access = req.params.get('AWSAccessKeyId')
        except UnicodeDecodeError:
            access = None
    if not access:
        return None
    return access.partition(':')[0]


class Lockout(wsgi.Middleware):
    """Locks an access key out after repeated failed authentications.

    ``lockout_attempts`` failures within ``lockout_window`` minutes lock the
    key for ``lockout_minutes``; meanwhile even correctly signed requests
    with it are refused (403 AuthFailure).  A failure is an authentication
    error raised below while no identity has been established; a request
    that authenticates but is not authorized does not count.

    The counters live in this process (the original offered memcached):
    each nova-api process counts on its own, so with N API processes an
    attacker gets up to N times the attempts; they are lost on restart.
    """

    def __init__(self, application, **config):
        super().__init__(application, **config)
        self._lock = threading.Lock()
        self._failures = {}     # access key -> [monotonic times]
        self._locked = {}       # access key -> monotonic time it ends

    def _now(self):
        return time.monotonic()

    def is_locked(self, key):
        with self._lock:
            until = self._locked.get(key)
            if until is None:
                return False
            if self._now() >= until:
                del self._locked[key]
                return False
            return True

    def record_failure(self, key):
        now = self._now()
        window = FLAGS.lockout_window * 60
        with self._lock:
            times = [t for t in self._failures.get(key, ())
                     if now - t < window]
            times.append(now)
            if len(times) >= FLAGS.lockout_attempts:
                LOG.warning('access key %s locked out for %d minutes after '
                            '%d failed authentications', key,
                            FLAGS.lockout_minutes, len(times))
                self._locked[key] = now + FLAGS.lockout_minutes * 60
                self._failures.pop(key, None)
                return
            self._failures[key] = times
            if len(self._failures) > _LOCKOUT_MAX_KEYS:
                self._prune(now, window)

    def _prune(self, now, window):
        for key in list(self._failures):
            if now - self._failures[key][-1] >= window:
                del self._failures[key]
        while len(self._failures) > _LOCKOUT_MAX_KEYS:
            self._failures.pop(next(iter(self._failures)))

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        key = access_key_of(req)
        if key is not None and self.is_locked(key):
            raise faults.EC2APIError(
                'AuthFailure', 'Access key %s is locked out after too many '
                'failed authentications; try again later.' % key, status=403)
        try:
            return req.get_response(self.application)
        except exception.NotAuthorized:
            if key is not None and 'nova.context' not in req.environ:
                self.record_failure(key)
            raise


# -- authentication --------------------------------------------------------------

class Authenticate(wsgi.Middleware):
    """Checks the request's signature and makes its RequestContext."""

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        headers = signer.request_headers(req.environ)
        path = signer.request_path(req.environ)
        v4 = signer.parse_v4(headers, req.query_string)
        if v4 is not None:
            access = v4.access_key
            body = req.body

            def verify(secret):
                signer.verify_v4(secret, v4, req.method, path,
                                 req.query_string, headers, body)
                signer.check_timestamp(
                    dict(req.GET) if v4.presigned else
                    {'X-Amz-Date': v4.amz_date},
                    window=FLAGS.ec2_timestamp_window)
        else:
            params = req.params
            access = params.get('AWSAccessKeyId')
            if not access:
                raise exception.MissingParameter(name='AWSAccessKeyId')
            if not params.get('Signature'):
                raise exception.MissingParameter(name='Signature')
            version = params.get('SignatureVersion', '2')
            if version != '2':
                raise exception.SignatureError(
                    'SignatureVersion %s is not supported; use 2 or AWS '
                    'Signature Version 4.' % version)
            host = headers.get('Host', '')

            def verify(secret):
                signer.verify_v2(secret, req.method, host, path, params)
                signer.check_timestamp(params,
                                       window=FLAGS.ec2_timestamp_window)

        manager = auth_manager.AuthManager()
        user, project = manager.authenticate_ec2(access, verify)
        roles = sorted(set(manager.get_user_roles(user)) |
                       set(manager.get_user_roles(user, project)))
        ctxt = nova_context.RequestContext(
            user_id=user.id, project_id=project.id,
            is_admin=manager.is_admin(user), roles=roles,
            remote_address=remote_address(req), request_id=request_id(req))
        req.environ['nova.context'] = ctxt
        req.environ['ec2.user'] = user
        req.environ['ec2.project'] = project
        return req.get_response(self.application)


# -- the request itself ----------------------------------------------------------

class APIRequest:
    """An action of a controller with its arguments."""

    def __init__(self, controller, action, version, args):
        self.controller = controller
        self.action = action
        self.version = version
        self.args = args

    @property
    def method_name(self):
        return apirequest.snake_case(self.action)

    def invoke(self, context):
        method = getattr(self.controller, self.method_name)
        params = inspect.signature(method).parameters
        if any(p.kind == p.VAR_KEYWORD for p in params.values()):
            kwargs = dict(self.args)
        else:
            # Parameters an action does not know are ignored, as EC2 does.
            kwargs = {k: v for k, v in self.args.items()
                      if k in params and k != 'context'}
        return method(context, **kwargs)


class Requestify(wsgi.Middleware):
    """Finds the action and its arguments; InvalidAction for unknown ones."""

    def __init__(self, application, controller, **config):
        super().__init__(application, **config)
        if isinstance(controller, str):
            controller = utils.import_object(controller)
        self.controller = controller

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        try:
            pairs = list(req.params.items())
        except UnicodeDecodeError:
            raise exception.InvalidParameterValue(
                reason='Request parameters must be UTF-8.') from None
        params = dict(pairs)
        action = params.get('Action')
        if not action:
            raise exception.MissingParameter(name='Action')
        version = apirequest.check_version(
            params.get('Version'), getattr(self.controller, 'EXTRA_VERSIONS',
                                           ()))
        if action not in self.controller.ACTIONS:
            raise faults.invalid_action(action)
        args = apirequest.parse_args(pairs)
        req.environ['ec2.request'] = APIRequest(self.controller, action,
                                                version, args)
        return req.get_response(self.application)


class Authorizer(wsgi.Middleware):
    """Who may call what: the controller's ACTIONS table of roles.

    ``all`` lets every authenticated user in; otherwise the user needs one
    of the listed roles in the request's project (``projectmanager`` is the
    project's manager).  Superusers may do everything; actions listed with
    no roles are theirs alone.  Denial is 403 UnauthorizedOperation.
    """

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        api_request = req.environ['ec2.request']
        user = req.environ['ec2.user']
        project = req.environ['ec2.project']
        roles = api_request.controller.ACTIONS.get(api_request.action, ())
        manager = auth_manager.AuthManager()
        allowed = ('all' in roles or manager.is_superuser(user)
                   or any(manager.has_role(user, role, project)
                          for role in roles))
        if not allowed:
            LOG.info('%s may not call %s in %s', user.id, api_request.action,
                     project.id)
            raise faults.unauthorized(api_request.action)
        return req.get_response(self.application)


class Executor(wsgi.Application):
    """Calls the action and renders its result as EC2 XML."""

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        api_request = req.environ['ec2.request']
        ctxt = req.environ['nova.context']
        result = api_request.invoke(ctxt)
        body = apirequest.render_response(api_request.action,
                                          api_request.version,
                                          request_id(req), result)
        response = webob.Response(status=200, body=body)
        response.content_type = 'text/xml'
        response.charset = 'utf-8'
        return response
