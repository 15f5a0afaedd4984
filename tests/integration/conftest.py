"""Integration fixtures: one libvirtd in a network namespace and one built
test image per session, and a driver configured to use them.

The test image is built by tools/build_test_image.sh into a cache directory
that outlives the session on purpose (``NOVA_TEST_IMAGE_DIR``, default
/var/tmp/nova-test-image): the second session finds it fresh and skips the
build.  Everything else a session makes (namespace, libvirtd, temp dirs) is
removed at its end.
"""

import os
import shutil
import subprocess
import tempfile

import pytest

from tests.integration import libvirt_env

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
IMAGE_DIR = os.environ.get('NOVA_TEST_IMAGE_DIR', '/var/tmp/nova-test-image')


def _require_root():
    if os.geteuid() != 0:
        pytest.fail('integration tests need root (network namespaces, '
                    'libvirtd)', pytrace=False)


@pytest.fixture(scope='session')
def test_image():
    """Paths of the built test image files (dict, see manifest.json)."""
    proc = subprocess.run([os.path.join(ROOT, 'tools', 'build_test_image.sh'),
                           IMAGE_DIR], capture_output=True, text=True,
                          timeout=900)
    if proc.returncode != 0:
        pytest.fail('tools/build_test_image.sh failed: %s\n%s'
                    % (proc.stdout[-2000:], proc.stderr[-2000:]),
                    pytrace=False)
    return {'aki': os.path.join(IMAGE_DIR, 'aki-vmlinuz'),
            'ari': os.path.join(IMAGE_DIR, 'ari-initrd.img'),
            'ami': os.path.join(IMAGE_DIR, 'ami-root.img'),
            'disk': os.path.join(IMAGE_DIR, 'disk.qcow2')}


@pytest.fixture(scope='session')
def libvirt_ns():
    """A started LibvirtEnv (namespace + private libvirtd)."""
    _require_root()
    env = libvirt_env.LibvirtEnv()
    try:
        env.start()
    except libvirt_env.LibvirtEnvError as e:
        pytest.fail('cannot start libvirtd in a network namespace: %s' % e,
                    pytrace=False)
    yield env
    env.stop()


@pytest.fixture(scope='session')
def integration_dirs():
    tmp = tempfile.mkdtemp(prefix='nova-it-state-')
    dirs = {'root': tmp,
            'instances': os.path.join(tmp, 'instances'),
            'images': os.path.join(tmp, 'images')}
    os.makedirs(dirs['instances'])
    os.makedirs(dirs['images'])
    yield dirs
    shutil.rmtree(tmp, ignore_errors=True)


def apply_libvirt_flags(env, dirs):
    """Point the libvirt driver and the local image service at the session's
    libvirtd and directories.  tests/conftest.py resets flags after every
    test, so fixtures call this again whenever they use the driver."""
    from nova import flags
    import nova.image.local  # noqa: F401 - defines local_image_path
    from nova.virt.libvirt import connection  # defines its flags
    FLAGS = flags.FLAGS
    assert connection.FLAGS is FLAGS
    FLAGS.libvirt_type = 'qemu'
    FLAGS.libvirt_uri = env.uri
    FLAGS.instances_path = dirs['instances']
    FLAGS.image_service = 'nova.image.local.LocalImageService'
    FLAGS.local_image_path = dirs['images']
    FLAGS.libvirt_boot_timeout = 120
    FLAGS.libvirt_wait_soft_reboot_seconds = 40
    FLAGS.console_log_max_bytes = 4 * 1024 * 1024
    # The iptables firewall (the default) would write the host's tables:
    # tests of security groups set it up inside their namespace instead.
    FLAGS.firewall_driver = 'nova.virt.libvirt.firewall.NoopFirewallDriver'
    return FLAGS


@pytest.fixture
def libvirt_flags(libvirt_ns, integration_dirs):
    return apply_libvirt_flags(libvirt_ns, integration_dirs)


@pytest.fixture(scope='session')
def image_ids(test_image, libvirt_ns, integration_dirs):
    """The test image uploaded to the session's LocalImageService:
    {'aki', 'ari', 'ami', 'disk'} -> image id."""
    from nova import context
    from nova.image import local
    from tests.integration import guests
    service = local.LocalImageService(integration_dirs['images'])
    return guests.upload_test_images(service, context.get_admin_context(),
                                     test_image)
