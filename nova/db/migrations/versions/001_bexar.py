"""Bexar (2011.1): the Austin tables plus what Bexar added.

Austin made auth_tokens, export_devices, fixed_ips, floating_ips, instances,
key_pairs, networks, projects, quotas, security_groups and their rules and
instance links, services, users and the user/project/role links, and
volumes; Bexar added certificates, console_pools, consoles, instance_actions
and iscsi_targets, plus instances.availability_zone/locked,
networks.cidr_v6/ra_server and services.availability_zone.  This revision
creates the Bexar result in one step.

Differences from the original, on purpose: ``deleted`` is an integer (0, or
the row id once soft-deleted) so unique constraints can include it;
auth_tokens.server_management_url is spelt correctly; volumes.attach_time is
a DATETIME; the legacy Austin columns (instances.internal_id/server_name,
volumes.ec2_id) are not carried.

Revision ID: 001
Revises: None
"""

from alembic import op
import sqlalchemy as sa

revision = '001'
down_revision = None
branch_labels = None
depends_on = None

MYSQL = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _str(name, **kw):
    return sa.Column(name, sa.String(255), **kw)


def _int(name, **kw):
    return sa.Column(name, sa.Integer, **kw)


def _bool(name):
    return sa.Column(name, sa.Boolean)


def _dt(name):
    return sa.Column(name, sa.DateTime)


def _id():
    return sa.Column('id', sa.Integer, primary_key=True, autoincrement=True)


def _fk(name, target, **kw):
    return sa.Column(name, sa.Integer, sa.ForeignKey(target), **kw)


def _create(name, *items):
    op.create_table(
        name,
        _dt('created_at'), _dt('updated_at'), _dt('deleted_at'),
        sa.Column('deleted', sa.Integer, nullable=False,
                  server_default=sa.text('0')),
        *items, **MYSQL)


TABLES = [
    'consoles', 'console_pools', 'certificates',
    'user_project_role_association', 'user_role_association',
    'user_project_association', 'projects', 'users', 'auth_tokens',
    'quotas', 'export_devices', 'iscsi_targets', 'volumes', 'floating_ips',
    'fixed_ips', 'networks', 'security_group_rules',
    'security_group_instance_association', 'security_groups', 'key_pairs',
    'instance_actions', 'instances', 'services',
]


