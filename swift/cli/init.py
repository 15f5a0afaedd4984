"""swift-init: start, stop and inspect Swift servers and daemons on one host.

    swift-init [--swift-dir DIR] [--run-dir DIR] [--log-dir DIR]
               SERVER... COMMAND

SERVER is a name (`proxy`, `account`, `container`, `object`, `object-updater`,
... with or without the `-server` suffix), `main` (proxy, account, container,
object) or `all` (every server and daemon that has both a launcher and a
config here).  COMMAND is one of:

    start         start unless already running (pid file + live process)
    stop          SIGTERM, then SIGKILL after --kill-wait seconds
    shutdown      SIGHUP: graceful stop (in-flight requests finish)
    restart       stop, then start
    reload        graceful stop, then start (force-reload is the same)
    status        say whether each is running; exit 1 when any is not
    once          run a daemon one pass in the foreground (updaters etc.)

Configs are `<swift-dir>/<type>-server.conf`, or one process per file in
`<swift-dir>/<type>-server/*.conf` (daemons read their type's server config,
e.g. object-updater reads object-server.conf).  The swift dir comes from
--swift-dir, else $SWIFT_DIR, else /etc/swift.  Pid files are
`<run-dir>/<server>.pid` (`<run-dir>/<server>/<conf name>.pid` for per-file
configs); run dir from --run-dir, else $SWIFT_RUN_DIR, else /var/run/swift.
Each process's stdout/stderr (its log when no log_facility/log_file is set)
goes to `<log-dir>/<server>[-<conf name>].log`; log dir from --log-dir, else
$SWIFT_LOG_DIR, else /var/log/swift.

Unlike the original, a pid from a pid file is only signalled after checking
(via /proc/<pid>/cmdline) that it is still the launcher we started: a stale
pid file must never make us kill an unrelated process that reused the pid.

Exit status: 0 success, 1 something failed or is not running (status),
2 usage error.
"""

import argparse
import configparser
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

WSGI_SERVERS = ('proxy-server', 'account-server', 'container-server',
                'object-server')
DAEMONS = ('object-updater', 'container-updater', 'object-replicator',
           'container-replicator', 'account-replicator', 'object-auditor',
           'container-auditor', 'account-auditor', 'account-reaper')
ALL_SERVERS = WSGI_SERVERS + DAEMONS
MAIN_SERVERS = WSGI_SERVERS
COMMANDS = ('start', 'stop', 'shutdown', 'restart', 'reload', 'force-reload',
            'status', 'once')

START_WAIT = 20.0


class InitError(Exception):
    pass


def server_name(name):
    """'proxy' -> 'proxy-server'; 'object-updater' stays."""
    if name in ALL_SERVERS:
        return name
    if name + '-server' in ALL_SERVERS:
        return name + '-server'
    raise InitError('unknown server %r (known: %s, main, all)'
                    % (name, ', '.join(ALL_SERVERS)))


def conf_type(server):
    return server.split('-', 1)[0]


