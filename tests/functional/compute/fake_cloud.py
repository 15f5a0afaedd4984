"""A whole nova control plane on one machine, over the real RabbitMQ.

``FakeCloud`` runs bin/nova-network, bin/nova-scheduler and compute hosts on
the fake driver (several hosts per process, see compute_workers.py) against
one database, in a RabbitMQ virtual host of its own, and points this
process's flags at the same database and broker so compute.api calls made
here reach them.  ``stop()`` ends every process it started (by PID),
deletes the virtual host and leaves the caller to remove the directory.

The virtual host matters: nova's queues are named by topic alone
(``scheduler``, ``compute.<host>``), so two clouds on one broker would
otherwise share queues, and a durable message left by an earlier run could
reach this one.

Used by the functional tests here and by tools/bench/boot_bench.py.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

from nova import context
from nova import flags
from nova import rpc
from nova.db import api as db
from nova.db.sqlalchemy import session as db_session

FLAGS = flags.FLAGS
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
BIN = os.path.join(ROOT, 'bin')
RABBITMQCTL_TIMEOUT = 60


def _rabbitmqctl(*args):
    proc = subprocess.run(['rabbitmqctl'] + list(args), capture_output=True,
                          text=True, timeout=RABBITMQCTL_TIMEOUT)
    if proc.returncode != 0:
        raise RuntimeError('rabbitmqctl %s failed: %s%s'
                           % (' '.join(args), proc.stdout, proc.stderr))


class Process:
    """One child process, its output in a log file, stopped by PID."""

    def __init__(self, name, argv, log_dir):
        self.name = name
        self.log_path = os.path.join(log_dir, '%s.out' % name)
        self._log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(argv, stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=ROOT)

    def alive(self):
        return self.proc.poll() is None

    def output(self, tail=4000):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')[-tail:]

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        return self.proc.returncode


class FakeCloud:

    def __init__(self, workdir, compute_hosts=2, hosts_per_process=5,
                 sql_connection=None, scheduler_driver=None,
                 network='10.60.0.0/20', flags_extra=None):
        self.workdir = workdir
        self.tag = uuid.uuid4().hex[:8]
        self.vhost = 'nova-test-%s' % self.tag
        self.hosts = ['fc%s-c%02d' % (self.tag, i)
                      for i in range(compute_hosts)]
        self.hosts_per_process = hosts_per_process
        self.state = os.path.join(workdir, 'state')
        self.images = os.path.join(workdir, 'images')
        self.logs = os.path.join(workdir, 'logs')
        for d in (self.state, self.images, self.logs):
            os.makedirs(d, exist_ok=True)
        self.sql_connection = (sql_connection or
                               'sqlite:///%s/nova.sqlite' % self.state)
        self.network = network
        self.flag_values = {
            'state_path': self.state,
            'sql_connection': self.sql_connection,
            'rabbit_host': '127.0.0.1',
            'rabbit_virtual_host': self.vhost,
            'rabbit_retry_interval': 1,
            'control_exchange': 'nova',
            'logdir': self.logs,
            'connection_type': 'fake',
            'network_manager': 'nova.network.manager.FlatManager',
            'scheduler_driver': (scheduler_driver or
                                 'nova.scheduler.simple.SimpleScheduler'),
            'image_service': 'nova.image.local.LocalImageService',
            'local_image_path': self.images,
            'report_interval': 5,
            'periodic_interval': 10,
            'service_down_time': 60,
            'max_cores': 1000,
        }
        self.flag_values.update(flags_extra or {})
        self.flagfile = os.path.join(workdir, 'nova.conf')
        self.processes = []
        self._vhost_made = False

    # -- set-up ----------------------------------------------------------------

    def _write_flagfile(self):
        with open(self.flagfile, 'w') as f:
            for name, value in self.flag_values.items():
                f.write('--%s=%s\n' % (name, value))

    def configure_this_process(self):
        """Point this process's flags at the cloud (for compute.api here)."""
        import nova.image  # noqa: F401 - defines image_service
        import nova.image.local  # noqa: F401
        for name in ('sql_connection', 'rabbit_host', 'rabbit_virtual_host',
                     'control_exchange', 'image_service', 'local_image_path',
                     'state_path'):
            setattr(FLAGS, name, self.flag_values[name])
        FLAGS.rpc_backend = 'kombu'

    def _spawn(self, name, argv):
        proc = Process(name, [sys.executable] + argv, self.logs)
        self.processes.append(proc)
        return proc

    def start(self, timeout=180):
        _rabbitmqctl('add_vhost', self.vhost)
        self._vhost_made = True
        _rabbitmqctl('set_permissions', '-p', self.vhost, 'guest', '.*',
                     '.*', '.*')
        self._write_flagfile()
        sync = subprocess.run(
            [sys.executable, os.path.join(BIN, 'nova-manage'),
             '--flagfile=%s' % self.flagfile, 'db', 'sync'],
            capture_output=True, text=True, timeout=180, cwd=ROOT)
        if sync.returncode != 0:
            raise RuntimeError('db sync failed: %s%s' % (sync.stdout,
                                                         sync.stderr))
        self.configure_this_process()
        from nova.network import manager as network_manager
        size = 1 << (32 - int(self.network.split('/')[1]))
        network_manager.FlatManager().create_networks(
            context.get_admin_context(), self.network, 1, size)

        flagfile = '--flagfile=%s' % self.flagfile
        self._spawn('nova-network', [os.path.join(BIN, 'nova-network'),
                                     flagfile, '--host=fc%s-net' % self.tag])
        self._spawn('nova-scheduler', [os.path.join(BIN, 'nova-scheduler'),
                                       flagfile,
                                       '--host=fc%s-sched' % self.tag])
        for i in range(0, len(self.hosts), self.hosts_per_process):
            group = self.hosts[i:i + self.hosts_per_process]
            self._spawn('computes-%d' % (i // self.hosts_per_process),
                        [os.path.join(HERE, 'compute_workers.py'), flagfile]
                        + group)
        expected = set(self.hosts) | {'fc%s-net' % self.tag,
                                      'fc%s-sched' % self.tag}
        self.wait(lambda: expected <= self.service_hosts(), timeout,
                  'every service to register')

    def service_hosts(self):
        return {s['host'] for s in db.service_get_all(
            context.get_admin_context())}

    # -- waiting ---------------------------------------------------------------

    def check_alive(self):
        for proc in self.processes:
            if not proc.alive():
                raise AssertionError('%s exited (%s):\n%s'
                                     % (proc.name, proc.proc.returncode,
                                        proc.output()))

    def wait(self, predicate, timeout, what, interval=0.5):
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError('timed out after %ss waiting for %s'
                                     % (timeout, what))
            time.sleep(interval)

    def instances(self, read_deleted=False):
        return db.instance_get_all(
            context.get_admin_context(read_deleted=read_deleted))

    # -- tear-down -------------------------------------------------------------

    def stop(self):
        for proc in reversed(self.processes):
            try:
                proc.stop()
            except Exception:  # noqa: BLE001 - stop the others regardless
                pass
        self.processes = []
        rpc.cleanup()
        db_session.dispose()
        if self._vhost_made:
            try:
                _rabbitmqctl('delete_vhost', self.vhost)
            except Exception:  # noqa: BLE001
                pass
            self._vhost_made = False
