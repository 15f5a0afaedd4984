"""healthcheck, catch_errors, proxy_logging and the cache filter."""

import logging

import pytest
from webob import Request, Response

from swift.common.middleware import (catch_errors, healthcheck, memcache,
                                     proxy_logging)
from swift.common.middleware.cacheclient import MemcacheCache, MemoryCache


def app_ok(env, start_response):
    return Response(status=200, body=b'app')(env, start_response)


def app_boom(env, start_response):
    raise RuntimeError('secret internal detail')


class ListLogger:
    def __init__(self):
        self.lines = []
        self.txn_id = None

    def info(self, msg, *args):
        self.lines.append(('info', msg % args if args else msg))

    def exception(self, msg, *args, **kwargs):
        self.lines.append(('exception', msg % args if args else msg))

    error = exception


def test_healthcheck():
    app = healthcheck.filter_factory({})(app_ok)
    resp = Request.blank('/healthcheck').get_response(app)
    assert resp.status_int == 200 and resp.body == b'OK'
    assert Request.blank('/v1/a').get_response(app).body == b'app'
    resp = Request.blank('/healthcheck',
                         environ={'REQUEST_METHOD': 'PUT'}).get_response(app)
    assert resp.status_int == 405


def test_healthcheck_disable_file(tmp_path):
    flag = tmp_path / 'disabled'
    app = healthcheck.filter_factory({}, disable_path=str(flag))(app_ok)
    assert Request.blank('/healthcheck').get_response(app).status_int == 200
    flag.write_text('')
    resp = Request.blank('/healthcheck').get_response(app)
    assert resp.status_int == 503


def test_catch_errors_hides_traceback():
    logger = ListLogger()
    app = catch_errors.CatchErrorMiddleware(app_boom, {}, logger=logger)
    resp = Request.blank('/v1/a').get_response(app)
    assert resp.status_int == 500
    trans_id = resp.headers['X-Trans-Id']
    assert trans_id.startswith('tx')
    assert trans_id.encode() in resp.body
    assert b'secret' not in resp.body and b'Traceback' not in resp.body
    assert logger.lines and logger.lines[0][0] == 'exception'


def test_catch_errors_passes_and_sets_trans_id():
    seen = {}

    def app(env, start_response):
        seen['id'] = env['swift.trans_id']
        return app_ok(env, start_response)
    wrapped = catch_errors.CatchErrorMiddleware(app, {},
                                                logger=ListLogger())
    resp = Request.blank('/v1/a').get_response(wrapped)
    assert resp.status_int == 200 and resp.body == b'app'
    assert seen['id'].startswith('tx')
    assert resp.headers['X-Trans-Id'] == seen['id']
    assert resp.headers['X-CF-Trans-Id'] == seen['id']


def test_proxy_logging_one_line_per_request():
    logger = ListLogger()
    app = proxy_logging.ProxyLoggingMiddleware(app_ok, {}, logger=logger)
    req = Request.blank('/v1/a/c%20d?format=json', environ={
        'REQUEST_METHOD': 'PUT', 'REMOTE_ADDR': '10.1.2.3'},
        headers={'X-Auth-Token': 'AUTH_tksecret', 'User-Agent': 'my agent'})
    req.body = b'12345'

    def reading_app(env, start_response):
        env['wsgi.input'].read()
        return app_ok(env, start_response)
    app.app = reading_app
    resp = req.get_response(app)
    assert resp.body == b'app'
    assert len(logger.lines) == 1
    fields = logger.lines[0][1].split(' ')
    assert fields[0] == '10.1.2.3'
    assert fields[3] == 'PUT'
    assert fields[4] == '/v1/a/c%20d?format=json'
    assert fields[6] == '200'
    assert fields[8] == 'my%20agent'
    assert fields[9] == '5' and fields[10] == '3'
    assert fields[11] == req.environ['swift.trans_id']
    assert float(fields[12]) >= 0
    assert 'secret' not in logger.lines[0][1]


def test_proxy_logging_client_disconnect_is_499():
    logger = ListLogger()

    def streaming(env, start_response):
        start_response('200 OK', [('Content-Length', '6')])
        return iter([b'abc', b'def'])
    app = proxy_logging.ProxyLoggingMiddleware(streaming, {}, logger=logger)
    env = Request.blank('/v1/a').environ
    body = app(env, lambda *a: None)
    next(body)
    body.close()
    fields = logger.lines[0][1].split(' ')
    assert fields[6] == '499'
    assert fields[10] == '3'


def test_cache_filter_puts_cache_in_environ():
    seen = {}

    def app(env, start_response):
        seen['cache'] = env['swift.cache']
        return app_ok(env, start_response)
    wrapped = memcache.filter_factory({})(app)
    Request.blank('/').get_response(wrapped)
    assert isinstance(seen['cache'], MemoryCache)
    wrapped = memcache.filter_factory({},
                                      memcache_servers='127.0.0.1:1')(app)
    Request.blank('/').get_response(wrapped)
    assert isinstance(seen['cache'], MemcacheCache)


def test_memory_cache():
    now = [100.0]
    cache = MemoryCache(max_entries=3, clock=lambda: now[0])
    cache.set('a', {'x': [1, 2]}, timeout=10)
    value = cache.get('a')
    value['x'].append(3)   # callers get copies
    assert cache.get('a') == {'x': [1, 2]}
    now[0] += 11
    assert cache.get('a') is None
    assert cache.incr('n') == 1
    assert cache.incr('n', 5) == 6
    assert cache.incr('n', -10) == 0
    cache.delete('n')
    assert cache.get('n') is None
    for key in 'bcde':
        cache.set(key, key)
    assert cache.get('b') is None and cache.get('e') == 'e'
    long_key = 'k' * 300
    cache.set(long_key, 1)
    assert cache.get(long_key) == 1


def test_log_level_names_are_checked():
    logging.getLogger('x')   # get_logger validates log_level
    with pytest.raises(ValueError):
        proxy_logging.ProxyLoggingMiddleware(app_ok, {'log_level': 'LOUD'})
