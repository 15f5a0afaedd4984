"""IptablesManager on a fake iptables-save/restore: wrapping, ownership,
idempotence, removal."""

import pytest

from nova import flags
from nova.network import iptables
from nova.network import linux_net
from tests.unit.network.fake_iptables import DEFAULT_V4
from tests.unit.network.fake_iptables import FakeIptables

FLAGS = flags.FLAGS


@pytest.fixture(autouse=True)
def lock_file(tmp_path):
    FLAGS.iptables_lock_file = str(tmp_path / 'iptables.lock')


@pytest.fixture
def fake():
    return FakeIptables()


def manager(fake, binary='network', **kw):
    return iptables.IptablesManager(execute=fake, binary=binary, **kw)


def foreign_lines(text):
    """Lines neither nova chain declarations nor rules touching nova."""
    return [line for line in iptables.normalize(text).splitlines()
            if 'nova-' not in line]


def test_module_exports_one_manager_per_process():
    assert isinstance(linux_net.iptables_manager, linux_net.IptablesManager)
    assert linux_net.iptables_manager.wrap_prefix.startswith('nova-')


def test_binary_name_from_argv(monkeypatch):
    monkeypatch.setattr('sys.argv', ['/usr/bin/nova-compute', '--x'])
    assert iptables.binary_name() == 'compute'
    monkeypatch.setattr('sys.argv', ['/x/__main__.py'])
    assert iptables.binary_name() == 'main'


def test_skeleton_wraps_builtin_chains(fake):
    mgr = manager(fake, 'compute')
    mgr.apply()
    filt = fake.rules('filter')
    assert '-A INPUT -j nova-compute-INPUT' in filt
    assert '-A FORWARD -j nova-filter-top' in filt
    assert '-A OUTPUT -j nova-filter-top' in filt
    assert '-A nova-filter-top -j nova-compute-local' in filt
    nat = fake.rules('nat')
    assert '-A PREROUTING -j nova-compute-PREROUTING' in nat
    assert nat[-2:] == ['-A POSTROUTING -j nova-postrouting-bottom',
                        '-A nova-postrouting-bottom -j nova-compute-snat']
    # Jumps to nova sit at the top of the built-in chains.
    assert filt[0].startswith('-A INPUT -j nova-')
    assert fake.rules('filter').index('-A INPUT -j nova-compute-INPUT') < \
        fake.rules('filter').index('-A INPUT -i lo -j ACCEPT')
    assert 'nova-compute-inst-1' not in fake.chains('filter')


def test_foreign_rules_kept_byte_identical(fake):
    mgr = manager(fake)
    table = mgr.ipv4['filter']
    table.add_chain('inst-7')
    table.add_rule('inst-7', '-s 10.0.0.5 -j ACCEPT')
    table.add_rule('local', '-d 10.0.0.5 -j $inst-7')
    mgr.apply()
    assert foreign_lines(fake.text['iptables']) == foreign_lines(DEFAULT_V4)
    # The untouched mangle table was not even written.
    assert all('*mangle' not in text for _f, text in fake.restores)
    # Counters of foreign chains survive.
    assert ':INPUT ACCEPT [10:1000]' in fake.text['iptables']
    assert '-A nova-network-inst-7 -s 10.0.0.5/32 -j ACCEPT' in \
        fake.rules('filter')
    assert '-A nova-network-local -d 10.0.0.5/32 -j nova-network-inst-7' in \
        fake.rules('filter')


def test_repeated_apply_is_a_noop(fake):
    mgr = manager(fake)
    mgr.ipv4['nat'].add_chain('floating-snat')
    mgr.ipv4['nat'].add_rule('snat', '-j $floating-snat')
    mgr.ipv4['nat'].add_rule(
        'PREROUTING', '-d 169.254.169.254/32 -p tcp --dport 80 '
        '-j DNAT --to-destination 10.0.0.1:8773')
    mgr.apply()
    first = fake.text['iptables']
    restores = len(fake.restores)
    mgr.apply()
    assert len(fake.restores) == restores
    assert fake.text['iptables'] == first
    fake2 = FakeIptables(v4=first)
    again = manager(fake2)
    again.ipv4['nat'].add_chain('floating-snat')
    again.ipv4['nat'].add_rule('snat', '-j $floating-snat')
    again.ipv4['nat'].add_rule(
        'PREROUTING', '-d 169.254.169.254/32 -p tcp -m tcp --dport 80 '
        '-j DNAT --to-destination 10.0.0.1:8773')
    again.apply()
    assert fake2.restores == []
    assert fake2.text['iptables'] == first


def test_restarted_process_rebuilds_identical_tables(fake):
    def build(mgr):
        nat = mgr.ipv4['nat']
        nat.add_chain('floating-snat')
        nat.add_rule('snat', '-j $floating-snat')
        nat.add_rule('floating-snat', '-s 10.0.0.3 -j SNAT --to-source 1.2.3.4')
        nat.add_rule('PREROUTING', '-d 1.2.3.4 -j DNAT --to-destination '
                     '10.0.0.3')
        mgr.apply()
    build(manager(fake))
    before = iptables.normalize(fake.text['iptables'])
    build(manager(fake))
    assert iptables.normalize(fake.text['iptables']) == before
    # A restart that no longer wants a chain drops it and every jump to it.
    manager(fake).apply()
    after = fake.text['iptables']
    assert 'floating-snat' not in after
    assert '1.2.3.4' not in after
    assert '-A nova-postrouting-bottom -j nova-network-snat' in after


