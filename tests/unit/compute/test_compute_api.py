"""nova.compute.api: validation, rows written, and the instance lifecycle.

Runs the whole control plane in-process: the API writes rows and casts;
the scheduler, network and compute services (fake driver) answer over the
fake RPC backend.
"""

import base64

import pytest

from nova import context
from nova import exception
from nova import flags
from nova import quota
from nova.compute import api as compute_api
from nova.compute import power_state
from nova.db import api as db
from nova.image import local
from tests.unit.compute.conftest import settle

FLAGS = flags.FLAGS


@pytest.fixture
def api(fake_env):
    return compute_api.API()


def _all_instances():
    return db.instance_get_all(context.get_admin_context(read_deleted=True))


def _groups(project='proj1'):
    return db.security_group_get_by_project(context.get_admin_context(),
                                            project)


def _boot(api, ctx, images, **kw):
    kw.setdefault('instance_type', 'm1.tiny')
    kw.setdefault('image_id', images['ami'])
    return api.create(ctx, **kw)


# -- successful creation -------------------------------------------------------

def test_create_writes_rows_and_reaches_running(api, cloud, user_ctx, images):
    made = _boot(api, user_ctx, images, min_count=2, max_count=2,
                 display_name='Web Server', metadata={'role': 'web'})
    assert len(made) == 2
    assert made[0]['reservation_id'].startswith('r-')
    assert made[0]['reservation_id'] == made[1]['reservation_id']
    assert [m['launch_index'] for m in made] == [0, 1]
    assert made[0]['state_description'] == 'scheduling'
    assert made[0]['kernel_id'] and made[0]['ramdisk_id']
    assert made[0]['mac_address'].startswith('02:16:3e:')
    assert made[0]['mac_address'] != made[1]['mac_address']
    assert made[0]['hostname'] == 'web-server'
    assert made[0]['metadata'] == {'role': 'web'}
    assert made[0]['security_groups'] == ['default']
    assert made[0]['instance_type'] == 'm1.tiny'
    settle()
    for m in made:
        inst = api.get(user_ctx, m['id'])
        assert inst['state'] == power_state.RUNNING
        assert inst['state_description'] == 'running'
        assert inst['host'] in ('h1', 'h2')
        assert inst['launched_at'] is not None
        assert inst['fixed_ip'].startswith('10.0.0.')
        assert inst['fault'] is None
    # Least loaded: the two instances went to different hosts.
    assert {api.get(user_ctx, m['id'])['host'] for m in made} == {'h1', 'h2'}
    listed = api.get_all(user_ctx, reservation_id=made[0]['reservation_id'])
    assert sorted(i['id'] for i in listed) == sorted(m['id'] for m in made)
    by_ip = api.get_all(user_ctx, fixed_ip=listed[0]['fixed_ip'])
    assert [i['id'] for i in by_ip] == [listed[0]['id']]


def test_max_count_is_cut_to_the_quota(api, fake_env, user_ctx, images):
    FLAGS.quota_instances = 3
    made = _boot(api, user_ctx, images, min_count=1, max_count=10)
    assert len(made) == 3


def test_whole_disk_images_boot_without_kernel(api, cloud, user_ctx, images):
    raw = _boot(api, user_ctx, images, image_id=images['raw'],
                kernel_id=images['kernel'])[0]
    assert raw['kernel_id'] == '' and raw['ramdisk_id'] == ''
    nokernel = _boot(api, user_ctx, images, image_id=images['ami_no_kernel'],
                     kernel_id='nokernel')[0]
    assert nokernel['kernel_id'] == ''
    settle()
    assert api.get(user_ctx, raw['id'])['state'] == power_state.RUNNING
    assert api.get(user_ctx, nokernel['id'])['state'] == power_state.RUNNING


def test_key_pair_and_user_data_are_stored(api, fake_env, user_ctx, images):
    db.key_pair_create(user_ctx, {'user_id': 'alice', 'name': 'k1',
                                  'public_key': 'ssh-rsa AAAA alice',
                                  'fingerprint': 'f'})
    data = base64.b64encode(b'#!/bin/sh\necho hi\n').decode()
    inst = _boot(api, user_ctx, images, key_name='k1', user_data=data)[0]
    assert inst['key_data'] == 'ssh-rsa AAAA alice'
    assert inst['user_data'] == data


