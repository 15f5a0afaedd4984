"""nova-network's managers, one per networking mode (``network_manager``).

FlatManager: guests sit on one bridge (``flat_network_bridge``) that the
operator made on every host beforehand; nova only hands out addresses from
the networks ``nova-manage network create`` made, and the guest's address is
injected (config drive) when ``flat_injected``.

FlatDHCPManager: nova-network makes the bridge (enslaving ``flat_interface``
when set) with the gateway address, runs one dnsmasq per bridge serving
static leases (see nova.network.linux_net) and NATs the guests.

VlanManager: every project gets a network of its own on first use, with its
VLAN (``vlan<N>`` on ``vlan_interface``), bridge ``br<N>``, subnet and
dnsmasq; traffic between two projects' bridges is dropped.

RPC methods (topic ``network``; ``network.<host>`` for host work):

* ``allocate_for_instance(instance_id)`` -> network_info, a list of dicts
  {bridge, ip, netmask, gateway, broadcast, cidr, dns, mac, dhcp_server,
  injected, vlan, label, should_create_bridge, should_create_vlan,
  bridge_interface}; asking again for an instance that already has an
  address returns that address (a retried call allocates nothing new).
  The last three tell a compute host which bridge (and VLAN device) to make
  before it plugs the guest in (nova.network.linux_net.setup_compute_network).
* ``deallocate_for_instance(instance_id)``: frees every address of the
  instance (and unbinds floating addresses pointing at them); freeing
  nothing is fine.
* ``get_instance_nw_info(instance_id)`` -> network_info of what is bound.
* ``lease_fixed_ip(address, mac)`` / ``release_fixed_ip(address, mac)``:
  casts from nova-dhcpbridge when dnsmasq grants or ends a lease.
* ``update_dhcp(network_id)``: the network's host rewrites its hosts file.
* ``allocate_floating_ip(project_id)``, ``associate_floating_ip(
  floating_address, fixed_address)``, ``disassociate_floating_ip(
  floating_address)``: see nova.network.api, which checks ownership and
  quota before it calls these.

Fixed IP lifecycle (DHCP modes): allocated at run (``allocated``), leased
when dnsmasq says the guest with the right MAC took it (``leased``),
deallocated at terminate (dnsmasq told to forget the lease at once with
dhcp_release), disassociated when the lease ends -- or, if dnsmasq never
says so, by the periodic task after ``fixed_ip_disassociate_timeout``.  An
address is never handed to a second instance while still associated.

Two instances never get one address: the pick is an atomic claim in the
database (``db.fixed_ip_associate_pool``), safe across network services.
"""

import datetime

import netaddr

from nova import exception
from nova import flags
from nova import log as logging
from nova import manager
from nova import rpc
from nova import utils
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
flags.DEFINE_string('vlan_interface', 'eth0',
                    'interface the VLANs of VlanManager ride on; empty: no '
                    '802.1Q devices, each project\'s bridge stands alone '
                    '(one host, or a kernel without VLAN support)')
flags.DEFINE_integer('fixed_ip_disassociate_timeout', 600,
                     'seconds after which a deallocated fixed IP whose '
                     'lease end was never reported is freed')

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


def build_network_info(fixed_ip, network, mac, **extra):
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
            'label': network['label'] or 'private',
            'should_create_bridge': False,
            'should_create_vlan': False,
            'bridge_interface': None,
            **extra}


