"""EC2 parameter parsing, XML rendering and id mapping."""

import datetime
import xml.etree.ElementTree as ElementTree

import pytest

from nova import exception
from nova.api.ec2 import apirequest
from nova.api.ec2 import ec2utils
from nova.api.ec2 import faults
from nova.api.ec2 import filters


def test_snake_case():
    assert apirequest.snake_case('DescribeInstances') == 'describe_instances'
    assert apirequest.snake_case('CidrIp') == 'cidr_ip'
    assert apirequest.snake_case('IpPermissions') == 'ip_permissions'
    assert apirequest.snake_case('GenerateX509ForUser') == \
        'generate_x509_for_user'


def test_numbered_parameters_become_lists_sorted_numerically():
    args = apirequest.parse_args([('InstanceId.2', 'b'),
                                  ('InstanceId.10', 'c'),
                                  ('InstanceId.1', 'a'),
                                  ('Action', 'X'), ('Signature', 's')])
    assert args == {'instance_id': ['a', 'b', 'c']}


def test_nested_permission_and_filter_forms():
    args = apirequest.parse_args([
        ('GroupName', 'web'),
        ('IpPermissions.1.IpProtocol', 'tcp'),
        ('IpPermissions.1.FromPort', '010'),
        ('IpPermissions.1.IpRanges.2.CidrIp', '10.0.0.0/8'),
        ('IpPermissions.1.IpRanges.1.CidrIp', '0.0.0.0/0'),
        ('IpPermissions.2.Groups.1.GroupName', 'db'),
        ('Filter.1.Name', 'instance-state-name'),
        ('Filter.1.Value.1', 'running')])
    assert args['group_name'] == 'web'
    # No auto-typing: "010" stays the string it was.
    assert args['ip_permissions'][0] == {
        'ip_protocol': 'tcp', 'from_port': '010',
        'ip_ranges': [{'cidr_ip': '0.0.0.0/0'}, {'cidr_ip': '10.0.0.0/8'}]}
    assert args['ip_permissions'][1] == {'groups': [{'group_name': 'db'}]}
    assert args['filter'] == [{'name': 'instance-state-name',
                               'value': ['running']}]


@pytest.mark.parametrize('pairs', [
    [('InstanceId', 'a'), ('InstanceId.1', 'b')],
    [('InstanceId.1', 'a'), ('InstanceId.01', 'b')],
    [('InstanceId.1', 'a'), ('InstanceId.x', 'b')],
    [('InstanceId..1', 'a')],
    [('1', 'a')],
    [('Bad Name', 'a')],
])
def test_malformed_parameters_are_invalid(pairs):
    with pytest.raises(exception.InvalidParameterValue):
        apirequest.parse_args(pairs)


def test_versions():
    assert apirequest.check_version('2016-11-15') == '2016-11-15'
    assert apirequest.check_version('nova', ('nova',)) == 'nova'
    with pytest.raises(exception.MissingParameter):
        apirequest.check_version(None)
    with pytest.raises(exception.InvalidParameterValue):
        apirequest.check_version('latest')


def test_render_response_is_strict_parser_friendly():
    body = apirequest.render_response('DescribeThings', '2014-10-01', 'r-1', {
        'thingSet': [{'id': 'a', 'flag': True, 'off': False, 'count': 0,
                      'missing': None,
                      'when': datetime.datetime(2011, 2, 3, 4, 5, 6, 789000),
                      'nested': {'code': 16, 'name': 'running'}}],
        'plain': ['x', 'y']})
    root = ElementTree.fromstring(body)
    assert root.tag == ('{http://ec2.amazonaws.com/doc/2014-10-01/}'
                        'DescribeThingsResponse')
    ns = '{http://ec2.amazonaws.com/doc/2014-10-01/}'
    assert root.findtext(ns + 'requestId') == 'r-1'
    item = root.find('%sthingSet/%sitem' % (ns, ns))
    assert item.findtext(ns + 'flag') == 'true'
    assert item.findtext(ns + 'off') == 'false'
    assert item.findtext(ns + 'count') == '0'
    assert item.find(ns + 'missing') is None
    assert item.findtext(ns + 'when') == '2011-02-03T04:05:06.789Z'
    assert item.findtext('%snested/%scode' % (ns, ns)) == '16'
    assert [i.text for i in root.find(ns + 'plain')] == ['x', 'y']


