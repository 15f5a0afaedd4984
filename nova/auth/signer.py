"""Request signatures of the AWS-style APIs: EC2 Query (v0, v1, v2, v4) and S3.

Pure functions, no database: callers look up the secret for the access key
the request names and then ask these functions whether the signature holds.
The EC2 API, the S3 objectstore and glance's S3 store all use them.

Typical EC2 use::

    path = signer.request_path(req.environ)          # as sent, not PATH_INFO
    headers = signer.request_headers(req.environ)    # as sent
    v4 = signer.parse_v4(headers, req.query_string)
    if v4 is not None:                                # SigV4 (boto >= 2.35, boto3)
        secret = lookup(v4.access_key)
        signer.check_timestamp(req.GET if v4.presigned else headers)
        signer.verify_v4(secret, v4, req.method, path, req.query_string,
                         headers, req.body)
    else:                                             # SigV2 and older
        secret = lookup(req.params['AWSAccessKeyId'])
        signer.check_timestamp(req.params)
        signer.verify_v2(secret, req.method, req.host, path, req.params)

Every verifier raises ``nova.exception.SignatureError`` on a mismatch and
compares with ``hmac.compare_digest``.  ``check_timestamp`` raises
``nova.exception.RequestExpired``.

Differences from the original, on purpose:

* The original recomputed every SigV2 signature with HmacSHA256 whatever
  ``SignatureMethod`` the client named, so HmacSHA1 clients always failed;
  we honour the client's choice (HmacSHA1 or HmacSHA256, nothing else).
* The original had no replay protection at all (timestamps were never
  looked at); ``check_timestamp`` bounds a request's life to a window.
* The original compared signatures with ``==`` (a timing side channel).
* SigV4 was not supported; every boto release since 2.35 uses it for EC2.
"""

import base64
import calendar
import collections
import dataclasses
import datetime
import email.utils
import hashlib
import hmac
import re
import urllib.parse

from nova import exception

DEFAULT_WINDOW = 900          # seconds a signed request stays valid
V4_ALGORITHM = 'AWS4-HMAC-SHA256'
V4_MAX_EXPIRES = 7 * 24 * 3600
UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
EMPTY_SHA256 = hashlib.sha256(b'').hexdigest()

_V2_METHODS = {'HmacSHA1': hashlib.sha1, 'HmacSHA256': hashlib.sha256}

# Query arguments that are part of an S3 resource (and so of its signature).
S3_SUB_RESOURCES = frozenset([
    'accelerate', 'acl', 'analytics', 'cors', 'defaultObjectAcl', 'delete',
    'inventory', 'lifecycle', 'location', 'logging', 'metrics',
    'notification', 'object-lock', 'partNumber', 'policy', 'replication',
    'requestPayment', 'response-cache-control',
    'response-content-disposition', 'response-content-encoding',
    'response-content-language', 'response-content-type', 'response-expires',
    'restore', 'select', 'select-type', 'storageClass', 'tagging', 'torrent',
    'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'website',
])


# -- small helpers -------------------------------------------------------------

def _quote(text, safe='-_.~'):
    """RFC 3986 percent-encoding of UTF-8 text (unreserved: A-Za-z0-9-_.~)."""
    if not isinstance(text, (str, bytes)):
        text = str(text)
    return urllib.parse.quote(text, safe=safe)


def _b64_hmac(secret, text, digestmod):
    mac = hmac.new(_bytes(secret), _bytes(text), digestmod)
    return base64.b64encode(mac.digest()).decode('ascii')


def _bytes(value):
    return value if isinstance(value, bytes) else str(value).encode('utf-8')


def _same(expected, given):
    """Constant-time comparison of two signatures (str or bytes)."""
    return hmac.compare_digest(_bytes(expected), _bytes(given or ''))


def _lower_headers(headers):
    """A plain dict of the headers with lower-case names (str values)."""
    if headers is None:
        return {}
    items = headers.items() if hasattr(headers, 'items') else headers
    result = {}
    for name, value in items:
        if value is None:
            continue
        if isinstance(value, bytes):
            value = value.decode('utf-8')
        name = name.lower()
        # Repeated headers count as one, joined by commas (RFC 9110 5.3).
        result[name] = (result[name] + ',' + str(value)) if name in result \
            else str(value)
    return result


