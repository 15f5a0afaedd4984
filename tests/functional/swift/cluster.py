"""A real Swift cluster on loopback for functional tests.

`SwiftCluster` writes a swift.conf (random hash suffix), server configs in
paste.deploy form and three rings (built with bin/swift-ring-builder: part
power 8, 3 replicas over 4 devices in 4 zones) into a temp dir, then starts
every server as its own process:

- node N (1..4) has device ``sdbN`` under ``<tmp>/nodeN/`` (a plain
  directory, so ``mount_check = false``) served by its own account, container
  and object server;
- one proxy with tempauth users test:tester/testing (.admin),
  test2:tester2/testing2 (.admin) and test:tester3/testing3 (no role),
  ``allow_account_management`` and ``account_autocreate`` on.

Each process writes stdout/stderr into ``<tmp>/logs/<name>.log``; `log_tail`
gives what failed tests print.  Processes run in their own session so that a
server that forks workers is still stopped as one group (by our child's pid).

"Unmounting" a device restarts that node's servers with ``mount_check =
true``: the device directory is not a mount point, so the servers answer 507
for it exactly as for a pulled disk, and the proxy error-limits the node.
"""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
BIN = os.path.join(ROOT, 'bin')

PART_POWER = 8
REPLICAS = 3
NODE_COUNT = 4
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

USERS = {
    # account:user -> (key, roles)
    'test:tester': ('testing', '.admin'),
    'test2:tester2': ('testing2', '.admin'),
    'test:tester3': ('testing3', ''),
}


class ClusterError(Exception):
    """The cluster could not be built or a server did not come up."""


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _write(path, text):
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def http_status(host, port, method, path, headers=None, timeout=5.0):
    """Status code of one request, or None when nothing answers."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


class ServerProcess:
    """One server (`bin/swift-<kind>-server CONF`) run as a child process."""

    def __init__(self, cluster, name, binary, conf_path, port, probe):
        self.cluster = cluster
        self.name = name
        self.binary = binary
        self.conf_path = conf_path
        self.ip = '127.0.0.1'
        self.port = port
        self.probe = probe  # (method, path) whose any HTTP answer means "up"
        self.log_path = os.path.join(cluster.log_dir, name + '.log')
        self.proc = None
        # What runs the bin/ script; a profiler may put itself in front.
        self.launcher = [sys.executable]

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def spawn(self):
        if self.running():
            return
        log = open(self.log_path, 'ab')
        try:
            log.write(('--- starting %s\n' % self.name).encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.launcher + [os.path.join(BIN, self.binary),
                                 self.conf_path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=self.cluster.root, env=self.cluster.env,
                start_new_session=True)
        finally:
            log.close()

    def answers(self):
        method, path = self.probe
        return http_status(self.ip, self.port, method, path,
                           timeout=2.0) is not None

    def wait_up(self, deadline):
        while True:
            if not self.running():
                raise ClusterError('%s exited with %s before answering:\n%s'
                                   % (self.name, self.proc.returncode,
                                      self.log_tail()))
            if self.answers():
                return
            if time.monotonic() > deadline:
                raise ClusterError('%s did not answer on port %d within '
                                   '%.0fs:\n%s' % (self.name, self.port,
                                                   START_TIMEOUT,
                                                   self.log_tail()))
            time.sleep(0.1)

    def start(self):
        """Start (if stopped) and wait until it answers HTTP."""
        self.spawn()
        self.wait_up(time.monotonic() + START_TIMEOUT)

    def stop(self):
        """SIGTERM the process group we started, SIGKILL after a while."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)
        # Forked workers may outlive a leader that exited on its own.
        self._signal_group(signal.SIGKILL)
        self.proc = None

    def _signal_group(self, sig):
        try:
            # The group id is our child's pid (start_new_session=True).
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, 'rb') as f:
                data = f.read().decode('utf-8', 'replace').splitlines()
        except OSError:
            return '(no log at %s)' % self.log_path
        return '\n'.join(data[-lines:])

    def __repr__(self):
        return '<ServerProcess %s 127.0.0.1:%s pid=%s>' % (self.name,
                                                             self.port,
                                                             self.pid)


