"""A nova daemon: a manager bound to its AMQP topics, with a heartbeat.

``Service`` runs the manager named by the ``<topic>_manager`` flag, consumes
``<topic>``, ``<topic>.<host>`` and the topic's fanout, writes a heartbeat into
the ``services`` table every ``report_interval`` seconds and runs the manager's
periodic tasks every ``periodic_interval`` seconds.  ``main(binary)`` is what
every ``bin/nova-*`` daemon calls.
"""

import os
import signal
import sys

import eventlet

from nova import context
from nova import exception
from nova import flags
from nova import log as logging
from nova import utils
from nova import version

LOG = logging.getLogger('nova.service')
FLAGS = flags.FLAGS


class Service:

    def __init__(self, host, binary, topic, manager, report_interval=None,
                 periodic_interval=None):
        self.host = host
        self.binary = binary
        self.topic = topic
        self.manager_class_name = manager
        self.manager = utils.import_class(manager)(host=host)
        self.report_interval = report_interval
        self.periodic_interval = periodic_interval
        self.service_id = None
        self.conn = None
        self.timers = []
        self.model_disconnected = False

    @classmethod
    def create(cls, host=None, binary=None, topic=None, manager=None,
               report_interval=None, periodic_interval=None):
        binary = binary or os.path.basename(sys.argv[0])
        topic = topic or binary.rpartition('nova-')[2]
        manager = manager or FLAGS.get('%s_manager' % topic)
        if not manager:
            raise exception.NotFound('no manager for topic %s (flag %s_manager)'
                                     % (topic, topic))
        if report_interval is None:
            report_interval = FLAGS.report_interval
        if periodic_interval is None:
            periodic_interval = FLAGS.periodic_interval
        return cls(host or FLAGS.host, binary, topic, manager,
                   report_interval, periodic_interval)

    def start(self):
        from nova.db import api as db
        from nova import rpc
        LOG.info('Starting %s on %s (version %s)', self.binary, self.host,
                 version.version_string())
        self.manager.init_host()
        ctxt = context.get_admin_context()
        self.service_id = self._find_or_create_row(db, ctxt)

        self.conn = rpc.create_connection()
        self.conn.create_consumer(self.topic, self.manager)
        self.conn.create_consumer('%s.%s' % (self.topic, self.host),
                                  self.manager)
        self.conn.create_consumer(self.topic, self.manager, fanout=True)
        self.conn.consume_in_thread()

        if self.report_interval:
            self.timers.append(utils.LoopingCall(self.report_state).start(
                interval=self.report_interval,
                initial_delay=self.report_interval))
        if self.periodic_interval:
            self.timers.append(utils.LoopingCall(self.periodic_tasks).start(
                interval=self.periodic_interval,
                initial_delay=self.periodic_interval))

    def _find_or_create_row(self, db, ctxt):
        try:
            row = db.service_get_by_args(ctxt, self.host, self.binary)
        except exception.NotFound:
            row = db.service_create(ctxt, {
                'host': self.host, 'binary': self.binary, 'topic': self.topic,
                'report_count': 0,
                'availability_zone': FLAGS.node_availability_zone,
                'disabled': not FLAGS.enable_new_services})
        return row['id']

    def report_state(self):
        """Heartbeat: bump report_count so updated_at says we are alive."""
        from nova.db import api as db
        ctxt = context.get_admin_context()
        try:
            try:
                row = db.service_get(ctxt, self.service_id)
            except exception.NotFound:
                LOG.info('service row %s vanished; recreating it',
                         self.service_id)
                self.service_id = self._find_or_create_row(db, ctxt)
                row = db.service_get(ctxt, self.service_id)
            db.service_update(ctxt, self.service_id,
                              {'report_count': row['report_count'] + 1})
            if self.model_disconnected:
                self.model_disconnected = False
                LOG.error('Recovered model server connection!')
        except Exception:
            # The database may be restarting; keep beating and say so once.
            if not self.model_disconnected:
                self.model_disconnected = True
                LOG.exception('model server went away')

    def periodic_tasks(self):
        self.manager.periodic_tasks(context.get_admin_context())

    def stop(self):
        for timer in self.timers:
            timer.stop()
        self.timers = []
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                LOG.exception('closing the RPC connection failed')
            self.conn = None
        LOG.info('Stopped %s on %s', self.binary, self.host)

    def kill(self):
        """Stop and remove this service's row (operator decommissioning)."""
        from nova.db import api as db
        self.stop()
        try:
            db.service_destroy(context.get_admin_context(), self.service_id)
        except exception.NotFound:
            pass


