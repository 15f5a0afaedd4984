"""swift-object-info on files the object server wrote."""

import os

from webob import Request

from swift.cli import objectinfo
from swift.common.ring import RingBuilder
from swift.common.utils import hash_path


def _put(app, ts, **headers):
    headers.update({'X-Timestamp': ts, 'Content-Type': 'text/plain'})
    req = Request.blank('/sda1/0/AUTH_a/c/o', method='PUT',
                        headers=headers, body=b'hello')
    assert req.get_response(app).status_int == 201


def _data_file(devices):
    name_hash = hash_path('AUTH_a', 'c', 'o')
    hdir = os.path.join(devices, 'sda1', 'objects', '0', name_hash[-3:],
                        name_hash)
    return os.path.join(hdir, os.listdir(hdir)[0])


def test_object_info_prints_what_the_file_holds(app, ts, devices, tmp_path,
                                                capsys):
    stamp = ts()
    _put(app, stamp, **{'X-Object-Meta-Color': 'blue'})
    path = _data_file(devices)
    assert objectinfo.main([path, str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert 'Path: %s' % path in out
    assert '  Account: AUTH_a' in out
    assert '  Container: c' in out
    assert '  Object: o' in out
    assert 'Content-Type: text/plain' in out
    assert stamp in out
    assert 'ETag: 5d41402abc4b2a76b9719d911017c592 (valid)' in out
    assert 'Content-Length: 5 (valid)' in out
    assert 'X-Object-Meta-Color: blue' in out
    assert 'no object.ring.gz' in out


def test_object_info_reports_a_rotten_body(app, ts, devices, tmp_path,
                                           capsys):
    _put(app, ts())
    path = _data_file(devices)
    with open(path, 'r+b') as fp:
        fp.write(b'J')
    assert objectinfo.main([path, str(tmp_path)]) == 0
    assert 'MISMATCH' in capsys.readouterr().out


def test_object_info_shows_ring_locations(app, ts, devices, tmp_path,
                                          capsys):
    builder = RingBuilder(4, 2, 1)
    for zone in (1, 2, 3):
        builder.add_dev({'zone': zone, 'weight': 1, 'ip': '127.0.0.1',
                         'port': 6000 + zone * 10, 'device': 'sd%d' % zone})
    builder.rebalance()
    builder.get_ring().save(str(tmp_path / 'object.ring.gz'))
    _put(app, ts())
    assert objectinfo.main([_data_file(devices), str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert 'Partition: ' in out
    assert out.count('Primary node: 127.0.0.1:') == 2
    assert out.count('Handoff node: 127.0.0.1:') == 1


def test_object_info_fails_clearly(tmp_path, capsys):
    plain = tmp_path / 'plain.data'
    plain.write_bytes(b'x')
    assert objectinfo.main([str(plain), str(tmp_path)]) == 1
    assert 'no object metadata' in capsys.readouterr().err
    assert objectinfo.main([str(tmp_path / 'missing'), str(tmp_path)]) == 1
    assert objectinfo.main([]) == 1
