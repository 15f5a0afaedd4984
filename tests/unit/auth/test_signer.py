"""Signatures made by the real clients (boto 2.49, botocore) verify with ours.

The clients talk to a small recording HTTP server on loopback, so what is
verified is exactly what they put on the wire (Host header, path, body).
"""

import base64
import datetime
import hashlib
import hmac
import http.server
import threading
import urllib.parse

import pytest

from nova import exception
from nova.auth import signer

ACCESS = 'AKIDEXAMPLE:myproject'
SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'

EC2_REPLY = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
             b'<DescribeInstancesResponse '
             b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
             b'<requestId>req-1</requestId><reservationSet/>'
             b'</DescribeInstancesResponse>')


class Captured:
    def __init__(self, method, raw_path, headers, body):
        self.method = method
        self.raw_path = raw_path
        self.headers = headers
        self.body = body

    @property
    def path(self):
        return self.raw_path.partition('?')[0]

    @property
    def query(self):
        return self.raw_path.partition('?')[2]

    def params(self):
        """Query and form parameters, decoded as a WSGI framework would."""
        params = dict(urllib.parse.parse_qsl(self.query,
                                             keep_blank_values=True))
        ctype = self.headers.get('Content-Type', '')
        if ctype.startswith('application/x-www-form-urlencoded'):
            params.update(urllib.parse.parse_qsl(self.body.decode(),
                                                 keep_blank_values=True))
        return params


