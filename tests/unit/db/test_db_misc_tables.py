"""consoles, resize migrations and zones."""

import pytest

from nova import db
from nova import exception


def test_consoles(ctx):
    pool = db.console_pool_create(ctx, {'address': '127.0.0.1',
                                        'username': 'u', 'password': 'p',
                                        'console_type': 'vnc',
                                        'host': 'proxy1',
                                        'compute_host': 'c1'})
    assert db.console_pool_get(ctx, pool.id).host == 'proxy1'
    assert db.console_pool_get_by_host_type(ctx, 'c1', 'proxy1',
                                            'vnc').id == pool.id
    assert [p.id for p in db.console_pool_get_all_by_host_type(
        ctx, 'proxy1', 'vnc')] == [pool.id]
    with pytest.raises(exception.NotFound):
        db.console_pool_get_by_host_type(ctx, 'c2', 'proxy1', 'vnc')
    con = db.console_create(ctx, {'instance_name': 'instance-00000001',
                                  'instance_id': 1, 'password': 'x',
                                  'port': 5901, 'pool_id': pool.id})
    assert con.pool.id == pool.id
    assert db.console_get_by_pool_instance(ctx, pool.id, 1).id == con.id
    assert db.console_get(ctx, con.id, instance_id=1).port == 5901
    with pytest.raises(exception.NotFound):
        db.console_get(ctx, con.id, instance_id=2)
    assert [c.id for c in db.console_get_all_by_instance(ctx, 1)] == [con.id]
    db.console_delete(ctx, con.id)
    with pytest.raises(exception.NotFound):
        db.console_get(ctx, con.id)


def test_migrations(ctx):
    inst = db.instance_create(ctx, {'project_id': 'p'})
    mig = db.migration_create(ctx, {'instance_id': inst.id,
                                    'source_compute': 'c1',
                                    'dest_compute': 'c2',
                                    'old_flavor_id': 1, 'new_flavor_id': 2,
                                    'status': 'migrating'})
    assert db.migration_get(ctx, mig.id).dest_compute == 'c2'
    db.migration_update(ctx, mig.id, {'status': 'finished'})
    assert db.migration_get_by_instance_and_status(
        ctx, inst.id, 'finished').id == mig.id
    with pytest.raises(exception.NotFound):
        db.migration_get_by_instance_and_status(ctx, inst.id, 'migrating')
    with pytest.raises(exception.InvalidInput):
        db.migration_create(ctx, {'instance_id': 999})


def test_zones(ctx):
    zone = db.zone_create(ctx, {'api_url': 'http://127.0.0.1:8774/',
                                'username': 'u', 'password': 'p'})
    assert db.zone_update(ctx, zone.id, {'username': 'v'}).username == 'v'
    assert [z.id for z in db.zone_get_all(ctx)] == [zone.id]
    db.zone_delete(ctx, zone.id)
    with pytest.raises(exception.NotFound):
        db.zone_get(ctx, zone.id)
    assert db.zone_get_all(ctx) == []
