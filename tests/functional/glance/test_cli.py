"""bin/glance end to end against glance processes."""

import hashlib
import os
import re
import subprocess

from tests.functional.glance.servers import PYTHON, ROOT

GLANCE = os.path.join(ROOT, 'bin', 'glance')


def run(glance, *args, stdin=None, env=None):
    full_env = dict(os.environ, GLANCE_HOST='127.0.0.1',
                    GLANCE_PORT=str(glance.api_port))
    full_env.update(env or {})
    return subprocess.run([PYTHON, GLANCE] + list(args), stdin=stdin,
                          capture_output=True, timeout=120, env=full_env,
                          text=False)


def out(result):
    return result.stdout.decode()


def test_add_show_index_details_update_delete(glance, tmp_path):
    data = os.urandom(123457)
    path = tmp_path / 'disk.img'
    path.write_bytes(data)
    with open(path, 'rb') as f:
        res = run(glance, 'add', 'name=cli-image', 'disk_format=qcow2',
                  'container_format=bare', 'is_public=true', 'distro=debian',
                  stdin=f)
    assert res.returncode == 0, res.stderr
    match = re.match(r'Added new image with ID: (\d+)', out(res))
    assert match, out(res)
    image_id = match.group(1)

    res = run(glance, 'show', image_id, stdin=subprocess.DEVNULL)
    assert res.returncode == 0
    text = out(res)
    assert 'Name: cli-image' in text
    assert 'Public: Yes' in text
    assert 'Size: %d' % len(data) in text
    assert 'Checksum: %s' % hashlib.md5(data).hexdigest() in text
    assert 'Disk format: qcow2' in text
    assert "Property 'distro': debian" in text

    res = run(glance, 'index', stdin=subprocess.DEVNULL)
    assert res.returncode == 0
    assert 'Found 1 images' in out(res)
    assert 'cli-image' in out(res)

    res = run(glance, 'update', image_id, 'name=renamed', 'arch=x86_64',
              stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr
    assert 'Updated image %s' % image_id in out(res)
    res = run(glance, 'details', stdin=subprocess.DEVNULL)
    assert 'Name: renamed' in out(res)
    assert "Property 'arch': x86_64" in out(res)
    assert "Property 'distro': debian" in out(res)

    target = tmp_path / 'back.img'
    res = run(glance, 'download', image_id, '--file', str(target),
              stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr
    assert target.read_bytes() == data

    res = run(glance, 'delete', image_id, stdin=subprocess.DEVNULL)
    assert res.returncode == 0
    assert 'Deleted image %s' % image_id in out(res)
    res = run(glance, 'delete', image_id, stdin=subprocess.DEVNULL)
    assert res.returncode == 1
    assert 'No image with ID %s was found' % image_id in res.stderr.decode()
    res = run(glance, 'index', stdin=subprocess.DEVNULL)
    assert 'No images found.' in out(res)


def test_add_from_file_option_with_progress_and_clear(glance, tmp_path):
    path = tmp_path / 'k'
    path.write_bytes(b'k' * 300000)
    res = run(glance, 'add', 'name=kernel', 'disk_format=aki', '--file',
              str(path), '--progress', '--port', str(glance.api_port),
              stdin=subprocess.DEVNULL, env={'GLANCE_PORT': '1'})
    assert res.returncode == 0, res.stderr
    assert '100%' in res.stderr.decode()
    res = run(glance, 'add', 'name=queued-one', stdin=subprocess.DEVNULL)
    assert res.returncode == 0
    res = run(glance, 'details', stdin=subprocess.DEVNULL)
    assert 'Container format: aki' in out(res)
    assert out(res).count('=' * 80) == 3
    res = run(glance, '-v', 'clear', stdin=subprocess.DEVNULL)
    assert res.returncode == 0
    assert 'Deleted 2 images' in out(res)
    assert 'No images found.' in out(run(glance, 'index',
                                         stdin=subprocess.DEVNULL))


def test_errors_and_exit_codes(glance):
    res = run(glance, 'add', 'name=x', 'disk_format=floppy',
              stdin=subprocess.DEVNULL)
    assert res.returncode == 1
    assert 'floppy' in res.stderr.decode()
    res = run(glance, 'add', 'disk_format=raw', stdin=subprocess.DEVNULL)
    assert res.returncode == 2
    assert 'name' in res.stderr.decode()
    res = run(glance, 'add', 'oops', stdin=subprocess.DEVNULL)
    assert res.returncode == 2
    res = run(glance, 'show', '4242', stdin=subprocess.DEVNULL)
    assert res.returncode == 1
    res = run(glance, 'index', '--port', '1', stdin=subprocess.DEVNULL)
    assert res.returncode == 1
    assert 'Cannot reach glance' in res.stderr.decode()
    res = run(glance, '--help', stdin=subprocess.DEVNULL)
    assert res.returncode == 0 and 'add' in out(res)
    res = run(glance, 'frobnicate', stdin=subprocess.DEVNULL)
    assert res.returncode == 2
