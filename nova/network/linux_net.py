"""Linux networking of nova hosts: iptables, bridges, VLANs, dnsmasq.

``iptables_manager`` is this process's one IptablesManager (see
nova.network.iptables): nova-network keeps its NAT and forwarding rules in
``nova-network-*`` chains, nova-compute's firewall its per-instance chains
in ``nova-compute-*`` chains.  Change the tables through it, then call
``iptables_manager.apply()``.
"""

from nova.network.iptables import IptablesManager  # noqa: F401 (re-export)
from nova.network.iptables import IptablesTable  # noqa: F401 (re-export)

iptables_manager = IptablesManager()
