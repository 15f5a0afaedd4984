"""Logging with the request context in every line.

``getLogger(name)`` returns a logger adapter; pass ``context=ctx`` to any log
call and the line carries the request id, user and project:

    2011-02-03 12:00:00,123 INFO nova.compute.api [req-1 alice proj] msg

Lines logged outside a request show ``[-]``.  ``setup(binary)`` configures
the root logger once per process from the logging flags.
"""

import logging
import logging.handlers
import os
import sys

from nova import flags

FLAGS = flags.FLAGS

flags.DEFINE_string('logging_context_format_string',
                    '%(asctime)s %(levelname)s %(name)s '
                    '[%(request_id)s %(user_id)s %(project_id)s] %(message)s',
                    'format of log lines written inside a request')
flags.DEFINE_string('logging_default_format_string',
                    '%(asctime)s %(levelname)s %(name)s [-] %(message)s',
                    'format of log lines written outside a request')
flags.DEFINE_list('default_log_levels',
                  ['amqp=WARN', 'kombu=WARN', 'sqlalchemy=WARN',
                   'alembic=WARN', 'eventlet.wsgi.server=WARN',
                   'routes=WARN', 'libvirt=WARN'],
                  'logger=LEVEL pairs applied at start-up')

DEBUG = logging.DEBUG
INFO = logging.INFO
WARN = logging.WARNING
WARNING = logging.WARNING
ERROR = logging.ERROR
CRITICAL = logging.CRITICAL


class ContextFormatter(logging.Formatter):
    """Chooses the context or the default format per record."""

    def format(self, record):
        if getattr(record, 'request_id', None):
            self._style._fmt = FLAGS.logging_context_format_string
        else:
            self._style._fmt = FLAGS.logging_default_format_string
        return super().format(record)


class ContextAdapter(logging.LoggerAdapter):
    """Moves ``context=`` from a log call into the record's fields."""

    def process(self, msg, kwargs):
        context = kwargs.pop('context', None)
        extra = dict(kwargs.get('extra') or {})
        if context is not None:
            extra.setdefault('request_id', getattr(context, 'request_id', None))
            extra.setdefault('user_id', getattr(context, 'user_id', None) or '-')
            extra.setdefault('project_id',
                             getattr(context, 'project_id', None) or '-')
        kwargs['extra'] = extra
        return msg, kwargs

    def audit(self, msg, *args, **kwargs):
        self.info(msg, *args, **kwargs)


def getLogger(name='nova'):
    return ContextAdapter(logging.getLogger(name), {})


_configured = False


def setup(binary=None):
    """Configure the root logger from the flags (idempotent per process)."""
    global _configured
    root = logging.getLogger()
    if _configured:
        for handler in list(root.handlers):
            root.removeHandler(handler)
    _configured = True

    logfile = FLAGS.logfile
    if not logfile and FLAGS.logdir and binary:
        logfile = os.path.join(FLAGS.logdir, '%s.log' % binary)
    if FLAGS.use_syslog:
        handler = logging.handlers.SysLogHandler(address='/dev/log')
    elif logfile:
        os.makedirs(os.path.dirname(os.path.abspath(logfile)), exist_ok=True)
        handler = logging.handlers.WatchedFileHandler(logfile)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ContextFormatter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if FLAGS.verbose else logging.INFO)
    for pair in FLAGS.default_log_levels:
        name, _sep, level = pair.partition('=')
        if name and level:
            logging.getLogger(name.strip()).setLevel(level.strip().upper())
