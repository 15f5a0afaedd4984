"""swift-object-updater: replaying async pending records."""

import json
import os

import pytest

from swift.common.ring import RingBuilder
from swift.obj import diskfile, updater


class FakeConn:
    def __init__(self, status):
        self.status = status

    def getresponse(self):
        return self

    def read(self):
        return b''

    def close(self):
        pass


class Calls(list):
    """Recorded container updates; ``status`` maps 'ip:port/dev' to the
    status (or exception) that node answers (default 201)."""

    def __init__(self):
        super().__init__()
        self.status = {}


@pytest.fixture
def calls(monkeypatch):
    recorded = Calls()

    def fake_connect(ip, port, device, partition, method, path, headers):
        key = '%s:%s/%s' % (ip, port, device)
        recorded.append({'node': key, 'partition': partition,
                         'method': method, 'path': path,
                         'headers': dict(headers)})
        outcome = recorded.status.get(key, 201)
        if isinstance(outcome, Exception):
            raise outcome
        return FakeConn(outcome)

    monkeypatch.setattr(updater, 'http_connect', fake_connect)
    return recorded


def make_ring(swift_dir, devs):
    builder = RingBuilder(2, len(devs), 1)
    for zone, (ip, port, device) in enumerate(devs, 1):
        builder.add_dev({'zone': zone, 'weight': 1, 'ip': ip, 'port': port,
                         'device': device})
    builder.rebalance()
    builder.get_ring().save(os.path.join(swift_dir, 'container.ring.gz'))


def pending(devices, obj='o', timestamp='0000000010.00000', op='PUT',
            failed=None):
    record = {'op': op, 'account': 'a', 'container': 'c', 'obj': obj,
              'headers': {'X-Timestamp': timestamp, 'X-Size': '1',
                          'X-Content-Type': 'text/plain', 'X-Etag': 'e'},
              'failed_nodes': failed or []}
    return diskfile.write_async_pending(os.path.join(devices, 'sda1'),
                                        record)


@pytest.fixture
def daemon(conf):
    conf = dict(conf, slowdown='0')
    return updater.ObjectUpdater(conf)


def test_successful_replay_to_every_replica_removes_the_record(
        daemon, conf, devices, calls):
    make_ring(conf['swift_dir'], [('127.0.0.1', 6001, 'sdb1'),
                                  ('127.0.0.1', 6011, 'sdb2')])
    path = pending(devices)
    stats = daemon.run_once()
    assert stats['successes'] == 1
    assert sorted(c['node'] for c in calls) == ['127.0.0.1:6001/sdb1',
                                                '127.0.0.1:6011/sdb2']
    assert all(c['method'] == 'PUT' and c['path'] == '/a/c/o'
               and c['headers']['X-Timestamp'] == '0000000010.00000'
               for c in calls)
    assert not os.path.exists(path)
    # The emptied suffix dir goes too.
    assert os.listdir(os.path.join(devices, 'sda1', 'async_pending')) == []


def test_partial_failure_keeps_record_and_retries_only_the_rest(
        daemon, conf, devices, calls):
    make_ring(conf['swift_dir'], [('127.0.0.1', 6001, 'sdb1'),
                                  ('127.0.0.1', 6011, 'sdb2')])
    path = pending(devices)
    calls.status['127.0.0.1:6011/sdb2'] = ConnectionRefusedError('down')
    stats = daemon.run_once()
    assert stats['failures'] == 1
    assert os.path.exists(path)
    with open(path) as fp:
        assert json.load(fp)['successes'] == ['127.0.0.1:6001/sdb1']
    del calls[:]
    calls.status['127.0.0.1:6011/sdb2'] = 503
    daemon.run_once()
    assert [c['node'] for c in calls] == ['127.0.0.1:6011/sdb2']
    assert os.path.exists(path)
    del calls[:]
    calls.status.clear()
    daemon.run_once()
    assert [c['node'] for c in calls] == ['127.0.0.1:6011/sdb2']
    assert not os.path.exists(path)


def test_older_records_for_the_same_object_are_dropped_unsent(
        daemon, conf, devices, calls):
    make_ring(conf['swift_dir'], [('127.0.0.1', 6001, 'sdb1')])
    old = pending(devices, timestamp='0000000010.00000')
    new = pending(devices, timestamp='0000000020.00000', op='DELETE')
    stats = daemon.run_once()
    assert stats['unlinks'] == 1
    assert [(c['method'], c['headers']['X-Timestamp']) for c in calls] == \
        [('DELETE', '0000000020.00000')]
    assert not os.path.exists(old) and not os.path.exists(new)


def test_without_a_ring_the_failed_nodes_are_used(daemon, devices, calls):
    path = pending(devices, failed=[{'ip': '127.0.0.1', 'port': 6001,
                                     'partition': '3', 'device': 'sdb1'}])
    daemon.run_once()
    assert [(c['node'], c['partition']) for c in calls] == \
        [('127.0.0.1:6001/sdb1', '3')]
    assert not os.path.exists(path)


def test_unreadable_record_is_quarantined(daemon, devices, calls):
    path = pending(devices)
    with open(path, 'w') as fp:
        fp.write('garbage')
    stats = daemon.run_once()
    assert stats['errors'] == 1
    assert not os.path.exists(path)
    assert os.listdir(os.path.join(devices, 'sda1', 'quarantined',
                                   'async_pending')) == \
        [os.path.basename(path)]


def test_unmounted_devices_are_skipped(conf, devices, calls):
    daemon = updater.ObjectUpdater(dict(conf, mount_check='true',
                                        slowdown='0'))
    path = pending(devices, failed=[{'ip': '127.0.0.1', 'port': 6001,
                                     'partition': '3', 'device': 'sdb1'}])
    daemon.run_once()
    assert calls == []
    assert os.path.exists(path)


def test_run_forever_is_bounded_by_max_passes(daemon, devices, calls):
    daemon.interval = 0
    pending(devices, failed=[{'ip': '127.0.0.1', 'port': 6001,
                              'partition': '3', 'device': 'sdb1'}])
    calls.status['127.0.0.1:6001/sdb1'] = 500
    daemon.run_forever(max_passes=3)
    assert len(calls) == 3
