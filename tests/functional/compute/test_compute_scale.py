"""The control plane at scale on the fake driver over the real RabbitMQ.

20 compute hosts (4 processes of 5 services), a scheduler and a network
service; 500 instances created through compute.api must all run within a
bounded wait, with no address given twice, spread as the driver promises:
with SimpleScheduler (the default) the hosts differ by at most one
instance.  ChanceScheduler gets 200 instances, enough that every host gets
some (a host left empty has odds of about 1 in 1,500 runs), to keep CI short.
"""

import collections

import pytest

from nova import context
from nova import flags
from nova.compute import api as compute_api
from tests.functional.compute import fake_cloud
from tests.functional.compute.conftest import make_images

FLAGS = flags.FLAGS

HOSTS = 20
INSTANCES = 500
BATCH = 50
RUN_TIMEOUT = 400


@pytest.mark.slow
@pytest.mark.parametrize('driver,instances', [('chance', 200),
                                              ('simple', INSTANCES)])
def test_instances_on_20_hosts(rabbit, tmp_path, driver, instances):
    scheduler = {'chance': 'nova.scheduler.chance.ChanceScheduler',
                 'simple': 'nova.scheduler.simple.SimpleScheduler'}[driver]
    cloud = fake_cloud.FakeCloud(str(tmp_path), compute_hosts=HOSTS,
                                 hosts_per_process=5,
                                 scheduler_driver=scheduler,
                                 network='10.70.0.0/22',
                                 # 500 boots at once queue up at the one
                                 # network service; its answers may take
                                 # longer than the default minute.
                                 flags_extra={'rpc_response_timeout': 300})
    try:
        cloud.start()
        images = make_images()
        FLAGS.quota_instances = instances
        FLAGS.quota_cores = instances
        api = compute_api.API()
        ctx = context.RequestContext('alice', 'proj1', is_admin=False)
        for _ in range(instances // BATCH):
            made = api.create(ctx, 'm1.tiny', images['raw'],
                              min_count=BATCH, max_count=BATCH)
            assert len(made) == BATCH

        def all_running():
            rows = cloud.instances()
            states = collections.Counter(r['state_description']
                                         for r in rows)
            assert states.get('error', 0) == 0, states
            return len(rows) == instances and \
                states.get('running', 0) == instances
        cloud.wait(all_running, RUN_TIMEOUT, '%d instances to run'
                   % instances, interval=5)

        rows = cloud.instances()
        per_host = collections.Counter(r['host'] for r in rows)
        assert set(per_host) == set(cloud.hosts)
        addresses = [r['fixed_ips'][0]['address'] for r in rows]
        assert len(set(addresses)) == instances
        if driver == 'simple':
            assert max(per_host.values()) - min(per_host.values()) <= 1, \
                per_host
        else:
            assert min(per_host.values()) >= 1, per_host
    finally:
        cloud.stop()