class Server:
    """One server name and the process(es) its config file(s) give."""

    def __init__(self, name, opts):
        self.name = name
        self.opts = opts
        self.binary = 'swift-' + name

    # -- locations ----------------------------------------------------------

    def binary_path(self):
        here = os.path.dirname(os.path.abspath(sys.argv[0] or '.'))
        local = os.path.join(here, self.binary)
        if os.path.isfile(local) and os.access(local, os.X_OK):
            return local
        return shutil.which(self.binary)

    def conf_files(self):
        base = os.path.join(self.opts.swift_dir,
                            '%s-server' % conf_type(self.name))
        if os.path.isfile(base + '.conf'):
            return [base + '.conf']
        return sorted(glob.glob(os.path.join(base, '*.conf')))

    def has_section(self, conf):
        """Daemons only run from configs that have their section."""
        if self.name in WSGI_SERVERS:
            return True
        parser = configparser.RawConfigParser(strict=False)
        try:
            parser.read(conf)
        except configparser.Error:
            return False
        return parser.has_section(self.name)

    def _tag(self, conf):
        if os.path.basename(os.path.dirname(conf)).endswith('-server'):
            return os.path.splitext(os.path.basename(conf))[0]
        return None

    def pid_file(self, conf):
        tag = self._tag(conf)
        if tag is None:
            return os.path.join(self.opts.run_dir, self.name + '.pid')
        return os.path.join(self.opts.run_dir, self.name, tag + '.pid')

    def log_file(self, conf):
        tag = self._tag(conf)
        name = self.name if tag is None else '%s-%s' % (self.name, tag)
        return os.path.join(self.opts.log_dir, name + '.log')

    # -- process checks -----------------------------------------------------

    def read_pid(self, conf):
        try:
            with open(self.pid_file(conf)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def is_ours(self, pid):
        """True when `pid` is alive and is this server's launcher."""
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            return False
        try:
            with open('/proc/%d/stat' % pid) as f:
                if f.read().rsplit(')', 1)[1].split()[0] == 'Z':
                    return False  # zombie: exited, not yet reaped
        except (OSError, IndexError):
            pass
        return any(os.path.basename(a.decode('utf-8', 'replace'))
                   == self.binary for a in argv[:3])

    def running_pid(self, conf):
        pid = self.read_pid(conf)
        if pid is not None and self.is_ours(pid):
            return pid
        return None

    def label(self, conf):
        tag = self._tag(conf)
        return self.name if tag is None else '%s (%s)' % (self.name, tag)

    # -- commands -----------------------------------------------------------

    def start(self, conf, out):
        started = self.launch(conf, out)
        if isinstance(started, bool):
            return started
        return self.finish_start(started, conf, out)

    def launch(self, conf, out):
        """Spawn the process without waiting for it: the Popen, or True
        (already running) / False (could not spawn)."""
        pid = self.running_pid(conf)
        if pid:
            out('%s already running (pid %d)' % (self.label(conf), pid))
            return True
        binary = self.binary_path()
        if not binary:
            out('%s: no %s launcher found' % (self.label(conf), self.binary),
                error=True)
            return False
        if self.name in WSGI_SERVERS:
            addr = self.bind_address(conf)
            try:
                socket.create_connection(addr, timeout=1).close()
            except OSError:
                pass
            else:
                # Someone else answers there: starting would only make us
                # mistake that listener for our server.
                out('%s: %s:%d is already in use by another process'
                    % (self.label(conf), addr[0], addr[1]), error=True)
                return False
        pid_file = self.pid_file(conf)
        log_path = self.log_file(conf)
        os.makedirs(os.path.dirname(pid_file), exist_ok=True)
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        env = dict(os.environ, SWIFT_DIR=self.opts.swift_dir,
                   PYTHONUNBUFFERED='1')
        with open(log_path, 'ab') as log:
            proc = subprocess.Popen(
                [sys.executable, binary, conf], stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, env=env, start_new_session=True)
        with open(pid_file + '.tmp', 'w') as f:
            f.write('%d\n' % proc.pid)
        os.replace(pid_file + '.tmp', pid_file)
        return proc

    def finish_start(self, proc, conf, out):
        """Wait until a launched process is up; False (and no process)
        when it did not come up."""
        pid_file = self.pid_file(conf)
        log_path = self.log_file(conf)
        ok, why = self.wait_started(proc, conf)
        if not ok:
            out('%s failed to start: %s; log %s:\n%s'
                % (self.label(conf), why, log_path, tail(log_path)),
                error=True)
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            remove(pid_file)
            return False
        out('Starting %s (pid %d)' % (self.label(conf), proc.pid))
        return True

    def wait_started(self, proc, conf):
        """WSGI servers: until the port accepts; daemons: still alive after
        a moment.  Bounded by --start-wait."""
        deadline = time.monotonic() + self.opts.start_wait
        addr = self.bind_address(conf) if self.name in WSGI_SERVERS else None
        settle = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                return False, 'exited with status %d' % code
            if addr is None:
                if time.monotonic() >= settle:
                    return True, None
            else:
                try:
                    socket.create_connection(addr, timeout=1).close()
                    return True, None
                except OSError:
                    pass
            time.sleep(0.1)
        if addr is None:
            return True, None
        return False, 'nothing listening on %s:%d after %.0fs' % (
            addr + (self.opts.start_wait,))

    def bind_address(self, conf):
        parser = configparser.RawConfigParser(strict=False)
        parser.read(conf)
        defaults = parser.defaults()
        ip = defaults.get('bind_ip', '0.0.0.0')
        port = int(defaults.get('bind_port', {
            'proxy-server': 8080, 'account-server': 6002,
            'container-server': 6001, 'object-server': 6000}[self.name]))
        if ip in ('0.0.0.0', '::', ''):
            ip = '127.0.0.1'
        return (ip, port)

    def stop(self, conf, out, sig=signal.SIGTERM):
        pid = self.running_pid(conf)
        pid_file = self.pid_file(conf)
        if not pid:
            if os.path.exists(pid_file):
                remove(pid_file)
                out('%s was not running (removed stale pid file)'
                    % self.label(conf))
            else:
                out('%s not running' % self.label(conf))
            return True
        verb = 'Graceful shutdown of' if sig == signal.SIGHUP else 'Stopping'
        out('%s %s (pid %d)' % (verb, self.label(conf), pid))
        signal_group(pid, sig)
        wait = (self.opts.graceful_wait if sig == signal.SIGHUP
                else self.opts.kill_wait)
        if not wait_gone(pid, self, wait):
            out('%s (pid %d) did not stop in %.0fs; killing it'
                % (self.label(conf), pid, wait))
            signal_group(pid, signal.SIGKILL)
            if not wait_gone(pid, self, 5):
                out('%s (pid %d) will not die' % (self.label(conf), pid),
                    error=True)
                return False
        remove(pid_file)
        return True

    def status(self, conf, out):
        pid = self.running_pid(conf)
        if pid:
            out('%s running (pid %d)' % (self.label(conf), pid))
            return True
        out('%s not running' % self.label(conf))
        return False

    def once(self, conf, out):
        if self.name in WSGI_SERVERS:
            out('%s is a WSGI server: "once" is for daemons' % self.name,
                error=True)
            return False
        binary = self.binary_path()
        if not binary:
            out('%s: no %s launcher found' % (self.name, self.binary),
                error=True)
            return False
        env = dict(os.environ, SWIFT_DIR=self.opts.swift_dir)
        code = subprocess.call([sys.executable, binary, conf, 'once'],
                               env=env, stdin=subprocess.DEVNULL)
        if code:
            out('%s once exited with status %d' % (self.name, code),
                error=True)
        return code == 0


def signal_group(pid, sig):
    """Signal the process group the launcher leads (start_new_session), so
    forked workers go too; fall back to the pid alone."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def still_exiting(pid):
    """True while ``pid`` is a launcher of ours half-way through exiting.

    The kernel drops a dying process's memory (so /proc/<pid>/cmdline reads
    empty and `Server.is_ours` says no) before it closes its files: for a
    moment its listening socket still accepts connections, and a `restart`
    that started the new server then took that socket for "another process
    holds the port".  Our launchers lead their own process group, which
    tells them from a kernel thread that happens to get the pid.
    """
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            cmdline = f.read()
    except (OSError, IndexError):
        return False
    state, pgrp = fields[0], fields[2]
    return state not in ('Z', 'X', 'x') and pgrp == str(pid) and \
        not cmdline


def wait_gone(pid, server, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # Reap it if it is our child (swift-init restart in one process).
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not server.is_ours(pid) and not still_exiting(pid):
            return True
        time.sleep(0.05)
    return not server.is_ours(pid) and not still_exiting(pid)


def remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def tail(path, lines=20):
    try:
        with open(path, 'rb') as f:
            data = f.read()[-16384:].decode('utf-8', 'replace')
    except OSError:
        return '(no log)'
    return '\n'.join(data.splitlines()[-lines:])


def expand_servers(names, opts):
    """Names, 'main' and 'all' -> [Server]; 'all' keeps only what has both
    a launcher and a config (with the daemon's section)."""
    servers = []
    for name in names:
        if name in ('all', 'main'):
            candidates = ALL_SERVERS if name == 'all' else MAIN_SERVERS
            for cand in candidates:
                server = Server(cand, opts)
                confs = [c for c in server.conf_files()
                         if server.has_section(c)]
                if server.binary_path() and confs:
                    servers.append(server)
        else:
            servers.append(Server(server_name(name), opts))
    seen, unique = set(), []
    for s in servers:
        if s.name not in seen:
            seen.add(s.name)
            unique.append(s)
    return unique


def build_parser():
    parser = argparse.ArgumentParser(
        prog='swift-init', description='Start, stop and inspect Swift '
        'servers.  SERVER: proxy, account, container, object, '
        'object-updater, ..., main or all.  COMMAND: %s.' % ', '.join(
            COMMANDS),
        epilog='Exit status: 0 success, 1 failure (or, for status, not '
        'running), 2 usage.')
    parser.add_argument('words', nargs='+', metavar='SERVER... COMMAND')
    parser.add_argument('--swift-dir', default=os.environ.get(
        'SWIFT_DIR', '/etc/swift'), help='configs (default $SWIFT_DIR or '
        '/etc/swift)')
    parser.add_argument('--run-dir', default=os.environ.get(
        'SWIFT_RUN_DIR', '/var/run/swift'), help='pid files (default '
        '$SWIFT_RUN_DIR or /var/run/swift)')
    parser.add_argument('--log-dir', default=os.environ.get(
        'SWIFT_LOG_DIR', '/var/log/swift'), help="processes' output "
        '(default $SWIFT_LOG_DIR or /var/log/swift)')
    parser.add_argument('--kill-wait', type=float, default=15.0,
                        help='seconds to wait after SIGTERM (default 15)')
    parser.add_argument('--graceful-wait', type=float, default=70.0,
                        help='seconds to wait after SIGHUP (default 70)')
    parser.add_argument('--start-wait', type=float, default=START_WAIT,
                        help='seconds to wait for a server to listen '
                        '(default %.0f)' % START_WAIT)
    return parser


def main(argv=None):
    parser = build_parser()
    try:
        opts = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    if len(opts.words) < 2 or opts.words[-1] not in COMMANDS:
        print('swift-init: usage: swift-init SERVER... COMMAND (COMMAND is '
              'one of %s)' % ', '.join(COMMANDS), file=sys.stderr)
        return 2
    command = opts.words[-1]
    try:
        servers = expand_servers(opts.words[:-1], opts)
    except InitError as e:
        print('swift-init: %s' % e, file=sys.stderr)
        return 2
    if not servers:
        print('swift-init: no servers with both a launcher and a config in '
              '%s' % opts.swift_dir, file=sys.stderr)
        return 1

    def out(text, error=False):
        print(text, file=sys.stderr if error else sys.stdout, flush=True)

    ok = True
    # `start` spawns every process first and then waits for each, so a
    # host with dozens of servers and daemons comes up in seconds.
    launched = []
    for server in servers:
        confs = server.conf_files()
        if not confs:
            out('%s: no config %s/%s-server.conf (or %s-server/*.conf)'
                % (server.name, opts.swift_dir, conf_type(server.name),
                   conf_type(server.name)), error=True)
            ok = False
            continue
        for conf in confs:
            if command == 'start':
                started = server.launch(conf, out)
                if isinstance(started, bool):
                    ok &= started
                else:
                    launched.append((server, conf, started))
            elif command == 'stop':
                ok &= server.stop(conf, out)
            elif command == 'shutdown':
                ok &= server.stop(conf, out, signal.SIGHUP)
            elif command == 'restart':
                ok &= server.stop(conf, out) and server.start(conf, out)
            elif command in ('reload', 'force-reload'):
                ok &= (server.stop(conf, out, signal.SIGHUP)
                       and server.start(conf, out))
            elif command == 'status':
                ok &= server.status(conf, out)
            elif command == 'once':
                ok &= server.once(conf, out)
    for server, conf, proc in launched:
        ok &= server.finish_start(proc, conf, out)
    return 0 if ok else 1
