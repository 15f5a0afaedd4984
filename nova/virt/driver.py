"""The interface every hypervisor driver implements.

Only nova-compute's manager calls a driver.  ``instance`` is always a plain
dict the manager builds from the instance row (see
``nova.compute.manager.instance_dict``): id, uuid, name (``instance-%08x``),
hostname, image_id, kernel_id, ramdisk_id (None or '' for a whole-disk
image), memory_mb, vcpus, local_gb, mac_address, key_name, key_data,
user_data (base64 text or None), project_id, user_id, display_name,
launch_index, reservation_id, availability_zone, metadata (dict), os_type.

``network_info`` is a list of dicts, one per virtual NIC: bridge, ip,
netmask, gateway, broadcast, cidr, dns (list), mac, dhcp_server, injected
(bool), vlan, label.

Errors: a missing guest raises ``nova.exception.InstanceNotFound``; anything
else raises whatever describes it (the manager records the message on the
instance).  ``spawn`` that fails must remove everything it made before it
raises; ``destroy`` is idempotent.
"""


class ComputeDriver:
    """Base class: every method says it is not implemented."""

    def init_host(self, host):
        """Called once when nova-compute starts on ``host``."""
        raise NotImplementedError()

    def list_instances(self):
        """Names of the guests this hypervisor knows."""
        raise NotImplementedError()

    def get_info(self, instance_name):
        """{'state', 'max_mem' (KiB), 'mem' (KiB), 'num_cpu', 'cpu_time' (ns)}.

        Raises InstanceNotFound when there is no such guest.
        """
        raise NotImplementedError()

    def spawn(self, context, instance, network_info):
        """Create the guest's disks and domain and boot it."""
        raise NotImplementedError()

    def destroy(self, instance, network_info=None, cleanup=True):
        """Stop the guest and remove it; with cleanup, its disks too."""
        raise NotImplementedError()

    def reboot(self, instance, network_info):
        raise NotImplementedError()

    def pause(self, instance):
        raise NotImplementedError()

    def unpause(self, instance):
        raise NotImplementedError()

    def suspend(self, instance):
        raise NotImplementedError()

    def resume(self, instance):
        raise NotImplementedError()

    def rescue(self, context, instance, network_info, rescue_image_id=None):
        raise NotImplementedError()

    def unrescue(self, instance, network_info):
        raise NotImplementedError()

    def snapshot(self, context, instance, image_id):
        """Upload the root disk into the already-created image ``image_id``."""
        raise NotImplementedError()

    def get_console_output(self, instance):
        raise NotImplementedError()

    def get_diagnostics(self, instance):
        raise NotImplementedError()

    def set_admin_password(self, instance, new_pass):
        raise NotImplementedError()

    def attach_volume(self, instance_name, connection_info, mountpoint):
        raise NotImplementedError()

    def detach_volume(self, instance_name, mountpoint):
        raise NotImplementedError()

    def get_host_stats(self, refresh=False):
        """{vcpus, vcpus_used, memory_mb, memory_mb_used, local_gb,
        local_gb_used, hypervisor_type, hypervisor_version,
        hypervisor_hostname}"""
        raise NotImplementedError()

    def plug_vifs(self, instance, network_info):
        """Make sure the guest's NICs are wired (bridges exist)."""
        raise NotImplementedError()

    # Firewalling arrives with the network issue; drivers may keep these
    # as no-ops until then, so the base class does too.
    def refresh_security_group_rules(self, security_group_id):
        return None

    def refresh_security_group_members(self, security_group_id):
        return None

    def ensure_filtering_rules_for_instance(self, instance, network_info):
        return None

    def unfilter_instance(self, instance, network_info):
        return None
