"""The base of the scheduler drivers: which hosts are candidates.

A driver answers ``schedule_<method>(context, **kwargs)`` (or the generic
``schedule(context, topic, **kwargs)``) with a host name, or raises
``nova.exception.NoValidHost`` with a reason the user will see.  ``context``
is the caller's (so a driver can tell admins apart); drivers elevate it for
their own database reads.
"""

from nova import exception
from nova import flags
from nova import service
from nova.db import api as db

FLAGS = flags.FLAGS


class Scheduler:

    def __init__(self, db_driver=None):
        self.db = db_driver or db

    @staticmethod
    def service_is_up(service_row):
        return service.service_is_up(service_row)

    def hosts_up(self, context, topic):
        """Names of the enabled hosts of ``topic`` with a fresh heartbeat."""
        services = self.db.service_get_all_by_topic(context.elevated(), topic)
        return [s['host'] for s in services
                if not s['disabled'] and self.service_is_up(s)]

    def services_up(self, context, topic):
        services = self.db.service_get_all_by_topic(context.elevated(), topic)
        return [s for s in services
                if not s['disabled'] and self.service_is_up(s)]

    def schedule(self, context, topic, **kwargs):
        raise NotImplementedError()


def no_hosts(topic):
    return exception.NoValidHost(
        reason='no %s service is up and enabled' % topic)
