"""Messaging between nova services: cast, call, multicall, fanout_cast.

The backend is chosen per use by the flag ``rpc_backend``: ``kombu`` (AMQP
through RabbitMQ, ``nova.rpc.impl_kombu``) or ``fake`` (in-process, for
unit tests, ``nova.rpc.impl_fake``).  Both speak the same JSON messages
(see ``nova.rpc.common``) with the same semantics.

Sending::

    rpc.cast(ctx, 'compute.host1', {'method': 'reboot_instance',
                                    'args': {'instance_id': 3}})
    out = rpc.call(ctx, 'network', {'method': 'allocate_fixed_ip',
                                    'args': {...}}, timeout=30)
    for item in rpc.multicall(ctx, topic, msg): ...
    rpc.fanout_cast(ctx, 'scheduler', msg)

Serving::

    conn = rpc.create_connection()
    conn.create_consumer(topic, manager)              # shared work queue
    conn.create_consumer('%s.%s' % (topic, host), manager)
    conn.create_consumer(topic, manager, fanout=True)  # every server
    conn.consume_in_thread()
    ...
    conn.close()

The server calls ``getattr(manager, method)(context=ctx, **args)``.  A call
returns the method's result; a generator streams its items to multicall
(``call`` returns the last one).  A remote nova.exception comes back as
that class, any other exception as ``nova.exception.RemoteError``; no
answer within the timeout raises ``nova.exception.RPCTimeout``.
"""

import importlib
import sys

from nova import exception
from nova import flags
from nova.rpc import common  # noqa: F401 - defines the rpc flags

FLAGS = flags.FLAGS

_BACKENDS = {'kombu': 'nova.rpc.impl_kombu',
             'fake': 'nova.rpc.impl_fake'}


def _backend():
    name = FLAGS.rpc_backend
    if name not in _BACKENDS:
        raise exception.RPCError(reason='unknown rpc_backend %r (choose one '
                                 'of %s)' % (name, ', '.join(sorted(_BACKENDS))))
    return importlib.import_module(_BACKENDS[name])


def create_connection():
    """A connection for consumers (``create_consumer``/``consume_in_thread``)."""
    return _backend().create_connection()


def cast(context, topic, msg):
    """Send ``msg`` to one server of ``topic``; do not wait for it."""
    _backend().cast(context, topic, msg)


def fanout_cast(context, topic, msg):
    """Send ``msg`` to every server consuming ``topic`` with fanout=True."""
    _backend().fanout_cast(context, topic, msg)


def multicall(context, topic, msg, timeout=None):
    """Send ``msg`` to one server of ``topic``; iterate over its results.

    The request is sent before this returns.  ``timeout`` (default: flag
    ``rpc_response_timeout``) bounds the wait for each reply.
    """
    if timeout is None:
        timeout = FLAGS.rpc_response_timeout
    return _backend().multicall(context, topic, msg, timeout)


def call(context, topic, msg, timeout=None):
    """Send ``msg`` to one server of ``topic`` and return its result."""
    result = None
    for result in multicall(context, topic, msg, timeout):
        pass
    return result


def cleanup():
    """Close every connection the backends keep (tests, process exit)."""
    for module_name in _BACKENDS.values():
        module = sys.modules.get(module_name)
        if module is not None:
            module.cleanup()
