"""Every launcher under bin/ answers --help with its usage and exit code 0."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BINARIES = sorted(os.listdir(os.path.join(ROOT, 'bin')))


@pytest.mark.parametrize('binary', BINARIES)
def test_help(binary):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'bin', binary),
                           '--help'], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.lower()
    assert 'usage' in text or binary in text, proc.stdout
    assert 'deprecat' not in proc.stderr.lower(), proc.stderr
