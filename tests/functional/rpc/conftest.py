"""Fixtures for RPC tests against the machine's RabbitMQ.

Every test gets its own topic name, so parallel runs on the shared broker
do not meet; the queues and exchanges a test made are deleted afterwards.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import kombu
import pytest

from nova import flags
from nova import rpc

FLAGS = flags.FLAGS
HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, 'rpc_server.py')
BROKER = ('127.0.0.1', 5672)


def wait_until(predicate, timeout=30, interval=0.1):
    """Poll ``predicate`` until it is true or ``timeout`` passes; return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


@pytest.fixture
def kombu_rpc(rabbit):
    FLAGS.rpc_backend = 'kombu'
    FLAGS.rabbit_host = BROKER[0]
    FLAGS.rabbit_port = BROKER[1]
    FLAGS.rabbit_retry_interval = 1
    yield
    rpc.cleanup()


class Topic(str):
    """A unique topic name that remembers the host queues made for it."""

    hosts = None


@pytest.fixture
def topic(kombu_rpc):
    name = Topic('rpctest_%s' % uuid.uuid4().hex[:12])
    name.hosts = set()
    yield name
    _delete_broker_entities(name)


def _delete_broker_entities(topic):
    queues = [topic] + ['%s.%s' % (topic, host) for host in topic.hosts]
    try:
        with kombu.Connection(hostname=BROKER[0], port=BROKER[1],
                              userid='guest', password='guest',
                              connect_timeout=5) as conn:
            for name in queues:
                conn.default_channel.queue_delete(name)
            conn.default_channel.exchange_delete('%s_fanout' % topic)
    except Exception as e:  # noqa: BLE001 - cleanup must not hide the test
        print('could not clean up broker entities of %s: %s' % (topic, e))


class Server:
    """One rpc_server.py process serving a test manager."""

    def __init__(self, topic, host, use_eventlet):
        self.topic = topic
        self.host = host
        self.state_dir = tempfile.mkdtemp(prefix='rpc-server-')
        self.log_path = os.path.join(self.state_dir, 'server.log')
        argv = [sys.executable, SERVER, self.state_dir, topic, host,
                '--rabbit_host=%s' % BROKER[0],
                '--rabbit_port=%d' % BROKER[1],
                '--rabbit_retry_interval=1', '--lifetime=300']
        if use_eventlet:
            argv.append('--eventlet')
        self._log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(argv, stdout=self._log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def wait_ready(self, timeout=30):
        ready = os.path.join(self.state_dir, 'ready')
        wait_until(lambda: os.path.exists(ready) or self.proc.poll()
                   is not None, timeout)
        if not os.path.exists(ready):
            pytest.fail('RPC test server for %s did not start:\n%s'
                        % (self.topic, self.log()))

    def records(self):
        path = os.path.join(self.state_dir, 'records.jsonl')
        if not os.path.exists(path):
            return []
        with open(path, encoding='utf-8') as f:
            return [json.loads(line)['value'] for line in f if line.strip()]

    def log(self):
        with open(self.log_path, encoding='utf-8', errors='replace') as f:
            return f.read()

    def started(self):
        path = os.path.join(self.state_dir, 'started')
        return os.path.exists(path)

    def kill(self):
        """SIGKILL: no chance to acknowledge or clean up anything."""
        self.proc.kill()
        self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        shutil.rmtree(self.state_dir, ignore_errors=True)


@pytest.fixture
def start_server(topic):
    """``start_server(host, use_eventlet=True)`` -> a ready Server."""
    servers = []

    def start(host, use_eventlet=True):
        topic.hosts.add(host)
        server = Server(topic, host, use_eventlet)
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()
