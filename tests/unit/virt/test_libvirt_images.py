"""Image checks (nova.virt.images) and the per-host image cache, on small
files made with qemu-img."""

import os
import subprocess
import threading
import time

import pytest

from nova import exception
from nova.virt import images
from nova.virt.libvirt import imagecache


def qcow2(path, size='1M', backing=None, backing_format='raw'):
    cmd = ['qemu-img', 'create', '-q', '-f', 'qcow2']
    if backing:
        cmd += ['-b', backing, '-F', backing_format]
    cmd += [str(path)]
    if not backing:
        cmd.append(size)
    subprocess.run(cmd, check=True)
    return str(path)


def test_plain_qcow2_is_accepted(tmp_path):
    path = qcow2(tmp_path / 'ok.qcow2')
    assert images.read_qcow2_backing(path) == ''
    assert images.check_disk_image('7', path, 'qcow2') == 'qcow2'
    assert images.check_disk_image('7', path, None) == 'qcow2'


def test_qcow2_with_backing_file_is_refused(tmp_path):
    path = qcow2(tmp_path / 'evil.qcow2', backing='/etc/passwd')
    assert images.read_qcow2_backing(path) == '/etc/passwd'
    for declared in ('qcow2', None, ''):
        with pytest.raises(images.ImageUnacceptable) as caught:
            images.check_disk_image('7', path, declared)
        assert 'backing file (/etc/passwd)' in str(caught.value)
        assert caught.value.image_id == '7'


def test_declared_raw_is_never_probed(tmp_path):
    """A qcow2 header inside a raw image is only data: it is opened as raw,
    so its backing file is never followed."""
    path = qcow2(tmp_path / 'evil.qcow2', backing='/etc/passwd')
    for declared in ('raw', 'ami', 'RAW'):
        assert images.check_disk_image('7', path, declared) == 'raw'


def test_garbage_declared_qcow2_is_refused(tmp_path):
    path = tmp_path / 'garbage'
    path.write_bytes(os.urandom(4096))
    with pytest.raises(images.ImageUnacceptable) as caught:
        images.check_disk_image('9', str(path), 'qcow2')
    assert 'declared qcow2 but its content is raw' in str(caught.value)


def test_other_formats_are_refused(tmp_path):
    path = tmp_path / 'disk.vmdk'
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'vmdk', str(path),
                    '1M'], check=True)
    with pytest.raises(images.ImageUnacceptable) as caught:
        images.check_disk_image('3', str(path), None)
    assert 'vmdk' in str(caught.value)
    with pytest.raises(images.ImageUnacceptable):
        images.check_disk_image('3', str(path), 'vmdk')


def test_empty_raw_is_refused(tmp_path):
    path = tmp_path / 'empty'
    path.write_bytes(b'')
    with pytest.raises(images.ImageUnacceptable):
        images.check_disk_image('3', str(path), 'raw')


def test_overlay_on_a_base_and_its_virtual_size(tmp_path):
    base = qcow2(tmp_path / 'base.qcow2', size='2M')
    overlay = str(tmp_path / 'disk')
    images.create_cow_image(base, 'qcow2', overlay, size=8 * 1024 * 1024)
    assert images.qemu_img_info(overlay)['backing-filename'] == base
    assert images.virtual_size(overlay, 'qcow2') == 8 * 1024 * 1024
    flat = str(tmp_path / 'flat')
    images.convert_image(overlay, 'qcow2', flat, 'qcow2')
    assert images.read_qcow2_backing(flat) == ''


# -- the image cache ----------------------------------------------------------

class CountingImageService:
    """Serves bytes from a dict; counts downloads; can be slow or fail."""

    def __init__(self, images_, delay=0.0):
        self.images = images_
        self.delay = delay
        self.downloads = []
        self.lock = threading.Lock()

    def download(self, context, image_id, path):
        with self.lock:
            self.downloads.append(image_id)
        if image_id not in self.images:
            raise exception.ImageNotFound(image_id=image_id)
        time.sleep(self.delay)
        with open(path, 'wb') as f:
            f.write(self.images[image_id])
        return {'id': image_id, 'disk_format': 'raw',
                'properties': {'kernel_id': '1'}}


def test_cache_downloads_once_and_shares(tmp_path):
    service = CountingImageService({'5': b'x' * 1000})
    cache = imagecache.ImageCache(str(tmp_path / '_base'))
    checks = []

    def check(path, meta):
        checks.append(path)
        return 'raw'
    first = cache.fetch(None, service, '5', check)
    second = cache.fetch(None, service, '5', check)
    assert service.downloads == ['5']
    assert len(checks) == 1
    assert first.path == second.path == str(tmp_path / '_base' / '5')
    assert second.format == 'raw'
    assert second.meta['properties'] == {'kernel_id': '1'}
    assert cache.cached() == ['5']


def test_concurrent_fetches_of_one_image_download_it_once(tmp_path):
    service = CountingImageService({'6': b'y' * 1000}, delay=0.3)
    cache = imagecache.ImageCache(str(tmp_path / '_base'))
    results = []

    def fetch():
        results.append(cache.fetch(None, service, '6', lambda p, m: 'raw'))
    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 4
    assert service.downloads == ['6']
    assert {r.path for r in results} == {str(tmp_path / '_base' / '6')}


def test_failed_check_leaves_nothing_and_is_retried(tmp_path):
    service = CountingImageService({'8': b'z' * 10})
    base = tmp_path / '_base'
    cache = imagecache.ImageCache(str(base))

    def refuse(path, meta):
        raise images.ImageUnacceptable('8', 'no thanks')
    with pytest.raises(images.ImageUnacceptable):
        cache.fetch(None, service, '8', refuse)
    assert sorted(os.listdir(base)) == ['8.lock']
    assert cache.fetch(None, service, '8', lambda p, m: 'raw').format == 'raw'
    assert service.downloads == ['8', '8']


def test_missing_image_leaves_nothing(tmp_path):
    service = CountingImageService({})
    base = tmp_path / '_base'
    cache = imagecache.ImageCache(str(base))
    with pytest.raises(exception.ImageNotFound):
        cache.fetch(None, service, '404', lambda p, m: 'raw')
    assert sorted(os.listdir(base)) == ['404.lock']


def test_cache_names_are_safe_file_names():
    assert imagecache.cache_name('12') == '12'
    assert imagecache.cache_name('6f1c-ab_3.x') == '6f1c-ab_3.x'
    for hostile in ('../../etc/passwd', '.hidden', 'a/b', 'x' * 200, '',
                    'evil.info'):
        name = imagecache.cache_name(hostile)
        assert '/' not in name and not name.startswith('.')
        assert len(name) == 40
