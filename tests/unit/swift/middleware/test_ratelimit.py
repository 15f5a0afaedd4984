"""ratelimit: container-size rates, sleeps, 498, black/white lists."""

import pytest
from webob import Request, Response

from swift.common.middleware.cacheclient import MemoryCache
from swift.common.middleware.ratelimit import (RateLimitMiddleware,
                                               container_max_rate,
                                               parse_container_limits)


class Clock:
    def __init__(self, now=1000.0):
        self.now = now
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def ok_app(env, start_response):
    return Response(status=201, body=b'ok')(env, start_response)


def make(conf, clock):
    return RateLimitMiddleware(ok_app, conf, clock=clock.time,
                               sleep=clock.sleep)


def call(app, cache, method, path):
    req = Request.blank(path, environ={'REQUEST_METHOD': method,
                                       'swift.cache': cache})
    return req.get_response(app).status_int


def test_container_limits_interpolate():
    limits = parse_container_limits({'container_ratelimit_10': '100',
                                     'container_ratelimit_50': '20',
                                     'container_ratelimit_100': '10',
                                     'other': 'x'})
    assert limits == [(10, 100.0), (50, 20.0), (100, 10.0)]
    assert container_max_rate(limits, 5) is None
    assert container_max_rate(limits, 10) == 100
    assert container_max_rate(limits, 30) == 60
    assert container_max_rate(limits, 75) == 15
    assert container_max_rate(limits, 10 ** 6) == 10
    assert container_max_rate(limits, None) is None
    with pytest.raises(ValueError):
        parse_container_limits({'container_ratelimit_x': '1'})


def test_account_ratelimit_sleeps_between_container_writes():
    clock = Clock()
    cache = MemoryCache(clock=clock.time)
    app = make({'account_ratelimit': '2'}, clock)
    for i in range(4):
        assert call(app, cache, 'PUT', '/v1/AUTH_a/c%d' % i) == 201
    # 2 per second: each request after the first waits its 0.5 s slot
    assert clock.sleeps == [0.5, 0.5, 0.5]
    # reads and object writes are not limited by account_ratelimit
    assert call(app, cache, 'GET', '/v1/AUTH_a/c0') == 201
    assert call(app, cache, 'PUT', '/v1/AUTH_a/c0/o') == 201
    assert len(clock.sleeps) == 3


def test_too_long_a_sleep_is_498():
    clock = Clock()
    cache = MemoryCache(clock=clock.time)
    app = RateLimitMiddleware(ok_app, {'account_ratelimit': '1',
                                       'max_sleep_time_seconds': '2'},
                              clock=clock.time, sleep=lambda s: None)
    statuses = [call(app, cache, 'PUT', '/v1/AUTH_a/c%d' % i)
                for i in range(5)]
    # slots at +0, +1, +2 fit; +3 would be over 2 s of sleep
    assert statuses == [201, 201, 201, 498, 498]
    clock.now += 10
    assert call(app, cache, 'PUT', '/v1/AUTH_a/later') == 201


def test_container_ratelimit_uses_cached_size():
    clock = Clock()
    cache = MemoryCache(clock=clock.time)
    app = make({'container_ratelimit_100': '4'}, clock)
    cache.set('container/AUTH_a/small', {'status': 204,
                                         'container_size': 5})
    cache.set('container/AUTH_a/big', {'status': 204,
                                       'container_size': 500})
    for _ in range(3):
        call(app, cache, 'PUT', '/v1/AUTH_a/small/o')
    assert clock.sleeps == []
    for _ in range(3):
        call(app, cache, 'PUT', '/v1/AUTH_a/big/o')
    assert clock.sleeps == [0.25, 0.25]


def test_idle_counter_restarts_from_now():
    clock = Clock()
    cache = MemoryCache(clock=clock.time)
    app = make({'account_ratelimit': '1'}, clock)
    call(app, cache, 'PUT', '/v1/AUTH_a/c1')
    clock.now += 3600
    call(app, cache, 'PUT', '/v1/AUTH_a/c2')
    assert clock.sleeps == []


def test_black_and_white_lists():
    clock = Clock()
    cache = MemoryCache(clock=clock.time)
    app = make({'account_ratelimit': '1', 'account_whitelist': 'AUTH_w',
                'account_blacklist': 'AUTH_b'}, clock)
    assert call(app, cache, 'GET', '/v1/AUTH_b/c') == 497
    for i in range(5):
        assert call(app, cache, 'PUT', '/v1/AUTH_w/c%d' % i) == 201
    assert clock.sleeps == []


def test_without_cache_passes_through():
    clock = Clock()
    app = make({'account_ratelimit': '1'}, clock)
    for i in range(3):
        req = Request.blank('/v1/AUTH_a/c%d' % i,
                            environ={'REQUEST_METHOD': 'PUT'})
        assert req.get_response(app).status_int == 201
    assert clock.sleeps == []
