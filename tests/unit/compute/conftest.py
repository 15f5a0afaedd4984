"""A small in-process cloud for compute tests.

SQLite database, the fake RPC backend, a LocalImageService in a temp dir,
and ``cloud``: a network service (FlatManager), a scheduler and compute
services on the fake driver, each a real nova.service.Service consuming the
fake broker.  ``settle()`` waits until every message has been handled.
"""

import pytest

from nova import context
from nova import flags
from nova import service
from nova.image import local
from nova.network import manager as network_manager
from nova.rpc import impl_fake
from nova.scheduler import simple  # noqa: F401 - defines the scheduler flags
from nova.scheduler import manager as scheduler_manager  # noqa: F401
from nova.virt import connection  # noqa: F401 - defines connection_type
from nova.virt import fake  # noqa: F401 - defines the fake driver's flags
from tests.unit.db.conftest import _template_db, sqlite_db  # noqa: F401

FLAGS = flags.FLAGS


def settle(timeout=30):
    assert impl_fake.wait_idle(timeout), 'RPC handlers still busy'


@pytest.fixture
def fake_env(sqlite_db, tmp_path):  # noqa: F811
    FLAGS.rpc_backend = 'fake'
    FLAGS.connection_type = 'fake'
    FLAGS.image_service = 'nova.image.local.LocalImageService'
    FLAGS.local_image_path = str(tmp_path / 'images')
    FLAGS.network_manager = 'nova.network.manager.FlatManager'
    FLAGS.scheduler_driver = 'nova.scheduler.simple.SimpleScheduler'
    yield
    impl_fake.wait_idle(10)


@pytest.fixture
def admin_ctx(fake_env):
    return context.get_admin_context()


@pytest.fixture
def user_ctx(fake_env):
    return context.RequestContext('alice', 'proj1', is_admin=False)


@pytest.fixture
def images(fake_env):
    """ids of: kernel, ramdisk, ami, raw disk, queued image, public to all."""
    svc = local.LocalImageService()
    ctxt = context.get_admin_context()

    def make(name, disk_format, container_format, props=None, data=b'x'):
        meta = {'name': name, 'disk_format': disk_format,
                'container_format': container_format, 'is_public': True,
                'properties': props or {}}
        return str(svc.create(ctxt, meta,
                              data=iter([data]) if data else None)['id'])

    ids = {}
    ids['kernel'] = make('kernel', 'aki', 'aki')
    ids['ramdisk'] = make('ramdisk', 'ari', 'ari')
    ids['ami'] = make('ami', 'ami', 'ami', {'kernel_id': ids['kernel'],
                                            'ramdisk_id': ids['ramdisk']})
    ids['ami_no_kernel'] = make('bare-ami', 'ami', 'ami')
    ids['raw'] = make('disk', 'raw', 'bare')
    ids['qcow2'] = make('disk2', 'qcow2', 'bare')
    ids['queued'] = make('queued', 'raw', 'bare', data=None)
    ids['iso'] = make('iso', 'iso', 'bare')
    return ids


class Cloud:
    def __init__(self):
        self.services = []
        self.computes = {}

    def start(self, host, binary, topic, manager_class):
        svc = service.Service(host, binary, topic, manager_class,
                              report_interval=0, periodic_interval=0)
        svc.start()
        self.services.append(svc)
        return svc

    def add_compute(self, host):
        svc = self.start(host, 'nova-compute', 'compute',
                         'nova.compute.manager.ComputeManager')
        self.computes[host] = svc.manager
        return svc.manager

    def stop(self):
        for svc in self.services:
            svc.stop()


@pytest.fixture
def cloud(fake_env, images):
    """network + scheduler + compute hosts h1, h2 and a /24 flat network."""
    network_manager.FlatManager().create_networks(
        context.get_admin_context(), '10.0.0.0/24', 1, 256)
    c = Cloud()
    c.network = c.start('net1', 'nova-network', 'network',
                        'nova.network.manager.FlatManager').manager
    c.scheduler = c.start('sched1', 'nova-scheduler', 'scheduler',
                          'nova.scheduler.manager.SchedulerManager').manager
    c.add_compute('h1')
    c.add_compute('h2')
    yield c
    settle()
    c.stop()
