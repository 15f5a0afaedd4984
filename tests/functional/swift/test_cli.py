"""Our `swift` CLI against a real cluster, swift-init on a real server, and
tools/stack.sh + tools/unstack.sh end to end."""

import hashlib
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from tests.functional.swift.cluster import BIN, ROOT, free_port

SWIFT = os.path.join(BIN, 'swift')


def run_swift(cluster, *args, user='test:tester', cwd=None, env_extra=None,
              timeout=300):
    env = dict(os.environ, ST_AUTH=cluster.auth_url, ST_USER=user,
               ST_KEY=cluster.users[user][0], PYTHONPATH=ROOT)
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, SWIFT] + list(args), cwd=cwd,
                          env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout)
    return (proc.returncode, proc.stdout.decode('utf-8', 'replace'),
            proc.stderr.decode('utf-8', 'replace'))


def ok(result):
    code, out, err = result
    assert code == 0, 'exit %d\nstdout:\n%s\nstderr:\n%s' % (code, out, err)
    return out


def stat_table(out):
    table = {}
    for line in out.splitlines():
        key, _, value = line.partition(':')
        table[key.strip()] = value.strip()
    return table


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


def make_tree(base):
    files = {
        'tree/a.txt': b'alpha\n',
        'tree/b.txt': b'bravo\n' * 100,
        'tree/sub/c.bin': bytes(range(256)) * 40,
        'tree/sub/deeper/d.txt': b'delta',
    }
    for name, data in files.items():
        path = os.path.join(base, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
    return files


# ----------------------------------------------------------------- CLI basics

def test_help_and_usage_errors_have_distinct_exit_codes(swift_cluster):
    code, out, _err = run_swift(swift_cluster, '--help')
    assert code == 0 and 'upload' in out and 'download' in out
    code, _out, err = run_swift(swift_cluster, 'frobnicate')
    assert code == 2 and 'invalid choice' in err
    code, _out, err = run_swift(swift_cluster, 'upload')
    assert code == 2 and 'container' in err
    code, _out, err = run_swift(swift_cluster, '-V', '2.0', 'stat')
    assert code == 2


def test_bad_credentials_and_missing_things_exit_1(swift_cluster):
    code, _out, err = run_swift(swift_cluster, 'stat',
                                env_extra={'ST_KEY': 'wrong'})
    assert code == 1 and '401' in err
    code, _out, err = run_swift(swift_cluster, 'stat', unique('missing'))
    assert code == 1 and '404' in err
    code, _out, err = run_swift(swift_cluster, 'download', unique('missing'),
                                'obj', '-o', '-')
    assert code == 1


def test_stat_and_post_account_metadata(swift_cluster):
    ok(run_swift(swift_cluster, 'post', '-m', 'Color:blue'))
    table = stat_table(ok(run_swift(swift_cluster, 'stat')))
    assert table['Account'].startswith('AUTH_')
    assert table['Meta Color'] == 'blue'
    assert int(table['Containers']) >= 0
    ok(run_swift(swift_cluster, 'post', '-m', 'Color:'))
    table = stat_table(ok(run_swift(swift_cluster, 'stat')))
    assert 'Meta Color' not in table


def test_post_container_acls_and_meta_take_effect(swift_cluster, tmp_path):
    container = unique('acl')
    ok(run_swift(swift_cluster, 'post', '-m', 'Owner:qa', container))
    src = tmp_path / 'secret.txt'
    src.write_bytes(b'for tester3 only after the ACL\n')
    ok(run_swift(swift_cluster, 'upload', '--object-name', 'secret.txt',
                 container, str(src)))

    # tester3 has no role: nothing until a read ACL names it.
    code, _out, err = run_swift(swift_cluster, 'download', container,
                                'secret.txt', '-o', '-', user='test:tester3')
    assert code == 1 and '403' in err, err
    ok(run_swift(swift_cluster, 'post', '-r', 'test:tester3', container))
    code, out, err = run_swift(swift_cluster, 'download', container,
                               'secret.txt', '-o', '-', user='test:tester3')
    assert code == 0, err
    assert out == 'for tester3 only after the ACL\n'

    table = stat_table(ok(run_swift(swift_cluster, 'stat', container)))
    assert table['Read ACL'] == 'test:tester3'
    assert table['Meta Owner'] == 'qa'
    assert table['Objects'] == '1'

    # Write ACL lets tester3 upload.
    code, _out, err = run_swift(swift_cluster, 'upload', '--object-name',
                                'from3', container, str(src),
                                user='test:tester3')
    assert code == 1, 'tester3 wrote without a write ACL'
    ok(run_swift(swift_cluster, 'post', '-w', 'test:tester3', container))
    ok(run_swift(swift_cluster, 'upload', '--object-name', 'from3',
                 container, str(src), user='test:tester3'))
    table = stat_table(ok(run_swift(swift_cluster, 'stat', container)))
    assert table['Write ACL'] == 'test:tester3'

    ok(run_swift(swift_cluster, 'post', '-m', 'Kind:note', container,
                 'secret.txt'))
    table = stat_table(ok(run_swift(swift_cluster, 'stat', container,
                                    'secret.txt')))
    assert table['Meta Kind'] == 'note'
    assert table['Content Length'] == str(len(src.read_bytes()))
    assert table['ETag'].strip('"') == md5_file(src)
    ok(run_swift(swift_cluster, 'delete', container))


# ------------------------------------------------------- upload/list/download

def test_upload_directory_list_and_download(swift_cluster, tmp_path):
    container = unique('dir')
    src = tmp_path / 'src'
    files = make_tree(str(src))
    out = ok(run_swift(swift_cluster, 'upload', container, 'tree',
                       cwd=str(src)))
    for name in files:
        assert name in out.splitlines()

    listing = ok(run_swift(swift_cluster, 'list', container)).splitlines()
    assert listing == sorted(files)
    assert ok(run_swift(swift_cluster, 'list', '-p', 'tree/sub/',
                        container)).splitlines() == [
        'tree/sub/c.bin', 'tree/sub/deeper/d.txt']
    assert ok(run_swift(swift_cluster, 'list', '-p', 'tree/', '-d', '/',
                        container)).splitlines() == [
        'tree/a.txt', 'tree/b.txt', 'tree/sub/']
    assert container in ok(run_swift(swift_cluster, 'list')).splitlines()

    dest = tmp_path / 'dest'
    dest.mkdir()
    ok(run_swift(swift_cluster, 'download', container, cwd=str(dest)))
    for name, data in files.items():
        assert (dest / name).read_bytes() == data

    # -c skips files whose size and mtime did not change.
    out = ok(run_swift(swift_cluster, 'upload', '-c', container, 'tree',
                       cwd=str(src)))
    assert out.count('unchanged') == len(files)
    (src / 'tree' / 'a.txt').write_bytes(b'alpha, changed\n')
    out = ok(run_swift(swift_cluster, 'upload', '-c', container, 'tree',
                       cwd=str(src)))
    assert 'tree/a.txt' in out.splitlines()
    assert out.count('unchanged') == len(files) - 1
    code, out, _err = run_swift(swift_cluster, 'download', container,
                                'tree/a.txt', '-o', '-')
    assert code == 0 and out == 'alpha, changed\n'

    ok(run_swift(swift_cluster, 'delete', container, 'tree/a.txt'))
    assert 'tree/a.txt' not in ok(run_swift(
        swift_cluster, 'list', container)).splitlines()
    ok(run_swift(swift_cluster, 'delete', container))
    code, _out, _err = run_swift(swift_cluster, 'stat', container)
    assert code == 1


def test_segmented_upload_downloads_bit_identical(swift_cluster, tmp_path):
    container = unique('big')
    src = tmp_path / 'big.bin'
    size = 20 * 1024 * 1024 + 12345
    random_file(str(src), size)
    seg = 4 * 1024 * 1024
    ok(run_swift(swift_cluster, 'upload', '-S', str(seg), '--object-name',
                 'big.bin', container, str(src)))

    segments = ok(run_swift(swift_cluster, 'list', container + '_segments'))
    assert len(segments.splitlines()) == 6  # 5 full + 1 partial
    table = stat_table(ok(run_swift(swift_cluster, 'stat', container,
                                    'big.bin')))
    assert table['Manifest'].startswith(container + '_segments/big.bin/')
    assert table['Content Length'] == str(size)

    out = tmp_path / 'copy.bin'
    ok(run_swift(swift_cluster, 'download', container, 'big.bin', '-o',
                 str(out)))
    assert md5_file(str(out)) == md5_file(str(src))

    # Deleting the manifest removes its segments too.
    ok(run_swift(swift_cluster, 'delete', container, 'big.bin'))
    code, out_text, _err = run_swift(swift_cluster, 'list',
                                     container + '_segments')
    assert code == 0 and out_text.strip() == ''
    ok(run_swift(swift_cluster, 'delete', container))
    ok(run_swift(swift_cluster, 'delete', container + '_segments'))


def test_delete_all_empties_the_account(swift_cluster, tmp_path):
    user = 'test2:tester2'
    src = tmp_path / 'f.txt'
    src.write_bytes(b'x' * 3000)
    for i in range(3):
        ok(run_swift(swift_cluster, 'upload', '--object-name', 'o%d' % i,
                     'c%d' % i, str(src), user=user))
    ok(run_swift(swift_cluster, 'upload', '-S', '1000', '--object-name',
                 'seg', 'c0', str(src), user=user))
    listing = ok(run_swift(swift_cluster, 'list', user=user)).splitlines()
    assert {'c0', 'c1', 'c2', 'c0_segments'} <= set(listing)

    dest = tmp_path / 'all'
    dest.mkdir()
    ok(run_swift(swift_cluster, 'download', '--all', user=user,
                 cwd=str(dest)))
    assert (dest / 'c1' / 'o1').read_bytes() == src.read_bytes()
    assert (dest / 'c0' / 'seg').read_bytes() == src.read_bytes()

    ok(run_swift(swift_cluster, 'delete', '--all', user=user))
    assert ok(run_swift(swift_cluster, 'list', user=user)).strip() == ''


def test_download_refuses_to_escape_the_output_dir(swift_cluster, tmp_path):
    container = unique('escape')
    url, token = swift_cluster.get_auth('test:tester')
    path = '/' + url.split('/', 3)[3]
    conn = http.client.HTTPConnection('127.0.0.1', swift_cluster.proxy.port,
                                      timeout=30)
    try:
        for p in ('/%s' % container, '/%s/../evil.txt' % container):
            conn.request('PUT', path + p, body=b'gotcha',
                         headers={'X-Auth-Token': token})
            resp = conn.getresponse()
            resp.read()
            if resp.status in (400, 412):
                pytest.skip('the proxy refuses object names with ".."')
            assert resp.status in (201, 202), resp.status
    finally:
        conn.close()
    work = tmp_path / 'work'
    work.mkdir()
    code, _out, err = run_swift(swift_cluster, 'download', container,
                                cwd=str(work))
    assert code == 1 and 'refusing' in err
    assert not (tmp_path / 'evil.txt').exists()
    ok(run_swift(swift_cluster, 'delete', container))


# ---------------------------------------------------------------- swift-init

@pytest.fixture
def object_server_dir():
    """A swift dir with one object server config on a free port."""
    root = tempfile.mkdtemp(prefix='swift-init-')
    port = free_port()
    os.makedirs(os.path.join(root, 'node', 'sdb1'))
    with open(os.path.join(root, 'swift.conf'), 'w') as f:
        f.write('[swift-hash]\nswift_hash_path_suffix = %s\n'
                % uuid.uuid4().hex)
    with open(os.path.join(root, 'object-server.conf'), 'w') as f:
        f.write('[DEFAULT]\ndevices = %s\nmount_check = false\n'
                'bind_ip = 127.0.0.1\nbind_port = %d\nworkers = 1\n'
                'swift_dir = %s\n\n[pipeline:main]\npipeline = object-server'
                '\n\n[app:object-server]\npaste.app_factory = '
                'swift.obj.server:app_factory\n'
                % (os.path.join(root, 'node'), port, root))
    yield root, port
    pid_file = os.path.join(root, 'run', 'object-server.pid')
    try:
        with open(pid_file) as f:
            pid = int(f.read())
        os.killpg(pid, 9)  # only if a failing test left it running
    except (OSError, ValueError):
        pass
    shutil.rmtree(root, ignore_errors=True)


def swift_init(root, *args):
    proc = subprocess.run(
        [sys.executable, os.path.join(BIN, 'swift-init'), '--swift-dir', root,
         '--run-dir', os.path.join(root, 'run'), '--log-dir',
         os.path.join(root, 'log')] + list(args),
        capture_output=True, timeout=120, stdin=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=ROOT))
    return (proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def port_answers(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=2).close()
        return True
    except OSError:
        return False


def pid_alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def test_swift_init_start_status_stop(object_server_dir):
    root, port = object_server_dir
    code, out, err = swift_init(root, 'object', 'status')
    assert code == 1 and 'not running' in out

    code, out, err = swift_init(root, 'object', 'start')
    assert code == 0, out + err
    pid_file = os.path.join(root, 'run', 'object-server.pid')
    pid = int(open(pid_file).read())
    assert pid_alive(pid)
    assert port_answers(port)
    assert os.path.exists(os.path.join(root, 'log', 'object-server.log'))

    code, out, _err = swift_init(root, 'object-server', 'status')
    assert code == 0 and 'running (pid %d)' % pid in out
    code, out, _err = swift_init(root, 'object', 'start')
    assert code == 0 and 'already running' in out
    assert int(open(pid_file).read()) == pid

    code, out, err = swift_init(root, 'object', 'stop')
    assert code == 0, out + err
    assert not os.path.exists(pid_file)
    assert not pid_alive(pid)
    assert not port_answers(port)
    code, out, _err = swift_init(root, 'object', 'status')
    assert code == 1 and 'not running' in out


def test_swift_init_restart_waits_for_the_old_socket(object_server_dir):
    """A dying server's listening socket outlives its /proc cmdline for a
    moment; restart must not take it for another process's port."""
    root, port = object_server_dir
    assert swift_init(root, 'object', 'start')[0] == 0
    pid_file = os.path.join(root, 'run', 'object-server.pid')
    pids = {int(open(pid_file).read())}
    for _ in range(5):
        code, out, err = swift_init(root, 'object', 'restart')
        assert code == 0, out + err
        pids.add(int(open(pid_file).read()))
        assert port_answers(port)
    assert len(pids) == 6
    assert swift_init(root, 'object', 'stop')[0] == 0


def test_swift_init_stale_pid_file_is_not_trusted(object_server_dir):
    root, _port = object_server_dir
    os.makedirs(os.path.join(root, 'run'))
    pid_file = os.path.join(root, 'run', 'object-server.pid')
    # Our own pid: alive, but not an object server; it must not be signalled.
    with open(pid_file, 'w') as f:
        f.write('%d\n' % os.getpid())
    code, out, _err = swift_init(root, 'object', 'status')
    assert code == 1 and 'not running' in out
    code, out, _err = swift_init(root, 'object', 'stop')
    assert code == 0 and 'stale' in out
    assert not os.path.exists(pid_file)


def test_swift_init_usage(object_server_dir):
    root, _port = object_server_dir
    assert swift_init(root, 'object')[0] == 2
    assert swift_init(root, 'nonsense', 'start')[0] == 2
    code, _out, err = swift_init(root, 'proxy', 'start')
    assert code == 1 and 'no config' in err


# ------------------------------------------------------ stack.sh / unstack.sh

def free_port_block(count, step=1, tries=50):
    """A base port such that base + i*step (i < count) are all free."""
    for _ in range(tries):
        base = random.randrange(20000, 40000, 10)
        ports = [base + i * step for i in range(count)]
        if all(_port_free(p) for p in ports):
            return base
    raise RuntimeError('no free block of ports found')


def _port_free(port):
    with socket.socket() as s:
        try:
            s.bind(('127.0.0.1', port))
            return True
        except OSError:
            return False


@pytest.mark.slow
def test_stack_up_status_and_unstack(tmp_path):
    stack_dir = tmp_path / 'stack'
    base = free_port_block(40)
    proxy_port = free_port()
    # the default rsync port (BASE + 3) lies inside the free block
    rsync_port = base + 3
    env = dict(os.environ, STACK_DIR=str(stack_dir), STACK_SKIP_DEPS='1',
               SWIFT_PORT_BASE=str(base), SWIFT_PROXY_PORT=str(proxy_port),
               STACK_WAIT='90')

    def run(*argv, timeout=400):
        proc = subprocess.run(list(argv), cwd=ROOT, env=env,
                              capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        return (proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    stack = os.path.join(ROOT, 'tools', 'stack.sh')
    unstack = os.path.join(ROOT, 'tools', 'unstack.sh')
    try:
        code, out, err = run(stack, 'up', 'nosuchservice')
        assert code == 2 and 'unknown service' in err

        code, out, err = run(stack, 'up', 'swift')
        assert code == 0, out + err
        assert 'swift is up' in out
        rc = (stack_dir / 'swiftrc').read_text()
        assert 'ST_AUTH=http://127.0.0.1:%d/auth/v1.0' % proxy_port in rc

        pid_files = sorted(stack_dir.glob('pids/swift/**/*.pid'))
        # 4 x (account, container, object server + 9 daemons), 1 proxy and
        # the rsync daemon
        assert len(pid_files) == 4 * 12 + 1 + 1, pid_files
        pids = [int(p.read_text()) for p in pid_files]
        assert all(pid_alive(p) for p in pids)
        logs = os.listdir(stack_dir / 'logs' / 'swift')
        assert 'proxy-server.log' in logs and 'object-server-1.log' in logs
        # one of the consistency daemons, and the rsync daemon it pushes to
        replicator = stack_dir / 'pids' / 'swift' / 'object-replicator' / \
            '1.pid'
        assert pid_alive(int(replicator.read_text()))
        assert 'object-replicator-1.log' in logs
        rsyncd = int((stack_dir / 'pids' / 'swift' / 'rsyncd.pid')
                     .read_text())
        assert pid_alive(rsyncd)
        assert port_answers(rsync_port)
        proc = subprocess.run(['rsync', '--port=%d' % rsync_port,
                               '127.0.0.1::'], capture_output=True,
                              timeout=60, stdin=subprocess.DEVNULL)
        modules = proc.stdout.decode().split()
        assert proc.returncode == 0, proc.stderr
        assert 'object%d' % base in modules
        assert 'account%d' % (base + 32) in modules

        code, out, err = run(stack, 'status', 'swift')
        assert code == 0, out + err
        assert 'swift: alive' in out
        assert 'object-replicator (1) running' in out
        assert 'account-reaper (4) running' in out
        assert 'rsync daemon running (pid %d)' % rsyncd in out

        code, out, err = run(stack, 'up', 'swift')
        assert code == 0 and 'nothing changed' in out, out + err
        assert [int(p.read_text()) for p in pid_files] == pids

        # The cloud works with the credentials it wrote.
        cli_env = dict(os.environ, PYTHONPATH=ROOT,
                       ST_AUTH='http://127.0.0.1:%d/auth/v1.0' % proxy_port,
                       ST_USER='test:tester', ST_KEY='testing')
        src = tmp_path / 'hello.txt'
        src.write_text('hello stack\n')
        for args in (['upload', '--object-name', 'hello', 'c', str(src)],
                     ['download', 'c', 'hello', '-o', '-']):
            proc = subprocess.run([sys.executable, SWIFT] + args,
                                  env=cli_env, capture_output=True,
                                  timeout=120)
            assert proc.returncode == 0, proc.stderr
        assert proc.stdout == b'hello stack\n'

        code, out, err = run(unstack)
        assert code == 0, out + err
        deadline = time.monotonic() + 30
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(pid_alive(p) for p in pids)
        assert not port_answers(rsync_port)
        code, out, _err = run(stack, 'status', 'swift')
        assert code != 0 and 'NOT alive' in out
        assert 'rsync daemon not running' in out
        assert stack_dir.exists()

        code, out, err = run(unstack, '--purge')
        assert code == 0, out + err
        assert not stack_dir.exists()
    finally:
        if stack_dir.exists():
            run(unstack, '--purge', timeout=120)
