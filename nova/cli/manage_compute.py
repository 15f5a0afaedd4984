"""nova-manage categories of the compute control plane.

    nova-manage instance_type create NAME MEMORY_MB VCPUS LOCAL_GB FLAVORID
                                     [SWAP] [RXTX_QUOTA] [RXTX_CAP]
    nova-manage instance_type delete NAME
    nova-manage instance_type list [NAME]
    nova-manage network create [CIDR] [NUM_NETWORKS] [NETWORK_SIZE]
                               [VLAN_START] [VPN_START] [FIXED_RANGE_V6]
    nova-manage network list

Importing this module registers the categories with nova.cli.manage; run
as ``python -m nova.cli.manage_compute`` it is nova-manage with them.
"""

import sys

from nova import context
from nova import exception
from nova import flags
from nova import utils
from nova.cli import manage

FLAGS = flags.FLAGS


class InstanceTypeCommands:
    """Instance types (flavors): the sizes instances come in."""

    def create(self, name, memory, vcpus, local_gb, flavorid, swap=0,
               rxtx_quota=0, rxtx_cap=0):
        """Add an instance type (memory in MB, disk in GB)."""
        from nova.compute import instance_types
        instance_types.create(name, memory, vcpus, local_gb, flavorid, swap,
                              rxtx_quota, rxtx_cap)
        print('%s created' % name)

    def delete(self, name):
        """Remove an instance type (instances of it keep their size)."""
        from nova.compute import instance_types
        instance_types.destroy(name)
        print('%s deleted' % name)

    def list(self, name=None):
        """List instance types (or one)."""
        from nova.compute import instance_types
        types = instance_types.get_all_types()
        if name is not None:
            if name not in types:
                raise exception.InstanceTypeNotFound(instance_type=name)
            types = {name: types[name]}
        for itype in sorted(types.values(), key=lambda t: t['flavorid']):
            print('%s: Memory: %sMB, VCPUS: %s, Storage: %sGB, FlavorID: %s, '
                  'Swap: %sGB, RXTX Quota: %sGB, RXTX Cap: %sMB'
                  % (itype['name'], itype['memory_mb'], itype['vcpus'],
                     itype['local_gb'], itype['flavorid'], itype['swap'],
                     itype['rxtx_quota'], itype['rxtx_cap']))


class NetworkCommands:
    """Fixed networks of the configured network manager."""

    def create(self, fixed_range=None, num_networks=None, network_size=None,
               vlan_start=None, vpn_start=None, fixed_range_v6=None):
        """Split FIXED_RANGE into NUM_NETWORKS networks of NETWORK_SIZE."""
        network_manager = utils.import_class(FLAGS.network_manager)()
        made = network_manager.create_networks(
            context.get_admin_context(),
            cidr=fixed_range or FLAGS.fixed_range,
            num_networks=num_networks or FLAGS.num_networks,
            network_size=network_size or FLAGS.network_size,
            vlan_start=vlan_start or FLAGS.vlan_start,
            vpn_start=vpn_start or FLAGS.vpn_start,
            cidr_v6=fixed_range_v6 or FLAGS.fixed_range_v6)
        for network in made:
            print('%s (bridge %s, gateway %s)' % (network['cidr'],
                                                  network['bridge'],
                                                  network['gateway']))

    def list(self):
        """List networks with their addresses in use."""
        from nova.db import api as db
        ctxt = context.get_admin_context()
        print('%-18s %-15s %-15s %-8s %-10s %s'
              % ('network', 'netmask', 'gateway', 'bridge', 'in use',
                 'project'))
        for network in db.network_get_all(ctxt):
            used = db.network_count_allocated_ips(ctxt, network['id'])
            free = db.network_count_available_ips(ctxt, network['id'])
            print('%-18s %-15s %-15s %-8s %-10s %s'
                  % (network['cidr'], network['netmask'], network['gateway'],
                     network['bridge'], '%d/%d' % (used, used + free),
                     network['project_id'] or '-'))


manage.register('instance_type', InstanceTypeCommands)
manage.register('network', NetworkCommands)


if __name__ == '__main__':
    sys.exit(manage.main())
