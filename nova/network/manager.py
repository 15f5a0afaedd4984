"""nova-network's managers, one per networking mode (``network_manager``).

FlatManager: guests sit on one bridge (``flat_network_bridge``) that the
operator made on every host beforehand; nova only hands out addresses from
the networks ``nova-manage network create`` made, and the guest's address is
injected into its disk when ``flat_injected``.  FlatDHCPManager and
VlanManager behave like FlatManager until the network issue fills them in.

RPC methods (topic ``network``), all answering over ``rpc.call``:

* ``allocate_for_instance(instance_id)`` -> network_info, a list of dicts
  {bridge, ip, netmask, gateway, broadcast, cidr, dns, mac, dhcp_server,
  injected, vlan, label}; asking again for an instance that already has an
  address returns that address (a retried call allocates nothing new).
* ``deallocate_for_instance(instance_id)``: frees every address of the
  instance; freeing nothing is fine.
* ``get_instance_nw_info(instance_id)`` -> network_info of what is bound.

Two instances never get one address: the pick is an atomic claim in the
database (``db.fixed_ip_associate_pool``), safe across network services.
"""

import netaddr

from nova import exception
from nova import flags
from nova import log as logging
from nova import manager
from nova.db import api as db

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

flags.DEFINE_string('flat_network_bridge', 'br100',
                    'bridge of the guests of flat networks')
flags.DEFINE_string('flat_interface', None,
                    'interface the flat bridge is connected to')
flags.DEFINE_bool('flat_injected', True,
                  'write the network configuration into flat guests')
flags.DEFINE_string('flat_network_dns', '8.8.4.4',
                    'DNS server of flat guests')
flags.DEFINE_string('fixed_range', '10.0.0.0/8', 'fixed IPv4 range')
flags.DEFINE_string('fixed_range_v6', 'fd00::/48', 'fixed IPv6 range')
flags.DEFINE_integer('num_networks', 1, 'networks to make by default')
flags.DEFINE_integer('network_size', 256, 'addresses in each network')
flags.DEFINE_integer('vlan_start', 100, 'first VLAN of VlanManager')
flags.DEFINE_integer('vpn_start', 1000, 'first VPN port of VlanManager')

# Bounds of what one ``network create`` may make, so a typo (a /8 split into
# /30s) cannot fill the database with millions of rows.
MAX_NETWORKS = 4096
MAX_ADDRESSES = 1 << 20


def _int_arg(name, value, minimum):
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise exception.InvalidInput(
            reason='%s must be a whole number, not %r' % (name, value)) \
            from None
    if number < minimum:
        raise exception.InvalidInput(
            reason='%s must be at least %d, not %d' % (name, minimum, number))
    return number


def plan_networks(cidr, num_networks, network_size, existing_cidrs=()):
    """The subnets ``network create`` would make, validated, nothing written.

    Returns a list of netaddr.IPNetwork.  Raises InvalidInput when the range
    is not a network, the size is not a power of two of at least 4, the
    networks do not fit in the range, or one overlaps an existing network.
    """
    try:
        fixed = netaddr.IPNetwork(str(cidr).strip())
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise exception.InvalidInput(reason='%r is not a CIDR' % (cidr,)) \
            from None
    if fixed.version != 4:
        raise exception.InvalidInput(reason='the fixed range must be IPv4')
    if fixed.ip != fixed.network:
        raise exception.InvalidInput(
            reason='%s has host bits set (did you mean %s?)'
            % (cidr, fixed.cidr))
    num_networks = _int_arg('num_networks', num_networks, 1)
    network_size = _int_arg('network_size', network_size, 4)
    if network_size & (network_size - 1):
        raise exception.InvalidInput(
            reason='network_size must be a power of two, not %d'
            % network_size)
    if num_networks > MAX_NETWORKS:
        raise exception.InvalidInput(
            reason='at most %d networks at once' % MAX_NETWORKS)
    if num_networks * network_size > fixed.size:
        raise exception.InvalidInput(
            reason='%d networks of %d addresses do not fit in %s (%d '
            'addresses)' % (num_networks, network_size, fixed.cidr,
                            fixed.size))
    if num_networks * network_size > MAX_ADDRESSES:
        raise exception.InvalidInput(
            reason='at most %d addresses at once' % MAX_ADDRESSES)
    prefix = 32 - (network_size.bit_length() - 1)
    subnets = []
    for index, subnet in enumerate(fixed.subnet(prefix)):
        if index >= num_networks:
            break
        subnets.append(subnet)
    taken = [netaddr.IPNetwork(c) for c in existing_cidrs if c]
    for subnet in subnets:
        for other in taken:
            if subnet in other or other in subnet:
                raise exception.InvalidInput(
                    reason='%s overlaps the existing network %s'
                    % (subnet, other))
    return subnets


def build_network_info(fixed_ip, network, mac):
    """One entry of network_info from a fixed IP row and its network row."""
    dns = [d.strip() for d in (network['dns'] or FLAGS.flat_network_dns
                               or '').split(',') if d.strip()]
    return {'bridge': network['bridge'],
            'ip': fixed_ip['address'],
            'netmask': network['netmask'],
            'gateway': network['gateway'],
            'broadcast': network['broadcast'],
            'cidr': network['cidr'],
            'dns': dns,
            'mac': mac,
            'dhcp_server': network['gateway'],
            'injected': bool(network['injected']),
            'vlan': network['vlan'],
            'label': network['label'] or 'private'}


