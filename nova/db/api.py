"""The one facade over nova's datastore.

Every function takes the request context first and forwards to the backend
named by the ``db_backend`` flag (only ``sqlalchemy`` exists).  Nothing
outside nova/db imports SQLAlchemy: callers use these functions and the rows
they return.

What callers can rely on:

* Rows read both as ``row.name`` and ``row['name']`` and have ``get``,
  ``items()``/``iteritems()``, ``keys()`` and ``update(dict)``; ``dict(row)``
  gives the columns.  They stay fully readable after the call returns
  (relationships such as ``instance.fixed_ips`` (``instance.fixed_ip`` is
  the first or None), ``instance.security_groups``, ``instance.volumes``,
  ``instance.instance_type``, ``fixed_ip.network``, ``fixed_ip.floating_ips``,
  ``security_group.rules`` and ``project.members`` are loaded).  Changing a
  row object does not write it: call the matching ``*_update``.
* A missing row raises the matching ``nova.exception`` NotFound subclass
  (``InstanceNotFound``, ``UserNotFound``...); a unique violation raises
  ``exception.Duplicate``; a reference to a missing row
  ``exception.InvalidInput``; other database failures ``exception.DBError``.
* Soft-deleted rows are invisible unless ``context.read_deleted``.
* A non-admin context sees only its own project's instances, volumes,
  security groups, floating IPs and networks, and only its own key pairs;
  asking by another project's or user's id raises ``NotAuthorized``;
  cloud-internal functions (users, projects, roles, services writes,
  networks, certificates...) raise ``AdminRequired``.
"""

import importlib
import threading

from nova import flags

FLAGS = flags.FLAGS

flags.DEFINE_string('db_backend', 'sqlalchemy',
                    'the backend behind nova.db.api (nova.db.<name>.api)')
flags.DEFINE_string('instance_name_template', 'instance-%08x',
                    'name of an instance from its id (or %(id)s/%(uuid)s)')
flags.DEFINE_string('volume_name_template', 'volume-%08x',
                    'name of a volume from its id')


class _Backend:
    """Imports the backend on first use, after the flags are read."""

    def __init__(self):
        self._module = None
        self._lock = threading.Lock()

    def __getattr__(self, name):
        if self._module is None:
            with self._lock:
                if self._module is None:
                    self._module = importlib.import_module(
                        'nova.db.%s.api' % FLAGS.db_backend)
        return getattr(self._module, name)


IMPL = _Backend()


# -- services -----------------------------------------------------------------

def service_get(context, service_id):
    return IMPL.service_get(context, service_id)


def service_get_all(context, disabled=None):
    return IMPL.service_get_all(context, disabled=disabled)


def service_get_all_by_topic(context, topic):
    """Enabled services of a topic (what a scheduler may choose from)."""
    return IMPL.service_get_all_by_topic(context, topic)


def service_get_by_host_and_topic(context, host, topic):
    return IMPL.service_get_by_host_and_topic(context, host, topic)


def service_get_all_by_host(context, host):
    return IMPL.service_get_all_by_host(context, host)


def service_get_by_args(context, host, binary):
    """The service of ``binary`` on ``host`` (ServiceNotFound otherwise)."""
    return IMPL.service_get_by_args(context, host, binary)


def service_get_all_compute_sorted(context):
    """[(service, vcpus of its live instances)], least loaded first."""
    return IMPL.service_get_all_compute_sorted(context)


def service_get_all_volume_sorted(context):
    """[(service, gigabytes of its live volumes)], least loaded first."""
    return IMPL.service_get_all_volume_sorted(context)


def service_get_all_network_sorted(context):
    """[(service, number of its networks)], least loaded first."""
    return IMPL.service_get_all_network_sorted(context)


def service_create(context, values):
    """A new service row, disabled unless ``enable_new_services``."""
    return IMPL.service_create(context, values)


def service_update(context, service_id, values):
    return IMPL.service_update(context, service_id, values)


def service_destroy(context, service_id):
    return IMPL.service_destroy(context, service_id)


# -- users, projects and roles ------------------------------------------------

