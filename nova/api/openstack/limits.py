"""Rate limits of the OpenStack API, and the /limits resource.

Each limit is ``(VERB, "URI", regex, value, UNIT)``: requests of that verb
whose path (with ``?query`` appended when there is one, without a
``.json``/``.xml`` suffix and below the version/project prefix) matches
the regex may happen ``value`` times per unit (SECOND, MINUTE, HOUR, DAY).
Each (user, limit) is a leaky bucket holding ``value`` requests that
drains at ``value`` per unit, so bursts up to the value pass and the
steady rate is the value per unit.  A request refused by any limit uses
up none of them.  The default limits are the classic ones:

    POST *                  10/minute
    POST /servers           50/day   (creating servers only; the original
                                      also counted every server action)
    PUT *                   10/minute
    GET *changes-since*      3/minute
    DELETE *               100/minute

They are set with the ``limits`` option of the ratelimit filter in
api-paste.ini, else the ``osapi_rate_limits`` flag, in the same syntax,
``;``-separated.  The buckets live in the memory of the nova-api process:
with several API processes each enforces the limits on its own, and a
restart forgets them.  Users are keyed by user id.

A refused request gets 413 ``overLimit`` with ``Retry-After`` in seconds.
"""

import collections
import math
import re
import threading
import time

from nova import flags
from nova import quota
from nova import wsgi
from nova.api.openstack import faults
from nova.api.openstack import resource

FLAGS = flags.FLAGS

flags.DEFINE_string('osapi_rate_limits', '',
                    'rate limits of the OpenStack API: (VERB, "URI", regex, '
                    'value, UNIT);... (empty: the classic defaults)')

UNITS = {'SECOND': 1, 'MINUTE': 60, 'HOUR': 3600, 'DAY': 86400}

DEFAULT_LIMITS = ('(POST, "*", .*, 10, MINUTE);'
                  '(POST, "*/servers", ^/servers$, 50, DAY);'
                  '(PUT, "*", .*, 10, MINUTE);'
                  '(GET, "*changes-since*", .*changes-since.*, 3, MINUTE);'
                  '(DELETE, "*", .*, 100, MINUTE)')

_VERBS = ('GET', 'HEAD', 'POST', 'PUT', 'DELETE')


class Limit:

    def __init__(self, verb, uri, regex, value, unit):
        verb = verb.upper()
        if verb not in _VERBS:
            raise ValueError('unknown verb %r in rate limit' % verb)
        unit = unit.upper()
        if unit not in UNITS:
            raise ValueError('unknown unit %r in rate limit (%s)'
                             % (unit, ', '.join(UNITS)))
        value = int(value)
        if value < 1:
            raise ValueError('a rate limit value must be at least 1')
        self.verb = verb
        self.uri = uri
        self.regex = regex
        self.pattern = re.compile(regex)
        self.value = value
        self.unit = unit
        self.rate = value / UNITS[unit]     # requests drained per second

    def matches(self, verb, url):
        return verb == self.verb and self.pattern.match(url) is not None

    def __repr__(self):
        return '(%s, "%s", %s, %d, %s)' % (self.verb, self.uri, self.regex,
                                           self.value, self.unit)


_LIMIT = re.compile(r'\(\s*(\w+)\s*,\s*"?([^",]*)"?\s*,\s*(.+?)\s*,\s*(\d+)'
                    r'\s*,\s*(\w+)\s*\)')


def parse_limits(text):
    """Limits from ``(VERB, "URI", regex, value, UNIT);...``; ValueError."""
    limits = []
    for part in (text or '').split(';'):
        part = part.strip()
        if not part:
            continue
        match = _LIMIT.fullmatch(part)
        if not match:
            raise ValueError('bad rate limit %r: expected (VERB, "URI", '
                             'regex, value, UNIT)' % part)
        try:
            limits.append(Limit(*match.groups()))
        except re.error as e:
            raise ValueError('bad regex in rate limit %r: %s'
                             % (part, e)) from None
    return limits


