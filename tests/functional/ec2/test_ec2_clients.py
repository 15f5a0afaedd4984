"""bin/nova-api's EC2 API with the real clients: boto 2.49 and boto3.

One cloud per module (fake-driver compute over RabbitMQ, real Glance for
images, users made with bin/nova-manage; see ec2_cloud.py).  Everything
here goes over HTTP to the nova-api process.
"""

import base64
import hashlib
import hmac
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree

import boto
import boto.ec2.connection
import boto.exception
import boto3
import botocore.config
import botocore.exceptions
import pytest
from boto.ec2.regioninfo import RegionInfo

from tests.conftest import require_service
from tests.functional.ec2 import ec2_cloud

TIMEOUT = 90


@pytest.fixture(scope='module')
def cloud(tmp_path_factory):
    require_service('rabbit')
    c = ec2_cloud.EC2Cloud(str(tmp_path_factory.mktemp('ec2')))
    try:
        c.start()
        yield c
    finally:
        c.stop()


def boto2(cloud, user, project=None, sigv2=False, path='/services/Cloud'):
    access, secret, _admin = ec2_cloud.USERS[user]
    if project:
        access = '%s:%s' % (access, project)
    cls = boto.ec2.connection.EC2Connection
    if sigv2:
        class SigV2Connection(cls):
            def _required_auth_capability(self):
                return ['ec2']
        cls = SigV2Connection
    return cls(access, secret, region=RegionInfo(name='nova',
                                                 endpoint='127.0.0.1'),
               port=cloud.port, path=path, is_secure=False)


def boto3_client(cloud, user, project=None, secret=None, sig=None):
    access, real_secret, _admin = ec2_cloud.USERS[user]
    if project:
        access = '%s:%s' % (access, project)
    config = botocore.config.Config(
        retries={'max_attempts': 1},
        **({'signature_version': sig} if sig else {}))
    return boto3.client('ec2', endpoint_url='http://127.0.0.1:%d/services/'
                        'Cloud' % cloud.port, region_name='nova',
                        aws_access_key_id=access,
                        aws_secret_access_key=secret or real_secret,
                        config=config)


def ami(image_id, prefix='ami'):
    return '%s-%08x' % (prefix, int(image_id))


def _code(excinfo):
    return excinfo.value.response['Error']['Code']


def _state3(client, iid):
    try:
        found = client.describe_instances(InstanceIds=[iid])
    except botocore.exceptions.ClientError as e:
        if e.response['Error']['Code'] == 'InvalidInstanceID.NotFound':
            return 'gone'
        raise
    return found['Reservations'][0]['Instances'][0]['State']['Name']


# -- boto 2.49 ---------------------------------------------------------------