def _query_pairs(query):
    """Decoded (name, value) pairs from a raw query string or a mapping.

    A raw string is decoded with ``unquote`` (not ``unquote_plus``): in the
    signed forms a literal ``+`` is a plus sign, and signing clients encode
    spaces as ``%20``.
    """
    if query is None:
        return []
    if isinstance(query, bytes):
        query = query.decode('latin-1')
    if isinstance(query, str):
        pairs = []
        for part in query.split('&'):
            if not part:
                continue
            name, _sep, value = part.partition('=')
            pairs.append((urllib.parse.unquote(name),
                          urllib.parse.unquote(value)))
        return pairs
    if hasattr(query, 'items'):
        # webob MultiDict: items() yields every value of a repeated name.
        return [(str(k), '' if v is None else str(v)) for k, v in query.items()]
    return [(str(k), '' if v is None else str(v)) for k, v in query]


def _param(params, name):
    """Case-sensitive then case-insensitive lookup in a mapping."""
    if params is None:
        return None
    if name in params:
        return params[name]
    lname = name.lower()
    for key in params:
        if key.lower() == lname:
            return params[key]
    return None


def request_path(environ):
    """The request path as the client sent it, percent-encoding intact.

    Signatures cover the path on the wire, which ``PATH_INFO`` (decoded,
    and split by URL maps) no longer is: eventlet keeps it in
    ``RAW_PATH_INFO``, some servers in ``REQUEST_URI``; otherwise it is
    re-encoded the way AWS clients encode (only ``/`` and unreserved
    characters left bare).
    """
    raw = environ.get('RAW_PATH_INFO')
    if not raw and environ.get('REQUEST_URI'):
        raw = urllib.parse.urlsplit(environ['REQUEST_URI']).path
    if not raw:
        path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
        raw = urllib.parse.quote(path.encode('latin-1'), safe='/~')
    return raw or '/'


def request_headers(environ):
    """The request headers as the client sent them, as a dict.

    eventlet fills in ``CONTENT_TYPE: text/plain`` when a request has no
    Content-Type, which would change what an S3 signature covers; its
    ``headers_raw`` are the truth.  Other servers: rebuilt from the environ.
    """
    raw = environ.get('headers_raw')
    if raw is not None:
        headers = {}
        for name, value in raw:
            key = name.title()
            headers[key] = (headers[key] + ',' + value) if key in headers \
                else value
        return headers
    headers = {}
    for key, value in environ.items():
        if key.startswith('HTTP_'):
            headers[key[5:].replace('_', '-').title()] = value
    for key in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
        if environ.get(key):
            headers[key.replace('_', '-').title()] = environ[key]
    return headers


# -- EC2 Query API signature versions 0, 1 and 2 ------------------------------

def canonical_query_v2(params):
    """``name=value&...`` of every parameter but Signature, sorted by name.

    Names are sorted by their byte order (AWS: "natural byte ordering"), and
    both names and values are RFC 3986 encoded.
    """
    pairs = sorted((k, v) for k, v in _query_pairs(params) if k != 'Signature')
    return '&'.join('%s=%s' % (_quote(k), _quote(v)) for k, v in pairs)


def v2_string_to_sign(method, host, path, params):
    """The SigV2 string to sign: ``METHOD\\nhost\\npath\\ncanonical-query``.

    ``host`` is the Host header exactly as received (boto 2 leaves out the
    port even on a non-default port and signs what it sends) and ``path``
    the request path as received (boto 2 appends a ``/``).
    """
    return '\n'.join([method.upper(), (host or '').lower(), path or '/',
                      canonical_query_v2(params)])


def _v1_string_to_sign(params):
    pairs = sorted(((k, v) for k, v in _query_pairs(params)
                    if k != 'Signature'), key=lambda kv: kv[0].lower())
    return ''.join(k + v for k, v in pairs)


def _v0_string_to_sign(params):
    action = _param(params, 'Action')
    timestamp = _param(params, 'Timestamp')
    if action is None or timestamp is None:
        raise exception.SignatureError(
            'Signature version 0 needs Action and Timestamp.')
    return action + timestamp


