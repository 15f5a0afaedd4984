"""db_sync / db_version on SQLite, data migrations, models == migrations."""

import sqlalchemy as sa
from alembic import autogenerate
from alembic.runtime import migration as alembic_migration

import pytest

from nova import context
from nova import db
from nova import exception
from nova import flags
from nova.db import migration
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy import session as db_session

FLAGS = flags.FLAGS


@pytest.fixture
def empty_db(tmp_path):
    url = 'sqlite:///%s/empty.sqlite' % tmp_path
    FLAGS.sql_connection = url
    yield url
    db_session.dispose(url)


def _tables():
    return set(sa.inspect(db_session.get_engine()).get_table_names())


def _sql(text, **params):
    with db_session.get_engine().begin() as conn:
        return conn.execute(sa.text(text), params).fetchall() \
            if text.lstrip().upper().startswith('SELECT') else \
            conn.execute(sa.text(text), params)


def test_never_synced_has_no_version(empty_db):
    assert migration.db_version() is None


def test_sync_to_head_and_again_is_a_no_op(empty_db):
    assert migration.known_versions() == [1, 2, 3]
    assert migration.db_sync() == 3
    assert migration.db_version() == 3
    assert {'instances', 'instance_types', 'users', 'alembic_version'} <= \
        _tables()
    ctx = context.get_admin_context()
    db.user_create(ctx, {'id': 'alice'})
    assert migration.db_sync() == 3
    assert migration.db_sync(3) == 3
    assert db.user_get(ctx, 'alice').id == 'alice'


def test_step_by_step_down_and_up(empty_db):
    assert migration.db_sync(1) == 1
    assert 'instance_types' not in _tables()
    assert migration.db_sync('2') == 2
    assert 'instance_types' in _tables()
    assert migration.db_sync('003') == 3
    assert migration.db_sync(1) == 1
    assert 'instance_types' not in _tables()
    assert 'instances' in _tables()
    assert migration.db_sync(0) == 0
    assert _tables() <= {'alembic_version'}
    assert migration.db_sync() == 3


def test_bad_versions(empty_db):
    with pytest.raises(exception.InvalidInput, match='unknown'):
        migration.db_sync(42)
    with pytest.raises(exception.InvalidInput, match='number'):
        migration.db_sync('head-ish')
    assert migration.db_version() is None


def test_data_survives_the_cactus_and_uuid_migrations(empty_db):
    migration.db_sync(1)
    _sql("INSERT INTO instances (id, deleted, instance_type, project_id) "
         "VALUES (7, 0, 'm1.large', 'p')")
    _sql("INSERT INTO fixed_ips (id, deleted, address, instance_id) "
         "VALUES (1, 0, '10.0.0.2', 7)")
    migration.db_sync(2)
    rows = _sql('SELECT instances.id, instance_types.name FROM instances '
                'JOIN instance_types ON instance_types.id = '
                'instances.instance_type_id')
    assert [tuple(r) for r in rows] == [(7, 'm1.large')]
    migration.db_sync(3)
    inst = db.instance_get(context.get_admin_context(), 7)
    assert len(inst.uuid) == 36
    assert inst.instance_type.name == 'm1.large'
    # Rows that pointed at the rebuilt table still do.
    assert inst.fixed_ip.address == '10.0.0.2'
    migration.db_sync(1)
    assert [tuple(r) for r in _sql('SELECT id, instance_type FROM '
                                   'instances')] == [(7, 'm1.large')]


def test_models_match_the_migrated_schema(empty_db):
    migration.db_sync()
    with db_session.get_engine().connect() as conn:
        ctx = alembic_migration.MigrationContext.configure(
            conn, opts={'compare_type': True})
        diff = autogenerate.compare_metadata(ctx, models.Base.metadata)
    assert diff == []
