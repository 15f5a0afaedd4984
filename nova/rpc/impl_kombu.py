"""RPC over AMQP 0-9-1 with kombu (``rpc_backend=kombu``).

Broker layout (exchange ``control_exchange``, "nova" by default):

* ``<topic>`` and ``<topic>.<host>``: one queue each, bound to the topic
  exchange with the topic as routing key and shared by every server of the
  topic (the broker hands each message to one of them).  The queues are
  durable and casts persistent (flag ``rabbit_durable_queues``), so work
  queued for a service survives a broker restart; the original used
  transient queues and lost it.  A cast declares its queue before
  publishing, so a cast to a service that is not running yet waits for it.
* ``<topic>_fanout``: a fanout exchange; every server has its own
  exclusive, auto-deleted queue on it.  Fanout is best effort: a server
  that is disconnected at that moment misses the message.
* replies: the caller declares an exclusive queue named by the 32-hex
  ``_msg_id`` and the server publishes to it through the default exchange.
  A call message carries a TTL equal to its timeout, so a call nobody
  picked up in time is dropped instead of being run after the caller gave
  up.

Delivery guarantees:

* Publishing uses publisher confirms and kombu's ``ensure`` retry: a send
  that fails (broker down, connection lost, confirm missing) is retried on
  a new connection with a back-off growing by 2 s up to
  ``rabbit_retry_interval``, forever or ``rabbit_max_retries`` times.  A
  cast therefore returns only once the broker has the message.
* A server acknowledges a message only after its handler has returned and
  the reply was sent.  A message in flight when the connection drops is
  redelivered by the broker (at-least-once).  Each message carries a
  ``_unique_id``; a server remembers the ids it has run (or is running) and
  acknowledges a redelivered copy without running it again.
* Consumers reconnect with the same back-off, redeclare their queues and go
  on; a caller waiting for a reply reconnects and redeclares its reply
  queue (a reply published while that queue was gone is lost and the call
  times out).

Threads: a consuming connection is driven by one thread (a green thread
under eventlet's monkey patching); handlers run in threads of their own,
at most ``rpc_thread_pool_size`` at a time (also the AMQP prefetch), and
send replies over pooled publisher connections, since a kombu connection
must only ever be used by one thread at a time.  Acknowledgements are sent
by the consuming thread, which polls for finished handlers every 50 ms
while any are running.
"""

import collections
import functools
import itertools
import os
import socket
import threading
import time
import urllib.parse

import kombu
import kombu.common
import kombu.exceptions

from nova import exception
from nova import flags
from nova import log as logging
from nova.rpc import common

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

_POLL_BUSY = 0.05      # drain timeout while handlers run (acks wait on it)
_POLL_IDLE = 1.0       # drain timeout otherwise (stop flag, heartbeats)
_STOP_GRACE = 10.0     # seconds close() lets running handlers finish
_SEEN_IDS = 2000       # remembered _unique_ids per consuming connection
_POOL_IDLE_MAX = 8     # idle publisher connections kept per process
_REPLY_RETRIES = 3     # a reply whose caller is gone is not worth more


# -- connections --------------------------------------------------------------

def connection_params():
    """Keyword arguments for ``kombu.Connection`` from the flags.

    ``transport_url`` (``amqp://user:pass@host:port/vhost``; ``rabbit://``
    is accepted as a synonym) overrides the ``rabbit_*`` flags.
    """
    # kombu's lazy reconnects (default_channel) read the retry policy from
    # the transport options; without it they give up after connect_timeout.
    transport_options = dict(retry_policy(), confirm_publish=True,
                             connect_retries_timeout=None)
    params = {'connect_timeout': FLAGS.rabbit_connect_timeout,
              'heartbeat': FLAGS.rabbit_heartbeat,
              'transport_options': transport_options}
    url = FLAGS.transport_url
    if url:
        scheme, sep, rest = url.partition('://')
        if not sep or scheme not in ('amqp', 'rabbit', 'pyamqp'):
            raise exception.RPCError(reason='transport_url must look like '
                                     'amqp://user:pass@host:port/vhost, '
                                     'got %r' % _redact(url))
        params['hostname'] = 'pyamqp://' + rest
    else:
        params.update(hostname=FLAGS.rabbit_host, port=FLAGS.rabbit_port,
                      userid=FLAGS.rabbit_userid,
                      password=FLAGS.rabbit_password,
                      virtual_host=FLAGS.rabbit_virtual_host,
                      transport='pyamqp')
    return params