class _Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def _handle(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        self.server.captured.append(
            Captured(self.command, self.path, dict(self.headers.items()), body))
        reply = EC2_REPLY if self.server.ec2 else b''
        self.send_response(200)
        self.send_header('Content-Type', 'text/xml')
        self.send_header('Content-Length', str(len(reply)))
        self.send_header('ETag', '"%s"' % hashlib.md5(body).hexdigest())
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Recorder)
    server.captured = []
    server.ec2 = True
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={'poll_interval': 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def verify_ec2(cap, secret=SECRET):
    """What the EC2 API does with a request: returns the access key."""
    v4 = signer.parse_v4(cap.headers, cap.query)
    if v4 is not None:
        signer.check_timestamp(cap.params() if v4.presigned else cap.headers)
        signer.verify_v4(secret, v4, cap.method, cap.path, cap.query,
                         cap.headers, cap.body)
        return v4.access_key
    params = cap.params()
    signer.check_timestamp(params)
    signer.verify_v2(secret, cap.method, cap.headers['Host'], cap.path, params)
    return params['AWSAccessKeyId']


def verify_s3(cap, secret=SECRET):
    auth = signer.parse_s3_auth(cap.headers, cap.query)
    if auth is None:
        v4 = signer.parse_v4(cap.headers, cap.query)
        signer.verify_v4(secret, v4, cap.method, cap.path, cap.query,
                         cap.headers, cap.body)
        return v4.access_key
    signer.check_timestamp(cap.headers if auth.expires is None
                           else {'Expires': auth.expires})
    signer.verify_s3(secret, auth, cap.method, cap.path, cap.headers,
                     cap.query)
    return auth.access_key


# -- boto 2.49 over loopback ---------------------------------------------------

def _boto2_ec2(port, sigv2=False, secret=SECRET):
    from boto.ec2.connection import EC2Connection
    from boto.ec2.regioninfo import RegionInfo

    cls = EC2Connection
    if sigv2:
        class SigV2Connection(EC2Connection):
            def _required_auth_capability(self):
                return ['ec2']
        cls = SigV2Connection
    return cls(aws_access_key_id=ACCESS, aws_secret_access_key=secret,
               is_secure=False, port=port, path='/services/Cloud',
               region=RegionInfo(name='nova', endpoint='127.0.0.1'))


def test_boto2_sigv4_with_scope_from_host_name(recorder):
    conn = _boto2_ec2(recorder.server_port)
    conn.get_all_instances(instance_ids=['i-00000001'])
    cap, = recorder.captured
    assert cap.headers['Authorization'].startswith('AWS4-HMAC-SHA256')
    v4 = signer.parse_v4(cap.headers, cap.query)
    # boto 2 derives region and service from "127.0.0.1".
    assert (v4.region, v4.service) == ('0', '127')
    assert verify_ec2(cap) == ACCESS


def test_boto2_sigv4_wrong_secret_and_tampered_body(recorder):
    _boto2_ec2(recorder.server_port).get_all_instances()
    cap, = recorder.captured
    with pytest.raises(exception.SignatureError):
        verify_ec2(cap, secret='not-the-secret')
    cap.body = cap.body.replace(b'DescribeInstances', b'TerminateInstances')
    with pytest.raises(exception.SignatureError):
        verify_ec2(cap)


def test_boto2_sigv2_signs_host_without_port(recorder):
    conn = _boto2_ec2(recorder.server_port, sigv2=True)
    conn.get_all_instances()
    cap, = recorder.captured
    params = cap.params()
    assert params['SignatureVersion'] == '2'
    assert params['SignatureMethod'] == 'HmacSHA256'
    assert cap.headers['Host'] == '127.0.0.1'      # the quirk: no port
    assert cap.path == '/services/Cloud/'          # and a trailing slash
    assert verify_ec2(cap) == ACCESS
    # A verifier that rebuilt host:port would refuse it.
    with pytest.raises(exception.SignatureError):
        signer.verify_v2(SECRET, cap.method,
                         '127.0.0.1:%d' % recorder.server_port, cap.path,
                         params)


def test_boto2_sigv2_tampered_parameter(recorder):
    _boto2_ec2(recorder.server_port, sigv2=True).get_all_instances(
        instance_ids=['i-00000001'])
    cap, = recorder.captured
    params = cap.params()
    params['InstanceId.1'] = 'i-00000002'
    with pytest.raises(exception.SignatureError):
        signer.verify_v2(SECRET, cap.method, cap.headers['Host'], cap.path,
                         params)


def test_boto2_s3_header_signature(recorder):
    from boto.s3.connection import OrdinaryCallingFormat, S3Connection
    recorder.ec2 = False
    conn = S3Connection(ACCESS, SECRET, host='127.0.0.1',
                        port=recorder.server_port, is_secure=False,
                        calling_format=OrdinaryCallingFormat())
    bucket = conn.get_bucket('images', validate=False)
    key = bucket.new_key('my image+1.tar.gz')
    key.set_contents_from_string(b'bundle bytes',
                                 headers={'x-amz-meta-kind': 'bundle',
                                          'Content-Type': 'application/x-tar'})
    try:
        bucket.get_acl()              # GET /images/?acl: a sub-resource
    except Exception:
        pass                          # the recorder's reply is not an ACL
    put, acl = recorder.captured
    assert put.headers['Authorization'].startswith('AWS %s:' % ACCESS)
    assert '%20' in put.path
    assert verify_s3(put) == ACCESS
    assert acl.query == 'acl'
    assert verify_s3(acl) == ACCESS
    # The sub-resource is part of the signature.
    with pytest.raises(exception.SignatureError):
        signer.verify_s3(SECRET, signer.parse_s3_auth(acl.headers),
                         acl.method, acl.path, acl.headers, '')
    tampered = dict(put.headers, **{'x-amz-meta-kind': 'other'})
    with pytest.raises(exception.SignatureError):
        signer.verify_s3(SECRET, signer.parse_s3_auth(put.headers), put.method,
                         put.path, tampered, put.query)


# -- botocore over loopback ----------------------------------------------------

def _boto3_client(service, port, **config):
    import boto3
    from botocore.config import Config
    return boto3.session.Session().client(
        service, endpoint_url='http://127.0.0.1:%d' % port,
        region_name='nova', aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
        config=Config(retries={'max_attempts': 1}, **config))


def test_boto3_ec2_sigv4(recorder):
    ec2 = _boto3_client('ec2', recorder.server_port)
    ec2.describe_instances(InstanceIds=['i-00000001'])
    cap, = recorder.captured
    v4 = signer.parse_v4(cap.headers, cap.query)
    assert (v4.region, v4.service) == ('nova', 'ec2')
    assert verify_ec2(cap) == ACCESS
    with pytest.raises(exception.SignatureError):
        verify_ec2(cap, secret=SECRET + 'x')


def test_boto3_ec2_sigv2(recorder):
    ec2 = _boto3_client('ec2', recorder.server_port, signature_version='v2')
    ec2.describe_instances()
    cap, = recorder.captured
    assert cap.params()['SignatureVersion'] == '2'
    assert cap.headers['Host'] == '127.0.0.1:%d' % recorder.server_port
    assert verify_ec2(cap) == ACCESS


def test_boto3_s3_sigv4_put(recorder):
    recorder.ec2 = False
    s3 = _boto3_client('s3', recorder.server_port,
                       s3={'addressing_style': 'path'})
    s3.put_object(Bucket='images', Key='dir/a b~c.txt', Body=b'payload')
    cap = recorder.captured[0]
    assert cap.headers['Authorization'].startswith('AWS4-HMAC-SHA256')
    assert 'x-amz-content-sha256' in {k.lower() for k in cap.headers}
    assert verify_s3(cap) == ACCESS


def test_boto3_s3_hmac_v1(recorder):
    recorder.ec2 = False
    s3 = _boto3_client('s3', recorder.server_port, signature_version='s3',
                       s3={'addressing_style': 'path'})
    s3.put_object(Bucket='images', Key='k1', Body=b'payload',
                  ContentType='text/plain', Metadata={'a': 'b'})
    cap = recorder.captured[0]
    assert cap.headers['Authorization'].startswith('AWS %s:' % ACCESS)
    assert verify_s3(cap) == ACCESS


def test_botocore_presigned_urls():
    s3 = _boto3_client('s3', 1, s3={'addressing_style': 'path'})
    url = s3.generate_presigned_url(
        'get_object', Params={'Bucket': 'images', 'Key': 'k 1'},
        ExpiresIn=300)
    split = urllib.parse.urlsplit(url)
    cap = Captured('GET', split.path + '?' + split.query,
                   {'Host': split.netloc}, b'')
    v4 = signer.parse_v4(cap.headers, cap.query)
    assert v4.presigned and v4.expires == 300
    assert verify_ec2(cap) == ACCESS      # timestamp + signature
    forged = Captured('GET', cap.raw_path.replace('k%201', 'k%202'),
                      cap.headers, b'')
    with pytest.raises(exception.SignatureError):
        verify_ec2(forged)

    s3v2 = _boto3_client('s3', 1, signature_version='s3',
                         s3={'addressing_style': 'path'})
    url = s3v2.generate_presigned_url(
        'get_object', Params={'Bucket': 'images', 'Key': 'k1'}, ExpiresIn=60)
    split = urllib.parse.urlsplit(url)
    cap = Captured('GET', split.path + '?' + split.query,
                   {'Host': split.netloc}, b'')
    assert verify_s3(cap) == ACCESS


# -- signature details ---------------------------------------------------------

def _v2_params(**extra):
    params = {'Action': 'DescribeImages', 'AWSAccessKeyId': ACCESS,
              'SignatureVersion': '2', 'SignatureMethod': 'HmacSHA256',
              'Timestamp': datetime.datetime.utcnow().strftime(
                  '%Y-%m-%dT%H:%M:%SZ'),
              'Version': '2009-04-04', 'Owner.1': 'self ~/x+y*'}
    params.update(extra)
    return params


def test_v2_string_to_sign_is_rfc3986_and_byte_ordered():
    params = {'b': 'x y', 'B': '~*', 'a.1': 'é', 'Signature': 'ignored'}
    text = signer.v2_string_to_sign('get', 'Example.COM:8773', '/p', params)
    assert text == 'GET\nexample.com:8773\n/p\nB=~%2A&a.1=%C3%A9&b=x%20y'


@pytest.mark.parametrize('method_name,digestmod',
                         [('HmacSHA1', hashlib.sha1),
                          ('HmacSHA256', hashlib.sha256)])
def test_v2_honours_signature_method(method_name, digestmod):
    params = _v2_params(SignatureMethod=method_name)
    text = signer.v2_string_to_sign('POST', 'h:1', '/services/Cloud', params)
    expected = base64.b64encode(hmac.new(SECRET.encode(), text.encode(),
                                         digestmod).digest()).decode()
    assert signer.generate_v2(SECRET, 'POST', 'h:1', '/services/Cloud',
                              params) == expected
    params['Signature'] = expected
    signer.verify_v2(SECRET, 'POST', 'h:1', '/services/Cloud', params)


def test_v2_refuses_unknown_method_and_version():
    with pytest.raises(exception.SignatureError):
        signer.generate_v2(SECRET, 'GET', 'h', '/', _v2_params(
            SignatureMethod='HmacMD5'))
    with pytest.raises(exception.SignatureError):
        signer.generate_v2(SECRET, 'GET', 'h', '/', _v2_params(
            SignatureVersion='3'))
    with pytest.raises(exception.SignatureError):
        signer.verify_v2(SECRET, 'GET', 'h', '/', _v2_params())   # unsigned


def test_v0_and_v1():
    params = _v2_params(SignatureVersion='0')
    sig0 = base64.b64encode(hmac.new(
        SECRET.encode(), (params['Action'] + params['Timestamp']).encode(),
        hashlib.sha1).digest()).decode()
    assert signer.Signer(SECRET).generate(params, 'GET', 'h', '/') == sig0

    params = {'Action': 'X', 'aB': '1', 'Ac': '2', 'SignatureVersion': '1'}
    text = 'aB1' + 'Ac2' + 'Action' + 'X' + 'SignatureVersion1'
    sig1 = base64.b64encode(hmac.new(SECRET.encode(), text.encode(),
                                     hashlib.sha1).digest()).decode()
    params['Signature'] = sig1
    signer.verify_v2(SECRET, 'GET', 'h', '/', params)


def test_v4_known_answer():
    """The AWS documentation's GET example (iam, us-east-1)."""
    headers = {'Host': 'iam.amazonaws.com',
               'Content-Type':
                   'application/x-www-form-urlencoded; charset=utf-8',
               'X-Amz-Date': '20150830T123600Z',
               'Authorization': (
                   'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/'
                   'us-east-1/iam/aws4_request, SignedHeaders=content-type;'
                   'host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfb'
                   'a6789a8edb4c82c400e06b5924a6f2b5d7')}
    v4 = signer.parse_v4(headers, 'Action=ListUsers&Version=2010-05-08')
    assert v4.access_key == 'AKIDEXAMPLE'
    assert v4.signed_headers == ('content-type', 'host', 'x-amz-date')
    signer.verify_v4(SECRET, v4, 'GET', '/',
                     'Action=ListUsers&Version=2010-05-08', headers, b'')
    with pytest.raises(exception.SignatureError):
        signer.verify_v4(SECRET, v4, 'GET', '/',
                         'Action=ListUsers&Version=2010-05-09', headers, b'')


def test_v4_malformed_headers_are_signature_errors():
    base = {'Host': 'h', 'X-Amz-Date': '20150830T123600Z'}
    sig = 'a' * 64
    for auth in ['AWS4-HMAC-SHA256 Credential=AK/20150830/r/s/aws4_request',
                 'AWS4-HMAC-SHA256 Credential=AK/2015/r/s/aws4_request, '
                 'SignedHeaders=host, Signature=%s' % sig,
                 'AWS4-HMAC-SHA256 Credential=AK/20150831/r/s/aws4_request, '
                 'SignedHeaders=host, Signature=%s' % sig,
                 'AWS4-HMAC-SHA256 Credential=AK/20150830/r/s/aws4_request, '
                 'SignedHeaders=x-amz-date, Signature=%s' % sig,
                 'AWS4-HMAC-SHA256 Credential=AK/20150830/r/s/aws4_request, '
                 'SignedHeaders=host, Signature=zz']:
        with pytest.raises(exception.SignatureError):
            signer.parse_v4(dict(base, Authorization=auth))
    assert signer.parse_v4(base, 'Action=X') is None


def test_v4_signed_header_missing_and_body_hash_mismatch():
    auth = ('AWS4-HMAC-SHA256 Credential=AK/20150830/r/s3/aws4_request, '
            'SignedHeaders=host;x-amz-content-sha256;x-amz-meta-a, '
            'Signature=' + 'a' * 64)
    headers = {'Host': 'h', 'X-Amz-Date': '20150830T123600Z',
               'Authorization': auth,
               'x-amz-content-sha256': hashlib.sha256(b'good').hexdigest()}
    v4 = signer.parse_v4(headers)
    with pytest.raises(exception.SignatureError, match='x-amz-meta-a'):
        signer.verify_v4(SECRET, v4, 'PUT', '/b/k', '', headers, b'good')
    headers['x-amz-meta-a'] = '1'
    with pytest.raises(exception.SignatureError, match='does not match'):
        signer.verify_v4(SECRET, v4, 'PUT', '/b/k', '', headers, b'evil')


def test_v4_canonical_uri_rules():
    assert signer.v4_canonical_uri('/a/./b//c/../d/', 'ec2') == '/a/b/d/'
    assert signer.v4_canonical_uri('/a%20b', 'ec2') == '/a%2520b'
    assert signer.v4_canonical_uri('/a%20b//c', 's3') == '/a%20b//c'
    assert signer.v4_canonical_uri('', 'ec2') == '/'


# -- timestamps ----------------------------------------------------------------

NOW = datetime.datetime(2011, 2, 3, 12, 0, 0)


def test_timestamp_window():
    signer.check_timestamp({'Timestamp': '2011-02-03T11:50:00Z'}, now=NOW)
    signer.check_timestamp({'Timestamp': '2011-02-03T12:10:00.123Z'}, now=NOW)
    for stale in ('2011-02-03T11:44:59Z', '2011-02-03T12:15:01Z'):
        with pytest.raises(exception.RequestExpired):
            signer.check_timestamp({'Timestamp': stale}, now=NOW)
    with pytest.raises(exception.RequestExpired):
        signer.check_timestamp({'Timestamp': '2011-02-03T11:59:00Z'},
                               window=30, now=NOW)


def test_expires_and_amz_date():
    signer.check_timestamp({'Expires': '2011-02-03T12:00:01Z'}, now=NOW)
    with pytest.raises(exception.RequestExpired):
        signer.check_timestamp({'Expires': '2011-02-03T11:59:59Z'}, now=NOW)
    epoch = signer.epoch(NOW)
    signer.check_timestamp({'Expires': str(epoch + 5)}, now=NOW)
    with pytest.raises(exception.RequestExpired):
        signer.check_timestamp({'Expires': str(epoch - 5)}, now=NOW)

    signer.check_timestamp({'x-amz-date': '20110203T115500Z'}, now=NOW)
    with pytest.raises(exception.RequestExpired):
        signer.check_timestamp({'X-Amz-Date': '20110203T114000Z'}, now=NOW)
    with pytest.raises(exception.RequestExpired):
        signer.check_timestamp({'X-Amz-Date': '20110203T122000Z'}, now=NOW)
    # Presigned: valid for X-Amz-Expires after signing, not the window.
    signer.check_timestamp({'X-Amz-Date': '20110203T100000Z',
                            'X-Amz-Expires': '7200'}, now=NOW)
    with pytest.raises(exception.RequestExpired):
        signer.check_timestamp({'X-Amz-Date': '20110203T100000Z',
                                'X-Amz-Expires': '3599'}, now=NOW)
    signer.check_timestamp({'Date': 'Thu, 03 Feb 2011 12:01:00 GMT'}, now=NOW)
    with pytest.raises(exception.RequestExpired):
        signer.check_timestamp({'Date': 'Thu, 03 Feb 2011 10:00:00 GMT'},
                               now=NOW)


def test_timestamp_missing_or_garbage():
    with pytest.raises(exception.MissingParameter):
        signer.check_timestamp({'Action': 'X'}, now=NOW)
    with pytest.raises(exception.InvalidParameterValue):
        signer.check_timestamp({'Timestamp': 'yesterday'}, now=NOW)


def test_boto2_request_replayed_later_is_expired(recorder):
    _boto2_ec2(recorder.server_port, sigv2=True).get_all_instances()
    cap, = recorder.captured
    later = datetime.datetime.utcnow() + datetime.timedelta(hours=1)
    with pytest.raises(exception.RequestExpired):
        signer.check_timestamp(cap.params(), now=later)


# -- S3 canonical string ---------------------------------------------------------

def test_s3_string_to_sign():
    headers = {'Content-Type': 'text/plain', 'Content-MD5': 'abc==',
               'Date': 'Thu, 03 Feb 2011 12:00:00 GMT',
               'X-Amz-Meta-B': ' two ', 'x-amz-acl': 'private'}
    text = signer.s3_string_to_sign(
        'put', '/bucket/a%20b', headers,
        'uploadId=u%2F1&partNumber=2&foo=bar&acl')
    assert text == ('PUT\nabc==\ntext/plain\nThu, 03 Feb 2011 12:00:00 GMT\n'
                    'x-amz-acl:private\nx-amz-meta-b:two\n'
                    '/bucket/a%20b?acl&partNumber=2&uploadId=u/1')
    headers['x-amz-date'] = headers.pop('Date')
    assert '\n\nx-amz-acl' in signer.s3_string_to_sign('GET', '/', headers)


def test_parse_s3_auth_keeps_colons_in_access_key():
    auth = signer.parse_s3_auth({'Authorization': 'AWS ak:proj:c2lnbg=='})
    assert auth == ('ak:proj', 'c2lnbg==', None)
    assert signer.parse_s3_auth({}) is None
    assert signer.parse_s3_auth({'Authorization': 'Bearer x'}) is None
    with pytest.raises(exception.SignatureError):
        signer.parse_s3_auth({'Authorization': 'AWS nocolon'})


# -- the documented recipe, behind nova.wsgi.Server ----------------------------

def _verifying_app(kind):
    import webob
    import webob.dec

    @webob.dec.wsgify
    def app(req):
        path = signer.request_path(req.environ)
        headers = signer.request_headers(req.environ)
        try:
            if kind == 's3' and signer.parse_s3_auth(headers,
                                                     req.query_string):
                auth = signer.parse_s3_auth(headers, req.query_string)
                assert auth.access_key == ACCESS
                signer.check_timestamp(headers)
                signer.verify_s3(SECRET, auth, req.method, path, headers,
                                 req.query_string)
            else:
                v4 = signer.parse_v4(headers, req.query_string)
                if v4 is not None:
                    assert v4.access_key == ACCESS
                    signer.check_timestamp(req.GET if v4.presigned
                                           else headers)
                    signer.verify_v4(SECRET, v4, req.method, path,
                                     req.query_string, headers, req.body)
                else:
                    assert req.params['AWSAccessKeyId'] == ACCESS
                    signer.check_timestamp(req.params)
                    signer.verify_v2(SECRET, req.method, req.host, path,
                                     req.params)
        except (exception.SignatureError, exception.RequestExpired) as e:
            return webob.Response(status=403, text=str(e))
        body = EC2_REPLY if kind == 'ec2' else b''
        return webob.Response(body=body, content_type='text/xml',
                              headers={'ETag': '"%s"' % hashlib.md5(
                                  req.body).hexdigest()})
    return app


def _call_in_thread(fn):
    """Run a blocking client call while this thread's eventlet hub serves."""
    import eventlet
    outcome = {}

    def run():
        try:
            outcome['result'] = fn()
        except Exception as e:          # noqa: BLE001 - reported below
            outcome['error'] = e
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    for _ in range(3000):               # at most ~30 s
        if not thread.is_alive():
            break
        eventlet.sleep(0.01)
    thread.join(1)
    assert not thread.is_alive(), 'client call did not finish'
    if 'error' in outcome:
        raise outcome['error']
    return outcome.get('result')


@pytest.fixture
def nova_server():
    from nova import wsgi
    servers = []

    def start(kind):
        server = wsgi.Server('signed', _verifying_app(kind), host='127.0.0.1')
        servers.append(server.start())
        return server.port
    yield start
    for server in servers:
        server.stop(timeout=1)


def test_clients_pass_the_ec2_recipe(nova_server):
    import boto.exception
    port = nova_server('ec2')
    for sigv2 in (False, True):
        _call_in_thread(_boto2_ec2(port, sigv2=sigv2).get_all_instances)
        conn = _boto2_ec2(port, sigv2=sigv2, secret='wrong')
        with pytest.raises(boto.exception.EC2ResponseError) as info:
            _call_in_thread(conn.get_all_instances)
        assert info.value.status == 403
    for config in ({}, {'signature_version': 'v2'}):
        ec2 = _boto3_client('ec2', port, **config)
        _call_in_thread(lambda: ec2.describe_instances(
            Filters=[{'Name': 'tag:Name', 'Values': ['a b+c/é']}]))


def test_clients_pass_the_s3_recipe(nova_server):
    from boto.s3.connection import OrdinaryCallingFormat, S3Connection
    port = nova_server('s3')
    conn = S3Connection(ACCESS, SECRET, host='127.0.0.1', port=port,
                        is_secure=False,
                        calling_format=OrdinaryCallingFormat())
    key = conn.get_bucket('images', validate=False).new_key('dir/a b+c.txt')
    _call_in_thread(lambda: key.set_contents_from_string(b'data'))
    for config in ({}, {'signature_version': 's3'}):
        s3 = _boto3_client('s3', port, s3={'addressing_style': 'path'},
                           **config)
        _call_in_thread(lambda: s3.put_object(
            Bucket='images', Key='dir/a b+c.txt', Body=b'data'))


def test_request_path_and_headers_from_plain_environ():
    environ = {'SCRIPT_NAME': '/images', 'PATH_INFO': '/a b+c',
               'HTTP_HOST': 'h:1', 'HTTP_X_AMZ_DATE': 'd',
               'CONTENT_TYPE': 'text/plain', 'CONTENT_LENGTH': ''}
    assert signer.request_path(environ) == '/images/a%20b%2Bc'
    assert signer.request_headers(environ) == {
        'Host': 'h:1', 'X-Amz-Date': 'd', 'Content-Type': 'text/plain'}
    environ['REQUEST_URI'] = '/images/a%20b+c?acl'
    assert signer.request_path(environ) == '/images/a%20b+c'
    environ['RAW_PATH_INFO'] = '/raw%2Fpath'
    assert signer.request_path(environ) == '/raw%2Fpath'
    environ['headers_raw'] = (('host', 'h:1'), ('X-Amz-Meta-A', '1'),
                              ('x-amz-meta-a', '2'))
    assert signer.request_headers(environ) == {'Host': 'h:1',
                                               'X-Amz-Meta-A': '1,2'}