class NetworkManager(manager.Manager):
    """Common base of the networking modes: networks and fixed addresses."""

    # -- networks (nova-manage network create) ---------------------------------

    def network_values(self, index, subnet, label=None, **kwargs):
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

    def check_create_args(self, num_networks, vlan_start, vpn_start):
        """Mode-specific validation before anything is written."""

    def create_networks(self, context, cidr, num_networks, network_size,
                        vlan_start=None, vpn_start=None, cidr_v6=None,
                        label=None):
        """Make networks and their fixed IPs; all of them or none.

        The network address, the gateway and the broadcast address are
        reserved (and VlanManager's VPN address).  (The original forgot the
        broadcast address, so a guest could be handed it; here it is never
        allocated.)
        """
        ctxt = context.elevated()
        existing = [n['cidr'] for n in db.network_get_all(ctxt)]
        subnets = plan_networks(cidr, num_networks, network_size, existing)
        self.check_create_args(len(subnets), vlan_start, vpn_start)
        made = []
        try:
            for index, subnet in enumerate(subnets):
                values = self.network_values(index, subnet, label,
                                             vlan_start=vlan_start,
                                             vpn_start=vpn_start)
                network = db.network_create(ctxt, values)
                made.append(network)
                reserved = {subnet.network, subnet.broadcast,
                            netaddr.IPAddress(values['gateway'])}
                if values.get('vpn_private_address'):
                    reserved.add(netaddr.IPAddress(
                        values['vpn_private_address']))
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
            self._address_allocated(ctxt, fixed_ip)
            return [self._nw_info(ctxt, fixed_ip)]
        raise exception.FixedIpNotFound(
            'No free fixed IP left in any network.', address=None)

    def _address_allocated(self, ctxt, fixed_ip):
        """Host work after an address was bound (DHCP modes)."""

    def vif_extra(self, network):
        """Keys of network_info that tell compute what to build."""
        return {}

    def _nw_info(self, ctxt, fixed_ip):
        network = fixed_ip['network'] or db.network_get(
            ctxt, fixed_ip['network_id'])
        instance = fixed_ip['instance']
        return build_network_info(fixed_ip, network,
                                  instance['mac_address'] if instance
                                  else None, **self.vif_extra(network))

    def _instance_fixed_ips(self, ctxt, instance_id):
        try:
            return db.fixed_ip_get_all_by_instance(ctxt, instance_id)
        except exception.InstanceNotFound:
            # The row may already be gone; its addresses still point at it.
            return [f for f in db.fixed_ip_get_all(ctxt)
                    if f['instance_id'] == instance_id]

    def deallocate_for_instance(self, context, instance_id, **kwargs):
        ctxt = context.elevated(read_deleted=False)
        fixed_ips = self._instance_fixed_ips(ctxt, instance_id)
        for fixed_ip in fixed_ips:
            self._unbind_floating_ips(ctxt, fixed_ip)
            self._deallocate_address(ctxt, fixed_ip)
            LOG.info('released %s of instance %s', fixed_ip['address'],
                     instance_id, context=context)
        return [f['address'] for f in fixed_ips]

    def _deallocate_address(self, ctxt, fixed_ip):
        db.fixed_ip_update(ctxt, fixed_ip['address'],
                           {'allocated': False, 'leased': False})
        db.fixed_ip_disassociate(ctxt, fixed_ip['address'])

    def get_instance_nw_info(self, context, instance_id, **kwargs):
        ctxt = context.elevated()
        return [self._nw_info(ctxt, fixed_ip) for fixed_ip in
                db.fixed_ip_get_all_by_instance(ctxt, instance_id)]

    # -- floating IPs (RPC) ----------------------------------------------------

    def init_host(self):
        """Rebind this host's associated floating IPs and rebuild their NAT
        (nothing is touched on a host that has none)."""
        ctxt = _admin_context()
        floating_ips = [f for f in db.floating_ip_get_all_by_host(
            ctxt, self.host) if f['fixed_ip'] is not None]
        if not floating_ips:
            return
        self._init_nat()
        self._rebind_floating_ips(ctxt, floating_ips)
        self._apply()

    def _init_nat(self):
        from nova.network import linux_net
        linux_net.init_host()

    def _rebind_floating_ips(self, ctxt, floating_ips=None):
        from nova.network import linux_net
        if floating_ips is None:
            floating_ips = [f for f in db.floating_ip_get_all_by_host(
                ctxt, self.host) if f['fixed_ip'] is not None]
        for floating in floating_ips:
            linux_net.bind_floating_ip(floating['address'])
            linux_net.ensure_floating_forward(floating['address'],
                                              floating['fixed_ip']['address'])

    @staticmethod
    def _apply():
        from nova.network import linux_net
        linux_net.iptables_manager.apply()

    def allocate_floating_ip(self, context, project_id, **kwargs):
        """A free address of this host's pool for the project (the API
        checked the quota)."""
        address = db.floating_ip_allocate_address(context, self.host,
                                                  project_id)
        LOG.info('floating ip %s allocated to project %s', address,
                 project_id, context=context)
        return address

    def associate_floating_ip(self, context, floating_address, fixed_address,
                              **kwargs):
        """Bind the floating address here and NAT it to the fixed one."""
        from nova.network import linux_net
        ctxt = context.elevated()
        floating = db.floating_ip_get_by_address(ctxt, floating_address)
        if floating['host'] != self.host:
            raise exception.InvalidState(
                reason='floating ip %s belongs to host %s, not %s'
                % (floating_address, floating['host'], self.host))
        current = floating['fixed_ip']
        if current is not None and current['address'] != fixed_address:
            raise exception.InvalidState(
                reason='floating ip %s is associated with %s'
                % (floating_address, current['address']))
        db.fixed_ip_get_by_address(ctxt, fixed_address)
        self._init_nat()
        db.floating_ip_fixed_ip_associate(ctxt, floating_address,
                                          fixed_address)
        try:
            linux_net.bind_floating_ip(floating_address)
            linux_net.ensure_floating_forward(floating_address, fixed_address)
            self._apply()
        except Exception:
            db.floating_ip_disassociate(ctxt, floating_address)
            linux_net.remove_floating_forward(floating_address,
                                              fixed_address)
            raise
        LOG.info('floating ip %s -> %s', floating_address, fixed_address,
                 context=context)

    def disassociate_floating_ip(self, context, floating_address, **kwargs):
        """Unbind the floating address; returns the fixed one it had."""
        from nova.network import linux_net
        ctxt = context.elevated()
        fixed_address = db.floating_ip_disassociate(ctxt, floating_address)
        if fixed_address:
            linux_net.remove_floating_forward(floating_address, fixed_address)
        linux_net.unbind_floating_ip(floating_address)
        self._apply()
        LOG.info('floating ip %s released from %s', floating_address,
                 fixed_address, context=context)
        return fixed_address

    def _unbind_floating_ips(self, ctxt, fixed_ip):
        """A freed fixed address must not stay the target of a floating
        one: the next instance given the address would receive its
        traffic.  (The original left those NAT rules behind.)"""
        for floating in fixed_ip['floating_ips'] or []:
            if floating['deleted']:
                continue
            address = floating['address']
            if floating['host'] == self.host:
                self.disassociate_floating_ip(ctxt, address)
            else:
                rpc.call(ctxt, '%s.%s' % (FLAGS.network_topic,
                                          floating['host']),
                         {'method': 'disassociate_floating_ip',
                          'args': {'floating_address': address}})