class Limiter:
    """Leaky buckets per (user, limit); ``clock`` is for tests."""

    def __init__(self, limits, clock=time.time):
        self.limits = list(limits)
        self.clock = clock
        self._levels = collections.defaultdict(dict)  # user -> {i: (lv, t)}
        self._lock = threading.Lock()

    def _level(self, user, index, now):
        level, last = self._levels[user].get(index, (0.0, now))
        rate = self.limits[index].rate
        return max(0.0, level - (now - last) * rate)

    def check(self, user, verb, url):
        """None when allowed (and counted), else seconds to wait."""
        with self._lock:
            now = self.clock()
            matching = [i for i, limit in enumerate(self.limits)
                        if limit.matches(verb, url)]
            delays = []
            levels = {}
            for i in matching:
                limit = self.limits[i]
                level = self._level(user, i, now)
                levels[i] = level
                if level + 1 > limit.value + 1e-9:
                    delays.append((level + 1 - limit.value) / limit.rate)
            if delays:
                return max(delays)
            for i, level in levels.items():
                self._levels[user][i] = (level + 1, now)
            return None

    def report(self, user):
        """Each limit with what ``user`` has left and when it refills."""
        with self._lock:
            now = self.clock()
            result = []
            for i, limit in enumerate(self.limits):
                level = self._level(user, i, now)
                remaining = int(math.floor(limit.value - level + 1e-9))
                wait = 0.0 if remaining >= 1 else \
                    (level + 1 - limit.value) / limit.rate
                result.append({
                    'verb': limit.verb, 'URI': limit.uri,
                    'regex': limit.regex, 'value': limit.value,
                    'remaining': max(remaining, 0), 'unit': limit.unit,
                    'resetTime': int(math.ceil(now + level / limit.rate)),
                    'nextAvailable': int(math.ceil(now + wait))})
            return result


_SUFFIX = re.compile(r'\.(json|xml)$')
_LIMITERS = {}


class RateLimitingMiddleware(wsgi.Middleware):
    """Refuses requests over their user's limits with 413 overLimit."""

    def __init__(self, application, limits=None, limiter=None, **config):
        super().__init__(application, **config)
        if limiter is None:
            text = limits if limits is not None else \
                (FLAGS.osapi_rate_limits or DEFAULT_LIMITS)
            # The v1.0 and v1.1 pipelines share one set of buckets.
            limiter = _LIMITERS.get(text)
            if limiter is None:
                limiter = _LIMITERS[text] = Limiter(parse_limits(text))
        self.limiter = limiter

    def process_request(self, req):
        req.environ['nova.osapi.limiter'] = self.limiter
        context = req.environ.get('nova.context')
        if context is None:
            return None
        url = _SUFFIX.sub('', req.path_info)
        if req.query_string:
            url += '?' + req.query_string
        delay = self.limiter.check(context.user_id, req.method, url)
        if delay is None:
            return None
        raise faults.Fault(413, 'This request was rate-limited.',
                           details='Only %s requests per user are allowed; '
                           'retry in %d seconds.'
                           % (req.method, math.ceil(delay)),
                           retry_after=delay)


class LimitsController(resource.Controller):
    """GET /limits: rate limits (with what is left) and absolute quotas."""

    def index(self, req):
        context = resource.context_of(req)
        limiter = req.environ.get('nova.osapi.limiter')
        rates = limiter.report(context.user_id) if limiter else []
        return {'limits': {'rate': self._rate(rates),
                           'absolute': self._absolute(context)}}

    def _rate(self, rates):
        if self.version == '1.0':
            for rate in rates:
                rate.pop('nextAvailable')
            return rates
        grouped = collections.OrderedDict()
        for rate in rates:
            key = (rate['URI'], rate['regex'])
            entry = grouped.setdefault(key, {'uri': rate['URI'],
                                             'regex': rate['regex'],
                                             'limit': []})
            entry['limit'].append({
                'verb': rate['verb'], 'value': rate['value'],
                'remaining': rate['remaining'], 'unit': rate['unit'],
                'next-available': time.strftime(
                    '%Y-%m-%dT%H:%M:%SZ', time.gmtime(rate['nextAvailable']))})
        return list(grouped.values())

    @staticmethod
    def _absolute(context):
        limits = quota.get_quota(context, context.project_id)
        return {'maxTotalInstances': limits['instances'],
                'maxTotalCores': limits['cores'],
                'maxTotalVolumes': limits['volumes'],
                'maxTotalVolumeGigabytes': limits['gigabytes'],
                'maxTotalFloatingIps': limits['floating_ips'],
                'maxServerMeta': limits['metadata_items'],
                'maxImageMeta': limits['metadata_items'],
                'maxPersonality': limits['injected_files'],
                'maxPersonalitySize': limits['injected_file_content_bytes']}
