"""python-glanceclient (Image API v1) against our glance processes."""

import hashlib
import io
import os

import pytest

glanceclient = pytest.importorskip('glanceclient')


@pytest.fixture
def client(glance):
    return glanceclient.Client('1', endpoint=glance.url)


def test_create_show_data_delete(client, glance):
    data = os.urandom(200 * 1024)
    image = client.images.create(name='gc', disk_format='qcow2',
                                 container_format='bare', is_public=True,
                                 properties={'distro': 'debian',
                                             'kernel_id': '4'},
                                 data=io.BytesIO(data))
    assert image.status == 'active'
    assert image.size == len(data)
    assert image.checksum == hashlib.md5(data).hexdigest()

    shown = client.images.get(image.id)
    assert shown.name == 'gc'
    assert shown.disk_format == 'qcow2'
    assert shown.container_format == 'bare'
    assert shown.is_public is True
    assert shown.properties == {'distro': 'debian', 'kernel_id': '4'}
    # data() checks the checksum while streaming
    assert b''.join(client.images.data(image.id)) == data

    updated = client.images.update(image.id, name='gc2',
                                   properties={'arch': 'x86_64'})
    assert updated.name == 'gc2'
    assert client.images.get(image.id).properties == {
        'distro': 'debian', 'kernel_id': '4', 'arch': 'x86_64'}
    client.images.update(image.id, properties={'arch': 'arm'},
                         purge_props=True)
    assert client.images.get(image.id).properties == {'arch': 'arm'}

    client.images.delete(image.id)
    from glanceclient import exc
    with pytest.raises(exc.HTTPNotFound):
        client.images.get(image.id)


def test_list_pages_through_many_images(client):
    created = set()
    for n in range(27):
        created.add(client.images.create(name='page%02d' % n,
                                         disk_format='raw',
                                         container_format='bare').id)
    listed = [i.id for i in client.images.list(page_size=10)]
    assert len(listed) == 27
    assert set(listed) == created
    limited = list(client.images.list(page_size=10, limit=13))
    assert len(limited) == 13
    raw = list(client.images.list(filters={'name': 'page07'}))
    assert [i.name for i in raw] == ['page07']
    by_name = [i.name for i in client.images.list(page_size=4,
                                                  sort_key='name',
                                                  sort_dir='asc')]
    assert by_name == ['page%02d' % n for n in range(27)]


def test_queued_then_upload(client):
    image = client.images.create(name='q', disk_format='raw',
                                 container_format='bare')
    assert image.status == 'queued'
    updated = client.images.update(image.id, data=io.BytesIO(b'payload'))
    assert updated.status == 'active'
    assert b''.join(client.images.data(image.id)) == b'payload'


def test_bad_format_is_refused(client):
    with pytest.raises(Exception) as err:
        client.images.create(name='bad', disk_format='floppy',
                             container_format='bare')
    assert 'floppy' in str(err.value)


def _glance_cli(glance, *args):
    """The released glance CLI (glanceclient's shell), Image API v1."""
    import subprocess
    import sys
    cmd = [sys.executable, '-c',
           'import sys; from glanceclient.shell import main; '
           'sys.exit(main())',
           '--os-image-url', glance.url, '--os-image-api-version', '1',
           '--os-auth-token', 'anything'] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_released_glance_cli(glance, tmp_path):
    data = os.urandom(300 * 1024)
    source = tmp_path / 'image.raw'
    source.write_bytes(data)
    made = _glance_cli(glance, 'image-create', '--name', 'cli-image',
                       '--disk-format', 'raw', '--container-format', 'bare',
                       '--is-public', 'True', '--file', str(source))
    assert made.returncode == 0, made.stderr
    assert 'cli-image' in made.stdout and 'active' in made.stdout
    listing = _glance_cli(glance, 'image-list')
    assert listing.returncode == 0, listing.stderr
    line = [l for l in listing.stdout.splitlines() if 'cli-image' in l][0]
    image_id = line.split('|')[1].strip()
    shown = _glance_cli(glance, 'image-show', image_id)
    assert shown.returncode == 0 and hashlib.md5(data).hexdigest() \
        in shown.stdout
    target = tmp_path / 'out.raw'
    got = _glance_cli(glance, 'image-download', '--file', str(target),
                      image_id)
    assert got.returncode == 0, got.stderr
    assert target.read_bytes() == data
    gone = _glance_cli(glance, 'image-delete', image_id)
    assert gone.returncode == 0, gone.stderr
    assert 'cli-image' not in _glance_cli(glance, 'image-list').stdout
