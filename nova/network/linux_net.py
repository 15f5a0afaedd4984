"""Linux networking of nova hosts: iptables, bridges, VLANs, dnsmasq.

``iptables_manager`` is this process's one IptablesManager (see
nova.network.iptables): nova-network keeps its NAT and forwarding rules in
``nova-network-*`` chains, nova-compute's firewall its per-instance chains
in ``nova-compute-*`` chains.  Change the tables through it, then call
``iptables_manager.apply()``.

nova-network's rules (all in its own chains):

* nat ``nova-network-POSTROUTING``: no NAT from ``fixed_range`` to
  ``dmz_cidr`` or to ``fixed_range`` itself;
* nat ``nova-network-snat`` (jumped to from the bottom of POSTROUTING):
  first ``$floating-snat`` (fixed -> its floating address), then the
  fixed range SNATed to ``routing_source_ip``;
* nat ``nova-network-PREROUTING``: the metadata DNAT
  (169.254.169.254:80 -> ``ec2_dmz_host``:``ec2_port``) and floating
  DNATs; floating DNATs also in ``nova-network-OUTPUT`` so that clients on
  the network host itself reach guests by their floating address;
* filter ``nova-network-FORWARD``: traffic between two nova bridges is
  dropped (projects' VLANs stay apart), traffic in and out of a nova
  bridge accepted.

Every shell command goes through ``utils.execute`` with argument lists and
``run_as_root``; nothing here builds a shell string.
"""

import os
import signal
import threading

import netaddr

from nova import exception
from nova import flags
from nova import log as logging
from nova import utils
from nova.network.iptables import IptablesManager  # noqa: F401 (re-export)
from nova.network.iptables import IptablesTable  # noqa: F401 (re-export)

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

_BIN_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), '..',
                                        '..', 'bin'))

flags.DEFINE_string('networks_path', '$state_path/networks',
                    'directory of the dnsmasq hosts, pid and flag files')
flags.DEFINE_string('dhcpbridge', os.path.join(_BIN_DIR, 'nova-dhcpbridge'),
                    'program dnsmasq runs on lease changes')
flags.DEFINE_string('dhcpbridge_flagfile', '',
                    'flagfile nova-dhcpbridge reads; empty: one nova-network '
                    'writes into networks_path with the flags it needs')
flags.DEFINE_integer('dhcp_lease_time', 120, 'seconds a DHCP lease lasts')
flags.DEFINE_string('dns_server', None,
                    'upstream DNS server of the dnsmasq instances')
flags.DEFINE_string('public_interface', 'eth0',
                    'interface floating IPs are bound to')
flags.DEFINE_string('routing_source_ip', '$my_ip',
                    'address guests\' outbound traffic is SNATed to')
flags.DEFINE_string('dmz_cidr', '10.128.0.0/24',
                    'addresses guests reach without SNAT (the API servers)')
flags.DEFINE_bool('metadata_forward', True,
                  'DNAT 169.254.169.254:80 to ec2_dmz_host:ec2_port')

METADATA_ADDRESS = '169.254.169.254'

# Flags nova-dhcpbridge needs to reach the database and the network host.
DHCPBRIDGE_FLAGS = ('sql_connection', 'rpc_backend', 'transport_url',
                    'rabbit_host', 'rabbit_port', 'rabbit_userid',
                    'rabbit_password', 'rabbit_virtual_host',
                    'control_exchange', 'network_topic', 'host', 'state_path',
                    'networks_path', 'dhcp_lease_time', 'logdir', 'verbose')

iptables_manager = IptablesManager()


def _execute(*cmd, **kwargs):
    kwargs.setdefault('run_as_root', True)
    return utils.execute(*cmd, **kwargs)


def _device_exists(device):
    _out, err = utils.trycmd('ip', '-o', 'link', 'show', 'dev', device,
                             run_as_root=True)
    return not err


# -- host-wide NAT ----------------------------------------------------------

def init_host():
    """The NAT rules every nova-network host has (applied by the caller)."""
    nat = iptables_manager.ipv4['nat']
    fixed = FLAGS.fixed_range
    nat.add_rule('POSTROUTING', '-s %s -d %s -j ACCEPT'
                 % (fixed, FLAGS.dmz_cidr))
    nat.add_rule('POSTROUTING', '-s %s -d %s -j ACCEPT' % (fixed, fixed))
    nat.add_chain('floating-snat')
    nat.add_rule('snat', '-j $floating-snat', top=True)
    nat.add_rule('snat', '-s %s -j SNAT --to-source %s'
                 % (fixed, FLAGS.routing_source_ip))
    if FLAGS.metadata_forward:
        nat.add_rule('PREROUTING', metadata_rule())
    # A namespace or a fresh host may route nothing yet.
    _execute('sysctl', '-w', 'net.ipv4.ip_forward=1')


def metadata_rule():
    return ('-d %s/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination '
            '%s:%s' % (METADATA_ADDRESS, FLAGS.ec2_dmz_host, FLAGS.ec2_port))