class Node:
    """One storage node: a device with its account/container/object servers."""

    def __init__(self, cluster, index):
        self.cluster = cluster
        self.index = index
        self.zone = index
        self.ip = '127.0.0.1'
        self.device = 'sdb%d' % index
        self.devices = os.path.join(cluster.root, 'node%d' % index)
        self.device_path = os.path.join(self.devices, self.device)
        self.mount_check = False
        self.servers = {}
        for kind in ('account', 'container', 'object'):
            port = free_port()
            conf = os.path.join(cluster.root, 'conf',
                                '%s-server-%d.conf' % (kind, index))
            self.servers[kind] = ServerProcess(
                cluster, '%s-server-%d' % (kind, index),
                'swift-%s-server' % kind, conf, port,
                ('HEAD', '/%s/0/probe_account' % self.device))

    @property
    def account_server(self):
        return self.servers['account']

    @property
    def container_server(self):
        return self.servers['container']

    @property
    def object_server(self):
        return self.servers['object']

    def port(self, kind):
        return self.servers[kind].port

    def write_configs(self):
        for kind, server in self.servers.items():
            _write(server.conf_path, storage_conf(
                kind, self.devices, self.mount_check, server.port,
                self.cluster.swift_dir, server.name,
                **self.cluster.server_options))

    def as_dict(self, kind):
        """The node dict a ring would return for this node's `kind` server."""
        return {'ip': self.ip, 'port': self.port(kind), 'device': self.device,
                'zone': self.zone}


def storage_conf(kind, devices, mount_check, port, swift_dir, log_name,
                 log_level='DEBUG', workers=0):
    return (
        '[DEFAULT]\n'
        'devices = %(devices)s\n'
        'mount_check = %(mount_check)s\n'
        'bind_ip = 127.0.0.1\n'
        'bind_port = %(port)d\n'
        'workers = %(workers)d\n'
        'swift_dir = %(swift_dir)s\n'
        'log_name = %(log_name)s\n'
        'log_level = %(log_level)s\n'
        '\n'
        '[pipeline:main]\n'
        'pipeline = %(kind)s-server\n'
        '\n'
        '[app:%(kind)s-server]\n'
        'paste.app_factory = swift.%(module)s.server:app_factory\n'
        '\n'
        '[%(kind)s-updater]\n'
        'interval = 1\n'
        % {'kind': kind, 'module': 'obj' if kind == 'object' else kind,
           'devices': devices, 'port': port, 'swift_dir': swift_dir,
           'log_name': log_name, 'log_level': log_level, 'workers': workers,
           'mount_check': 'true' if mount_check else 'false'})


def proxy_conf(port, swift_dir, log_level='DEBUG', workers=0):
    users = ''.join(
        'user_%s_%s = %s%s\n' % (tuple(name.split(':')) + (key, ' ' + roles
                                                           if roles else ''))
        for name, (key, roles) in sorted(USERS.items()))
    return (
        '[DEFAULT]\n'
        'bind_ip = 127.0.0.1\n'
        'bind_port = %(port)d\n'
        'workers = %(workers)d\n'
        'swift_dir = %(swift_dir)s\n'
        'log_name = proxy-server\n'
        'log_level = %(log_level)s\n'
        '\n'
        '[pipeline:main]\n'
        'pipeline = catch_errors healthcheck proxy-logging cache tempauth '
        'proxy-server\n'
        '\n'
        '[app:proxy-server]\n'
        'paste.app_factory = swift.proxy.server:app_factory\n'
        'allow_account_management = true\n'
        'account_autocreate = true\n'
        'conn_timeout = 1.0\n'
        'node_timeout = 10\n'
        '\n'
        '[filter:tempauth]\n'
        'paste.filter_factory = swift.common.middleware.tempauth:'
        'filter_factory\n'
        '%(users)s'
        '\n'
        '[filter:healthcheck]\n'
        'paste.filter_factory = swift.common.middleware.healthcheck:'
        'filter_factory\n'
        '\n'
        '[filter:cache]\n'
        'paste.filter_factory = swift.common.middleware.memcache:'
        'filter_factory\n'
        '\n'
        '[filter:catch_errors]\n'
        'paste.filter_factory = swift.common.middleware.catch_errors:'
        'filter_factory\n'
        '\n'
        '[filter:proxy-logging]\n'
        'paste.filter_factory = swift.common.middleware.proxy_logging:'
        'filter_factory\n'
        % {'port': port, 'swift_dir': swift_dir, 'users': users,
           'log_level': log_level, 'workers': workers})


