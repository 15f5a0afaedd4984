"""In-process RPC backend for unit tests (``rpc_backend=fake``).

It behaves like the AMQP backend without a broker: each message is encoded
to JSON and decoded again (so what cannot travel fails here too), a topic
is one shared work queue whose consumers take turns, a cast or call to a
topic nobody consumes yet waits for a consumer (a call only until its
timeout, as a message TTL would do), a fanout reaches every fanout consumer
that is consuming at that moment, and each message is handled in its own
thread (a green thread when eventlet has patched ``threading``).

Casts are asynchronous as on the real thing; ``wait_idle()`` lets a test
wait until every delivered message has been handled.
"""

import collections
import itertools
import queue
import threading
import time

from nova import exception
from nova import log as logging
from nova.rpc import common

LOG = logging.getLogger(__name__)

_lock = threading.RLock()
_idle = threading.Condition(_lock)
_consumers = collections.defaultdict(list)     # topic -> [_Consumer]
_fanout_consumers = collections.defaultdict(list)
_pending = collections.defaultdict(collections.deque)  # topic -> deque
_turn = itertools.count()
_busy = 0                                      # messages being handled
_connections = set()

_Pending = collections.namedtuple('_Pending', 'text reply_queue expires_at')


class _Consumer:
    def __init__(self, connection, topic, proxy, fanout):
        self.connection = connection
        self.topic = topic
        self.proxy = proxy
        self.fanout = fanout


class Connection:
    """Consumers of one server; the same methods as the AMQP connection."""

    def __init__(self):
        self._consumers = []
        self._consuming = False
        self._closed = threading.Event()
        with _lock:
            _connections.add(self)

    def create_consumer(self, topic, proxy, fanout=False):
        if self._consuming:
            raise exception.RPCError(reason='create consumers before '
                                     'consume_in_thread')
        self._consumers.append(_Consumer(self, topic, proxy, fanout))

    def consume_in_thread(self):
        """Start serving; the returned thread lives until ``close()``."""
        if self._closed.is_set():
            raise exception.RPCError(reason='connection is closed')
        with _lock:
            if not self._consuming:
                self._consuming = True
                for consumer in self._consumers:
                    registry = (_fanout_consumers if consumer.fanout
                                else _consumers)
                    registry[consumer.topic].append(consumer)
                for topic in {c.topic for c in self._consumers
                              if not c.fanout}:
                    _flush_pending(topic)
        thread = threading.Thread(target=self._closed.wait, daemon=True,
                                  name='fake-rpc-consumer')
        thread.start()
        return thread

    def close(self):
        with _lock:
            for consumer in self._consumers:
                registry = _fanout_consumers if consumer.fanout else _consumers
                if consumer in registry[consumer.topic]:
                    registry[consumer.topic].remove(consumer)
            self._consuming = False
            _connections.discard(self)
        self._closed.set()


def create_connection():
    return Connection()


# -- delivery -----------------------------------------------------------------

def _start_handler(consumer, text, reply_queue):
    """Handle one message in a thread of its own (caller holds _lock)."""
    global _busy
    _busy += 1

    def send_reply(_msg_id, reply):
        if reply_queue is not None:
            reply_queue.put(common.decode(common.encode(reply)))

    def run():
        global _busy
        try:
            common.handle_message(consumer.proxy, common.decode(text),
                                  send_reply, topic=consumer.topic)
        finally:
            with _lock:
                _busy -= 1
                _idle.notify_all()

    threading.Thread(target=run, daemon=True,
                     name='fake-rpc-%s' % consumer.topic).start()


def _deliver(topic, text, reply_queue, expires_at):
    with _lock:
        consumers = _consumers.get(topic)
        if not consumers:
            _pending[topic].append(_Pending(text, reply_queue, expires_at))
            return
        consumer = consumers[next(_turn) % len(consumers)]
        _start_handler(consumer, text, reply_queue)


def _flush_pending(topic):
    """Hand messages that waited for a consumer of ``topic`` (holds _lock)."""
    waiting = _pending.pop(topic, None)
    now = time.monotonic()
    while waiting:
        item = waiting.popleft()
        if item.expires_at is not None and item.expires_at < now:
            continue
        consumers = _consumers[topic]
        _start_handler(consumers[next(_turn) % len(consumers)],
                       item.text, item.reply_queue)


def _encode(body):
    try:
        return common.encode(body)
    except (TypeError, ValueError) as e:
        raise exception.RPCError(reason='message cannot be sent: %s' % e)


def cast(context, topic, msg):
    text = _encode(common.pack_request(context, msg))
    _deliver(topic, text, None, None)


def fanout_cast(context, topic, msg):
    text = _encode(common.pack_request(context, msg))
    with _lock:
        for consumer in list(_fanout_consumers.get(topic, ())):
            _start_handler(consumer, text, None)


def multicall(context, topic, msg, timeout):
    msg_id = common.new_msg_id()
    text = _encode(common.pack_request(context, msg, msg_id=msg_id))
    replies = queue.Queue()
    _deliver(topic, text, replies, time.monotonic() + timeout)
    return common.iter_results(_wait_replies(replies, topic, msg['method'],
                                             timeout))


def _wait_replies(replies, topic, method, timeout):
    # Each reply may take up to ``timeout``; the stream ends at the reply
    # marked ending (iter_results stops pulling then).
    while True:
        try:
            yield replies.get(timeout=timeout)
        except queue.Empty:
            raise exception.RPCTimeout(topic=topic, method=method,
                                       timeout=timeout) from None


# -- test helpers -------------------------------------------------------------

def wait_idle(timeout=10):
    """Wait until no message is being handled; False if still busy."""
    deadline = time.monotonic() + timeout
    with _lock:
        while _busy:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _idle.wait(remaining)
    return True


def cleanup():
    """Close every connection and forget queued messages."""
    with _lock:
        connections = list(_connections)
    for connection in connections:
        connection.close()
    with _lock:
        _consumers.clear()
        _fanout_consumers.clear()
        _pending.clear()


reset = cleanup
