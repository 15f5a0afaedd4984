"""A throwaway network namespace for functional network tests."""

import secrets
import subprocess

import pytest


def run(*argv, check=True, timeout=30, input=None):
    proc = subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (%s): %s%s' % (
            ' '.join(argv), proc.returncode, proc.stdout, proc.stderr))
    return proc


class Netns:

    def __init__(self, prefix='nova-ft-'):
        self.name = prefix + secrets.token_hex(4)
        run('ip', 'netns', 'add', self.name)
        self.run('ip', 'link', 'set', 'lo', 'up')

    def run(self, *argv, **kw):
        return run('ip', 'netns', 'exec', self.name, *argv, **kw)

    def delete(self):
        run('ip', 'netns', 'del', self.name, check=False)


@pytest.fixture
def netns():
    import os
    if os.geteuid() != 0:
        pytest.fail('network namespace tests need root', pytrace=False)
    ns = Netns()
    try:
        yield ns
    finally:
        ns.delete()
