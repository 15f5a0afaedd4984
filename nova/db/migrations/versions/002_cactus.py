"""Cactus (2011.2): flavors in the database and the rest of its schema.

What Cactus's migrations 003-015 did, in one step:
network labels and IPv6 gateway/netmask (003, 012), zones (004), instance
metadata and the metadata/injected-file quotas (005, 013), volume provider
location/auth (006), instance_types with the five m1.* flavors (008),
resize migrations with old/new flavor (009, 015), instances.os_type (010),
and instances.instance_type (a name) replaced by instance_type_id (014).

Revision ID: 002
Revises: 001
"""

from alembic import op
import sqlalchemy as sa

revision = '002'
down_revision = '001'
branch_labels = None
depends_on = None

MYSQL = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}

DEFAULT_FLAVORS = [
    # name, memory_mb, vcpus, local_gb, flavorid
    ('m1.tiny', 512, 1, 0, 1),
    ('m1.small', 2048, 1, 20, 2),
    ('m1.medium', 4096, 2, 40, 3),
    ('m1.large', 8192, 4, 80, 4),
    ('m1.xlarge', 16384, 8, 160, 5),
]


def _create(name, *items):
    return op.create_table(
        name,
        sa.Column('created_at', sa.DateTime),
        sa.Column('updated_at', sa.DateTime),
        sa.Column('deleted_at', sa.DateTime),
        sa.Column('deleted', sa.Integer, nullable=False,
                  server_default=sa.text('0')),
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        *items, **MYSQL)


def _str(name):
    return sa.Column(name, sa.String(255))


def _int(name, **kw):
    return sa.Column(name, sa.Integer, **kw)


NEW_COLUMNS = {
    'networks': ['label', 'netmask_v6', 'gateway_v6'],
    'volumes': ['provider_location', 'provider_auth'],
}
NEW_QUOTAS = ['metadata_items', 'injected_files',
              'injected_file_content_bytes']


def upgrade():
    for table, names in NEW_COLUMNS.items():
        for name in names:
            op.add_column(table, _str(name))
    for name in NEW_QUOTAS:
        op.add_column('quotas', _int(name))

    _create('zones', _str('api_url'), _str('username'), _str('password'))

    _create('instance_metadata',
            sa.Column('instance_id', sa.Integer,
                      sa.ForeignKey('instances.id'), nullable=False),
            _str('key'), _str('value'))

    types = _create(
        'instance_types', _str('name'),
        _int('memory_mb', nullable=False), _int('vcpus', nullable=False),
        _int('local_gb', nullable=False), _int('flavorid', nullable=False),
        _int('swap', nullable=False, server_default=sa.text('0')),
        _int('rxtx_quota', nullable=False, server_default=sa.text('0')),
        _int('rxtx_cap', nullable=False, server_default=sa.text('0')),
        sa.UniqueConstraint('name', 'deleted'),
        sa.UniqueConstraint('flavorid', 'deleted'))
    op.bulk_insert(types, [
        {'name': name, 'memory_mb': mem, 'vcpus': vcpus,
         'local_gb': disk, 'flavorid': flavorid, 'swap': 0,
         'rxtx_quota': 0, 'rxtx_cap': 0, 'deleted': 0}
        for name, mem, vcpus, disk, flavorid in DEFAULT_FLAVORS])

    _create('migrations', _str('source_compute'), _str('dest_compute'),
            _str('dest_host'),
            sa.Column('instance_id', sa.Integer,
                      sa.ForeignKey('instances.id')),
            _int('old_flavor_id'), _int('new_flavor_id'), _str('status'))

    with op.batch_alter_table('instances') as batch:
        batch.add_column(_int('instance_type_id'))
        batch.add_column(_str('os_type'))
    # Instances made before flavors lived in the database name their type.
    op.execute(
        'UPDATE instances SET instance_type_id = '
        '(SELECT instance_types.id FROM instance_types '
        ' WHERE instance_types.name = instances.instance_type '
        ' AND instance_types.deleted = 0)')
    with op.batch_alter_table('instances') as batch:
        batch.create_foreign_key('fk_instances_instance_type_id',
                                 'instance_types', ['instance_type_id'],
                                 ['id'])
        batch.drop_column('instance_type')


def downgrade():
    with op.batch_alter_table('instances') as batch:
        batch.add_column(_str('instance_type'))
    op.execute(
        'UPDATE instances SET instance_type = '
        '(SELECT instance_types.name FROM instance_types '
        ' WHERE instance_types.id = instances.instance_type_id)')
    with op.batch_alter_table('instances') as batch:
        batch.drop_constraint('fk_instances_instance_type_id',
                              type_='foreignkey')
        batch.drop_column('instance_type_id')
        batch.drop_column('os_type')

    for name in ('migrations', 'instance_types', 'instance_metadata',
                 'zones'):
        op.drop_table(name)

    with op.batch_alter_table('quotas') as batch:
        for name in NEW_QUOTAS:
            batch.drop_column(name)
    for table, names in NEW_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for name in names:
                batch.drop_column(name)