# -- floating IPs -----------------------------------------------------------

def floating_forward_rules(floating_ip, fixed_ip):
    """(table chain, rule) of one floating association."""
    return [('PREROUTING', '-d %s/32 -j DNAT --to-destination %s'
             % (floating_ip, fixed_ip)),
            ('OUTPUT', '-d %s/32 -j DNAT --to-destination %s'
             % (floating_ip, fixed_ip)),
            ('floating-snat', '-s %s/32 -j SNAT --to-source %s'
             % (fixed_ip, floating_ip))]


def ensure_floating_forward(floating_ip, fixed_ip):
    nat = iptables_manager.ipv4['nat']
    for chain, rule in floating_forward_rules(floating_ip, fixed_ip):
        nat.add_rule(chain, rule)


def remove_floating_forward(floating_ip, fixed_ip):
    nat = iptables_manager.ipv4['nat']
    for chain, rule in floating_forward_rules(floating_ip, fixed_ip):
        nat.remove_rule(chain, rule)


def bind_floating_ip(floating_ip):
    """Add the address to ``public_interface`` (idempotent)."""
    out, _err = _execute('ip', '-o', '-4', 'addr', 'show', 'dev',
                         FLAGS.public_interface)
    if ' %s/32 ' % floating_ip in out:
        return
    _execute('ip', 'addr', 'add', '%s/32' % floating_ip, 'dev',
             FLAGS.public_interface)


def unbind_floating_ip(floating_ip):
    out, _err = utils.trycmd('ip', '-o', '-4', 'addr', 'show', 'dev',
                             FLAGS.public_interface, run_as_root=True)
    if ' %s/32 ' % floating_ip not in out:
        return
    _execute('ip', 'addr', 'del', '%s/32' % floating_ip, 'dev',
             FLAGS.public_interface)


# -- bridges and VLANs ------------------------------------------------------

def vlan_device(vlan_num):
    return 'vlan%d' % int(vlan_num)


def ensure_vlan(vlan_num, interface):
    """The VLAN device ``vlan<N>`` on ``interface``, up; its name."""
    device = vlan_device(vlan_num)
    if not _device_exists(device):
        LOG.info('making VLAN %s on %s', device, interface)
        _execute('ip', 'link', 'add', 'link', interface, 'name', device,
                 'type', 'vlan', 'id', int(vlan_num))
    _execute('ip', 'link', 'set', device, 'up')
    return device


def ensure_bridge(bridge, interface=None, network=None):
    """The bridge, up, enslaving ``interface``; with ``network`` (a row or
    dict with gateway/cidr/broadcast) it carries the gateway address."""
    if not _device_exists(bridge):
        LOG.info('making bridge %s', bridge)
        _execute('ip', 'link', 'add', bridge, 'type', 'bridge')
    _execute('ip', 'link', 'set', bridge, 'up')
    if interface:
        _execute('ip', 'link', 'set', interface, 'master', bridge)
        _execute('ip', 'link', 'set', interface, 'up')
    if network:
        prefix = netaddr.IPNetwork(network['cidr']).prefixlen
        address = '%s/%d' % (network['gateway'], prefix)
        out, _err = _execute('ip', '-o', '-4', 'addr', 'show', 'dev', bridge)
        if ' %s ' % address not in out:
            _execute('ip', 'addr', 'add', address, 'brd',
                     network['broadcast'], 'dev', bridge)


def ensure_vlan_bridge(vlan_num, bridge, interface, network=None):
    device = ensure_vlan(vlan_num, interface)
    ensure_bridge(bridge, device, network)
    return device


def set_bridge_rules(bridges):
    """FORWARD rules of the nova bridges of this host, rebuilt whole."""
    filt = iptables_manager.ipv4['filter']
    filt.empty_chain('FORWARD')
    bridges = sorted(set(bridges))
    for bridge in bridges:
        for other in bridges:
            if other != bridge:
                filt.add_rule('FORWARD', '-i %s -o %s -j DROP'
                              % (bridge, other))
    for bridge in bridges:
        filt.add_rule('FORWARD', '-i %s -j ACCEPT' % bridge)
        filt.add_rule('FORWARD', '-o %s -j ACCEPT' % bridge)


def setup_compute_network(network_info):
    """On a compute host: the bridges (and VLAN devices) the guest's NICs
    join, as the network service described them in network_info (keys
    ``should_create_bridge``, ``should_create_vlan``, ``bridge_interface``).
    No address: the gateway lives on the network host only."""
    for vif in network_info or []:
        if not vif.get('should_create_bridge'):
            continue
        if vif.get('should_create_vlan'):
            ensure_vlan_bridge(vif['vlan'], vif['bridge'],
                               vif['bridge_interface'])
        else:
            ensure_bridge(vif['bridge'], vif.get('bridge_interface'))


# -- dnsmasq ----------------------------------------------------------------

