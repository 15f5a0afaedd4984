"""A private libvirtd inside a network namespace, for integration tests.

``LibvirtEnv.start()``:

* ``ip netns add nova-it-<random>`` with lo up and a bridge ``br-it``
  carrying the gateway address of a /24;
* libvirtd started with ``ip netns exec`` (so it, and the QEMU guests it
  runs, live in the namespace: their taps join the namespace's bridge).
  ``ip netns exec`` gives it a mount namespace whose mounts do not reach
  the host, and in it /etc/libvirt, /run/libvirt, /var/lib/libvirt,
  /var/cache/libvirt and /var/log/libvirt are bind mounts of directories
  under one temp dir: the daemon shares no state, socket or domain with any
  other libvirtd on the machine.  Its qemu.conf runs guests as root with no
  cgroups, security driver or per-VM namespaces, and writes QEMU's own log
  to files (stdio_handler = "file"), so no virtlogd is needed;
* clients reach it at ``qemu:///system?socket=<tmp>/run/libvirt-sock``.

``stop()`` destroys every domain it knows, stops libvirtd by PID (then any
QEMU it left, by the PIDs in its pid files), deletes the namespace and the
temp dir.
"""

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import libvirt

BRIDGE = 'br-it'
BIND_DIRS = {
    'etc': '/etc/libvirt',
    'run': '/run/libvirt',
    'lib': '/var/lib/libvirt',
    'cache': '/var/cache/libvirt',
    'log': '/var/log/libvirt',
}

LIBVIRTD_CONF = '''\
unix_sock_group = "root"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
'''

QEMU_CONF = '''\
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
'''

START_SCRIPT = '''\
set -e
tmp=$1
mkdir -p /run/libvirt
for pair in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt \
            cache:/var/cache/libvirt log:/var/log/libvirt; do
    mount --bind "$tmp/${pair%%:*}" "${pair#*:}"
done
exec libvirtd -f /etc/libvirt/libvirtd.conf -p "$tmp/libvirtd.pid"
'''


class LibvirtEnvError(Exception):
    pass


def run(*argv, check=True, timeout=60):
    proc = subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise LibvirtEnvError('%s failed (%s): %s' % (
            ' '.join(argv), proc.returncode, proc.stderr.strip()))
    return proc


class LibvirtEnv:

    def __init__(self, subnet_prefix='10.77.0'):
        self.ns = 'nova-it-' + secrets.token_hex(4)
        self.prefix = subnet_prefix
        self.gateway = subnet_prefix + '.1'
        self.bridge = BRIDGE
        self.tmp = None
        self.proc = None
        self.uri = None
        self._ns_made = False

    # -- lifecycle ------------------------------------------------------------

    def start(self, timeout=30):
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout):
        for tool in ('ip', 'libvirtd', 'qemu-system-x86_64', 'qemu-img'):
            if shutil.which(tool) is None:
                raise LibvirtEnvError('%s is not installed (run '
                                      'tools/install_deps.sh)' % tool)
        self.tmp = tempfile.mkdtemp(prefix='nova-it-libvirt-')
        for sub in BIND_DIRS:
            os.makedirs(os.path.join(self.tmp, sub))
        os.makedirs(os.path.join(self.tmp, 'etc', 'qemu'))
        with open(os.path.join(self.tmp, 'etc', 'libvirtd.conf'), 'w') as f:
            f.write(LIBVIRTD_CONF)
        with open(os.path.join(self.tmp, 'etc', 'qemu.conf'), 'w') as f:
            f.write(QEMU_CONF)

        run('ip', 'netns', 'add', self.ns)
        self._ns_made = True
        self.ns_run('ip', 'link', 'set', 'lo', 'up')
        self.ns_run('ip', 'link', 'add', self.bridge, 'type', 'bridge')
        self.ns_run('ip', 'addr', 'add', self.gateway + '/24', 'dev',
                    self.bridge)
        self.ns_run('ip', 'link', 'set', self.bridge, 'up')

        log = open(os.path.join(self.tmp, 'libvirtd.stderr'), 'wb')
        try:
            self.proc = subprocess.Popen(
                ['ip', 'netns', 'exec', self.ns, 'sh', '-c', START_SCRIPT,
                 'sh', self.tmp],
                stdout=log, stderr=subprocess.STDOUT, close_fds=True)
        finally:
            log.close()
        sock = os.path.join(self.tmp, 'run', 'libvirt-sock')
        self.uri = 'qemu:///system?socket=' + sock
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise LibvirtEnvError('libvirtd exited (%s) at start: %s'
                                      % (self.proc.returncode, self.logs()))
            if os.path.exists(sock):
                try:
                    conn = libvirt.open(self.uri)
                    conn.close()
                    return
                except libvirt.libvirtError:
                    pass
            if time.monotonic() > deadline:
                raise LibvirtEnvError('libvirtd did not answer on %s within '
                                      '%ss: %s' % (sock, timeout, self.logs()))
            time.sleep(0.2)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self._destroy_domains()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.tmp:
            self._kill_leftover_qemu()
        if self._ns_made:
            run('ip', 'netns', 'del', self.ns, check=False)
            self._ns_made = False
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def _destroy_domains(self):
        try:
            conn = libvirt.open(self.uri)
        except libvirt.libvirtError:
            return
        try:
            for dom in conn.listAllDomains(0):
                try:
                    if dom.isActive():
                        dom.destroy()
                    dom.undefineFlags(
                        libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
                except libvirt.libvirtError:
                    pass
        finally:
            conn.close()

    def _kill_leftover_qemu(self):
        piddir = os.path.join(self.tmp, 'run', 'qemu')
        if not os.path.isdir(piddir):
            return
        for name in os.listdir(piddir):
            if not name.endswith('.pid'):
                continue
            try:
                with open(os.path.join(piddir, name)) as f:
                    pid = int(f.read().strip())
                with open('/proc/%d/cmdline' % pid, 'rb') as f:
                    if b'qemu' not in f.read():
                        continue
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                continue

    # -- helpers --------------------------------------------------------------

    def ns_run(self, *argv, check=True, timeout=60):
        return run('ip', 'netns', 'exec', self.ns, *argv, check=check,
                   timeout=timeout)

    def links(self):
        """Names of the network devices in the namespace."""
        out = self.ns_run('ip', '-o', 'link', 'show').stdout
        return [line.split(':')[1].strip().split('@')[0]
                for line in out.splitlines() if ':' in line]

    def logs(self, limit=4000):
        parts = []
        for path in (os.path.join(self.tmp or '', 'libvirtd.stderr'),
                     os.path.join(self.tmp or '', 'log', 'libvirtd.log')):
            try:
                with open(path, errors='replace') as f:
                    parts.append('%s: %s' % (os.path.basename(path),
                                             f.read()[-limit:]))
            except OSError:
                continue
        return '\n'.join(parts) or '(no logs)'

    def qemu_log(self, name, limit=4000):
        path = os.path.join(self.tmp, 'log', 'qemu', name + '.log')
        try:
            with open(path, errors='replace') as f:
                return f.read()[-limit:]
        except OSError:
            return ''

    def http_get(self, url, timeout=10):
        """GET ``url`` from inside the namespace; the body, or None."""
        import sys
        code = ('import sys, urllib.request\n'
                'print(urllib.request.urlopen(sys.argv[1], timeout=%d)'
                '.read().decode())' % timeout)
        proc = self.ns_run(sys.executable, '-c', code, url, check=False,
                           timeout=timeout + 10)
        return proc.stdout if proc.returncode == 0 else None