def test_boto2_everyday_use(cloud):
    conn = boto2(cloud, 'alice', 'proj1')          # SigV4, as boto 2.49 signs
    assert [r.name for r in conn.get_all_regions()] == ['nova']
    zones = conn.get_all_zones()
    assert [(z.name, z.state) for z in zones] == [('nova', 'available')]

    key = conn.create_key_pair('boto2key')
    assert key.material.startswith('-----BEGIN RSA PRIVATE KEY-----')
    assert [k.name for k in conn.get_all_key_pairs()] == ['boto2key']

    images = {i.id: i for i in conn.get_all_images()}
    machine = images[ami(cloud.images['ami'])]
    assert machine.type == 'machine' and machine.is_public
    assert machine.kernel_id == ami(cloud.images['kernel'], 'aki')
    assert images[ami(cloud.images['kernel'], 'aki')].type == 'kernel'

    group = conn.create_security_group('boto2web', 'web servers')
    assert conn.authorize_security_group('boto2web', ip_protocol='tcp',
                                         from_port=80, to_port=80,
                                         cidr_ip='0.0.0.0/0')
    assert conn.authorize_security_group(
        'boto2web', src_security_group_name='default',
        src_security_group_owner_id='proj1')
    [got] = conn.get_all_security_groups(groupnames=['boto2web'])
    rules = {(r.ip_protocol, r.from_port, r.to_port): r for r in got.rules}
    assert [g.cidr_ip for g in rules[('tcp', '80', '80')].grants] == \
        ['0.0.0.0/0']
    assert rules[('tcp', '1', '65535')].grants[0].name == 'default'

    reservation = conn.run_instances(
        ami(cloud.images['ami']), min_count=1, max_count=1,
        key_name='boto2key', user_data=b'boto2 user data',
        security_groups=['default', 'boto2web'], instance_type='m1.tiny')
    [instance] = reservation.instances
    assert instance.id.startswith('i-') and instance.state == 'pending'

    def running():
        [r] = conn.get_all_instances(instance_ids=[instance.id])
        return r.instances[0] if r.instances[0].state == 'running' else None
    got = cloud.wait(running, TIMEOUT, 'the instance to run')
    assert got.state_code == 16
    assert got.private_ip_address.startswith('10.60.')
    assert got.key_name == 'boto2key' and got.instance_type == 'm1.tiny'
    assert got.image_id == ami(cloud.images['ami'])
    assert got.placement == 'nova'
    assert {g.name for g in got.groups} == {'default', 'boto2web'}

    output = conn.get_console_output(instance.id)
    assert output.output      # boto 2 decodes the base64 itself
    assert conn.reboot_instances([instance.id])
    cloud.wait(running, TIMEOUT, 'the instance to run again')

    # Forced SigV2 (HmacSHA256, Host without the port, path with a '/').
    v2 = boto2(cloud, 'alice', 'proj1', sigv2=True)
    [r] = v2.get_all_instances()
    assert r.instances[0].id == instance.id

    terminated = conn.terminate_instances([instance.id])
    assert [t.id for t in terminated] == [instance.id]

    def gone():
        return conn.get_all_instances() == []
    cloud.wait(gone, TIMEOUT, 'the instance to be terminated')
    with pytest.raises(boto.exception.EC2ResponseError) as info:
        conn.get_all_instances(instance_ids=[instance.id])
    assert info.value.error_code == 'InvalidInstanceID.NotFound'
    assert info.value.status == 400

    assert conn.revoke_security_group('boto2web', ip_protocol='tcp',
                                      from_port=80, to_port=80,
                                      cidr_ip='0.0.0.0/0')
    assert conn.delete_security_group('boto2web')
    assert conn.delete_key_pair('boto2key')
    assert conn.get_all_key_pairs() == []
    del group


def test_boto2_admin_api(cloud):
    conn = boto2(cloud, 'admin', 'proj1', path='/services/Admin')
    resp = conn.make_request('DescribeUsers', {'Version': 'nova'})
    body = resp.read()
    assert resp.status == 200, body
    root = ElementTree.fromstring(body)
    names = {n.text for n in root.iter() if n.tag.endswith('}username')}
    assert {'admin', 'alice', 'bob'} <= names
    resp = conn.make_request('DescribeHosts', {})
    body = resp.read()
    assert resp.status == 200, body
    assert b'<binary>nova-compute</binary>' in body
    resp = conn.make_request('GenerateX509ForUser', {'Name': 'alice',
                                                     'Project': 'proj1'})
    body = resp.read()
    assert resp.status == 200, body
    [blob] = [n.text for n in ElementTree.fromstring(body).iter()
              if n.tag.endswith('}file')]
    assert base64.b64decode(blob)[:2] == b'PK'     # a zip
    user = boto2(cloud, 'alice', 'proj1', path='/services/Admin')
    resp = user.make_request('DescribeUsers', {})
    body = resp.read()
    assert resp.status == 403 and b'UnauthorizedOperation' in body


# -- boto3 ---------------------------------------------------------------------

