"""OpenStack API faults: the one place errors become responses.

A fault is ``{"<name>": {"code": N, "message": "...", "details": "..."}}``
in JSON, ``<name xmlns="..." code="N"><message/><details/></name>`` in XML.
The name follows the HTTP status (``badRequest``, ``itemNotFound``...);
409 is ``buildInProgress`` when the server is busy changing state, 503
``serverCapacityUnavailable`` when no host can take a server, and any
other error is ``cloudServersFault`` (v1.0) / ``computeFault`` (v1.1) with
a generic message: internal errors are logged, never sent to the client.

Rate limiting answers 413 ``overLimit`` with ``Retry-After`` in *seconds*
(the original sent an absolute epoch time, which HTTP clients misread).
"""

import math

import webob
import webob.exc

from nova import exception
from nova import log as logging
from nova.api.openstack import xmlutil

LOG = logging.getLogger(__name__)

NAMES = {
    400: 'badRequest',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'itemNotFound',
    405: 'badMethod',
    409: 'conflictingRequest',
    413: 'overLimit',
    415: 'badMediaType',
    501: 'notImplemented',
    503: 'serviceUnavailable',
}


def fault_name(code, version='1.1', busy=False, capacity=False):
    if code == 409 and busy:
        return 'buildInProgress'
    if code == 503 and capacity:
        return 'serverCapacityUnavailable'
    if code in NAMES:
        return NAMES[code]
    return 'cloudServersFault' if version == '1.0' else 'computeFault'


class Fault(Exception):
    """An error raised by the API code itself, with its status and name."""

    def __init__(self, code, message, details=None, name=None,
                 retry_after=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.name = name
        self.retry_after = retry_after


def bad_request(message, details=None):
    return Fault(400, message, details)


def not_found(message='The resource could not be found.'):
    return Fault(404, message)


def not_implemented(message):
    return Fault(501, message)


def from_exception(exc, version):
    """(code, name, message, details, retry_after) for any exception."""
    if isinstance(exc, Fault):
        return (exc.code, exc.name or fault_name(exc.code, version),
                exc.message, exc.details, exc.retry_after)
    if isinstance(exc, xmlutil.BodyError):
        return exc.code, fault_name(exc.code, version), str(exc), None, None
    if isinstance(exc, webob.exc.HTTPException) and \
            not isinstance(exc, webob.exc.HTTPServerError):
        return (exc.code, fault_name(exc.code, version),
                exc.explanation or exc.title, None, None)
    if isinstance(exc, exception.NovaException) and exc.code < 500 or \
            isinstance(exc, (exception.NoValidHost, exception.RPCTimeout)):
        code = exc.code
        if code == 504:
            code = 503
        name = fault_name(code, version,
                          busy=isinstance(exc, exception.InvalidState),
                          capacity=isinstance(exc, exception.NoValidHost))
        return code, name, str(exc), None, None
    if isinstance(exc, NotImplementedError):
        return (501, 'notImplemented',
                str(exc) or 'The compute service cannot do this.', None, None)
    LOG.exception('unexpected error in the OpenStack API')
    return (500, fault_name(500, version),
            'The server has either erred or is incapable of performing '
            'the requested operation.', None, None)


def response(req, exc, version):
    """The fault response for ``exc`` in the format the client asked for."""
    code, name, message, details, retry_after = from_exception(exc, version)
    body = {'code': code, 'message': message}
    if details:
        body['details'] = details
    if retry_after is not None:
        body['retryAfter'] = str(int(math.ceil(retry_after)))
    content_type = xmlutil.response_type(req)
    resp = webob.Response(status=code)
    resp.content_type = content_type
    resp.charset = 'utf-8'
    if content_type == xmlutil.XML:
        resp.body = xmlutil.fault_to_xml(name, body, version)
    else:
        resp.body = xmlutil.to_json({name: body})
    if retry_after is not None:
        resp.headers['Retry-After'] = str(int(math.ceil(retry_after)))
    if code == 405 and getattr(exc, 'allowed', None):
        resp.headers['Allow'] = ', '.join(exc.allowed)
    return resp
