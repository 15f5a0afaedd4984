"""Scheduler drivers and SchedulerManager on a real (SQLite) database."""

import datetime

import pytest

from nova import context
from nova import exception
from nova import flags
from nova import rpc
from nova import utils
from nova.db import api as db
from nova.rpc import impl_fake
from nova.scheduler import chance
from nova.scheduler import manager as scheduler_manager
from nova.scheduler import simple
from nova.scheduler import zone
from tests.unit.db.conftest import _template_db, sqlite_db  # noqa: F401

FLAGS = flags.FLAGS


@pytest.fixture
def admin(sqlite_db):  # noqa: F811
    FLAGS.rpc_backend = 'fake'
    return context.get_admin_context()


@pytest.fixture
def user():
    return context.RequestContext('alice', 'proj1', is_admin=False)


def _service(admin, host, topic='compute', zone_name='nova', up=True,
             disabled=False):
    row = db.service_create(admin, {'host': host, 'binary': 'nova-' + topic,
                                    'topic': topic, 'report_count': 0,
                                    'availability_zone': zone_name,
                                    'disabled': disabled})
    if not up:
        stale = utils.utcnow() - datetime.timedelta(
            seconds=FLAGS.service_down_time + 30)
        db.service_update(admin, row['id'], {'updated_at': stale,
                                             'created_at': stale})
    return row


def _instance(admin, host=None, vcpus=1, project='proj1'):
    return db.instance_create(admin, {'host': host, 'vcpus': vcpus,
                                      'project_id': project,
                                      'user_id': 'alice',
                                      'state_description': 'scheduling'})


def test_chance_picks_only_up_enabled_hosts(admin, user):
    _service(admin, 'up1')
    _service(admin, 'up2')
    _service(admin, 'down', up=False)
    _service(admin, 'off', disabled=True)
    _service(admin, 'net', topic='network')
    picked = {chance.ChanceScheduler().schedule(user, 'compute')
              for _ in range(60)}
    assert picked == {'up1', 'up2'}


def test_no_host_raises_no_valid_host(admin, user):
    _service(admin, 'down', up=False)
    with pytest.raises(exception.NoValidHost) as info:
        chance.ChanceScheduler().schedule(user, 'compute')
    assert 'compute' in str(info.value)


def test_zone_scheduler_honours_the_zone(admin, user):
    _service(admin, 'a1', zone_name='zone-a')
    _service(admin, 'b1', zone_name='zone-b')
    _service(admin, 'b2', zone_name='zone-b', up=False)
    sched = zone.ZoneScheduler()
    assert {sched.schedule(user, 'compute', availability_zone='zone-b')
            for _ in range(20)} == {'b1'}
    assert {sched.schedule(user, 'compute') for _ in range(60)} == \
        {'a1', 'b1'}
    with pytest.raises(exception.NoValidHost) as info:
        sched.schedule(user, 'compute', availability_zone='zone-c')
    assert 'zone-c' in str(info.value)


def test_simple_picks_the_least_loaded_up_host(admin, user):
    _service(admin, 'busy')
    _service(admin, 'idle')
    _service(admin, 'empty-but-down', up=False)
    _instance(admin, 'busy', vcpus=4)
    _instance(admin, 'idle', vcpus=2)
    new = _instance(admin, vcpus=1)
    assert simple.SimpleScheduler().schedule_run_instance(
        user, new['id']) == 'idle'


def test_simple_respects_max_cores(admin, user):
    FLAGS.max_cores = 4
    _service(admin, 'h1')
    _instance(admin, 'h1', vcpus=3)
    ok = _instance(admin, vcpus=1)
    assert simple.SimpleScheduler().schedule_run_instance(
        user, ok['id']) == 'h1'
    _instance(admin, 'h1', vcpus=1)
    too_big = _instance(admin, vcpus=1)
    with pytest.raises(exception.NoValidHost) as info:
        simple.SimpleScheduler().schedule_run_instance(user, too_big['id'])
    assert 'limit of 4 cores' in str(info.value)


