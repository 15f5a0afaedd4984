"""Firewall drivers of the libvirt connection: security groups on the host.

``IptablesFirewallDriver`` (the default) filters every guest's traffic with
iptables on its compute host, in ``nova-compute-*`` chains kept by the
process's IptablesManager (nova.network.linux_net.iptables_manager): rules
of the operator, libvirt or nova-network are never touched.

Traffic *to* a guest (chain ``inst-<id>``, selected in ``local`` by
``-d <fixed ip>``, so it sees bridged, routed and host-originated packets:
``local`` is jumped to from FORWARD and OUTPUT through nova-filter-top):

    drop INVALID; accept RELATED,ESTABLISHED;
    accept DHCP answers from the network's DHCP server (udp 67 -> 68);
    accept the project's network when allow_project_net_traffic;
    one ACCEPT per security group rule and source: tcp/udp port ranges,
    icmp type[/code] (-1 = any), from a CIDR or from each fixed address of
    the source group's member instances;
    drop the rest.

Traffic *from* a guest (chain ``src-<id>``, selected in ``local`` and in
INPUT by ``-m physdev --physdev-in <its tap>``): DHCP requests from
0.0.0.0, and packets whose source address is the guest's, go on; a guest
answering DHCP, or claiming another address, is dropped.  This needs
bridged frames to pass iptables (bridge-nf-call-iptables=1, br_netfilter;
the driver checks it once and logs an error when it is off).

Not filtered: MAC addresses and ARP.  ``-m mac`` is refused by the kernel
in chains reachable from OUTPUT (``local`` is), and L2 filtering needs
ebtables or libvirt's nwfilter ``clean-traffic``, whose stock filters are
not installed everywhere (the test namespaces' libvirtd has none).  A guest
can therefore answer ARP for another's address or change its MAC, but its
IP packets with another guest's source address are dropped, so it cannot
impersonate that guest towards a security group rule.

Differences from Bexar, on purpose: source-group rules are enforced (Bexar
ignored them), expanded to the member instances' addresses and recomputed
on ``refresh_security_group_members``; the guest's source address and MAC
are checked with iptables instead of libvirt's nwfilter ``clean-traffic``
(see above); the whole filter
table is no longer rewritten (only nova's own chains).

The driver keeps the guests it filters in memory.  Its first call after the
process starts rebuilds the rules of every instance of this host from the
database before it applies anything, so a restarted nova-compute writes
identical rules and no guest is unfiltered in between (the manager's own
stale chains are replaced in one iptables-restore).  IPv6 (use_ipv6, and a
network_info entry with ``ip6``) gets the same ingress rules with
ip6tables, without the anti-spoofing chain.
"""

import ipaddress
import os
import threading

from nova import context as nova_context
from nova import exception
from nova import flags
from nova import log as logging
from nova.db import api as db

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

DEFAULT_DRIVER = 'nova.virt.libvirt.firewall.IptablesFirewallDriver'
flags.DEFINE_string('firewall_driver', DEFAULT_DRIVER,
                    'class that filters the traffic of libvirt guests')
flags.DEFINE_bool('allow_project_net_traffic', True,
                  'guests accept any traffic from their project\'s network')

BRIDGE_NF_SYSCTL = '/proc/sys/net/bridge/bridge-nf-call-iptables'

# Instances in these states have no guest to filter.
_NO_GUEST = ('error', 'scheduling', 'networking')


class FirewallDriver:
    """What the libvirt connection asks of a firewall."""

    def prepare_instance_filter(self, instance, network_info):
        """Before the guest starts: set up its rules."""
        raise NotImplementedError()

    def apply_instance_filter(self, instance, network_info):
        """After the guest started."""
        raise NotImplementedError()

    def unfilter_instance(self, instance, network_info):
        raise NotImplementedError()

    def refresh_security_group_rules(self, security_group_id):
        raise NotImplementedError()

    def refresh_security_group_members(self, security_group_id):
        raise NotImplementedError()

    def instance_filter(self, instance, vif):
        """(nwfilter name, {parameter: value}) for the guest's NIC, or
        (None, {}) when the domain XML should reference no nwfilter."""
        raise NotImplementedError()


class NoopFirewallDriver(FirewallDriver):
    """Filters nothing: every guest's traffic passes."""

    def __init__(self, conn=None):
        self.conn = conn

    def prepare_instance_filter(self, instance, network_info):
        return None

    def apply_instance_filter(self, instance, network_info):
        return None

    def unfilter_instance(self, instance, network_info):
        return None

    def refresh_security_group_rules(self, security_group_id):
        return None

    def refresh_security_group_members(self, security_group_id):
        return None

    def instance_filter(self, instance, vif):
        return None, {}


