"""nova-manage categories of the compute control plane.

    nova-manage instance_type create NAME MEMORY_MB VCPUS LOCAL_GB FLAVORID
                                     [SWAP] [RXTX_QUOTA] [RXTX_CAP]
    nova-manage instance_type delete NAME
    nova-manage instance_type list [NAME]
    nova-manage network create [CIDR] [NUM_NETWORKS] [NETWORK_SIZE]
                               [VLAN_START] [VPN_START] [FIXED_RANGE_V6]
    nova-manage network list
    nova-manage floating create HOST RANGE
    nova-manage floating delete RANGE
    nova-manage floating list [HOST]

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


# A typo such as /8 must not fill the database with millions of rows.
MAX_FLOATING_RANGE = 1 << 16


def _floating_range(text):
    """The addresses of a floating range: every host address of a CIDR
    (a single address or a /31, /32 as given)."""
    import netaddr
    try:
        network = netaddr.IPNetwork(str(text).strip())
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise exception.InvalidInput(reason='%r is not an address range'
                                     % (text,)) from None
    if network.version != 4:
        raise exception.InvalidInput(reason='floating ranges are IPv4')
    if network.size > MAX_FLOATING_RANGE:
        raise exception.InvalidInput(
            reason='%s has %d addresses; at most %d at once'
            % (network.cidr, network.size, MAX_FLOATING_RANGE))
    hosts = network if network.prefixlen >= 31 else network.iter_hosts()
    return [str(address) for address in hosts]


class FloatingIpCommands:
    """Floating (public) addresses of network hosts."""

    def create(self, host, range):  # noqa: A002 - the documented name
        """Add the addresses of RANGE to HOST's pool."""
        from nova.db import api as db
        ctxt = context.get_admin_context()
        addresses = _floating_range(range)
        taken = {f['address'] for f in db.floating_ip_get_all(ctxt)}
        clash = [a for a in addresses if a in taken]
        if clash:
            raise exception.InvalidInput(
                reason='%d address(es) of %s exist already (first: %s); '
                'nothing added' % (len(clash), range, clash[0]))
        for address in addresses:
            db.floating_ip_create(ctxt, {'address': address, 'host': host})
        print('%d floating ip(s) added to %s' % (len(addresses), host))

    def delete(self, range):  # noqa: A002
        """Remove the addresses of RANGE (none may be in use)."""
        from nova.db import api as db
        ctxt = context.get_admin_context()
        addresses = _floating_range(range)
        rows = {f['address']: f for f in db.floating_ip_get_all(ctxt)}
        missing = [a for a in addresses if a not in rows]
        if missing:
            raise exception.FloatingIpNotFound(
                '%d address(es) of %s do not exist (first: %s); nothing '
                'deleted' % (len(missing), range, missing[0]),
                address=missing[0])
        busy = [a for a in addresses
                if rows[a]['project_id'] or rows[a]['fixed_ip_id']]
        if busy:
            raise exception.InvalidState(
                reason='%d address(es) of %s are allocated to a project '
                '(first: %s); nothing deleted' % (len(busy), range, busy[0]))
        for address in addresses:
            db.floating_ip_destroy(ctxt, address)
        print('%d floating ip(s) deleted' % len(addresses))

    def list(self, host=None):
        """List floating addresses (of one HOST) and what uses them."""
        from nova.db import api as db
        ctxt = context.get_admin_context()
        rows = (db.floating_ip_get_all_by_host(ctxt, host) if host
                else db.floating_ip_get_all(ctxt))
        for row in rows:
            fixed = row['fixed_ip']
            instance = fixed['instance'] if fixed else None
            # The original printed a nonexistent ec2_id field and crashed.
            print('%s\t%s\t%s\t%s\t%s' % (
                row['host'], row['address'], row['project_id'] or '-',
                fixed['address'] if fixed else '-',
                'i-%08x' % instance['id'] if instance else '-'))


manage.register('instance_type', InstanceTypeCommands)
manage.register('floating', FloatingIpCommands)
manage.register('network', NetworkCommands)


if __name__ == '__main__':
    sys.exit(manage.main())
