"""services: heartbeat rows and the scheduler's views of them."""

import pytest

from nova import db
from nova import exception
from nova import flags

FLAGS = flags.FLAGS


def _service(ctx, host, binary='nova-compute', topic='compute', **kw):
    values = {'host': host, 'binary': binary, 'topic': topic}
    values.update(kw)
    return db.service_create(ctx, values)


def test_create_get_update_destroy(ctx):
    svc = _service(ctx, 'h1', availability_zone='zone1')
    assert svc.report_count == 0 and not svc.disabled
    assert db.service_get(ctx, svc.id).availability_zone == 'zone1'
    assert db.service_get_by_args(ctx, 'h1', 'nova-compute').id == svc.id
    updated = db.service_update(ctx, svc.id, {'report_count': 5})
    assert updated.report_count == 5
    db.service_destroy(ctx, svc.id)
    with pytest.raises(exception.ServiceNotFound):
        db.service_get(ctx, svc.id)


def test_not_found_errors(ctx):
    with pytest.raises(exception.ServiceNotFound):
        db.service_get(ctx, 999)
    with pytest.raises(exception.ServiceNotFound, match='nova-volume'):
        db.service_get_by_args(ctx, 'h1', 'nova-volume')
    with pytest.raises(exception.ServiceNotFound):
        db.service_update(ctx, 999, {'disabled': True})


def test_one_live_row_per_host_and_binary(ctx):
    svc = _service(ctx, 'h1')
    with pytest.raises(exception.Duplicate):
        _service(ctx, 'h1')
    db.service_destroy(ctx, svc.id)
    assert _service(ctx, 'h1').id != svc.id


def test_enable_new_services_flag(ctx):
    FLAGS.enable_new_services = False
    assert _service(ctx, 'h1').disabled
    assert not _service(ctx, 'h2', disabled=False).disabled


def test_listing_by_topic_host_and_disabled(ctx):
    a = _service(ctx, 'h1')
    b = _service(ctx, 'h2', disabled=True)
    c = _service(ctx, 'h1', binary='nova-network', topic='network')
    assert [s.id for s in db.service_get_all(ctx)] == [a.id, b.id, c.id]
    assert [s.id for s in db.service_get_all(ctx, disabled=True)] == [b.id]
    assert [s.id for s in db.service_get_all(ctx, disabled=False)] == \
        [a.id, c.id]
    # Disabled services are not candidates for scheduling.
    assert [s.id for s in db.service_get_all_by_topic(ctx, 'compute')] == \
        [a.id]
    assert [s.id for s in db.service_get_all_by_host(ctx, 'h1')] == \
        [a.id, c.id]
    assert db.service_get_by_host_and_topic(ctx, 'h1', 'network').id == c.id


def test_compute_sorted_least_loaded_first(ctx):
    busy = _service(ctx, 'busy')
    idle = _service(ctx, 'idle')
    mid = _service(ctx, 'mid')
    _service(ctx, 'off', disabled=True)
    for vcpus in (4, 2):
        db.instance_create(ctx, {'host': 'busy', 'vcpus': vcpus})
    db.instance_create(ctx, {'host': 'mid', 'vcpus': 3})
    gone = db.instance_create(ctx, {'host': 'mid', 'vcpus': 8})
    db.instance_destroy(ctx, gone.id)   # deleted instances do not count
    result = db.service_get_all_compute_sorted(ctx)
    assert [(s.id, load) for s, load in result] == \
        [(idle.id, 0), (mid.id, 3), (busy.id, 6)]


def test_volume_and_network_sorted(ctx):
    v1 = _service(ctx, 'v1', 'nova-volume', 'volume')
    v2 = _service(ctx, 'v2', 'nova-volume', 'volume')
    db.volume_create(ctx, {'host': 'v1', 'size': 10})
    db.volume_create(ctx, {'host': 'v2', 'size': 3})
    assert [(s.id, n) for s, n in db.service_get_all_volume_sorted(ctx)] == \
        [(v2.id, 3), (v1.id, 10)]
    n1 = _service(ctx, 'n1', 'nova-network', 'network')
    n2 = _service(ctx, 'n2', 'nova-network', 'network')
    db.network_create(ctx, {'cidr': '10.0.0.0/24', 'host': 'n1'})
    assert [(s.id, n) for s, n in db.service_get_all_network_sorted(ctx)] \
        == [(n2.id, 0), (n1.id, 1)]


def test_service_writes_need_an_admin(user_ctx):
    with pytest.raises(exception.AdminRequired):
        db.service_create(user_ctx, {'host': 'h'})
