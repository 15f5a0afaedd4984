"""EC2 Query parameters in, EC2 XML out.

Parameters arrive flat (``InstanceId.1``, ``IpPermissions.1.IpRanges.2.
CidrIp``, ``Filter.1.Value.1``) and become nested arguments: names are
split at every dot, each CamelCase part becomes snake_case, and a level
whose keys are all decimal numbers becomes a list ordered by number::

    InstanceId.2=b & InstanceId.10=c & InstanceId.1=a
        -> instance_id=['a', 'b', 'c']
    IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0/8
        -> ip_permissions=[{'ip_ranges': [{'cidr_ip': '10.0.0.0/8'}]}]

Values stay strings; controllers convert what they need and say which
parameter was wrong.  (The original guessed types — "010" became 8, "True"
a boolean — split only at the first dot and sorted list indices as strings
so that ``.10`` came before ``.2``.)

Results are dicts whose keys are the EC2 element names; lists render as
``<item>`` children, booleans as ``true``/``false``, datetimes as
ISO 8601 UTC with ``Z``, and ``None`` values are left out entirely (strict
parsers such as botocore refuse an empty integer or timestamp element).
"""

import datetime
import re
import xml.etree.ElementTree as ElementTree

from nova import exception
from nova.api.ec2 import faults

# Parameters of the request itself, not of the action.
RESERVED = frozenset(['Action', 'AWSAccessKeyId', 'Signature',
                      'SignatureMethod', 'SignatureVersion', 'Timestamp',
                      'Expires', 'Version', 'SecurityToken'])

_CAMEL_1 = re.compile(r'([A-Z]+)([A-Z][a-z])')
_CAMEL_2 = re.compile(r'([a-z0-9])([A-Z])')
_PART_RE = re.compile(r'[A-Za-z0-9_-]+')
_VERSION_RE = re.compile(r'\d{4}-\d{2}-\d{2}')
XMLNS_TEMPLATE = 'http://ec2.amazonaws.com/doc/%s/'


def snake_case(name):
    """``DescribeInstances`` -> ``describe_instances``, ``CidrIp`` -> ``cidr_ip``."""
    return _CAMEL_2.sub(r'\1_\2', _CAMEL_1.sub(r'\1_\2', name)).lower()


def _bad(reason):
    return exception.InvalidParameterValue(reason=reason)


def parse_args(pairs):
    """Nested action arguments from (name, value) pairs (see module doc)."""
    tree = {}
    for name, value in pairs:
        if name in RESERVED or name.startswith('X-Amz-'):
            continue
        parts = name.split('.')
        if not all(_PART_RE.fullmatch(p) for p in parts):
            raise _bad('Malformed parameter name %r.' % name)
        node = tree
        for depth, part in enumerate(parts):
            key = part if part.isdigit() else snake_case(part)
            if part.isdigit() and depth == 0:
                raise _bad('Malformed parameter name %r.' % name)
            if depth == len(parts) - 1:
                if key in node:
                    raise _bad('Parameter %s is given more than once, or '
                               'both as a value and as a list.' % name)
                node[key] = value
            else:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    raise _bad('Parameter %s is given both as a value and '
                               'as a list.' % '.'.join(parts[:depth + 1]))
                node = child
    return _listify(tree, '')


def _listify(node, path):
    if not isinstance(node, dict):
        return node
    numeric = [k for k in node if k.isdigit()]
    if numeric and len(numeric) != len(node):
        raise _bad('Parameter %s mixes numbered and named members.'
                   % (path or 'names'))
    if numeric:
        by_index = {}
        for key in numeric:
            index = int(key)
            if index in by_index:
                raise _bad('Parameter %s.%s is given more than once.'
                           % (path, key))
            by_index[index] = _listify(node[key], '%s.%s' % (path, key))
        return [by_index[i] for i in sorted(by_index)]
    return {key: _listify(value, ('%s.%s' % (path, key)) if path else key)
            for key, value in node.items()}


def check_version(version, extra=()):
    """The API version the client asked for; InvalidParameterValue if odd."""
    if not version:
        raise exception.MissingParameter(name='Version')
    if version in extra:
        return version
    if not _VERSION_RE.fullmatch(version):
        raise _bad('Version %r is not an EC2 API version (YYYY-MM-DD).'
                   % version)
    return version


def xmlns(version):
    """Responses are in the namespace of the version the client sent."""
    if version and _VERSION_RE.fullmatch(version):
        return XMLNS_TEMPLATE % version
    return XMLNS_TEMPLATE % '2009-04-04'


# -- rendering --------------------------------------------------------------

def format_time(value):
    """``2011-02-03T04:05:06.789Z``: what EC2 sends and botocore parses."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.strftime('%Y-%m-%dT%H:%M:%S.') + \
        '%03dZ' % (value.microsecond // 1000)


def _text(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, datetime.datetime):
        return format_time(value)
    if isinstance(value, bytes):
        value = value.decode('utf-8', 'replace')
    return faults.xml_text(str(value))


def _render(parent, name, value):
    if value is None:
        return
    node = ElementTree.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _render(node, key, item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, dict):
                _render(node, 'item', item)
            else:
                # A list of plain values: <item>value</item> (admin API).
                ElementTree.SubElement(node, 'item').text = _text(item)
    else:
        node.text = _text(value)


def render_response(action, version, request_id, result):
    """The bytes of ``<{Action}Response xmlns=...>`` for a result."""
    root = ElementTree.Element('%sResponse' % action,
                               {'xmlns': xmlns(version)})
    ElementTree.SubElement(root, 'requestId').text = request_id
    if result is True or result is None:
        ElementTree.SubElement(root, 'return').text = 'true'
    elif isinstance(result, dict):
        for key, value in result.items():
            _render(root, key, value)
    else:
        raise TypeError('an EC2 action must return a dict, True or None, '
                        'not %r' % type(result).__name__)
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            + ElementTree.tostring(root, encoding='utf-8'))