class WSGIService:
    """The WSGI apps of one paste.deploy file, each on its own port."""

    def __init__(self, apps):
        # apps: [(name, host, port)]
        from nova import wsgi
        self.loader = wsgi.Loader()
        self.servers = []
        for name, host, port in apps:
            app = self.loader.load_app(name)
            self.servers.append(wsgi.Server(name, app, host=host, port=port))

    def start(self):
        for server in self.servers:
            server.start()

    def stop(self):
        for server in self.servers:
            server.stop()


def service_is_up(service_row):
    """True when the service's last heartbeat is within service_down_time."""
    last = service_row['updated_at'] or service_row['created_at']
    if last is None:
        return False
    elapsed = (utils.utcnow() - last).total_seconds()
    return abs(elapsed) <= FLAGS.service_down_time


def serve(*services):
    """Start the services and block until SIGTERM or SIGINT, then stop them."""
    stop_event = eventlet.event.Event()

    def _signal(signum, _frame):
        LOG.info('caught signal %d, stopping', signum)
        if not stop_event.ready():
            stop_event.send(signum)

    signal.signal(signal.SIGTERM, _signal)
    signal.signal(signal.SIGINT, _signal)
    for svc in services:
        svc.start()
    try:
        # Wake up now and then: a signal arriving while the hub sleeps with
        # nothing else scheduled would otherwise wait for the next timer.
        while not stop_event.ready():
            eventlet.sleep(0.5)
    finally:
        for svc in services:
            svc.stop()


def default_flagfile():
    """/etc/nova/nova.conf, read when no --flagfile is given."""
    path = '/etc/nova/nova.conf'
    return path if os.path.exists(path) else None


def parse_args(argv, usage):
    """Flags for a daemon or CLI; prints help and exits on --help."""
    try:
        rest = flags.parse(argv, default_flagfile=default_flagfile())
    except flags.FlagfileError as e:
        sys.stderr.write('%s: %s\n' % (os.path.basename(argv[0]), e))
        sys.exit(2)
    if any(a in ('--help', '-h', '--helpfull') for a in rest[1:]):
        sys.stdout.write(usage.strip() + '\n\nFlags:\n' + FLAGS.help_text()
                         + '\n')
        sys.exit(0)
    return rest


def verify_flags(argv0):
    try:
        FLAGS.verify()
    except flags.FlagfileError as e:
        sys.stderr.write('%s: %s\n' % (os.path.basename(argv0), e))
        sys.exit(2)


def write_pidfile():
    if FLAGS.pidfile:
        with open(FLAGS.pidfile, 'w') as f:
            f.write('%d\n' % os.getpid())


def main(binary, argv=None):
    """Entry point of bin/nova-compute, -network, -volume, -scheduler."""
    argv = list(sys.argv if argv is None else argv)
    usage = ('usage: %s [--flagfile=FILE] [--flag=value ...]\n\n'
             'Runs the %s service: consumes its AMQP topics and reports its '
             'heartbeat into the database.' % (binary, binary))
    rest = parse_args(argv, usage)
    if len(rest) > 1:
        sys.stderr.write('%s: unexpected arguments: %s\n'
                         % (binary, ' '.join(rest[1:])))
        sys.exit(2)
    logging.setup(binary)
    try:
        svc = Service.create(binary=binary)
    except exception.NotFound as e:
        sys.stderr.write('%s: %s\n' % (binary, e))
        sys.exit(2)
    verify_flags(argv[0])
    write_pidfile()
    serve(svc)
