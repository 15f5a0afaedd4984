"""nova.db against real SQLite, MariaDB and PostgreSQL.

Each test gets its own uniquely named database, dropped at the end.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from alembic import autogenerate
from alembic.runtime import migration as alembic_migration

from nova import context
from nova import db
from nova import exception
from nova import flags
from nova.db import migration
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy import session as db_session
from tests import dbservers

FLAGS = flags.FLAGS
HERE = os.path.dirname(os.path.abspath(__file__))


def _mysql_db(request):
    return dbservers.make_database(request, 'mysql', 'nova_test')


def _postgres_db(request):
    return dbservers.make_database(request, 'postgres', 'nova_test')


def _sqlite_db(request):
    return dbservers.make_database(request, 'sqlite', 'nova')


@pytest.fixture(params=[
    'sqlite',
    pytest.param('mysql', marks=pytest.mark.needs_mysql),
    pytest.param('postgresql', marks=pytest.mark.needs_postgres)])
def backend(request):
    """sql_connection pointed at a new, empty database of each kind."""
    make = {'sqlite': _sqlite_db, 'mysql': _mysql_db,
            'postgresql': _postgres_db}[request.param]
    url, drop = make(request)
    FLAGS.sql_connection = url
    try:
        yield url
    finally:
        db_session.dispose(url)
        drop()


def _schema_diff():
    with db_session.get_engine().connect() as conn:
        ctx = alembic_migration.MigrationContext.configure(
            conn, opts={'compare_type': True})
        return autogenerate.compare_metadata(ctx, models.Base.metadata)


def _tables():
    return set(sa.inspect(db_session.get_engine()).get_table_names())


def test_sync_version_downgrade_upgrade(backend):
    assert migration.db_version() is None
    assert migration.db_sync() == 3
    assert migration.db_version() == 3
    assert _schema_diff() == []
    # A second sync changes nothing.
    ctx = context.get_admin_context()
    db.user_create(ctx, {'id': 'keep-me'})
    assert migration.db_sync() == 3
    assert db.user_get(ctx, 'keep-me')
    # Down to Bexar and back up.
    assert migration.db_sync(1) == 1
    assert 'instance_types' not in _tables()
    assert 'instances' in _tables()
    assert migration.db_sync() == 3
    assert _schema_diff() == []
    assert [t.name for t in db.instance_type_get_all(ctx)] == \
        ['m1.tiny', 'm1.small', 'm1.medium', 'm1.large', 'm1.xlarge']
    assert migration.db_sync(0) == 0
    assert _tables() <= {'alembic_version'}


def test_facade_smoke(backend):
    migration.db_sync()
    admin = context.get_admin_context()
    db.user_create(admin, {'id': 'alice', 'name': 'alice',
                           'access_key': 'ak', 'secret_key': 'sk'})
    db.project_create(admin, {'id': 'proj', 'name': 'proj',
                              'project_manager': 'alice',
                              'members': ['alice']})
    db.user_add_project_role(admin, 'alice', 'proj', 'developer')
    assert [m.id for m in db.project_get(admin, 'proj').members] == ['alice']
    assert db.user_get_roles_for_project(admin, 'alice', 'proj') == \
        ['developer']
    with pytest.raises(exception.Duplicate):
        db.user_create(admin, {'id': 'bob', 'access_key': 'ak'})

    alice = context.RequestContext('alice', 'proj', is_admin=False)
    group = db.security_group_create(alice, {'project_id': 'proj',
                                             'name': 'default'})
    inst = db.instance_create(alice, {'project_id': 'proj',
                                      'user_id': 'alice',
                                      'instance_type': 'm1.small',
                                      'display_name': 'caf\u00e9 \u2603',
                                      'metadata': {'k': 'v'},
                                      'security_groups': [group.id]})
    got = db.instance_get(alice, inst.id)
    assert got.display_name == 'caf\u00e9 \u2603'
    assert got.instance_type.memory_mb == 2048
    assert [g.name for g in got.security_groups] == ['default']
    assert db.instance_data_get_for_project(alice, 'proj') == (1, 0)
    other = context.RequestContext('mallory', 'evil', is_admin=False)
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get(other, inst.id)
    # The database enforces references (foreign keys on SQLite too).
    with pytest.raises(exception.InvalidInput):
        db.fixed_ip_create(admin, {'address': '1.2.3.4', 'network_id': 999})
    db.instance_destroy(alice, inst.id)
    assert db.instance_get_all(alice) == []
    assert db.instance_get(context.get_admin_context(read_deleted=True),
                           inst.id).deleted


def test_pool_claims_from_concurrent_processes(backend):
    migration.db_sync()
    admin = context.get_admin_context()
    net = db.network_create(admin, {'cidr': '10.1.0.0/24'})
    total = 3 * 2 * 5
    db.fixed_ip_bulk_create(admin, [
        {'address': '10.1.0.%d' % n, 'network_id': net.id}
        for n in range(10, 10 + total)])
    db_session.dispose()
    procs = [subprocess.Popen([sys.executable,
                               os.path.join(HERE, 'claim_worker.py'),
                               backend, str(net.id), '2', '5'],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
             for _ in range(3)]
    got = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        got.extend(json.loads(out.strip().splitlines()[-1]))
    # Every address handed out exactly once.
    assert len(got) == total
    assert len(set(got)) == total
    assert db.network_count_available_ips(admin, net.id) == 0


@pytest.mark.parametrize('kind', [
    pytest.param('mysql', marks=pytest.mark.needs_mysql),
    pytest.param('postgresql', marks=pytest.mark.needs_postgres)])
def test_a_waiting_query_does_not_stall_other_green_threads(request, kind):
    make = {'mysql': _mysql_db, 'postgresql': _postgres_db}[kind]
    url, drop = make(request)
    try:
        proc = subprocess.run([sys.executable,
                               os.path.join(HERE, 'green_worker.py'), url],
                              capture_output=True, text=True, timeout=120)
    finally:
        drop()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith('ok')
