"""Driving tools/stack.sh and tools/unstack.sh from a test.

``Stack`` runs the one-host cloud with STACK_NETNS in a temp STACK_DIR, runs
clients inside its namespace with the environment of its novarc, and
lists what of it is left on the machine (processes, namespace, RabbitMQ
virtual host, links and addresses of the host), so a test can assert that
unstack.sh --purge removed everything.  ``cleanup()`` is the safety net: it
runs unstack.sh --purge again and deletes what that left, by what the
cloud recorded (never by a broad process name).
"""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PYTHON = os.path.join(ROOT, '.venv', 'bin', 'python')
if not os.path.exists(PYTHON):
    PYTHON = sys.executable
CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'stack_ec2_client.py')


class StackError(AssertionError):
    pass


def run(argv, timeout, env=None, check=True, cwd=None):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        raise StackError('%s did not finish within %ss:\n%s\n%s' % (
            ' '.join(argv), timeout, (e.stdout or b'')[-3000:],
            (e.stderr or b'')[-3000:])) from None
    if check and proc.returncode != 0:
        raise StackError('%s failed (%s):\n%s\n%s' % (
            ' '.join(argv), proc.returncode, proc.stdout[-4000:],
            proc.stderr[-4000:]))
    return proc


def parse_rc(path):
    """The exports of a novarc as a dict."""
    values = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith('export ') and '=' in line:
                name, _, value = line[len('export '):].partition('=')
                values[name] = value
    return values


def host_links():
    out = run(['ip', '-o', 'link', 'show'], 30).stdout
    return {line.split(':')[1].strip().split('@')[0]
            for line in out.splitlines() if ':' in line}


def namespaces():
    out = run(['ip', 'netns', 'list'], 30).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def processes_naming(text):
    """Pids of the processes whose command line contains ``text``."""
    pids = []
    needle = text.encode()
    for name in os.listdir('/proc'):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % name, 'rb') as f:
                if needle in f.read():
                    pids.append(int(name))
        except OSError:
            continue
    return pids


def rabbit_vhosts():
    out = run(['rabbitmqctl', '-q', 'list_vhosts'], 90).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


class Stack:

    def __init__(self, wait=150):
        self.ns = 'stack-e2e-' + secrets.token_hex(3)
        self.dir = tempfile.mkdtemp(prefix='stack-e2e-')
        # dnsmasq runs as nobody and re-reads its hosts file under here
        os.chmod(self.dir, 0o755)
        self.env = dict(os.environ, STACK_DIR=self.dir, STACK_NETNS=self.ns,
                        STACK_SKIP_DEPS='1', STACK_WAIT=str(wait))
        self.rc = {}

    def stack(self, *args, timeout=1500, check=True):
        return run([os.path.join(ROOT, 'tools', 'stack.sh')] + list(args),
                   timeout, env=self.env, check=check)

    def unstack(self, *args, timeout=300, check=True):
        return run([os.path.join(ROOT, 'tools', 'unstack.sh')] + list(args),
                   timeout, env=self.env, check=check)

    def up(self):
        proc = self.stack()
        self.rc = parse_rc(os.path.join(self.dir, 'novarc'))
        return proc

    def client_env(self):
        env = dict(os.environ)
        env.update(self.rc)
        return env

    def ns_run(self, argv, timeout=120, check=True):
        """argv inside the cloud's namespace, with the novarc exports."""
        return run(['ip', 'netns', 'exec', self.ns] + list(argv), timeout,
                   env=self.client_env(), check=check, cwd=self.dir)

    def ec2(self, *args, timeout=120):
        """One action of stack_ec2_client.py; its JSON answer."""
        import json
        proc = self.ns_run([PYTHON, CLIENT] + [str(a) for a in args],
                           timeout=timeout + 60)
        return json.loads(proc.stdout)

    def tool(self, name, *args, timeout=120, check=True):
        """bin/NAME inside the namespace."""
        return self.ns_run([PYTHON, os.path.join(ROOT, 'bin', name)]
                           + list(args), timeout=timeout, check=check)

    def log_tail(self, relpath, limit=3000):
        try:
            with open(os.path.join(self.dir, relpath), errors='replace') as f:
                return f.read()[-limit:]
        except OSError:
            return ''

    def made(self):
        """What stack.sh recorded it made: [(kind, name)]."""
        try:
            with open(os.path.join(self.dir, 'made')) as f:
                return [tuple(line.split(None, 1)) for line in
                        f.read().splitlines() if line.strip()]
        except OSError:
            return []

    def cleanup(self):
        """Whatever happened: unstack --purge, then the namespace and the
        directory if they survived it."""
        if os.path.isdir(self.dir):
            self.unstack('--purge', check=False)
        if self.ns in namespaces():
            pids = run(['ip', 'netns', 'pids', self.ns], 30,
                       check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except (OSError, ValueError):
                    pass
            run(['ip', 'netns', 'del', self.ns], 30, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
