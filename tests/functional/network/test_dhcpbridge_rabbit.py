"""bin/nova-dhcpbridge as dnsmasq runs it: a process casting lease changes
over RabbitMQ to a network service (FlatDHCPManager consuming here), and
``init`` printing the leases the database knows."""

import os
import subprocess
import sys
import time

import pytest

from nova import context
from nova import flags
from nova import rpc
from nova.db import api as db
from nova.network import manager
from tests.unit.db.conftest import _template_db, sqlite_db  # noqa: F401

FLAGS = flags.FLAGS
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
BRIDGE_BIN = os.path.join(ROOT, 'bin', 'nova-dhcpbridge')
MAC = '02:16:3e:00:01:01'


def wait_for(predicate, timeout=30, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


@pytest.fixture
def network_service(sqlite_db, rabbit_vhost, tmp_path):  # noqa: F811
    FLAGS.rpc_backend = 'kombu'
    FLAGS.rabbit_host = '127.0.0.1'
    FLAGS.rabbit_virtual_host = rabbit_vhost
    FLAGS.rabbit_retry_interval = 1
    ctxt = context.get_admin_context()
    mgr = manager.FlatDHCPManager(host='ft-net')
    [network] = mgr.create_networks(ctxt, '10.31.0.0/28', 1, 16)
    db.network_update(ctxt, network['id'], {'host': 'ft-net',
                                             'bridge': 'brft'})
    instance = db.instance_create(ctxt, {'project_id': 'p', 'user_id': 'u',
                                         'hostname': 'vm-ft',
                                         'mac_address': MAC})
    address = db.fixed_ip_associate_pool(ctxt, network['id'], instance['id'])
    db.fixed_ip_update(ctxt, address, {'allocated': True})

    flagfile = tmp_path / 'dhcpbridge.conf'
    flagfile.write_text(''.join('--%s=%s\n' % pair for pair in [
        ('sql_connection', FLAGS.sql_connection),
        ('rabbit_host', '127.0.0.1'), ('rabbit_virtual_host', rabbit_vhost),
        ('rabbit_retry_interval', 1), ('host', 'not-this-one'),
        ('logdir', tmp_path)]))
    conn = rpc.create_connection()
    conn.create_consumer('network.ft-net', mgr)
    conn.consume_in_thread()
    try:
        yield {'address': address, 'flagfile': str(flagfile),
               'ctxt': ctxt, 'logs': tmp_path}
    finally:
        conn.close()
        rpc.cleanup()


def bridge(env, *args):
    proc = subprocess.run(
        [sys.executable, BRIDGE_BIN] + list(args), capture_output=True,
        text=True, timeout=60, cwd='/',
        env=dict(os.environ, FLAGFILE=env['flagfile'],
                 DNSMASQ_INTERFACE='brft', NOVA_NETWORK_HOST='ft-net'))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def fixed(env):
    return db.fixed_ip_get_by_address(env['ctxt'], env['address'])


def test_lease_and_release_over_rabbit(network_service):
    env = network_service
    assert bridge(env, 'init') == ''
    # A lease claimed by the wrong MAC changes nothing.
    bridge(env, 'add', '02:16:3e:00:01:99', env['address'], 'intruder')
    bridge(env, 'add', MAC, env['address'], 'vm-ft')
    assert wait_for(lambda: fixed(env)['leased']), 'lease never arrived'

    lines = bridge(env, 'init').splitlines()
    assert len(lines) == 1
    expiry, mac, address, hostname, client = lines[0].split()
    assert (mac, address, hostname, client) == (MAC, env['address'],
                                                'vm-ft', '*')
    assert int(expiry) > time.time()

    # Lease ended while the instance still runs: it keeps the address.
    bridge(env, 'del', MAC, env['address'], 'vm-ft')
    assert wait_for(lambda: not fixed(env)['leased'])
    assert fixed(env)['instance_id'] is not None

    # Deallocated, then the lease ends: the address is free.
    bridge(env, 'old', MAC, env['address'], 'vm-ft')
    assert wait_for(lambda: fixed(env)['leased'])
    db.fixed_ip_update(env['ctxt'], env['address'], {'allocated': False})
    bridge(env, 'del', MAC, env['address'], 'vm-ft')
    assert wait_for(lambda: fixed(env)['instance_id'] is None)
    assert not fixed(env)['leased']
    log = (env['logs'] / 'nova-dhcpbridge.log').read_text()
    assert 'release_fixed_ip %s' % env['address'] in log


def test_bad_arguments(network_service):
    proc = subprocess.run([sys.executable, BRIDGE_BIN, 'add', MAC],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ,
                                   FLAGFILE=network_service['flagfile']))
    assert proc.returncode == 2
    assert 'needs MAC and IP' in proc.stderr