class SwiftCluster:
    """Builds, runs and tears down the cluster; see the module docstring."""

    def __init__(self, root=None, log_level='DEBUG', workers=0,
                 proxy_workers=0):
        self.root = root or tempfile.mkdtemp(prefix='swift-cluster-')
        # Tests want DEBUG logs in failure reports; the benchmarks run the
        # servers as an operator would (INFO, forked workers).  The proxy
        # keeps tempauth tokens in its own memory (no memcached here), so
        # more than one proxy worker would not share them.
        self.server_options = {'log_level': log_level, 'workers': workers}
        self.proxy_options = {'log_level': log_level,
                              'workers': proxy_workers}
        self.swift_dir = self.root
        self.log_dir = os.path.join(self.root, 'logs')
        self.hash_suffix = uuid.uuid4().hex
        self.env = dict(os.environ)
        self.env['SWIFT_DIR'] = self.swift_dir
        self.env['PYTHONPATH'] = os.pathsep.join(
            [ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p])
        self.env['PYTHONUNBUFFERED'] = '1'
        for d in ('logs', 'conf'):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        self.nodes = [Node(self, i) for i in range(1, NODE_COUNT + 1)]
        self.proxy = ServerProcess(
            self, 'proxy-server', 'swift-proxy-server',
            os.path.join(self.root, 'conf', 'proxy-server.conf'),
            free_port(), ('GET', '/healthcheck'))
        self.proxy_url = 'http://127.0.0.1:%d' % self.proxy.port
        self.auth_url = self.proxy_url + '/auth/v1.0'
        self.users = dict(USERS)

    # -- building -----------------------------------------------------------

    def setup(self):
        """Write configs, build rings, start everything and wait for it."""
        _write(os.path.join(self.swift_dir, 'swift.conf'),
               '[swift-hash]\nswift_hash_path_suffix = %s\n'
               % self.hash_suffix)
        for node in self.nodes:
            os.makedirs(node.device_path, exist_ok=True)
            node.write_configs()
        _write(self.proxy.conf_path,
               proxy_conf(self.proxy.port, self.swift_dir,
                          **self.proxy_options))
        self.build_rings()
        self.start_all()

    def ring_builder(self, *args):
        """Run bin/swift-ring-builder; returns (exit code, output)."""
        proc = subprocess.run(
            [sys.executable, os.path.join(BIN, 'swift-ring-builder')]
            + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=self.env, cwd=self.root,
            timeout=120)
        return proc.returncode, proc.stdout.decode('utf-8', 'replace')

    def build_rings(self):
        for kind in ('account', 'container', 'object'):
            builder = os.path.join(self.swift_dir, '%s.builder' % kind)
            steps = [('create', str(PART_POWER), str(REPLICAS), '1')]
            add = ['add']
            for node in self.nodes:
                add += ['z%d-%s:%d/%s' % (node.zone, node.ip, node.port(kind),
                                          node.device), '1']
            steps.append(tuple(add))
            steps.append(('rebalance',))
            for step in steps:
                code, out = self.ring_builder(builder, *step)
                if code != 0:
                    raise ClusterError('swift-ring-builder %s %s exited %d:\n%s'
                                       % (builder, ' '.join(step), code, out))
            ring = os.path.join(self.swift_dir, '%s.ring.gz' % kind)
            if not os.path.exists(ring):
                code, out = self.ring_builder(builder, 'write_ring')
                if code != 0 or not os.path.exists(ring):
                    raise ClusterError('no %s after write_ring (exit %d):\n%s'
                                       % (ring, code, out))

    # -- running ------------------------------------------------------------

    def all_servers(self):
        for node in self.nodes:
            yield from node.servers.values()
        yield self.proxy

    def start_all(self):
        servers = list(self.all_servers())
        for server in servers:
            server.spawn()
        deadline = time.monotonic() + START_TIMEOUT
        for server in servers:
            server.wait_up(deadline)
        self.wait_auth(deadline)

    def wait_auth(self, deadline):
        """Bounded wait until a v1.0 auth request succeeds."""
        last = None
        while time.monotonic() < deadline:
            try:
                self.get_auth('test:tester')
                return
            except (OSError, http.client.HTTPException, ClusterError) as e:
                last = e
            time.sleep(0.2)
        raise ClusterError('auth at %s never worked (%s):\n%s'
                           % (self.auth_url, last, self.proxy.log_tail()))

    def stop_all(self):
        for server in self.all_servers():
            server.stop()

    def teardown(self):
        try:
            self.stop_all()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def heal(self):
        """Undo what a test did: remount devices, restart stopped servers."""
        for node in self.nodes:
            if node.mount_check:
                self.mount_device(node.index)
        stopped = [s for s in self.all_servers() if not s.running()]
        for server in stopped:
            server.spawn()
        deadline = time.monotonic() + START_TIMEOUT
        for server in stopped:
            server.wait_up(deadline)

    # -- failures tests inject ---------------------------------------------

    def node(self, index):
        """Node by its 1-based index (== its zone)."""
        return self.nodes[index - 1]

    @property
    def object_servers(self):
        return [n.object_server for n in self.nodes]

    def stop_object_server(self, index):
        self.node(index).object_server.stop()

    def start_object_server(self, index):
        self.node(index).object_server.start()

    def unmount_device(self, index, kinds=('object',)):
        """Make node `index`'s device answer 507 (see module docstring).

        Only the servers named in `kinds` are restarted with mount_check on;
        pass ('account', 'container', 'object') for the whole disk.
        """
        self._set_mount_check(index, True, kinds)

    def mount_device(self, index):
        self._set_mount_check(index, False, ('account', 'container', 'object'))

    def _set_mount_check(self, index, value, kinds):
        node = self.node(index)
        node.mount_check = value
        for kind in kinds:
            server = node.servers[kind]
            _write(server.conf_path, storage_conf(
                kind, node.devices, value, server.port, self.swift_dir,
                server.name, **self.server_options))
            server.stop()
            server.start()

    # -- client helpers -------------------------------------------------------

    def get_auth(self, user='test:tester', key=None):
        """(storage_url, token) from the proxy's v1.0 auth."""
        if key is None:
            key = self.users[user][0]
        conn = http.client.HTTPConnection('127.0.0.1', self.proxy.port,
                                          timeout=10)
        try:
            conn.request('GET', '/auth/v1.0',
                         headers={'X-Auth-User': user, 'X-Auth-Key': key})
            resp = conn.getresponse()
            resp.read()
            if resp.status // 100 != 2:
                raise ClusterError('auth for %s answered %d'
                                   % (user, resp.status))
            return (resp.getheader('X-Storage-Url'),
                    resp.getheader('X-Auth-Token'))
        finally:
            conn.close()

    def ring(self, kind):
        """The ring object (swift.common.ring.Ring) for 'account',
        'container' or 'object'."""
        from swift.common.ring import Ring
        return Ring(self.swift_dir, kind)

    def logs(self, lines=12):
        """Tails of every server log, for failure reports."""
        return '\n'.join('==> %s (port %d, %s) <==\n%s'
                         % (s.name, s.port,
                            'running' if s.running() else 'stopped',
                            s.log_tail(lines))
                         for s in self.all_servers())

    def __repr__(self):
        return '<SwiftCluster %s proxy=%s>' % (self.root, self.proxy_url)
