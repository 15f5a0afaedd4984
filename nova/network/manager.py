"""nova-network's managers, one per networking mode (``network_manager``).

The foundation only binds them to the ``network`` topics; addresses, bridges,
dnsmasq and NAT are the network service's work (see the network issue).
"""

from nova import manager


class NetworkManager(manager.Manager):
    """Common base of the networking modes."""


class FlatManager(NetworkManager):
    """Guests on one pre-made bridge, addresses injected into the guest."""


class FlatDHCPManager(FlatManager):
    """One bridge made by nova, addresses served by dnsmasq."""


class VlanManager(NetworkManager):
    """A VLAN, bridge, subnet and dnsmasq per project."""
