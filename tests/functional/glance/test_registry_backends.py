"""The registry schema and queries on real MariaDB and PostgreSQL."""

import uuid

import pytest

from glance.common import context as glance_context
from glance.common import exception
from glance.registry.db import api as db_api
from glance.registry.db import migration
from tests import dbservers


def _mysql(request):
    return dbservers.make_database(request, 'mysql', 'glance_test')


def _postgres(request):
    return dbservers.make_database(request, 'postgres', 'glance_test')


@pytest.fixture(params=[pytest.param(_mysql, marks=pytest.mark.needs_mysql,
                                     id='mysql'),
                        pytest.param(_postgres,
                                     marks=pytest.mark.needs_postgres,
                                     id='postgres')])
def engine(request):
    url, drop = request.param(request)
    engine = migration.make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        drop()


def test_schema_and_queries(engine):
    migration.db_sync(engine)
    assert migration.db_version(engine) == migration.head_version()
    repo = db_api.ImageRepo(engine)
    big = repo.create({'name': 'big', 'size': 5 * 1024 ** 4,
                       'owner': 'p1'}, {'arch': 'x86_64'})
    assert repo.get(big['id'])['size'] == 5 * 1024 ** 4   # BIGINT
    for n in range(11):
        repo.create({'name': None if n % 4 == 0 else 'n%d' % (n % 3),
                     'is_public': n % 2 == 0, 'owner': 'p2'})
    admin = glance_context.RequestContext(is_admin=True)
    for key, direction in (('name', 'asc'), ('name', 'desc'),
                           ('created_at', 'desc')):
        whole = [i['id'] for i in repo.list(admin, limit=None, sort_key=key,
                                            sort_dir=direction)]
        seen, marker = [], None
        for _page in range(10):
            page = repo.list(admin, marker=marker, limit=4, sort_key=key,
                             sort_dir=direction)
            seen += [i['id'] for i in page]
            if len(page) < 4:
                break
            marker = page[-1]['id']
        assert seen == whole and len(seen) == 12
    p1 = glance_context.RequestContext(project_id='p1')
    assert len(repo.list(p1, limit=None)) == 1 + 6
    assert [i['name'] for i in repo.list(
        admin, {'property-arch': 'x86_64'})] == ['big']
    repo.update(big['id'], {'status': 'saving'}, expected_status='queued')
    with pytest.raises(exception.Conflict):
        repo.update(big['id'], {'status': 'saving'},
                    expected_status='queued')
    repo.destroy(big['id'])
    with pytest.raises(exception.NotFound):
        repo.get(big['id'])
    migration.db_downgrade(engine, 'base')
    assert migration.db_version(engine) is None
