"""WSGI middleware of the Swift proxy pipeline.

Each module has a ``filter_factory(global_conf, **local_conf)`` for
paste.deploy: catch_errors, healthcheck, memcache (the ``cache`` filter),
ratelimit, tempauth and proxy_logging.
"""
