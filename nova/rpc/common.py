"""What every RPC backend shares: the wire format and the dispatcher.

A request on the wire is one JSON object::

    {"method": "run_instance", "args": {...},
     "_context_user_id": ..., "_context_project_id": ..., ...,
     "_unique_id": "<hex>",             # every message; lets a server drop
                                        # a redelivered copy it already ran
     "_msg_id": "<32 hex digits>"}      # calls only; names the reply queue

and a reply is::

    {"result": <value>, "failure": null, "ending": true}

A method that returns a generator streams one reply per item
(``"ending": false``) and a closing ``{"failure": null, "ending": true}``;
an exception ends the stream with ``"failure": {...}`` (see
``serialize_remote_exception``).

Only JSON ever travels; the original carried the context as a handful of
fixed keys, here every key of ``RequestContext.to_dict()`` travels.
"""

import collections
import datetime
import inspect
import json
import re
import traceback
import uuid

from nova import context as nova_context
from nova import exception
from nova import flags
from nova import log as logging
from nova import utils

LOG = logging.getLogger(__name__)

# The AMQP backend's own flags live here, imported with nova.rpc, so that a
# flagfile naming them passes flags.verify() before any backend is loaded.
flags.DEFINE_integer('rpc_thread_pool_size', 64,
                     'handlers a server runs at once (also the AMQP '
                     'prefetch count)', lower_bound=1)
flags.DEFINE_bool('rabbit_durable_queues', True,
                  'declare topic queues durable and send casts persistent '
                  'so queued work survives a broker restart')
flags.DEFINE_integer('rabbit_heartbeat', 0,
                     'AMQP heartbeat in seconds (0 = off; TCP keepalive '
                     'still detects a dead broker)', lower_bound=0)
flags.DEFINE_integer('rabbit_connect_timeout', 5,
                     'seconds to wait for one TCP/AMQP connection attempt')

CONTEXT_PREFIX = '_context_'

# Reply queues are named by the message id.  Only plain hex is accepted so a
# forged message cannot make a server publish its "reply" into a real topic
# queue (the original trusted whatever _msg_id said).
_MSG_ID_RE = re.compile(r'^[0-9a-f]{32}$')
_METHOD_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]*$')

# to_primitive gives up below this depth (a cycle or an absurd structure).
_MAX_DEPTH = 32

Request = collections.namedtuple(
    'Request', 'context method args msg_id unique_id')


def new_msg_id():
    return uuid.uuid4().hex


def valid_msg_id(msg_id):
    return isinstance(msg_id, str) and bool(_MSG_ID_RE.match(msg_id))


# -- values -------------------------------------------------------------------

def to_primitive(value, _depth=0):
    """``value`` as plain JSON types, or TypeError naming what cannot be.

    Datetimes become ISO 8601 strings (the format ``utils.isotime`` writes),
    tuples and sets become lists and objects that look like mappings (the
    database models) become dicts.  Anything else is refused rather than
    guessed at, so a caller learns at once that an argument cannot travel.
    """
    if _depth > _MAX_DEPTH:
        raise TypeError('value nests deeper than %d levels' % _MAX_DEPTH)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, datetime.datetime):
        return utils.isotime(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise TypeError('dict key %r cannot be sent as JSON' % (key,))
            result[str(key) if not isinstance(key, str) else key] = \
                to_primitive(item, _depth + 1)
        return result
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_primitive(item, _depth + 1) for item in value]
    if isinstance(value, bytes):
        raise TypeError('bytes cannot be sent as JSON; encode them first')
    items = getattr(value, 'items', None)
    if callable(items):
        return to_primitive(dict(items()), _depth + 1)
    raise TypeError('%s object cannot be sent as JSON'
                    % type(value).__name__)


# -- requests -----------------------------------------------------------------

def pack_context(context, body):
    """Add ``_context_<key>`` entries for the context to ``body``."""
    if context is None:
        return body
    for key, value in context.to_dict().items():
        body[CONTEXT_PREFIX + key] = to_primitive(value)
    return body


