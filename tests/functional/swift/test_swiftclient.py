"""The real python-swiftclient CLI, unchanged, against the cluster.

python-swiftclient is a test dependency only.  It is run through its own
entry point (`swiftclient.shell.main`) rather than `.venv/bin/swift`, because
installing this project (`pip install -e .`) puts our own bin/swift at that
path.
"""

import hashlib
import os
import random
import subprocess
import sys
import uuid

import pytest

from tests.functional.swift.cluster import BIN, ROOT

SWIFTCLIENT = ('import sys; from swiftclient.shell import main; '
               'sys.argv[0] = "swift"; sys.exit(main())')


def swiftclient(cluster, *args, user='test:tester', cwd=None, timeout=600):
    argv = [sys.executable, '-c', SWIFTCLIENT, '-A', cluster.auth_url,
            '-U', user, '-K', cluster.users[user][0]] + list(args)
    proc = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    return (proc.returncode, proc.stdout.decode('utf-8', 'replace'),
            proc.stderr.decode('utf-8', 'replace'))


def ours(cluster, *args, user='test:tester', cwd=None, timeout=600):
    argv = [sys.executable, os.path.join(BIN, 'swift'), '-A',
            cluster.auth_url, '-U', user, '-K', cluster.users[user][0]]
    proc = subprocess.run(argv + list(args), cwd=cwd,
                          stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    return (proc.returncode, proc.stdout.decode('utf-8', 'replace'),
            proc.stderr.decode('utf-8', 'replace'))


def ok(result):
    code, out, err = result
    assert code == 0, 'exit %d\nstdout:\n%s\nstderr:\n%s' % (code, out, err)
    return out


def table(out):
    rows = {}
    for line in out.splitlines():
        key, _, value = line.partition(':')
        rows[key.strip()] = value.strip()
    return rows


def md5_file(path):
    h = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def random_file(path, size):
    rnd = random.Random(size)
    with open(path, 'wb') as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(rnd.randbytes(n))
            left -= n


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


def test_cluster_fixture_serves_auth_and_every_node(swift_cluster):
    url, token = swift_cluster.get_auth('test:tester')
    assert url.startswith(swift_cluster.proxy_url + '/v1/AUTH_')
    assert token
    assert len(swift_cluster.nodes) == 4
    assert len({n.zone for n in swift_cluster.nodes}) == 4
    for server in swift_cluster.all_servers():
        assert server.running() and server.answers(), server


def test_swiftclient_stat_post_and_acl(swift_cluster, tmp_path):
    container = unique('sc-acl')
    ok(swiftclient(swift_cluster, 'post', '-m', 'Project:cloud', container))
    rows = table(ok(swiftclient(swift_cluster, 'stat', container)))
    assert rows['Container'] == container
    assert rows['Meta Project'] == 'cloud'

    src = tmp_path / 'note.txt'
    src.write_bytes(b'shared note\n')
    ok(swiftclient(swift_cluster, 'upload', '--object-name', 'note.txt',
                   container, str(src)))
    code, _out, _err = swiftclient(swift_cluster, 'download', container,
                                   'note.txt', '-o', '-',
                                   user='test:tester3')
    assert code != 0
    ok(swiftclient(swift_cluster, 'post', '-r', 'test:tester3', container))
    rows = table(ok(swiftclient(swift_cluster, 'stat', container)))
    assert rows['Read ACL'] == 'test:tester3'
    out = ok(swiftclient(swift_cluster, 'download', container, 'note.txt',
                         '-o', '-', user='test:tester3'))
    assert out == 'shared note\n'

    ok(swiftclient(swift_cluster, 'post', '-m', 'Reviewed:yes', container,
                   'note.txt'))
    rows = table(ok(swiftclient(swift_cluster, 'stat', container,
                                'note.txt')))
    assert rows['Meta Reviewed'] == 'yes'
    assert rows['Content Length'] == str(len(b'shared note\n'))
    ok(swiftclient(swift_cluster, 'delete', container))


def test_swiftclient_directory_upload_list_download(swift_cluster, tmp_path):
    container = unique('sc-dir')
    src = tmp_path / 'src'
    files = {'docs/readme.txt': b'read me\n',
             'docs/img/logo.bin': os.urandom(70000),
             'docs/img/icons/i.bin': os.urandom(100),
             'docs/zz.txt': b'last\n'}
    for name, data in files.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    ok(swiftclient(swift_cluster, 'upload', container, 'docs',
                   cwd=str(src)))
    assert ok(swiftclient(swift_cluster, 'list',
                          container)).splitlines() == sorted(files)
    assert ok(swiftclient(swift_cluster, 'list', '--prefix', 'docs/img/',
                          container)).splitlines() == [
        'docs/img/icons/i.bin', 'docs/img/logo.bin']
    assert ok(swiftclient(swift_cluster, 'list', '--prefix', 'docs/',
                          '--delimiter', '/', container)).splitlines() == [
        'docs/img/', 'docs/readme.txt', 'docs/zz.txt']

    dest = tmp_path / 'dest'
    dest.mkdir()
    ok(swiftclient(swift_cluster, 'download', container, cwd=str(dest)))
    for name, data in files.items():
        assert (dest / name).read_bytes() == data

    # Our CLI reads what swiftclient wrote, and the other way round.
    other = tmp_path / 'ours'
    other.mkdir()
    ok(ours(swift_cluster, 'download', container, cwd=str(other)))
    for name, data in files.items():
        assert (other / name).read_bytes() == data
    ok(swiftclient(swift_cluster, 'delete', container))


@pytest.mark.slow
def test_swiftclient_100mib_segmented_round_trip(swift_cluster, tmp_path):
    container = unique('sc-big')
    src = tmp_path / 'big.bin'
    random_file(str(src), 100 * 1024 * 1024)
    want = md5_file(str(src))
    ok(swiftclient(swift_cluster, 'upload', '-S', str(16 * 1024 * 1024),
                   '--object-name', 'big.bin', container, str(src)))
    segments = ok(swiftclient(swift_cluster, 'list',
                              container + '_segments')).splitlines()
    assert len(segments) == 7
    rows = table(ok(swiftclient(swift_cluster, 'stat', container,
                                'big.bin')))
    assert rows['Content Length'] == str(100 * 1024 * 1024)
    assert rows['Manifest'].startswith(container + '_segments/')

    out = tmp_path / 'back.bin'
    ok(swiftclient(swift_cluster, 'download', container, 'big.bin', '-o',
                   str(out)))
    assert md5_file(str(out)) == want
    out.unlink()
    # Our CLI downloads swiftclient's large object identically too.
    ok(ours(swift_cluster, 'download', container, 'big.bin', '-o', str(out)))
    assert md5_file(str(out)) == want
    out.unlink()

    ok(swiftclient(swift_cluster, 'delete', container, 'big.bin'))
    assert ok(swiftclient(swift_cluster, 'list',
                          container + '_segments')).strip() == ''
    ok(swiftclient(swift_cluster, 'delete', container))
    ok(swiftclient(swift_cluster, 'delete', container + '_segments'))


def test_swiftclient_reads_our_segmented_upload(swift_cluster, tmp_path):
    container = unique('sc-ours')
    src = tmp_path / 'mid.bin'
    random_file(str(src), 9 * 1024 * 1024 + 7)
    ok(ours(swift_cluster, 'upload', '-S', str(2 * 1024 * 1024),
            '--object-name', 'mid.bin', container, str(src)))
    out = tmp_path / 'back.bin'
    ok(swiftclient(swift_cluster, 'download', container, 'mid.bin', '-o',
                   str(out)))
    assert md5_file(str(out)) == md5_file(str(src))
    # swiftclient deletes our manifest's segments as its own.
    ok(swiftclient(swift_cluster, 'delete', container, 'mid.bin'))
    assert ok(ours(swift_cluster, 'list',
                   container + '_segments')).strip() == ''


def test_swiftclient_delete_all(swift_cluster, tmp_path):
    user = 'test2:tester2'
    src = tmp_path / 'x.bin'
    src.write_bytes(os.urandom(5000))
    for c in ('sa', 'sb'):
        ok(swiftclient(swift_cluster, 'upload', '--object-name', 'x', c,
                       str(src), user=user))
    ok(swiftclient(swift_cluster, 'upload', '-S', '2000', '--object-name',
                   'y', 'sa', str(src), user=user))
    assert {'sa', 'sb', 'sa_segments'} <= set(
        ok(swiftclient(swift_cluster, 'list', user=user)).splitlines())
    ok(swiftclient(swift_cluster, 'delete', '--all', user=user))
    assert ok(swiftclient(swift_cluster, 'list', user=user)).strip() == ''
