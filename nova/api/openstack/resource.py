"""The base of the OpenStack API controllers.

A controller method gets ``req``, the route's URL arguments and -- when it
names a ``body`` parameter -- the parsed request body.  It returns a dict
(serialized as JSON or XML, status 200), a ``Result`` (dict, status,
headers) or a webob Response.  Errors are raised (``faults.Fault`` or any
``NovaException``) and become faults in ``FaultWrapper``.
"""

import inspect

import webob
import webob.dec

from nova import wsgi
from nova.api.openstack import faults
from nova.api.openstack import xmlutil


class Result:
    def __init__(self, data=None, status=200, headers=None):
        self.data = data
        self.status = status
        self.headers = headers or {}


def version_of(environ):
    """'1.0' or '1.1' from where the API is mounted (SCRIPT_NAME)."""
    version = environ.get('nova.osapi.version')
    if version:
        return version
    for part in environ.get('SCRIPT_NAME', '').split('/'):
        if part in ('v1.0', 'v1.1'):
            return part[1:]
    return '1.1'


def context_of(req):
    return req.environ['nova.context']


def serialize(req, data, version, status=200, headers=None):
    content_type = xmlutil.response_type(req)
    response = webob.Response(status=status)
    if data is None:
        response.content_type = None
        response.headers.pop('Content-Type', None)
    else:
        response.content_type = content_type
        response.charset = 'utf-8'
        if content_type == xmlutil.XML:
            response.body = xmlutil.to_xml(data, version)
        else:
            response.body = xmlutil.to_json(data)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def require_dict(value, what):
    if not isinstance(value, dict):
        raise faults.bad_request('%s must be an object' % what)
    return value


def require_key(body, key):
    """``body[key]`` as a dict, or 400 naming the missing entity."""
    if not isinstance(body, dict) or key not in body:
        raise faults.bad_request('the request body must be a "%s" entity'
                                 % key)
    value = body[key]
    if value is None:
        value = {}
    return require_dict(value, key)


class Controller:

    def __init__(self, version='1.1'):
        self.version = version

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        args = dict(req.environ['wsgiorg.routing_args'][1])
        action = args.pop('action', None)
        args.pop('controller', None)
        args.pop('format', None)
        method = getattr(self, action, None) if action else None
        if method is None or action.startswith('_') or not callable(method):
            raise faults.not_found()
        if 'body' in inspect.signature(method).parameters:
            try:
                args['body'] = xmlutil.parse_body(req)
            except xmlutil.BodyError as e:
                raise faults.Fault(e.code, str(e)) from None
        result = method(req=req, **args)
        if isinstance(result, Result):
            return serialize(req, result.data, self.version, result.status,
                             result.headers)
        if isinstance(result, dict):
            return serialize(req, result, self.version)
        return result
