"""ComputeManager's state machine on the fake driver, with fake RPC.

Each build step is made to fail in turn; whatever the step, nothing is
left allocated: no guest on the driver, no fixed IP bound.
"""

import pytest

from nova import context
from nova import exception
from nova import flags
from nova.compute import api as compute_api
from nova.compute import faults
from nova.compute import power_state
from nova.db import api as db
from tests.unit.compute.conftest import settle

FLAGS = flags.FLAGS


@pytest.fixture
def api(fake_env):
    return compute_api.API()


def _admin():
    return context.get_admin_context()


def _bound_ips():
    return [f for f in db.fixed_ip_get_all(_admin()) if f['instance_id']]


def _boot_on(api, ctx, images, host='h1', image='ami'):
    admin = context.RequestContext(ctx.user_id, ctx.project_id,
                                   is_admin=True)
    inst = api.create(admin, 'm1.tiny', images[image],
                      availability_zone='nova:%s' % host)[0]
    settle()
    return api.get(ctx, inst['id'])


def _assert_cleaned(cloud, inst, step):
    assert inst['state_description'] == 'error'
    assert inst['state'] == power_state.FAILED
    assert inst['fault']['action'] == 'run_instance'
    assert inst['fault']['message'].startswith('%s failed' % step)
    for manager in cloud.computes.values():
        assert inst['name'] not in manager.driver.instances
    assert _bound_ips() == []


def test_success_goes_through_every_step(api, cloud, user_ctx, images):
    inst = _boot_on(api, user_ctx, images)
    assert inst['state_description'] == 'running'
    driver = cloud.computes['h1'].driver
    assert [c[0] for c in driver.calls if c[1] == inst['name']][:2] == \
        ['spawn', 'get_info']
    fake = driver.instances[inst['name']]
    assert fake.network_info[0]['ip'] == inst['fixed_ip']
    assert fake.network_info[0]['bridge'] == 'br100'
    assert fake.network_info[0]['mac'] == inst['mac_address']
    assert fake.network_info[0]['gateway'] == '10.0.0.1'


def test_network_failure(api, cloud, user_ctx, images):
    # Every address is taken: allocation fails before the driver is used.
    admin = _admin()
    network = db.network_get_all(admin)[0]
    for fixed in db.fixed_ip_get_all(admin):
        if not fixed['reserved']:
            db.fixed_ip_update(admin, fixed['address'], {'reserved': True})
    inst = _boot_on(api, user_ctx, images)
    _assert_cleaned(cloud, inst, 'networking')
    assert 'No free fixed IP' in inst['fault']['message']
    assert ('spawn', inst['name']) not in cloud.computes['h1'].driver.calls
    assert network['bridge'] == 'br100'


def test_spawn_failure(api, cloud, user_ctx, images):
    cloud.computes['h1'].driver.fail_next(
        'spawn', exception.NovaException('disk full'))
    inst = _boot_on(api, user_ctx, images)
    _assert_cleaned(cloud, inst, 'spawning')
    assert 'disk full' in inst['fault']['message']
    assert ('destroy', inst['name']) in cloud.computes['h1'].driver.calls


def test_failure_after_spawn_removes_the_guest(api, cloud, user_ctx, images):
    cloud.computes['h1'].driver.fail_next('get_info',
                                          RuntimeError('hypervisor hiccup'))
    inst = _boot_on(api, user_ctx, images)
    _assert_cleaned(cloud, inst, 'launching')
    assert 'RuntimeError: hypervisor hiccup' in inst['fault']['message']


def test_terminate_frees_everything(api, cloud, user_ctx, images):
    inst = _boot_on(api, user_ctx, images)
    assert len(_bound_ips()) == 1
    api.delete(user_ctx, inst['id'])
    settle()
    assert _bound_ips() == []
    assert cloud.computes['h1'].driver.instances == {}
    gone = db.instance_get(_admin().elevated(read_deleted=True), inst['id'])
    assert gone['deleted'] and gone['terminated_at']
    assert gone['state_description'] == 'terminated'