def user_get(context, user_id):
    return IMPL.user_get(context, user_id)


def user_get_by_access_key(context, access_key):
    return IMPL.user_get_by_access_key(context, access_key)


def user_get_all(context):
    return IMPL.user_get_all(context)


def user_create(context, values):
    return IMPL.user_create(context, values)


def user_update(context, user_id, values):
    return IMPL.user_update(context, user_id, values)


def user_delete(context, user_id):
    """Remove a user, its role and project links, and its key pairs."""
    return IMPL.user_delete(context, user_id)


def project_create(context, values):
    """Create a project; ``values['members']`` may list member user ids."""
    return IMPL.project_create(context, values)


def project_get(context, project_id):
    return IMPL.project_get(context, project_id)


def project_get_all(context):
    return IMPL.project_get_all(context)


def project_get_by_user(context, user_id):
    """Projects the user is a member of."""
    return IMPL.project_get_by_user(context, user_id)


def project_update(context, project_id, values):
    return IMPL.project_update(context, project_id, values)


def project_delete(context, project_id):
    return IMPL.project_delete(context, project_id)


def project_add_member(context, project_id, user_id):
    return IMPL.project_add_member(context, project_id, user_id)


def project_remove_member(context, project_id, user_id):
    """Remove a member and the roles it held in the project."""
    return IMPL.project_remove_member(context, project_id, user_id)


def user_get_roles(context, user_id):
    return IMPL.user_get_roles(context, user_id)


def user_get_roles_for_project(context, user_id, project_id):
    return IMPL.user_get_roles_for_project(context, user_id, project_id)


def user_add_role(context, user_id, role):
    return IMPL.user_add_role(context, user_id, role)


def user_remove_role(context, user_id, role):
    return IMPL.user_remove_role(context, user_id, role)


def user_add_project_role(context, user_id, project_id, role):
    return IMPL.user_add_project_role(context, user_id, project_id, role)


def user_remove_project_role(context, user_id, project_id, role):
    return IMPL.user_remove_project_role(context, user_id, project_id, role)


# -- auth tokens --------------------------------------------------------------

def auth_token_create(context, values):
    return IMPL.auth_token_create(context, values)


def auth_token_get(context, token_hash):
    """The token row (TokenNotFound otherwise); callers check ``expires``."""
    return IMPL.auth_token_get(context, token_hash)


def auth_token_update(context, token_hash, values):
    return IMPL.auth_token_update(context, token_hash, values)


def auth_token_destroy(context, token_hash):
    return IMPL.auth_token_destroy(context, token_hash)


def auth_token_destroy_expired(context, before):
    """Remove tokens whose ``expires`` is earlier than ``before``."""
    return IMPL.auth_token_destroy_expired(context, before)


# -- quotas and usage ---------------------------------------------------------

def quota_create(context, values):
    return IMPL.quota_create(context, values)


def quota_get(context, project_id):
    """The project's quota row; NotFound means the flag defaults apply."""
    return IMPL.quota_get(context, project_id)


def quota_update(context, project_id, values):
    return IMPL.quota_update(context, project_id, values)


def quota_destroy(context, project_id):
    return IMPL.quota_destroy(context, project_id)


def instance_data_get_for_project(context, project_id):
    """(live instance count, their total vcpus) of a project."""
    return IMPL.instance_data_get_for_project(context, project_id)


def volume_data_get_for_project(context, project_id):
    """(live volume count, their total gigabytes) of a project."""
    return IMPL.volume_data_get_for_project(context, project_id)


def floating_ip_count_by_project(context, project_id):
    return IMPL.floating_ip_count_by_project(context, project_id)


# -- certificates -------------------------------------------------------------

def certificate_create(context, values):
    """Record an issued certificate (user_id, project_id, file_name)."""
    return IMPL.certificate_create(context, values)


def certificate_get_all_by_project(context, project_id):
    return IMPL.certificate_get_all_by_project(context, project_id)


def certificate_get_all_by_user(context, user_id):
    return IMPL.certificate_get_all_by_user(context, user_id)


