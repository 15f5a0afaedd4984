"""SQLAlchemy models of the nova schema.

These classes describe the schema the migrations under nova/db/migrations
build; they never create tables themselves (a test compares the two).

Every table carries ``created_at``, ``updated_at``, ``deleted_at`` and
``deleted``.  ``deleted`` is an integer: 0 for a live row and the row's own
id once soft-deleted.  The original used a boolean, which made unique
constraints impossible (a second deleted key pair "default" would collide
with the first); with the id in it, ``UNIQUE(user_id, name, deleted)`` holds
for live rows and never for deleted ones, and ``if row.deleted`` still reads
the same.

Rows behave like dicts as well as objects (``row['name']``, ``row.get``,
``row.items()``, ``row.update(values)``), because nova's callers were written
against both.  Relationships callers need are loaded eagerly (``selectin``)
so a row stays fully usable after its session is closed.
"""

import sqlalchemy as sa
from sqlalchemy import orm

from nova import exception
from nova import flags
from nova import utils

FLAGS = flags.FLAGS

# Shared with the migrations' environment so that constraints get the same
# names whichever side made them (needed to drop them in a downgrade and to
# compare the models with the migrated schema).
NAMING_CONVENTION = {
    'ix': 'ix_%(table_name)s_%(column_0_N_name)s',
    'uq': 'uq_%(table_name)s_%(column_0_N_name)s',
    'fk': 'fk_%(table_name)s_%(column_0_name)s',
    'pk': 'pk_%(table_name)s',
    'ck': 'ck_%(table_name)s_%(constraint_name)s',
}

# How many relationship hops eager loading follows from the queried row
# (cycles such as instance -> fixed_ip -> instance included).  Enough for
# floating_ip.fixed_ip.instance.security_groups and
# security_group.rules[n].grantee_group.rules.
_DEPTH = 3
_EAGER = {'lazy': 'selectin', 'join_depth': _DEPTH}

MYSQL_TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _now():
    # Looked up at call time so tests can replace nova.utils.utcnow.
    return utils.utcnow()


def _table_args(*items):
    return tuple(items) + (dict(MYSQL_TABLE_ARGS),)