# -- rule text -----------------------------------------------------------------

def _version(address):
    return ipaddress.ip_network(address, strict=False).version


def _source(source):
    """``-s`` option of a source network (none for "anywhere")."""
    network = ipaddress.ip_network(source, strict=False)
    if network.prefixlen == 0:
        return ''
    return '-s %s ' % network


def rule_texts(protocol, from_port, to_port, sources, version=4):
    """ACCEPT rules (iptables-save syntax) for one security group rule.

    ``sources`` are networks or addresses of ``version``; others are
    skipped, as are unknown protocols (nothing is admitted for them).
    """
    if protocol in ('tcp', 'udp'):
        ports = str(from_port) if from_port == to_port \
            else '%s:%s' % (from_port, to_port)
        match = '-p %s -m %s --dport %s ' % (protocol, protocol, ports)
    elif protocol == 'icmp':
        proto, module, option = (('icmp', 'icmp', '--icmp-type')
                                 if version == 4 else
                                 ('ipv6-icmp', 'icmp6', '--icmpv6-type'))
        if from_port is None or int(from_port) == -1:
            match = '-p %s ' % proto
        elif to_port is None or int(to_port) == -1:
            match = '-p %s -m %s %s %s ' % (proto, module, option, from_port)
        else:
            match = '-p %s -m %s %s %s/%s ' % (proto, module, option,
                                               from_port, to_port)
    else:
        LOG.warning('ignoring a rule of unknown protocol %r', protocol)
        return []
    texts = []
    for source in sources:
        if _version(source) != version:
            continue
        text = '%s%s-j ACCEPT' % (_source(source), match)
        if text not in texts:
            texts.append(text)
    return texts


def ingress_rules(vif, group_rules, version=4):
    """The rules of a guest's ``inst`` chain.

    ``vif``: {ip, dhcp_server, cidr (, ip6, cidr_v6)};
    ``group_rules``: [(protocol, from_port, to_port, [sources])] with
    source groups already expanded to their members' addresses.
    """
    rules = ['-m state --state INVALID -j DROP',
             '-m state --state RELATED,ESTABLISHED -j ACCEPT']
    if version == 4:
        if vif.get('dhcp_server'):
            rules.append('-s %s/32 -p udp -m udp --sport 67 --dport 68 '
                         '-j ACCEPT' % vif['dhcp_server'])
        project_net = vif.get('cidr')
    else:
        # Neighbour discovery and router advertisements.
        rules.extend('-p ipv6-icmp -m icmp6 --icmpv6-type %d -j ACCEPT' % t
                     for t in (134, 135, 136))
        project_net = vif.get('cidr_v6')
    if FLAGS.allow_project_net_traffic and project_net:
        rules.append('%s-j ACCEPT' % _source(project_net))
    for protocol, from_port, to_port, sources in group_rules:
        for text in rule_texts(protocol, from_port, to_port, sources,
                               version):
            if text not in rules:
                rules.append(text)
    rules.append('-j DROP')
    return rules


def source_rules(vifs):
    """The rules of a guest's ``src`` chain (its own traffic, IPv4)."""
    rules = ['-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 '
             '--dport 67 -j RETURN',
             '-p udp -m udp --sport 67 --dport 68 -j DROP']
    for vif in vifs:
        rules.append('-s %s/32 -j RETURN' % vif['ip'])
    rules.append('-j DROP')
    return rules


# -- the driver ----------------------------------------------------------------

