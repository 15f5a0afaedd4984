"""RPC between separate processes through the real RabbitMQ."""

import socket
import subprocess
import threading

import pytest

from nova import context
from nova import exception
from nova import rpc
from tests.functional.rpc.conftest import BROKER, wait_until

pytestmark = pytest.mark.needs_rabbit


def _ctx():
    return context.RequestContext('alice', 'proj', request_id='req-func')


def test_call_returns_result_and_context_travels(topic, start_server):
    start_server('h1')
    assert rpc.call(_ctx(), topic, {'method': 'echo',
                                    'args': {'value': {'a': [1, 2]}}}) \
        == {'a': [1, 2]}
    who = rpc.call(_ctx(), topic, {'method': 'whoami', 'args': {}})
    assert who == {'host': 'h1', 'user_id': 'alice', 'project_id': 'proj',
                   'request_id': 'req-func', 'is_admin': False}


def test_cast_has_an_observable_effect(topic, start_server):
    server = start_server('h1', use_eventlet=False)
    rpc.cast(_ctx(), topic, {'method': 'record', 'args': {'value': 'v1'}})
    assert wait_until(lambda: server.records() == ['v1'], timeout=20), \
        server.log()
    assert rpc.call(_ctx(), topic, {'method': 'records', 'args': {}}) \
        == ['v1']


def test_cast_before_the_server_starts_is_delivered(topic, start_server):
    rpc.cast(_ctx(), '%s.h9' % topic,
             {'method': 'record', 'args': {'value': 'early'}})
    topic.hosts.add('h9')
    server = start_server('h9')
    assert wait_until(lambda: server.records() == ['early'], timeout=20), \
        server.log()


def test_multicall_streams_results(topic, start_server):
    start_server('h1')
    results = list(rpc.multicall(_ctx(), topic, {'method': 'stream',
                                                 'args': {'count': 4}}))
    assert results == [{'index': i, 'host': 'h1'} for i in range(4)]
    assert rpc.call(_ctx(), topic, {'method': 'stream',
                                    'args': {'count': 2}}) \
        == {'index': 1, 'host': 'h1'}


def test_host_topic_reaches_only_that_host(topic, start_server):
    start_server('h1')
    start_server('h2', use_eventlet=False)
    hosts = {rpc.call(_ctx(), '%s.h2' % topic,
                      {'method': 'whoami', 'args': {}})['host']
             for _ in range(4)}
    assert hosts == {'h2'}


def test_fanout_cast_reaches_every_server(topic, start_server):
    first = start_server('h1')
    second = start_server('h2', use_eventlet=False)
    rpc.fanout_cast(_ctx(), topic, {'method': 'record',
                                    'args': {'value': 'everyone'}})
    assert wait_until(lambda: first.records() == ['everyone']
                      and second.records() == ['everyone'], timeout=20), \
        (first.log(), second.log())


def test_remote_nova_exception_comes_back_typed(topic, start_server):
    start_server('h1')
    with pytest.raises(exception.InstanceNotFound) as info:
        rpc.call(_ctx(), topic, {'method': 'fail_not_found',
                                 'args': {'instance_id': 77}})
    assert str(info.value) == 'Instance 77 could not be found.'
    assert info.value.kwargs == {'instance_id': 77}
    assert 'fail_not_found' in info.value.remote_traceback


def test_remote_unknown_exception_is_remote_error(topic, start_server):
    start_server('h1', use_eventlet=False)
    with pytest.raises(exception.RemoteError) as info:
        rpc.call(_ctx(), topic, {'method': 'fail_value_error',
                                 'args': {'text': 'no good'}})
    assert info.value.exc_type == 'ValueError'
    assert info.value.value == 'no good'
    assert 'ValueError: no good' in info.value.traceback


def test_missing_method_is_an_error_reply(topic, start_server):
    start_server('h1')
    with pytest.raises(exception.RPCError, match='no method launch'):
        rpc.call(_ctx(), topic, {'method': 'launch', 'args': {}})


