"""CloudController actions through the whole EC2 pipeline, on the
in-process fake cloud (fake RPC, fake driver, local images)."""

import base64

import pytest
import webob
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nova import context
from nova import crypto
from nova import flags
from nova.db import api as db
from nova.image import local
from nova.network import linux_net
from nova.network import manager as network_manager
from tests.unit.api.ec2.conftest import settle

FLAGS = flags.FLAGS


def ami(image_id, prefix='ami'):
    return '%s-%08x' % (prefix, int(image_id))


def _items(root, path):
    node = root.find(path)
    return [] if node is None else list(node)


def _run(ec2, users, images, who='alice1', count=1, **extra):
    params = {'ImageId': ami(images['ami']), 'MinCount': str(count),
              'MaxCount': str(count), 'InstanceType': 'm1.tiny'}
    params.update(extra)
    root = ec2.ok(users[who], 'RunInstances', **params)
    settle()
    return root


def test_key_pairs(ec2, users, cloud):
    root = ec2.ok(users['alice1'], 'CreateKeyPair', KeyName='k1')
    material = root.findtext('keyMaterial')
    assert material.startswith('-----BEGIN RSA PRIVATE KEY-----')
    fingerprint = root.findtext('keyFingerprint')
    ec2.error(users['alice1'], 'CreateKeyPair', 400,
              'InvalidKeyPair.Duplicate', KeyName='k1')

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH,
        serialization.PublicFormat.OpenSSH)
    root = ec2.ok(users['alice1'], 'ImportKeyPair', KeyName='k2',
                  PublicKeyMaterial=base64.b64encode(public).decode())
    assert root.findtext('keyFingerprint') == \
        crypto.generate_fingerprint(public.decode())
    ec2.error(users['alice1'], 'ImportKeyPair', 400, 'InvalidParameterValue',
              KeyName='k3',
              PublicKeyMaterial=base64.b64encode(b'garbage').decode())

    root = ec2.ok(users['alice1'], 'DescribeKeyPairs')
    got = {i.findtext('keyName'): i.findtext('keyFingerprint')
           for i in _items(root, 'keySet')}
    assert got['k1'] == fingerprint and set(got) == {'k1', 'k2'}
    root = ec2.ok(users['alice1'], 'DescribeKeyPairs', **{'KeyName.1': 'k2'})
    assert [i.findtext('keyName') for i in _items(root, 'keySet')] == ['k2']
    ec2.error(users['alice1'], 'DescribeKeyPairs', 400,
              'InvalidKeyPair.NotFound', **{'KeyName.1': 'nope'})
    # Another project's user sees none of them.
    root = ec2.ok(users['bob'], 'DescribeKeyPairs')
    assert _items(root, 'keySet') == []
    ec2.ok(users['alice1'], 'DeleteKeyPair', KeyName='k1')
    ec2.ok(users['alice1'], 'DeleteKeyPair', KeyName='never-was')
    root = ec2.ok(users['alice1'], 'DescribeKeyPairs')
    assert [i.findtext('keyName') for i in _items(root, 'keySet')] == ['k2']