class IptablesFirewallDriver(FirewallDriver):
    """Security groups with iptables; see the module docstring."""

    def __init__(self, conn=None, iptables=None, host=None):
        self.conn = conn
        self._iptables = iptables
        self._host = host
        self.instances = {}     # id -> instance dict
        self.vifs = {}          # id -> [vif dicts]
        self._jumps = {}        # id -> [(chain, rule, top)] selecting it
        self._lock = threading.RLock()
        self._restored = False
        self._checked_bridge = False

    @property
    def iptables(self):
        if self._iptables is None:
            from nova.network import linux_net
            self._iptables = linux_net.iptables_manager
        return self._iptables

    @property
    def host(self):
        return self._host or FLAGS.host

    # -- FirewallDriver --------------------------------------------------------

    def prepare_instance_filter(self, instance, network_info):
        """Write the guest's rules (before it starts, so it is never
        unfiltered); network_info None reads the addresses from the
        database."""
        with self._lock:
            self._ensure_restored()
            vifs = self._vifs(instance, network_info)
            self.instances[instance['id']] = dict(instance)
            self.vifs[instance['id']] = vifs
            self._build(instance['id'], _Lookups())
            self._relink()
            self.iptables.apply()
        self._check_bridge_netfilter()

    def apply_instance_filter(self, instance, network_info):
        """Nothing left to do: prepare_instance_filter wrote everything."""
        return None

    def unfilter_instance(self, instance, network_info):
        with self._lock:
            self._ensure_restored()
            self._remove(instance['id'])
            self.instances.pop(instance['id'], None)
            self.vifs.pop(instance['id'], None)
            self.iptables.apply()

    def refresh_security_group_rules(self, security_group_id):
        self._refresh_all('rules of group %s' % security_group_id)

    def refresh_security_group_members(self, security_group_id):
        self._refresh_all('members of group %s' % security_group_id)

    def instance_filter(self, instance, vif):
        return None, {}

    # -- building --------------------------------------------------------------

    def _refresh_all(self, why):
        """Recompute every guest's rules (one DB read per group, one
        iptables-restore; unchanged chains are not rewritten)."""
        with self._lock:
            self._ensure_restored()
            lookups = _Lookups()
            for instance_id in sorted(self.instances):
                self._build(instance_id, lookups)
            self._relink()
            LOG.debug('refreshed %d guests for %s', len(self.instances), why)
            self.iptables.apply()

    def _chains(self, instance_id):
        return 'inst-%s' % instance_id, 'src-%s' % instance_id

    def _remove(self, instance_id):
        """Drop the guest's chains and the rules jumping to them."""
        inst, src = self._chains(instance_id)
        for table in self._tables():
            table.remove_chain(inst)
        self.iptables.ipv4['filter'].remove_chain(src)
        self._jumps.pop(instance_id, None)

    def _relink(self):
        """Put the selecting jumps of every guest in instance id order, so
        the tables come out the same whatever order guests were built in
        (a restarted process writes byte-identical tables)."""
        for jumps in self._jumps.values():
            for table, chain, rule, top in jumps:
                table.remove_rule(chain, rule, top=top)
        for instance_id in sorted(self._jumps):
            for table, chain, rule, top in self._jumps[instance_id]:
                table.add_rule(chain, rule, top=top)

    def _tables(self):
        tables = [self.iptables.ipv4['filter']]
        if self.iptables.use_ipv6:
            tables.append(self.iptables.ipv6['filter'])
        return tables

    def _build(self, instance_id, lookups):
        """(Re)make the chains of one guest in the manager (not applied)."""
        self._remove(instance_id)
        vifs = [v for v in self.vifs.get(instance_id, []) if v.get('ip')]
        if not vifs:
            LOG.warning('instance %s has no address to filter', instance_id)
            return
        group_rules = lookups.group_rules(instance_id)
        inst, src = self._chains(instance_id)
        jumps = self._jumps[instance_id] = []

        v4 = self.iptables.ipv4['filter']
        v4.add_chain(inst)
        v4.add_chain(src)
        for text in source_rules(vifs):
            v4.add_rule(src, text)
        for vif in vifs:
            # The anti-spoofing jumps go first: a guest's packet must pass
            # its own src chain before another guest's inst chain admits it.
            if vif.get('tap'):
                jump = '-m physdev --physdev-in %s -j $%s' % (vif['tap'], src)
                jumps.append((v4, 'local', jump, True))
                jumps.append((v4, 'INPUT', jump, False))
        for vif in vifs:
            for text in ingress_rules(vif, group_rules, 4):
                v4.add_rule(inst, text)
            jumps.append((v4, 'local', '-d %s/32 -j $%s' % (vif['ip'], inst),
                          False))

        v6_vifs = [v for v in vifs if v.get('ip6')]
        if self.iptables.use_ipv6 and v6_vifs:
            v6 = self.iptables.ipv6['filter']
            v6.add_chain(inst)
            for vif in v6_vifs:
                for text in ingress_rules(vif, group_rules, 6):
                    v6.add_rule(inst, text)
                jumps.append((v6, 'local', '-d %s/128 -j $%s'
                              % (vif['ip6'], inst), False))

    def _vifs(self, instance, network_info):
        """[{ip, mac, dhcp_server, cidr, tap (, ip6, cidr_v6)}] of the guest,
        from network_info or (when None or empty) the database."""
        if not network_info:
            network_info = _network_info_from_db(instance)
        vifs = []
        for index, nic in enumerate(network_info or []):
            vif = {'ip': nic.get('ip'),
                   'mac': nic.get('mac') or instance.get('mac_address'),
                   'dhcp_server': nic.get('dhcp_server') or
                   nic.get('gateway'),
                   'cidr': nic.get('cidr'),
                   'ip6': nic.get('ip6'),
                   'cidr_v6': nic.get('cidr_v6'),
                   'tap': _tap_name(instance, index)}
            vifs.append(vif)
        return vifs

    def _ensure_restored(self):
        """Once per process: take over the guests of this host from the
        database, so the first apply keeps (rather than drops) their
        chains that an earlier nova-compute left in the kernel."""
        if self._restored:
            return
        self._restored = True
        ctxt = nova_context.get_admin_context()
        try:
            rows = db.instance_get_all_by_host(ctxt, self.host)
        except Exception:  # noqa: BLE001 - no DB, nothing to restore
            LOG.exception('could not read the instances of %s to restore '
                          'their firewall', self.host)
            return
        for row in rows:
            if row['state_description'] in _NO_GUEST:
                continue
            instance = {'id': row['id'], 'uuid': row['uuid'],
                        'name': row['name'],
                        'mac_address': row['mac_address']}
            self.instances[row['id']] = instance
            self.vifs[row['id']] = self._vifs(instance, None)
        lookups = _Lookups()
        for instance_id in sorted(self.instances):
            self._build(instance_id, lookups)
        self._relink()
        if self.instances:
            LOG.info('restored the firewall of %d guest(s) of %s',
                     len(self.instances), self.host)

    def _check_bridge_netfilter(self):
        if self._checked_bridge:
            return
        self._checked_bridge = True
        try:
            with open(BRIDGE_NF_SYSCTL) as f:
                enabled = f.read().strip() == '1'
        except OSError:
            enabled = False
        if not enabled and os.path.exists('/proc/sys/net'):
            LOG.error('%s is not 1 (br_netfilter not loaded?): traffic '
                      'between guests on one bridge is not filtered',
                      BRIDGE_NF_SYSCTL)


