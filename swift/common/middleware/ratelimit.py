"""ratelimit: slow down writes per account and per container.

Config (filter section)::

    account_ratelimit = 0            # container PUT/DELETE per second per
                                     # account; 0 = off
    container_ratelimit_<size> = <rate>
                                     # object PUT/POST/DELETE per second for
                                     # containers holding >= <size> objects;
                                     # rates between two sizes are linearly
                                     # interpolated, past the last it stays
    max_sleep_time_seconds = 60      # a request that would have to wait
                                     # longer is refused: 498 Slow Down
    log_sleep_time_seconds = 0       # log sleeps longer than this
    rate_buffer_seconds = 5          # how much unused rate may pile up
    account_whitelist = a,b          # never limited
    account_blacklist = c,d          # always refused (497)

Counters live in the shared cache (``env['swift.cache']``), so all proxies
sharing one memcached limit together.  Each counter holds, in milliseconds,
the time at which the next request of that kind may run (a virtual
scheduling clock, as in GCRA): a request adds its cost (1000 / rate) and
sleeps until its slot comes; a slot further than ``max_sleep_time_seconds``
ahead is refused.  The container's object count comes from the container
info the proxy caches.
"""

import time

import eventlet
from webob import Request, Response

from swift.common.utils import config_float, get_logger, split_path

CLOCK_ACCURACY = 1000  # counters are in milliseconds


class MaxSleepTimeHit(Exception):
    pass


def container_cache_key(account, container):
    # the same key the proxy stores container info under
    from swift.proxy.controllers.base import get_container_memcache_key
    return get_container_memcache_key(account, container)


def parse_container_limits(conf):
    """Sorted [(size, rate)] from ``container_ratelimit_<size>`` keys."""
    limits = []
    for key, value in conf.items():
        if not key.startswith('container_ratelimit_'):
            continue
        size_text = key[len('container_ratelimit_'):]
        try:
            size = int(size_text)
            rate = float(value)
        except ValueError:
            raise ValueError('ratelimit: bad option %s = %s' % (key, value))
        if size < 0 or rate < 0:
            raise ValueError('ratelimit: %s must not be negative' % key)
        limits.append((size, rate))
    limits.sort()
    return limits


def container_max_rate(limits, container_size):
    """The rate for a container of ``container_size`` objects, or None."""
    if container_size is None or not limits:
        return None
    if container_size < limits[0][0]:
        return None
    for (size1, rate1), (size2, rate2) in zip(limits, limits[1:]):
        if size1 <= container_size < size2:
            fraction = (container_size - size1) / float(size2 - size1)
            return rate1 + (rate2 - rate1) * fraction
    return limits[-1][1]


class RateLimitMiddleware:
    def __init__(self, app, conf, logger=None, clock=time.time,
                 sleep=eventlet.sleep):
        self.app = app
        self.logger = logger or get_logger(conf, log_route='ratelimit')
        self.account_ratelimit = config_float(conf, 'account_ratelimit', 0)
        self.max_sleep_time_seconds = config_float(
            conf, 'max_sleep_time_seconds', 60)
        self.log_sleep_time_seconds = config_float(
            conf, 'log_sleep_time_seconds', 0)
        self.rate_buffer_seconds = config_float(conf, 'rate_buffer_seconds',
                                                5)
        self.whitelist = _name_list(conf.get('account_whitelist', ''))
        self.blacklist = _name_list(conf.get('account_blacklist', ''))
        self.container_limits = parse_container_limits(conf)
        self.clock = clock
        self.sleep = sleep

    def keys_and_rates(self, req, cache, account, container, obj):
        """[(cache key, max rate)] that apply to this request."""
        result = []
        if self.account_ratelimit and container and not obj \
                and req.method in ('PUT', 'DELETE'):
            result.append(('ratelimit/%s' % account, self.account_ratelimit))
        if obj and req.method in ('PUT', 'POST', 'DELETE'):
            info = cache.get(container_cache_key(account, container)) or {}
            size = info.get('container_size') if isinstance(info, dict) \
                else None
            rate = container_max_rate(self.container_limits,
                                      None if size is None else int(size))
            if rate:
                result.append(('ratelimit/%s/%s' % (account, container),
                               rate))
        return result

    def sleep_time(self, cache, key, max_rate):
        """Seconds this request must wait; raises MaxSleepTimeHit."""
        cost = int(round(CLOCK_ACCURACY / max_rate))
        now = int(self.clock() * CLOCK_ACCURACY)
        next_slot = cache.incr(key, delta=cost)
        if now - next_slot > self.rate_buffer_seconds * CLOCK_ACCURACY:
            # idle for long: restart the clock from now (keeps only
            # rate_buffer_seconds worth of unused rate)
            cache.set(key, now + cost)
            return 0.0
        wait = max(next_slot - now - cost, 0)
        if wait > self.max_sleep_time_seconds * CLOCK_ACCURACY:
            cache.incr(key, delta=-cost)
            raise MaxSleepTimeHit('would sleep %.3fs'
                                  % (wait / float(CLOCK_ACCURACY)))
        return wait / float(CLOCK_ACCURACY)

    def handle_ratelimit(self, req, cache, account, container, obj):
        """None to go on, or the refusal response."""
        if account in self.blacklist:
            self.logger.error('Returning 497 because of blacklisting: %s',
                              account)
            return Response(status='497 Blacklisted',
                            body=b'Your account has been blacklisted\n',
                            content_type='text/plain', request=req)
        if account in self.whitelist:
            return None
        for key, rate in self.keys_and_rates(req, cache, account, container,
                                             obj):
            try:
                wait = self.sleep_time(cache, key, rate)
            except MaxSleepTimeHit as e:
                self.logger.error('Returning 498 for %s (%s) %s: %s',
                                  req.method, key, req.path, e)
                return Response(status='498 Slow Down',
                                body=b'Slow down\n',
                                content_type='text/plain', request=req)
            if self.log_sleep_time_seconds and \
                    wait > self.log_sleep_time_seconds:
                self.logger.warning('Ratelimit sleep log: %.3fs for %s %s',
                                    wait, key, req.path)
            if wait > 0:
                self.sleep(wait)
        return None

    def __call__(self, env, start_response):
        cache = env.get('swift.cache')
        if cache is None:
            return self.app(env, start_response)
        req = Request(env)
        try:
            _version, account, container, obj = split_path(
                req.path_info, 1, 4, True)
        except ValueError:
            return self.app(env, start_response)
        if not account:
            return self.app(env, start_response)
        resp = self.handle_ratelimit(req, cache, account, container, obj)
        if resp is not None:
            return resp(env, start_response)
        return self.app(env, start_response)


def _name_list(text):
    return set(item.strip() for item in text.split(',') if item.strip())


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)

    def ratelimit_filter(app):
        return RateLimitMiddleware(app, conf)
    return ratelimit_filter