def test_instance_lifecycle(ec2, users, images, cloud):
    ec2.ok(users['alice1'], 'CreateKeyPair', KeyName='mykey')
    root = _run(ec2, users, images, count=2, KeyName='mykey',
                UserData=base64.b64encode(b'hello').decode(),
                **{'SecurityGroup.1': 'default',
                   'Placement.AvailabilityZone': 'nova'})
    assert root.findtext('reservationId').startswith('r-')
    assert root.findtext('ownerId') == 'proj1'
    launched = _items(root, 'instancesSet')
    assert len(launched) == 2
    assert launched[0].findtext('instanceState/code') == '0'
    assert launched[0].findtext('instanceState/name') == 'pending'
    ids = [i.findtext('instanceId') for i in launched]
    assert all(len(i) == 10 and i.startswith('i-') for i in ids)

    root = ec2.ok(users['alice1'], 'DescribeInstances')
    [reservation] = _items(root, 'reservationSet')
    items = _items(reservation, 'instancesSet')
    assert [i.findtext('instanceId') for i in items] == ids
    first = items[0]
    assert first.findtext('instanceState/code') == '16'
    assert first.findtext('instanceState/name') == 'running'
    assert first.findtext('privateIpAddress').startswith('10.0.0.')
    assert first.findtext('keyName') == 'mykey'
    assert first.findtext('imageId') == ami(images['ami'])
    assert first.findtext('kernelId') == ami(images['kernel'], 'aki')
    assert first.findtext('ramdiskId') == ami(images['ramdisk'], 'ari')
    assert first.findtext('instanceType') == 'm1.tiny'
    assert first.findtext('placement/availabilityZone') == 'nova'
    assert first.findtext('launchTime').endswith('Z')
    assert [i.findtext('amiLaunchIndex') for i in items] == ['0', '1']
    assert reservation.findtext('groupSet/item/groupId') == 'default'

    # Filters and ids.
    root = ec2.ok(users['alice1'], 'DescribeInstances',
                  **{'Filter.1.Name': 'instance-id',
                     'Filter.1.Value.1': ids[1]})
    assert [i.findtext('instanceId') for i in
            root.iter('item') if i.find('instanceId') is not None] == \
        [ids[1]]
    root = ec2.ok(users['alice1'], 'DescribeInstances',
                  **{'Filter.1.Name': 'instance-state-name',
                     'Filter.1.Value.1': 'stopped'})
    assert _items(root, 'reservationSet') == []
    ec2.error(users['alice1'], 'DescribeInstances', 400,
              'InvalidParameterValue', **{'Filter.1.Name': 'bogus',
                                          'Filter.1.Value.1': 'x'})
    root = ec2.ok(users['alice1'], 'DescribeInstances',
                  **{'InstanceId.1': ids[0]})
    assert len(list(root.iter('instanceId'))) == 1

    root = ec2.ok(users['alice1'], 'GetConsoleOutput', InstanceId=ids[0])
    assert root.findtext('instanceId') == ids[0]
    assert base64.b64decode(root.findtext('output'))
    assert root.findtext('timestamp').endswith('Z')

    # Another project sees nothing and cannot touch the instances.
    root = ec2.ok(users['bob'], 'DescribeInstances')
    assert _items(root, 'reservationSet') == []
    for action in ('TerminateInstances', 'RebootInstances'):
        ec2.error(users['bob'], action, 400, 'InvalidInstanceID.NotFound',
                  **{'InstanceId.1': ids[0]})
    ec2.error(users['bob'], 'DescribeInstances', 400,
              'InvalidInstanceID.NotFound', **{'InstanceId.1': ids[0]})
    ec2.error(users['alice1'], 'DescribeInstances', 400,
              'InvalidInstanceID.Malformed', **{'InstanceId.1': 'i-zz'})

    ec2.ok(users['alice1'], 'RebootInstances', **{'InstanceId.1': ids[0]})
    settle()
    # One unknown id fails the whole request and terminates nothing.
    ec2.error(users['alice1'], 'TerminateInstances', 400,
              'InvalidInstanceID.NotFound',
              **{'InstanceId.1': ids[0], 'InstanceId.2': 'i-0000ffff'})
    root = ec2.ok(users['alice1'], 'DescribeInstances')
    assert len(list(root.iter('instanceId'))) == 2
    root = ec2.ok(users['alice1'], 'TerminateInstances',
                  **{'InstanceId.1': ids[0], 'InstanceId.2': ids[1]})
    states = [i.findtext('currentState/name')
              for i in _items(root, 'instancesSet')]
    assert states == ['shutting-down', 'shutting-down']
    settle()
    root = ec2.ok(users['alice1'], 'DescribeInstances')
    assert _items(root, 'reservationSet') == []


def test_run_instances_errors(ec2, users, images, cloud):
    ec2.error(users['alice1'], 'RunInstances', 400, 'MissingParameter')
    ec2.error(users['alice1'], 'RunInstances', 400, 'InvalidAMIID.NotFound',
              ImageId='ami-0000ffff')
    ec2.error(users['alice1'], 'RunInstances', 400, 'InvalidParameterValue',
              ImageId=ami(images['kernel'], 'aki'))
    ec2.error(users['alice1'], 'RunInstances', 400, 'InvalidParameterValue',
              ImageId=ami(images['ami']), MinCount='two')
    ec2.error(users['alice1'], 'RunInstances', 400, 'InvalidKeyPair.NotFound',
              ImageId=ami(images['ami']), KeyName='nope')
    ec2.error(users['alice1'], 'RunInstances', 400, 'InvalidGroup.NotFound',
              ImageId=ami(images['ami']), **{'SecurityGroup.1': 'nope'})
    FLAGS.quota_instances = 1
    ec2.error(users['alice1'], 'RunInstances', 400, 'InstanceLimitExceeded',
              ImageId=ami(images['ami']), MinCount='2', MaxCount='2',
              InstanceType='m1.tiny')
    admin = context.get_admin_context()
    assert db.instance_get_all(admin) == []


