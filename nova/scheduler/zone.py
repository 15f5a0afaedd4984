"""ZoneScheduler: a random up host of the requested availability zone."""

import random

from nova import exception
from nova.scheduler import driver


class ZoneScheduler(driver.Scheduler):

    def hosts_up_with_zone(self, context, topic, zone):
        return [s['host'] for s in self.services_up(context, topic)
                if not zone or s['availability_zone'] == zone]

    def schedule(self, context, topic, availability_zone=None, **kwargs):
        hosts = self.hosts_up_with_zone(context, topic, availability_zone)
        if not hosts:
            if availability_zone:
                raise exception.NoValidHost(
                    reason='no %s service is up in availability zone %s'
                    % (topic, availability_zone))
            raise driver.no_hosts(topic)
        return random.choice(hosts)