def test_boto3_everyday_use(cloud):
    ec2 = boto3_client(cloud, 'alice', 'proj1')
    assert ec2.describe_regions()['Regions'][0]['RegionName'] == 'nova'
    zones = ec2.describe_availability_zones()['AvailabilityZones']
    assert zones[0]['ZoneName'] == 'nova' and \
        zones[0]['State'] == 'available'

    made = ec2.create_key_pair(KeyName='b3key')
    assert made['KeyMaterial'].startswith('-----BEGIN RSA PRIVATE KEY')
    keys = ec2.describe_key_pairs()['KeyPairs']
    assert keys == [{'KeyName': 'b3key',
                     'KeyFingerprint': made['KeyFingerprint']}]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        ec2.create_key_pair(KeyName='b3key')
    assert _code(info) == 'InvalidKeyPair.Duplicate'

    images = ec2.describe_images(Filters=[{'Name': 'image-type',
                                           'Values': ['machine']}])['Images']
    ids = {i['ImageId'] for i in images}
    assert ami(cloud.images['ami']) in ids
    assert ami(cloud.images['kernel'], 'aki') not in ids
    mine = ec2.describe_images(Owners=['self'])['Images']
    assert [i['ImageId'] for i in mine] == [ami(cloud.images['alices'])]
    assert mine[0]['Public'] is False and mine[0]['State'] == 'available'
    ec2.modify_image_attribute(ImageId=ami(cloud.images['alices']),
                               LaunchPermission={'Add': [{'Group': 'all'}]})
    attr = ec2.describe_image_attribute(ImageId=ami(cloud.images['alices']),
                                        Attribute='launchPermission')
    assert attr['LaunchPermissions'] == [{'Group': 'all'}]
    ec2.modify_image_attribute(ImageId=ami(cloud.images['alices']),
                               LaunchPermission={'Remove': [{'Group':
                                                             'all'}]})

    group_id = ec2.create_security_group(GroupName='b3web',
                                         Description='web')['GroupId']
    assert group_id.startswith('sg-')
    ec2.authorize_security_group_ingress(
        GroupName='b3web', IpPermissions=[
            {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22,
             'IpRanges': [{'CidrIp': '10.0.0.0/8'}]},
            {'IpProtocol': 'icmp', 'FromPort': -1, 'ToPort': -1,
             'UserIdGroupPairs': [{'GroupName': 'default',
                                   'UserId': 'proj1'}]}])
    [group] = ec2.describe_security_groups(GroupNames=['b3web'])[
        'SecurityGroups']
    perms = {(p['IpProtocol'], p['FromPort']): p
             for p in group['IpPermissions']}
    assert perms[('tcp', 22)]['IpRanges'] == [{'CidrIp': '10.0.0.0/8'}]
    assert perms[('icmp', -1)]['UserIdGroupPairs'][0]['GroupName'] == \
        'default'
    with pytest.raises(botocore.exceptions.ClientError) as info:
        ec2.authorize_security_group_ingress(
            GroupName='b3web', IpProtocol='tcp', FromPort=22, ToPort=22,
            CidrIp='10.0.0.0/8')
    assert _code(info) == 'InvalidPermission.Duplicate'

    result = ec2.run_instances(
        ImageId=ami(cloud.images['ami']), MinCount=2, MaxCount=2,
        KeyName='b3key', InstanceType='m1.tiny',
        UserData='#!/bin/sh\necho boto3\n', SecurityGroups=['b3web'],
        Placement={'AvailabilityZone': 'nova'})
    ids = [i['InstanceId'] for i in result['Instances']]
    assert result['OwnerId'] == 'proj1' and len(ids) == 2
    assert [i['AmiLaunchIndex'] for i in result['Instances']] == [0, 1]
    cloud.wait(lambda: all(_state3(ec2, i) == 'running' for i in ids),
               TIMEOUT, 'instances to run')
    found = ec2.describe_instances(Filters=[
        {'Name': 'instance-state-name', 'Values': ['running']},
        {'Name': 'instance-id', 'Values': [ids[1]]}])
    [instance] = found['Reservations'][0]['Instances']
    assert instance['InstanceId'] == ids[1]
    assert instance['State'] == {'Code': 16, 'Name': 'running'}
    assert instance['LaunchTime'].tzinfo is not None
    assert instance['KeyName'] == 'b3key'
    assert instance['PrivateIpAddress'].startswith('10.60.')
    assert instance['Placement']['AvailabilityZone'] == 'nova'
    output = ec2.get_console_output(InstanceId=ids[0])
    assert output['InstanceId'] == ids[0] and output['Output']

    # SigV2 from boto3 too.
    v2 = boto3_client(cloud, 'alice', 'proj1', sig='v2')
    assert len(v2.describe_instances()['Reservations'][0]['Instances']) == 2

    # Addresses (allocation and release; association needs NAT rules).
    address = ec2.allocate_address()['PublicIp']
    assert address in ec2_cloud.FLOATING
    assert [a['PublicIp'] for a in ec2.describe_addresses()['Addresses']] \
        == [address]
    ec2.release_address(PublicIp=address)
    assert ec2.describe_addresses()['Addresses'] == []

    ec2.reboot_instances(InstanceIds=[ids[0]])
    done = ec2.terminate_instances(InstanceIds=ids)
    assert [t['CurrentState']['Name'] for t in
            done['TerminatingInstances']] == ['shutting-down'] * 2
    cloud.wait(lambda: all(_state3(ec2, i) == 'gone' for i in ids),
               TIMEOUT, 'instances to be terminated')
    ec2.revoke_security_group_ingress(
        GroupName='b3web', IpPermissions=[
            {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22,
             'IpRanges': [{'CidrIp': '10.0.0.0/8'}]}])
    ec2.delete_security_group(GroupId=group_id)
    ec2.delete_key_pair(KeyName='b3key')


