"""The in-process backend through the public nova.rpc interface."""

import threading

import pytest

from nova import context
from nova import exception
from nova import flags
from nova import rpc
from nova.rpc import impl_fake

FLAGS = flags.FLAGS


@pytest.fixture(autouse=True)
def fake_backend():
    FLAGS.rpc_backend = 'fake'
    yield
    rpc.cleanup()


class Manager:
    def __init__(self, name='m'):
        self.name = name
        self.calls = []
        self.event = threading.Event()
        self.release = threading.Event()

    def echo(self, context, value):
        return value

    def whoami(self, context):
        return {'name': self.name, 'user_id': context.user_id,
                'project_id': context.project_id,
                'request_id': context.request_id}

    def record(self, context, value):
        self.calls.append(value)
        self.event.set()

    def stream(self, context, count):
        for i in range(count):
            yield i * 10

    def fail_not_found(self, context, instance_id):
        raise exception.InstanceNotFound(instance_id=instance_id)

    def fail_key_error(self, context):
        return {}['missing']

    def block(self, context):
        self.release.wait(10)
        return 'released'


def _serve(topic, manager, fanout=False):
    conn = rpc.create_connection()
    conn.create_consumer(topic, manager, fanout=fanout)
    conn.consume_in_thread()
    return conn


def _ctx():
    return context.RequestContext('alice', 'proj', request_id='req-7')


def test_call_returns_result_and_carries_context():
    _serve('compute', Manager('a'))
    assert rpc.call(_ctx(), 'compute', {'method': 'echo',
                                        'args': {'value': [1, 'x']}}) == [1, 'x']
    who = rpc.call(_ctx(), 'compute', {'method': 'whoami', 'args': {}})
    assert who == {'name': 'a', 'user_id': 'alice', 'project_id': 'proj',
                   'request_id': 'req-7'}


def test_cast_runs_the_method():
    manager = Manager()
    _serve('network', manager)
    rpc.cast(_ctx(), 'network', {'method': 'record', 'args': {'value': 5}})
    assert impl_fake.wait_idle(10)
    assert manager.calls == [5]


def test_cast_waits_for_a_consumer_that_starts_later():
    manager = Manager()
    rpc.cast(_ctx(), 'volume.h1', {'method': 'record', 'args': {'value': 'q'}})
    assert manager.calls == []
    _serve('volume.h1', manager)
    assert impl_fake.wait_idle(10)
    assert manager.calls == ['q']


def test_multicall_streams_and_call_returns_last():
    _serve('scheduler', Manager())
    msg = {'method': 'stream', 'args': {'count': 3}}
    assert list(rpc.multicall(_ctx(), 'scheduler', msg)) == [0, 10, 20]
    assert rpc.call(_ctx(), 'scheduler', msg) == 20


def test_consumers_of_a_topic_take_turns():
    _serve('compute', Manager('a'))
    _serve('compute', Manager('b'))
    names = {rpc.call(_ctx(), 'compute', {'method': 'whoami',
                                          'args': {}})['name']
             for _ in range(4)}
    assert names == {'a', 'b'}


def test_fanout_reaches_every_fanout_consumer():
    first, second, plain = Manager('1'), Manager('2'), Manager('3')
    _serve('compute', first, fanout=True)
    _serve('compute', second, fanout=True)
    _serve('compute', plain)
    rpc.fanout_cast(_ctx(), 'compute', {'method': 'record',
                                        'args': {'value': 'all'}})
    assert impl_fake.wait_idle(10)
    assert first.calls == ['all'] and second.calls == ['all']
    assert plain.calls == []


def test_remote_nova_exception_is_typed():
    _serve('compute', Manager())
    with pytest.raises(exception.InstanceNotFound,
                       match='Instance 9 could not be found'):
        rpc.call(_ctx(), 'compute', {'method': 'fail_not_found',
                                     'args': {'instance_id': 9}})


def test_remote_other_exception_is_remote_error():
    _serve('compute', Manager())
    with pytest.raises(exception.RemoteError) as info:
        rpc.call(_ctx(), 'compute', {'method': 'fail_key_error', 'args': {}})
    assert info.value.exc_type == 'KeyError'


def test_missing_method_is_an_error():
    _serve('compute', Manager())
    with pytest.raises(exception.RPCError, match='no method nope'):
        rpc.call(_ctx(), 'compute', {'method': 'nope', 'args': {}})


def test_call_to_unserved_topic_times_out_clearly():
    with pytest.raises(exception.RPCTimeout) as info:
        rpc.call(_ctx(), 'nobody', {'method': 'echo', 'args': {}},
                 timeout=0.2)
    message = str(info.value)
    assert 'nobody' in message and 'echo' in message and '0.2' in message


def test_expired_call_is_not_run_when_a_consumer_appears():
    manager = Manager()
    with pytest.raises(exception.RPCTimeout):
        rpc.call(_ctx(), 'late', {'method': 'record', 'args': {'value': 1}},
                 timeout=0.1)
    _serve('late', manager)
    assert impl_fake.wait_idle(10)
    assert manager.calls == []


def test_slow_handler_times_out_the_caller():
    manager = Manager()
    _serve('compute', manager)
    try:
        with pytest.raises(exception.RPCTimeout):
            rpc.call(_ctx(), 'compute', {'method': 'block', 'args': {}},
                     timeout=0.2)
    finally:
        manager.release.set()
    assert impl_fake.wait_idle(10)


def test_handlers_run_concurrently():
    manager = Manager()
    _serve('compute', manager)
    blocked = rpc.multicall(_ctx(), 'compute', {'method': 'block',
                                                'args': {}}, timeout=10)
    # The second call is answered while the first still blocks.
    assert rpc.call(_ctx(), 'compute', {'method': 'echo',
                                        'args': {'value': 2}}) == 2
    manager.release.set()
    assert list(blocked) == ['released']


def test_unsendable_arguments_fail_in_the_caller():
    _serve('compute', Manager())
    with pytest.raises(exception.RPCError, match='cannot be sent'):
        rpc.cast(_ctx(), 'compute', {'method': 'echo',
                                     'args': {'value': object()}})


def test_closed_connection_stops_serving():
    conn = _serve('compute', Manager())
    conn.close()
    with pytest.raises(exception.RPCTimeout):
        rpc.call(_ctx(), 'compute', {'method': 'echo', 'args': {}},
                 timeout=0.1)


def test_consumers_must_be_created_before_consuming():
    conn = _serve('compute', Manager())
    with pytest.raises(exception.RPCError):
        conn.create_consumer('other', Manager())


def test_unknown_backend_is_a_clear_error():
    FLAGS.rpc_backend = 'carrot'
    with pytest.raises(exception.RPCError, match='unknown rpc_backend'):
        rpc.cast(_ctx(), 'compute', {'method': 'echo', 'args': {}})
