"""nova-scheduler's manager: picks a host for each new instance or volume.

Every method that arrives on the ``scheduler`` topic, ``m(topic, **kwargs)``,
is placed by the driver's ``schedule_m(context, **kwargs)`` when it has one,
else by its generic ``schedule(context, topic, **kwargs)``, and then cast as
``m(**kwargs)`` to ``<topic>.<host>``.

For ``run_instance`` and ``create_volume`` the chosen host and
``scheduled_at`` are written before the cast, so load-based drivers see the
new placement at once and a delete can reach the host even before it starts
building.  When no host fits, the original left the instance in
``scheduling`` forever; here the instance goes to state ``error`` with the
reason as its fault (a volume to status ``error``).

The default driver is SimpleScheduler (least loaded, within ``max_cores``),
not the original's ChanceScheduler: random placement overloads hosts.
"""

import functools
import threading

from nova import exception
from nova import flags
from nova import log as logging
from nova import manager
from nova import rpc
from nova import utils
from nova.compute import faults

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

flags.DEFINE_string('scheduler_driver',
                    'nova.scheduler.simple.SimpleScheduler',
                    'class of the scheduler driver: '
                    'nova.scheduler.simple.SimpleScheduler, '
                    'nova.scheduler.chance.ChanceScheduler or '
                    'nova.scheduler.zone.ZoneScheduler')


class SchedulerManager(manager.Manager):
    """Chooses hosts for the other services' work."""

    def __init__(self, scheduler_driver=None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.driver = utils.import_class(
            scheduler_driver or FLAGS.scheduler_driver)()
        # Placements are decided one at a time, so a load-based driver sees
        # the previous placement before it makes the next (messages are
        # handled concurrently).  Several schedulers may still race.
        self._placing = threading.Lock()

    def __getattr__(self, name):
        # Only missing public attributes become scheduling requests.
        if name.startswith('_'):
            raise AttributeError(name)
        return functools.partial(self._schedule, name)

    def _schedule(self, method, context, topic, **kwargs):
        try:
            with self._placing:
                host = self._pick_host(method, context, topic, **kwargs)
                self._record_placement(method, context, host, kwargs)
        except Exception as e:  # noqa: BLE001 - every failure is recorded
            self._placement_failed(method, context, e, kwargs)
            if not isinstance(e, exception.NovaException):
                LOG.exception('scheduling %s failed', method,
                              context=context)
            return None
        rpc.cast(context, '%s.%s' % (topic, host),
                 {'method': method, 'args': kwargs})
        LOG.debug('cast %s to %s.%s', method, topic, host, context=context)
        return host

    def _pick_host(self, method, context, topic, **kwargs):
        specific = getattr(self.driver, 'schedule_%s' % method, None)
        if specific is not None:
            return specific(context, **kwargs)
        return self.driver.schedule(context, topic, **kwargs)

    def _record_placement(self, method, context, host, kwargs):
        values = {'host': host, 'scheduled_at': utils.utcnow()}
        if method == 'run_instance' and 'instance_id' in kwargs:
            self.db.instance_update(context.elevated(),
                                    kwargs['instance_id'], values)
        elif method == 'create_volume' and 'volume_id' in kwargs:
            self.db.volume_update(context.elevated(), kwargs['volume_id'],
                                  values)

    def _placement_failed(self, method, context, error, kwargs):
        reason = faults.describe(error)
        if method == 'run_instance' and 'instance_id' in kwargs:
            faults.set_error(context, kwargs['instance_id'], 'schedule',
                             reason)
        elif method == 'create_volume' and 'volume_id' in kwargs:
            try:
                self.db.volume_update(context.elevated(),
                                      kwargs['volume_id'],
                                      {'status': 'error'})
            except exception.NotFound:
                pass
            LOG.warning('volume %s cannot be placed: %s',
                        kwargs['volume_id'], reason, context=context)
        else:
            LOG.warning('%s cannot be placed: %s', method, reason,
                        context=context)
