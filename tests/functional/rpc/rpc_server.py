"""A small RPC server process for the functional tests.

    rpc_server.py STATE_DIR TOPIC HOST [--eventlet] [--nova_flag=value ...]

Serves ``TestManager`` on TOPIC, TOPIC.HOST and the TOPIC fanout, the way
nova.service.Service does, writes STATE_DIR/ready once its queues exist and
exits on SIGTERM/SIGINT, or by itself after --lifetime seconds (so a test
run that dies cannot leave it behind for long).
"""

import os
import sys

if '--eventlet' in sys.argv:
    import eventlet
    eventlet.monkey_patch()

import json  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from nova import exception  # noqa: E402
from nova import flags  # noqa: E402
from nova import log as logging  # noqa: E402
from nova import rpc  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer('lifetime', 300, 'seconds before the server exits')


class TestManager:
    """Methods the functional tests call over RPC."""

    def __init__(self, state_dir, host):
        self.state_dir = state_dir
        self.host = host

    def echo(self, context, value):
        return value

    def whoami(self, context):
        return {'host': self.host, 'user_id': context.user_id,
                'project_id': context.project_id,
                'request_id': context.request_id,
                'is_admin': context.is_admin}

    def record(self, context, value):
        """The observable effect of a cast: one JSON line per call."""
        path = os.path.join(self.state_dir, 'records.jsonl')
        with open(path, 'a', encoding='utf-8') as f:
            f.write(json.dumps({'value': value,
                                'user_id': context.user_id}) + '\n')

    def slow_record(self, context, value, seconds):
        """Mark the start, work a while, then record (a killable handler)."""
        with open(os.path.join(self.state_dir, 'started'), 'a') as f:
            f.write(value + '\n')
        time.sleep(seconds)
        self.record(context, value)

    def records(self, context):
        path = os.path.join(self.state_dir, 'records.jsonl')
        if not os.path.exists(path):
            return []
        with open(path, encoding='utf-8') as f:
            return [json.loads(line)['value'] for line in f if line.strip()]

    def stream(self, context, count):
        for i in range(count):
            yield {'index': i, 'host': self.host}

    def fail_not_found(self, context, instance_id):
        raise exception.InstanceNotFound(instance_id=instance_id)

    def fail_value_error(self, context, text):
        raise ValueError(text)

    def relay(self, context, topic, msg):
        """Call another server from inside a handler (a nested call)."""
        return rpc.call(context, topic, msg, timeout=10)


def main(argv):
    rest = flags.parse(argv)
    state_dir, topic, host = rest[1:4]
    logging.setup('rpc-test-server')
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))

    manager = TestManager(state_dir, host)
    conn = rpc.create_connection()
    conn.create_consumer(topic, manager)
    conn.create_consumer('%s.%s' % (topic, host), manager)
    conn.create_consumer(topic, manager, fanout=True)
    conn.consume_in_thread()
    with open(os.path.join(state_dir, 'ready'), 'w') as f:
        f.write(str(os.getpid()))

    deadline = time.monotonic() + FLAGS.lifetime
    while not stopping and time.monotonic() < deadline:
        time.sleep(0.2)
    conn.close()
    rpc.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main([a for a in sys.argv if a != '--eventlet']))
