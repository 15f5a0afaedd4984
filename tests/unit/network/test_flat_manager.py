"""FlatManager: network creation and fixed IP allocation on SQLite."""

import threading

import pytest

from nova import context
from nova import exception
from nova import flags
from nova.db import api as db
from nova.network import manager
from tests.unit.db.conftest import _template_db, sqlite_db  # noqa: F401

FLAGS = flags.FLAGS


@pytest.fixture
def admin(sqlite_db):  # noqa: F811
    return context.get_admin_context()


@pytest.fixture
def flat(admin):
    return manager.FlatManager(host='net1')


def _instance(admin, n=0):
    return db.instance_create(admin, {'project_id': 'p', 'user_id': 'u',
                                      'mac_address': '02:16:3e:00:00:%02x'
                                      % n})


@pytest.mark.parametrize('args,text', [
    (('10.0.0.0/33', 1, 256), 'not a CIDR'),
    (('banana', 1, 256), 'not a CIDR'),
    (('10.0.0.1/24', 1, 256), 'host bits'),
    (('10.0.0.0/24', 0, 256), 'num_networks'),
    (('10.0.0.0/24', 1, 100), 'power of two'),
    (('10.0.0.0/24', 1, 2), 'at least 4'),
    (('10.0.0.0/24', 2, 256), 'do not fit'),
    (('10.0.0.0/8', 1, 1 << 21), 'at most'),
    (('fd00::/64', 1, 256), 'IPv4'),
])
def test_bad_network_requests(flat, admin, args, text):
    with pytest.raises(exception.InvalidInput) as info:
        flat.create_networks(admin, *args)
    assert text in str(info.value)
    assert db.network_get_all(admin) == []
    assert db.fixed_ip_get_all(admin) == []


def test_create_networks_splits_and_reserves(flat, admin):
    made = flat.create_networks(admin, '10.1.0.0/16', 2, 16)
    assert [n['cidr'] for n in made] == ['10.1.0.0/28', '10.1.0.16/28']
    net = made[1]
    assert net['gateway'] == '10.1.0.17'
    assert net['broadcast'] == '10.1.0.31'
    assert net['netmask'] == '255.255.255.240'
    assert net['bridge'] == 'br100'
    assert net['dhcp_start'] == '10.1.0.18'
    ips = [f for f in db.fixed_ip_get_all(admin) if f['network_id'] == net['id']]
    assert len(ips) == 16
    reserved = sorted(f['address'] for f in ips if f['reserved'])
    assert reserved == ['10.1.0.16', '10.1.0.17', '10.1.0.31']
    assert db.network_count_available_ips(admin, net['id']) == 13
    with pytest.raises(exception.InvalidInput) as info:
        flat.create_networks(admin, '10.1.0.0/24', 1, 256)
    assert 'overlaps' in str(info.value)
    assert len(db.network_get_all(admin)) == 2


def test_allocate_and_deallocate(flat, admin):
    flat.create_networks(admin, '10.0.0.0/29', 1, 8)   # 5 usable addresses
    first = _instance(admin, 1)
    info = flat.allocate_for_instance(admin, first['id'])
    assert len(info) == 1
    nic = info[0]
    assert nic['ip'] == '10.0.0.2'
    assert nic['mac'] == first['mac_address']
    assert nic['gateway'] == '10.0.0.1' and nic['dhcp_server'] == '10.0.0.1'
    assert nic['bridge'] == 'br100' and nic['injected'] is True
    assert nic['dns'] == ['8.8.4.4'] and nic['cidr'] == '10.0.0.0/29'
    # Asking again returns the same address.
    assert flat.allocate_for_instance(admin, first['id']) == info
    others = [_instance(admin, n) for n in range(2, 6)]
    addresses = {flat.allocate_for_instance(admin, i['id'])[0]['ip']
                 for i in others}
    assert len(addresses) == 4 and '10.0.0.2' not in addresses
    assert '10.0.0.7' not in addresses          # broadcast is never given
    with pytest.raises(exception.FixedIpNotFound):
        flat.allocate_for_instance(admin, _instance(admin, 9)['id'])
    assert flat.deallocate_for_instance(admin, first['id']) == ['10.0.0.2']
    freed = db.fixed_ip_get_by_address(admin, '10.0.0.2')
    assert freed['instance_id'] is None and not freed['allocated']
    assert flat.deallocate_for_instance(admin, first['id']) == []
    again = _instance(admin, 10)
    assert flat.allocate_for_instance(admin, again['id'])[0]['ip'] == \
        '10.0.0.2'


def test_no_network_is_a_clear_error(flat, admin):
    with pytest.raises(exception.NetworkNotFound) as info:
        flat.allocate_for_instance(admin, _instance(admin)['id'])
    assert 'network create' in str(info.value)


def test_concurrent_allocations_never_share_an_address(flat, admin):
    flat.create_networks(admin, '10.0.0.0/26', 1, 64)
    instances = [_instance(admin, n) for n in range(40)]
    results, errors = {}, []

    def allocate(inst):
        try:
            results[inst['id']] = flat.allocate_for_instance(
                admin, inst['id'])[0]['ip']
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=allocate, args=(i,))
               for i in instances]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(results) == 40
    assert len(set(results.values())) == 40


def test_dhcp_managers_share_the_allocation_code():
    # Their own behaviour is in test_dhcp_managers.py (host work faked).
    assert issubclass(manager.FlatDHCPManager, manager.FlatManager)
    assert issubclass(manager.VlanManager, manager.NetworkManager)