def test_simple_forced_host_is_for_admins_and_must_be_up(admin, user):
    _service(admin, 'h1')
    _service(admin, 'h2')
    _service(admin, 'dead', up=False)
    _instance(admin, 'h1', vcpus=8)
    inst = _instance(admin, vcpus=1)
    sched = simple.SimpleScheduler()
    assert sched.schedule_run_instance(admin, inst['id'],
                                       availability_zone='nova:h1') == 'h1'
    with pytest.raises(exception.NotAuthorized):
        sched.schedule_run_instance(user, inst['id'],
                                    availability_zone='nova:h1')
    with pytest.raises(exception.NoValidHost):
        sched.schedule_run_instance(admin, inst['id'],
                                    availability_zone='nova:dead')


def test_simple_filters_by_zone(admin, user):
    _service(admin, 'a1', zone_name='zone-a')
    _service(admin, 'b1', zone_name='zone-b')
    _instance(admin, 'b1', vcpus=5)
    inst = _instance(admin)
    assert simple.SimpleScheduler().schedule_run_instance(
        user, inst['id'], availability_zone='zone-b') == 'b1'


def test_simple_places_volumes_by_gigabytes(admin, user):
    FLAGS.max_gigabytes = 100
    _service(admin, 'v1', topic='volume')
    _service(admin, 'v2', topic='volume')
    db.volume_create(admin, {'host': 'v1', 'size': 50, 'project_id': 'p'})
    vol = db.volume_create(admin, {'size': 10, 'project_id': 'p'})
    assert simple.SimpleScheduler().schedule_create_volume(
        user, vol['id']) == 'v2'
    huge = db.volume_create(admin, {'size': 101, 'project_id': 'p'})
    with pytest.raises(exception.NoValidHost):
        simple.SimpleScheduler().schedule_create_volume(user, huge['id'])


class _Recorder:
    def __init__(self):
        self.calls = []

    def run_instance(self, context, **kwargs):
        self.calls.append(('run_instance', kwargs))

    def do_thing(self, context, **kwargs):
        self.calls.append(('do_thing', kwargs))


@pytest.fixture
def recorder(admin):
    rec = _Recorder()
    conn = rpc.create_connection()
    conn.create_consumer('compute.h1', rec)
    conn.consume_in_thread()
    yield rec
    conn.close()


def test_manager_places_and_casts_to_the_host(admin, user, recorder):
    _service(admin, 'h1')
    inst = _instance(admin)
    mgr = scheduler_manager.SchedulerManager(
        scheduler_driver='nova.scheduler.simple.SimpleScheduler')
    assert mgr.run_instance(user, topic='compute', instance_id=inst['id'],
                            availability_zone=None) == 'h1'
    assert impl_fake.wait_idle(10)
    assert recorder.calls == [('run_instance', {'instance_id': inst['id'],
                                                'availability_zone': None})]
    placed = db.instance_get(admin, inst['id'])
    assert placed['host'] == 'h1' and placed['scheduled_at'] is not None
    # Any other method goes through the driver's generic schedule().
    mgr.do_thing(user, topic='compute', value=3)
    assert impl_fake.wait_idle(10)
    assert recorder.calls[-1] == ('do_thing', {'value': 3})


def test_manager_marks_unplaceable_instances_as_error(admin, user):
    inst = _instance(admin)
    mgr = scheduler_manager.SchedulerManager(
        scheduler_driver='nova.scheduler.chance.ChanceScheduler')
    assert mgr.run_instance(user, topic='compute',
                            instance_id=inst['id']) is None
    got = db.instance_get(admin, inst['id'])
    assert got['state_description'] == 'error'
    actions = db.instance_get_actions(admin, inst['id'])
    assert actions[-1]['action'] == 'schedule'
    assert 'No valid host' in actions[-1]['error']


def test_manager_does_not_expose_private_names(admin):
    mgr = scheduler_manager.SchedulerManager()
    with pytest.raises(AttributeError):
        mgr._secret
    assert isinstance(mgr.driver, simple.SimpleScheduler)
