"""bin/nova-api as a process: both ports answer their root documents."""

import json
import socket
import urllib.request

from tests.functional.nova import helpers


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.headers.get('Content-Type'), resp.read()


def test_nova_api_serves_both_ports(tmp_path):
    ec2_port, os_port = _free_port(), _free_port()
    flagfile = helpers.write_flagfile(
        str(tmp_path), ec2_listen='127.0.0.1', ec2_listen_port=ec2_port,
        osapi_listen='127.0.0.1', osapi_listen_port=os_port,
        api_paste_config=helpers.ROOT + '/etc/nova/api-paste.ini')
    api = helpers.Daemon('nova-api', flagfile)
    try:
        def answers():
            try:
                return _get('http://127.0.0.1:%d/' % ec2_port)
            except OSError:
                assert api.alive(), api.output()
                return None
        status, ctype, body = helpers.wait_for(answers, 60,
                                               what='nova-api to answer')
        assert status == 200 and ctype.startswith('text/plain')
        assert body.decode().splitlines()[-1] == '2009-04-04'
        status, ctype, body = _get('http://127.0.0.1:%d/' % os_port)
        assert status == 200 and ctype == 'application/json'
        assert 'versions' in json.loads(body)
        assert api.stop() == 0, api.output()
    finally:
        api.stop()


def test_nova_api_reports_a_missing_paste_file(tmp_path):
    flagfile = helpers.write_flagfile(
        str(tmp_path), api_paste_config=str(tmp_path / 'nope.ini'),
        ec2_listen_port=_free_port(), osapi_listen_port=_free_port())
    api = helpers.Daemon('nova-api', flagfile)
    helpers.wait_for(lambda: not api.alive(), 60, what='nova-api to exit')
    assert api.stop() == 1
    assert 'nope.ini' in api.output()
