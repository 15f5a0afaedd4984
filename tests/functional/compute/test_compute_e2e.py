"""End to end on real processes: bin/nova-scheduler, bin/nova-network and
nova-compute services (fake driver) over RabbitMQ with a SQLite database;
instances created, rebooted and terminated through compute.api here."""

import pytest

from nova import context
from nova import exception
from nova.compute import api as compute_api
from nova.compute import power_state
from nova.db import api as db
from tests.functional.compute import fake_cloud
from tests.functional.compute.conftest import make_images


@pytest.fixture
def cloud(rabbit, tmp_path):
    c = fake_cloud.FakeCloud(str(tmp_path), compute_hosts=2,
                             hosts_per_process=1,
                             flags_extra={'fake_fail_image_ids': 'PENDING'})
    # The failing image's id is known only once images exist; the daemons
    # read the flagfile at start, so make the images first.
    c.configure_this_process()
    images = make_images()
    c.flag_values['fake_fail_image_ids'] = images['broken']
    try:
        c.start()
        yield c, images
    finally:
        c.stop()


def _state(api, ctx, iid):
    try:
        return api.get(ctx, iid)['state_description']
    except exception.InstanceNotFound:
        return 'gone'


def test_boot_reboot_terminate(cloud):
    c, images = cloud
    api = compute_api.API()
    ctx = context.RequestContext('alice', 'proj1', is_admin=False)
    made = api.create(ctx, 'm1.tiny', images['ami'], min_count=2,
                      max_count=2)
    broken = api.create(ctx, 'm1.tiny', images['broken'])[0]
    ids = [m['id'] for m in made]
    c.wait(lambda: all(_state(api, ctx, i) == 'running' for i in ids), 120,
           'instances to run')
    got = [api.get(ctx, i) for i in ids]
    assert {g['host'] for g in got} == set(c.hosts)
    assert all(g['state'] == power_state.RUNNING for g in got)
    assert all(g['fixed_ip'].startswith('10.60.') for g in got)
    assert len({g['fixed_ip'] for g in got}) == 2

    c.wait(lambda: _state(api, ctx, broken['id']) == 'error', 120,
           'the broken image to fail')
    fault = api.get(ctx, broken['id'])['fault']
    assert 'failed on purpose' in fault['message']
    assert api.get(ctx, broken['id'])['fixed_ip'] is None

    first = ids[0]
    assert 'booted' in api.get_console_output(ctx, first)
    api.reboot(ctx, first)
    c.wait(lambda: _state(api, ctx, first) == 'running', 60,
           'the reboot to finish')
    assert 'rebooted' in api.get_console_output(ctx, first)
    assert api.get_diagnostics(ctx, first)['boots'] == 2

    address = api.get(ctx, first)['fixed_ip']
    for iid in ids + [broken['id']]:
        api.delete(ctx, iid)
    c.wait(lambda: all(_state(api, ctx, i) == 'gone'
                       for i in ids + [broken['id']]), 60,
           'instances to be terminated')
    admin = context.get_admin_context()
    fixed = db.fixed_ip_get_by_address(admin, address)
    assert fixed['instance_id'] is None and not fixed['allocated']
    assert [f for f in db.fixed_ip_get_all(admin) if f['instance_id']] == []
