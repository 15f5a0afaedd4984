"""The fake hypervisor driver and get_connection."""

import pytest

from nova import exception
from nova import flags
from nova.compute import power_state
from nova.virt import connection
from nova.virt import driver
from nova.virt import fake

FLAGS = flags.FLAGS


def _inst(name='instance-00000001', image_id='1'):
    return {'id': 1, 'name': name, 'image_id': image_id, 'memory_mb': 512,
            'vcpus': 2, 'local_gb': 1}


def test_get_connection_picks_by_flag():
    FLAGS.connection_type = 'fake'
    conn = connection.get_connection()
    assert isinstance(conn, fake.FakeConnection)
    assert isinstance(conn, driver.ComputeDriver)
    FLAGS.connection_type = 'xen'
    with pytest.raises(exception.Invalid):
        connection.get_connection()


def test_lifecycle():
    conn = fake.FakeConnection()
    conn.init_host('h1')
    inst = _inst()
    conn.spawn(None, inst, [{'ip': '10.0.0.2'}])
    assert conn.list_instances() == [inst['name']]
    info = conn.get_info(inst['name'])
    assert info['state'] == power_state.RUNNING
    assert info['max_mem'] == 512 * 1024 and info['num_cpu'] == 2
    with pytest.raises(exception.Duplicate):
        conn.spawn(None, inst, [])
    for op, state in ((conn.pause, power_state.PAUSED),
                      (conn.unpause, power_state.RUNNING),
                      (conn.suspend, power_state.SUSPENDED),
                      (conn.resume, power_state.RUNNING)):
        op(inst)
        assert conn.get_info(inst['name'])['state'] == state
    conn.reboot(inst, [])
    assert 'rebooted' in conn.get_console_output(inst)
    conn.rescue(None, inst, [])
    assert conn.instances[inst['name']].rescued
    conn.unrescue(inst, [])
    assert conn.get_diagnostics(inst)['boots'] == 2
    stats = conn.get_host_stats()
    assert stats['vcpus_used'] == 2 and stats['hypervisor_hostname'] == 'h1'
    conn.destroy(inst)
    conn.destroy(inst)       # idempotent
    with pytest.raises(exception.InstanceNotFound):
        conn.get_info(inst['name'])
    with pytest.raises(exception.InstanceNotFound):
        conn.reboot(inst, [])


def test_configured_failures():
    conn = fake.FakeConnection()
    FLAGS.fake_fail_image_ids = ['66']
    with pytest.raises(fake.FakeSpawnError):
        conn.spawn(None, _inst(image_id='66'), [])
    assert conn.list_instances() == []
    conn.fail_next('reboot', RuntimeError('once'))
    conn.spawn(None, _inst(), [])
    with pytest.raises(RuntimeError):
        conn.reboot(_inst(), [])
    conn.reboot(_inst(), [])
    conn.fail_always('pause')
    for _ in range(2):
        with pytest.raises(exception.NovaException):
            conn.pause(_inst())
    conn.clear_failures()
    conn.pause(_inst())


def test_snapshot_uploads_into_the_image(tmp_path):
    from nova import context
    from nova.image import local
    FLAGS.image_service = 'nova.image.local.LocalImageService'
    FLAGS.local_image_path = str(tmp_path)
    svc = local.LocalImageService()
    ctxt = context.get_admin_context()
    image = svc.create(ctxt, {'name': 'snap', 'disk_format': 'raw',
                              'container_format': 'bare'})
    conn = fake.FakeConnection()
    conn.spawn(None, _inst(), [])
    conn.snapshot(ctxt, _inst(), image['id'])
    assert svc.show(ctxt, image['id'])['status'] == 'active'
    assert b'fake disk' in b''.join(svc.get_data(ctxt, image['id'])[1])
