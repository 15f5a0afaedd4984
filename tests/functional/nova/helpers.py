"""Running nova's bin/ scripts as processes against a throwaway state dir."""

import os
import subprocess
import sys
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
BIN = os.path.join(ROOT, 'bin')


def write_flagfile(directory, sql_connection=None, **extra):
    """A nova.conf for one test: its own state dir, DB and RabbitMQ exchange."""
    state = os.path.join(directory, 'state')
    os.makedirs(state, exist_ok=True)
    values = {
        'state_path': state,
        'sql_connection': sql_connection or 'sqlite:///%s/nova.sqlite' % state,
        'rabbit_host': '127.0.0.1',
        'control_exchange': 'nova-test-%s' % uuid.uuid4().hex[:8],
        'logdir': os.path.join(directory, 'logs'),
    }
    values.update(extra)
    path = os.path.join(directory, 'nova.conf')
    with open(path, 'w') as f:
        for name, value in values.items():
            f.write('--%s=%s\n' % (name, value))
    return path


def nova_manage(flagfile, *args, check=True, timeout=120):
    cmd = [sys.executable, os.path.join(BIN, 'nova-manage'),
           '--flagfile=%s' % flagfile] + list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError('nova-manage %s failed (%d):\n%s%s'
                             % (' '.join(args), proc.returncode, proc.stdout,
                                proc.stderr))
    return proc


class Daemon:
    """One bin/nova-* process; stopped by PID at the end."""

    def __init__(self, binary, flagfile, *args):
        self.binary = binary
        self.log_path = os.path.join(os.path.dirname(flagfile),
                                     '%s.out' % binary)
        self._log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(BIN, binary),
             '--flagfile=%s' % flagfile] + list(args),
            stdout=self._log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def stop(self, sig=None, timeout=20):
        if self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


def wait_for(predicate, timeout, interval=0.5, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError('timed out after %ss waiting for %s' % (timeout, what))
