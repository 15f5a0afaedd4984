"""Fixtures for the object server tests: a devices tree and a clock."""

import errno
import itertools
import os
import time

import pytest

from swift.obj import server


def require_xattrs(path):
    """Fail clearly when the filesystem under ``path`` has no user xattrs."""
    probe = os.path.join(path, '.xattr-probe')
    with open(probe, 'wb'):
        pass
    try:
        os.setxattr(probe, 'user.swift.probe', b'1')
    except OSError as err:
        if err.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            pytest.fail('extended attributes (user.*) are not supported on '
                        'the filesystem of %s; the object server stores '
                        'metadata there' % path, pytrace=False)
        raise
    finally:
        os.unlink(probe)


@pytest.fixture
def devices(tmp_path):
    root = tmp_path / 'devices'
    (root / 'sda1').mkdir(parents=True)
    require_xattrs(str(root / 'sda1'))
    return str(root)


@pytest.fixture
def conf(devices, tmp_path):
    return {'devices': devices, 'mount_check': 'false',
            'swift_dir': str(tmp_path), 'log_requests': 'false'}


@pytest.fixture
def app(conf):
    return server.ObjectController(conf)


@pytest.fixture
def ts():
    """ts() -> a fresh, strictly increasing X-Timestamp string."""
    counter = itertools.count(int(time.time()) - 1000)
    return lambda: '%016.05f' % next(counter)
