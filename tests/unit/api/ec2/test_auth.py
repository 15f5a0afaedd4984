"""Authentication, lockout, authorization and request errors of the EC2
pipeline, with requests signed by botocore's signers (and by hand)."""

import base64
import datetime
import hashlib
import hmac
import time
import urllib.parse
import xml.etree.ElementTree as ElementTree

import webob

from nova import flags

FLAGS = flags.FLAGS


def test_sigv2_and_sigv4_both_authenticate(ec2, users):
    for sig in ('v2', 'v4'):
        root = ec2.ok(users['alice1'], 'DescribeRegions', sig=sig)
        assert root.findtext('regionInfo/item/regionName') == 'nova'
        assert root.findtext('requestId').startswith('req-')


def test_path_without_trailing_slash_and_get(ec2, users):
    ec2.ok(users['alice1'], 'DescribeRegions', path='/services/Cloud')
    resp = ec2.request(users['alice1'], 'DescribeRegions', method='GET')
    assert resp.status_int == 200, resp.body


def _hand_signed(ec2, creds, params, method_name='HmacSHA1',
                 digest=hashlib.sha1, version='2'):
    params = dict(params, AWSAccessKeyId=creds[0], SignatureVersion=version,
                  SignatureMethod=method_name)
    canonical = '&'.join(
        '%s=%s' % (urllib.parse.quote(k, safe='-_.~'),
                   urllib.parse.quote(v, safe='-_.~'))
        for k, v in sorted(params.items()))
    text = 'POST\n127.0.0.1\n/services/Cloud/\n' + canonical
    params['Signature'] = base64.b64encode(hmac.new(
        creds[1].encode(), text.encode(), digest).digest()).decode()
    req = webob.Request.blank('/services/Cloud/', method='POST',
                              headers={'Host': '127.0.0.1'},
                              POST=params)
    return req.get_response(ec2.app)


def _now():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def test_sigv2_hmac_sha1_is_honoured(ec2, users):
    resp = _hand_signed(ec2, users['alice1'], {
        'Action': 'DescribeRegions', 'Version': '2009-04-04',
        'Timestamp': _now()})
    assert resp.status_int == 200, resp.body


def test_signature_versions_0_and_1_are_refused(ec2, users):
    resp = _hand_signed(ec2, users['alice1'], {
        'Action': 'DescribeRegions', 'Version': '2009-04-04',
        'Timestamp': _now()}, version='1')
    assert resp.status_int == 403
    assert b'SignatureVersion 1 is not supported' in resp.body


def test_wrong_secret_unknown_key_and_non_member(ec2, users):
    for sig in ('v2', 'v4'):
        ec2.error(('alice-access:proj1', 'wrong'), 'DescribeRegions', 403,
                  'SignatureDoesNotMatch', sig=sig)
        ec2.error(('nobody', 'x'), 'DescribeRegions', 401, 'AuthFailure',
                  sig=sig)
    ec2.error(('bob-access:proj1', 'bob-secret'), 'DescribeRegions', 403,
              'AuthFailure')
    ec2.error(('alice-access:nosuch', 'alice-secret'), 'DescribeRegions',
              401, 'AuthFailure')


def test_expired_and_future_timestamps(ec2, users):
    old = datetime.datetime.utcnow() - datetime.timedelta(hours=1)
    resp = ec2.request(users['alice1'], 'DescribeRegions', when=old)
    assert resp.status_int == 403
    assert ElementTree.fromstring(resp.body).findtext(
        'Errors/Error/Code') == 'RequestExpired'
    future = datetime.datetime.utcnow() + datetime.timedelta(hours=1)
    resp = ec2.request(users['alice1'], 'DescribeRegions', when=future)
    assert resp.status_int == 403
    FLAGS.ec2_timestamp_window = 7200
    resp = ec2.request(users['alice1'], 'DescribeRegions', when=old)
    assert resp.status_int == 200


def test_unsigned_and_incomplete_requests(ec2, users):
    req = webob.Request.blank('/services/Cloud/', method='POST',
                              POST={'Action': 'DescribeRegions'})
    resp = req.get_response(ec2.app)
    assert resp.status_int == 400
    assert b'<Code>MissingParameter</Code>' in resp.body
    ec2.error(users['alice1'], 'NoSuchThing', 400, 'InvalidAction')
    resp = ec2.request(users['alice1'], 'DescribeRegions', version='')
    assert resp.status_int == 400 and b'MissingParameter' in resp.body
    resp = ec2.request(users['alice1'], 'DescribeRegions', version='x')
    assert resp.status_int == 400 and b'InvalidParameterValue' in resp.body


def test_lockout_after_repeated_failures(ec2, users):
    FLAGS.lockout_attempts = 3
    bad = ('alice-access:proj1', 'wrong')
    for _ in range(3):
        ec2.error(bad, 'DescribeRegions', 403, 'SignatureDoesNotMatch',
                  sig='v4')
    # Now even the right secret is refused, in either signature version...
    message = ec2.error(users['alice1'], 'DescribeRegions', 403,
                        'AuthFailure')
    assert 'locked out' in message
    ec2.error(users['alice1'], 'DescribeRegions', 403, 'AuthFailure',
              sig='v4')
    # ... but other keys are not affected,
    ec2.ok(users['sam1'], 'DescribeRegions')
    # and authorization denials do not count as failures.
    for _ in range(4):
        ec2.error(users['nell1'], 'RunInstances', 403,
                  'UnauthorizedOperation', ImageId='ami-00000001')
    ec2.ok(users['nell1'], 'DescribeRegions')


def test_lockout_ends(ec2, users):
    FLAGS.lockout_attempts = 2
    FLAGS.lockout_minutes = 0
    bad = ('alice-access:proj1', 'wrong')
    for _ in range(3):
        ec2.error(bad, 'DescribeRegions', 403, 'SignatureDoesNotMatch')
    ec2.ok(users['alice1'], 'DescribeRegions')


def test_authorization_by_role(ec2, users):
    # A plain member may look but not launch or change the network.
    ec2.ok(users['nell1'], 'DescribeInstances')
    ec2.error(users['nell1'], 'RunInstances', 403, 'UnauthorizedOperation',
              ImageId='ami-00000001')
    ec2.error(users['nell1'], 'CreateSecurityGroup', 403,
              'UnauthorizedOperation', GroupName='g', GroupDescription='d')
    # The project manager and the sysadmin pass the authorizer (the bad
    # image is then the complaint).
    for who in ('alice1', 'sam1', 'admin1'):
        ec2.error(users[who], 'RunInstances', 400,
                  'InvalidAMIID.Malformed', ImageId='bogus')


def test_admin_api_is_for_cloud_admins(ec2, users):
    root = ec2.ok(users['admin1'], 'DescribeUsers',
                  path='/services/Admin/')
    names = {i.findtext('username') for i in root.find('userSet')}
    assert {'admin', 'alice', 'bob'} <= names
    resp = ec2.request(users['admin1'], 'DescribeUser', {'Name': 'bob'},
                       path='/services/Admin/', version='nova')
    assert resp.status_int == 200
    assert b'<accesskey>bob-access</accesskey>' in resp.body
    ec2.error(users['alice1'], 'DescribeUsers', 403,
              'UnauthorizedOperation', path='/services/Admin/')
    ec2.error(users['admin1'], 'RunInstances', 400, 'InvalidAction',
              path='/services/Admin/')