def test_images(ec2, users, images, cloud):
    svc = local.LocalImageService()
    mine = svc.create(context.RequestContext('alice', 'proj1'), {
        'name': 'mine', 'disk_format': 'ami', 'container_format': 'ami',
        'is_public': False, 'properties': {'kernel_id': images['kernel']}},
        data=iter([b'x']))
    mine_id = ami(mine['id'])
    root = ec2.ok(users['alice1'], 'DescribeImages')
    by_id = {i.findtext('imageId'): i for i in _items(root, 'imagesSet')}
    assert ami(images['kernel'], 'aki') in by_id
    assert ami(images['ramdisk'], 'ari') in by_id
    assert by_id[mine_id].findtext('isPublic') == 'false'
    assert by_id[mine_id].findtext('imageOwnerId') == 'proj1'
    assert by_id[mine_id].findtext('imageState') == 'available'
    assert by_id[ami(images['kernel'], 'aki')].findtext('imageType') == \
        'kernel'
    assert by_id[ami(images['ami'])].findtext('kernelId') == \
        ami(images['kernel'], 'aki')
    # bob sees the public images, not alice's private one.
    root = ec2.ok(users['bob'], 'DescribeImages')
    assert mine_id not in {i.findtext('imageId')
                           for i in _items(root, 'imagesSet')}
    ec2.error(users['bob'], 'DescribeImages', 400, 'InvalidAMIID.NotFound',
              **{'ImageId.1': mine_id})
    root = ec2.ok(users['alice1'], 'DescribeImages', **{'Owner.1': 'self'})
    assert [i.findtext('imageId') for i in _items(root, 'imagesSet')] == \
        [mine_id]
    root = ec2.ok(users['alice1'], 'DescribeImages',
                  **{'Filter.1.Name': 'image-type',
                     'Filter.1.Value.1': 'ramdisk'})
    assert [i.findtext('imageId') for i in _items(root, 'imagesSet')] == \
        [ami(images['ramdisk'], 'ari')]

    root = ec2.ok(users['alice1'], 'DescribeImageAttribute',
                  ImageId=mine_id, Attribute='launchPermission')
    assert _items(root, 'launchPermission') == []
    ec2.ok(users['alice1'], 'ModifyImageAttribute', ImageId=mine_id,
           Attribute='launchPermission', OperationType='add',
           **{'UserGroup.1': 'all'})
    root = ec2.ok(users['alice1'], 'DescribeImageAttribute',
                  ImageId=mine_id, Attribute='launchPermission')
    assert root.findtext('launchPermission/item/group') == 'all'
    root = ec2.ok(users['alice1'], 'DescribeImageAttribute',
                  ImageId=mine_id, Attribute='kernel')
    assert root.findtext('kernel/value') == ami(images['kernel'], 'aki')
    # Newer form, and only the owner may change it.
    ec2.error(users['bob'], 'ModifyImageAttribute', 403, 'AuthFailure',
              ImageId=mine_id, **{'LaunchPermission.Remove.1.Group': 'all'})
    ec2.ok(users['alice1'], 'ModifyImageAttribute', ImageId=mine_id,
           **{'LaunchPermission.Remove.1.Group': 'all'})
    assert svc.show(None, mine['id'])['is_public'] is False
    ec2.error(users['alice1'], 'ModifyImageAttribute', 400,
              'InvalidParameterValue', ImageId=mine_id,
              Attribute='launchPermission', OperationType='add',
              **{'UserGroup.1': 'friends'})
    ec2.error(users['alice1'], 'DescribeImageAttribute', 400,
              'InvalidParameterValue', ImageId=mine_id, Attribute='nope')

    # RegisterImage of an image already in the image service, by name.
    root = ec2.ok(users['alice1'], 'RegisterImage', Name='mine',
                  RamdiskId=ami(images['ramdisk'], 'ari'),
                  Architecture='i386')
    assert root.findtext('imageId') == mine_id
    props = svc.show(None, mine['id'])['properties']
    assert props['ramdisk_id'] == images['ramdisk']
    assert props['architecture'] == 'i386'
    ec2.error(users['alice1'], 'RegisterImage', 400, 'InvalidAMIID.NotFound',
              ImageLocation='nobucket/nothing.manifest.xml')

    ec2.error(users['alice1'], 'DeregisterImage', 403, 'AuthFailure',
              ImageId=ami(images['ami']))
    ec2.ok(users['alice1'], 'DeregisterImage', ImageId=mine_id)
    ec2.error(users['alice1'], 'DescribeImages', 400, 'InvalidAMIID.NotFound',
              **{'ImageId.1': mine_id})


