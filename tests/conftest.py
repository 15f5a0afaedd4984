"""Fixtures every tier shares: clean flags, and checks for the machine's services."""

import os
import socket
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SERVICES = {
    'rabbit': ('127.0.0.1', 5672, 'RabbitMQ',
               'start it with: rabbitmq-server -detached'),
    'mysql': ('127.0.0.1', 3306, 'MariaDB',
              'start it with: start-stop-daemon --start --oknodo --background '
              '--exec /usr/sbin/mariadbd'),
    'postgres': ('127.0.0.1', 5432, 'PostgreSQL',
                 'start it with: pg_ctlcluster --skip-systemctl-redirect '
                 '$(ls /etc/postgresql) main start'),
}


def require_service(name):
    """Fail (not skip) with a clear message when a machine service is down.

    CI has every service running; a missing one is a broken machine that must
    be seen, not a test to pass over quietly.
    """
    host, port, label, hint = SERVICES[name]
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as e:
        pytest.fail('%s is not answering on %s:%d (%s); %s'
                    % (label, host, port, e, hint), pytrace=False)


@pytest.fixture
def rabbit():
    require_service('rabbit')


@pytest.fixture
def rabbit_vhost(rabbit):
    """A RabbitMQ virtual host of this test's own, deleted afterwards.

    Queues are named by topic alone, so services of two tests on one vhost
    would consume each other's messages.
    """
    import subprocess
    import uuid
    name = 'nova-test-%s' % uuid.uuid4().hex[:10]

    def ctl(*args):
        proc = subprocess.run(['rabbitmqctl'] + list(args),
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            pytest.fail('rabbitmqctl %s failed: %s%s'
                        % (' '.join(args), proc.stdout, proc.stderr),
                        pytrace=False)
    ctl('add_vhost', name)
    try:
        ctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*')
        yield name
    finally:
        ctl('delete_vhost', name)


@pytest.fixture
def mysql_server():
    require_service('mysql')


@pytest.fixture
def postgres_server():
    require_service('postgres')


def _repair_package_attributes():
    """Point each package's submodule attributes back at sys.modules.

    eventlet's green modules (imported by eventlet.wsgi) re-execute stdlib
    modules such as http.server with green sockets and leave the green copy
    as the attribute of the package: ``http.server.ThreadingHTTPServer``
    then names a server whose real threads block in eventlet's hub.  Tests
    run plain threaded servers beside green ones in one process, so undo it.
    """
    for name, module in list(sys.modules.items()):
        parent_name, _dot, child = name.rpartition('.')
        parent = sys.modules.get(parent_name) if parent_name else None
        if parent is not None and module is not None and \
                getattr(parent, child, module) is not module:
            setattr(parent, child, module)


@pytest.fixture(autouse=True)
def _reset_flags():
    """Every test starts from the flag defaults and no leftover RPC consumers."""
    from nova import flags
    _repair_package_attributes()
    yield
    rpc = sys.modules.get('nova.rpc')
    if rpc is not None:
        rpc.cleanup()
    flags.FLAGS.reset()


def _children(pid):
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != 'Z':
            found.append(int(entry))
    return found


def pytest_sessionfinish(session, exitstatus):
    """Stop what a test left running (e.g. when a timeout cut its clean-up).

    Only direct children of this pytest process are touched: every daemon a
    test starts is one, and nothing else is.
    """
    import signal
    import time
    leftovers = _children(os.getpid())
    if not leftovers:
        return
    sys.stderr.write('\nstopping %d process(es) left by tests: %s\n'
                     % (len(leftovers), leftovers))
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _children(os.getpid()):
        time.sleep(0.2)
    for pid in _children(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
