"""tools/stack.sh and tools/unstack.sh without starting anything: usage,
wrong arguments, status of a cloud that is not there, a failing step that
stops with a one-line reason, the settings a STACK_DIR keeps, and --purge
refusing a directory stack.sh did not make.  (The whole cloud is brought
up in tests/integration/test_stack_e2e.py.)"""

import os
import socket
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
STACK = os.path.join(ROOT, 'tools', 'stack.sh')
UNSTACK = os.path.join(ROOT, 'tools', 'unstack.sh')

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason='stack.sh up refuses to run as a user')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(argv, stack_dir, timeout=120, **env):
    full = dict(os.environ, STACK_DIR=str(stack_dir), STACK_SKIP_DEPS='1')
    full.pop('STACK_NETNS', None)
    full.update(env)
    return subprocess.run(argv, capture_output=True, text=True, env=full,
                          timeout=timeout)


def test_help_describes_both_commands(tmp_path):
    for script, words in ((STACK, ('STACK_NETNS', 'novarc', 'status')),
                          (UNSTACK, ('--purge', 'namespace'))):
        proc = run([script, '--help'], tmp_path / 'none')
        assert proc.returncode == 0
        for word in words:
            assert word in proc.stdout, proc.stdout
    assert not (tmp_path / 'none').exists()


def test_unknown_service_is_a_usage_error(tmp_path):
    proc = run([STACK, 'up', 'nova', 'bogus'], tmp_path / 's')
    assert proc.returncode == 2
    assert "unknown service 'bogus'" in proc.stderr
    assert 'swift glance nova images' in proc.stderr
    assert not (tmp_path / 's').exists()
    proc = run([UNSTACK, 'bogus'], tmp_path / 's')
    assert proc.returncode == 2
    proc = run([UNSTACK, '--bogus'], tmp_path / 's')
    assert proc.returncode == 2


def test_status_of_nothing_says_not_alive(tmp_path):
    port = free_port()
    proc = run([STACK, 'status', 'nova', 'glance'], tmp_path / 's',
               STACK_GLANCE_PORT=str(port),
               STACK_GLANCE_REGISTRY_PORT=str(free_port()))
    assert proc.returncode == 1
    assert 'nova: not set up' in proc.stdout
    assert 'glance: glance-api not running' in proc.stdout
    assert 'glance: NOT alive' in proc.stdout


def test_unstack_without_a_stack_dir_does_nothing(tmp_path):
    proc = run([UNSTACK, '--purge'], tmp_path / 'missing')
    assert proc.returncode == 0
    assert 'nothing to do' in proc.stdout


@needs_root
def test_failing_step_stops_with_one_line_reason(tmp_path):
    stack_dir = tmp_path / 's'
    port = free_port()
    proc = run([STACK, 'up', 'images'], stack_dir,
               STACK_GLANCE_PORT=str(port))
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('stack: FAILED: glance is not running'), \
        proc.stderr
    # the settings of this STACK_DIR are kept and win over later ones
    with open(stack_dir / 'stack.env') as f:
        assert 'STACK_GLANCE_PORT=%d\n' % port in f.read()
    again = run([STACK, 'up', 'images'], stack_dir,
                STACK_GLANCE_PORT=str(free_port()))
    assert again.returncode == 1
    assert 'ignored: %s was set up with STACK_GLANCE_PORT=%d' % (
        stack_dir, port) in again.stdout

    # --purge removes what carries stack.sh's marker, and only that
    proc = run([UNSTACK, '--purge'], stack_dir)
    assert proc.returncode == 0, proc.stderr
    assert not stack_dir.exists()


def test_purge_refuses_a_directory_without_the_marker(tmp_path):
    stack_dir = tmp_path / 'precious'
    stack_dir.mkdir()
    (stack_dir / 'data.txt').write_text('keep me')
    proc = run([UNSTACK, '--purge'], stack_dir)
    assert proc.returncode == 1
    if os.geteuid() == 0:
        assert "lacks tools/stack.sh's marker" in proc.stderr, proc.stderr
    assert (stack_dir / 'data.txt').read_text() == 'keep me'


@pytest.mark.parametrize('sample', ['nova.conf', 'nova-controller.conf.sample',
                                    'nova-compute.conf.sample'])
def test_sample_nova_confs_name_only_known_flags(sample, tmp_path):
    path = os.path.join(ROOT, 'etc', 'nova', sample)
    proc = subprocess.run(
        [os.path.join(ROOT, '.venv', 'bin', 'python'),
         os.path.join(ROOT, 'bin', 'nova-manage'), '--flagfile=%s' % path,
         'version'], capture_output=True, text=True, timeout=120,
        cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