def test_security_groups(ec2, users, cloud):
    ec2.ok(users['sam1'], 'CreateSecurityGroup', GroupName='web',
           GroupDescription='web servers')
    ec2.error(users['sam1'], 'CreateSecurityGroup', 400,
              'InvalidGroup.Duplicate', GroupName='web',
              GroupDescription='again')
    # The newer IpPermissions form, as boto 2.49 and boto3 send it ...
    ec2.ok(users['sam1'], 'AuthorizeSecurityGroupIngress', GroupName='web',
           **{'IpPermissions.1.IpProtocol': 'tcp',
              'IpPermissions.1.FromPort': '80',
              'IpPermissions.1.ToPort': '80',
              'IpPermissions.1.IpRanges.1.CidrIp': '0.0.0.0/0',
              'IpPermissions.1.IpRanges.2.CidrIp': '10.0.0.0/8',
              'IpPermissions.2.Groups.1.GroupName': 'default',
              'IpPermissions.2.Groups.1.UserId': 'proj1'})
    # ... and the old flat one.
    ec2.ok(users['sam1'], 'AuthorizeSecurityGroupIngress', GroupName='web',
           IpProtocol='icmp', FromPort='-1', ToPort='-1', CidrIp='1.2.3.4/32')
    ec2.error(users['sam1'], 'AuthorizeSecurityGroupIngress', 400,
              'InvalidPermission.Duplicate', GroupName='web',
              IpProtocol='icmp', FromPort='-1', ToPort='-1',
              CidrIp='1.2.3.4/32')
    ec2.error(users['sam1'], 'AuthorizeSecurityGroupIngress', 400,
              'InvalidParameterValue', GroupName='web', IpProtocol='tcp',
              FromPort='1', ToPort='99999', CidrIp='1.2.3.4/32')

    root = ec2.ok(users['sam1'], 'DescribeSecurityGroups',
                  **{'GroupName.1': 'web'})
    [group] = _items(root, 'securityGroupInfo')
    assert group.findtext('groupDescription') == 'web servers'
    assert group.findtext('ownerId') == 'proj1'
    perms = {(p.findtext('ipProtocol'), p.findtext('fromPort')): p
             for p in _items(group, 'ipPermissions')}
    assert {r.findtext('cidrIp') for r in
            _items(perms[('tcp', '80')], 'ipRanges')} == \
        {'0.0.0.0/0', '10.0.0.0/8'}
    assert perms[('tcp', '1')].findtext('groups/item/groupName') == \
        'default'
    assert perms[('icmp', '-1')].findtext('ipRanges/item/cidrIp') == \
        '1.2.3.4/32'

    root = ec2.ok(users['sam1'], 'DescribeSecurityGroups')
    assert {g.findtext('groupName') for g in
            _items(root, 'securityGroupInfo')} == {'default', 'web'}
    root = ec2.ok(users['bob'], 'DescribeSecurityGroups')
    assert {g.findtext('groupName') for g in
            _items(root, 'securityGroupInfo')} == {'default'}
    ec2.error(users['bob'], 'DescribeSecurityGroups', 400,
              'InvalidGroup.NotFound', **{'GroupName.1': 'web'})

    ec2.ok(users['sam1'], 'RevokeSecurityGroupIngress', GroupName='web',
           **{'IpPermissions.1.IpProtocol': 'tcp',
              'IpPermissions.1.FromPort': '80',
              'IpPermissions.1.ToPort': '80',
              'IpPermissions.1.IpRanges.1.CidrIp': '10.0.0.0/8'})
    ec2.error(users['sam1'], 'RevokeSecurityGroupIngress', 400,
              'InvalidPermission.NotFound', GroupName='web',
              IpProtocol='tcp', FromPort='80', ToPort='80',
              CidrIp='10.0.0.0/8')
    ec2.error(users['sam1'], 'DeleteSecurityGroup', 400,
              'InvalidGroup.Reserved', GroupName='default')
    ec2.ok(users['sam1'], 'DeleteSecurityGroup', GroupName='web')
    ec2.error(users['sam1'], 'DeleteSecurityGroup', 400,
              'InvalidGroup.NotFound', GroupName='web')


