"""IptablesManager against the real iptables, inside a throwaway netns."""

import pytest

from nova import flags
from nova.network import iptables
from tests.functional.network.netns import netns  # noqa: F401

FLAGS = flags.FLAGS

FOREIGN = [
    ('filter', '-A INPUT -i lo -j ACCEPT'),
    ('filter', '-A FORWARD -i virbr0 -m comment --comment "libvirt rule" '
               '-j ACCEPT'),
    ('nat', '-A POSTROUTING -s 192.168.122.0/24 -j MASQUERADE'),
    ('mangle', '-A OUTPUT -o lo -j MARK --set-xmark 0x1/0xffffffff'),
]


@pytest.fixture
def ns(netns, tmp_path):  # noqa: F811
    FLAGS.root_helper = 'ip netns exec %s' % netns.name
    FLAGS.iptables_lock_file = str(tmp_path / 'lock')
    netns.run('iptables', '-N', 'OPERATOR', '-t', 'filter')
    netns.run('iptables', '-A', 'OPERATOR', '-j', 'RETURN')
    for table, rule in FOREIGN:
        netns.run('sh', '-c', 'iptables -t %s %s' % (table, rule))
    return netns


def save(ns):
    return ns.run('iptables-save').stdout


def foreign(text):
    return [line for line in iptables.normalize(text).splitlines()
            if 'nova-' not in line]


def build(mgr):
    nat = mgr.ipv4['nat']
    nat.add_chain('floating-snat')
    nat.add_rule('snat', '-j $floating-snat')
    nat.add_rule('floating-snat', '-s 10.0.0.3 -j SNAT --to-source 1.2.3.4')
    nat.add_rule('PREROUTING', '-d 1.2.3.4 -j DNAT --to-destination 10.0.0.3')
    nat.add_rule('PREROUTING', '-d 169.254.169.254 -p tcp --dport 80 '
                 '-j DNAT --to-destination 10.0.0.1:8773')
    filt = mgr.ipv4['filter']
    filt.add_chain('inst-12')
    filt.add_rule('inst-12', '-s 10.0.0.0/24 -p tcp --dport 22 -j ACCEPT')
    filt.add_rule('local', '-d 10.0.0.3 -j $inst-12')


def test_real_iptables_round_trip(ns):
    before = save(ns)
    calls = []

    def counting_execute(*cmd, **kw):
        from nova import utils
        calls.append(cmd[0][0] if len(cmd) == 1 else cmd[0])
        return utils.execute(*cmd, **kw)

    mgr = iptables.IptablesManager(execute=counting_execute, binary='network')
    build(mgr)
    mgr.apply()
    applied = save(ns)
    assert foreign(applied) == foreign(before)
    assert '-A nova-network-floating-snat -s 10.0.0.3/32 -j SNAT ' \
        '--to-source 1.2.3.4' in applied
    assert '-A nova-network-PREROUTING -d 169.254.169.254/32 -p tcp -m tcp ' \
        '--dport 80 -j DNAT --to-destination 10.0.0.1:8773' in applied
    assert '-A nova-filter-top -j nova-network-local' in applied

    # Nothing changed: nothing restored, the tables stay byte-identical.
    restores = calls.count('iptables-restore')
    mgr.apply()
    assert calls.count('iptables-restore') == restores
    assert iptables.normalize(save(ns)) == iptables.normalize(applied)

    # A restarted process that wants the same rebuilds the same.
    again = iptables.IptablesManager(binary='network')
    build(again)
    again.apply()
    assert iptables.normalize(save(ns)) == iptables.normalize(applied)

    # A second nova process adds its own chains beside, without fighting.
    compute = iptables.IptablesManager(binary='compute')
    compute.ipv4['filter'].add_chain('inst-1')
    compute.ipv4['filter'].add_rule('local', '-j $inst-1')
    compute.apply()
    both = save(ns)
    again.apply()
    compute.apply()
    assert iptables.normalize(save(ns)) == iptables.normalize(both)

    # Removing everything of ours leaves the foreign state as it was.
    again.ipv4['filter'].remove_chain('inst-12')
    again.ipv4['nat'].remove_chain('floating-snat')
    again.ipv4['nat'].empty_chain('PREROUTING')
    again.apply()
    text = save(ns)
    assert 'inst-12' not in text and 'floating' not in text
    assert '1.2.3.4' not in text
    assert 'nova-compute-inst-1' in text
    assert foreign(text) == foreign(before)