def certificate_get_all_by_user_and_project(context, user_id, project_id):
    return IMPL.certificate_get_all_by_user_and_project(
        context, user_id, project_id)


def certificate_destroy(context, certificate_id):
    return IMPL.certificate_destroy(context, certificate_id)


# -- key pairs ----------------------------------------------------------------

def key_pair_create(context, values):
    return IMPL.key_pair_create(context, values)


def key_pair_get(context, user_id, name):
    """A user's key pair by name (KeypairNotFound otherwise)."""
    return IMPL.key_pair_get(context, user_id, name)


def key_pair_get_all_by_user(context, user_id):
    return IMPL.key_pair_get_all_by_user(context, user_id)


def key_pair_destroy(context, user_id, name):
    return IMPL.key_pair_destroy(context, user_id, name)


def key_pair_destroy_all_by_user(context, user_id):
    return IMPL.key_pair_destroy_all_by_user(context, user_id)


# -- instance types -----------------------------------------------------------

def instance_type_create(context, values):
    return IMPL.instance_type_create(context, values)


def instance_type_get_by_name(context, name):
    return IMPL.instance_type_get_by_name(context, name)


def instance_type_get_by_flavor_id(context, flavor_id):
    """A live type by its flavorid (an int, or a string of one)."""
    return IMPL.instance_type_get_by_flavor_id(context, flavor_id)


def instance_type_get_by_id(context, instance_type_id):
    return IMPL.instance_type_get_by_id(context, instance_type_id)


def instance_type_get_all(context, inactive=False):
    """Every type, ordered by flavorid; ``inactive`` adds deleted ones."""
    return IMPL.instance_type_get_all(context, inactive=inactive)


def instance_type_destroy(context, name):
    """Soft-delete, so instances of that type still know their size."""
    return IMPL.instance_type_destroy(context, name)


def instance_type_purge(context, name):
    """Remove a type row for good (it must not be used by any instance)."""
    return IMPL.instance_type_purge(context, name)


# -- instances ----------------------------------------------------------------

def instance_create(context, values):
    """Create an instance."""
    return IMPL.instance_create(context, values)


def instance_get(context, instance_id):
    """An instance the context may see (InstanceNotFound otherwise)."""
    return IMPL.instance_get(context, instance_id)


def instance_get_by_uuid(context, uuid):
    return IMPL.instance_get_by_uuid(context, uuid)


def instance_update(context, instance_id, values):
    """Update fields (``metadata`` and ``instance_type`` as in create)."""
    return IMPL.instance_update(context, instance_id, values)


def instance_destroy(context, instance_id):
    """Soft-delete an instance with its group links and metadata."""
    return IMPL.instance_destroy(context, instance_id)


def instance_get_all(context):
    """Every instance an admin may see; a user's project's otherwise."""
    return IMPL.instance_get_all(context)


def instance_get_all_by_user(context, user_id):
    return IMPL.instance_get_all_by_user(context, user_id)


def instance_get_all_by_project(context, project_id):
    return IMPL.instance_get_all_by_project(context, project_id)


def instance_get_all_by_host(context, host):
    """Instances on a host (a user context sees its project's only)."""
    return IMPL.instance_get_all_by_host(context, host)


def instance_get_all_by_reservation(context, reservation_id):
    return IMPL.instance_get_all_by_reservation(context, reservation_id)


def instance_get_fixed_address(context, instance_id):
    return IMPL.instance_get_fixed_address(context, instance_id)


def instance_get_floating_address(context, instance_id):
    return IMPL.instance_get_floating_address(context, instance_id)


def instance_set_state(context, instance_id, state, description=None):
    return IMPL.instance_set_state(
        context, instance_id, state, description=description)


def instance_add_security_group(context, instance_id, security_group_id):
    return IMPL.instance_add_security_group(
        context, instance_id, security_group_id)


def instance_remove_security_group(context, instance_id, security_group_id):
    return IMPL.instance_remove_security_group(
        context, instance_id, security_group_id)


def instance_action_create(context, values):
    return IMPL.instance_action_create(context, values)


