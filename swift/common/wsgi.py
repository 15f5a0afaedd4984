"""Serving a paste.deploy pipeline with eventlet.wsgi.

``run_wsgi(conf_file, app_section)`` is everything a ``bin/swift-*-server``
launcher does: read [DEFAULT] (bind_ip, bind_port, backlog, workers, user,
swift_dir), bind, load the pipeline, then serve on green pools.

Processes: ``workers = 0`` serves in the launching process; ``workers = N``
(default 1) forks N children that share the listening socket while the
parent supervises them (a child that dies is replaced, at most once a
second).  Signals: SIGTERM (and SIGINT) stops at once (children too);
SIGHUP is a graceful stop: stop accepting, let in-flight requests finish,
for at most ``graceful_timeout`` seconds (default 60).  Workers never
outlive the supervisor (see `_supervise`).
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

from swift.common import fast_headers
from swift.common.utils import (drop_privileges, get_logger, readconf,
                                set_swift_dir)

BIND_RETRY_SECONDS = 30


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


def _serve(sock, app, conf, logger, unblock=()):
    """Serve until SIGTERM (exit now) or SIGHUP (drain, then exit).

    ``unblock``: signals a forked worker inherited blocked, lifted once
    the handlers are in place."""
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
    if unblock:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, unblock)
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
    fast_headers.install()
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


#: Signals the supervisor takes synchronously (blocked, then waited for).
_SUPERVISOR_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT,
                       signal.SIGCHLD)
PR_SET_PDEATHSIG = 1


def _set_parent_death_signal(signum):
    """Have the kernel send ``signum`` to this process when its parent
    dies (Linux prctl); False where that is not available."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _start_worker(sock, app, conf, logger, parent_pid):
    """Runs in a freshly forked child (never returns).

    SIGTERM/SIGHUP are still blocked here (inherited from the supervisor),
    so one sent right after the fork waits until _serve has installed the
    worker's own handlers and the mask is lifted, instead of running the
    supervisor's handler copy in the child.
    """
    try:
        for signum in _SUPERVISOR_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        _set_parent_death_signal(signal.SIGTERM)
        if os.getppid() != parent_pid:
            # The supervisor died before the death signal was armed.
            _flush_and_exit(0)
        _serve(sock, app, conf, logger, unblock=_SUPERVISOR_SIGNALS)
    finally:
        _flush_and_exit(0)


def _supervise(sock, app, conf, logger, workers):
    """Fork ``workers`` children and keep that many alive until signalled.

    Signals are handled synchronously: the supervisor blocks them and
    waits for them with sigtimedwait.  An earlier version raised from a
    signal handler to leave os.wait(); a SIGTERM landing between fork()
    and the bookkeeping of the new pid lost that pid, and the worker
    outlived its stopped parent.  Now no signal is acted on between fork
    and bookkeeping, every exit path (signals, errors) stops and reaps the
    children in a ``finally``, and each worker also asks the kernel for a
    SIGTERM should the supervisor die without cleaning up (SIGKILL).
    """
    children = set()
    parent_pid = os.getpid()
    stop_signal = signal.SIGTERM
    signal.pthread_sigmask(signal.SIG_BLOCK, _SUPERVISOR_SIGNALS)
    try:
        last_fork = 0.0
        while True:
            while len(children) < workers:
                # Throttle restarts so a crashing app cannot fork-bomb the
                # box (a stop request still ends the wait at once).
                wait = last_fork + 1.0 - time.monotonic()
                if children and wait > 0:
                    info = signal.sigtimedwait(
                        (signal.SIGTERM, signal.SIGHUP, signal.SIGINT), wait)
                    if info is not None:
                        stop_signal = _stop_signal(info.si_signo)
                        return
                last_fork = time.monotonic()
                pid = os.fork()
                if pid == 0:
                    _start_worker(sock, app, conf, logger, parent_pid)
                children.add(pid)
            info = signal.sigtimedwait(_SUPERVISOR_SIGNALS, 5.0)
            if info is not None and info.si_signo != signal.SIGCHLD:
                stop_signal = _stop_signal(info.si_signo)
                return
            for pid in _reap(children):
                logger.error('worker %d died, starting another', pid)
    finally:
        try:
            sock.close()
        except OSError:
            pass
        _stop_children(children, stop_signal, conf, logger)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SUPERVISOR_SIGNALS)


def _stop_signal(signum):
    """What the workers get: SIGHUP (graceful) stays SIGHUP, anything else
    is SIGTERM."""
    return signal.SIGHUP if signum == signal.SIGHUP else signal.SIGTERM


def _reap(children):
    """Remove and return the children that have exited."""
    gone = []
    for _ in range(len(children) + 1):
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            gone.extend(children)
            children.clear()
            break
        if not pid:
            break
        if pid in children:
            children.discard(pid)
            gone.append(pid)
    return gone


def _stop_children(children, stop_signal, conf, logger):
    """Signal every worker, wait (bounded) for them, SIGKILL the rest."""
    try:
        for pid in list(children):
            try:
                os.kill(pid, stop_signal)
            except ProcessLookupError:
                children.discard(pid)
        deadline = time.monotonic() + int(conf.get('graceful_timeout', 60)) + 5
        while children and time.monotonic() < deadline:
            _reap(children)
            if children:
                signal.sigtimedwait((signal.SIGCHLD,), 0.1)
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in list(children):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            children.discard(pid)
        logger.info('%s stopped', conf['log_name'])
    except Exception:
        # Last resort: nothing of ours may outlive us.
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        raise