def _redact(url):
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(':%s@' % parts.password, ':***@')
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


def retry_policy():
    """kombu ``ensure`` options from the flags.

    The pause grows by 2 s per failed attempt, from 1 s up to
    ``rabbit_retry_interval``; ``rabbit_max_retries`` = 0 retries forever.
    """
    cap = max(float(FLAGS.rabbit_retry_interval), 0.1)
    max_retries = FLAGS.rabbit_max_retries or None
    return {'max_retries': max_retries,
            'interval_start': min(1.0, cap),
            'interval_step': 2.0,
            'interval_max': cap}


def _new_connection():
    return kombu.Connection(**connection_params())


def _describe(kconn):
    try:
        return kconn.as_uri()      # kombu masks the password
    except Exception:  # noqa: BLE001 - only for log lines
        return 'the AMQP broker'


def _log_retry(kconn, what):
    def errback(exc, interval):
        if interval:
            LOG.warning('%s: %s unreachable (%s); retrying in %.1fs',
                        what, _describe(kconn), exc, interval)
    return errback


class _NoRevive:
    """For ``Connection.ensure``: our retried functions open their own channel."""

    def revive(self, channel):
        pass


def _ensured(kconn, fun, what, **overrides):
    policy = retry_policy()
    policy.update(overrides)
    return kconn.ensure(_NoRevive(), fun, errback=_log_retry(kconn, what),
                        **policy)


def _broker_error(what, exc):
    return exception.RPCError(reason='%s failed: %s' % (what, exc))


def _recoverable(kconn):
    return (tuple(kconn.recoverable_connection_errors)
            + tuple(kconn.recoverable_channel_errors)
            + (kombu.exceptions.OperationalError, OSError))