# -- rejections leave nothing behind -------------------------------------------

def _big_user_data():
    return base64.b64encode(b'x' * (16 * 1024 + 1)).decode()


REJECTIONS = [
    ('unknown type', dict(instance_type='m9.huge'),
     exception.InstanceTypeNotFound, 'm9.huge'),
    ('min > max', dict(min_count=3, max_count=2), exception.InvalidInput,
     'min_count'),
    ('zero count', dict(min_count=0), exception.InvalidInput, 'at least 1'),
    ('count not a number', dict(max_count='many'), exception.InvalidInput,
     'max_count'),
    ('missing image', dict(image_id='9999'), exception.ImageNotFound, '9999'),
    ('queued image', dict(image_id='@queued'), exception.InvalidInput,
     'not active'),
    ('kernel as machine', dict(image_id='@kernel'), exception.InvalidInput,
     'disk format aki'),
    ('iso image', dict(image_id='@iso'), exception.InvalidInput, 'iso'),
    ('ami without kernel', dict(image_id='@ami_no_kernel'),
     exception.InvalidInput, 'needs a kernel'),
    ('kernel not aki', dict(kernel_id='@ramdisk'), exception.InvalidInput,
     'not a kernel'),
    ('ramdisk not ari', dict(ramdisk_id='@kernel'), exception.InvalidInput,
     'not a ramdisk'),
    ('missing kernel', dict(kernel_id='4242'), exception.ImageNotFound,
     '4242'),
    ('unknown key', dict(key_name='nokey'), exception.KeypairNotFound,
     'nokey'),
    ('unknown group', dict(security_group=['default', 'nogroup']),
     exception.SecurityGroupNotFound, 'nogroup'),
    ('user data not base64', dict(user_data='not base64!!'),
     exception.InvalidInput, 'base64'),
    ('user data too big', dict(user_data=_big_user_data()),
     exception.InvalidInput, 'at most 16384'),
    ('too much metadata', dict(metadata={str(i): 'v' for i in range(129)}),
     exception.QuotaError, 'metadata'),
    ('metadata value too long', dict(metadata={'k': 'v' * 256}),
     exception.InvalidInput, 'longer than'),
    ('relative file path', dict(injected_files=[('etc/x', 'data')]),
     exception.InvalidInput, 'absolute'),
    ('too many files', dict(injected_files=[('/f%d' % i, 'x')
                                            for i in range(6)]),
     exception.QuotaError, 'files'),
    ('unknown zone', dict(availability_zone='mars'), exception.InvalidInput,
     'mars'),
    ('user forcing a host', dict(availability_zone='nova:h1'),
     exception.NotAuthorized, 'admins'),
    ('name too long', dict(display_name='n' * 256), exception.InvalidInput,
     'display_name'),
]


@pytest.mark.parametrize('what,kwargs,error,text', REJECTIONS,
                         ids=[r[0] for r in REJECTIONS])
def test_rejected_requests_write_nothing(api, cloud, user_ctx, images, what,
                                         kwargs, error, text):
    kwargs = {k: (images[v[1:]] if isinstance(v, str) and v.startswith('@')
                  else v) for k, v in kwargs.items()}
    with pytest.raises(error) as info:
        _boot(api, user_ctx, images, **kwargs)
    assert text in str(info.value)
    assert _all_instances() == []
    assert _groups() == []


def test_quota_rejection_names_the_limit(api, cloud, user_ctx, images):
    FLAGS.quota_instances = 2
    _boot(api, user_ctx, images, max_count=2)
    before = len(_all_instances())
    with pytest.raises(exception.InstanceLimitExceeded) as info:
        _boot(api, user_ctx, images)
    assert 'instances=2' in str(info.value)
    assert info.value.code == 413
    assert len(_all_instances()) == before


def test_cores_quota_counts_vcpus(api, fake_env, user_ctx, images):
    FLAGS.quota_cores = 5
    with pytest.raises(exception.InstanceLimitExceeded) as info:
        _boot(api, user_ctx, images, instance_type='m1.large')  # 4 cores
        _boot(api, user_ctx, images, instance_type='m1.large')
    assert 'cores=5' in str(info.value)
    assert quota.allowed_instances(user_ctx, 1, {'vcpus': 1}) == 1


