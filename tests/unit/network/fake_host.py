"""A recording stand-in for the commands nova-network runs on its host.

``FakeHost`` replaces nova.utils.execute: it keeps links and addresses
(``ip``), the iptables tables (FakeIptables), and "starts" dnsmasq as a
small Python process that ignores SIGHUP but counts it, so the manager's
pid-file and /proc checks work as on a real host.  ``stop()`` ends every
process it started.
"""

import os
import signal
import subprocess
import sys
import time

from nova import exception
from tests.unit.network.fake_iptables import FakeIptables

SLEEPER = ('import signal, sys, time\n'
           'def hup(*_):\n'
           '    with open(sys.argv[1], "a") as f: f.write("x")\n'
           'signal.signal(signal.SIGHUP, hup)\n'
           'signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n'
           'open(sys.argv[1] + ".ready", "w").close()\n'
           'deadline = time.monotonic() + 120\n'
           'while time.monotonic() < deadline: time.sleep(0.05)\n')


class FakeHost:

    def __init__(self, tmp_path, links=('eth0', 'lo')):
        self.tmp = str(tmp_path)
        self.iptables = FakeIptables()
        self.links = set(links)
        self.masters = {}
        self.addresses = {}   # device -> [cidr]
        self.commands = []
        self.dnsmasq = []     # (argv, process)
        self.released = []

    def __call__(self, *cmd, **kwargs):
        if len(cmd) == 1 and isinstance(cmd[0], (list, tuple)):
            cmd = tuple(cmd[0])
        cmd = [str(c) for c in cmd]
        self.commands.append(cmd)
        if cmd[0].startswith('ip') and cmd[0].endswith(('-save',
                                                        '-restore')):
            return self.iptables(*cmd, **kwargs)
        if cmd[0] == 'ip':
            return self._ip(cmd[1:])
        if cmd[0] == 'env':
            return self._dnsmasq(cmd)
        if cmd[0] == 'dhcp_release':
            self.released.append(tuple(cmd[1:]))
            return '', ''
        if cmd[0] == 'sysctl':
            return '', ''
        raise AssertionError('unexpected command %r' % cmd)

    def _fail(self, cmd, text):
        raise exception.ProcessExecutionError(['ip'] + cmd, exit_code=1,
                                              stderr=text)

    def _ip(self, args):
        if args[:3] == ['-o', 'link', 'show']:
            if args[4] not in self.links:
                self._fail(args, 'Device "%s" does not exist.' % args[4])
            return '1: %s: <UP>' % args[4], ''
        if args[:4] == ['-o', '-4', 'addr', 'show']:
            device = args[5]
            if device not in self.links:
                self._fail(args, 'Device "%s" does not exist.' % device)
            return ''.join('1: %s    inet %s brd x scope global %s\n'
                           % (device, a, device)
                           for a in self.addresses.get(device, [])), ''
        if args[:2] == ['link', 'add']:
            name = args[args.index('name') + 1] if 'name' in args else args[2]
            if name in self.links:
                self._fail(args, 'RTNETLINK answers: File exists')
            self.links.add(name)
            return '', ''
        if args[:2] == ['link', 'set']:
            if args[2] not in self.links:
                self._fail(args, 'Cannot find device "%s"' % args[2])
            if 'master' in args:
                self.masters[args[2]] = args[args.index('master') + 1]
            return '', ''
        if args[:2] == ['addr', 'add']:
            device = args[-1]
            if args[2] in self.addresses.get(device, []):
                self._fail(args, 'RTNETLINK answers: File exists')
            self.addresses.setdefault(device, []).append(args[2])
            return '', ''
        if args[:2] == ['addr', 'del']:
            device = args[-1]
            if args[2] not in self.addresses.get(device, []):
                self._fail(args, 'RTNETLINK answers: Cannot assign')
            self.addresses[device].remove(args[2])
            return '', ''
        raise AssertionError('unexpected ip command %r' % args)

    def _dnsmasq(self, cmd):
        index = cmd.index('dnsmasq')
        env = dict(a.split('=', 1) for a in cmd[1:index])
        argv = cmd[index:]
        options = dict(a.split('=', 1) for a in argv if '=' in a)
        hup_file = os.path.join(self.tmp, 'hups-%d' % len(self.dnsmasq))
        proc = subprocess.Popen([sys.executable, '-c', SLEEPER, hup_file]
                                + argv[1:])
        deadline = time.monotonic() + 20
        while not os.path.exists(hup_file + '.ready'):
            assert time.monotonic() < deadline, 'fake dnsmasq did not start'
            time.sleep(0.02)
        with open(options['--pid-file'], 'w') as f:
            f.write('%d\n' % proc.pid)
        self.dnsmasq.append({'argv': argv, 'env': env, 'proc': proc,
                             'hups': hup_file})
        return '', ''

    def hups(self, index=-1):
        try:
            with open(self.dnsmasq[index]['hups']) as f:
                return len(f.read())
        except FileNotFoundError:
            return 0

    def wait_hups(self, count, index=-1, timeout=10):
        deadline = time.monotonic() + timeout
        while self.hups(index) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.hups(index)

    def ran(self, *prefix):
        return [c for c in self.commands if c[:len(prefix)] == list(prefix)]

    def stop(self):
        for entry in self.dnsmasq:
            proc = entry['proc']
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
