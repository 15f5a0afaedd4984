"""nova.quota: flag defaults, per-project overrides, and what a request may take."""

import pytest

from nova import context
from nova import exception
from nova import flags
from nova import quota
from nova.db import api as db
from tests.unit.db.conftest import _template_db, sqlite_db  # noqa: F401

FLAGS = flags.FLAGS


@pytest.fixture
def ctx(sqlite_db):  # noqa: F811
    return context.RequestContext('alice', 'proj', is_admin=False)


def _tiny():
    return {'vcpus': 1, 'memory_mb': 512}


def _big():
    return {'vcpus': 4, 'memory_mb': 8192}


def _add_instances(n, vcpus, project='proj'):
    admin = context.get_admin_context()
    for _ in range(n):
        db.instance_create(admin, {'project_id': project, 'user_id': 'alice',
                                   'vcpus': vcpus, 'memory_mb': 512})


def test_defaults_come_from_flags(ctx):
    FLAGS.quota_instances = 7
    limits = quota.get_quota(ctx, 'proj')
    assert limits['instances'] == 7 and limits['cores'] == 20
    assert set(limits) == set(quota.RESOURCES)


def test_overrides_and_reset(ctx):
    admin = context.get_admin_context()
    quota.set_quota(admin, 'proj', 'instances', 3)
    quota.set_quota(admin, 'proj', 'cores', '5')
    limits = quota.get_quota(ctx, 'proj')
    assert (limits['instances'], limits['cores']) == (3, 5)
    assert quota.get_quota(admin, 'other')['instances'] == 10
    quota.set_quota(admin, 'proj', 'instances', None)
    assert quota.get_quota(ctx, 'proj')['instances'] == 10
    with pytest.raises(exception.InvalidInput):
        quota.set_quota(admin, 'proj', 'widgets', 3)
    with pytest.raises(exception.InvalidInput):
        quota.set_quota(admin, 'proj', 'instances', 'many')
    with pytest.raises(exception.InvalidInput):
        quota.set_quota(admin, 'proj', 'instances', -1)


def test_allowed_instances_counts_instances_and_cores(ctx):
    assert quota.allowed_instances(ctx, 5, _tiny()) == 5
    assert quota.allowed_instances(ctx, 50, _tiny()) == 10
    assert quota.allowed_instances(ctx, 10, _big()) == 5     # 20 cores / 4
    _add_instances(8, 1)
    assert quota.allowed_instances(ctx, 5, _tiny()) == 2
    assert quota.allowed_instances(ctx, 5, _big()) == 2      # 12 cores left
    _add_instances(2, 1)
    assert quota.allowed_instances(ctx, 1, _tiny()) == 0
    _add_instances(5, 1, project='other')
    assert quota.allowed_instances(
        context.RequestContext('x', 'other', is_admin=False), 3, _tiny()) == 3


def test_allowed_volumes_floating_ips_and_metadata(ctx):
    assert quota.allowed_volumes(ctx, 2, 100) == 2
    FLAGS.quota_gigabytes = 150
    assert quota.allowed_volumes(ctx, 2, 100) == 1
    assert quota.allowed_floating_ips(ctx, 3) == 3
    FLAGS.quota_floating_ips = 1
    assert quota.allowed_floating_ips(ctx, 3) == 1
    assert quota.allowed_metadata_items(ctx, 500) == 128
    assert quota.allowed_injected_files(ctx, 9) == 5
