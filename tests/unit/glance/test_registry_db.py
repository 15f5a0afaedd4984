"""The registry datastore: records, properties, filters, paging, migrations."""

import pytest

from glance.common import context as glance_context
from glance.common import exception
from glance.registry.db import api as db_api
from glance.registry.db import migration


@pytest.fixture
def repo(tmp_path):
    engine = migration.make_engine('sqlite:///%s/reg.sqlite' % tmp_path)
    migration.db_sync(engine)
    yield db_api.ImageRepo(engine)
    engine.dispose()


def ctx(project, admin=False):
    return glance_context.RequestContext(project_id=project, is_admin=admin)


def test_migrations_reach_head_and_go_back(tmp_path):
    engine = migration.make_engine('sqlite:///%s/m.sqlite' % tmp_path)
    assert migration.db_version(engine) is None
    migration.db_sync(engine)
    assert migration.db_version(engine) == migration.head_version() == '001'
    migration.db_downgrade(engine, 'base')
    assert migration.db_version(engine) is None
    engine.dispose()


def test_create_get_update_destroy(repo):
    image = repo.create({'name': 'a', 'disk_format': 'raw',
                         'container_format': 'bare', 'owner': 'p1'},
                        {'kernel_id': '2'})
    assert image['status'] == 'queued' and image['is_public'] is False
    assert image['properties'] == {'kernel_id': '2'}
    assert image['created_at'] and image['deleted'] is False
    got = repo.get(image['id'])
    assert got['name'] == 'a'
    updated = repo.update(image['id'], {'name': 'b'}, {'arch': 'x86_64'})
    assert updated['name'] == 'b'
    assert updated['properties'] == {'kernel_id': '2', 'arch': 'x86_64'}
    assert updated['updated_at'] is not None
    purged = repo.update(image['id'], {}, {'arch': 'i686'}, purge_props=True)
    assert purged['properties'] == {'arch': 'i686'}
    # a purged property set again reuses its row
    again = repo.update(image['id'], {}, {'kernel_id': '9'})
    assert again['properties'] == {'arch': 'i686', 'kernel_id': '9'}
    repo.destroy(image['id'])
    with pytest.raises(exception.NotFound):
        repo.get(image['id'])
    with pytest.raises(exception.NotFound):
        repo.destroy(image['id'])


def test_validation_on_create_and_update(repo):
    with pytest.raises(exception.Invalid, match='vfat'):
        repo.create({'disk_format': 'vfat'})
    with pytest.raises(exception.Invalid, match='status'):
        repo.create({'status': 'exploded'})
    with pytest.raises(exception.Invalid, match='colour'):
        repo.create({'colour': 'red'})
    image = repo.create({'disk_format': 'aki', 'container_format': 'aki'})
    with pytest.raises(exception.Invalid, match='aki'):
        repo.update(image['id'], {'container_format': 'bare'})
    assert repo.get(image['id'])['container_format'] == 'aki'


def test_explicit_id_and_duplicate(repo):
    image = repo.create({'id': 40, 'name': 'x'})
    assert image['id'] == 40
    with pytest.raises(exception.Conflict):
        repo.create({'id': 40, 'name': 'y'})


def test_expected_status_is_compare_and_set(repo):
    image = repo.create({'name': 'x'})
    repo.update(image['id'], {'status': 'saving'}, expected_status='queued')
    with pytest.raises(exception.Conflict):
        repo.update(image['id'], {'status': 'saving'},
                    expected_status='queued')
    assert repo.get(image['id'])['status'] == 'saving'


def test_visibility(repo):
    mine = repo.create({'name': 'mine', 'owner': 'p1'})
    theirs = repo.create({'name': 'theirs', 'owner': 'p2'})
    public = repo.create({'name': 'public', 'owner': 'p2',
                          'is_public': True})
    names = lambda images: sorted(i['name'] for i in images)  # noqa: E731
    assert names(repo.list(ctx('p1'))) == ['mine', 'public']
    assert names(repo.list(ctx('p2'))) == ['public', 'theirs']
    assert names(repo.list(ctx(None))) == ['public']
    assert names(repo.list(ctx(None, admin=True))) == ['mine', 'public',
                                                       'theirs']
    assert repo.get(public['id'], ctx('p1'))['name'] == 'public'
    with pytest.raises(exception.NotFound):
        repo.get(theirs['id'], ctx('p1'))
    assert repo.get(mine['id'], ctx('p1'))['name'] == 'mine'


def test_filters(repo):
    repo.create({'name': 'a', 'disk_format': 'raw', 'container_format':
                 'bare', 'size': 10, 'status': 'active'}, {'arch': 'x86'})
    repo.create({'name': 'b', 'disk_format': 'qcow2', 'container_format':
                 'ovf', 'size': 100, 'status': 'active'}, {'arch': 'arm'})
    repo.create({'name': 'c', 'disk_format': 'qcow2', 'container_format':
                 'bare', 'size': 1000}, {'arch': 'x86'})
    admin = ctx(None, admin=True)

    def names(**filters):
        return sorted(i['name'] for i in repo.list(admin, filters))
    assert names(name='b') == ['b']
    assert names(status='queued') == ['c']
    assert names(disk_format='qcow2') == ['b', 'c']
    assert names(container_format='bare') == ['a', 'c']
    assert names(size_min=50) == ['b', 'c']
    assert names(size_max=100) == ['a', 'b']
    assert names(size_min=50, size_max=500) == ['b']
    assert names(**{'property-arch': 'x86'}) == ['a', 'c']
    assert names(**{'property-arch': 'x86', 'disk_format': 'raw'}) == ['a']
    assert names(**{'property-missing': 'x'}) == []


@pytest.mark.parametrize('sort_key,sort_dir', [
    ('created_at', 'desc'), ('id', 'asc'), ('name', 'asc'), ('name', 'desc'),
    ('size', 'asc'), ('size', 'desc'), ('disk_format', 'asc')])
def test_paging_with_marker_visits_every_image_once(repo, sort_key,
                                                     sort_dir):
    for n in range(23):
        # names repeat and some are NULL, so ties and NULLs are exercised
        repo.create({'name': None if n % 5 == 0 else 'img%d' % (n % 4),
                     'size': None if n % 7 == 0 else n % 6,
                     'disk_format': 'raw' if n % 2 else None})
    admin = ctx(None, admin=True)
    whole = [i['id'] for i in repo.list(admin, limit=None, sort_key=sort_key,
                                        sort_dir=sort_dir)]
    seen = []
    marker = None
    for _page in range(20):
        page = repo.list(admin, marker=marker, limit=5, sort_key=sort_key,
                         sort_dir=sort_dir)
        seen.extend(i['id'] for i in page)
        if len(page) < 5:
            break
        marker = page[-1]['id']
    assert seen == whole
    assert sorted(seen) == list(range(1, 24))


def test_bad_list_arguments(repo):
    with pytest.raises(exception.Invalid, match='sort_key'):
        repo.list(sort_key='location')
    with pytest.raises(exception.Invalid, match='sort_dir'):
        repo.list(sort_dir='sideways')
    with pytest.raises(exception.Invalid, match='Marker'):
        repo.list(ctx(None, admin=True), marker=999)