def generate_v2(secret, method, host, path, params):
    """The base64 signature of an EC2 Query request.

    The version comes from ``params['SignatureVersion']`` (default 2) and, for
    version 2, the HMAC from ``params['SignatureMethod']`` (default
    HmacSHA256).  Versions 0 and 1 are HmacSHA1 by definition.
    """
    version = str(_param(params, 'SignatureVersion') or '2')
    if version == '2':
        method_name = _param(params, 'SignatureMethod') or 'HmacSHA256'
        digestmod = _V2_METHODS.get(method_name)
        if digestmod is None:
            raise exception.SignatureError(
                'Unsupported SignatureMethod %r (use HmacSHA1 or HmacSHA256).'
                % method_name)
        text = v2_string_to_sign(method, host, path, params)
        return _b64_hmac(secret, text, digestmod)
    if version == '1':
        return _b64_hmac(secret, _v1_string_to_sign(params), hashlib.sha1)
    if version == '0':
        return _b64_hmac(secret, _v0_string_to_sign(params), hashlib.sha1)
    raise exception.SignatureError(
        'Unsupported SignatureVersion %r.' % version)


def verify_v2(secret, method, host, path, params):
    """Raise SignatureError unless ``params['Signature']`` is right.

    ``params`` are the decoded request parameters (query string and form
    body together), Signature included.
    """
    given = _param(params, 'Signature')
    if not given:
        raise exception.SignatureError('The request carries no Signature.')
    expected = generate_v2(secret, method, host, path, params)
    if not _same(expected, given):
        raise exception.SignatureError()


class Signer:
    """The original's object interface over ``generate_v2``.

    ``Signer(secret).generate(params, verb, server_string, path)`` returns
    the signature an EC2 client would send.
    """

    def __init__(self, secret_key):
        self.secret_key = secret_key

    def generate(self, params, verb, server_string, path):
        return generate_v2(self.secret_key, verb, server_string, path, params)


# -- AWS Signature Version 4 ---------------------------------------------------

@dataclasses.dataclass(frozen=True)
class V4Request:
    """What a SigV4 request says about its own signature."""
    access_key: str
    date: str                 # YYYYMMDD of the credential scope
    region: str
    service: str
    signed_headers: tuple     # lower-case names, in the order sent
    signature: str            # hex
    amz_date: str             # X-Amz-Date (YYYYMMDDTHHMMSSZ)
    presigned: bool = False   # True when the signature came in the query
    expires: int = None       # X-Amz-Expires of a presigned request

    @property
    def scope(self):
        return '/'.join([self.date, self.region, self.service,
                         'aws4_request'])


_AUTH_FIELD = re.compile(r'\s*([A-Za-z]+)\s*=\s*([^,\s]*)\s*')


def _split_credential(credential):
    """ACCESS/DATE/REGION/SERVICE/aws4_request -> its five parts.

    Split from the right, so the scope is always the last four fields
    whatever the access key holds (nova's keys look like ``access:project``).
    """
    parts = credential.rsplit('/', 4)
    if len(parts) != 5 or parts[4] != 'aws4_request' or not parts[0]:
        raise exception.SignatureError(
            'Malformed SigV4 credential %r.' % credential)
    if not re.fullmatch(r'\d{8}', parts[1]):
        raise exception.SignatureError(
            'Malformed date in SigV4 credential %r.' % credential)
    return parts


