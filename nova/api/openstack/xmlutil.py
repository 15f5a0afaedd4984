"""JSON and XML for the OpenStack API, both ways.

Responses follow the published Cloud Servers / Compute schemas:

* the document's default namespace is the version's
  (``XMLNS_V10``/``XMLNS_V11``); v1.1 links are ``atom:link`` elements in
  the Atom namespace;
* scalar members of an object are XML attributes, objects and lists are
  child elements; list members are named by ``PLURALS`` (else the list
  name without its trailing ``s``);
* ``metadata`` is ``<metadata><meta key="k">v</meta></metadata>``;
* addresses are ``<ip addr=".."/>`` elements: v1.0 under ``<public>`` and
  ``<private>``, v1.1 under ``<network id="label">`` with ``version``;
* ``/limits`` absolute values are ``<limit name=".." value=".."/>``.

Request bodies are parsed by content type (JSON, or XML with defusedxml);
a body whose type is neither is a 415, malformed input a 400 -- raised as
``faults.Fault`` by the callers.
"""

import datetime
import json
import xml.etree.ElementTree as ElementTree

import defusedxml.ElementTree

from nova import utils

JSON = 'application/json'
XML = 'application/xml'
XMLNS_V10 = 'http://docs.rackspacecloud.com/servers/api/v1.0'
XMLNS_V11 = 'http://docs.openstack.org/compute/api/v1.1'
XMLNS_ATOM = 'http://www.w3.org/2005/Atom'

PLURALS = {
    'servers': 'server', 'images': 'image', 'flavors': 'flavor',
    'versions': 'version', 'extensions': 'extension',
    'sharedIpGroups': 'sharedIpGroup', 'rate': 'limit',
    'media-types': 'media-type', 'addresses': 'network',
    'limit': 'limit', 'ips': 'ip', 'public': 'ip', 'private': 'ip',
}

# Keys rendered as child elements with text even when scalar.
TEXT_CHILDREN = {'message', 'details', 'adminPass'}

ElementTree.register_namespace('atom', XMLNS_ATOM)


class BodyError(ValueError):
    """A request body that cannot be read: ``code`` is 400 or 415."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def xmlns(version):
    return XMLNS_V10 if version == '1.0' else XMLNS_V11


def response_type(req):
    """JSON or XML: a .json/.xml suffix wins, then Accept, else JSON."""
    fmt = req.environ.get('nova.osapi.format')
    if fmt == 'xml':
        return XML
    if fmt == 'json':
        return JSON
    path = req.path_info
    if path.endswith('.xml'):
        return XML
    if path.endswith('.json'):
        return JSON
    offers = req.accept.acceptable_offers([JSON, XML])
    return offers[0][0] if offers else JSON


# -- output ------------------------------------------------------------------

def _text(value):
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, datetime.datetime):
        return utils.isotime(value)
    return str(value)


def _json_default(value):
    if isinstance(value, datetime.datetime):
        return utils.isotime(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError('%r is not JSON serializable' % (value,))


def to_json(data):
    return json.dumps(data, default=_json_default).encode('utf-8')


def _is_scalar(value):
    return value is None or isinstance(value, (str, int, float, bool,
                                               datetime.datetime))


def _member_name(list_name):
    if list_name in PLURALS:
        return PLURALS[list_name]
    if list_name.endswith('s') and len(list_name) > 1:
        return list_name[:-1]
    return 'item'


class _Builder:

    def __init__(self, version):
        self.version = version

    def element(self, name, value):
        node = ElementTree.Element(name)
        self.fill(node, name, value)
        return node

    def fill(self, node, name, value):
        if name == 'metadata' and isinstance(value, dict):
            for key, item in value.items():
                meta = ElementTree.SubElement(node, 'meta', key=str(key))
                meta.text = _text(item)
        elif name == 'addresses' and isinstance(value, dict):
            self._addresses(node, value)
        elif name == 'absolute' and isinstance(value, dict):
            for key, item in value.items():
                ElementTree.SubElement(node, 'limit', name=str(key),
                                       value=_text(item))
        elif isinstance(value, (list, tuple)):
            self._list(node, name, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                self._member(node, key, item)
        else:
            node.text = _text(value)

    def _member(self, node, key, item):
        if key == 'links' and isinstance(item, list):
            for link in item:
                self._link(node, link)
        elif isinstance(item, list) and _member_name(key) == key:
            # A list named like its members has no wrapper element.
            for member in item:
                node.append(self.element(key, member))
        elif _is_scalar(item) and key not in TEXT_CHILDREN:
            if item is not None:
                node.set(key, _text(item))
        else:
            node.append(self.element(key, item))

    def _list(self, node, name, items):
        member = _member_name(name)
        if name == 'rate' and self.version != '1.0':
            # v1.1 groups limits by URI: <rates><rate uri=..><limit/></rate>
            member = 'rate'
        for item in items:
            if member == 'ip' or (isinstance(item, dict) and 'addr' in item):
                self._ip(node, item)
            else:
                node.append(self.element(member, item))

    def _ip(self, node, item):
        if isinstance(item, dict):
            attrs = {k: _text(v) for k, v in item.items()}
        else:
            attrs = {'addr': _text(item)}
        ElementTree.SubElement(node, 'ip', attrs)

    def _addresses(self, node, addresses):
        for label, ips in addresses.items():
            if self.version == '1.0':
                group = ElementTree.SubElement(node, label)
            else:
                group = ElementTree.SubElement(node, 'network', id=label)
            for ip in ips:
                self._ip(group, ip)

    def _link(self, node, link):
        if self.version == '1.0':
            ElementTree.SubElement(node, 'link', {k: _text(v) for k, v in
                                                  link.items()})
        else:
            ElementTree.SubElement(node, '{%s}link' % XMLNS_ATOM,
                                   {k: _text(v) for k, v in link.items()})


def to_xml(data, version):
    """XML bytes of a one-key dict in the version's namespace."""
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError('XML output needs a dict with exactly one key')
    (name, value), = data.items()
    builder = _Builder(version)
    if name == 'version' or name == 'versions':
        # Version documents are shared by both versions: the v1.1 form.
        builder = _Builder('1.1')
    if isinstance(value, list) and value and all(
            isinstance(v, dict) and 'addr' in v for v in value) and \
            version != '1.0':
        # GET /v1.1/servers/{id}/ips/{network}: one network.
        root = ElementTree.Element('network', id=name)
        for ip in value:
            builder._ip(root, ip)
    else:
        root = builder.element(name, value)
    root.set('xmlns', xmlns(version))
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            + ElementTree.tostring(root, encoding='utf-8',
                                   xml_declaration=False))


