"""catch_errors: the outermost filter.

It gives every request its transaction id (see transaction.py), adds
``X-Trans-Id``/``X-CF-Trans-Id`` to every answer, and turns an
exception that escapes the pipeline into ``500`` with that id, logged with
its traceback here and never shown to the client.
"""

import sys

from swift.common.middleware.transaction import (get_trans_id,
                                                 trans_id_headers)
from swift.common.utils import get_logger


class CatchErrorMiddleware:
    def __init__(self, app, conf, logger=None):
        self.app = app
        self.logger = logger or get_logger(conf, log_route='catch-errors')

    def _error(self, env, start_response, trans_id, started):
        self.logger.txn_id = trans_id
        self.logger.exception('Error: uncaught exception in %s %s',
                              env.get('REQUEST_METHOD'), env.get('PATH_INFO'))
        body = ('An error occurred (transaction %s)\n' % trans_id).encode()
        headers = [('Content-Type', 'text/plain'),
                   ('Content-Length', str(len(body)))]
        # exc_info only when the app had already started a response: the
        # server then replaces it (or re-raises if headers went out)
        start_response('500 Internal Server Error',
                       headers + trans_id_headers(trans_id),
                       sys.exc_info() if started else None)
        return [body]

    def __call__(self, env, start_response):
        trans_id = get_trans_id(env)
        self.logger.txn_id = trans_id
        started = []

        def my_start_response(status, headers, exc_info=None):
            started.append(status)
            # every answer names its transaction, also those made by
            # middleware (auth, healthcheck) before the proxy app
            present = {k.lower() for k, _v in headers}
            headers = list(headers) + [
                (k, v) for k, v in trans_id_headers(trans_id)
                if k.lower() not in present]
            return start_response(status, headers, exc_info)

        try:
            result = self.app(env, my_start_response)
        except Exception:
            return self._error(env, start_response, trans_id, bool(started))
        return self._guard(result, trans_id, env)

    def _guard(self, result, trans_id, env):
        """Errors while the body streams can't change the status any more:
        log them and end the body early (the client sees a short read)."""
        try:
            for chunk in result:
                yield chunk
        except Exception:
            self.logger.txn_id = trans_id
            self.logger.exception('Error: exception while sending the body '
                                  'of %s %s', env.get('REQUEST_METHOD'),
                                  env.get('PATH_INFO'))
        finally:
            close = getattr(result, 'close', None)
            if close:
                close()


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)

    def catch_errors_filter(app):
        return CatchErrorMiddleware(app, conf)
    return catch_errors_filter
