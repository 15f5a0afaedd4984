"""The cache the proxy and its middleware share (``env['swift.cache']``).

Two implementations of one small interface::

    get(key) -> value or None
    set(key, value, timeout=0)        # timeout in seconds, 0 = no expiry
    incr(key, delta=1, timeout=0)     # creates the key at ``delta``; -> int
    delete(key)

Values are JSON (never pickle: anything that can write to memcached could
otherwise run code in every proxy).

- `MemcacheCache` talks to memcached servers through pymemcache (keys are
  spread over the servers by consistent hashing).
- `MemoryCache` lives in the process. Without memcached each proxy process
  (each worker) has its own: tokens, cached container existence and
  ratelimit counters are then per process.
"""

import hashlib
import json
import re
import threading
import time

#: memcached refuses keys longer than 250 bytes or with spaces / control
#: characters; such keys are replaced by a digest (same as for MemoryCache,
#: so both behave alike).
MAX_KEY_LENGTH = 250


_UNSAFE_KEY_BYTE = re.compile(rb'[\x00-\x20\x7f]')


def _safe_key(key):
    raw = key.encode('utf-8') if isinstance(key, str) else key
    if len(raw) > MAX_KEY_LENGTH or _UNSAFE_KEY_BYTE.search(raw):
        return 'md5:' + hashlib.md5(raw).hexdigest()
    return raw.decode('utf-8')


class MemoryCache:
    """Process-local TTL cache, bounded in entries."""

    def __init__(self, max_entries=100000, clock=time.time):
        self.max_entries = max_entries
        self._clock = clock
        self._data = {}
        self._lock = threading.Lock()

    def _expiry(self, timeout):
        return self._clock() + timeout if timeout and timeout > 0 else None

    def _live(self, key):
        item = self._data.get(key)
        if item is None:
            return None
        expires, _value = item
        if expires is not None and expires <= self._clock():
            del self._data[key]
            return None
        return item

    def _make_room(self):
        if len(self._data) < self.max_entries:
            return
        now = self._clock()
        for key in [k for k, (exp, _v) in self._data.items()
                    if exp is not None and exp <= now]:
            del self._data[key]
        while len(self._data) >= self.max_entries:
            # dicts keep insertion order: drop the oldest entry
            del self._data[next(iter(self._data))]

    def get(self, key):
        key = _safe_key(key)
        with self._lock:
            item = self._live(key)
        return None if item is None else json.loads(item[1])

    def set(self, key, value, timeout=0):
        key = _safe_key(key)
        # stored serialised so callers never share (and mutate) one object
        data = json.dumps(value)
        with self._lock:
            self._data.pop(key, None)
            self._make_room()
            self._data[key] = (self._expiry(timeout), data)

    def incr(self, key, delta=1, timeout=0):
        key = _safe_key(key)
        with self._lock:
            item = self._live(key)
            if item is None:
                self._make_room()
                value, expires = max(int(delta), 0), self._expiry(timeout)
            else:
                expires = item[0]
                # memcached never goes below zero either
                value = max(int(json.loads(item[1])) + int(delta), 0)
            self._data[key] = (expires, json.dumps(value))
        return value

    def delete(self, key):
        key = _safe_key(key)
        with self._lock:
            self._data.pop(key, None)


class _JsonSerde:
    FLAG_JSON = 1

    def serialize(self, key, value):
        return json.dumps(value).encode('utf-8'), self.FLAG_JSON

    def deserialize(self, key, value, flags):
        try:
            return json.loads(value)
        except ValueError:
            return None


def _parse_servers(servers):
    result = []
    for item in servers.split(','):
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(':')
        if not sep:
            host, port = item, '11211'
        result.append((host.strip('[]'), int(port)))
    if not result:
        raise ValueError('memcache_servers names no server: %r' % servers)
    return result


class MemcacheCache:
    """memcached through pymemcache; errors count as cache misses."""

    def __init__(self, servers, connect_timeout=0.3, io_timeout=1.0):
        from pymemcache.client.hash import HashClient
        self.servers = _parse_servers(servers)
        self._client = HashClient(
            self.servers, serde=_JsonSerde(), connect_timeout=connect_timeout,
            timeout=io_timeout, use_pooling=True, ignore_exc=True,
            retry_attempts=1, dead_timeout=10)

    def get(self, key):
        return self._client.get(_safe_key(key))

    def set(self, key, value, timeout=0):
        self._client.set(_safe_key(key), value, expire=int(timeout or 0),
                         noreply=False)

    def incr(self, key, delta=1, timeout=0):
        key = _safe_key(key)
        delta = int(delta)
        for _attempt in range(3):
            if delta >= 0:
                value = self._client.incr(key, delta, noreply=False)
            else:
                value = self._client.decr(key, -delta, noreply=False)
            if value is not None:
                return int(value)
            # missing: create it; another proxy may win the race, then retry
            if self._client.add(key, max(delta, 0),
                                expire=int(timeout or 0), noreply=False):
                return max(delta, 0)
        return max(delta, 0)

    def delete(self, key):
        self._client.delete(_safe_key(key), noreply=False)
