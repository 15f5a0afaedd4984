"""The rate limiter of the OpenStack API (nova.api.openstack.limits)."""

import json

import pytest
import webob

from nova import context
from nova.api.openstack import FaultWrapper
from nova.api.openstack import limits


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_default_limits_parse():
    parsed = limits.parse_limits(limits.DEFAULT_LIMITS)
    assert [(l.verb, l.uri, l.value, l.unit) for l in parsed] == [
        ('POST', '*', 10, 'MINUTE'), ('POST', '*/servers', 50, 'DAY'),
        ('PUT', '*', 10, 'MINUTE'), ('GET', '*changes-since*', 3, 'MINUTE'),
        ('DELETE', '*', 100, 'MINUTE')]


@pytest.mark.parametrize('text', [
    '(POST, "*", .*, 10)', '(FETCH, "*", .*, 10, MINUTE)',
    '(POST, "*", .*, 10, FORTNIGHT)', '(POST, "*", .*, 0, MINUTE)',
    '(POST, "*", (, 1, MINUTE)', 'garbage'])
def test_bad_limits_are_refused(text):
    with pytest.raises(ValueError):
        limits.parse_limits(text)


def test_burst_then_refusal_then_refill():
    clock = Clock()
    limiter = limits.Limiter(limits.parse_limits('(POST, "*", .*, 3, MINUTE)'),
                             clock)
    assert [limiter.check('u', 'POST', '/servers') for _ in range(3)] == \
        [None] * 3
    delay = limiter.check('u', 'POST', '/servers')
    assert delay == pytest.approx(20.0)
    # Other verbs and other users are not affected.
    assert limiter.check('u', 'GET', '/servers') is None
    assert limiter.check('v', 'POST', '/servers') is None
    clock.now += 19
    assert limiter.check('u', 'POST', '/servers') == pytest.approx(1.0)
    clock.now += 1
    assert limiter.check('u', 'POST', '/servers') is None


def test_a_refused_request_uses_up_no_limit():
    clock = Clock()
    limiter = limits.Limiter(limits.parse_limits(
        '(POST, "*", .*, 10, MINUTE);(POST, "*/servers", ^/servers$, 1, DAY)'),
        clock)
    assert limiter.check('u', 'POST', '/servers') is None
    for _ in range(5):
        assert limiter.check('u', 'POST', '/servers') > 3600
    # The generic POST bucket holds only the one accepted request.
    report = {r['URI']: r for r in limiter.report('u')}
    assert report['*']['remaining'] == 9
    assert report['*/servers']['remaining'] == 0
    assert report['*/servers']['nextAvailable'] == pytest.approx(
        clock.now + 86400, abs=1)
    # Actions on servers are not creations.
    assert limiter.check('u', 'POST', '/servers/1/action') is None


def test_changes_since_limit_matches_the_query():
    limiter = limits.Limiter(limits.parse_limits(
        '(GET, "*changes-since*", .*changes-since.*, 1, MINUTE)'), Clock())
    assert limiter.check('u', 'GET', '/servers?changes-since=2011') is None
    assert limiter.check('u', 'GET', '/servers?changes-since=2011') > 0
    assert limiter.check('u', 'GET', '/servers') is None


def _app():
    @webob.dec.wsgify
    def ok(req):
        return webob.Response('ok')
    return ok


def test_middleware_answers_413_with_retry_after():
    limiter = limits.Limiter(limits.parse_limits('(PUT, "*", .*, 1, HOUR)'),
                             Clock())
    app = FaultWrapper(limits.RateLimitingMiddleware(_app(), limiter=limiter))

    def put(path):
        req = webob.Request.blank(path, method='PUT')
        req.environ['nova.context'] = context.RequestContext('u', 'p')
        return req.get_response(app)

    assert put('/servers/1').status_int == 200
    resp = put('/servers/1.json')
    assert resp.status_int == 413
    assert resp.headers['Retry-After'] == '3600'
    fault = json.loads(resp.body)['overLimit']
    assert fault['code'] == 413 and fault['retryAfter'] == '3600'
    assert 'PUT' in fault['details']