def fault_to_xml(name, body, version):
    root = ElementTree.Element(name, code=str(body['code']))
    if 'retryAfter' in body:
        root.set('retryAfter', body['retryAfter'])
    root.set('xmlns', xmlns(version))
    message = ElementTree.SubElement(root, 'message')
    message.text = body.get('message') or ''
    if body.get('details'):
        details = ElementTree.SubElement(root, 'details')
        details.text = body['details']
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            + ElementTree.tostring(root, encoding='utf-8',
                                   xml_declaration=False))


# -- input -------------------------------------------------------------------

def request_type(req):
    """'json' or 'xml' for a request body; BodyError(415) for other types."""
    ctype = (req.content_type or '').split(';')[0].strip().lower()
    if ctype in (JSON, 'text/json') or ctype.endswith('+json'):
        return 'json'
    if ctype in (XML, 'text/xml') or ctype.endswith('+xml'):
        return 'xml'
    if ctype in ('', 'application/octet-stream',
                 'application/x-www-form-urlencoded'):
        # curl sends form-urlencoded for -d; sniff like the original did.
        text = req.body.lstrip()[:1]
        return 'xml' if text == b'<' else 'json'
    raise BodyError(415, 'Unsupported media type %s; use %s or %s'
                    % (ctype, JSON, XML))


def from_json(raw):
    try:
        data = json.loads(raw.decode('utf-8'))
    except UnicodeDecodeError:
        raise BodyError(400, 'request body is not UTF-8') from None
    except ValueError as e:
        raise BodyError(400, 'malformed JSON in request body: %s' % e) \
            from None
    if not isinstance(data, dict):
        raise BodyError(400, 'request body must be a JSON object')
    return data


def _local(tag):
    return tag.rsplit('}', 1)[-1] if isinstance(tag, str) and \
        tag.startswith('{') else tag


def _parse(node):
    name = _local(node.tag)
    children = [c for c in node if isinstance(c.tag, str)]
    if name == 'metadata':
        return {c.get('key'): c.text or '' for c in children
                if _local(c.tag) == 'meta'}
    if name == 'personality':
        return [{'path': c.get('path'), 'contents': (c.text or '').strip()}
                for c in children if _local(c.tag) == 'file']
    if not children and not node.attrib:
        text = (node.text or '').strip()
        return text or None
    result = {_local(k): v for k, v in node.attrib.items()}
    for child in children:
        result[_local(child.tag)] = _parse(child)
    return result


def from_xml(raw):
    try:
        root = defusedxml.ElementTree.fromstring(raw)
    except ElementTree.ParseError as e:
        raise BodyError(400, 'malformed XML in request body: %s' % e) \
            from None
    except defusedxml.DefusedXmlException as e:
        # DTDs and entities are how billion-laughs and XXE attacks start.
        raise BodyError(400, 'forbidden XML construct in request body: %s'
                        % type(e).__name__) from None
    name = _local(root.tag)
    if name == 'meta':
        return {'meta': {root.get('key'): root.text or ''}}
    return {name: _parse(root)}


def parse_body(req):
    """The request body as a dict; BodyError when missing or unreadable."""
    raw = req.body
    if not raw or not raw.strip():
        raise BodyError(400, 'this request needs a body')
    kind = request_type(req)
    if kind == 'json':
        return from_json(raw)
    return from_xml(raw)