def test_boto3_errors(cloud):
    ec2 = boto3_client(cloud, 'alice', 'proj1')
    cases = [
        (lambda: ec2.describe_instances(InstanceIds=['i-0000ffff']),
         'InvalidInstanceID.NotFound'),
        (lambda: ec2.run_instances(ImageId='ami-0000ffff', MinCount=1,
                                   MaxCount=1), 'InvalidAMIID.NotFound'),
        (lambda: ec2.run_instances(ImageId=ami(cloud.images['ami']),
                                   MinCount=1, MaxCount=1, KeyName='nope'),
         'InvalidKeyPair.NotFound'),
        (lambda: ec2.describe_images(ImageIds=['ami-zzz']),
         'InvalidAMIID.Malformed'),
        (lambda: ec2.delete_security_group(GroupName='nope'),
         'InvalidGroup.NotFound'),
        (lambda: ec2.describe_volumes(), 'InvalidAction'),
        (lambda: ec2.describe_instances(Filters=[{'Name': 'bogus',
                                                  'Values': ['x']}]),
         'InvalidParameterValue'),
    ]
    for call, code in cases:
        with pytest.raises(botocore.exceptions.ClientError) as info:
            call()
        assert _code(info) == code
        assert info.value.response['ResponseMetadata']['HTTPStatusCode'] \
            == 400
        assert info.value.response['ResponseMetadata']['RequestId']


def test_projects_are_isolated(cloud):
    alice = boto3_client(cloud, 'alice', 'proj1')
    bob = boto3_client(cloud, 'bob')
    alice.create_key_pair(KeyName='secret-key')
    alice.create_security_group(GroupName='private', Description='p')
    iid = alice.run_instances(ImageId=ami(cloud.images['ami']), MinCount=1,
                              MaxCount=1, InstanceType='m1.tiny')[
        'Instances'][0]['InstanceId']
    try:
        assert bob.describe_instances()['Reservations'] == []
        assert bob.describe_key_pairs()['KeyPairs'] == []
        assert [g['GroupName'] for g in
                bob.describe_security_groups()['SecurityGroups']] == \
            ['default']
        assert ami(cloud.images['alices']) not in {
            i['ImageId'] for i in bob.describe_images()['Images']}
        for call, code in [
                (lambda: bob.describe_instances(InstanceIds=[iid]),
                 'InvalidInstanceID.NotFound'),
                (lambda: bob.terminate_instances(InstanceIds=[iid]),
                 'InvalidInstanceID.NotFound'),
                (lambda: bob.get_console_output(InstanceId=iid),
                 'InvalidInstanceID.NotFound'),
                (lambda: bob.describe_security_groups(
                    GroupNames=['private']), 'InvalidGroup.NotFound'),
                (lambda: bob.describe_images(
                    ImageIds=[ami(cloud.images['alices'])]),
                 'InvalidAMIID.NotFound')]:
            with pytest.raises(botocore.exceptions.ClientError) as info:
                call()
            assert _code(info) == code
        # bob's own request for alice's project is refused outright.
        intruder = boto3_client(cloud, 'bob', 'proj1')
        with pytest.raises(botocore.exceptions.ClientError) as info:
            intruder.describe_instances()
        assert _code(info) == 'AuthFailure'
    finally:
        alice.terminate_instances(InstanceIds=[iid])
        alice.delete_key_pair(KeyName='secret-key')
    cloud.wait(lambda: _state3(alice, iid) == 'gone', TIMEOUT,
               'the instance to be terminated')
    alice.delete_security_group(GroupName='private')