class NetworkManager(manager.Manager):
    """Common base of the networking modes: networks and fixed addresses."""

    # -- networks (nova-manage network create) ---------------------------------

    def network_values(self, index, subnet, label=None):
        """Columns of the network made from ``subnet`` (modes override)."""
        hosts = list(subnet[1:3])
        return {'cidr': str(subnet.cidr),
                'netmask': str(subnet.netmask),
                'gateway': str(hosts[0]),
                'broadcast': str(subnet.broadcast),
                'dhcp_start': str(hosts[1]),
                'bridge': FLAGS.flat_network_bridge,
                'injected': FLAGS.flat_injected,
                'dns': FLAGS.flat_network_dns,
                'label': ('%s_%d' % (label, index) if label and index
                          else label) or 'private_%d' % index}

    def create_networks(self, context, cidr, num_networks, network_size,
                        vlan_start=None, vpn_start=None, cidr_v6=None,
                        label=None):
        """Make networks and their fixed IPs; all of them or none.

        The network address, the gateway and the broadcast address are
        reserved.  (The original forgot the broadcast address, so a guest
        could be handed it; here it is never allocated.)
        """
        ctxt = context.elevated()
        existing = [n['cidr'] for n in db.network_get_all(ctxt)]
        subnets = plan_networks(cidr, num_networks, network_size, existing)
        made = []
        try:
            for index, subnet in enumerate(subnets):
                values = self.network_values(index, subnet, label)
                network = db.network_create(ctxt, values)
                made.append(network)
                reserved = {subnet.network, subnet.broadcast,
                            netaddr.IPAddress(values['gateway'])}
                db.fixed_ip_bulk_create(ctxt, [
                    {'network_id': network['id'], 'address': str(address),
                     'reserved': address in reserved}
                    for address in subnet])
        except Exception:
            for network in made:
                try:
                    db.network_delete_safe(ctxt, network['id'])
                except Exception:  # noqa: BLE001 - report the first error
                    LOG.exception('could not undo network %s',
                                  network['cidr'])
            raise
        LOG.info('created %d network(s) in %s', len(made), cidr)
        return made

    # -- addresses (RPC) -------------------------------------------------------

    def _candidate_networks(self, context, instance_id):
        """Networks an instance may take an address from, in order."""
        return db.network_get_all(context)

    def allocate_for_instance(self, context, instance_id, **kwargs):
        # Few facade calls on purpose: every boot of the cloud passes here.
        ctxt = context.elevated()
        bound = db.fixed_ip_get_all_by_instance(ctxt, instance_id)
        if bound:
            return [self._nw_info(ctxt, fixed_ip) for fixed_ip in bound]
        networks = self._candidate_networks(ctxt, instance_id)
        if not networks:
            raise exception.NetworkNotFound(
                'No networks defined; create one with: nova-manage network '
                'create', network_id=None)
        for network in networks:
            try:
                address = db.fixed_ip_associate_pool(ctxt, network['id'],
                                                     instance_id)
            except exception.FixedIpNotFound:
                continue
            fixed_ip = db.fixed_ip_update(ctxt, address, {'allocated': True})
            LOG.info('allocated %s to instance %s', address, instance_id,
                     context=context)
            return [self._nw_info(ctxt, fixed_ip)]
        raise exception.FixedIpNotFound(
            'No free fixed IP left in any network.', address=None)

    @staticmethod
    def _nw_info(ctxt, fixed_ip):
        network = fixed_ip['network'] or db.network_get(
            ctxt, fixed_ip['network_id'])
        instance = fixed_ip['instance']
        return build_network_info(fixed_ip, network,
                                  instance['mac_address'] if instance
                                  else None)

    def deallocate_for_instance(self, context, instance_id, **kwargs):
        ctxt = context.elevated(read_deleted=False)
        try:
            fixed_ips = db.fixed_ip_get_all_by_instance(ctxt, instance_id)
        except exception.InstanceNotFound:
            # The row may already be gone; its addresses still point at it.
            fixed_ips = [f for f in db.fixed_ip_get_all(ctxt)
                         if f['instance_id'] == instance_id]
        for fixed_ip in fixed_ips:
            db.fixed_ip_update(ctxt, fixed_ip['address'],
                               {'allocated': False, 'leased': False})
            db.fixed_ip_disassociate(ctxt, fixed_ip['address'])
            LOG.info('released %s of instance %s', fixed_ip['address'],
                     instance_id, context=context)
        return [f['address'] for f in fixed_ips]

    def get_instance_nw_info(self, context, instance_id, **kwargs):
        ctxt = context.elevated()
        return [self._nw_info(ctxt, fixed_ip) for fixed_ip in
                db.fixed_ip_get_all_by_instance(ctxt, instance_id)]


class FlatManager(NetworkManager):
    """Guests on one pre-made bridge, addresses injected into the guest."""

    def _candidate_networks(self, context, instance_id):
        networks = db.network_get_all(context)
        return [n for n in networks
                if n['bridge'] == FLAGS.flat_network_bridge] or networks


class FlatDHCPManager(FlatManager):
    """One bridge made by nova, addresses served by dnsmasq (network issue)."""


class VlanManager(FlatManager):
    """A VLAN, bridge, subnet and dnsmasq per project (network issue)."""
