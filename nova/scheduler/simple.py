"""SimpleScheduler: the least loaded up host, within per-host limits.

Instances go to the compute host with the fewest summed vcpus of its live
instances (``max_cores`` per host at most); volumes to the volume host with
the fewest gigabytes (``max_gigabytes``); networks to the network host with
the fewest networks (``max_networks``).  An admin may name a host with the
availability zone ``zone:host``; otherwise a requested zone limits the
candidates to that zone.
"""

from nova import exception
from nova import flags
from nova.scheduler import chance
from nova.scheduler import driver

FLAGS = flags.FLAGS

flags.DEFINE_integer('max_cores', 16, 'most instance cores on one host')
flags.DEFINE_integer('max_gigabytes', 10000,
                     'most volume gigabytes on one host')
flags.DEFINE_integer('max_networks', 1000, 'most networks on one host')


def split_zone(availability_zone):
    """('zone', 'host') from 'zone:host'; ('zone', None) otherwise."""
    if availability_zone and ':' in availability_zone:
        zone, _sep, host = availability_zone.partition(':')
        return zone or None, host or None
    return availability_zone or None, None


class SimpleScheduler(chance.ChanceScheduler):

    def _forced_host(self, context, topic, availability_zone):
        """The host an admin named with zone:host, checked to be up."""
        zone, host = split_zone(availability_zone)
        if host is None:
            return zone, None
        if not context.is_admin:
            raise exception.NotAuthorized(
                'only admins may choose the host of an instance')
        for service in self.services_up(context, topic):
            if service['host'] == host:
                return zone, host
        raise exception.NoValidHost(
            reason='host %s has no %s service that is up and enabled'
            % (host, topic))

    def _least_loaded(self, context, topic, sorted_services, needed, limit,
                      what, zone):
        """First up service of ``sorted_services`` that fits ``needed``."""
        seen_up = False
        for service, used in sorted_services:
            if zone and service['availability_zone'] != zone:
                continue
            if service['disabled'] or not self.service_is_up(service):
                continue
            seen_up = True
            if used + needed > limit:
                # Sorted by load: every later host is fuller still.
                break
            return service['host']
        if not seen_up:
            if zone:
                raise exception.NoValidHost(
                    reason='no %s service is up in availability zone %s'
                    % (topic, zone))
            raise driver.no_hosts(topic)
        raise exception.NoValidHost(
            reason='every %s host is at its limit of %d %s'
            % (topic, limit, what))

    def schedule_run_instance(self, context, instance_id,
                              availability_zone=None, **kwargs):
        topic = FLAGS.compute_topic
        elevated = context.elevated()
        instance = self.db.instance_get(elevated, instance_id)
        zone, host = self._forced_host(context, topic, availability_zone)
        if host:
            return host
        return self._least_loaded(
            context, topic, self.db.service_get_all_compute_sorted(elevated),
            instance['vcpus'] or 0, FLAGS.max_cores, 'cores', zone)

    def schedule_create_volume(self, context, volume_id,
                               availability_zone=None, **kwargs):
        topic = FLAGS.volume_topic
        elevated = context.elevated()
        volume = self.db.volume_get(elevated, volume_id)
        zone, host = self._forced_host(context, topic, availability_zone)
        if host:
            return host
        return self._least_loaded(
            context, topic, self.db.service_get_all_volume_sorted(elevated),
            volume['size'] or 0, FLAGS.max_gigabytes, 'gigabytes', zone)

    def schedule_set_network_host(self, context, **kwargs):
        topic = FLAGS.network_topic
        elevated = context.elevated()
        return self._least_loaded(
            context, topic, self.db.service_get_all_network_sorted(elevated),
            1, FLAGS.max_networks, 'networks', None)