def instance_get_actions(context, instance_id):
    return IMPL.instance_get_actions(context, instance_id)


def instance_metadata_get(context, instance_id):
    """The instance's metadata as a plain dict."""
    return IMPL.instance_metadata_get(context, instance_id)


def instance_metadata_delete(context, instance_id, key):
    return IMPL.instance_metadata_delete(context, instance_id, key)


def instance_metadata_update(context, instance_id, metadata, delete=False):
    """Set keys (``delete``: and drop keys not given); returns the dict."""
    return IMPL.instance_metadata_update(
        context, instance_id, metadata, delete=delete)


# -- security groups ----------------------------------------------------------

def security_group_get_all(context):
    return IMPL.security_group_get_all(context)


def security_group_get(context, security_group_id):
    """A group with its ``rules`` and member ``instances`` loaded."""
    return IMPL.security_group_get(context, security_group_id)


def security_group_get_by_name(context, project_id, group_name):
    return IMPL.security_group_get_by_name(context, project_id, group_name)


def security_group_get_by_project(context, project_id):
    return IMPL.security_group_get_by_project(context, project_id)


def security_group_get_by_instance(context, instance_id):
    return IMPL.security_group_get_by_instance(context, instance_id)


def security_group_exists(context, project_id, group_name):
    return IMPL.security_group_exists(context, project_id, group_name)


def security_group_in_use(context, security_group_id):
    """True while a live instance is a member of the group."""
    return IMPL.security_group_in_use(context, security_group_id)


def security_group_create(context, values):
    return IMPL.security_group_create(context, values)


def security_group_destroy(context, security_group_id):
    """Soft-delete a group, its rules, rules naming it as source, links."""
    return IMPL.security_group_destroy(context, security_group_id)


def security_group_rule_create(context, values):
    return IMPL.security_group_rule_create(context, values)


def security_group_rule_get(context, security_group_rule_id):
    return IMPL.security_group_rule_get(context, security_group_rule_id)


def security_group_rule_destroy(context, security_group_rule_id):
    return IMPL.security_group_rule_destroy(context, security_group_rule_id)


def security_group_rule_get_by_security_group(context, security_group_id):
    return IMPL.security_group_rule_get_by_security_group(
        context, security_group_id)


def security_group_rule_get_by_security_group_grantee(context,
                                                      security_group_id):
    """Rules of any group that admit traffic from this group."""
    return IMPL.security_group_rule_get_by_security_group_grantee(
        context, security_group_id)


# -- networks -----------------------------------------------------------------

def network_create(context, values):
    return IMPL.network_create(context, values)


def network_create_safe(context, values):
    """Like network_create, but None instead of Duplicate."""
    return IMPL.network_create_safe(context, values)


def network_get(context, network_id):
    return IMPL.network_get(context, network_id)


def network_get_all(context):
    return IMPL.network_get_all(context)


def network_get_all_by_host(context, host):
    return IMPL.network_get_all_by_host(context, host)


def network_get_by_bridge(context, bridge):
    return IMPL.network_get_by_bridge(context, bridge)


def network_get_by_cidr(context, cidr):
    return IMPL.network_get_by_cidr(context, cidr)


def network_get_by_instance(context, instance_id):
    return IMPL.network_get_by_instance(context, instance_id)


def network_get_associated_fixed_ips(context, network_id):
    """Fixed IPs of a network bound to an instance (the DHCP hosts list)."""
    return IMPL.network_get_associated_fixed_ips(context, network_id)


def network_update(context, network_id, values):
    return IMPL.network_update(context, network_id, values)


def network_delete_safe(context, network_id):
    """Delete a network and its addresses unless an address is in use."""
    return IMPL.network_delete_safe(context, network_id)


def network_associate(context, project_id):
    """Give the project the first free network; returns it."""
    return IMPL.network_associate(context, project_id)


def network_disassociate(context, network_id):
    return IMPL.network_disassociate(context, network_id)


def network_disassociate_all(context):
    return IMPL.network_disassociate_all(context)


def project_get_network(context, project_id, associate=True):
    """The project's network, associating a free one if it has none."""
    return IMPL.project_get_network(context, project_id, associate=associate)