def test_admin_may_force_a_host(api, cloud, admin_ctx, images):
    admin = context.RequestContext('root', 'proj1', is_admin=True)
    made = _boot(api, admin, images, min_count=3, max_count=3,
                 availability_zone='nova:h2')
    settle()
    assert {api.get(admin, m['id'])['host'] for m in made} == {'h2'}


# -- failures become visible faults --------------------------------------------

def test_no_host_puts_the_instance_in_error_with_a_reason(api, fake_env,
                                                         user_ctx, images):
    # No compute service at all: the scheduler cannot place it.
    from tests.unit.compute.conftest import Cloud
    c = Cloud()
    c.start('sched1', 'nova-scheduler', 'scheduler',
            'nova.scheduler.manager.SchedulerManager')
    try:
        inst = _boot(api, user_ctx, images)[0]
        settle()
        got = api.get(user_ctx, inst['id'])
        assert got['state_description'] == 'error'
        assert got['state'] == power_state.FAILED
        assert got['fault']['action'] == 'schedule'
        assert 'No valid host' in got['fault']['message']
        with pytest.raises(exception.InvalidState):
            api.reboot(user_ctx, inst['id'])
        api.delete(user_ctx, inst['id'])
        with pytest.raises(exception.InstanceNotFound):
            api.get(user_ctx, inst['id'])
    finally:
        c.stop()


def test_spawn_failure_is_reported(api, cloud, user_ctx, images):
    FLAGS.fake_fail_image_ids = [images['raw']]
    inst = _boot(api, user_ctx, images, image_id=images['raw'])[0]
    settle()
    got = api.get(user_ctx, inst['id'])
    assert got['state_description'] == 'error'
    assert got['fault']['message'].startswith('spawning failed')
    assert got['fixed_ip'] is None


# -- actions and their state rules ---------------------------------------------

def test_actions_before_placement_are_refused(api, fake_env, user_ctx,
                                              images):
    inst = _boot(api, user_ctx, images)[0]   # no scheduler: stays put
    for action in (api.reboot, api.pause, api.suspend, api.rescue,
                   api.get_console_output):
        with pytest.raises(exception.InvalidState) as info:
            action(user_ctx, inst['id'])
        assert 'scheduling' in str(info.value)
    # Deleting an unplaced instance just removes its row.
    api.delete(user_ctx, inst['id'])
    assert _all_instances()[0]['deleted']


def test_lifecycle_of_a_running_instance(api, cloud, user_ctx, images):
    inst = _boot(api, user_ctx, images)[0]
    settle()
    iid = inst['id']

    with pytest.raises(exception.InvalidState) as info:
        api.unpause(user_ctx, iid)
    assert 'must be paused' in str(info.value)
    with pytest.raises(exception.InvalidState):
        api.resume(user_ctx, iid)
    with pytest.raises(exception.InvalidState):
        api.unrescue(user_ctx, iid)

    api.pause(user_ctx, iid)
    settle()
    assert api.get(user_ctx, iid)['state'] == power_state.PAUSED
    with pytest.raises(exception.InvalidState):
        api.pause(user_ctx, iid)
    api.unpause(user_ctx, iid)
    settle()
    assert api.get(user_ctx, iid)['state'] == power_state.RUNNING

    api.suspend(user_ctx, iid)
    settle()
    assert api.get(user_ctx, iid)['state_description'] == 'suspended'
    api.resume(user_ctx, iid)
    settle()
    assert api.get(user_ctx, iid)['state_description'] == 'running'

    api.rescue(user_ctx, iid)
    settle()
    assert api.get(user_ctx, iid)['state_description'] == 'rescued'
    with pytest.raises(exception.InvalidState):
        api.reboot(user_ctx, iid)
    api.unrescue(user_ctx, iid)
    settle()
    assert api.get(user_ctx, iid)['state_description'] == 'running'

    host = api.get(user_ctx, iid)['host']
    driver = cloud.computes[host].driver
    name = api.get(user_ctx, iid)['name']
    api.reboot(user_ctx, iid)
    settle()
    assert driver.instances[name].boots == 2
    assert 'rebooted' in api.get_console_output(user_ctx, iid)
    assert api.get_diagnostics(user_ctx, iid)['boots'] == 2

    renamed = api.update(user_ctx, iid, display_name='renamed')
    assert renamed['display_name'] == 'renamed'
    with pytest.raises(exception.InvalidInput):
        api.update(user_ctx, iid, host='elsewhere')

    address = api.get(user_ctx, iid)['fixed_ip']
    api.delete(user_ctx, iid)
    settle()
    with pytest.raises(exception.InstanceNotFound):
        api.get(user_ctx, iid)
    assert name not in driver.instances
    fixed = db.fixed_ip_get_by_address(context.get_admin_context(), address)
    assert fixed['instance_id'] is None and not fixed['allocated']


