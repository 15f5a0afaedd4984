"""nova-manage instance_type and network, run as processes on SQLite.

The categories live in nova/cli/manage_compute.py; until nova/cli/manage.py
imports that module, bin/nova-manage does not know them, and the same
dispatcher is reached through ``python -m nova.cli.manage_compute``.
"""

import os
import subprocess
import sys

import pytest

from tests.functional.nova import helpers


def _registered_in_bin():
    path = os.path.join(helpers.ROOT, 'nova', 'cli', 'manage.py')
    with open(path) as f:
        return 'manage_compute' in f.read()


def manage(flagfile, *args, check=True):
    if _registered_in_bin():
        return helpers.nova_manage(flagfile, *args, check=check)
    cmd = [sys.executable, '-m', 'nova.cli.manage_compute',
           '--flagfile=%s' % flagfile] + list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          cwd=helpers.ROOT)
    if check and proc.returncode != 0:
        raise AssertionError('nova-manage %s failed (%d):\n%s%s'
                             % (' '.join(args), proc.returncode, proc.stdout,
                                proc.stderr))
    return proc


@pytest.fixture
def flagfile(tmp_path):
    path = helpers.write_flagfile(str(tmp_path))
    helpers.nova_manage(path, 'db', 'sync')
    return path


def test_instance_type_commands(flagfile):
    listing = manage(flagfile, 'instance_type', 'list').stdout
    assert 'm1.tiny: Memory: 512MB, VCPUS: 1, Storage: 0GB, FlavorID: 1' \
        in listing
    manage(flagfile, 'instance_type', 'create', 'x1.test', '1024', '2', '10',
           '99', '256')
    shown = manage(flagfile, 'instance_type', 'list', 'x1.test').stdout
    assert 'x1.test: Memory: 1024MB, VCPUS: 2, Storage: 10GB, FlavorID: 99, ' \
        'Swap: 256GB' in shown

    dup = manage(flagfile, 'instance_type', 'create', 'x1.test', '1', '1',
                 '1', '100', check=False)
    assert dup.returncode == 1 and 'already exists' in dup.stderr
    bad = manage(flagfile, 'instance_type', 'create', 'x1.bad', 'lots', '1',
                 '1', '101', check=False)
    assert bad.returncode == 1 and 'memory_mb' in bad.stderr
    short = manage(flagfile, 'instance_type', 'create', 'x1.bad',
                   check=False)
    assert short.returncode == 2
    assert 'x1.bad' not in manage(flagfile, 'instance_type', 'list').stdout

    manage(flagfile, 'instance_type', 'delete', 'x1.test')
    assert 'x1.test' not in manage(flagfile, 'instance_type', 'list').stdout
    gone = manage(flagfile, 'instance_type', 'delete', 'x1.test',
                  check=False)
    assert gone.returncode == 1 and 'x1.test' in gone.stderr


def test_network_commands(flagfile):
    out = manage(flagfile, 'network', 'create', '10.20.0.0/16', '2',
                 '256').stdout
    assert '10.20.0.0/24 (bridge br100, gateway 10.20.0.1)' in out
    assert '10.20.1.0/24' in out
    listing = manage(flagfile, 'network', 'list').stdout
    lines = [l for l in listing.splitlines() if l.startswith('10.20.')]
    assert len(lines) == 2
    assert '0/253' in lines[0]
    overlap = manage(flagfile, 'network', 'create', '10.20.1.0/24', '1',
                     '256', check=False)
    assert overlap.returncode == 1 and 'overlaps' in overlap.stderr
    bad = manage(flagfile, 'network', 'create', '10.30.0.0/24', '1', '100',
                 check=False)
    assert bad.returncode == 1 and 'power of two' in bad.stderr
    listing = manage(flagfile, 'network', 'list').stdout
    assert len([l for l in listing.splitlines()
                if l.startswith('10.')]) == 2
