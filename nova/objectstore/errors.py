"""S3 errors: an exception per S3 error code, rendered as S3's XML document.

Every failure the objectstore detects is raised as one of these where it is
found; the WSGI app turns it into ``<Error><Code>..`` with the right HTTP
status (and no body for HEAD, as S3 does).
"""

import uuid
import xml.etree.ElementTree as ElementTree


class S3Error(Exception):
    """Base of the S3 errors: ``code`` is the S3 error code, ``status`` the
    HTTP status, ``message`` the default human text."""

    code = 'InternalError'
    status = 500
    message = 'We encountered an internal error. Please try again.'

    def __init__(self, message=None, resource=None, headers=None):
        self.message = message or self.message
        self.resource = resource
        self.headers = dict(headers or {})
        super().__init__('%s: %s' % (self.code, self.message))


def _error(name, status, message):
    return type(name, (S3Error,), {'code': name, 'status': status,
                                   'message': message})


AccessDenied = _error('AccessDenied', 403, 'Access Denied')
AuthorizationHeaderMalformed = _error(
    'AuthorizationHeaderMalformed', 400,
    'The authorization header is malformed.')
BadDigest = _error('BadDigest', 400, 'The Content-MD5 you specified did not '
                   'match what we received.')
BucketAlreadyExists = _error(
    'BucketAlreadyExists', 409, 'The requested bucket name is not available. '
    'The bucket namespace is shared by all users of the system. Please '
    'select a different name and try again.')
BucketAlreadyOwnedByYou = _error(
    'BucketAlreadyOwnedByYou', 409, 'Your previous request to create the '
    'named bucket succeeded and you already own it.')
BucketNotEmpty = _error('BucketNotEmpty', 409,
                        'The bucket you tried to delete is not empty.')
EntityTooLarge = _error('EntityTooLarge', 400, 'Your proposed upload exceeds '
                        'the maximum allowed object size.')
EntityTooSmall = _error('EntityTooSmall', 400, 'Your proposed upload is '
                        'smaller than the minimum allowed object size.')
IncompleteBody = _error('IncompleteBody', 400, 'You did not provide the '
                        'number of bytes specified by the Content-Length '
                        'HTTP header.')
InvalidAccessKeyId = _error('InvalidAccessKeyId', 403, 'The AWS Access Key Id '
                            'you provided does not exist in our records.')
InvalidArgument = _error('InvalidArgument', 400, 'Invalid Argument')
InvalidBucketName = _error('InvalidBucketName', 400,
                           'The specified bucket is not valid.')
InvalidDigest = _error('InvalidDigest', 400,
                       'The Content-MD5 you specified is not valid.')
InvalidPart = _error('InvalidPart', 400, 'One or more of the specified parts '
                     'could not be found or its entity tag did not match.')
InvalidPartOrder = _error('InvalidPartOrder', 400, 'The list of parts was not '
                          'in ascending order.')
InvalidURI = _error('InvalidURI', 400, "Couldn't parse the specified URI.")
InvalidRange = _error('InvalidRange', 416,
                      'The requested range is not satisfiable')
InvalidRequest = _error('InvalidRequest', 400, 'Invalid Request')
MalformedXML = _error('MalformedXML', 400, 'The XML you provided was not '
                      'well-formed or did not validate against our schema.')
MetadataTooLarge = _error('MetadataTooLarge', 400, 'Your metadata headers '
                          'exceed the maximum allowed metadata size.')
MethodNotAllowed = _error('MethodNotAllowed', 405, 'The specified method is '
                          'not allowed against this resource.')
MissingContentLength = _error('MissingContentLength', 411, 'You must provide '
                              'the Content-Length HTTP header.')
NoSuchBucket = _error('NoSuchBucket', 404,
                      'The specified bucket does not exist.')
NoSuchKey = _error('NoSuchKey', 404, 'The specified key does not exist.')
NoSuchUpload = _error('NoSuchUpload', 404, 'The specified multipart upload '
                      'does not exist.')
NotImplemented_ = _error('NotImplemented', 501, 'A header or query you '
                         'provided implies functionality that is not '
                         'implemented.')
PreconditionFailed = _error('PreconditionFailed', 412, 'At least one of the '
                            'preconditions you specified did not hold.')
RequestTimeTooSkewed = _error('RequestTimeTooSkewed', 403, 'The difference '
                              'between the request time and the current '
                              'time is too large.')
SignatureDoesNotMatch = _error(
    'SignatureDoesNotMatch', 403, 'The request signature we calculated does '
    'not match the signature you provided. Check your key and signing '
    'method.')
XAmzContentSHA256Mismatch = _error(
    'XAmzContentSHA256Mismatch', 400, 'The provided '
    "'x-amz-content-sha256' header does not match what was computed.")


def new_request_id():
    return uuid.uuid4().hex[:16].upper()


def to_xml(error, resource, request_id):
    """The S3 ``<Error>`` document of ``error`` as UTF-8 bytes."""
    root = ElementTree.Element('Error')
    for name, value in (('Code', error.code), ('Message', error.message),
                        ('Resource', error.resource or resource),
                        ('RequestId', request_id)):
        ElementTree.SubElement(root, name).text = value or ''
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            + ElementTree.tostring(root, encoding='utf-8'))