def upgrade():
    _create('services', _id(), _str('host'), _str('binary'), _str('topic'),
            _int('report_count', nullable=False), _bool('disabled'),
            _str('availability_zone'),
            sa.UniqueConstraint('host', 'binary', 'deleted'))

    _create('instances', _id(),
            _str('admin_pass'), _str('user_id'), _str('project_id'),
            _str('image_id'), _str('kernel_id'), _str('ramdisk_id'),
            _int('launch_index'), _str('key_name'),
            sa.Column('key_data', sa.Text),
            _int('state'), _str('state_description'),
            _int('memory_mb'), _int('vcpus'), _int('local_gb'),
            _str('hostname'), _str('host'), _str('instance_type'),
            sa.Column('user_data', sa.Text), _str('reservation_id'),
            _str('mac_address'), _dt('scheduled_at'), _dt('launched_at'),
            _dt('terminated_at'), _str('availability_zone'),
            _str('display_name'), _str('display_description'),
            _bool('locked'),
            sa.Index('ix_instances_project_id', 'project_id'),
            sa.Index('ix_instances_host', 'host'),
            sa.Index('ix_instances_reservation_id', 'reservation_id'))

    _create('instance_actions', _id(), _fk('instance_id', 'instances.id'),
            _str('action'), sa.Column('error', sa.Text))

    _create('key_pairs', _id(), _str('name'), _str('user_id'),
            _str('fingerprint'), sa.Column('public_key', sa.Text),
            sa.UniqueConstraint('user_id', 'name', 'deleted'))

    _create('security_groups', _id(), _str('name'), _str('description'),
            _str('user_id'), _str('project_id'),
            sa.UniqueConstraint('project_id', 'name', 'deleted'))

    _create('security_group_instance_association', _id(),
            _fk('security_group_id', 'security_groups.id'),
            _fk('instance_id', 'instances.id'))

    _create('security_group_rules', _id(),
            _fk('parent_group_id', 'security_groups.id'),
            _str('protocol'), _int('from_port'), _int('to_port'),
            _str('cidr'), _fk('group_id', 'security_groups.id'))

    _create('networks', _id(), _bool('injected'), _str('cidr'),
            _str('cidr_v6'), _str('ra_server'), _str('netmask'),
            _str('bridge'), _str('gateway'), _str('broadcast'), _str('dns'),
            _int('vlan'), _str('vpn_public_address'),
            _int('vpn_public_port'), _str('vpn_private_address'),
            _str('dhcp_start'), _str('project_id'), _str('host'),
            sa.UniqueConstraint('cidr', 'deleted'),
            sa.UniqueConstraint('cidr_v6', 'deleted'),
            sa.UniqueConstraint('vpn_public_address', 'vpn_public_port',
                                'deleted'))

    _create('fixed_ips', _id(), _str('address'),
            _fk('network_id', 'networks.id'),
            _fk('instance_id', 'instances.id'),
            _bool('allocated'), _bool('leased'), _bool('reserved'),
            sa.UniqueConstraint('address', 'deleted'))

    _create('floating_ips', _id(), _str('address'),
            _fk('fixed_ip_id', 'fixed_ips.id'),
            _str('project_id'), _str('host'),
            sa.UniqueConstraint('address', 'deleted'))

    _create('volumes', _id(), _str('user_id'), _str('project_id'),
            _str('host'), _int('size'), _str('availability_zone'),
            _fk('instance_id', 'instances.id'), _str('mountpoint'),
            _dt('attach_time'), _str('status'), _str('attach_status'),
            _dt('scheduled_at'), _dt('launched_at'), _dt('terminated_at'),
            _str('display_name'), _str('display_description'),
            sa.Index('ix_volumes_project_id', 'project_id'))

    _create('iscsi_targets', _id(), _int('target_num'), _str('host'),
            _fk('volume_id', 'volumes.id'),
            sa.UniqueConstraint('target_num', 'host', 'deleted'))

    _create('export_devices', _id(), _int('shelf_id'), _int('blade_id'),
            _fk('volume_id', 'volumes.id'),
            sa.UniqueConstraint('shelf_id', 'blade_id', 'deleted'))

    _create('quotas', _id(), _str('project_id'), _int('instances'),
            _int('cores'), _int('volumes'), _int('gigabytes'),
            _int('floating_ips'),
            sa.UniqueConstraint('project_id', 'deleted'))

    _create('auth_tokens', _str('token_hash', primary_key=True),
            _str('user_id'), _str('server_management_url'),
            _str('storage_url'), _str('cdn_management_url'))

    _create('users', _str('id', primary_key=True), _str('name'),
            _str('access_key'), _str('secret_key'), _bool('is_admin'),
            sa.UniqueConstraint('access_key'))

    _create('projects', _str('id', primary_key=True), _str('name'),
            _str('description'),
            _str('project_manager'),
            sa.ForeignKeyConstraint(['project_manager'], ['users.id'],
                                    ondelete='SET NULL'))

    _create('user_project_association',
            _str('user_id', primary_key=True),
            _str('project_id', primary_key=True),
            sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                    ondelete='CASCADE'),
            sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                    ondelete='CASCADE'))

    _create('user_role_association',
            _str('user_id', primary_key=True),
            _str('role', primary_key=True),
            sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                    ondelete='CASCADE'))

    _create('user_project_role_association',
            _str('user_id', primary_key=True),
            _str('project_id', primary_key=True),
            _str('role', primary_key=True),
            sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                    ondelete='CASCADE'),
            sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                    ondelete='CASCADE'))

    _create('certificates', _id(), _str('user_id'), _str('project_id'),
            _str('file_name'))

    _create('console_pools', _id(), _str('address'), _str('username'),
            _str('password'), _str('console_type'), _str('public_hostname'),
            _str('host'), _str('compute_host'))

    _create('consoles', _id(), _str('instance_name'), _int('instance_id'),
            _str('password'), _int('port'),
            _fk('pool_id', 'console_pools.id'))


def downgrade():
    for name in TABLES:
        op.drop_table(name)
