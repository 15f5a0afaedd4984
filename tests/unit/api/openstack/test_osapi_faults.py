"""Exceptions to OpenStack API faults (nova.api.openstack.faults)."""

import json
import xml.etree.ElementTree as ET

import pytest
import webob
import webob.exc

from nova import exception
from nova.api.openstack import faults
from nova.api.openstack import xmlutil


@pytest.mark.parametrize('exc,code,name', [
    (exception.InvalidInput(reason='x'), 400, 'badRequest'),
    (exception.MissingParameter(name='x'), 400, 'badRequest'),
    (exception.NotAuthenticated(), 401, 'unauthorized'),
    (exception.NotAuthorized(), 403, 'forbidden'),
    (exception.InstanceNotFound(instance_id=3), 404, 'itemNotFound'),
    (exception.ImageNotFound(image_id=3), 404, 'itemNotFound'),
    (exception.InvalidState(reason='busy'), 409, 'buildInProgress'),
    (exception.InstanceLocked(instance_id=1), 409, 'buildInProgress'),
    (exception.Duplicate(), 409, 'conflictingRequest'),
    (exception.QuotaError(reason='q'), 413, 'overLimit'),
    (exception.NoValidHost(reason='full'), 503,
     'serverCapacityUnavailable'),
    (NotImplementedError('no'), 501, 'notImplemented'),
    (xmlutil.BodyError(415, 'type'), 415, 'badMediaType'),
    (faults.Fault(405, 'm'), 405, 'badMethod'),
    (webob.exc.HTTPNotFound(), 404, 'itemNotFound'),
])
def test_mapping(exc, code, name):
    got_code, got_name, message, _details, _retry = \
        faults.from_exception(exc, '1.1')
    assert (got_code, got_name) == (code, name)
    assert message


def test_unexpected_errors_hide_their_text():
    code, name, message, _d, _r = faults.from_exception(
        KeyError('secret internals'), '1.0')
    assert (code, name) == (500, 'cloudServersFault')
    assert 'secret' not in message
    assert faults.from_exception(KeyError('x'), '1.1')[1] == 'computeFault'
    # A NovaException meant as an internal error is no different.
    assert faults.from_exception(exception.DBError(reason='sql secret'),
                                 '1.1')[:2] == (500, 'computeFault')


def test_json_fault_response_with_retry_after_in_seconds():
    req = webob.Request.blank('/servers')
    resp = faults.response(req, faults.Fault(413, 'slow down',
                                             retry_after=12.2), '1.1')
    assert resp.status_int == 413
    assert resp.headers['Retry-After'] == '13'
    assert json.loads(resp.body) == {'overLimit': {
        'code': 413, 'message': 'slow down', 'retryAfter': '13'}}


def test_xml_fault_response():
    req = webob.Request.blank('/servers.xml')
    resp = faults.response(req, exception.InstanceNotFound(instance_id=9),
                           '1.0')
    assert resp.content_type == 'application/xml'
    root = ET.fromstring(resp.body)
    assert root.tag == '{%s}itemNotFound' % xmlutil.XMLNS_V10
    assert root.get('code') == '404'
    assert '9' in root.find('{%s}message' % xmlutil.XMLNS_V10).text