class _Lookups:
    """Database reads of one rebuild, each group read once."""

    def __init__(self):
        self.ctxt = nova_context.get_admin_context()
        self._members = {}

    def group_rules(self, instance_id):
        """[(protocol, from_port, to_port, [sources])] of the instance's
        groups, source groups expanded to their members' addresses."""
        try:
            groups = db.security_group_get_by_instance(self.ctxt,
                                                       instance_id)
        except exception.InstanceNotFound:
            return []
        result = []
        for group in groups:
            for rule in group['rules']:
                if rule['group_id'] is not None:
                    sources = self.member_addresses(rule['group_id'])
                elif rule['cidr']:
                    sources = [rule['cidr']]
                else:
                    continue
                result.append((rule['protocol'], rule['from_port'],
                               rule['to_port'], sources))
        return result

    def member_addresses(self, group_id):
        if group_id not in self._members:
            addresses = []
            try:
                group = db.security_group_get(self.ctxt, group_id)
            except exception.SecurityGroupNotFound:
                group = {'instances': []}
            for instance in group['instances']:
                for fixed_ip in instance['fixed_ips'] or []:
                    addresses.append(fixed_ip['address'])
            self._members[group_id] = sorted(set(addresses), key=_address_key)
        return self._members[group_id]


def _address_key(address):
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)


def _network_info_from_db(instance):
    ctxt = nova_context.get_admin_context()
    try:
        fixed_ips = db.fixed_ip_get_all_by_instance(ctxt, instance['id'])
    except exception.InstanceNotFound:
        return []
    info = []
    for fixed_ip in fixed_ips:
        network = fixed_ip['network']
        info.append({'ip': fixed_ip['address'],
                     'mac': instance.get('mac_address'),
                     'gateway': network['gateway'] if network else None,
                     'dhcp_server': network['gateway'] if network else None,
                     'cidr': network['cidr'] if network else None,
                     'cidr_v6': network['cidr_v6'] if network else None,
                     'bridge': network['bridge'] if network else None})
    return info


def _tap_name(instance, index):
    if not (instance.get('uuid') or instance.get('name')):
        return None
    from nova.virt.libvirt import connection
    return connection.tap_name(instance, index)
