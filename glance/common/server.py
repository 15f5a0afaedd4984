"""Running a glance WSGI app from its paste.deploy file under eventlet.

``glance-api CONF`` and ``glance-registry CONF`` both come here.  The file
is a paste.deploy ini; ``bind_host``/``bind_port`` and the log options are
read from its ``[DEFAULT]`` section (the command line may override them).
"""

import argparse
import logging
import os
import signal
import sys

DEFAULT_PORTS = {'glance-api': 9292, 'glance-registry': 9191}
SEARCH = ('{name}.conf', '~/.glance/{name}.conf', '/etc/glance/{name}.conf')


def find_config(name, given=None):
    if given:
        if not os.path.exists(given):
            raise SystemExit('%s: config file %s not found' % (name, given))
        return os.path.abspath(given)
    for pattern in SEARCH:
        path = os.path.expanduser(pattern.format(name=name))
        if os.path.exists(path):
            return os.path.abspath(path)
    here = os.path.dirname(os.path.abspath(sys.argv[0]))
    path = os.path.join(here, '..', 'etc', 'glance', '%s.conf' % name)
    if os.path.exists(path):
        return os.path.abspath(path)
    raise SystemExit('%s: no config file given and none found' % name)


def setup_logging(conf, verbose=False, log_file=None):
    log_file = log_file or conf.get('log_file')
    handler = (logging.FileHandler(log_file) if log_file
               else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter(
        '%(asctime)s %(levelname)s %(name)s [-] %(message)s'))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    debug = verbose or str(conf.get('debug', '')).lower() == 'true' or \
        str(conf.get('verbose', '')).lower() == 'true'
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ('sqlalchemy', 'alembic', 'routes'):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(name, argv=None):
    import warnings
    warnings.filterwarnings('ignore', message='.*Eventlet is deprecated')
    import eventlet
    eventlet.monkey_patch()
    import eventlet.wsgi
    from paste import deploy

    parser = argparse.ArgumentParser(
        prog=name, description='Run %s from a paste.deploy config file.'
        % name)
    parser.add_argument('config', nargs='?', help='path to %s.conf' % name)
    parser.add_argument('--config-file', dest='config_file')
    parser.add_argument('--bind-host')
    parser.add_argument('--bind-port', type=int)
    parser.add_argument('--log-file')
    parser.add_argument('--pid-file')
    parser.add_argument('-v', '--verbose', action='store_true')
    args = parser.parse_args(argv)

    path = find_config(name, args.config_file or args.config)
    conf = deploy.appconfig('config:%s' % path, name=name)
    setup_logging(conf, args.verbose, args.log_file)
    log = logging.getLogger(name)
    try:
        app = deploy.loadapp('config:%s' % path, name=name)
    except Exception as e:  # a bad config: say what, not a traceback
        log.error('cannot load %s from %s: %s', name, path, e)
        return 1
    host = args.bind_host or conf.get('bind_host', '0.0.0.0')
    port = args.bind_port if args.bind_port is not None else int(
        conf.get('bind_port', DEFAULT_PORTS.get(name, 0)))
    sock = eventlet.listen((host, port), backlog=128)
    host, port = sock.getsockname()[:2]
    if args.pid_file:
        with open(args.pid_file, 'w') as f:
            f.write('%d\n' % os.getpid())
    log.info('%s listening on %s:%s (config %s)', name, host, port, path)

    def _stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, _stop)
    try:
        eventlet.wsgi.server(sock, app, log=logging.getLogger(name + '.wsgi'),
                             log_output=bool(conf.get('debug')),
                             capitalize_response_headers=False,
                             keepalive=True, socket_timeout=900)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        if args.pid_file:
            try:
                os.unlink(args.pid_file)
            except OSError:
                pass
    return 0