class Base(orm.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class NovaBase:
    """Timestamps, soft delete and the dict-like interface."""

    __table_args__ = dict(MYSQL_TABLE_ARGS)

    # Computed attributes that items()/keys() report besides the columns.
    _extra_keys = ()

    created_at = sa.Column(sa.DateTime, default=_now)
    updated_at = sa.Column(sa.DateTime, onupdate=_now)
    deleted_at = sa.Column(sa.DateTime)
    deleted = sa.Column(sa.Integer, nullable=False, default=0,
                        server_default=sa.text('0'))

    # -- persistence ---------------------------------------------------------

    def save(self, session):
        session.add(self)
        session.flush()

    def soft_delete(self, session):
        """Mark deleted; the row stays for accounting and read_deleted."""
        ident = getattr(self, 'id', None)
        self.deleted = ident if isinstance(ident, int) and ident > 0 else 1
        self.deleted_at = _now()
        session.add(self)
        session.flush()

    # -- the dict-like interface ---------------------------------------------

    @classmethod
    def _settable(cls, key):
        mapper = sa.inspect(cls)
        if key in mapper.attrs:
            return True
        attr = getattr(cls, key, None)
        return isinstance(attr, property) and attr.fset is not None

    def keys(self):
        return [c.key for c in sa.inspect(type(self)).column_attrs] + \
            list(self._extra_keys)

    def __getitem__(self, key):
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __setitem__(self, key, value):
        if not self._settable(key):
            raise exception.Invalid('%s has no field %r'
                                    % (type(self).__name__, key))
        setattr(self, key, value)

    def __contains__(self, key):
        return key in self.keys() or key in sa.inspect(type(self)).attrs

    def get(self, key, default=None):
        return getattr(self, key, default)

    def items(self):
        return [(key, getattr(self, key)) for key in self.keys()]

    def iteritems(self):
        return iter(self.items())

    def __iter__(self):
        # (key, value) pairs, as the original models iterated.
        return iter(self.items())

    def update(self, values):
        """Set several fields; an unknown field is an error, not a no-op."""
        unknown = [k for k in values if not self._settable(k)]
        if unknown:
            raise exception.Invalid('%s has no field(s) %s'
                                    % (type(self).__name__,
                                       ', '.join(sorted(map(str, unknown)))))
        for key, value in values.items():
            setattr(self, key, value)

    def to_dict(self):
        return dict(self.items())

    def __repr__(self):
        ident = sa.inspect(self).identity
        return '<%s %s>' % (type(self).__name__,
                            ident[0] if ident and len(ident) == 1 else ident)


def _id_column():
    return sa.Column(sa.Integer, primary_key=True, autoincrement=True)


def _name_from_template(template, row):
    if '%(' in template:
        return template % {'id': row.id, 'uuid': getattr(row, 'uuid', None)}
    return template % row.id


class Service(NovaBase, Base):
    """A running nova daemon (one per host and binary), with its heartbeat."""
    __tablename__ = 'services'
    __table_args__ = _table_args(
        sa.UniqueConstraint('host', 'binary', 'deleted'))
    id = _id_column()
    host = sa.Column(sa.String(255))
    binary = sa.Column(sa.String(255))
    topic = sa.Column(sa.String(255))
    report_count = sa.Column(sa.Integer, nullable=False, default=0)
    disabled = sa.Column(sa.Boolean, default=False)
    availability_zone = sa.Column(sa.String(255), default='nova')


class InstanceType(NovaBase, Base):
    """A flavor: the size of an instance."""
    __tablename__ = 'instance_types'
    __table_args__ = _table_args(
        sa.UniqueConstraint('name', 'deleted'),
        sa.UniqueConstraint('flavorid', 'deleted'))
    id = _id_column()
    name = sa.Column(sa.String(255))
    memory_mb = sa.Column(sa.Integer, nullable=False)
    vcpus = sa.Column(sa.Integer, nullable=False)
    local_gb = sa.Column(sa.Integer, nullable=False)
    flavorid = sa.Column(sa.Integer, nullable=False)
    swap = sa.Column(sa.Integer, nullable=False, default=0)
    rxtx_quota = sa.Column(sa.Integer, nullable=False, default=0)
    rxtx_cap = sa.Column(sa.Integer, nullable=False, default=0)


class Instance(NovaBase, Base):
    """A virtual machine."""
    __tablename__ = 'instances'
    __table_args__ = _table_args(
        sa.UniqueConstraint('uuid'),
        sa.Index('ix_instances_project_id', 'project_id'),
        sa.Index('ix_instances_host', 'host'),
        sa.Index('ix_instances_reservation_id', 'reservation_id'))
    _extra_keys = ('name',)

    id = _id_column()
    uuid = sa.Column(sa.String(36))
    admin_pass = sa.Column(sa.String(255))
    user_id = sa.Column(sa.String(255))
    project_id = sa.Column(sa.String(255))
    image_id = sa.Column(sa.String(255))
    kernel_id = sa.Column(sa.String(255))
    ramdisk_id = sa.Column(sa.String(255))
    launch_index = sa.Column(sa.Integer)
    key_name = sa.Column(sa.String(255))
    key_data = sa.Column(sa.Text)
    state = sa.Column(sa.Integer)
    state_description = sa.Column(sa.String(255))
    memory_mb = sa.Column(sa.Integer)
    vcpus = sa.Column(sa.Integer)
    local_gb = sa.Column(sa.Integer)
    hostname = sa.Column(sa.String(255))
    host = sa.Column(sa.String(255))
    instance_type_id = sa.Column(sa.Integer,
                                 sa.ForeignKey('instance_types.id'))
    user_data = sa.Column(sa.Text)
    reservation_id = sa.Column(sa.String(255))
    mac_address = sa.Column(sa.String(255))
    scheduled_at = sa.Column(sa.DateTime)
    launched_at = sa.Column(sa.DateTime)
    terminated_at = sa.Column(sa.DateTime)
    availability_zone = sa.Column(sa.String(255))
    display_name = sa.Column(sa.String(255))
    display_description = sa.Column(sa.String(255))
    locked = sa.Column(sa.Boolean, default=False)
    os_type = sa.Column(sa.String(255))

    instance_type = orm.relationship('InstanceType', **_EAGER)

    @property
    def name(self):
        return _name_from_template(FLAGS.instance_name_template, self)


class InstanceMetadata(NovaBase, Base):
    """One key/value pair of an instance's metadata."""
    __tablename__ = 'instance_metadata'
    id = _id_column()
    instance_id = sa.Column(sa.Integer, sa.ForeignKey('instances.id'),
                            nullable=False)
    key = sa.Column(sa.String(255))
    value = sa.Column(sa.String(255))


Instance.metadata_items = orm.relationship(
    InstanceMetadata, viewonly=True, **_EAGER,
    primaryjoin=sa.and_(InstanceMetadata.instance_id == Instance.id,
                        InstanceMetadata.deleted == 0))


class InstanceActions(NovaBase, Base):
    """A record of something done to an instance (and any error)."""
    __tablename__ = 'instance_actions'
    id = _id_column()
    instance_id = sa.Column(sa.Integer, sa.ForeignKey('instances.id'))
    action = sa.Column(sa.String(255))
    error = sa.Column(sa.Text)


class KeyPair(NovaBase, Base):
    """An SSH public key a user can boot instances with."""
    __tablename__ = 'key_pairs'
    __table_args__ = _table_args(
        sa.UniqueConstraint('user_id', 'name', 'deleted'))
    id = _id_column()
    name = sa.Column(sa.String(255))
    user_id = sa.Column(sa.String(255))
    fingerprint = sa.Column(sa.String(255))
    public_key = sa.Column(sa.Text)


class SecurityGroupInstanceAssociation(NovaBase, Base):
    __tablename__ = 'security_group_instance_association'
    id = _id_column()
    security_group_id = sa.Column(sa.Integer,
                                  sa.ForeignKey('security_groups.id'))
    instance_id = sa.Column(sa.Integer, sa.ForeignKey('instances.id'))


class SecurityGroup(NovaBase, Base):
    """A named set of firewall rules of a project."""
    __tablename__ = 'security_groups'
    __table_args__ = _table_args(
        sa.UniqueConstraint('project_id', 'name', 'deleted'))
    id = _id_column()
    name = sa.Column(sa.String(255))
    description = sa.Column(sa.String(255))
    user_id = sa.Column(sa.String(255))
    project_id = sa.Column(sa.String(255))


_sg_assoc = SecurityGroupInstanceAssociation.__table__

# Members of a group and groups of an instance, ignoring deleted links.
SecurityGroup.instances = orm.relationship(
    Instance, secondary=_sg_assoc, viewonly=True, lazy='select',
    primaryjoin=sa.and_(_sg_assoc.c.security_group_id == SecurityGroup.id,
                        _sg_assoc.c.deleted == 0),
    secondaryjoin=sa.and_(_sg_assoc.c.instance_id == Instance.id,
                          Instance.deleted == 0))
Instance.security_groups = orm.relationship(
    SecurityGroup, secondary=_sg_assoc, viewonly=True, **_EAGER,
    primaryjoin=sa.and_(_sg_assoc.c.instance_id == Instance.id,
                        _sg_assoc.c.deleted == 0),
    secondaryjoin=sa.and_(_sg_assoc.c.security_group_id == SecurityGroup.id,
                          SecurityGroup.deleted == 0))


class SecurityGroupIngressRule(NovaBase, Base):
    """Inbound traffic a group admits: a CIDR or a source group."""
    __tablename__ = 'security_group_rules'
    id = _id_column()
    parent_group_id = sa.Column(sa.Integer,
                                sa.ForeignKey('security_groups.id'))
    protocol = sa.Column(sa.String(255))
    from_port = sa.Column(sa.Integer)
    to_port = sa.Column(sa.Integer)
    cidr = sa.Column(sa.String(255))
    # Source group: traffic from that group's instances is admitted.
    group_id = sa.Column(sa.Integer, sa.ForeignKey('security_groups.id'))

    parent_group = orm.relationship(SecurityGroup,
                                    foreign_keys=[parent_group_id], **_EAGER)
    grantee_group = orm.relationship(SecurityGroup, foreign_keys=[group_id],
                                     **_EAGER)


SecurityGroupRule = SecurityGroupIngressRule

SecurityGroup.rules = orm.relationship(
    SecurityGroupIngressRule, viewonly=True, **_EAGER,
    primaryjoin=sa.and_(
        SecurityGroupIngressRule.parent_group_id == SecurityGroup.id,
        SecurityGroupIngressRule.deleted == 0))


class Network(NovaBase, Base):
    """An IPv4 (and optionally IPv6) network, bridge and maybe VLAN."""
    __tablename__ = 'networks'
    __table_args__ = _table_args(
        sa.UniqueConstraint('cidr', 'deleted'),
        sa.UniqueConstraint('cidr_v6', 'deleted'),
        sa.UniqueConstraint('vpn_public_address', 'vpn_public_port',
                            'deleted'))
    id = _id_column()
    label = sa.Column(sa.String(255))
    injected = sa.Column(sa.Boolean, default=False)
    cidr = sa.Column(sa.String(255))
    cidr_v6 = sa.Column(sa.String(255))
    ra_server = sa.Column(sa.String(255))
    netmask = sa.Column(sa.String(255))
    netmask_v6 = sa.Column(sa.String(255))
    bridge = sa.Column(sa.String(255))
    gateway = sa.Column(sa.String(255))
    gateway_v6 = sa.Column(sa.String(255))
    broadcast = sa.Column(sa.String(255))
    dns = sa.Column(sa.String(255))
    vlan = sa.Column(sa.Integer)
    vpn_public_address = sa.Column(sa.String(255))
    vpn_public_port = sa.Column(sa.Integer)
    vpn_private_address = sa.Column(sa.String(255))
    dhcp_start = sa.Column(sa.String(255))
    project_id = sa.Column(sa.String(255))
    host = sa.Column(sa.String(255))


class FixedIp(NovaBase, Base):
    """A private address of a network, possibly bound to an instance."""
    __tablename__ = 'fixed_ips'
    __table_args__ = _table_args(sa.UniqueConstraint('address', 'deleted'))
    id = _id_column()
    address = sa.Column(sa.String(255))
    network_id = sa.Column(sa.Integer, sa.ForeignKey('networks.id'))
    instance_id = sa.Column(sa.Integer, sa.ForeignKey('instances.id'))
    allocated = sa.Column(sa.Boolean, default=False)
    leased = sa.Column(sa.Boolean, default=False)
    reserved = sa.Column(sa.Boolean, default=False)

    network = orm.relationship(Network, **_EAGER)
    instance = orm.relationship(Instance, **_EAGER)


Instance.fixed_ips = orm.relationship(
    FixedIp, viewonly=True, **_EAGER,
    order_by=FixedIp.id,
    primaryjoin=sa.and_(FixedIp.instance_id == Instance.id,
                        FixedIp.deleted == 0))


def _first_fixed_ip(instance):
    """Bexar gives an instance one address; later releases several."""
    return instance.fixed_ips[0] if instance.fixed_ips else None


Instance.fixed_ip = property(_first_fixed_ip)


class FloatingIp(NovaBase, Base):
    """A public address of a network host, maybe forwarded to a fixed IP."""
    __tablename__ = 'floating_ips'
    __table_args__ = _table_args(sa.UniqueConstraint('address', 'deleted'))
    id = _id_column()
    address = sa.Column(sa.String(255))
    fixed_ip_id = sa.Column(sa.Integer, sa.ForeignKey('fixed_ips.id'))
    project_id = sa.Column(sa.String(255))
    host = sa.Column(sa.String(255))

    fixed_ip = orm.relationship(FixedIp, **_EAGER)


FixedIp.floating_ips = orm.relationship(
    FloatingIp, viewonly=True, **_EAGER,
    primaryjoin=sa.and_(FloatingIp.fixed_ip_id == FixedIp.id,
                        FloatingIp.deleted == 0))


class Volume(NovaBase, Base):
    """A block device of a volume host, maybe attached to an instance."""
    __tablename__ = 'volumes'
    __table_args__ = _table_args(
        sa.Index('ix_volumes_project_id', 'project_id'))
    _extra_keys = ('name',)

    id = _id_column()
    user_id = sa.Column(sa.String(255))
    project_id = sa.Column(sa.String(255))
    host = sa.Column(sa.String(255))
    size = sa.Column(sa.Integer)
    availability_zone = sa.Column(sa.String(255))
    instance_id = sa.Column(sa.Integer, sa.ForeignKey('instances.id'))
    mountpoint = sa.Column(sa.String(255))
    # The original kept attach_time as a string; a DateTime sorts and
    # compares correctly.
    attach_time = sa.Column(sa.DateTime)
    status = sa.Column(sa.String(255))
    attach_status = sa.Column(sa.String(255))
    scheduled_at = sa.Column(sa.DateTime)
    launched_at = sa.Column(sa.DateTime)
    terminated_at = sa.Column(sa.DateTime)
    display_name = sa.Column(sa.String(255))
    display_description = sa.Column(sa.String(255))
    provider_location = sa.Column(sa.String(255))
    provider_auth = sa.Column(sa.String(255))

    instance = orm.relationship(Instance, **_EAGER)

    @property
    def name(self):
        return _name_from_template(FLAGS.volume_name_template, self)


Instance.volumes = orm.relationship(
    Volume, viewonly=True, **_EAGER,
    primaryjoin=sa.and_(Volume.instance_id == Instance.id,
                        Volume.deleted == 0))


class IscsiTarget(NovaBase, Base):
    """An iSCSI target number of a volume host, free or used by a volume."""
    __tablename__ = 'iscsi_targets'
    __table_args__ = _table_args(
        sa.UniqueConstraint('target_num', 'host', 'deleted'))
    id = _id_column()
    target_num = sa.Column(sa.Integer)
    host = sa.Column(sa.String(255))
    volume_id = sa.Column(sa.Integer, sa.ForeignKey('volumes.id'))


class ExportDevice(NovaBase, Base):
    """An AoE shelf/blade pair, free or used by a volume."""
    __tablename__ = 'export_devices'
    __table_args__ = _table_args(
        sa.UniqueConstraint('shelf_id', 'blade_id', 'deleted'))
    id = _id_column()
    shelf_id = sa.Column(sa.Integer)
    blade_id = sa.Column(sa.Integer)
    volume_id = sa.Column(sa.Integer, sa.ForeignKey('volumes.id'))


class Quota(NovaBase, Base):
    """Per-project limits; NULL means the flag default applies."""
    __tablename__ = 'quotas'
    __table_args__ = _table_args(sa.UniqueConstraint('project_id', 'deleted'))
    id = _id_column()
    project_id = sa.Column(sa.String(255))
    instances = sa.Column(sa.Integer)
    cores = sa.Column(sa.Integer)
    volumes = sa.Column(sa.Integer)
    gigabytes = sa.Column(sa.Integer)
    floating_ips = sa.Column(sa.Integer)
    metadata_items = sa.Column(sa.Integer)
    injected_files = sa.Column(sa.Integer)
    injected_file_content_bytes = sa.Column(sa.Integer)


class AuthToken(NovaBase, Base):
    """An OpenStack API token.

    The original misspelt ``server_manageent_url``; the column is spelt
    correctly here.  Callers store a hash of the token, never the token.
    """
    __tablename__ = 'auth_tokens'
    token_hash = sa.Column(sa.String(255), primary_key=True)
    user_id = sa.Column(sa.String(255))
    project_id = sa.Column(sa.String(255))
    server_management_url = sa.Column(sa.String(255))
    storage_url = sa.Column(sa.String(255))
    cdn_management_url = sa.Column(sa.String(255))
    expires = sa.Column(sa.DateTime)


class User(NovaBase, Base):
    """A user of the cloud (the DbDriver of the auth manager)."""
    __tablename__ = 'users'
    __table_args__ = _table_args(sa.UniqueConstraint('access_key'))
    id = sa.Column(sa.String(255), primary_key=True)
    name = sa.Column(sa.String(255))
    access_key = sa.Column(sa.String(255))
    secret_key = sa.Column(sa.String(255))
    is_admin = sa.Column(sa.Boolean, default=False)


class Project(NovaBase, Base):
    """A project (tenant): owns instances, volumes, networks, quotas."""
    __tablename__ = 'projects'
    id = sa.Column(sa.String(255), primary_key=True)
    name = sa.Column(sa.String(255))
    description = sa.Column(sa.String(255))
    project_manager = sa.Column(sa.String(255),
                                sa.ForeignKey('users.id', ondelete='SET NULL'))


class UserProjectAssociation(NovaBase, Base):
    __tablename__ = 'user_project_association'
    user_id = sa.Column(sa.String(255),
                        sa.ForeignKey('users.id', ondelete='CASCADE'),
                        primary_key=True)
    project_id = sa.Column(sa.String(255),
                           sa.ForeignKey('projects.id', ondelete='CASCADE'),
                           primary_key=True)


class UserRoleAssociation(NovaBase, Base):
    __tablename__ = 'user_role_association'
    user_id = sa.Column(sa.String(255),
                        sa.ForeignKey('users.id', ondelete='CASCADE'),
                        primary_key=True)
    role = sa.Column(sa.String(255), primary_key=True)


class UserProjectRoleAssociation(NovaBase, Base):
    __tablename__ = 'user_project_role_association'
    user_id = sa.Column(sa.String(255),
                        sa.ForeignKey('users.id', ondelete='CASCADE'),
                        primary_key=True)
    project_id = sa.Column(sa.String(255),
                           sa.ForeignKey('projects.id', ondelete='CASCADE'),
                           primary_key=True)
    role = sa.Column(sa.String(255), primary_key=True)


_upa = UserProjectAssociation.__table__
Project.members = orm.relationship(
    User, secondary=_upa, viewonly=True, **_EAGER,
    order_by=User.id,
    primaryjoin=_upa.c.project_id == Project.id,
    secondaryjoin=_upa.c.user_id == User.id)


class Certificate(NovaBase, Base):
    """An X.509 certificate issued to a user for a project."""
    __tablename__ = 'certificates'
    id = _id_column()
    user_id = sa.Column(sa.String(255))
    project_id = sa.Column(sa.String(255))
    file_name = sa.Column(sa.String(255))


class ConsolePool(NovaBase, Base):
    """A console proxy of a given type serving one compute host."""
    __tablename__ = 'console_pools'
    id = _id_column()
    address = sa.Column(sa.String(255))
    username = sa.Column(sa.String(255))
    password = sa.Column(sa.String(255))
    console_type = sa.Column(sa.String(255))
    public_hostname = sa.Column(sa.String(255))
    host = sa.Column(sa.String(255))
    compute_host = sa.Column(sa.String(255))


class Console(NovaBase, Base):
    """A console of an instance, served by a pool."""
    __tablename__ = 'consoles'
    id = _id_column()
    instance_name = sa.Column(sa.String(255))
    instance_id = sa.Column(sa.Integer)
    password = sa.Column(sa.String(255))
    port = sa.Column(sa.Integer)
    pool_id = sa.Column(sa.Integer, sa.ForeignKey('console_pools.id'))

    pool = orm.relationship(ConsolePool, **_EAGER)


ConsolePool.consoles = orm.relationship(
    Console, viewonly=True, lazy='select',
    primaryjoin=sa.and_(Console.pool_id == ConsolePool.id,
                        Console.deleted == 0))


class Migration(NovaBase, Base):
    """A resize or migration of an instance between hosts."""
    __tablename__ = 'migrations'
    id = _id_column()
    source_compute = sa.Column(sa.String(255))
    dest_compute = sa.Column(sa.String(255))
    dest_host = sa.Column(sa.String(255))
    instance_id = sa.Column(sa.Integer, sa.ForeignKey('instances.id'))
    old_flavor_id = sa.Column(sa.Integer)
    new_flavor_id = sa.Column(sa.Integer)
    status = sa.Column(sa.String(255))


class Zone(NovaBase, Base):
    """A child zone this zone forwards requests to."""
    __tablename__ = 'zones'
    id = _id_column()
    api_url = sa.Column(sa.String(255))
    username = sa.Column(sa.String(255))
    password = sa.Column(sa.String(255))
