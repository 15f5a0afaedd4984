"""The XML documents of the S3 API: responses out, request bodies in.

Responses are in S3's 2006-03-01 namespace.  Request bodies are parsed with
defusedxml (no entities, no DTDs: the classic XML bombs and XXE are refused)
and namespaces are ignored, as S3 does for clients that omit them.
"""

import time
import urllib.parse
import xml.etree.ElementTree as ElementTree

import defusedxml
import defusedxml.ElementTree

from nova.objectstore import errors

S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def iso8601(seconds):
    """``2011-02-03T12:00:00.000Z``: what S3 puts in LastModified."""
    whole = int(seconds)
    millis = int(round((seconds - whole) * 1000))
    if millis >= 1000:
        whole, millis = whole + 1, 0
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(whole)) \
        + '.%03dZ' % millis


def _doc(root):
    root.set('xmlns', S3_NS)
    return _DECLARATION + ElementTree.tostring(root, encoding='utf-8')


def _add(parent, name, text=None):
    node = ElementTree.SubElement(parent, name)
    if text is not None:
        node.text = text if isinstance(text, str) else str(text)
    return node


def _bool(value):
    return 'true' if value else 'false'


def _owner(parent, owner_id, name='Owner'):
    owner = _add(parent, name)
    _add(owner, 'ID', owner_id)
    _add(owner, 'DisplayName', owner_id)


def list_all_my_buckets(owner_id, buckets):
    root = ElementTree.Element('ListAllMyBucketsResult')
    _owner(root, owner_id)
    node = _add(root, 'Buckets')
    for bucket in buckets:
        entry = _add(node, 'Bucket')
        _add(entry, 'Name', bucket.name)
        _add(entry, 'CreationDate', iso8601(bucket.created))
    return _doc(root)


def list_bucket(bucket, page, params, v2=False, owner=True):
    """A ListBucketResult of ``page`` (see nova.objectstore.listing).

    ``params`` holds what the request asked (prefix, marker, max-keys,
    delimiter, encoding-type, and for ListObjectsV2 continuation-token,
    start-after and key-count details).  With ``encoding-type=url`` keys
    and prefixes are percent-encoded, which lets keys holding characters
    XML cannot carry be listed.
    """
    encode = params.get('encoding_type') == 'url'

    def enc(text):
        if text is None:
            return None
        return urllib.parse.quote(text, safe='/') if encode else text

    root = ElementTree.Element('ListBucketResult')
    _add(root, 'Name', bucket)
    _add(root, 'Prefix', enc(params.get('prefix', '')))
    if v2:
        if params.get('continuation_token') is not None:
            _add(root, 'ContinuationToken', params['continuation_token'])
        if params.get('start_after'):
            _add(root, 'StartAfter', enc(params['start_after']))
        _add(root, 'KeyCount',
             len(page.contents) + len(page.common_prefixes))
    else:
        _add(root, 'Marker', enc(params.get('marker', '')))
    _add(root, 'MaxKeys', params['max_keys'])
    if params.get('delimiter'):
        _add(root, 'Delimiter', enc(params['delimiter']))
    if encode:
        _add(root, 'EncodingType', 'url')
    _add(root, 'IsTruncated', _bool(page.truncated))
    if page.truncated:
        if v2:
            _add(root, 'NextContinuationToken', params['next_token'])
        elif params.get('delimiter'):
            # S3 only sends NextMarker with a delimiter; without one the
            # client continues from the last key.
            _add(root, 'NextMarker', enc(page.next_marker))
    for obj in page.contents:
        entry = _add(root, 'Contents')
        _add(entry, 'Key', enc(obj.key))
        _add(entry, 'LastModified', iso8601(obj.last_modified))
        _add(entry, 'ETag', '"%s"' % obj.etag)
        _add(entry, 'Size', obj.size)
        _add(entry, 'StorageClass', 'STANDARD')
        if owner:
            _owner(entry, params['owner'])
    for prefix in page.common_prefixes:
        _add(_add(root, 'CommonPrefixes'), 'Prefix', enc(prefix))
    return _doc(root)


def location_constraint():
    root = ElementTree.Element('LocationConstraint')
    return _doc(root)


def initiate_upload(bucket, key, upload_id):
    root = ElementTree.Element('InitiateMultipartUploadResult')
    _add(root, 'Bucket', bucket)
    _add(root, 'Key', key)
    _add(root, 'UploadId', upload_id)
    return _doc(root)


def complete_upload(location, bucket, key, etag):
    root = ElementTree.Element('CompleteMultipartUploadResult')
    _add(root, 'Location', location)
    _add(root, 'Bucket', bucket)
    _add(root, 'Key', key)
    _add(root, 'ETag', '"%s"' % etag)
    return _doc(root)


def list_parts(bucket, key, upload, parts):
    root = ElementTree.Element('ListPartsResult')
    _add(root, 'Bucket', bucket)
    _add(root, 'Key', key)
    _add(root, 'UploadId', upload.upload_id)
    _owner(root, upload.owner, 'Initiator')
    _owner(root, upload.owner)
    _add(root, 'StorageClass', 'STANDARD')
    _add(root, 'PartNumberMarker', 0)
    _add(root, 'MaxParts', max(len(parts), 1))
    _add(root, 'IsTruncated', 'false')
    for number in sorted(parts):
        entry = _add(root, 'Part')
        _add(entry, 'PartNumber', number)
        _add(entry, 'ETag', '"%s"' % parts[number]['etag'])
        _add(entry, 'Size', parts[number]['size'])
    return _doc(root)


def _local(tag):
    return tag.rsplit('}', 1)[-1]


def _parse(data):
    try:
        return defusedxml.ElementTree.fromstring(data)
    except (ElementTree.ParseError, defusedxml.DefusedXmlException,
            ValueError):
        raise errors.MalformedXML() from None


def parse_complete_upload(data):
    """[(part number, etag)] from a CompleteMultipartUpload body."""
    root = _parse(data)
    if _local(root.tag) != 'CompleteMultipartUpload':
        raise errors.MalformedXML()
    parts = []
    for node in root:
        if _local(node.tag) != 'Part':
            continue
        fields = {_local(child.tag): (child.text or '').strip()
                  for child in node}
        try:
            number = int(fields['PartNumber'])
            etag = fields['ETag']
        except (KeyError, ValueError):
            raise errors.MalformedXML() from None
        parts.append((number, etag))
    return parts


def parse_create_bucket(data):
    """The LocationConstraint of a CreateBucketConfiguration, if any."""
    if not data.strip():
        return None
    root = _parse(data)
    if _local(root.tag) != 'CreateBucketConfiguration':
        raise errors.MalformedXML()
    for node in root:
        if _local(node.tag) == 'LocationConstraint':
            return (node.text or '').strip() or None
    return None
