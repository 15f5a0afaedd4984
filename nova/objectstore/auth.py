"""Who is calling the objectstore, and how their request body is checked.

``authenticate(environ, method, auth_manager)`` accepts, like S3:

* ``Authorization: AWS ACCESS:SIGNATURE`` (S3 SigV2, boto 2);
* SigV2 presigned URLs (``AWSAccessKeyId``, ``Expires``, ``Signature``);
* ``Authorization: AWS4-HMAC-SHA256 ...`` (SigV4, boto3) with
  ``x-amz-content-sha256`` a hex digest, ``UNSIGNED-PAYLOAD`` or one of the
  ``STREAMING-*`` modes of ``aws-chunked`` uploads;
* SigV4 presigned URLs (``X-Amz-Algorithm`` ... in the query).

ACCESS may be ``access:project`` as nova's novarc writes it.  The path and
headers are taken as the client sent them (``signer.request_path`` and
``signer.request_headers``).

Differences from the original, on purpose: the original (Twisted) answered
every auth failure with an empty 403 and never looked at the request's
time, so a captured request could be replayed forever; here failures are
S3 error documents and a request is only good within
``signer.DEFAULT_WINDOW`` seconds (15 minutes) of its Date/X-Amz-Date, or
until a presigned URL's expiry.
"""

import dataclasses
import re
import urllib.parse

from nova import exception
from nova.auth import signer
from nova.objectstore import body
from nova.objectstore import errors


@dataclasses.dataclass
class Identity:
    user: object
    project: object
    is_admin: bool
    policy: body.BodyPolicy

    @property
    def project_id(self):
        return self.project.id


def _lower(headers):
    return {k.lower(): v for k, v in headers.items()}


def parse_query(query_string):
    """Decoded query arguments, first value of each name.

    Decoded with ``unquote``, not ``unquote_plus``: S3 clients encode a
    space as ``%20``, and a ``+`` in a prefix or key is a plus sign.
    """
    result = {}
    for part in (query_string or '').split('&'):
        if not part:
            continue
        name, _sep, value = part.partition('=')
        result.setdefault(urllib.parse.unquote(name),
                          urllib.parse.unquote(value))
    return result


def authenticate(environ, auth_manager, now=None):
    """The caller's Identity, or an S3Error saying why not."""
    method = environ['REQUEST_METHOD']
    path = signer.request_path(environ)
    headers = signer.request_headers(environ)
    query = environ.get('QUERY_STRING', '')
    lheaders = _lower(headers)

    try:
        v4 = signer.parse_v4(headers, query)
    except exception.SignatureError as e:
        raise errors.AuthorizationHeaderMalformed(str(e)) from None
    if v4 is not None:
        return _authenticate_v4(v4, environ, method, path, query, headers,
                                lheaders, auth_manager, now)

    try:
        s3auth = signer.parse_s3_auth(headers, query)
    except exception.SignatureError as e:
        raise errors.InvalidArgument(str(e)) from None
    if s3auth is None:
        if 'authorization' in lheaders:
            raise errors.InvalidArgument('Unsupported Authorization type.')
        raise errors.AccessDenied('Anonymous access is forbidden: sign the '
                                  'request.')

    def verify(secret):
        try:
            signer.verify_s3(secret, s3auth, method, path, headers, query)
        except exception.SignatureError:
            raise errors.SignatureDoesNotMatch() from None
        if s3auth.expires is not None:
            _check_time({'Expires': s3auth.expires}, now, presigned=True)
        else:
            _check_time({'X-Amz-Date': lheaders.get('x-amz-date'),
                         'Date': lheaders.get('date')}, now)

    user, project = _lookup(auth_manager, s3auth.access_key, verify)
    policy = body.BodyPolicy(checksums=_header_checksums(lheaders))
    return Identity(user, project, auth_manager.is_admin(user), policy)


def _authenticate_v4(v4, environ, method, path, query, headers, lheaders,
                     auth_manager, now):
    declared = lheaders.get('x-amz-content-sha256')
    if not v4.presigned and not declared:
        raise errors.InvalidRequest('Missing required header for this '
                                    'request: x-amz-content-sha256')
    policy = body.BodyPolicy(checksums=_header_checksums(lheaders))
    if v4.presigned or declared == signer.UNSIGNED_PAYLOAD:
        pass
    elif re.fullmatch(r'[0-9a-fA-F]{64}', declared):
        policy.sha256 = declared.lower()
    elif declared in body.STREAMING_MODES:
        if 'aws-chunked' not in lheaders.get('content-encoding', '').lower() \
                and 'x-amz-decoded-content-length' not in lheaders:
            raise errors.InvalidRequest('%s needs an aws-chunked body.'
                                        % declared)
        policy.streaming = declared
        policy.decoded_length = _int_header(lheaders,
                                            'x-amz-decoded-content-length')
        policy.trailer_names = tuple(
            n.strip().lower()
            for n in lheaders.get('x-amz-trailer', '').split(',')
            if n.strip())
    else:
        raise errors.InvalidArgument('x-amz-content-sha256 must be '
                                     'UNSIGNED-PAYLOAD, STREAMING-... or a '
                                     'SHA-256 hex digest.')

    def verify(secret):
        try:
            # body=None: the body is streamed and checked against the
            # declared digest while it is read (see nova.objectstore.body).
            signer.verify_v4(secret, v4, method, path, query, headers, None)
        except exception.SignatureError:
            raise errors.SignatureDoesNotMatch() from None
        if v4.presigned:
            _check_time(parse_query(query), now, presigned=True)
        else:
            _check_time({'X-Amz-Date': v4.amz_date}, now)
        if policy.streaming:
            policy.chunk_signer = body.ChunkSigner(
                signing_key=signer.v4_signing_key(secret, v4.date, v4.region,
                                                  v4.service),
                amz_date=v4.amz_date, scope=v4.scope,
                seed_signature=v4.signature)

    user, project = _lookup(auth_manager, v4.access_key, verify)
    return Identity(user, project, auth_manager.is_admin(user), policy)


def _int_header(lheaders, name):
    text = lheaders.get(name)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise errors.InvalidArgument('%s must be a number.' % name) from None


def _header_checksums(lheaders):
    sums = {}
    for alg in body.KNOWN_CHECKSUMS:
        value = lheaders.get('x-amz-checksum-' + alg)
        if value:
            sums[alg] = value.strip()
    return sums


def _check_time(values, now, presigned=False):
    try:
        signer.check_timestamp(values, now=now)
    except exception.RequestExpired:
        if presigned:
            raise errors.AccessDenied('Request has expired') from None
        raise errors.RequestTimeTooSkewed() from None
    except (exception.MissingParameter, exception.InvalidParameterValue):
        raise errors.AccessDenied('AWS authentication requires a valid Date '
                                  'or x-amz-date header') from None


def _lookup(auth_manager, access, verify):
    """(user, project) of the access key after ``verify(secret)`` passed.

    The auth manager raises NotAuthenticated both for an unknown access key
    (before it calls ``verify``) and for an unknown project (after): which
    one it was is told by whether ``verify`` ran.
    """
    verified = []

    def _verify(secret):
        verify(secret)
        verified.append(True)

    try:
        return auth_manager.authenticate_ec2(access, _verify)
    except exception.NotAuthenticated as e:
        if not verified:
            raise errors.InvalidAccessKeyId() from None
        raise errors.AccessDenied(str(e)) from None
    except exception.NotAuthorized as e:
        # SignatureError/RequestExpired are NotAuthorized too, but verify
        # turns them into S3 errors itself; what is left is "not a member".
        raise errors.AccessDenied(str(e)) from None
