"""Firewall drivers of the libvirt connection.

Security groups arrive with the network issue (iptables and nwfilter
drivers).  Until then the only driver is ``NoopFirewallDriver``; the
interface below is what LibvirtConnection calls, so a real driver only has
to be named by the ``firewall_driver`` flag.
"""

from nova import flags

FLAGS = flags.FLAGS

DEFAULT_DRIVER = 'nova.virt.libvirt.firewall.NoopFirewallDriver'
flags.DEFINE_string('firewall_driver', DEFAULT_DRIVER,
                    'class that filters the traffic of libvirt guests')


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
