"""``GET /healthcheck`` -> ``200 OK`` without touching the rest of the
pipeline, so a load balancer can poll the proxy cheaply.

Optional ``disable_path``: while that file exists the answer is
``503 DISABLED BY FILE`` (to take a proxy out of rotation gracefully).
"""

import os

from webob import Request, Response


class HealthCheckMiddleware:
    def __init__(self, app, conf):
        self.app = app
        self.disable_path = conf.get('disable_path', '')

    def __call__(self, env, start_response):
        if env.get('PATH_INFO') != '/healthcheck':
            return self.app(env, start_response)
        req = Request(env)
        if self.disable_path and os.path.exists(self.disable_path):
            resp = Response(status=503, body=b'DISABLED BY FILE',
                            content_type='text/plain')
        elif req.method in ('GET', 'HEAD'):
            resp = Response(status=200, body=b'OK', content_type='text/plain')
        else:
            resp = Response(status=405, body=b'Method Not Allowed',
                            headers=[('Allow', 'GET, HEAD')],
                            content_type='text/plain')
        return resp(env, start_response)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)

    def healthcheck_filter(app):
        return HealthCheckMiddleware(app, conf)
    return healthcheck_filter
