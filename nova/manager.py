"""Base class of the managers that services expose over RPC.

A manager holds a service's logic: nova.service.Service binds one to its
AMQP topics, so every public method is callable by ``rpc.cast``/``rpc.call``
with ``context`` and keyword arguments.  Methods marked ``@periodic_task`` run
on the service's periodic timer; ``init_host`` runs once before the service
starts consuming (to rebuild local state such as firewall rules).
"""

from nova import flags
from nova import log as logging

LOG = logging.getLogger('nova.manager')
FLAGS = flags.FLAGS


def periodic_task(*args, ticks_between_runs=0):
    """Mark a manager method to run from ``periodic_tasks``.

    ``ticks_between_runs`` skips that many periodic ticks between runs, for
    work that is needed less often than ``periodic_interval``.
    """
    def decorator(f):
        f._periodic_task = True
        f._periodic_spacing = ticks_between_runs
        return f
    if args and callable(args[0]):
        return decorator(args[0])
    return decorator


class Manager:

    def __init__(self, host=None, db_driver=None):
        self.host = host or FLAGS.host
        if db_driver is None:
            from nova.db import api as db_driver
        self.db = db_driver
        self._ticks = {}

    def init_host(self):
        """Prepare this host before the service consumes messages."""

    def _periodic_methods(self):
        for name in sorted(dir(type(self))):
            method = getattr(type(self), name, None)
            if callable(method) and getattr(method, '_periodic_task', False):
                yield name, getattr(self, name), method._periodic_spacing

    def periodic_tasks(self, context):
        """Run every due periodic task; one failing task does not stop the rest."""
        for name, method, spacing in self._periodic_methods():
            ticks = self._ticks.get(name, spacing)
            if ticks < spacing:
                self._ticks[name] = ticks + 1
                continue
            self._ticks[name] = 0
            try:
                method(context)
            except Exception:
                LOG.exception('periodic task %s failed', name, context=context)

    def service_version(self, context):
        from nova import version
        return version.version_string()
