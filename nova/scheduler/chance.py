"""ChanceScheduler: a random host among those that are up."""

import random

from nova.scheduler import driver


class ChanceScheduler(driver.Scheduler):

    def schedule(self, context, topic, **kwargs):
        hosts = self.hosts_up(context, topic)
        if not hosts:
            raise driver.no_hosts(topic)
        return random.choice(hosts)