def network_set_host(context, network_id, host):
    """Claim a network for ``host`` unless one has; returns the owner."""
    return IMPL.network_set_host(context, network_id, host)


def network_count(context):
    return IMPL.network_count(context)


def network_count_allocated_ips(context, network_id):
    return IMPL.network_count_allocated_ips(context, network_id)


def network_count_available_ips(context, network_id):
    return IMPL.network_count_available_ips(context, network_id)


def network_count_reserved_ips(context, network_id):
    return IMPL.network_count_reserved_ips(context, network_id)


# -- fixed IPs ----------------------------------------------------------------

def fixed_ip_create(context, values):
    """Add one address to a network; returns the row."""
    return IMPL.fixed_ip_create(context, values)


def fixed_ip_bulk_create(context, ips):
    """Insert many addresses in one transaction (a network's range)."""
    return IMPL.fixed_ip_bulk_create(context, ips)


def fixed_ip_get_by_address(context, address):
    return IMPL.fixed_ip_get_by_address(context, address)


def fixed_ip_get_all(context):
    return IMPL.fixed_ip_get_all(context)


def fixed_ip_get_all_by_instance(context, instance_id):
    return IMPL.fixed_ip_get_all_by_instance(context, instance_id)


def fixed_ip_get_instance(context, address):
    return IMPL.fixed_ip_get_instance(context, address)


def fixed_ip_get_network(context, address):
    return IMPL.fixed_ip_get_network(context, address)


def fixed_ip_associate(context, address, instance_id):
    """Bind a given (possibly reserved, e.g. VPN) address to an instance."""
    return IMPL.fixed_ip_associate(context, address, instance_id)


def fixed_ip_associate_pool(context, network_id, instance_id):
    """Bind the first free address of the network; returns the address."""
    return IMPL.fixed_ip_associate_pool(context, network_id, instance_id)


def fixed_ip_disassociate(context, address):
    return IMPL.fixed_ip_disassociate(context, address)


def fixed_ip_disassociate_all_by_timeout(context, host, time):
    """Release addresses left bound but unallocated since before ``time``."""
    return IMPL.fixed_ip_disassociate_all_by_timeout(context, host, time)


def fixed_ip_update(context, address, values):
    return IMPL.fixed_ip_update(context, address, values)


# -- floating IPs -------------------------------------------------------------

def floating_ip_create(context, values):
    """Add an address to a network host's pool; returns the row."""
    return IMPL.floating_ip_create(context, values)


def floating_ip_get_by_address(context, address):
    return IMPL.floating_ip_get_by_address(context, address)


def floating_ip_get_all(context):
    return IMPL.floating_ip_get_all(context)


def floating_ip_get_all_by_host(context, host):
    return IMPL.floating_ip_get_all_by_host(context, host)


def floating_ip_get_all_by_project(context, project_id):
    return IMPL.floating_ip_get_all_by_project(context, project_id)


def floating_ip_allocate_address(context, host, project_id):
    """Give the project a free address of ``host``'s pool; returns it."""
    return IMPL.floating_ip_allocate_address(context, host, project_id)


def floating_ip_deallocate(context, address):
    """Return an address to the pool; it must not be associated."""
    return IMPL.floating_ip_deallocate(context, address)


def floating_ip_destroy(context, address):
    return IMPL.floating_ip_destroy(context, address)


def floating_ip_fixed_ip_associate(context, floating_address, fixed_address):
    return IMPL.floating_ip_fixed_ip_associate(
        context, floating_address, fixed_address)


def floating_ip_disassociate(context, address):
    """Unbind; returns the fixed address it was bound to, or None."""
    return IMPL.floating_ip_disassociate(context, address)


def floating_ip_update(context, address, values):
    return IMPL.floating_ip_update(context, address, values)


# -- volumes ------------------------------------------------------------------

def volume_create(context, values):
    return IMPL.volume_create(context, values)


def volume_get(context, volume_id):
    """A volume the context may see (VolumeNotFound otherwise)."""
    return IMPL.volume_get(context, volume_id)