def test_terminate_keeps_the_row_when_the_guest_cannot_go(api, cloud,
                                                         user_ctx, images):
    inst = _boot_on(api, user_ctx, images)
    cloud.computes['h1'].driver.fail_next('destroy')
    api.delete(user_ctx, inst['id'])
    settle()
    got = api.get(user_ctx, inst['id'])
    assert got['state_description'] == 'error'
    assert got['fault']['action'] == 'terminate_instance'
    assert len(_bound_ips()) == 1          # the guest may still use it
    api.delete(user_ctx, inst['id'])       # a retry finishes the job
    settle()
    assert _bound_ips() == []
    with pytest.raises(exception.InstanceNotFound):
        api.get(user_ctx, inst['id'])


def test_failed_action_is_recorded_and_state_refreshed(api, cloud, user_ctx,
                                                       images):
    inst = _boot_on(api, user_ctx, images)
    cloud.computes['h1'].driver.fail_next('pause')
    api.pause(user_ctx, inst['id'])
    settle()
    got = api.get(user_ctx, inst['id'])
    assert got['state_description'] == 'running'
    actions = db.instance_get_actions(user_ctx, inst['id'])
    assert actions[-1]['action'] == 'pause_instance'


def test_periodic_sync_follows_the_hypervisor(api, cloud, user_ctx, images):
    inst = _boot_on(api, user_ctx, images)
    manager = cloud.computes['h1']
    manager.driver.instances[inst['name']].state = power_state.CRASHED
    manager.sync_power_states(_admin())
    assert api.get(user_ctx, inst['id'])['state_description'] == 'crashed'
    del manager.driver.instances[inst['name']]
    manager.sync_power_states(_admin())
    got = api.get(user_ctx, inst['id'])
    assert got['state'] == power_state.SHUTOFF
    assert got['state_description'] == 'shutdown'


def test_init_host_finishes_interrupted_builds(api, cloud, user_ctx, images):
    running = _boot_on(api, user_ctx, images)
    building = _boot_on(api, user_ctx, images)
    admin = _admin()
    db.instance_update(admin, building['id'],
                       {'state_description': 'spawning'})
    manager = cloud.computes['h1']
    manager.driver.instances[running['name']].state = power_state.PAUSED
    manager.init_host()
    assert api.get(user_ctx, running['id'])['state_description'] == 'paused'
    got = api.get(user_ctx, building['id'])
    assert got['state_description'] == 'error'
    assert 'restarted' in got['fault']['message']
    assert building['name'] not in manager.driver.instances
    assert [f['instance_id'] for f in _bound_ips()] == [running['id']]


def test_run_instance_ignores_deleted_and_duplicate_requests(api, cloud,
                                                             user_ctx,
                                                             images):
    inst = _boot_on(api, user_ctx, images)
    manager = cloud.computes['h1']
    # A duplicate message for a built instance builds nothing more.
    manager.run_instance(_admin(), inst['id'])
    assert len(manager.driver.instances) == 1
    assert api.get(user_ctx, inst['id'])['state_description'] == 'running'
    # A message for a deleted instance does nothing.
    manager.run_instance(_admin(), 424242)
    assert len(manager.driver.instances) == 1


def test_console_output_of_a_missing_guest_is_an_error(api, cloud, user_ctx,
                                                       images):
    inst = _boot_on(api, user_ctx, images)
    del cloud.computes['h1'].driver.instances[inst['name']]
    with pytest.raises(exception.InstanceNotFound):
        api.get_console_output(user_ctx, inst['id'])


def test_faults_module_tolerates_missing_instances(fake_env):
    faults.set_error(_admin(), 99999, 'run_instance', 'nothing there')
    assert faults.last_fault(_admin(), 99999) is None


def test_host_stats_come_from_the_driver(cloud):
    stats = cloud.computes['h2'].get_host_stats(_admin(), refresh=True)
    assert stats['hypervisor_type'] == 'fake'
    assert stats['hypervisor_hostname'] == 'h2'
