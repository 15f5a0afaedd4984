"""Image metadata rules: formats, statuses, and the ``x-image-meta-*`` headers.

The v1 API carries image metadata in headers.  Field names keep the
underscores clients send and expect back (``x-image-meta-disk_format``);
a hyphenated spelling (``X-Image-Meta-Disk-Format``) is read as the same
field, but replies always use the underscore form.  Custom properties are
``x-image-meta-property-<key>``; their keys are kept exactly as sent
(lower-cased, since HTTP header names are case-insensitive).

Headers must be read from the raw header list: a WSGI environ folds ``-``
and ``_`` into one ``HTTP_`` key (and eventlet drops underscored names from
it altogether), which would make ``property-a_b`` and ``property-a-b``
the same key.
"""

import re

from glance.common import config
from glance.common import exception

DISK_FORMATS = ('raw', 'vhd', 'vmdk', 'vdi', 'iso', 'qcow2', 'aki', 'ari',
                'ami')
CONTAINER_FORMATS = ('ovf', 'bare', 'aki', 'ari', 'ami')
AMAZON_FORMATS = ('aki', 'ari', 'ami')

STATUSES = ('queued', 'saving', 'active', 'killed', 'deleted')

META_PREFIX = 'x-image-meta-'
PROPERTY_PREFIX = 'x-image-meta-property-'

# What a client may set through headers.
WRITABLE_FIELDS = ('id', 'name', 'disk_format', 'container_format',
                   'is_public', 'size', 'checksum', 'location', 'owner',
                   'store')
# What later clients send (python-glanceclient's ``deleted``, ``protected``,
# ``min_ram``...) or what reads back from a HEAD and gets re-sent; the
# service keeps these itself, so they are accepted and ignored.
IGNORED_FIELDS = ('status', 'created_at', 'updated_at', 'deleted_at',
                  'deleted', 'min_ram', 'min_disk', 'protected', 'uri')

# Order of the metadata headers in a HEAD/GET reply.
OUTPUT_FIELDS = ('id', 'name', 'disk_format', 'container_format', 'size',
                 'checksum', 'status', 'is_public', 'location', 'owner',
                 'created_at', 'updated_at', 'deleted_at', 'deleted')

SUMMARY_FIELDS = ('id', 'name', 'disk_format', 'container_format',
                  'checksum', 'size')

_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,255}$")
_CHECKSUM = re.compile(r'^[0-9a-f]{32}$')
MAX_NAME = 255
MAX_VALUE = 65535


def validate_property_key(key):
    if not _TOKEN.match(key or ''):
        raise exception.Invalid('Invalid property name %r: use 1-255 letters, '
                                'digits and -_.' % key)
    return key


def _header_text(value):
    """Header values arrive as latin-1 text; clients send UTF-8 bytes."""
    try:
        return value.encode('latin-1').decode('utf-8')
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _header_safe(value):
    """UTF-8 text in the latin-1 form WSGI needs for header values."""
    return value.encode('utf-8').decode('latin-1')


def parse_int(value, field, minimum=0):
    try:
        number = int(str(value).strip())
    except ValueError:
        raise exception.Invalid('Invalid %s %r: not an integer'
                                % (field, value)) from None
    if number < minimum:
        raise exception.Invalid('Invalid %s %r: must be at least %d'
                                % (field, value, minimum))
    return number


def coerce_field(field, value):
    """A header's text turned into the field's value (None for empty)."""
    if value is None:
        return None
    if '\r' in value or '\n' in value:
        raise exception.Invalid('Invalid value for %s: line breaks are not '
                                'allowed' % field)
    value = value.strip()
    if field == 'is_public':
        return config.parse_bool(value, 'is_public')
    if value == '':
        return None
    if field == 'size':
        return parse_int(value, 'size')
    if field == 'id':
        return parse_int(value, 'id', minimum=1)
    if field == 'checksum':
        value = value.lower()
        if not _CHECKSUM.match(value):
            raise exception.Invalid('Invalid checksum %r: expected 32 hex '
                                    'digits (MD5)' % value)
        return value
    if field in ('disk_format', 'container_format'):
        return value.lower()
    if field in ('name', 'owner') and len(value) > MAX_NAME:
        raise exception.Invalid('%s is longer than %d characters'
                                % (field, MAX_NAME))
    return value