@pytest.fixture
def no_nat(monkeypatch):
    for name in ('bind_floating_ip', 'unbind_floating_ip',
                 'ensure_floating_forward', 'remove_floating_forward'):
        monkeypatch.setattr(linux_net, name, lambda *a, **k: None)
    monkeypatch.setattr(network_manager.NetworkManager, '_apply',
                        staticmethod(lambda: None))
    monkeypatch.setattr(network_manager.NetworkManager, '_init_nat',
                        lambda self: None, raising=False)


def test_addresses(ec2, users, images, cloud, no_nat):
    admin = context.get_admin_context()
    for address in ('4.4.4.1', '4.4.4.2'):
        db.floating_ip_create(admin, {'address': address, 'host': 'net1'})
    root = _run(ec2, users, images, who='sam1')
    iid = root.findtext('instancesSet/item/instanceId')
    root = ec2.ok(users['sam1'], 'AllocateAddress')
    address = root.findtext('publicIp')
    assert address in ('4.4.4.1', '4.4.4.2')
    ec2.ok(users['sam1'], 'AssociateAddress', InstanceId=iid,
           PublicIp=address)
    settle()
    root = ec2.ok(users['sam1'], 'DescribeAddresses')
    [item] = _items(root, 'addressesSet')
    assert (item.findtext('publicIp'), item.findtext('instanceId')) == \
        (address, iid)
    root = ec2.ok(users['sam1'], 'DescribeInstances')
    assert root.findtext('.//ipAddress') == address
    assert _items(ec2.ok(users['bob'], 'DescribeAddresses'),
                  'addressesSet') == []
    ec2.error(users['bob'], 'ReleaseAddress', 400, 'InvalidAddress.NotFound',
              PublicIp=address)
    ec2.ok(users['sam1'], 'DisassociateAddress', PublicIp=address)
    settle()
    root = ec2.ok(users['sam1'], 'DescribeAddresses',
                  **{'PublicIp.1': address})
    assert _items(root, 'addressesSet')[0].find('instanceId') is None
    ec2.ok(users['sam1'], 'ReleaseAddress', PublicIp=address)
    assert _items(ec2.ok(users['sam1'], 'DescribeAddresses'),
                  'addressesSet') == []
    FLAGS.quota_floating_ips = 0
    ec2.error(users['sam1'], 'AllocateAddress', 400, 'AddressLimitExceeded')


def test_zones_and_regions(ec2, users, cloud):
    root = ec2.ok(users['nell1'], 'DescribeAvailabilityZones')
    [zone] = _items(root, 'availabilityZoneInfo')
    assert (zone.findtext('zoneName'), zone.findtext('zoneState')) == \
        ('nova', 'available')
    root = ec2.ok(users['admin1'], 'DescribeAvailabilityZones',
                  **{'ZoneName.1': 'verbose'})
    names = [z.findtext('zoneName') for z in
             _items(root, 'availabilityZoneInfo')]
    assert '|- h1' in names and '| |- nova-compute' in names
    # Not for plain users.
    root = ec2.ok(users['nell1'], 'DescribeAvailabilityZones',
                  **{'ZoneName.1': 'verbose'})
    assert not any(z.findtext('zoneName').startswith('|')
                   for z in _items(root, 'availabilityZoneInfo'))
    FLAGS.region_list = ['east=http://east:8773/services/Cloud',
                         'west=http://west:8773/services/Cloud']
    root = ec2.ok(users['nell1'], 'DescribeRegions')
    assert [r.findtext('regionName') for r in
            _items(root, 'regionInfo')] == ['east', 'west']


