"""Serving a paste.deploy pipeline with eventlet.wsgi.

``run_wsgi(conf_file, app_section)`` is everything a ``bin/swift-*-server``
launcher does: read [DEFAULT] (bind_ip, bind_port, backlog, workers, user,
swift_dir), bind, load the pipeline, then serve on green pools.

Processes: ``workers = 0`` serves in the launching process; ``workers = N``
(default 1) forks N children that share the listening socket while the
parent supervises them (a child that dies is replaced, at most once a
second).  Signals: SIGTERM stops at once (children too); SIGHUP is a
graceful stop: stop accepting, let in-flight requests finish, for at most
``graceful_timeout`` seconds (default 60).
"""

import errno
import os
import signal
import socket
import sys
import time

import eventlet
import eventlet.wsgi
from eventlet import greenpool
from paste.deploy import loadapp

from swift.common.utils import (drop_privileges, get_logger, readconf,
                                set_swift_dir)

BIND_RETRY_SECONDS = 30


class _Stop(Exception):
    """Raised by the supervisor's signal handler to leave its wait."""


class _EventletLog:
    """Routes eventlet.wsgi's own lines to our logger (debug level)."""

    def __init__(self, logger):
        self.logger = logger

    def write(self, message):
        message = message.rstrip()
        if message:
            self.logger.debug(message)

    def info(self, message, *args):
        self.logger.debug(message, *args)

    debug = info

    def error(self, message, *args, **kwargs):
        self.logger.error(message, *args, **kwargs)

    def exception(self, message, *args, **kwargs):
        self.logger.exception(message, *args, **kwargs)


def _server_conf(conf_file, app_section):
    """[DEFAULT] values merged with the app section (app wins)."""
    all_conf = readconf(conf_file)
    conf = dict(all_conf.get('DEFAULT', {}))
    for name in (app_section, 'app:' + app_section):
        if name in all_conf:
            conf.update(all_conf[name])
            break
    conf['__file__'] = conf_file
    conf.setdefault('log_name', app_section.split(':')[-1])
    return conf


def get_socket(conf, default_port=8080):
    """Bind the listening socket, retrying while the address is in use."""
    bind_addr = (conf.get('bind_ip', '0.0.0.0'),
                 int(conf.get('bind_port', default_port)))
    family = socket.AF_INET6 if ':' in bind_addr[0] else socket.AF_INET
    backlog = int(conf.get('backlog', 4096))
    deadline = time.monotonic() + BIND_RETRY_SECONDS
    while True:
        try:
            sock = eventlet.listen(bind_addr, family=family, backlog=backlog)
            break
        except OSError as err:
            if err.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if hasattr(socket, 'TCP_KEEPIDLE'):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 600)
    return sock


def load_app(conf_file, app_section):
    """The 'main' pipeline of the ini file, else the named app section."""
    uri = 'config:' + os.path.abspath(conf_file)
    try:
        return loadapp(uri)
    except LookupError:
        return loadapp(uri, name=app_section.split(':')[-1])


def _serve(sock, app, conf, logger):
    """Serve until SIGTERM (exit now) or SIGHUP (drain, then exit)."""
    graceful_timeout = int(conf.get('graceful_timeout', 60))

    def _terminate(signum, frame):
        logger.info('SIGTERM received, exiting')
        _flush_and_exit(0)

    def _graceful(signum, frame):
        logger.info('SIGHUP received, finishing in-flight requests')
        # Bound the drain: keep-alive clients could hold it open forever.
        signal.signal(signal.SIGALRM, lambda *a: _flush_and_exit(0))
        signal.alarm(max(1, graceful_timeout))
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _graceful)
    pool = greenpool.GreenPool(size=int(conf.get('max_clients', 1024)))
    try:
        eventlet.wsgi.server(sock, app, log=_EventletLog(logger),
                             custom_pool=pool, log_output=False,
                             url_length_limit=16384,
                             socket_timeout=float(
                                 conf.get('client_timeout', 60)))
    except SystemExit:
        pass
    try:
        sock.close()
    except OSError:
        pass
    pool.waitall()


def _flush_and_exit(code):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def run_wsgi(conf_file, app_section, default_port=8080, **kwargs):
    """Run the WSGI server described by ``conf_file`` (blocks until stopped)."""
    eventlet.patcher.monkey_patch(all=False, socket=True, select=True,
                                  time=True)
    if not os.path.exists(conf_file):
        raise SystemExit('Unable to read config file %s' % conf_file)
    conf = _server_conf(conf_file, app_section)
    logger = get_logger(conf, conf['log_name'])
    set_swift_dir(conf.get('swift_dir', '/etc/swift'))
    sock = get_socket(conf, default_port)
    user = conf.get('user')
    if user and os.geteuid() == 0:
        drop_privileges(user)
    app = load_app(conf_file, app_section)
    workers = int(conf.get('workers', 1))
    logger.info('%s listening on %s:%s (workers=%d)', conf['log_name'],
                *sock.getsockname()[:2], workers)
    if workers == 0:
        _serve(sock, app, conf, logger)
        return
    _supervise(sock, app, conf, logger, workers)


def _supervise(sock, app, conf, logger, workers):
    """Fork ``workers`` children and keep that many alive until signalled."""
    children = set()
    state = {'running': True, 'signal': signal.SIGTERM}

    def _stop(signum, frame):
        state['running'] = False
        state['signal'] = signum
        # Raising is what interrupts os.wait() (PEP 475 retries on EINTR).
        raise _Stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    last_fork = 0.0
    while state['running']:
        while len(children) < workers and state['running']:
            # Throttle restarts so a crashing app cannot fork-bomb the box.
            wait = last_fork + 1.0 - time.monotonic()
            if children and wait > 0:
                try:
                    time.sleep(wait)
                except _Stop:
                    break
            last_fork = time.monotonic()
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGHUP, signal.SIG_DFL)
                try:
                    _serve(sock, app, conf, logger)
                finally:
                    _flush_and_exit(0)
            children.add(pid)
        try:
            pid, _status = os.wait()
            children.discard(pid)
            if state['running']:
                logger.error('worker %d died, starting another', pid)
        except ChildProcessError:
            children.clear()
        except _Stop:
            pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sock.close()
    for pid in list(children):
        try:
            os.kill(pid, state['signal'])
        except ProcessLookupError:
            children.discard(pid)
    deadline = time.monotonic() + int(conf.get('graceful_timeout', 60)) + 5
    while children and time.monotonic() < deadline:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            children.discard(pid)
        else:
            time.sleep(0.1)
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    logger.info('%s stopped', conf['log_name'])

