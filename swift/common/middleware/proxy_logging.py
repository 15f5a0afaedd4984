"""proxy_logging: one access-log line per client request.

The line is written when the response body is finished (or abandoned), so
it carries the real byte counts and the time the whole request took::

    <client ip> <remote addr> <dd/Mon/YYYY/HH/MM/SS> <method> <path[?query]>
    <protocol> <status> <referer> <user agent> <bytes in> <bytes out>
    <trans id> <elapsed seconds>

Fields are space-separated; spaces and unsafe bytes inside a field are
%-quoted, a missing field is ``-``.  A client that goes away before the
body was sent is logged with status 499.  Tokens are never logged.

Config: ``access_log_name`` / ``access_log_level`` / ``access_log_facility``
(else the ``log_*`` keys) choose where the lines go.
"""

import time
from urllib.parse import quote

from swift.common.middleware.transaction import get_trans_id
from swift.common.utils import get_logger


def _field(value):
    if value is None or value == '':
        return '-'
    if isinstance(value, str):
        value = value.encode('latin-1', 'replace')
    return quote(value, safe='/:?=&@!$,;*+.-_~%()')


class InputCounter:
    """Wraps ``wsgi.input`` to count the bytes the application read."""

    def __init__(self, wsgi_input):
        self.wsgi_input = wsgi_input
        self.bytes_read = 0

    def read(self, *args, **kwargs):
        data = self.wsgi_input.read(*args, **kwargs)
        self.bytes_read += len(data)
        return data

    def readline(self, *args, **kwargs):
        data = self.wsgi_input.readline(*args, **kwargs)
        self.bytes_read += len(data)
        return data

    def __iter__(self):
        for chunk in self.wsgi_input:
            self.bytes_read += len(chunk)
            yield chunk

    def __getattr__(self, name):
        return getattr(self.wsgi_input, name)


class ProxyLoggingMiddleware:
    def __init__(self, app, conf, logger=None):
        self.app = app
        access_conf = dict(conf)
        for key in ('log_name', 'log_level', 'log_facility', 'log_file'):
            if conf.get('access_' + key):
                access_conf[key] = conf['access_' + key]
        access_conf.setdefault('log_name', 'proxy-access')
        self.logger = logger or get_logger(access_conf,
                                           log_route='proxy-access')

    def log_request(self, env, status, bytes_in, bytes_out, start):
        path = env.get('PATH_INFO', '')
        if env.get('QUERY_STRING'):
            path += '?' + env['QUERY_STRING']
        forwarded = env.get('HTTP_X_FORWARDED_FOR')
        client_ip = (forwarded.split(',')[0].strip() if forwarded
                     else env.get('REMOTE_ADDR'))
        fields = [
            client_ip, env.get('REMOTE_ADDR'),
            time.strftime('%d/%b/%Y/%H/%M/%S', time.gmtime(start)),
            env.get('REQUEST_METHOD'), path, env.get('SERVER_PROTOCOL'),
            status, env.get('HTTP_REFERER'), env.get('HTTP_USER_AGENT'),
            bytes_in, bytes_out, get_trans_id(env),
            '%.4f' % (time.time() - start),
        ]
        self.logger.info(' '.join(_field(str(f) if isinstance(f, int)
                                         else f) for f in fields))

    def __call__(self, env, start_response):
        start = time.time()
        get_trans_id(env)
        counter = InputCounter(env['wsgi.input']) \
            if env.get('wsgi.input') is not None else None
        if counter is not None:
            env['wsgi.input'] = counter
        state = {'status': None}

        def my_start_response(status, headers, exc_info=None):
            state['status'] = int(status.split(' ', 1)[0])
            return start_response(status, headers, exc_info)

        try:
            result = self.app(env, my_start_response)
        except Exception:
            self.log_request(env, 500, counter.bytes_read if counter else 0,
                             0, start)
            raise
        return self._iterate(result, env, state, counter, start)

    def _iterate(self, result, env, state, counter, start):
        bytes_out = 0
        client_left = False
        try:
            for chunk in result:
                bytes_out += len(chunk)
                yield chunk
        except GeneratorExit:
            client_left = True
            raise
        finally:
            close = getattr(result, 'close', None)
            if close:
                close()
            status = 499 if client_left else (state['status'] or 500)
            self.log_request(env, status,
                             counter.bytes_read if counter else 0,
                             bytes_out, start)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)

    def proxy_logging_filter(app):
        return ProxyLoggingMiddleware(app, conf)
    return proxy_logging_filter