def test_metadata(ec2, users, images, cloud):
    ec2.ok(users['alice1'], 'CreateKeyPair', KeyName='mykey')
    root = _run(ec2, users, images, KeyName='mykey',
                UserData=base64.b64encode(b'#!/bin/sh\necho hi\n').decode())
    iid = root.findtext('instancesSet/item/instanceId')
    root = ec2.ok(users['alice1'], 'DescribeInstances')
    fixed = root.findtext('.//privateIpAddress')

    def get(path, addr=fixed, headers=None):
        req = webob.Request.blank(path, headers=headers or {})
        req.environ['REMOTE_ADDR'] = addr
        return req.get_response(ec2.app)

    assert get('/latest/meta-data/instance-id').text == iid
    assert get('/2009-04-04/meta-data/local-ipv4').text == fixed
    assert get('/latest/meta-data/ami-id').text == ami(images['ami'])
    assert get('/latest/user-data').body == b'#!/bin/sh\necho hi\n'
    listing = get('/latest/meta-data/').text.splitlines()
    assert 'instance-id' in listing and 'placement/' in listing
    assert get('/latest/meta-data/public-keys/').text == '0=mykey'
    key = get('/latest/meta-data/public-keys/0/openssh-key').text
    assert key.startswith('ssh-rsa ')
    assert get('/latest/meta-data/placement/availability-zone').text == \
        'nova'
    assert get('/latest/').text.splitlines() == ['meta-data/', 'user-data']
    assert get('/latest/meta-data/nope').status_int == 404
    assert get('/latest/meta-data/instance-id/more').status_int == 404
    # Unknown addresses get a 404, and X-Forwarded-For is not trusted ...
    assert get('/latest/meta-data/instance-id', addr='10.9.9.9'
               ).status_int == 404
    assert get('/latest/meta-data/instance-id', addr='10.9.9.9',
               headers={'X-Forwarded-For': fixed}).status_int == 404
    # ... unless configured.
    FLAGS.use_forwarded_for = True
    assert get('/latest/meta-data/instance-id', addr='10.9.9.9',
               headers={'X-Forwarded-For': fixed}).text == iid
    root = get('/')
    assert root.text.splitlines()[-1] == '2009-04-04'


def test_admin_actions(ec2, users, cloud, tmp_path):
    def admin(action, **params):
        return ec2.ok(users['admin1'], action, path='/services/Admin/',
                      **params)
    root = admin('RegisterUser', Name='carol')
    assert root.findtext('username') == 'carol'
    assert root.findtext('accesskey')
    root = admin('RegisterProject', Name='proj3', ManagerUser='carol',
                 Description='third', **{'MemberUsers.1': 'nell'})
    assert root.findtext('description') == 'third'
    root = admin('DescribeProjectMembers', Name='proj3')
    assert {m.findtext('member') for m in _items(root, 'members')} == \
        {'carol', 'nell'}
    admin('ModifyUserRole', User='carol', Role='netadmin',
          Operation='add')
    admin('ModifyUserRole', User='carol', Role='netadmin', Project='proj3',
          Operation='add')
    root = admin('DescribeUserRoles', User='carol', Project='proj3')
    assert [r.findtext('role') for r in _items(root, 'roles')] == \
        ['netadmin']
    admin('ModifyProjectMember', User='nell', Project='proj3',
          Operation='remove')
    root = admin('DescribeProjects')
    assert 'proj3' in {p.findtext('projectname')
                       for p in _items(root, 'projectSet')}
    root = admin('DescribeInstanceTypes')
    assert 'm1.tiny' in {t.findtext('name')
                         for t in _items(root, 'instanceTypeSet')}
    root = admin('DescribeHosts')
    hosts = {h.findtext('hostname'): h for h in _items(root, 'hostSet')}
    assert {'h1', 'h2', 'net1', 'sched1'} <= set(hosts)
    assert hosts['h1'].findtext('serviceSet/item/binary') == 'nova-compute'
    root = admin('DescribeHost', Name='h1')
    assert root.findtext('hostname') == 'h1'
    ec2.error(users['admin1'], 'DescribeHost', 400, 'NotFound',
              path='/services/Admin/', Name='nope')
    ec2.error(users['admin1'], 'ModifyUserRole', 400, 'InvalidParameterValue',
              path='/services/Admin/', User='carol', Role='netadmin',
              Operation='toggle')
    admin('DeregisterProject', Name='proj3')
    admin('DeregisterUser', Name='carol')
    ec2.error(users['admin1'], 'DescribeUser', 400, 'NotFound',
              path='/services/Admin/', Name='carol')
