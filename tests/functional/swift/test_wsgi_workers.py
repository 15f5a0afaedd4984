"""A server with forked workers never leaves a worker behind.

Each test starts ``bin/swift-object-server`` with ``workers = 2`` in its own
session (so its process group id is its pid and every worker is found by
that group), stops or kills the supervisor at some moment, and checks that
no process of the group is left.  Whatever is left at the end is SIGKILLed
by group, and the temp dir removed.
"""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from tests.functional.swift.cluster import BIN, free_port, http_status

EXIT_TIMEOUT = 30.0


def group_members(pgid):
    """Live (not zombie) pids whose process group is ``pgid``."""
    members = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        # fields: state ppid pgrp ...
        if fields[0] != 'Z' and int(fields[2]) == pgid:
            members.append(int(name))
    return members


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class Server:
    def __init__(self, tmp_path):
        self.root = tmp_path
        self.port = free_port()
        devices = tmp_path / 'node'
        (devices / 'sda').mkdir(parents=True, exist_ok=True)
        (tmp_path / 'swift.conf').write_text(
            '[swift-hash]\nswift_hash_path_suffix = workers-test\n')
        self.conf = tmp_path / 'object-server.conf'
        self.conf.write_text(
            '[DEFAULT]\ndevices = %s\nmount_check = false\n'
            'bind_ip = 127.0.0.1\nbind_port = %d\nworkers = 2\n'
            'swift_dir = %s\nlog_level = INFO\ngraceful_timeout = 5\n\n'
            '[pipeline:main]\npipeline = object-server\n\n'
            '[app:object-server]\n'
            'paste.app_factory = swift.obj.server:app_factory\n'
            % (devices, self.port, tmp_path))
        self.log = open(tmp_path / 'server.log', 'ab')
        self.proc = None

    def start(self):
        env = dict(os.environ, SWIFT_DIR=str(self.root), PYTHONPATH=os.path
                   .dirname(BIN))
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(BIN, 'swift-object-server'),
             str(self.conf)], stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=self.log, env=env, start_new_session=True)
        return self.proc.pid

    def answers(self):
        return http_status('127.0.0.1', self.port, 'HEAD',
                           '/sda/0/a/c/o', timeout=1.0) is not None

    def workers(self):
        return [pid for pid in group_members(self.proc.pid)
                if pid != self.proc.pid]

    def cleanup(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self.log.close()


@pytest.fixture
def server(tmp_path):
    made = Server(tmp_path)
    yield made
    made.cleanup()


def _log(server):
    return (server.root / 'server.log').read_text(errors='replace')[-3000:]


def test_sigterm_at_any_moment_of_start_up_leaves_no_worker(tmp_path):
    """SIGTERM lands at spread-out moments of start-up, including while
    workers are being forked."""
    rng = random.Random(1234)
    delays = [0.3 + 0.1 * i for i in range(8)] + \
        [rng.uniform(0.3, 1.5) for _ in range(6)]
    for attempt, delay in enumerate(delays):
        server = Server(tmp_path / ('run%d' % attempt))
        try:
            pid = server.start()
            time.sleep(delay)
            os.kill(pid, signal.SIGTERM)
            server.proc.wait(EXIT_TIMEOUT)
            assert wait_for(lambda: not group_members(pid), 10.0), (
                'attempt %d (SIGTERM after %.2fs): left %s\n%s'
                % (attempt, delay, group_members(pid), _log(server)))
        finally:
            server.cleanup()


def test_workers_serve_and_stop_with_the_supervisor(server):
    pid = server.start()
    assert wait_for(server.answers, EXIT_TIMEOUT), _log(server)
    assert wait_for(lambda: len(server.workers()) == 2, 10.0)
    os.kill(pid, signal.SIGTERM)
    assert server.proc.wait(EXIT_TIMEOUT) == 0
    assert wait_for(lambda: not group_members(pid), 10.0), _log(server)


def test_a_dead_worker_is_replaced_and_a_stop_meanwhile_leaves_none(server):
    pid = server.start()
    assert wait_for(server.answers, EXIT_TIMEOUT), _log(server)
    assert wait_for(lambda: len(server.workers()) == 2, 10.0)
    first = server.workers()
    os.kill(first[0], signal.SIGKILL)
    assert wait_for(lambda: len(server.workers()) == 2 and
                    set(server.workers()) != set(first), 10.0), _log(server)
    # kill another and stop the supervisor while it re-forks
    os.kill(server.workers()[0], signal.SIGKILL)
    time.sleep(1.0)
    os.kill(pid, signal.SIGTERM)
    server.proc.wait(EXIT_TIMEOUT)
    assert wait_for(lambda: not group_members(pid), 10.0), _log(server)


def test_workers_exit_when_the_supervisor_is_killed(server):
    pid = server.start()
    assert wait_for(server.answers, EXIT_TIMEOUT), _log(server)
    assert wait_for(lambda: len(server.workers()) == 2, 10.0)
    os.kill(pid, signal.SIGKILL)  # no chance to clean up
    server.proc.wait(EXIT_TIMEOUT)
    assert wait_for(lambda: not group_members(pid), 10.0), (
        'left %s' % group_members(pid))
