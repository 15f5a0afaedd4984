"""The RPC wire format, exception transport and dispatcher (no broker)."""

import datetime
import json

import pytest

from nova import context
from nova import exception
from nova.rpc import common


def _ctx():
    return context.RequestContext('alice', 'proj', roles=['netadmin'],
                                  remote_address='10.0.0.9',
                                  request_id='req-1')


# -- messages -----------------------------------------------------------------

def test_pack_request_carries_context_keys_and_ids():
    msg = {'method': 'run_instance', 'args': {'instance_id': 3}}
    body = common.pack_request(_ctx(), msg, msg_id='a' * 32)
    assert body['method'] == 'run_instance'
    assert body['args'] == {'instance_id': 3}
    assert body['_context_user_id'] == 'alice'
    assert body['_context_project_id'] == 'proj'
    assert body['_context_roles'] == ['netadmin']
    assert body['_context_request_id'] == 'req-1'
    assert body['_msg_id'] == 'a' * 32
    assert len(body['_unique_id']) == 32
    assert msg == {'method': 'run_instance', 'args': {'instance_id': 3}}
    json.dumps(body)


def test_unique_id_differs_per_message():
    msg = {'method': 'm', 'args': {}}
    assert (common.pack_request(None, msg)['_unique_id']
            != common.pack_request(None, msg)['_unique_id'])


def test_context_round_trip():
    original = _ctx()
    body = json.loads(json.dumps(common.pack_request(
        original, {'method': 'm', 'args': {}})))
    request = common.unpack_request(body)
    ctx = request.context
    assert isinstance(ctx, context.RequestContext)
    assert ctx.to_dict() == original.to_dict()
    assert request.method == 'm' and request.args == {}
    assert request.msg_id is None


def test_message_without_context_is_anonymous_not_admin():
    request = common.unpack_request({'method': 'm', 'args': {}})
    assert request.context.user_id is None
    assert request.context.is_admin is False


def test_old_style_context_keys_are_understood():
    request = common.unpack_request({'method': 'm', 'args': {},
                                     '_context_user': 'bob',
                                     '_context_project': 'p2'})
    assert request.context.user_id == 'bob'
    assert request.context.project_id == 'p2'


@pytest.mark.parametrize('msg', [
    'run', {'args': {}}, {'method': '', 'args': {}},
    {'method': '_private', 'args': {}}, {'method': '__class__', 'args': {}},
    {'method': 'a.b', 'args': {}}, {'method': 'm', 'args': [1]},
    {'method': 5, 'args': {}}])
def test_pack_request_rejects_bad_messages(msg):
    with pytest.raises(exception.RPCError):
        common.pack_request(None, msg)


def test_pack_request_rejects_arguments_json_cannot_carry():
    with pytest.raises(exception.RPCError, match='cannot be sent'):
        common.pack_request(None, {'method': 'm', 'args': {'x': object()}})
    with pytest.raises(exception.RPCError, match='bytes'):
        common.pack_request(None, {'method': 'm', 'args': {'x': b'raw'}})


@pytest.mark.parametrize('body', [
    [], {'method': 'm', 'args': [], }, {'method': '_x'},
    {'method': 'm', '_msg_id': 'compute'},
    {'method': 'm', '_msg_id': '../' + 'a' * 29},
    {'method': 'm', '_context_roles': 'admin'},
    {'method': 'm', '_context_timestamp': 'not a time'}])
def test_unpack_request_rejects_bad_bodies(body):
    with pytest.raises(exception.RPCError):
        common.unpack_request(body)


def test_to_primitive_converts_what_json_lacks():
    when = datetime.datetime(2011, 2, 3, 4, 5, 6)

    class Row:
        def items(self):
            return [('id', 1), ('created_at', when)]

    value = {'t': when, 'tuple': (1, 2), 'set': {3}, 'row': Row(),
             1: 'int key'}
    assert common.to_primitive(value) == {
        't': '2011-02-03T04:05:06Z', 'tuple': [1, 2], 'set': [3],
        'row': {'id': 1, 'created_at': '2011-02-03T04:05:06Z'},
        '1': 'int key'}


def test_to_primitive_refuses_cycles():
    loop = []
    loop.append(loop)
    with pytest.raises(TypeError):
        common.to_primitive(loop)


# -- exceptions ---------------------------------------------------------------

def _round_trip(exc):
    try:
        raise exc
    except Exception as e:  # noqa: BLE001
        failure = common.serialize_remote_exception(e)
    return common.deserialize_remote_exception(json.loads(json.dumps(failure)))


def test_nova_exception_comes_back_typed_with_its_message():
    exc = _round_trip(exception.InstanceNotFound(instance_id=42))
    assert type(exc) is exception.InstanceNotFound
    assert str(exc) == 'Instance 42 could not be found.'
    assert exc.kwargs == {'instance_id': 42}
    assert exc.code == 404
    assert 'raise exc' in exc.remote_traceback


def test_nova_exception_with_its_own_constructor_keeps_fields():
    exc = _round_trip(exception.ProcessExecutionError(
        ['ip', 'link'], exit_code=2, stdout='o', stderr='e'))
    assert type(exc) is exception.ProcessExecutionError
    assert exc.exit_code == 2 and exc.cmd == ['ip', 'link']
    assert exc.stderr == 'e'
    assert 'Exit code: 2' in str(exc)