def parse_headers(raw_headers):
    """``(meta, properties, ignored)`` from a list of (name, value) pairs.

    ``meta`` holds only the fields a client may set; unknown
    ``x-image-meta-*`` names are a 400 naming the header.
    """
    meta = {}
    properties = {}
    ignored = []
    for name, value in raw_headers:
        lname = name.lower()
        if not lname.startswith(META_PREFIX):
            continue
        value = _header_text(value)
        if lname.startswith(PROPERTY_PREFIX):
            key = validate_property_key(lname[len(PROPERTY_PREFIX):])
            if '\r' in value or '\n' in value:
                raise exception.Invalid('Invalid value for property %s: line '
                                        'breaks are not allowed' % key)
            if len(value) > MAX_VALUE:
                raise exception.Invalid('Property %s is too long' % key)
            properties[key] = value.strip()
            continue
        field = lname[len(META_PREFIX):].replace('-', '_')
        if field in IGNORED_FIELDS:
            ignored.append(field)
            continue
        if field not in WRITABLE_FIELDS:
            raise exception.Invalid('Unknown image attribute header %s' % name)
        meta[field] = coerce_field(field, value)
    return meta, properties, ignored


def validate_formats(disk_format, container_format):
    """Raise Invalid unless the two formats are known and go together."""
    if disk_format is not None and disk_format not in DISK_FORMATS:
        raise exception.Invalid('Invalid disk format %r; expected one of %s'
                                % (disk_format, ', '.join(DISK_FORMATS)))
    if (container_format is not None
            and container_format not in CONTAINER_FORMATS):
        raise exception.Invalid('Invalid container format %r; expected one '
                                'of %s' % (container_format,
                                           ', '.join(CONTAINER_FORMATS)))
    if (disk_format in AMAZON_FORMATS or container_format in AMAZON_FORMATS) \
            and disk_format != container_format:
        raise exception.Invalid(
            'Invalid mix of disk format %r and container format %r: aki, ari '
            'and ami images need the same disk and container format'
            % (disk_format, container_format))


def validate_status(status):
    if status not in STATUSES:
        raise exception.Invalid('Invalid image status %r' % status)


def _text(value):
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'True' if value else 'False'
    return str(value)


def to_headers(image):
    """The reply headers that describe ``image`` (a registry record)."""
    headers = []
    for field in OUTPUT_FIELDS:
        if field in image:
            headers.append((META_PREFIX + field,
                            _header_safe(_text(image[field]))))
    for key, value in sorted((image.get('properties') or {}).items()):
        headers.append((PROPERTY_PREFIX + key, _header_safe(_text(value))))
    return headers


def from_headers(headers):
    """A client's view of a HEAD/GET reply's metadata headers."""
    image = {'properties': {}}
    for name, value in headers:
        lname = name.lower()
        value = _header_text(value)
        if lname.startswith(PROPERTY_PREFIX):
            image['properties'][lname[len(PROPERTY_PREFIX):]] = value
        elif lname.startswith(META_PREFIX):
            field = lname[len(META_PREFIX):].replace('-', '_')
            image[field] = value
    for field in ('is_public', 'deleted'):
        if field in image:
            image[field] = image[field].strip().lower() == 'true'
    for field in ('id', 'size'):
        if image.get(field):
            try:
                image[field] = int(image[field])
            except ValueError:
                pass
    for field, value in list(image.items()):
        if value == '' and field != 'properties':
            image[field] = None
    return image


def to_header_pairs(meta, properties=None):
    """Request headers that send ``meta`` and ``properties`` to the API."""
    headers = []
    for field, value in meta.items():
        if field == 'properties':
            continue
        headers.append((META_PREFIX + field, _header_safe(_text(value))))
    props = dict(meta.get('properties') or {})
    props.update(properties or {})
    for key, value in props.items():
        headers.append((PROPERTY_PREFIX + key, _header_safe(_text(value))))
    return headers