class FlatManager(NetworkManager):
    """Guests on one pre-made bridge, addresses injected into the guest."""

    def _candidate_networks(self, context, instance_id):
        networks = db.network_get_all(context)
        return [n for n in networks
                if n['bridge'] == FLAGS.flat_network_bridge] or networks


class DHCPManagerMixin:
    """Bridges, dnsmasq, NAT and the lease lifecycle of the DHCP modes."""

    def init_host(self):
        """Rebuild this host from the database: NAT, the networks it owns
        (bridge, dnsmasq, hosts file), floating IPs, every rule."""
        ctxt = _admin_context()
        self._init_nat()
        self._networks_ready = set()
        for network in db.network_get_all_by_host(ctxt, self.host):
            self._setup_network(ctxt, network, apply=False)
        self._rebind_floating_ips(ctxt)
        self._apply()

    def network_values(self, index, subnet, label=None, **kwargs):
        values = super().network_values(index, subnet, label, **kwargs)
        values['injected'] = False
        return values

    def _bridge_interface(self, network):
        return FLAGS.flat_interface

    def vif_extra(self, network):
        return {'should_create_bridge': True,
                'bridge_interface': self._bridge_interface(network)}

    def _ensure_bridge(self, network):
        from nova.network import linux_net
        linux_net.ensure_bridge(network['bridge'],
                                self._bridge_interface(network), network)

    def _setup_network(self, ctxt, network, apply=True):
        """Bridge with the gateway, forwarding rules and dnsmasq for a
        network this host owns."""
        from nova.network import linux_net
        ready = getattr(self, '_networks_ready', None)
        if ready is None:
            ready = self._networks_ready = set()
        if network['id'] not in ready:
            self._ensure_bridge(network)
            linux_net.set_bridge_rules(
                n['bridge'] for n in db.network_get_all_by_host(
                    ctxt, self.host))
            if apply:
                self._apply()
            ready.add(network['id'])
        self._update_dhcp(ctxt, network)

    def _update_dhcp(self, ctxt, network):
        from nova.network import linux_net
        linux_net.update_dhcp(
            network, db.network_get_associated_fixed_ips(ctxt, network['id']),
            self.host)

    def _network_host(self, ctxt, network):
        """The network's host, claiming it for this one if it has none."""
        if network['host']:
            return network['host']
        return db.network_set_host(ctxt, network['id'], self.host)

    def _refresh_network(self, ctxt, network):
        """Bring the network's host up to date (here, or by a cast)."""
        host = self._network_host(ctxt, network)
        if host == self.host:
            if not getattr(self, '_nat_ready', False):
                self._init_nat()
                self._nat_ready = True
            self._setup_network(ctxt, network)
        else:
            rpc.cast(ctxt, '%s.%s' % (FLAGS.network_topic, host),
                     {'method': 'update_dhcp',
                      'args': {'network_id': network['id']}})
        return host

    def update_dhcp(self, context, network_id, **kwargs):
        ctxt = context.elevated()
        network = db.network_get(ctxt, network_id)
        if self._network_host(ctxt, network) != self.host:
            LOG.warning('network %s is not served by %s', network_id,
                        self.host)
            return
        self._setup_network(ctxt, network)

    def _address_allocated(self, ctxt, fixed_ip):
        network = fixed_ip['network'] or db.network_get(
            ctxt, fixed_ip['network_id'])
        self._refresh_network(ctxt, network)

    def _deallocate_address(self, ctxt, fixed_ip):
        """Deallocate; the association ends with the lease.  An address
        never leased is freed now; a leased one is taken from dnsmasq with
        dhcp_release, whose ``del`` comes back as release_fixed_ip."""
        address = fixed_ip['address']
        network = fixed_ip['network'] or db.network_get(
            ctxt, fixed_ip['network_id'])
        leased = bool(fixed_ip['leased'])
        db.fixed_ip_update(ctxt, address, {'allocated': False})
        if not leased:
            db.fixed_ip_disassociate(ctxt, address)
        host = self._network_host(ctxt, network)
        mac = fixed_ip['instance']['mac_address'] \
            if fixed_ip['instance'] else None
        if host == self.host:
            # Release first: the HUP that follows makes dnsmasq report its
            # remaining leases as "old", and this one must not be among them.
            if leased and mac:
                self._forget_lease(network, address, mac)
            self._setup_network(ctxt, network)
        else:
            rpc.cast(ctxt, '%s.%s' % (FLAGS.network_topic, host),
                     {'method': 'forget_lease',
                      'args': {'network_id': network['id'],
                               'address': address, 'mac': mac}})

    @staticmethod
    def _forget_lease(network, address, mac):
        from nova.network import linux_net
        linux_net.release_dhcp(network['bridge'], address, mac)

    def forget_lease(self, context, network_id, address, mac, **kwargs):
        ctxt = context.elevated()
        network = db.network_get(ctxt, network_id)
        self._setup_network(ctxt, network)
        if mac:
            self._forget_lease(network, address, mac)

    def lease_fixed_ip(self, context, address, mac=None, **kwargs):
        """dnsmasq granted (or renewed) a lease: mark it leased if the
        address is bound to the instance with that MAC."""
        ctxt = context.elevated()
        fixed_ip = db.fixed_ip_get_by_address(ctxt, address)
        instance = fixed_ip['instance']
        if instance is None:
            LOG.warning('lease of %s, which no instance holds', address)
            return False
        if mac and instance['mac_address'].lower() != mac.lower():
            LOG.warning('lease of %s to %s, but it belongs to %s', address,
                        mac, instance['mac_address'])
            return False
        if not fixed_ip['allocated']:
            # A deallocated address whose lease dnsmasq still reports: it
            # is on its way out, do not mark it leased again.
            LOG.warning('lease of %s, which is not allocated', address)
            return False
        db.fixed_ip_update(ctxt, address, {'leased': True})
        return True

    def release_fixed_ip(self, context, address, mac=None, **kwargs):
        """dnsmasq ended a lease: not leased any more, and once not
        allocated either the address is free."""
        ctxt = context.elevated()
        fixed_ip = db.fixed_ip_get_by_address(ctxt, address)
        instance = fixed_ip['instance']
        if instance is None:
            LOG.warning('release of %s, which no instance holds', address)
            return False
        if mac and instance['mac_address'].lower() != mac.lower():
            LOG.warning('release of %s by %s, but it belongs to %s',
                        address, mac, instance['mac_address'])
            return False
        db.fixed_ip_update(ctxt, address, {'leased': False})
        if not fixed_ip['allocated']:
            db.fixed_ip_disassociate(ctxt, address)
            LOG.info('%s is free again', address)
        return True

    @manager.periodic_task
    def disassociate_stale_fixed_ips(self, context):
        """Free deallocated addresses whose lease end never came."""
        ctxt = context.elevated()
        cutoff = utils.utcnow() - datetime.timedelta(
            seconds=FLAGS.fixed_ip_disassociate_timeout)
        count = db.fixed_ip_disassociate_all_by_timeout(ctxt, self.host,
                                                        cutoff)
        if count:
            LOG.info('freed %d fixed ip(s) whose lease end never came',
                     count)
        return count