def parse_v4(headers, params=None):
    """A V4Request from the Authorization header or presigned query, else None.

    ``None`` means the request is not SigV4 at all (so the caller tries
    SigV2); a SigV4 request that is malformed raises SignatureError.
    """
    lheaders = _lower_headers(headers)
    auth = lheaders.get('authorization', '')
    if auth.startswith(V4_ALGORITHM):
        fields = {}
        for chunk in auth[len(V4_ALGORITHM):].split(','):
            match = _AUTH_FIELD.fullmatch(chunk)
            if not match:
                raise exception.SignatureError(
                    'Malformed SigV4 Authorization header.')
            fields[match.group(1)] = match.group(2)
        try:
            credential = fields['Credential']
            signed = fields['SignedHeaders']
            signature = fields['Signature']
        except KeyError as e:
            raise exception.SignatureError(
                'SigV4 Authorization header lacks %s.' % e.args[0]) from None
        amz_date = lheaders.get('x-amz-date') or _v4_date_from_http(
            lheaders.get('date'))
        presigned, expires = False, None
    else:
        query = dict(_query_pairs(params)) if params is not None else {}
        if query.get('X-Amz-Algorithm') is None:
            return None
        if query['X-Amz-Algorithm'] != V4_ALGORITHM:
            raise exception.SignatureError(
                'Unsupported X-Amz-Algorithm %r.' % query['X-Amz-Algorithm'])
        try:
            credential = query['X-Amz-Credential']
            signed = query['X-Amz-SignedHeaders']
            signature = query['X-Amz-Signature']
            amz_date = query['X-Amz-Date']
        except KeyError as e:
            raise exception.SignatureError(
                'Presigned SigV4 request lacks %s.' % e.args[0]) from None
        presigned = True
        try:
            expires = int(query.get('X-Amz-Expires', DEFAULT_WINDOW))
        except ValueError:
            raise exception.SignatureError('X-Amz-Expires must be a number.')
        if not 0 < expires <= V4_MAX_EXPIRES:
            raise exception.SignatureError(
                'X-Amz-Expires must be between 1 and %d.' % V4_MAX_EXPIRES)

    access, date, region, service, _term = _split_credential(credential)
    if not amz_date:
        raise exception.SignatureError('SigV4 request has no X-Amz-Date.')
    if amz_date[:8] != date:
        raise exception.SignatureError(
            'The credential scope date %s is not the date of X-Amz-Date %s.'
            % (date, amz_date))
    signed_headers = tuple(h for h in signed.lower().split(';') if h)
    if 'host' not in signed_headers:
        # Without Host the signature could be replayed against any endpoint.
        raise exception.SignatureError('SigV4 requests must sign Host.')
    if not re.fullmatch(r'[0-9a-fA-F]{64}', signature):
        raise exception.SignatureError('Malformed SigV4 signature.')
    return V4Request(access_key=urllib.parse.unquote(access), date=date,
                     region=region, service=service,
                     signed_headers=signed_headers, signature=signature.lower(),
                     amz_date=amz_date, presigned=presigned, expires=expires)


def _v4_date_from_http(value):
    """X-Amz-Date form of an HTTP Date header (allowed instead of X-Amz-Date)."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc)
    return when.strftime('%Y%m%dT%H%M%SZ')


def v4_canonical_uri(path, service):
    """The canonical URI: S3 signs the path as sent, other services normalize
    it (dot segments and doubled slashes removed) and encode it once more."""
    path = path or '/'
    if service == 's3':
        return path
    trailing = len(path) > 1 and path.endswith('/')
    segments = []
    for segment in path.split('/'):
        if segment in ('', '.'):
            continue
        if segment == '..':
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    normalized = '/' + '/'.join(segments)
    if trailing and normalized != '/':
        normalized += '/'
    return _quote(normalized, safe='/~')


def v4_canonical_query(query, presigned=False):
    """Sorted, re-encoded ``name=value`` pairs (X-Amz-Signature left out)."""
    pairs = [(_quote(k), _quote(v)) for k, v in _query_pairs(query)
             if not (presigned and k == 'X-Amz-Signature')]
    return '&'.join('%s=%s' % kv for kv in sorted(pairs))


def _v4_header_value(value):
    return ' '.join(str(value).split())


def v4_payload_hash(v4request, headers, body):
    """What the canonical request names as the payload's hash."""
    lheaders = _lower_headers(headers)
    declared = lheaders.get('x-amz-content-sha256')
    if v4request.presigned and v4request.service == 's3':
        return UNSIGNED_PAYLOAD
    if declared:
        if re.fullmatch(r'[0-9a-fA-F]{64}', declared) and body is not None:
            # The header is what was signed; make sure it is also the truth,
            # or anyone could swap the body under a valid signature.
            actual = hashlib.sha256(_bytes(body)).hexdigest()
            if not hmac.compare_digest(actual, declared.lower()):
                raise exception.SignatureError(
                    'The body does not match x-amz-content-sha256.')
        return declared
    return hashlib.sha256(_bytes(body or b'')).hexdigest()


def v4_canonical_request(v4request, method, path, query, headers, body):
    lheaders = _lower_headers(headers)
    lines = []
    for name in v4request.signed_headers:
        if name not in lheaders:
            raise exception.SignatureError(
                'Signed header %r is missing from the request.' % name)
        lines.append('%s:%s' % (name, _v4_header_value(lheaders[name])))
    return '\n'.join([
        method.upper(),
        v4_canonical_uri(path, v4request.service),
        v4_canonical_query(query, v4request.presigned),
        '\n'.join(lines) + '\n',
        ';'.join(v4request.signed_headers),
        v4_payload_hash(v4request, headers, body),
    ])


