"""The network service as other services see it: RPC to topic ``network``.

Compute calls these while building and tearing down instances; every call
waits for the answer (``rpc.call``), so a failure surfaces where it can be
recorded on the instance.

Floating IPs (for the EC2/OpenStack APIs): ``allocate_floating_ip(context)``
checks the project's quota (AddressLimitExceeded) and asks any network host
for an address of its pool; ``associate_floating_ip``/``disassociate_
floating_ip`` go to the host owning the floating address (``network.<host>``),
after checking that both addresses belong to the caller's project
(FloatingIpNotFound / FixedIpNotFound otherwise); ``release_floating_ip``
refuses an associated address (InvalidState).
"""

from nova import flags
from nova import rpc

FLAGS = flags.FLAGS


class API:

    def _call(self, context, method, **args):
        return rpc.call(context, FLAGS.network_topic,
                        {'method': method, 'args': args})

    def allocate_for_instance(self, context, instance_id, **kwargs):
        """network_info of a new address for the instance."""
        return self._call(context, 'allocate_for_instance',
                          instance_id=instance_id, **kwargs)

    def deallocate_for_instance(self, context, instance_id, **kwargs):
        """Free the instance's addresses; returns them."""
        return self._call(context, 'deallocate_for_instance',
                          instance_id=instance_id, **kwargs)

    def get_instance_nw_info(self, context, instance_id):
        return self._call(context, 'get_instance_nw_info',
                          instance_id=instance_id)

    # -- floating IPs ----------------------------------------------------------

    def allocate_floating_ip(self, context):
        """A floating address for the caller's project (quota-checked)."""
        from nova import exception
        from nova import quota
        if quota.allowed_floating_ips(context, 1) < 1:
            raise exception.AddressLimitExceeded(
                'Quota exceeded: project %s has all the floating IPs it '
                'may have' % context.project_id)
        return self._call(context, 'allocate_floating_ip',
                          project_id=context.project_id)

    def _floating(self, context, address):
        """The project's floating IP (FloatingIpNotFound for another's)."""
        from nova import exception
        from nova.db import api as db
        floating = db.floating_ip_get_by_address(context, address)
        if not context.is_admin and \
                floating['project_id'] != context.project_id:
            raise exception.FloatingIpNotFound(address=address)
        return floating

    def release_floating_ip(self, context, address):
        """Give the address back to the pool; refused while associated
        (the original released it anyway and left its NAT rules behind)."""
        from nova import exception
        from nova.db import api as db
        floating = self._floating(context, address)
        if floating['fixed_ip'] is not None:
            raise exception.InvalidState(
                reason='floating ip %s is associated with %s; disassociate '
                'it first' % (address, floating['fixed_ip']['address']))
        db.floating_ip_deallocate(context, address)

    def associate_floating_ip(self, context, floating_address, fixed_address):
        """Forward ``floating_address`` to ``fixed_address`` (both the
        caller's); an address already forwarded elsewhere moves."""
        from nova.db import api as db
        floating = self._floating(context, floating_address)
        fixed = db.fixed_ip_get_by_address(context, fixed_address)
        if fixed['instance'] is None:
            from nova import exception
            raise exception.InvalidState(
                reason='fixed ip %s is not in use' % fixed_address)
        current = floating['fixed_ip']
        if current is not None:
            if current['address'] == fixed_address:
                return
            self.disassociate_floating_ip(context, floating_address)
        rpc.call(context, '%s.%s' % (FLAGS.network_topic, floating['host']),
                 {'method': 'associate_floating_ip',
                  'args': {'floating_address': floating_address,
                           'fixed_address': fixed_address}})

    def disassociate_floating_ip(self, context, address):
        floating = self._floating(context, address)
        if floating['fixed_ip'] is None:
            return None
        return rpc.call(context, '%s.%s' % (FLAGS.network_topic,
                                            floating['host']),
                        {'method': 'disassociate_floating_ip',
                         'args': {'floating_address': address}})
