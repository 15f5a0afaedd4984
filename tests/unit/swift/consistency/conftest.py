"""In-process storage nodes for the consistency daemons' unit tests.

`nodes` gives a `StorageNodes`: N nodes on loopback, node i with device
``sd<i>`` under ``<tmp>/node<i>/``, and for each kind asked for
(account/container/object) one real server app per node served by
eventlet.wsgi on a free port, plus that kind's ring in ``<tmp>``.  Daemons
run in the test's own greenthread, so while they wait on a socket or on
rsync the servers answer.  Replicators get ``rsync_target`` pointed at the
peer's device directory, so real rsync copies locally without a daemon.
"""

import os

import eventlet
import eventlet.wsgi
import pytest

from swift.account.server import AccountController
from swift.common.ring import Ring, RingBuilder
from swift.container.server import ContainerController
from swift.obj.server import ObjectController

APPS = {'account': AccountController, 'container': ContainerController,
        'object': ObjectController}


class StorageNodes:

    def __init__(self, root, count=4):
        self.root = str(root)
        self.count = count
        self.servers = {}   # kind -> [(port, sock, thread)]
        for index in range(1, count + 1):
            os.makedirs(self.device_path(index))

    def devices(self, index):
        return os.path.join(self.root, 'node%d' % index)

    def device(self, index):
        return 'sd%d' % index

    def device_path(self, index):
        return os.path.join(self.devices(index), self.device(index))

    def conf(self, index, kind='object', **extra):
        conf = {'devices': self.devices(index), 'mount_check': 'false',
                'swift_dir': self.root, 'log_requests': 'false',
                'bind_port': str(self.port(kind, index))}
        conf.update({k: str(v) for k, v in extra.items()})
        return conf

    def port(self, kind, index):
        return self.servers[kind][index - 1][0]

    def serve(self, kind, replicas=3, part_power=2):
        """Start one ``kind`` server per node and write its ring."""
        entries = []
        builder = RingBuilder(part_power, replicas, 1)
        for index in range(1, self.count + 1):
            app = APPS[kind](self.conf_for_app(index))
            sock = eventlet.listen(('127.0.0.1', 0))
            thread = eventlet.spawn(eventlet.wsgi.server, sock, app,
                                    log_output=False)
            port = sock.getsockname()[1]
            entries.append((port, sock, thread))
            builder.add_dev({'zone': index, 'weight': 1, 'ip': '127.0.0.1',
                             'port': port, 'device': self.device(index)})
        self.servers[kind] = entries
        builder.rebalance(seed=1)
        builder.get_ring().save(os.path.join(self.root, '%s.ring.gz' % kind))
        return self.ring(kind)

    def conf_for_app(self, index):
        return {'devices': self.devices(index), 'mount_check': 'false',
                'swift_dir': self.root, 'log_requests': 'false'}

    def ring(self, kind):
        return Ring(self.root, kind)

    def index_of(self, node):
        """Node index of a ring device dict."""
        return int(node['device'][2:])

    def stop(self):
        for entries in self.servers.values():
            for _port, sock, thread in entries:
                thread.kill()
                sock.close()
        self.servers = {}


@pytest.fixture
def nodes(tmp_path):
    cluster = StorageNodes(tmp_path)
    yield cluster
    cluster.stop()


def point_rsync_at_local_devices(daemon, nodes):
    """Make a replicator rsync into the other node's device dir directly."""
    daemon.rsync_target = lambda node: nodes.device_path(
        nodes.index_of(node))
    return daemon
