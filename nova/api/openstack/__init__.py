"""The OpenStack API (v1.0 Cloud Servers style, and v1.1).

nova-api serves it on ``osapi_listen:osapi_listen_port`` (8774) from
api-paste.ini, one pipeline per version::

    /v1.0, /v1.1:  osapi_faultwrap -> osapi_auth -> osapi_ratelimit -> router

* ``FaultWrapper`` (here) turns every error into a fault (faults.py);
* ``auth.AuthMiddleware`` does the X-Auth handshake and checks tokens;
* ``limits.RateLimitingMiddleware`` enforces per-user rate limits;
* ``APIRouterV10``/``APIRouterV11`` map URLs to the controllers.

Differences of v1.1: ``imageRef``/``flavorRef`` and links everywhere,
addresses per network with IP versions, metadata resources of servers and
images, ``limit``/``marker`` pagination (v1.0 keeps ``limit``/``offset``),
``/extensions``, and the project id in every URL (``/v1.1/<project>/...``).
Both versions answer ``changes-since`` on server lists.  Any URL may end
in ``.json`` or ``.xml`` to choose the response format.
"""

import re

import routes
import webob.dec

from nova import wsgi
from nova.api.openstack import faults
from nova.api.openstack import flavors
from nova.api.openstack import images
from nova.api.openstack import limits
from nova.api.openstack import metadata
from nova.api.openstack import misc
from nova.api.openstack import resource
from nova.api.openstack import servers


class FaultWrapper(wsgi.Middleware):
    """The one place where exceptions become OpenStack API faults."""

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        version = resource.version_of(req.environ)
        req.environ['nova.osapi.version'] = version
        try:
            return req.get_response(self.application)
        except Exception as e:  # noqa: BLE001 - every error is a fault
            return faults.response(req, e, version)


class _MethodNotAllowed(faults.Fault):
    def __init__(self, method, allowed):
        super().__init__(405, 'Method %s is not allowed here; use %s'
                         % (method, ', '.join(allowed)))
        self.allowed = allowed


class _Routes:
    """Connects paths with per-verb actions and a 405 for other verbs."""

    def __init__(self, mapper):
        self.mapper = mapper

    def add(self, path, controller, requirements=None, **verbs):
        for verb, action in verbs.items():
            self.mapper.connect(path, controller=controller, action=action,
                                conditions={'method': [verb]},
                                requirements=requirements or {})
        self.mapper.connect(path, controller=_BadMethod(sorted(verbs)),
                            action='refuse', requirements=requirements or {})


class _BadMethod:
    def __init__(self, allowed):
        self.allowed = allowed

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        raise _MethodNotAllowed(req.method, self.allowed)


_SUFFIX = re.compile(r'\.(json|xml)$')


class APIRouter(wsgi.Router):
    """The resources of one OpenStack API version."""

    version = '1.1'

    @classmethod
    def factory(cls, global_config, **local_config):
        return cls()

    def __init__(self):
        mapper = routes.Mapper()
        self._connect(_Routes(mapper), self.version)
        super().__init__(mapper)

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        match = _SUFFIX.search(req.path_info)
        if match:
            req.environ['nova.osapi.format'] = match.group(1)
            req.path_info = req.path_info[:match.start()]
        return self._router

    @staticmethod
    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def _dispatch(req):
        match = req.environ['wsgiorg.routing_args'][1]
        if not match:
            raise faults.not_found('No resource at %s' % req.path_info)
        return match['controller']

    @staticmethod
    def _connect(r, version):
        srv = servers.ServersController(version)
        r.add('/servers', srv, GET='index', POST='create')
        r.add('/servers/detail', srv, GET='detail')
        r.add('/servers/{id}', srv, GET='show', PUT='update',
              DELETE='delete')
        r.add('/servers/{id}/action', srv, POST='action')
        r.add('/servers/{id}/ips', srv, GET='ips')
        r.add('/servers/{id}/ips/{network}', srv, GET='ips_network')
        r.add('/servers/{id}/diagnostics', srv, GET='diagnostics')
        r.add('/servers/{id}/{name}', srv,
              requirements={'name': '|'.join(servers._SIMPLE_ACTIONS)},
              POST='action_by_name')

        backup = misc.BackupScheduleController(version)
        r.add('/servers/{server_id}/backup_schedule', backup, GET='index',
              POST='create', DELETE='delete')
        r.add('/servers/{server_id}/backup_schedule/{id}', backup,
              DELETE='delete')

        flv = flavors.FlavorsController(version)
        r.add('/flavors', flv, GET='index')
        r.add('/flavors/detail', flv, GET='detail')
        r.add('/flavors/{id}', flv, GET='show')

        img = images.ImagesController(version)
        r.add('/images', img, GET='index', POST='create')
        r.add('/images/detail', img, GET='detail')
        r.add('/images/{id}', img, GET='show', DELETE='delete')

        groups = misc.SharedIpGroupsController(version)
        r.add('/shared_ip_groups', groups, GET='index', POST='create')
        r.add('/shared_ip_groups/detail', groups, GET='detail')
        r.add('/shared_ip_groups/{id}', groups, GET='show', PUT='update',
              DELETE='delete')

        r.add('/limits', limits.LimitsController(version), GET='index')

        if version == '1.0':
            return
        server_meta = metadata.ServerMetadataController(version)
        image_meta = metadata.ImageMetadataController(version)
        for name in ('metadata', 'meta'):
            r.add('/servers/{server_id}/%s' % name, server_meta, GET='index',
                  POST='create', PUT='update_all')
            r.add('/servers/{server_id}/%s/{id}' % name, server_meta,
                  GET='show', PUT='update', DELETE='delete')
            r.add('/images/{image_id}/%s' % name, image_meta, GET='index',
                  POST='create', PUT='update_all')
            r.add('/images/{image_id}/%s/{id}' % name, image_meta,
                  GET='show', PUT='update', DELETE='delete')
        ext = misc.ExtensionsController(version)
        r.add('/extensions', ext, GET='index')
        r.add('/extensions/{id}', ext, GET='show')


class APIRouterV10(APIRouter):
    version = '1.0'


class APIRouterV11(APIRouter):
    version = '1.1'