def _dhcp_file(bridge, kind):
    path = FLAGS.networks_path
    os.makedirs(path, mode=0o755, exist_ok=True)
    return os.path.join(path, 'nova-%s.%s' % (bridge, kind))


def dhcp_hosts(fixed_ips):
    """Hosts file text: ``mac,hostname.novalocal,ip`` per allocated
    address (an address waiting for its lease to end is left out, so
    dnsmasq will not hand it out again)."""
    lines = []
    for fixed_ip in fixed_ips:
        instance = fixed_ip['instance']
        if instance is None or not fixed_ip['allocated']:
            continue
        hostname = instance['hostname'] or instance['name'] or \
            'instance-%08x' % instance['id']
        lines.append('%s,%s.novalocal,%s' % (instance['mac_address'],
                                              hostname, fixed_ip['address']))
    return ''.join(line + '\n' for line in lines)


def _write_atomically(path, text, mode=0o644):
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def dhcpbridge_flagfile():
    """The flagfile nova-dhcpbridge gets (FLAGFILE in dnsmasq's env)."""
    if FLAGS.dhcpbridge_flagfile:
        return FLAGS.dhcpbridge_flagfile
    path = os.path.join(FLAGS.networks_path, 'nova-dhcpbridge.conf')
    lines = []
    for name in DHCPBRIDGE_FLAGS:
        value = FLAGS.get(name)
        if value is None or value == '':
            continue
        if isinstance(value, bool):
            lines.append('--%s%s' % ('' if value else 'no', name))
        else:
            lines.append('--%s=%s' % (name, value))
    os.makedirs(FLAGS.networks_path, mode=0o755, exist_ok=True)
    # It holds the database and broker credentials: root only.
    _write_atomically(path, ''.join(line + '\n' for line in lines), 0o600)
    return path


def dnsmasq_cmd(network, host):
    """The argument list that starts dnsmasq for ``network``."""
    bridge = network['bridge']
    cmd = ['env', 'FLAGFILE=%s' % dhcpbridge_flagfile(),
           'DNSMASQ_INTERFACE=%s' % bridge,
           'NOVA_NETWORK_HOST=%s' % host,
           'dnsmasq', '--strict-order', '--bind-interfaces', '--conf-file=',
           '--pid-file=%s' % _dhcp_file(bridge, 'pid'),
           '--listen-address=%s' % network['gateway'],
           '--except-interface=lo',
           '--dhcp-range=%s,static,%ds' % (network['dhcp_start'],
                                           FLAGS.dhcp_lease_time),
           '--dhcp-hostsfile=%s' % _dhcp_file(bridge, 'conf'),
           '--dhcp-script=%s' % FLAGS.dhcpbridge,
           '--leasefile-ro']
    if FLAGS.dns_server:
        cmd += ['-h', '-R', '--server=%s' % FLAGS.dns_server]
    return cmd


def dnsmasq_pid(bridge):
    """PID of the dnsmasq serving ``bridge`` from our config, or None."""
    pid_file = _dhcp_file(bridge, 'pid')
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            cmdline = f.read().decode('utf-8', 'replace').split('\0')
    except OSError:
        return None
    if '--dhcp-hostsfile=%s' % _dhcp_file(bridge, 'conf') in cmdline:
        return pid
    return None


# Two first instances on a fresh network would otherwise both find no
# dnsmasq and both start one; the second fails to bind the gateway address.
_dhcp_lock = threading.Lock()


def update_dhcp(network, fixed_ips, host):
    """Rewrite the network's hosts file; HUP its dnsmasq, or start one
    when none runs from our config (never a restart per instance)."""
    bridge = network['bridge']
    with _dhcp_lock:
        _write_atomically(_dhcp_file(bridge, 'conf'), dhcp_hosts(fixed_ips))
        pid = dnsmasq_pid(bridge)
        if pid:
            try:
                os.kill(pid, signal.SIGHUP)
                LOG.debug('dnsmasq %d of %s reloaded', pid, bridge)
                return pid
            except ProcessLookupError:
                pass
        LOG.info('starting dnsmasq for %s', bridge)
        _execute(*dnsmasq_cmd(network, host))
        return dnsmasq_pid(bridge)


def kill_dhcp(bridge):
    """Stop the dnsmasq of ``bridge`` (if ours) and remove its files."""
    pid = dnsmasq_pid(bridge)
    if pid:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for kind in ('pid', 'conf'):
        try:
            os.unlink(_dhcp_file(bridge, kind))
        except FileNotFoundError:
            pass
    return pid


def release_dhcp(bridge, address, mac):
    """Make dnsmasq forget the lease now (it then runs ``del``)."""
    try:
        _execute('dhcp_release', bridge, address, mac)
    except exception.ProcessExecutionError as e:
        # Without dnsmasq-utils the lease ends by itself (dhcp_lease_time)
        # or fixed_ip_disassociate_timeout frees the address.
        LOG.warning('dhcp_release %s %s failed: %s', bridge, address, e)
        return False
    return True