def test_remote_error_from_a_nested_call_keeps_its_fields():
    exc = _round_trip(exception.RemoteError('KeyError', "'x'", 'tb'))
    assert type(exc) is exception.RemoteError
    assert exc.exc_type == 'KeyError' and exc.value == "'x'"


def test_other_exceptions_become_remote_error():
    exc = _round_trip(ValueError('bad value'))
    assert type(exc) is exception.RemoteError
    assert exc.exc_type == 'ValueError'
    assert exc.value == 'bad value'
    assert 'ValueError: bad value' in exc.traceback


@pytest.mark.parametrize('module,name', [
    ('os', 'system'), ('builtins', 'ValueError'),
    ('nova.exception', 'FLAGS'), ('nova.exception', '__builtins__'),
    ('nova.exception', 'Exception'), ('nova.utils', 'NovaException')])
def test_only_nova_exception_classes_are_recreated(module, name):
    exc = common.deserialize_remote_exception(
        {'class': name, 'module': module, 'message': 'm', 'traceback': '',
         'attrs': {}})
    assert type(exc) is exception.RemoteError
    assert exc.exc_type == name


def test_private_attributes_are_not_set_from_a_message():
    exc = common.deserialize_remote_exception(
        {'class': 'NotFound', 'module': 'nova.exception', 'message': 'gone',
         'attrs': {'__class__': 'x', '_secret': 1, 'code': 404,
                   'not an identifier': 1}})
    assert type(exc) is exception.NotFound
    assert not hasattr(exc, '_secret')
    assert str(exc) == 'gone'


def test_garbage_failure_is_a_remote_error():
    exc = common.deserialize_remote_exception('oops')
    assert isinstance(exc, exception.RemoteError)


# -- dispatching --------------------------------------------------------------

class Manager:
    def __init__(self):
        self.seen = []

    def add(self, context, a, b):
        self.seen.append(context.user_id)
        return a + b

    def count(self, context, n):
        for i in range(n):
            yield i

    def broken_stream(self, context):
        yield 1
        raise exception.NotFound()

    def when(self, context):
        return datetime.datetime(2011, 1, 1)

    def unsendable(self, context):
        return object()

    def _private(self, context):
        return 'secret'


def _serve(manager, msg, msg_id='b' * 32):
    replies = []
    body = common.pack_request(_ctx(), msg, msg_id=msg_id)
    common.handle_message(manager, json.loads(json.dumps(body)),
                          lambda mid, reply: replies.append((mid, reply)))
    assert all(mid == msg_id for mid, _ in replies)
    return [reply for _, reply in replies]


def test_call_gets_one_final_reply():
    manager = Manager()
    replies = _serve(manager, {'method': 'add', 'args': {'a': 2, 'b': 3}})
    assert replies == [{'result': 5, 'failure': None, 'ending': True}]
    assert manager.seen == ['alice']
    assert list(common.iter_results(replies)) == [5]


def test_generator_streams_then_ends():
    replies = _serve(Manager(), {'method': 'count', 'args': {'n': 3}})
    assert [r['ending'] for r in replies] == [False, False, False, True]
    assert list(common.iter_results(replies)) == [0, 1, 2]


def test_failure_mid_stream_is_raised_after_the_results():
    replies = _serve(Manager(), {'method': 'broken_stream', 'args': {}})
    results = common.iter_results(replies)
    assert next(results) == 1
    with pytest.raises(exception.NotFound):
        next(results)


def test_results_are_made_primitive():
    replies = _serve(Manager(), {'method': 'when', 'args': {}})
    assert list(common.iter_results(replies)) == ['2011-01-01T00:00:00Z']


def test_unsendable_result_is_an_error_reply():
    replies = _serve(Manager(), {'method': 'unsendable', 'args': {}})
    with pytest.raises(exception.RPCError, match='cannot be sent'):
        list(common.iter_results(replies))


def test_missing_method_is_an_error_reply():
    replies = _serve(Manager(), {'method': 'nope', 'args': {}})
    with pytest.raises(exception.RPCError, match='Manager has no method nope'):
        list(common.iter_results(replies))


def test_private_method_cannot_be_reached_even_by_a_forged_body():
    replies = []
    common.handle_message(Manager(), {'method': '_private', 'args': {},
                                      '_msg_id': 'c' * 32},
                          lambda mid, reply: replies.append(reply))
    with pytest.raises(exception.RPCError, match='bad method'):
        list(common.iter_results(replies))


def test_wrong_arguments_are_a_remote_type_error():
    replies = _serve(Manager(), {'method': 'add', 'args': {'a': 1}})
    with pytest.raises(exception.RemoteError) as info:
        list(common.iter_results(replies))
    assert info.value.exc_type == 'TypeError'


def test_cast_sends_no_reply_even_on_error():
    replies = []
    body = common.pack_request(None, {'method': 'nope', 'args': {}})
    common.handle_message(Manager(), body, lambda *a: replies.append(a))
    assert replies == []