def test_two_processes_share_top_chains_without_fighting(fake):
    compute = manager(fake, 'compute')
    network = manager(fake, 'network')
    compute.ipv4['filter'].add_chain('inst-1')
    compute.ipv4['filter'].add_rule('local', '-j $inst-1')
    compute.apply()
    network.ipv4['filter'].add_rule('FORWARD', '-i br100 -j ACCEPT')
    network.apply()
    settled = fake.text['iptables']
    compute.apply()
    network.apply()
    assert fake.text['iptables'] == settled
    rules = fake.rules('filter')
    assert rules.count('-A FORWARD -j nova-filter-top') == 1
    assert '-A nova-filter-top -j nova-compute-local' in rules
    assert '-A nova-filter-top -j nova-network-local' in rules
    assert '-A nova-compute-local -j nova-compute-inst-1' in rules
    # network's removal of its own rules leaves compute's alone.
    network.ipv4['filter'].remove_chain('local')
    network.apply()
    rules = fake.rules('filter')
    assert '-A nova-filter-top -j nova-network-local' not in rules
    assert '-A nova-compute-local -j nova-compute-inst-1' in rules


def test_remove_chain_removes_jumps_to_it(fake):
    mgr = manager(fake)
    table = mgr.ipv4['filter']
    table.add_chain('inst-3')
    table.add_rule('inst-3', '-j DROP')
    table.add_rule('local', '-d 10.0.0.3/32 -j $inst-3')
    table.add_rule('FORWARD', '-o br9 -j $inst-3', wrap=False)
    mgr.apply()
    table.remove_chain('inst-3')
    mgr.apply()
    text = fake.text['iptables']
    assert 'inst-3' not in text
    assert foreign_lines(text) == foreign_lines(DEFAULT_V4)


def test_remove_and_empty(fake):
    mgr = manager(fake)
    table = mgr.ipv4['filter']
    table.add_chain('sg')
    table.add_rule('sg', '-p icmp -j ACCEPT')
    table.add_rule('sg', '-p tcp --dport 22 -j ACCEPT', top=True)
    mgr.apply()
    rules = fake.rules('filter')
    assert rules.index('-A nova-network-sg -p tcp -m tcp --dport 22 -j '
                       'ACCEPT') < rules.index('-A nova-network-sg -p icmp '
                                               '-j ACCEPT')
    table.remove_rule('sg', '-p tcp --dport 22 -j ACCEPT', top=True)
    mgr.apply()
    assert table.rules_of('sg') == ['-p icmp -j ACCEPT']
    table.empty_chain('sg')
    mgr.apply()
    assert ':nova-network-sg - [0:0]' in fake.text['iptables']
    assert not [r for r in fake.rules('filter') if 'nova-network-sg ' in r]


def test_foreign_rule_inserted_above_ours_is_kept_and_ours_move_up(fake):
    mgr = manager(fake)
    mgr.apply()
    text = fake.text['iptables'].replace(
        '-A FORWARD -j nova-network-FORWARD',
        '-A FORWARD -i virbr0 -j ACCEPT\n-A FORWARD -j nova-network-FORWARD')
    fake.text['iptables'] = text
    mgr.apply()
    rules = [r for r in fake.rules('filter') if r.startswith('-A FORWARD')]
    assert rules.index('-A FORWARD -j nova-network-FORWARD') < \
        rules.index('-A FORWARD -i virbr0 -j ACCEPT')
    assert '-A FORWARD -i virbr0 -j ACCEPT' in rules


def test_bad_names_and_rules_are_refused(fake):
    table = manager(fake).ipv4['filter']
    with pytest.raises(ValueError):
        table.add_chain('x' * 40)
    with pytest.raises(ValueError):
        table.add_chain('bad name')
    with pytest.raises(ValueError):
        table.add_rule('missing', '-j ACCEPT')
    with pytest.raises(ValueError):
        table.add_rule('local', '-A FORWARD -j ACCEPT')


def test_ipv6_only_when_asked(fake):
    manager(fake).apply()
    assert not [c for c in fake.calls if c[0].startswith('ip6tables')]
    fake6 = FakeIptables(v6='*filter\n:INPUT ACCEPT [0:0]\n'
                            ':FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
                            'COMMIT\n')
    manager(fake6, use_ipv6=True).apply()
    assert '-A FORWARD -j nova-filter-top' in fake6.rules('filter',
                                                         'ip6tables')


def test_canonical_rule():
    assert iptables.canonical_rule('-d 1.2.3.4 -p tcp --dport 80 -j X') == \
        '-d 1.2.3.4/32 -p tcp -m tcp --dport 80 -j X'
    assert iptables.canonical_rule('-p tcp -m tcp --dport 80 -j X') == \
        '-p tcp -m tcp --dport 80 -j X'
    assert iptables.canonical_rule('-s fd00::1 -j X') == '-s fd00::1/128 -j X'


def test_filter_top_comes_before_each_process_chain(fake):
    manager(fake, 'compute').apply()
    manager(fake, 'network').apply()
    forward = [r for r in fake.rules('filter') if r.startswith('-A FORWARD')]
    assert forward[0] == '-A FORWARD -j nova-filter-top'
    assert set(forward[1:3]) == {'-A FORWARD -j nova-compute-FORWARD',
                                 '-A FORWARD -j nova-network-FORWARD'}
