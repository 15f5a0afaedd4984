"""Pure parts of the AMQP backend: connection settings, acks, duplicates.

Nothing here talks to a broker (kombu connects lazily).
"""

import threading
import time

import pytest

from nova import exception
from nova import flags
from nova.rpc import common
from nova.rpc import impl_kombu

FLAGS = flags.FLAGS


def test_connection_params_from_rabbit_flags():
    FLAGS.rabbit_host = '127.0.0.1'
    FLAGS.rabbit_port = 5673
    FLAGS.rabbit_userid = 'nova'
    FLAGS.rabbit_password = 'pw'
    FLAGS.rabbit_virtual_host = '/cloud'
    params = impl_kombu.connection_params()
    assert params['hostname'] == '127.0.0.1' and params['port'] == 5673
    assert params['userid'] == 'nova' and params['password'] == 'pw'
    assert params['virtual_host'] == '/cloud'
    assert params['transport_options']['confirm_publish'] is True


def test_transport_url_overrides_rabbit_flags():
    FLAGS.rabbit_host = 'ignored'
    FLAGS.transport_url = 'rabbit://u:p@127.0.0.2:5999/vh'
    kconn = impl_kombu._new_connection()
    assert kconn.hostname == '127.0.0.2' and kconn.port == 5999
    assert kconn.userid == 'u' and kconn.password == 'p'
    assert kconn.virtual_host == 'vh'


def test_bad_transport_url_is_refused_without_echoing_the_password():
    FLAGS.transport_url = 'redis://u:secret@host/0'
    with pytest.raises(exception.RPCError) as info:
        impl_kombu.connection_params()
    assert 'secret' not in str(info.value)


def test_retry_policy_is_capped_by_the_retry_interval():
    FLAGS.rabbit_retry_interval = 3
    FLAGS.rabbit_max_retries = 0
    policy = impl_kombu.retry_policy()
    assert policy['interval_max'] == 3 and policy['max_retries'] is None
    FLAGS.rabbit_max_retries = 4
    FLAGS.rabbit_retry_interval = 0
    policy = impl_kombu.retry_policy()
    assert policy['max_retries'] == 4
    assert policy['interval_start'] <= policy['interval_max'] <= 0.1


def test_queue_layout_follows_the_flags():
    FLAGS.control_exchange = 'cloud'
    queue = impl_kombu.topic_queue('compute.h1')
    assert queue.name == 'compute.h1' and queue.routing_key == 'compute.h1'
    assert queue.exchange.name == 'cloud' and queue.exchange.type == 'topic'
    assert queue.durable
    FLAGS.rabbit_durable_queues = False
    assert not impl_kombu.topic_queue('compute').durable
    fanout = impl_kombu.fanout_queue('compute', 'abc')
    assert fanout.exchange.name == 'compute_fanout'
    assert fanout.exclusive and fanout.auto_delete


class FakeMessage:
    def __init__(self):
        self.acked = 0

    def ack(self):
        self.acked += 1


class Manager:
    def __init__(self):
        self.values = []
        self.release = threading.Event()

    def record(self, context, value):
        self.release.wait(10)
        self.values.append(value)


def _wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_ack_only_after_the_handler_and_duplicates_run_once():
    conn = impl_kombu.Connection()
    manager = Manager()
    body = common.pack_request(None, {'method': 'record',
                                      'args': {'value': 1}})
    first, redelivered, late = FakeMessage(), FakeMessage(), FakeMessage()

    conn._on_message(manager, 't', body, first)
    conn._on_message(manager, 't', body, redelivered)  # while it runs
    conn._send_acks()
    assert first.acked == 0 and redelivered.acked == 0

    manager.release.set()
    assert _wait_for(lambda: conn._active == 0)
    conn._send_acks()
    assert first.acked == 1 and redelivered.acked == 1
    assert manager.values == [1]

    conn._on_message(manager, 't', body, late)        # after it ran
    conn._send_acks()
    assert late.acked == 1 and manager.values == [1]


def test_acks_from_a_lost_channel_are_dropped():
    conn = impl_kombu.Connection()
    manager = Manager()
    manager.release.set()
    old = FakeMessage()
    body = common.pack_request(None, {'method': 'record',
                                      'args': {'value': 2}})
    conn._on_message(manager, 't', body, old)
    assert _wait_for(lambda: conn._active == 0)
    conn._generation += 1          # what a reconnection does
    conn._send_acks()
    assert old.acked == 0
    assert manager.values == [2]


# -- no broker at all (a refused port on loopback) ------------------------------

def _refused_port():
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()           # nothing listens there now
    return port


def _no_broker():
    FLAGS.rabbit_host = '127.0.0.1'
    FLAGS.rabbit_port = _refused_port()
    FLAGS.rabbit_retry_interval = 0


def test_call_without_a_broker_times_out_instead_of_hanging():
    from nova import context, rpc
    _no_broker()
    try:
        with pytest.raises(exception.RPCTimeout, match='echo on topic t1'):
            rpc.call(context.get_admin_context(), 't1',
                     {'method': 'echo', 'args': {}}, timeout=0.5)
    finally:
        rpc.cleanup()


def test_cast_gives_up_after_rabbit_max_retries():
    from nova import context, rpc
    _no_broker()
    FLAGS.rabbit_max_retries = 2
    try:
        with pytest.raises(exception.RPCError, match='cast echo to t1'):
            rpc.cast(context.get_admin_context(), 't1',
                     {'method': 'echo', 'args': {}})
    finally:
        rpc.cleanup()


def test_backend_flags_exist_once_nova_rpc_is_imported():
    import nova.rpc  # noqa: F401
    FLAGS.set_value('rabbit_heartbeat', '30', 'nova.conf:1')
    assert FLAGS.rabbit_heartbeat == 30
    with pytest.raises(flags.FlagfileError):
        FLAGS.set_value('rpc_thread_pool_size', '0', 'nova.conf:2')
