"""Unit tests never change this host: no firewall, bridge or daemon commands."""

import os

import pytest

# Commands that change the host's network or start daemons.  A unit test
# that reaches one of them through nova.utils.execute has a missing fake.
HOST_CHANGING = {
    'iptables', 'iptables-save', 'iptables-restore', 'ip6tables',
    'ip6tables-save', 'ip6tables-restore', 'ebtables', 'ip', 'brctl',
    'vconfig', 'dnsmasq', 'radvd', 'tgtadm', 'sysctl', 'dhcp_release',
    'iscsiadm', 'lvcreate', 'lvremove', 'vgcreate', 'modprobe',
}


@pytest.fixture(autouse=True)
def _no_host_changes(monkeypatch):
    from nova import flags
    from nova import utils
    real_execute = utils.execute

    def guarded(*cmd, **kwargs):
        argv = cmd[0] if len(cmd) == 1 and isinstance(cmd[0],
                                                      (list, tuple)) else cmd
        name = os.path.basename(str(argv[0])) if argv else ''
        in_netns = kwargs.get('run_as_root') and str(
            flags.FLAGS.root_helper).startswith('ip netns exec')
        if name in HOST_CHANGING and not in_netns:
            raise AssertionError('unit test tried to run %r on the host; '
                                 'fake it or run it in a namespace'
                                 % ' '.join(str(a) for a in argv))
        return real_execute(*cmd, **kwargs)

    monkeypatch.setattr(utils, 'execute', guarded)
