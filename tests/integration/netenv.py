"""A nova-network inside the libvirt test namespace, for network tests.

* ``AmqpRelay``: processes in the namespace (nova-network, and
  nova-dhcpbridge run by dnsmasq) reach the host's RabbitMQ at their own
  127.0.0.1:5672.  The bytes go loopback -> a Unix socket -> loopback: a
  relay process inside the namespace listens on its 127.0.0.1 and connects
  to a Unix socket that a thread of this process serves by connecting to
  the host's 127.0.0.1:5672.  No other address is involved.
* ``NetworkNode``: a work dir (SQLite database, flagfile, networks_path,
  logs) and bin/nova-network run with ``ip netns exec``; stopped by PID.
  ``cleanup()`` stops what it started (nova-network, the dnsmasq processes
  named by its pid files), deletes the devices it was told about and every
  nova iptables rule in the namespace, and removes the work dir.
* ``Outside``: a second namespace joined to the libvirt namespace by a veth
  pair, the "public" side of floating IPs.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BIN = os.path.join(ROOT, 'bin')

NS_RELAY = r'''
import socket, sys, threading
path, port = sys.argv[1], int(sys.argv[2])

def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('127.0.0.1', port))
server.listen(64)
print('ready', flush=True)
while True:
    client, _ = server.accept()
    upstream = socket.socket(socket.AF_UNIX)
    try:
        upstream.connect(path)
    except OSError:
        client.close()
        continue
    for a, b in ((client, upstream), (upstream, client)):
        threading.Thread(target=pump, args=(a, b), daemon=True).start()
'''


def run(*argv, check=True, timeout=60, input=None):
    proc = subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (%s): %s%s' % (
            ' '.join(argv), proc.returncode, proc.stdout, proc.stderr))
    return proc


def wait_for(predicate, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError('timed out after %ss waiting for %s'
                                 % (timeout, what))
        time.sleep(interval)


def _pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class AmqpRelay:

    def __init__(self, ns, workdir, port=5672):
        self.ns = ns
        self.path = os.path.join(workdir, 'amqp.sock')
        self.port = port
        self.server = None
        self.proc = None
        self._stop = threading.Event()

    def start(self):
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(self.path)
        self.server.listen(64)
        self.server.settimeout(0.5)
        threading.Thread(target=self._serve, daemon=True).start()
        self.proc = subprocess.Popen(
            ['ip', 'netns', 'exec', self.ns, sys.executable, '-c', NS_RELAY,
             self.path, str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != 'ready':
            self.stop()
            raise AssertionError('AMQP relay did not start: %s' % line)
        return self

    def _serve(self):
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(('127.0.0.1', self.port),
                                                    timeout=5)
                upstream.settimeout(None)
                client.settimeout(None)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b),
                                 daemon=True).start()

    def stop(self):
        self._stop.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if self.server is not None:
            self.server.close()


class Outside:
    """A namespace joined to ``ns`` by a veth pair (``inner`` in ns)."""

    def __init__(self, ns, inner, inner_cidr, outer_cidr):
        self.ns = ns
        self.name = 'nova-out-' + secrets.token_hex(4)
        self.inner = inner
        self._made = False
        run('ip', 'netns', 'add', self.name)
        self._made = True
        run('ip', 'netns', 'exec', self.name, 'ip', 'link', 'set', 'lo',
            'up')
        run('ip', 'netns', 'exec', ns, 'ip', 'link', 'add', inner, 'type',
            'veth', 'peer', 'name', 'out0', 'netns', self.name)
        run('ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', inner_cidr,
            'dev', inner)
        run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', inner, 'up')
        run('ip', 'netns', 'exec', self.name, 'ip', 'addr', 'add',
            outer_cidr, 'dev', 'out0')
        run('ip', 'netns', 'exec', self.name, 'ip', 'link', 'set', 'out0',
            'up')

    def run(self, *argv, **kw):
        return run('ip', 'netns', 'exec', self.name, *argv, **kw)

    def http_get(self, url, timeout=4):
        return http_get(self.name, url, timeout)

    def delete(self):
        if self._made:
            run('ip', 'netns', 'del', self.name, check=False)
            run('ip', 'netns', 'exec', self.ns, 'ip', 'link', 'del',
                self.inner, check=False)
            self._made = False


def http_get(ns, url, timeout=4):
    """The body of GET ``url`` from inside ``ns``, or None."""
    code = ('import sys, urllib.request\n'
            'print(urllib.request.urlopen(sys.argv[1], timeout=%d)'
            '.read().decode())' % timeout)
    proc = run('ip', 'netns', 'exec', ns, sys.executable, '-c', code, url,
               check=False, timeout=timeout + 20)
    return proc.stdout if proc.returncode == 0 else None


METADATA_SERVER = r'''
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith('/meta-data/instance-id'):
            body = ('i-meta-%s' % self.client_address[0]).encode()
            self.send_response(200)
        else:
            body = b''
            self.send_response(404)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        sys.stderr.write('%s %s\n' % (self.client_address[0], self.path))
s = http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H)
print('ready', flush=True)
s.serve_forever()
'''


class MetadataStub:
    """An HTTP server in ``ns`` answering instance-id as i-meta-<client ip>:
    it stands in for nova-api's metadata service (another issue's)."""

    def __init__(self, ns, host, port):
        self.proc = subprocess.Popen(
            ['ip', 'netns', 'exec', ns, sys.executable, '-c', METADATA_SERVER,
             host, str(port)], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != 'ready':
            self.stop()
            raise AssertionError('metadata stub did not start')

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()


class NetworkNode:
    """bin/nova-network inside the namespace, with its own state."""

    def __init__(self, ns, vhost, flag_values, host='it-net'):
        self.ns = ns
        self.host = host
        self.workdir = tempfile.mkdtemp(prefix='nova-it-net-')
        # dnsmasq drops to 'nobody' and re-reads its hosts file on HUP.
        os.chmod(self.workdir, 0o755)
        self.flagfile = os.path.join(self.workdir, 'nova.conf')
        self.networks_path = os.path.join(self.workdir, 'networks')
        self.db_path = os.path.join(self.workdir, 'nova.sqlite')
        self.values = {
            'sql_connection': 'sqlite:///%s' % self.db_path,
            'rabbit_host': '127.0.0.1',
            'rabbit_virtual_host': vhost,
            'rabbit_retry_interval': 1,
            'state_path': self.workdir,
            'networks_path': self.networks_path,
            'logdir': os.path.join(self.workdir, 'logs'),
            'iptables_lock_file': os.path.join(self.workdir, 'iptables.lock'),
            'host': host,
            'report_interval': 5,
            'periodic_interval': 5,
            'verbose': True,
        }
        self.values.update(flag_values)
        with open(self.flagfile, 'w') as f:
            for name, value in self.values.items():
                f.write('--%s=%s\n' % (name, value))
        self.proc = None
        self.log = None
        self.devices = []

    def db_sync(self):
        run(sys.executable, os.path.join(BIN, 'nova-manage'),
            '--flagfile=%s' % self.flagfile, 'db', 'sync', timeout=180)

    def manage(self, *args):
        return run(sys.executable, os.path.join(BIN, 'nova-manage'),
                   '--flagfile=%s' % self.flagfile, *args, timeout=120)

    def configure_this_process(self, flags):
        for name in ('sql_connection', 'rabbit_host', 'rabbit_virtual_host',
                     'rabbit_retry_interval', 'state_path'):
            setattr(flags, name, self.values[name])
        flags.rpc_backend = 'kombu'

    def start(self, timeout=60):
        self.log = open(os.path.join(self.workdir, 'nova-network.out'), 'ab')
        self.proc = subprocess.Popen(
            ['ip', 'netns', 'exec', self.ns, sys.executable,
             os.path.join(BIN, 'nova-network'),
             '--flagfile=%s' % self.flagfile],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        log_path = os.path.join(self.values['logdir'], 'nova-network.log')
        started = os.path.getsize(log_path) if os.path.exists(log_path) \
            else 0

        def up():
            if self.proc.poll() is not None:
                raise AssertionError('nova-network exited (%s): %s'
                                     % (self.proc.returncode, self.output()))
            try:
                with open(log_path, errors='replace') as f:
                    f.seek(started)
                    return 'Starting nova-network' in f.read()
            except OSError:
                return False
        wait_for(up, timeout, 'nova-network to start')
        self.wait_consuming(timeout)

    def wait_consuming(self, timeout):
        """Until nova-network answers on network.<host> (its queue exists
        only once init_host is over)."""
        from nova import context
        from nova import exception
        from nova import rpc

        def answers():
            if self.proc.poll() is not None:
                raise AssertionError('nova-network exited (%s): %s'
                                     % (self.proc.returncode, self.output()))
            try:
                return rpc.call(context.get_admin_context(),
                                'network.%s' % self.host,
                                {'method': 'service_version', 'args': {}},
                                timeout=2) or True
            except exception.RPCTimeout:
                return False
        wait_for(answers, timeout, 'nova-network to consume', interval=0.2)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def output(self, limit=6000):
        parts = []
        for path in (os.path.join(self.workdir, 'nova-network.out'),
                     os.path.join(self.values['logdir'], 'nova-network.log'),
                     os.path.join(self.values['logdir'],
                                  'nova-dhcpbridge.log')):
            try:
                with open(path, errors='replace') as f:
                    parts.append('== %s\n%s' % (os.path.basename(path),
                                                f.read()[-limit:]))
            except OSError:
                continue
        return '\n'.join(parts)

    def ns_run(self, *argv, **kw):
        return run('ip', 'netns', 'exec', self.ns, *argv, **kw)

    def iptables_save(self):
        return self.ns_run('iptables-save').stdout

    def dnsmasq_pids(self):
        pids = []
        if not os.path.isdir(self.networks_path):
            return pids
        for name in sorted(os.listdir(self.networks_path)):
            if not name.endswith('.pid'):
                continue
            try:
                with open(os.path.join(self.networks_path, name)) as f:
                    pid = int(f.read().strip())
                with open('/proc/%d/cmdline' % pid, 'rb') as f:
                    if b'dnsmasq' in f.read():
                        pids.append(pid)
            except (OSError, ValueError):
                continue
        return pids

    def cleanup(self):
        self.stop()
        for pid in self.dnsmasq_pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for device in self.devices:
            self.ns_run('ip', 'link', 'del', device, check=False)
        saved = self.ns_run('iptables-save', check=False).stdout
        kept = '\n'.join(line for line in saved.splitlines()
                         if 'nova-' not in line) + '\n'
        self.ns_run('iptables-restore', input=kept, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope='module')
def rabbit_vhost_module():
    """A RabbitMQ virtual host for one test module, deleted afterwards."""
    from tests.conftest import require_service
    require_service('rabbit')
    name = 'nova-it-net-%s' % uuid.uuid4().hex[:10]
    run('rabbitmqctl', 'add_vhost', name)
    try:
        run('rabbitmqctl', 'set_permissions', '-p', name, 'guest', '.*',
            '.*', '.*')
        yield name
    finally:
        run('rabbitmqctl', 'delete_vhost', name, check=False)


class Probe:
    """A namespace plugged into a bridge of ``ns`` by a veth pair, with an
    address of that network: a stand-in for another guest on it."""

    def __init__(self, ns, bridge, cidr, gateway):
        self.ns = ns
        self.name = 'nova-probe-' + secrets.token_hex(4)
        self.inner = 'pr' + secrets.token_hex(4)
        self._made = False
        run('ip', 'netns', 'add', self.name)
        self._made = True
        self.run('ip', 'link', 'set', 'lo', 'up')
        run('ip', 'netns', 'exec', ns, 'ip', 'link', 'add', self.inner,
            'type', 'veth', 'peer', 'name', 'eth0', 'netns', self.name)
        run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', self.inner,
            'master', bridge)
        run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', self.inner, 'up')
        self.run('ip', 'addr', 'add', cidr, 'dev', 'eth0')
        self.run('ip', 'link', 'set', 'eth0', 'up')
        self.run('ip', 'route', 'add', 'default', 'via', gateway)

    def run(self, *argv, **kw):
        return run('ip', 'netns', 'exec', self.name, *argv, **kw)

    def http_get(self, url, timeout=4):
        return http_get(self.name, url, timeout)

    def delete(self):
        if self._made:
            run('ip', 'netns', 'del', self.name, check=False)
            run('ip', 'netns', 'exec', self.ns, 'ip', 'link', 'del',
                self.inner, check=False)
            self._made = False
