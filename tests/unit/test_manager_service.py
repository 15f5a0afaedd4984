"""nova.manager periodic tasks, service liveness and the nova-manage dispatcher."""

import datetime

import pytest

from nova import flags
from nova import manager
from nova import service
from nova import utils
from nova.cli import manage

FLAGS = flags.FLAGS


class _Counting(manager.Manager):
    def __init__(self):
        super().__init__(host='h', db_driver=object())
        self.calls = []

    @manager.periodic_task
    def every_tick(self, context):
        self.calls.append('every')

    @manager.periodic_task(ticks_between_runs=2)
    def every_third(self, context):
        self.calls.append('third')

    @manager.periodic_task
    def broken(self, context):
        raise RuntimeError('boom')

    def not_periodic(self, context):
        self.calls.append('never')


def test_periodic_tasks_respect_spacing_and_survive_failures():
    m = _Counting()
    for _ in range(6):
        m.periodic_tasks(None)
    assert m.calls.count('every') == 6
    assert m.calls.count('third') == 2
    assert 'never' not in m.calls


def test_service_is_up_uses_service_down_time():
    FLAGS.service_down_time = 60
    now = utils.utcnow()
    fresh = {'updated_at': now - datetime.timedelta(seconds=5),
             'created_at': now - datetime.timedelta(days=1)}
    stale = {'updated_at': now - datetime.timedelta(seconds=61),
             'created_at': now - datetime.timedelta(days=1)}
    never = {'updated_at': None, 'created_at': now}
    assert service.service_is_up(fresh)
    assert not service.service_is_up(stale)
    assert service.service_is_up(never)


def test_service_create_derives_topic_and_manager():
    svc = service.Service.create(binary='nova-scheduler', host='h1')
    assert svc.topic == 'scheduler'
    assert type(svc.manager).__name__ == 'SchedulerManager'
    assert svc.manager.host == 'h1'


class _Recorder:
    """A category for dispatcher tests."""

    calls = []

    def act(self, name, extra=None):
        """Record the arguments."""
        self.calls.append((name, extra))

    def another(self):
        """Nothing."""


def test_dispatch_matches_prefixes_and_checks_arguments(monkeypatch):
    monkeypatch.setitem(manage.CATEGORIES, 'recorder', _Recorder)
    _Recorder.calls = []
    manage.dispatch(['rec', 'ac', 'x'])
    manage.dispatch(['recorder', 'act', 'x', 'y'])
    assert _Recorder.calls == [('x', None), ('x', 'y')]
    with pytest.raises(manage.UsageError):
        manage.dispatch(['recorder', 'act'])
    with pytest.raises(manage.UsageError):
        manage.dispatch(['recorder', 'act', '1', '2', '3'])
    with pytest.raises(manage.UsageError):
        manage.dispatch(['recorder', 'zzz'])
    with pytest.raises(manage.UsageError):
        manage.dispatch(['re'])   # ambiguous: recorder, role


def test_usage_shows_signatures():
    text = manage.usage('user')
    assert 'user create NAME [ACCESS] [SECRET]' in text
    assert 'user modify NAME ACCESS_KEY SECRET_KEY IS_ADMIN' in text
