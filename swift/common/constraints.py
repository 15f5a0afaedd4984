"""Hard limits on names, metadata and sizes (fixed values, as in Swift 1.2).

Checks return an error response (a webob HTTPException instance) or None;
callers return the response to the client as is.
"""

from webob.exc import (HTTPBadRequest, HTTPLengthRequired,
                       HTTPRequestEntityTooLarge)

from swift.common import utils

#: Largest object a single PUT may store (5 GiB + 2 bytes).
MAX_FILE_SIZE = 5 * 1024 * 1024 * 1024 + 2
#: Metadata name length, counted after the ``X-<type>-Meta-`` prefix.
MAX_META_NAME_LENGTH = 128
MAX_META_VALUE_LENGTH = 256
#: Metadata items in one request.
MAX_META_COUNT = 90
#: Sum of name and value lengths of one request's metadata.
MAX_META_OVERALL_SIZE = 4096
MAX_OBJECT_NAME_LENGTH = 1024
MAX_CONTAINER_NAME_LENGTH = 256
MAX_ACCOUNT_NAME_LENGTH = 256
CONTAINER_LISTING_LIMIT = 10000
ACCOUNT_LISTING_LIMIT = 10000


def _bad(req, text):
    return HTTPBadRequest(body=text.encode('utf-8'), request=req,
                          content_type='text/plain')


def check_metadata(req, target_type):
    """Validate the ``X-<target_type>-Meta-*`` headers of one request.

    Lengths are in bytes: header values are WSGI strings (one character per
    byte), so ``len`` counts the UTF-8 bytes the client sent.
    """
    # The WSGI environ itself, not req.headers: webob rebuilds a header
    # name from every environ key on each walk, and only lengths matter.
    prefix = 'HTTP_X_%s_META_' % target_type.upper()
    meta_count = 0
    meta_size = 0
    for key, value in req.environ.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        if not name:
            return _bad(req, 'Metadata name cannot be empty')
        meta_count += 1
        meta_size += len(name) + len(value)
        if len(name) > MAX_META_NAME_LENGTH:
            return _bad(req, 'Metadata name too long; max %d'
                        % MAX_META_NAME_LENGTH)
        if len(value) > MAX_META_VALUE_LENGTH:
            return _bad(req, 'Metadata value too long; max %d'
                        % MAX_META_VALUE_LENGTH)
        if meta_count > MAX_META_COUNT:
            return _bad(req, 'Too many metadata items; max %d'
                        % MAX_META_COUNT)
        if meta_size > MAX_META_OVERALL_SIZE:
            return _bad(req, 'Total metadata too large; max %d'
                        % MAX_META_OVERALL_SIZE)
    return None


def check_object_creation(req, object_name):
    """Checks for an object PUT: size (413), length known (411), name and
    content type (400), then metadata (400)."""
    content_length = req.headers.get('content-length')
    chunked = 'chunked' in req.headers.get('transfer-encoding', '').lower()
    if content_length is not None:
        try:
            length = int(content_length)
        except ValueError:
            return _bad(req, 'Invalid Content-Length')
        if length < 0:
            return _bad(req, 'Invalid Content-Length')
        if length > MAX_FILE_SIZE:
            return HTTPRequestEntityTooLarge(body=b'Your request is too large.',
                                             request=req,
                                             content_type='text/plain')
    elif not chunked:
        return HTTPLengthRequired(request=req)
    if len(object_name.encode('utf-8')
           if isinstance(object_name, str) else object_name) \
            > MAX_OBJECT_NAME_LENGTH:
        return _bad(req, 'Object name length of %d longer than %d'
                    % (len(object_name), MAX_OBJECT_NAME_LENGTH))
    if 'content-type' not in req.headers:
        return _bad(req, 'No content type')
    if not check_header_utf8(req.headers['content-type']):
        return _bad(req, 'Invalid Content-Type')
    return check_metadata(req, 'object')


def check_mount(root, drive):
    """True when ``root/drive`` is a mount point and ``drive`` a safe name."""
    return utils.check_mount(root, drive)


def check_float(string):
    """True when ``string`` parses as a float (e.g. an X-Timestamp)."""
    try:
        float(string)
        return True
    except (TypeError, ValueError):
        return False


def check_utf8(string):
    """True when ``string`` is valid UTF-8 without NUL characters.

    ``bytes`` must decode as UTF-8; ``str`` is text (e.g. webob's decoded
    ``req.path_info``) and must not hold lone surrogates.  For raw header
    values (WSGI latin-1 strings) use :func:`check_header_utf8`.
    """
    if not string:
        return False
    try:
        if isinstance(string, bytes):
            text = string.decode('utf-8')
        else:
            string.encode('utf-8')
            text = string
    except UnicodeError:
        return False
    return '\x00' not in text


def check_header_utf8(value):
    """True when a WSGI header value carries valid UTF-8 bytes."""
    try:
        raw = value.encode('latin-1')
    except UnicodeEncodeError:
        return check_utf8(value)
    return check_utf8(raw)