def unpack_context(body):
    """The RequestContext carried in ``body`` (anonymous, not admin, if none).

    A message without context keys gets a context with no user and no
    admin rights: missing identity must never mean more privilege.
    """
    values = {key[len(CONTEXT_PREFIX):]: value
              for key, value in body.items()
              if key.startswith(CONTEXT_PREFIX)}
    values.setdefault('user_id', values.get('user'))
    values.setdefault('project_id', values.get('project'))
    if 'roles' in values and not isinstance(values['roles'], list):
        raise exception.RPCError(reason='context roles must be a list')
    try:
        return nova_context.RequestContext.from_dict(values)
    except (TypeError, ValueError) as e:
        raise exception.RPCError(reason='bad context in message: %s' % e)


def pack_request(context, msg, msg_id=None):
    """The wire body for ``msg`` ({"method": ..., "args": {...}}).

    ``msg`` is not modified (the original added the context keys to the
    caller's own dict).  Bad input raises here, before anything is sent.
    """
    if not isinstance(msg, dict):
        raise exception.RPCError(reason='message must be a dict, not %s'
                                 % type(msg).__name__)
    method = msg.get('method')
    if not isinstance(method, str) or not _METHOD_RE.match(method):
        raise exception.RPCError(reason='message needs a "method" naming a '
                                 'public method, got %r' % (method,))
    args = msg.get('args', {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise exception.RPCError(reason='"args" of %s must be a dict' % method)
    try:
        body = {'method': method, 'args': to_primitive(args)}
    except TypeError as e:
        raise exception.RPCError(reason='arguments of %s cannot be sent: %s'
                                 % (method, e))
    pack_context(context, body)
    body['_unique_id'] = uuid.uuid4().hex
    if msg_id is not None:
        body['_msg_id'] = msg_id
    return body


def unpack_request(body):
    """A ``Request`` from a wire body, or RPCError saying what is wrong."""
    if not isinstance(body, dict):
        raise exception.RPCError(reason='message is not a JSON object')
    msg_id = body.get('_msg_id')
    if msg_id is not None and not valid_msg_id(msg_id):
        raise exception.RPCError(reason='bad _msg_id %r' % (msg_id,))
    method = body.get('method')
    if not isinstance(method, str) or not _METHOD_RE.match(method):
        raise exception.RPCError(reason='bad method name %r' % (method,))
    args = body.get('args')
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise exception.RPCError(reason='"args" of %s is not an object'
                                 % method)
    unique_id = body.get('_unique_id')
    if not isinstance(unique_id, str):
        unique_id = None
    return Request(unpack_context(body), method, args, msg_id, unique_id)


def msg_id_of(body):
    """The reply address of a body, if it has a usable one."""
    if isinstance(body, dict) and valid_msg_id(body.get('_msg_id')):
        return body['_msg_id']
    return None


# -- exceptions ---------------------------------------------------------------

def serialize_remote_exception(exc, tb_text=None):
    """A JSON-safe description of ``exc`` for the caller.

    ``attrs`` keeps the public data attributes of the instance (for nova
    exceptions, their ``kwargs`` and fields such as ``exit_code``) when they
    are plain JSON values, so the rebuilt exception is as useful as the
    original.
    """
    if tb_text is None:
        tb_text = ''.join(traceback.format_exception(exc))
    attrs = {}
    for key, value in vars(exc).items():
        if key.startswith('_') or key == 'msg':
            continue
        try:
            attrs[key] = to_primitive(value)
        except TypeError:
            continue
    return {'class': type(exc).__name__,
            'module': type(exc).__module__,
            'message': str(exc),
            'traceback': tb_text,
            'attrs': attrs}


def deserialize_remote_exception(failure):
    """The exception to raise in the caller for a remote ``failure``.

    Only classes of ``nova.exception`` are recreated, looked up by name in
    that module alone: a message never makes us import anything.  Every
    other class comes back as ``RemoteError(class name, message,
    traceback)``.  The remote traceback is kept as ``remote_traceback`` and
    as a note on the exception.
    """
    if not isinstance(failure, dict):
        return exception.RemoteError('UnknownError', repr(failure), '')
    name = failure.get('class')
    name = name if isinstance(name, str) else 'UnknownError'
    message = failure.get('message')
    message = message if isinstance(message, str) else ''
    tb_text = failure.get('traceback')
    tb_text = tb_text if isinstance(tb_text, str) else ''
    attrs = failure.get('attrs')
    attrs = attrs if isinstance(attrs, dict) else {}

    cls = None
    if failure.get('module') == exception.__name__ and not name.startswith('_'):
        candidate = getattr(exception, name, None)
        if (isinstance(candidate, type)
                and issubclass(candidate, exception.NovaException)):
            cls = candidate
    if cls is None:
        exc = exception.RemoteError(name, message, tb_text)
    else:
        # The class's own __init__ may want other arguments (e.g.
        # ProcessExecutionError(cmd, ...)); build it as NovaException would
        # and put the remote attributes back on it.
        exc = cls.__new__(cls)
        exception.NovaException.__init__(exc, message)
        for key, value in attrs.items():
            if (isinstance(key, str) and key.isidentifier()
                    and not key.startswith('_') and key not in ('msg', 'args')):
                setattr(exc, key, value)
        if not isinstance(getattr(exc, 'kwargs', None), dict):
            exc.kwargs = {}
    exc.remote_traceback = tb_text
    if tb_text:
        exc.add_note('Remote traceback:\n' + tb_text.rstrip())
    return exc


# -- serving ------------------------------------------------------------------

def _invoke(proxy, request):
    """Call the proxy's method; return (streaming, value or iterator)."""
    method = getattr(proxy, request.method, None)
    if not callable(method):
        raise exception.RPCError(reason='%s has no method %s'
                                 % (type(proxy).__name__, request.method))
    result = method(context=request.context, **request.args)
    if inspect.isgenerator(result):
        return True, result
    return False, result


def _reply_body(result=None, failure=None, ending=True, has_result=True):
    reply = {'failure': failure, 'ending': ending}
    if has_result:
        reply['result'] = result
    return reply


def handle_message(proxy, body, send_reply, topic=None):
    """Run one request against ``proxy``; never raises.

    ``send_reply(msg_id, reply_dict)`` is called for calls only.  Errors in
    a cast are logged, since nobody is waiting for them.
    """
    msg_id = msg_id_of(body)
    try:
        request = unpack_request(body)
    except exception.RPCError as e:
        LOG.error('Dropping bad message on topic %s: %s', topic, e)
        if msg_id:
            send_reply(msg_id, _reply_body(
                failure=serialize_remote_exception(e, ''), has_result=False))
        return
    ctx = request.context
    LOG.debug('received %s on topic %s%s', request.method, topic,
              ' (call %s)' % msg_id if msg_id else '', context=ctx)
    try:
        streaming, value = _invoke(proxy, request)
        if not streaming:
            reply = _reply_body(result=_result_primitive(request, value))
            if msg_id:
                send_reply(msg_id, reply)
            return
        for item in value:
            reply = _reply_body(result=_result_primitive(request, item),
                                ending=False)
            if msg_id:
                send_reply(msg_id, reply)
        if msg_id:
            send_reply(msg_id, _reply_body(has_result=False))
    except Exception as e:  # noqa: BLE001 - every failure goes to the caller
        if isinstance(e, exception.NovaException):
            LOG.warning('%s on topic %s raised %s: %s', request.method, topic,
                        type(e).__name__, e, context=ctx)
            LOG.debug('traceback', exc_info=True, context=ctx)
        else:
            LOG.exception('%s on topic %s failed', request.method, topic,
                          context=ctx)
        if msg_id:
            send_reply(msg_id, _reply_body(
                failure=serialize_remote_exception(e), has_result=False))


def _result_primitive(request, value):
    try:
        return to_primitive(value)
    except TypeError as e:
        raise exception.RPCError(reason='the result of %s cannot be sent: %s'
                                 % (request.method, e)) from None


# -- calling ------------------------------------------------------------------

def iter_results(replies):
    """Results out of an iterator of reply dicts; raise a remote failure.

    Stops at the reply marked ``ending``.
    """
    for reply in replies:
        if not isinstance(reply, dict):
            raise exception.RPCError(reason='malformed reply %r' % (reply,))
        if reply.get('failure'):
            raise deserialize_remote_exception(reply['failure'])
        if 'result' in reply:
            yield reply['result']
        if reply.get('ending', True):
            return


def encode(body):
    """JSON text of a body, as the fake backend puts it on its 'wire'."""
    return json.dumps(body)


def decode(text):
    return json.loads(text)