class _PublisherPool:
    """Idle publishing connections, reused across sends and threads.

    Keyed by the connection parameters, so a test that changes the broker
    flags gets fresh connections; emptied after a fork.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._idle = []
        self._key = None
        self._pid = os.getpid()

    def get(self):
        key = repr(sorted(connection_params().items()))
        stale = []
        with self._lock:
            if key != self._key or os.getpid() != self._pid:
                stale, self._idle = self._idle, []
                self._key, self._pid = key, os.getpid()
            kconn = self._idle.pop() if self._idle else None
        for old in stale:
            _quiet_release(old)
        return kconn or _new_connection(), key

    def put(self, kconn, key):
        with self._lock:
            if key == self._key and len(self._idle) < _POOL_IDLE_MAX:
                self._idle.append(kconn)
                return
        _quiet_release(kconn)

    def close_all(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for kconn in idle:
            _quiet_release(kconn)


_POOL = _PublisherPool()


def _quiet_release(kconn):
    try:
        kconn.release()
    except Exception:  # noqa: BLE001 - closing a broken connection
        LOG.debug('error closing an AMQP connection', exc_info=True)


class _Pooled:
    """``with _Pooled() as kconn``: back to the pool unless something failed."""

    def __enter__(self):
        self.kconn, self._key = _POOL.get()
        return self.kconn

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            _POOL.put(self.kconn, self._key)
        else:
            _quiet_release(self.kconn)


# -- broker entities ----------------------------------------------------------

def topic_exchange():
    durable = FLAGS.rabbit_durable_queues
    return kombu.Exchange(FLAGS.control_exchange, type='topic',
                          durable=durable, auto_delete=False)


def topic_queue(topic):
    durable = FLAGS.rabbit_durable_queues
    return kombu.Queue(topic, exchange=topic_exchange(), routing_key=topic,
                       durable=durable, auto_delete=False)


def fanout_exchange(topic):
    return kombu.Exchange('%s_fanout' % topic, type='fanout', durable=False,
                          auto_delete=False)


def fanout_queue(topic, unique):
    return kombu.Queue('%s_fanout_%s' % (topic, unique),
                       exchange=fanout_exchange(topic), routing_key=topic,
                       durable=False, auto_delete=True, exclusive=True)


def reply_queue(msg_id):
    # The default exchange ('') routes by queue name; kombu skips declaring
    # and binding it.
    return kombu.Queue(msg_id, exchange=kombu.Exchange(''), routing_key=msg_id,
                       durable=False, auto_delete=True, exclusive=True)


# -- sending ------------------------------------------------------------------

def _publish(kconn, body, exchange, routing_key, declare=(), persistent=False,
             expiration=None, what='publish', **policy_overrides):
    """Publish with confirms, retrying on new connections as the flags say."""
    policy = dict(retry_policy(), **policy_overrides)

    def attempt():
        kconn.ensure_connection(errback=_log_retry(kconn, what), **policy)
        channel = kconn.default_channel
        for entity in declare:
            kombu.common.maybe_declare(entity, channel)
        producer = kombu.Producer(channel, serializer='json',
                                  auto_declare=False)
        producer.publish(body, exchange=exchange, routing_key=routing_key,
                         delivery_mode=2 if persistent else 1,
                         expiration=expiration)
    try:
        _ensured(kconn, attempt, what, **policy_overrides)()
    except _recoverable(kconn) + tuple(kconn.channel_errors) as e:
        raise _broker_error(what, e) from None


def cast(context, topic, msg):
    body = common.pack_request(context, msg)
    with _Pooled() as kconn:
        _publish(kconn, body, topic_exchange(), topic,
                 declare=[topic_queue(topic)],
                 persistent=FLAGS.rabbit_durable_queues,
                 what='cast %s to %s' % (body['method'], topic))


def fanout_cast(context, topic, msg):
    body = common.pack_request(context, msg)
    with _Pooled() as kconn:
        exchange = fanout_exchange(topic)
        _publish(kconn, body, exchange, topic, declare=[exchange],
                 what='fanout_cast %s to %s' % (body['method'], topic))


def _send_reply(msg_id, reply):
    """Publish one reply; a caller that is gone just never reads it."""
    try:
        with _Pooled() as kconn:
            _publish(kconn, reply, kombu.Exchange(''), msg_id,
                     what='reply to %s' % msg_id,
                     max_retries=_REPLY_RETRIES)
    except exception.RPCError as e:
        LOG.error('Could not send the reply to call %s: %s', msg_id, e)


def multicall(context, topic, msg, timeout):
    msg_id = common.new_msg_id()
    body = common.pack_request(context, msg, msg_id=msg_id)
    waiter = _ReplyWaiter(msg_id, topic, body['method'], timeout)
    waiter.send(body)
    return common.iter_results(waiter)


class _ReplyWaiter:
    """The caller's end of one call: its reply queue and the replies.

    Iterating yields reply dicts; each must arrive within ``timeout``.  The
    pooled connection is held until the stream ends (or the iterator is
    closed or collected) and only goes back to the pool if it is healthy.
    """

    def __init__(self, msg_id, topic, method, timeout):
        self.msg_id = msg_id
        self.topic = topic
        self.method = method
        self.timeout = timeout
        self.replies = collections.deque()
        self.kconn, self._pool_key = _POOL.get()
        self._channel = None
        self._consumer = None
        self._healthy = True
        self._done = False

    def _what(self):
        return 'call %s on %s' % (self.method, self.topic)

    def _listen(self):
        """(Re)declare the reply queue on a fresh channel and consume it."""
        self._channel = self.kconn.channel()
        self._consumer = kombu.Consumer(
            self._channel, queues=[reply_queue(self.msg_id)],
            callbacks=[self._on_reply], accept=['json'], no_ack=True,
            on_decode_error=self._on_bad_reply)
        self._consumer.consume()

    def _on_reply(self, body, _message):
        self.replies.append(body)

    def _on_bad_reply(self, message, exc):
        LOG.error('Undecodable reply to %s dropped: %s', self._what(), exc)

    def send(self, body):
        """Declare the reply queue and publish the request.

        Retried on new connections like any publish, but only until the
        call's timeout: kombu's ``ensure`` has no overall deadline, and a
        caller must not hang on a broker that stays away.
        """
        deadline = time.monotonic() + self.timeout
        policy = retry_policy()
        try:
            for attempt in itertools.count(1):
                try:
                    self._send_once(body, deadline, policy)
                    return
                except _recoverable(self.kconn) as e:
                    if time.monotonic() >= deadline:
                        raise exception.RPCTimeout(
                            topic=self.topic, method=self.method,
                            timeout=self.timeout) from None
                    if policy['max_retries'] and \
                            attempt > policy['max_retries']:
                        raise _broker_error(self._what(), e) from None
                    LOG.warning('%s: sending failed (%s); retrying',
                                self._what(), e)
                    self._channel = self._consumer = None
                    self.kconn.collect()
                    time.sleep(min(policy['interval_start'],
                                   max(deadline - time.monotonic(), 0)))
        except self.kconn.channel_errors as e:
            self._healthy = False
            self.close()
            raise _broker_error(self._what(), e) from None
        except BaseException:
            self._healthy = False
            self.close()
            raise

    def _send_once(self, body, deadline, policy):
        self.kconn.ensure_connection(
            errback=_log_retry(self.kconn, self._what()),
            timeout=max(deadline - time.monotonic(), 0.1), **policy)
        self._listen()
        producer = kombu.Producer(self._channel, serializer='json',
                                  auto_declare=False)
        exchange = topic_exchange()
        kombu.common.maybe_declare(exchange, self._channel)
        producer.publish(body, exchange=exchange, routing_key=self.topic,
                         delivery_mode=1, expiration=self.timeout)

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        try:
            return self._next_reply()
        except BaseException:
            self._healthy = False
            self.close()
            raise

    def _next_reply(self):
        deadline = time.monotonic() + self.timeout
        # Bounded by the deadline: every pass drains for at most a second.
        while not self.replies:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise exception.RPCTimeout(topic=self.topic,
                                           method=self.method,
                                           timeout=self.timeout)
            try:
                self.kconn.drain_events(timeout=min(remaining, _POLL_IDLE))
            except socket.timeout:
                self.kconn.heartbeat_check()
            except _recoverable(self.kconn) as e:
                self._reconnect(e, deadline)
        reply = self.replies.popleft()
        if not isinstance(reply, dict) or reply.get('ending', True):
            self._finish()
        return reply

    def _reconnect(self, error, deadline):
        LOG.warning('%s lost the broker while waiting (%s); reconnecting',
                    self._what(), error)
        self._channel = self._consumer = None
        self.kconn.collect()
        remaining = max(deadline - time.monotonic(), 0.1)
        try:
            self.kconn.ensure_connection(
                errback=_log_retry(self.kconn, self._what()),
                timeout=remaining, **retry_policy())
            self._listen()
        except _recoverable(self.kconn) as e:
            if time.monotonic() >= deadline:
                raise exception.RPCTimeout(topic=self.topic,
                                           method=self.method,
                                           timeout=self.timeout) from None
            raise _broker_error(self._what(), e) from None

    def _finish(self):
        """The stream ended: cancel the reply queue, give the connection back."""
        self._done = True
        try:
            if self._consumer is not None:
                self._consumer.cancel()
            if self._channel is not None:
                self._channel.close()
        except Exception:  # noqa: BLE001 - then the connection is suspect
            self._healthy = False
        self._consumer = self._channel = None
        if self._healthy:
            _POOL.put(self.kconn, self._pool_key)
        else:
            _quiet_release(self.kconn)
        self.kconn = None

    def close(self):
        if not self._done and self.kconn is not None:
            self._healthy = False      # replies may still be on the socket
            self._finish()
        self._done = True

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


# -- serving ------------------------------------------------------------------

class Connection:
    """The consuming side: queues, one consuming thread, handler threads."""

    def __init__(self):
        self.kconn = _new_connection()
        self._specs = []              # (kombu.Queue, proxy, topic)
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()
        self._generation = 0          # bumps on every (re)connection
        self._to_ack = collections.deque()
        self._running = {}            # unique id -> [(generation, message)]
        self._ran = collections.OrderedDict()   # unique ids already handled
        self._slots = threading.BoundedSemaphore(FLAGS.rpc_thread_pool_size)
        self._active = 0
        self._pause = 0.0             # extra wait after repeated failures

    def create_consumer(self, topic, proxy, fanout=False):
        """Declare the queue now (so messages wait for us) and remember it."""
        if self._thread is not None:
            raise exception.RPCError(reason='create consumers before '
                                     'consume_in_thread')
        if fanout:
            queue = fanout_queue(topic, common.new_msg_id())
        else:
            queue = topic_queue(topic)
        what = 'declare queue %s' % queue.name

        def declare():
            queue(self.kconn.default_channel).declare()
        try:
            _ensured(self.kconn, declare, what)()
        except _recoverable(self.kconn) + tuple(self.kconn.channel_errors) \
                as e:
            raise _broker_error(what, e) from None
        self._specs.append((queue, proxy, topic))

    def consume_in_thread(self):
        """Start consuming in a (green) thread; returns the thread."""
        if self._thread is not None:
            return self._thread
        if not self._specs:
            raise exception.RPCError(reason='no consumers to run')
        self._thread = threading.Thread(
            target=self._consume_forever, daemon=True,
            name='rpc-%s' % ','.join(spec[2] for spec in self._specs))
        self._thread.start()
        return self._thread

    def close(self):
        """Stop consuming, let running handlers finish (bounded), disconnect."""
        self._stop.set()
        if self._thread is not None and \
                self._thread is not threading.current_thread():
            self._thread.join(_STOP_GRACE + 2 * _POLL_IDLE)
            if self._thread.is_alive():
                LOG.warning('RPC consumer thread did not stop in time')
                return
        _quiet_release(self.kconn)

    # The consuming thread ----------------------------------------------------

    def _consume_forever(self):
        while not self._stop.is_set():
            try:
                self._consume_until_stopped()
            except kombu.exceptions.OperationalError as e:
                if FLAGS.rabbit_max_retries:
                    LOG.critical('RPC consumer for %s gives up after %d '
                                 'attempts: %s', self._topics(),
                                 FLAGS.rabbit_max_retries, e)
                    return
                LOG.error('RPC consumer for %s: %s', self._topics(), e)
            except _recoverable(self.kconn) as e:
                LOG.error('RPC consumer for %s lost the broker (%s); '
                          'reconnecting', self._topics(), e)
            except Exception:  # noqa: BLE001 - keep serving
                LOG.exception('RPC consumer for %s failed; restarting',
                              self._topics())
            self._generation += 1
            self.kconn.collect()
            # A failure that is not a refused connection (which kombu
            # already paces) must not spin: wait a little, growing.
            self._pause = min(self._pause + 1.0,
                              float(FLAGS.rabbit_retry_interval))
            self._stop.wait(self._pause)
        self._finish_running()
        _quiet_release(self.kconn)

    def _topics(self):
        return ', '.join(spec[2] for spec in self._specs)

    def _consume_until_stopped(self):
        self.kconn.ensure_connection(
            errback=_log_retry(self.kconn, 'RPC consumer for %s'
                               % self._topics()), **retry_policy())
        channel = self.kconn.channel()
        channel.basic_qos(0, FLAGS.rpc_thread_pool_size, False)
        for queue, proxy, topic in self._specs:
            consumer = kombu.Consumer(
                channel, queues=[queue], accept=['json'], no_ack=False,
                callbacks=[functools.partial(self._on_message, proxy, topic)],
                on_decode_error=self._on_bad_message)
            consumer.consume()      # declares the queue again if it is gone
        self._pause = 0.0
        if self._generation:
            LOG.info('RPC consumer for %s reconnected to %s', self._topics(),
                     _describe(self.kconn))
        while not self._stop.is_set():
            self._send_acks()
            try:
                self.kconn.drain_events(
                    timeout=_POLL_BUSY if self._active else _POLL_IDLE)
            except socket.timeout:
                self.kconn.heartbeat_check()
        self._finish_running()

    def _finish_running(self):
        """On stop: wait (bounded) for handlers, then acknowledge them."""
        deadline = time.monotonic() + _STOP_GRACE
        while self._active and time.monotonic() < deadline:
            time.sleep(_POLL_BUSY)
        try:
            self._send_acks()
        except _recoverable(self.kconn):
            pass    # unacknowledged messages go back to the queue

    def _send_acks(self):
        while self._to_ack:
            generation, message = self._to_ack.popleft()
            if generation != self._generation:
                continue    # old channel: the broker already requeued it
            message.ack()

    def _on_bad_message(self, message, exc):
        LOG.error('Dropping a message that is not JSON on %s: %s',
                  self._topics(), exc)
        message.ack()

    def _on_message(self, proxy, topic, body, message):
        entry = (self._generation, message)
        unique_id = body.get('_unique_id') if isinstance(body, dict) else None
        key = unique_id if isinstance(unique_id, str) else object()
        with self._lock:
            if key in self._ran:
                LOG.info('Dropping a redelivered message %s on %s that was '
                         'already handled', key, topic)
                self._to_ack.append(entry)
                return
            if key in self._running:
                self._running[key].append(entry)
                return
            self._running[key] = [entry]
            self._active += 1
        # The prefetch keeps this from blocking in practice.
        self._slots.acquire()
        threading.Thread(target=self._handle,
                         args=(proxy, topic, body, key), daemon=True,
                         name='rpc-handler-%s' % topic).start()

    def _handle(self, proxy, topic, body, key):
        try:
            common.handle_message(proxy, body, _send_reply, topic=topic)
        finally:
            with self._lock:
                entries = self._running.pop(key, [])
                if isinstance(key, str):
                    self._ran[key] = True
                    while len(self._ran) > _SEEN_IDS:
                        self._ran.popitem(last=False)
                self._to_ack.extend(entries)
                self._active -= 1
            self._slots.release()


def create_connection():
    return Connection()


def cleanup():
    _POOL.close_all()