def test_nested_call_from_a_green_handler(topic, start_server):
    start_server('h1')                       # eventlet, relays
    start_server('h2', use_eventlet=False)
    who = rpc.call(_ctx(), '%s.h1' % topic, {
        'method': 'relay',
        'args': {'topic': '%s.h2' % topic,
                 'msg': {'method': 'whoami', 'args': {}}}})
    assert who['host'] == 'h2' and who['request_id'] == 'req-func'
    with pytest.raises(exception.InstanceNotFound):
        rpc.call(_ctx(), '%s.h1' % topic, {
            'method': 'relay',
            'args': {'topic': '%s.h2' % topic,
                     'msg': {'method': 'fail_not_found',
                             'args': {'instance_id': 3}}}})


def test_message_of_a_server_killed_mid_handler_goes_to_another(
        topic, start_server):
    doomed = start_server('h1')
    rpc.cast(_ctx(), topic, {'method': 'slow_record',
                             'args': {'value': 'survivor', 'seconds': 30}})
    assert wait_until(doomed.started, timeout=20), doomed.log()
    doomed.kill()      # the message was not acknowledged: it is requeued
    heir = start_server('h2')
    assert wait_until(lambda: heir.records() == ['survivor'], timeout=60), \
        heir.log()
    assert doomed.records() == []


def test_call_to_a_topic_nobody_serves_times_out(topic):
    with pytest.raises(exception.RPCTimeout) as info:
        rpc.call(_ctx(), topic, {'method': 'echo', 'args': {'value': 1}},
                 timeout=1)
    message = str(info.value)
    assert topic in message and 'echo' in message and '1s' in message


# -- the broker goes away -------------------------------------------------------

def _rabbitmqctl(action):
    subprocess.run(['rabbitmqctl', action], check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _broker_accepts():
    try:
        socket.create_connection(BROKER, timeout=1).close()
        return True
    except OSError:
        return False


def _call_works(topic):
    try:
        return rpc.call(_ctx(), topic, {'method': 'echo',
                                        'args': {'value': 'back'}},
                        timeout=2) == 'back'
    except exception.RPCError:
        return False


@pytest.mark.slow
def test_servers_survive_a_broker_restart_and_a_cast_made_meanwhile_arrives(
        topic, start_server):
    green = start_server('h1')                      # eventlet
    plain = start_server('h2', use_eventlet=False)  # OS threads
    pids = (green.proc.pid, plain.proc.pid)
    h1, h2 = '%s.h1' % topic, '%s.h2' % topic
    assert _call_works(h1) and _call_works(h2)

    outcome = {}

    def cast_while_down():
        try:
            rpc.cast(_ctx(), h2, {'method': 'record',
                                  'args': {'value': 'while-down'}})
            outcome['sent'] = True
        except Exception as e:  # noqa: BLE001 - reported below
            outcome['error'] = e

    _rabbitmqctl('stop_app')
    try:
        sender = threading.Thread(target=cast_while_down, daemon=True)
        sender.start()
        # A call does not hang on a missing broker: it times out.
        with pytest.raises(exception.RPCTimeout):
            rpc.call(_ctx(), h1, {'method': 'echo', 'args': {}}, timeout=1)
        # With the broker down the cast cannot have been sent yet.
        assert sender.is_alive() and not outcome
    finally:
        _rabbitmqctl('start_app')
        assert wait_until(_broker_accepts, timeout=60)

    sender.join(60)
    assert outcome == {'sent': True}
    # The same server processes reconnect and serve again.
    assert wait_until(lambda: _call_works(h1), timeout=60), green.log()
    assert wait_until(lambda: _call_works(h2), timeout=60), plain.log()
    assert wait_until(lambda: plain.records() == ['while-down'],
                      timeout=30), plain.log()
    assert (green.proc.pid, plain.proc.pid) == pids
    assert green.proc.poll() is None and plain.proc.poll() is None
    assert 'reconnected' in green.log() and 'reconnected' in plain.log()