def v4_string_to_sign(v4request, canonical_request):
    return '\n'.join([
        V4_ALGORITHM, v4request.amz_date, v4request.scope,
        hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()])


def v4_signing_key(secret, date, region, service):
    key = ('AWS4' + secret).encode('utf-8')
    for part in (date, region, service, 'aws4_request'):
        key = hmac.new(key, part.encode('utf-8'), hashlib.sha256).digest()
    return key


def generate_v4(secret, v4request, method, path, query, headers, body):
    """Hex SigV4 signature of a request described by ``v4request``.

    ``path`` is the request path as sent on the wire (percent-encoded, e.g.
    eventlet's ``RAW_PATH_INFO``); ``query`` the raw query string (or decoded
    pairs); ``body`` the raw body bytes (None when it must not be read, e.g.
    a streamed S3 upload that declares x-amz-content-sha256).
    """
    canonical = v4_canonical_request(v4request, method, path, query, headers,
                                     body)
    key = v4_signing_key(secret, v4request.date, v4request.region,
                         v4request.service)
    return hmac.new(key, v4_string_to_sign(v4request, canonical).encode(),
                    hashlib.sha256).hexdigest()


def verify_v4(secret, v4request, method, path, query, headers, body):
    """Raise SignatureError unless the SigV4 signature is right.

    The credential scope is used exactly as the client sent it: boto 2 derives
    region and service from the host name (``127`` and ``0`` for 127.0.0.1).
    """
    expected = generate_v4(secret, v4request, method, path, query, headers,
                           body)
    if not _same(expected, v4request.signature):
        raise exception.SignatureError()


# -- timestamps ----------------------------------------------------------------

def _parse_time(name, text):
    """A naive UTC datetime from ISO 8601, SigV4 basic or HTTP-date text."""
    text = str(text).strip()
    for fmt in ('%Y%m%dT%H%M%SZ', '%Y-%m-%dT%H:%M:%SZ',
                '%Y-%m-%dT%H:%M:%S.%fZ'):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            pass
    try:
        parsed = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except ValueError:
        parsed = None
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            pass
    if parsed is None:
        raise exception.InvalidParameterValue(
            reason='%s %r is not a valid time.' % (name, text))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return parsed


def check_timestamp(values, window=DEFAULT_WINDOW, now=None):
    """Refuse a request whose time is outside ``window`` seconds of now.

    ``values`` are the request parameters or headers (names matched without
    regard to case).  The first present of these decides:

    * ``X-Amz-Date`` (SigV4 header or presigned query); with ``X-Amz-Expires``
      the request is valid from that time until it expires;
    * ``Timestamp`` (SigV2, ISO 8601), within the window either side of now;
    * ``Expires`` (SigV2, ISO 8601 or S3 epoch seconds): valid until then;
    * ``Date`` (HTTP date header, S3).

    Raises RequestExpired, MissingParameter when none is present, and
    InvalidParameterValue for an unreadable time.  ``now`` (naive UTC) is for
    tests.
    """
    if now is None:
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    slack = datetime.timedelta(seconds=window)

    amz_date = _param(values, 'X-Amz-Date')
    if amz_date:
        signed_at = _parse_time('X-Amz-Date', amz_date)
        expires = _param(values, 'X-Amz-Expires')
        if signed_at > now + slack:
            raise exception.RequestExpired(
                'X-Amz-Date %s is in the future.' % amz_date)
        if expires is not None:
            try:
                life = datetime.timedelta(seconds=int(expires))
            except ValueError:
                raise exception.InvalidParameterValue(
                    reason='X-Amz-Expires must be a number.') from None
            if now > signed_at + life:
                raise exception.RequestExpired()
        elif now - signed_at > slack:
            raise exception.RequestExpired()
        return

    timestamp = _param(values, 'Timestamp')
    if timestamp:
        signed_at = _parse_time('Timestamp', timestamp)
        if abs(now - signed_at) > slack:
            raise exception.RequestExpired(
                'Request timestamp %s is more than %d seconds from now.'
                % (timestamp, window))
        return

    expires = _param(values, 'Expires')
    if expires:
        if re.fullmatch(r'\d+', str(expires).strip()):
            until = datetime.datetime(1970, 1, 1) + datetime.timedelta(
                seconds=int(expires))
        else:
            until = _parse_time('Expires', expires)
        if now > until:
            raise exception.RequestExpired()
        return

    date = _param(values, 'Date')
    if date:
        signed_at = _parse_time('Date', date)
        if abs(now - signed_at) > slack:
            raise exception.RequestExpired(
                'Request date %s is more than %d seconds from now.'
                % (date, window))
        return

    raise exception.MissingParameter(name='Timestamp')