def volume_get_all(context):
    return IMPL.volume_get_all(context)


def volume_get_all_by_host(context, host):
    return IMPL.volume_get_all_by_host(context, host)


def volume_get_all_by_instance(context, instance_id):
    return IMPL.volume_get_all_by_instance(context, instance_id)


def volume_get_all_by_project(context, project_id):
    return IMPL.volume_get_all_by_project(context, project_id)


def volume_get_instance(context, volume_id):
    return IMPL.volume_get_instance(context, volume_id)


def volume_update(context, volume_id, values):
    return IMPL.volume_update(context, volume_id, values)


def volume_destroy(context, volume_id):
    """Soft-delete a volume and free its iSCSI target / AoE blade."""
    return IMPL.volume_destroy(context, volume_id)


def volume_attached(context, volume_id, instance_id, mountpoint):
    return IMPL.volume_attached(context, volume_id, instance_id, mountpoint)


def volume_detached(context, volume_id):
    return IMPL.volume_detached(context, volume_id)


def iscsi_target_create_safe(context, values):
    """Add a target number for a host; None if it already exists."""
    return IMPL.iscsi_target_create_safe(context, values)


def iscsi_target_count_by_host(context, host):
    return IMPL.iscsi_target_count_by_host(context, host)


def volume_allocate_iscsi_target(context, volume_id, host):
    """Give the volume a free target number of ``host``; returns it."""
    return IMPL.volume_allocate_iscsi_target(context, volume_id, host)


def volume_get_iscsi_target_num(context, volume_id):
    return IMPL.volume_get_iscsi_target_num(context, volume_id)


def export_device_create_safe(context, values):
    """Add an AoE shelf/blade pair; None if it already exists."""
    return IMPL.export_device_create_safe(context, values)


def export_device_count(context):
    return IMPL.export_device_count(context)


def volume_allocate_shelf_and_blade(context, volume_id):
    return IMPL.volume_allocate_shelf_and_blade(context, volume_id)


def volume_get_shelf_and_blade(context, volume_id):
    return IMPL.volume_get_shelf_and_blade(context, volume_id)


# -- consoles -----------------------------------------------------------------

def console_pool_create(context, values):
    return IMPL.console_pool_create(context, values)


def console_pool_get(context, pool_id):
    return IMPL.console_pool_get(context, pool_id)


def console_pool_get_by_host_type(context, compute_host, host, console_type):
    return IMPL.console_pool_get_by_host_type(
        context, compute_host, host, console_type)


def console_pool_get_all_by_host_type(context, host, console_type):
    return IMPL.console_pool_get_all_by_host_type(context, host, console_type)


def console_create(context, values):
    return IMPL.console_create(context, values)


def console_delete(context, console_id):
    return IMPL.console_delete(context, console_id)


def console_get_by_pool_instance(context, pool_id, instance_id):
    return IMPL.console_get_by_pool_instance(context, pool_id, instance_id)


def console_get_all_by_instance(context, instance_id):
    return IMPL.console_get_all_by_instance(context, instance_id)


def console_get(context, console_id, instance_id=None):
    return IMPL.console_get(context, console_id, instance_id=instance_id)


# -- resize migrations --------------------------------------------------------

def migration_create(context, values):
    return IMPL.migration_create(context, values)


def migration_get(context, migration_id):
    return IMPL.migration_get(context, migration_id)


def migration_update(context, migration_id, values):
    return IMPL.migration_update(context, migration_id, values)


def migration_get_by_instance_and_status(context, instance_id, status):
    return IMPL.migration_get_by_instance_and_status(
        context, instance_id, status)


# -- zones --------------------------------------------------------------------

def zone_create(context, values):
    return IMPL.zone_create(context, values)


def zone_update(context, zone_id, values):
    return IMPL.zone_update(context, zone_id, values)


def zone_delete(context, zone_id):
    return IMPL.zone_delete(context, zone_id)


def zone_get(context, zone_id):
    return IMPL.zone_get(context, zone_id)


def zone_get_all(context):
    return IMPL.zone_get_all(context)

