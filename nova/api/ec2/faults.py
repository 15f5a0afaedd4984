"""EC2 error documents, and the one mapping from exceptions to them.

Every failure of the EC2 API, wherever it is detected, becomes::

    <Response><Errors><Error><Code>..</Code><Message>..</Message></Error>
    </Errors><RequestID>..</RequestID></Response>

with the HTTP status EC2 uses for that code: 400 for bad requests, missing
things and quotas, 401/403 for authentication failures, 403 for denied
operations, 503 for capacity and messaging trouble, 500 (with a generic
message, the details only in the log) for bugs.  The original answered many
of these with plain-text webob bodies or a 500 "UnknownError".
"""

import re
import xml.etree.ElementTree as ElementTree

import webob

from nova import exception
from nova import log as logging

LOG = logging.getLogger('nova.api.ec2')

_GENERIC_MESSAGE = ('An internal error has occurred; the request was not '
                    'completed.')
# Code points XML 1.0 cannot carry at all (ElementTree would write them).
_XML_BAD = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')


def xml_text(value):
    return _XML_BAD.sub('\ufffd', value)


class EC2APIError(exception.NovaException):
    """An error with an EC2 code of its own (InvalidKeyPair.Duplicate...)."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.ec2_code = code
        self.code = status


def invalid_action(action):
    return EC2APIError('InvalidAction', 'The action %s is not valid for this '
                       'web service.' % action)


def unauthorized(action):
    return EC2APIError('UnauthorizedOperation', 'You are not authorized to '
                       'perform %s.' % action, status=403)


def fault_of(exc):
    """(HTTP status, EC2 code, message) for an exception."""
    if isinstance(exc, EC2APIError):
        return exc.code, exc.ec2_code, str(exc)
    if isinstance(exc, exception.NotAuthorized):
        status = exc.code if exc.code in (401, 403) else 403
        return status, exc.ec2_code, str(exc)
    if isinstance(exc, (exception.NotFound, exception.Invalid,
                        exception.Duplicate, exception.QuotaError)):
        # EC2 reports missing things, bad values and quotas as client
        # errors, whatever nova's HTTP code for them.
        return 400, exc.ec2_code, str(exc)
    if isinstance(exc, (exception.NoValidHost, exception.RPCTimeout)):
        return 503, exc.ec2_code, str(exc)
    return 500, 'InternalError', _GENERIC_MESSAGE


def error_response(request_id, status, code, message):
    root = ElementTree.Element('Response')
    error = ElementTree.SubElement(ElementTree.SubElement(root, 'Errors'),
                                   'Error')
    ElementTree.SubElement(error, 'Code').text = xml_text(str(code))
    ElementTree.SubElement(error, 'Message').text = xml_text(str(message))
    ElementTree.SubElement(root, 'RequestID').text = request_id
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            + ElementTree.tostring(root, encoding='utf-8'))
    response = webob.Response(status=status, body=body)
    response.content_type = 'text/xml'
    response.charset = 'utf-8'
    return response


def exception_response(request_id, exc, context=None):
    """The error document for ``exc``; unexpected ones are logged whole."""
    status, code, message = fault_of(exc)
    if status >= 500 and code == 'InternalError':
        LOG.error('unexpected error in request %s', request_id,
                  exc_info=(type(exc), exc, exc.__traceback__),
                  context=context)
    else:
        LOG.info('request %s failed: %s %s: %s', request_id, status, code,
                 message, context=context)
    return error_response(request_id, status, code, message)