def test_render_true_and_bad_characters():
    root = ElementTree.fromstring(
        apirequest.render_response('DeleteKeyPair', '2009-04-04', 'r', True))
    assert root[1].tag.endswith('return') and root[1].text == 'true'
    body = apirequest.render_response('X', '2009-04-04', 'r',
                                      {'text': 'a\x00b\x1bc'})
    assert ElementTree.fromstring(body)[1].text == 'a\ufffdb\ufffdc'


def test_error_document():
    resp = faults.exception_response(
        'req-1', exception.InstanceNotFound(instance_id='i-00000001'))
    assert resp.status_int == 400
    root = ElementTree.fromstring(resp.body)
    assert root.tag == 'Response'
    assert root.findtext('Errors/Error/Code') == 'InvalidInstanceID.NotFound'
    assert root.findtext('RequestID') == 'req-1'


@pytest.mark.parametrize('exc, status, code', [
    (exception.MissingParameter(name='X'), 400, 'MissingParameter'),
    (exception.InstanceLimitExceeded(reason='r'), 400,
     'InstanceLimitExceeded'),
    (exception.SignatureError(), 403, 'SignatureDoesNotMatch'),
    (exception.NotAuthenticated(), 401, 'AuthFailure'),
    (exception.NoValidHost(reason='r'), 503, 'InsufficientInstanceCapacity'),
    (faults.unauthorized('RunInstances'), 403, 'UnauthorizedOperation'),
    (KeyError('secret detail'), 500, 'InternalError'),
])
def test_fault_mapping(exc, status, code):
    got_status, got_code, message = faults.fault_of(exc)
    assert (got_status, got_code) == (status, code)
    assert 'secret detail' not in message


def test_ec2_ids():
    assert ec2utils.instance_id_to_ec2(10) == 'i-0000000a'
    assert ec2utils.ec2_instance_id_to_id('i-0000000a') == 10
    assert ec2utils.image_ec2_id(5, 'aki') == 'aki-00000005'
    assert ec2utils.image_ec2_id('5', 'ari') == 'ari-00000005'
    assert ec2utils.image_ec2_id(5, 'raw') == 'ami-00000005'
    assert ec2utils.ec2_image_id_to_id('ari-00000005') == 5
    for bad, code in (('ami-00000001', 'InvalidInstanceID.Malformed'),
                      ('i-xyz', 'InvalidInstanceID.Malformed'),
                      (None, 'InvalidInstanceID.Malformed')):
        with pytest.raises(ec2utils.MalformedId) as info:
            ec2utils.ec2_instance_id_to_id(bad)
        assert info.value.ec2_code == code
    with pytest.raises(ec2utils.MalformedId) as info:
        ec2utils.ec2_image_id_to_id('i-00000001')
    assert info.value.ec2_code == 'InvalidAMIID.Malformed'


def test_filters():
    parsed = filters.parse([{'name': 'instance-state-name',
                             'value': ['run*', 'pending']}],
                           ('instance-state-name',))
    assert filters.matches(parsed, {'instance-state-name': 'running'})
    assert not filters.matches(parsed, {'instance-state-name': 'stopped'})
    with pytest.raises(exception.InvalidParameterValue):
        filters.parse([{'name': 'nope', 'value': ['x']}], ('a',))
    with pytest.raises(exception.InvalidParameterValue):
        filters.parse([{'name': 'a'}], ('a',))