# -- S3 header signature (AWS signature version "1" for S3) -------------------

def _s3_resource(path, query):
    """The path as sent plus the sub-resource arguments, sorted by name."""
    if isinstance(query, bytes):
        query = query.decode('latin-1')
    if isinstance(query, str):
        parts = []
        for part in query.split('&'):
            name, sep, value = part.partition('=')
            if name in S3_SUB_RESOURCES:
                parts.append((name, (sep + urllib.parse.unquote(value))
                              if sep else ''))
    else:
        parts = [(k, ('=' + v) if v != '' else '')
                 for k, v in _query_pairs(query) if k in S3_SUB_RESOURCES]
    resource = path or '/'
    if parts:
        parts.sort(key=lambda kv: kv[0])
        resource += '?' + '&'.join(k + v for k, v in parts)
    return resource


def s3_string_to_sign(method, path, headers, query=None, expires=None):
    """The S3 canonical string that ``Authorization: AWS key:sig`` signs.

    ``path`` is the request path as sent (``/bucket/key``, path-style as
    boto's OrdinaryCallingFormat uses); ``query`` the raw query string or
    decoded pairs (only sub-resources such as ``acl`` count);
    ``expires`` replaces the date for query-string authentication.
    """
    lheaders = _lower_headers(headers)
    amz = {}
    for name, value in lheaders.items():
        if name.startswith('x-amz-'):
            amz[name] = ','.join(v.strip() for v in value.split(','))
    if expires is not None:
        date = str(expires)
    elif 'x-amz-date' in amz:
        date = ''       # x-amz-date is signed among the x-amz-* headers
    else:
        date = lheaders.get('date', '').strip()
    lines = [method.upper(),
             lheaders.get('content-md5', '').strip(),
             lheaders.get('content-type', '').strip(),
             date]
    lines.extend('%s:%s' % (name, amz[name]) for name in sorted(amz))
    lines.append(_s3_resource(path, query))
    return '\n'.join(lines)


def s3_signature(secret, method, path, headers, query=None, expires=None):
    """Base64 HMAC-SHA1 of the S3 canonical string."""
    return _b64_hmac(secret, s3_string_to_sign(method, path, headers, query,
                                               expires), hashlib.sha1)


S3Auth = collections.namedtuple('S3Auth', 'access_key signature expires')


def parse_s3_auth(headers, query=None):
    """S3Auth from ``Authorization: AWS ACCESS:SIG`` or a presigned query.

    ACCESS may itself hold a colon (nova's ``access:project`` form); the
    signature is what follows the last colon.  Returns None when the request
    carries no S3 v2 credentials at all.
    """
    lheaders = _lower_headers(headers)
    auth = lheaders.get('authorization')
    if auth is not None:
        scheme, _sep, rest = auth.strip().partition(' ')
        if scheme != 'AWS':
            return None
        access, sep, signature = rest.strip().rpartition(':')
        if not sep or not access or not signature:
            raise exception.SignatureError(
                'Malformed S3 Authorization header.')
        return S3Auth(access, signature, None)
    q = dict(_query_pairs(query)) if query is not None else {}
    if q.get('AWSAccessKeyId') and q.get('Signature'):
        return S3Auth(q['AWSAccessKeyId'], q['Signature'], q.get('Expires'))
    return None


def verify_s3(secret, s3auth, method, path, headers, query=None):
    """Raise SignatureError unless the S3 signature of the request is right."""
    expected = s3_signature(secret, method, path, headers, query,
                            s3auth.expires)
    if not _same(expected, s3auth.signature):
        raise exception.SignatureError()


def epoch(when):
    """Seconds since the epoch of a naive UTC datetime (for S3 Expires)."""
    return calendar.timegm(when.timetuple())