# -- authentication --------------------------------------------------------------

def _hand_signed(cloud, access, secret, timestamp, action='DescribeRegions'):
    params = {'Action': action, 'Version': '2009-04-04',
              'AWSAccessKeyId': access, 'SignatureVersion': '2',
              'SignatureMethod': 'HmacSHA256', 'Timestamp': timestamp}
    canonical = '&'.join('%s=%s' % (urllib.parse.quote(k, safe='-_.~'),
                                    urllib.parse.quote(v, safe='-_.~'))
                         for k, v in sorted(params.items()))
    text = 'POST\n127.0.0.1:%d\n/services/Cloud\n%s' % (cloud.port,
                                                        canonical)
    params['Signature'] = base64.b64encode(hmac.new(
        secret.encode(), text.encode(), hashlib.sha256).digest()).decode()
    request = urllib.request.Request(
        'http://127.0.0.1:%d/services/Cloud' % cloud.port,
        data=urllib.parse.urlencode(params).encode(), method='POST')
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_signatures_timestamps_and_lockout(cloud):
    now = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    status, body = _hand_signed(cloud, 'AKalice:proj1', 'SKalice', now)
    assert status == 200, body
    old = time.strftime('%Y-%m-%dT%H:%M:%SZ',
                        time.gmtime(time.time() - 3600))
    status, body = _hand_signed(cloud, 'AKalice:proj1', 'SKalice', old)
    assert status == 403 and b'<Code>RequestExpired</Code>' in body

    for sig in (None, 'v2'):
        wrong = boto3_client(cloud, 'alice', 'proj1', secret='wrong',
                             sig=sig)
        with pytest.raises(botocore.exceptions.ClientError) as info:
            wrong.describe_regions()
        assert _code(info) == 'SignatureDoesNotMatch'
    unknown = boto3.client(
        'ec2', endpoint_url='http://127.0.0.1:%d/services/Cloud'
        % cloud.port, region_name='nova', aws_access_key_id='nobody',
        aws_secret_access_key='x')
    with pytest.raises(botocore.exceptions.ClientError) as info:
        unknown.describe_regions()
    assert _code(info) == 'AuthFailure'
    assert info.value.response['ResponseMetadata']['HTTPStatusCode'] == 401

    # lockout_attempts is 5 in this cloud: five failures lock locky out,
    # even with the right secret afterwards; alice (three failures) is not.
    locky = boto3_client(cloud, 'locky', 'proj1')
    locky.describe_regions()
    for _ in range(5):
        with pytest.raises(botocore.exceptions.ClientError) as info:
            boto3_client(cloud, 'locky', 'proj1',
                         secret='guess').describe_regions()
        assert _code(info) == 'SignatureDoesNotMatch'
    with pytest.raises(botocore.exceptions.ClientError) as info:
        locky.describe_regions()
    assert _code(info) == 'AuthFailure'
    assert 'locked out' in info.value.response['Error']['Message']
    status, body = _hand_signed(cloud, 'AKlocky:proj1', 'SKlocky', now)
    assert status == 403
    boto3_client(cloud, 'alice', 'proj1').describe_regions()

    # A plain member may look but not launch.
    member = boto3_client(cloud, 'locky', 'proj1')
    del member


def test_metadata_and_versions_over_http(cloud):
    base = 'http://127.0.0.1:%d' % cloud.port
    with urllib.request.urlopen(base + '/', timeout=30) as resp:
        assert resp.read().decode().splitlines()[-1] == '2009-04-04'
    # 127.0.0.1 is no instance's address.
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(base + '/latest/meta-data/instance-id',
                               timeout=30)
    assert info.value.code == 404
