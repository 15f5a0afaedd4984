"""The container updater reports unreported container changes."""

import eventlet
import eventlet.wsgi
import pytest
from webob import Request

from swift.common.ring import RingBuilder
from swift.container.server import ContainerController
from swift.container.updater import ContainerUpdater


@pytest.fixture
def account_servers():
    """Three recording 'account servers'; each answers with its status."""
    servers = []
    for _ in range(3):
        seen = []
        state = {'status': '201 Created'}

        def app(env, start, seen=seen, state=state):
            seen.append((env['PATH_INFO'], env.get('HTTP_X_OBJECT_COUNT'),
                         env.get('HTTP_X_BYTES_USED')))
            start(state['status'], [('Content-Length', '0')])
            return [b'']

        sock = eventlet.listen(('127.0.0.1', 0))
        thread = eventlet.spawn(eventlet.wsgi.server, sock, app,
                                log_output=False)
        servers.append((sock, thread, seen, state))
    yield [(s.getsockname()[1], seen, state)
           for s, _t, seen, state in servers]
    for sock, thread, _seen, _state in servers:
        thread.kill()
        sock.close()


def test_reports_once_to_a_majority(tmp_path, account_servers):
    (tmp_path / 'sda').mkdir()
    builder = RingBuilder(4, 3, 1)
    for zone, (port, _seen, _state) in enumerate(account_servers, 1):
        builder.add_dev({'zone': zone, 'weight': 1, 'ip': '127.0.0.1',
                         'port': port, 'device': 'sdb'})
    builder.rebalance()
    builder.get_ring().save(str(tmp_path / 'account.ring.gz'))
    conf = {'devices': str(tmp_path), 'mount_check': 'false',
            'swift_dir': str(tmp_path), 'log_requests': 'false',
            'slowdown': '0'}
    server = ContainerController(conf)
    for path, headers in (
            ('/sda/0/a/c', {'X-Timestamp': '1'}),
            ('/sda/0/a/c/o', {'X-Timestamp': '2', 'X-Size': '7',
                              'X-Content-Type': 'a/b', 'X-Etag': 'e'})):
        resp = Request.blank(path, method='PUT',
                             headers=headers).get_response(server)
        assert resp.status_int == 201

    # one replica down: still a majority, so the report is recorded
    account_servers[0][2]['status'] = '503 Service Unavailable'
    updater = ContainerUpdater(conf)
    assert updater.run_once()['successes'] == 1
    for _port, seen, _state in account_servers:
        assert seen == [('/sdb/%s/a/c' % updater.account_ring.get_part('a'),
                         '1', '7')]
    # nothing changed since: nothing sent
    assert updater.run_once() == {'successes': 0, 'failures': 0,
                                  'no_changes': 1}
    assert all(len(seen) == 1 for _p, seen, _s in account_servers)

    # a new object with two replicas failing: not recorded, retried later
    Request.blank('/sda/0/a/c/p', method='PUT', headers={
        'X-Timestamp': '3', 'X-Size': '1', 'X-Content-Type': 'a/b',
        'X-Etag': 'e'}).get_response(server)
    account_servers[1][2]['status'] = '507 Insufficient Storage'
    assert updater.run_once()['failures'] == 1
    account_servers[0][2]['status'] = '201 Created'
    account_servers[1][2]['status'] = '201 Created'
    assert updater.run_once()['successes'] == 1
    assert account_servers[2][1][-1][1:] == ('2', '8')