def test_locked_instances_refuse_non_admins(api, cloud, user_ctx, images):
    inst = _boot(api, user_ctx, images)[0]
    settle()
    api.lock(user_ctx, inst['id'])
    assert api.get_lock(user_ctx, inst['id'])
    for action in (api.reboot, api.pause, api.delete):
        with pytest.raises(exception.InstanceLocked):
            action(user_ctx, inst['id'])
    with pytest.raises(exception.InstanceLocked):
        api.snapshot(user_ctx, inst['id'], 'snap')
    admin = context.RequestContext('root', 'proj1', is_admin=True)
    api.reboot(admin, inst['id'])
    settle()
    api.unlock(admin, inst['id'])
    api.pause(user_ctx, inst['id'])
    settle()
    assert api.get(user_ctx, inst['id'])['state'] == power_state.PAUSED


def test_other_projects_cannot_see_or_touch(api, cloud, user_ctx, images):
    inst = _boot(api, user_ctx, images)[0]
    other = context.RequestContext('bob', 'proj2', is_admin=False)
    with pytest.raises(exception.InstanceNotFound):
        api.get(other, inst['id'])
    with pytest.raises(exception.InstanceNotFound):
        api.delete(other, inst['id'])
    assert api.get_all(other) == []
    with pytest.raises(exception.NotAuthorized):
        api.get_all(other, project_id='proj1')
    admin = context.get_admin_context()
    assert [i['id'] for i in api.get_all(admin, project_id='proj1')] == \
        [inst['id']]


def test_snapshot_makes_an_active_image(api, cloud, user_ctx, images):
    inst = _boot(api, user_ctx, images, image_id=images['raw'])[0]
    settle()
    image = api.snapshot(user_ctx, inst['id'], 'my snap')
    assert image['status'] == 'queued'
    assert image['owner'] == 'proj1'
    settle()
    svc = local.LocalImageService()
    shown = svc.show(user_ctx, image['id'])
    assert shown['status'] == 'active'
    assert shown['disk_format'] == 'qcow2'
    assert shown['properties']['instance_id'] == str(inst['id'])
    assert api.get(user_ctx, inst['id'])['state_description'] == 'running'


def test_failed_snapshot_removes_the_image(api, cloud, user_ctx, images):
    inst = _boot(api, user_ctx, images)[0]
    settle()
    host = api.get(user_ctx, inst['id'])['host']
    cloud.computes[host].driver.fail_next('snapshot')
    image = api.snapshot(user_ctx, inst['id'], 'doomed')
    settle()
    with pytest.raises(exception.ImageNotFound):
        local.LocalImageService().show(user_ctx, image['id'])
    actions = db.instance_get_actions(user_ctx, inst['id'])
    assert actions[-1]['action'] == 'snapshot_instance'
    assert 'snapshot failed on purpose' in actions[-1]['error']
    assert api.get(user_ctx, inst['id'])['state_description'] == 'running'


def test_another_projects_private_image_cannot_boot(api, cloud, user_ctx,
                                                   images):
    svc = local.LocalImageService()
    admin = context.get_admin_context()
    private = svc.create(admin, {'name': 'secret', 'disk_format': 'raw',
                                 'container_format': 'bare',
                                 'is_public': False, 'owner': 'other-proj',
                                 'properties': {}}, data=iter([b'x']))
    before = len(_all_instances())
    with pytest.raises(exception.ImageNotFound):
        _boot(api, user_ctx, images, image_id=str(private['id']))
    assert len(_all_instances()) == before
    own = svc.create(admin, {'name': 'mine', 'disk_format': 'raw',
                             'container_format': 'bare', 'is_public': False,
                             'owner': user_ctx.project_id, 'properties': {}},
                     data=iter([b'x']))
    assert _boot(api, user_ctx, images, image_id=str(own['id']))