class FlatDHCPManager(DHCPManagerMixin, FlatManager):
    """One bridge made by nova, addresses served by dnsmasq."""


class VlanManager(DHCPManagerMixin, NetworkManager):
    """A VLAN, bridge, subnet and dnsmasq per project."""

    def check_create_args(self, num_networks, vlan_start, vpn_start):
        vlan_start = _int_arg('vlan_start', vlan_start or FLAGS.vlan_start,
                              1)
        if vlan_start + num_networks - 1 > 4094:
            raise exception.InvalidInput(
                reason='VLANs %d..%d do not fit below 4095'
                % (vlan_start, vlan_start + num_networks - 1))
        _int_arg('vpn_start', vpn_start or FLAGS.vpn_start, 1)

    def network_values(self, index, subnet, label=None, vlan_start=None,
                       vpn_start=None, **kwargs):
        values = super().network_values(index, subnet, label)
        vlan = int(vlan_start or FLAGS.vlan_start) + index
        hosts = list(subnet[1:4])
        values.update({'vlan': vlan,
                       'bridge': 'br%d' % vlan,
                       'vpn_private_address': str(hosts[1]),
                       'vpn_public_port': int(vpn_start or FLAGS.vpn_start)
                       + index,
                       'dhcp_start': str(hosts[2])})
        return values

    def _candidate_networks(self, context, instance_id):
        instance = db.instance_get(context, instance_id)
        return [db.project_get_network(context, instance['project_id'])]

    def _bridge_interface(self, network):
        return FLAGS.vlan_interface or None

    def vif_extra(self, network):
        extra = super().vif_extra(network)
        extra['should_create_vlan'] = bool(FLAGS.vlan_interface)
        return extra

    def _ensure_bridge(self, network):
        from nova.network import linux_net
        if not FLAGS.vlan_interface:
            linux_net.ensure_bridge(network['bridge'], None, network)
            return
        linux_net.ensure_vlan_bridge(network['vlan'], network['bridge'],
                                     FLAGS.vlan_interface, network)


def _admin_context():
    from nova import context
    return context.get_admin_context()
