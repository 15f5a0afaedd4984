"""The ``cache`` filter: puts the shared cache client into the environ.

Config (filter section): ``memcache_servers`` (``host:port[,host:port]``).
Without it the cache is a `MemoryCache` inside this process, so tokens and
cached container info are per proxy process (fine for ``workers = 1``).
"""

from swift.common.middleware.cacheclient import MemcacheCache, MemoryCache


def make_cache(conf):
    servers = (conf.get('memcache_servers') or '').strip()
    if servers:
        return MemcacheCache(servers)
    return MemoryCache()


class CacheMiddleware:
    def __init__(self, app, conf):
        self.app = app
        self.cache = make_cache(conf)

    def __call__(self, env, start_response):
        env['swift.cache'] = self.cache
        return self.app(env, start_response)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)

    def cache_filter(app):
        return CacheMiddleware(app, conf)
    return cache_filter
