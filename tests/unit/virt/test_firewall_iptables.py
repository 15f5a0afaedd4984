"""IptablesFirewallDriver: rule computation for every rule kind, source
groups expanded to member addresses, refreshes, removal and restore, on an
in-memory iptables (tests/unit/network/fake_iptables.py) and SQLite."""

import pytest

from nova import context
from nova import flags
from nova.compute import security_groups
from nova.db import api as db
from nova.network import iptables
from nova.virt.libvirt import connection as libvirt_conn
from nova.virt.libvirt import firewall
from tests.unit.db.conftest import _template_db, sqlite_db  # noqa: F401
from tests.unit.network.fake_iptables import FakeIptables

FLAGS = flags.FLAGS


# -- pure rule text ------------------------------------------------------------

@pytest.mark.parametrize('rule, sources, expected', [
    (('tcp', 80, 80), ['0.0.0.0/0'], ['-p tcp -m tcp --dport 80 -j ACCEPT']),
    (('tcp', 8000, 8080), ['10.0.0.0/8'],
     ['-s 10.0.0.0/8 -p tcp -m tcp --dport 8000:8080 -j ACCEPT']),
    (('udp', 53, 53), ['192.168.1.7', '192.168.1.9/32'],
     ['-s 192.168.1.7/32 -p udp -m udp --dport 53 -j ACCEPT',
      '-s 192.168.1.9/32 -p udp -m udp --dport 53 -j ACCEPT']),
    (('icmp', -1, -1), ['0.0.0.0/0'], ['-p icmp -j ACCEPT']),
    (('icmp', 8, -1), ['0.0.0.0/0'],
     ['-p icmp -m icmp --icmp-type 8 -j ACCEPT']),
    (('icmp', 3, 4), ['172.16.0.0/12'],
     ['-s 172.16.0.0/12 -p icmp -m icmp --icmp-type 3/4 -j ACCEPT']),
    (('tcp', 22, 22), ['fd00::/64'], []),          # other family: skipped
    (('gre', 1, 1), ['0.0.0.0/0'], []),             # unknown: admits nothing
    (('tcp', 22, 22), [], []),                      # empty source group
])
def test_rule_texts_v4(rule, sources, expected):
    assert firewall.rule_texts(*rule, sources) == expected


def test_rule_texts_v6():
    assert firewall.rule_texts('tcp', 22, 22, ['fd00::/64', '10.0.0.0/8'],
                               version=6) == [
        '-s fd00::/64 -p tcp -m tcp --dport 22 -j ACCEPT']
    assert firewall.rule_texts('icmp', 128, -1, ['::/0'], version=6) == [
        '-p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT']


def test_rule_texts_are_what_iptables_save_prints():
    """The manager compares canonical text to decide whether to write."""
    for text in firewall.rule_texts('tcp', 1, 65535, ['10.0.0.5']) + \
            firewall.rule_texts('icmp', 0, 0, ['0.0.0.0/0']):
        assert iptables.canonical_rule(text) == text


def test_ingress_rules_order():
    vif = {'ip': '10.0.0.3', 'dhcp_server': '10.0.0.1',
           'cidr': '10.0.0.0/24'}
    rules = firewall.ingress_rules(vif, [('tcp', 80, 80, ['0.0.0.0/0'])])
    assert rules == [
        '-m state --state INVALID -j DROP',
        '-m state --state RELATED,ESTABLISHED -j ACCEPT',
        '-s 10.0.0.1/32 -p udp -m udp --sport 67 --dport 68 -j ACCEPT',
        '-s 10.0.0.0/24 -j ACCEPT',
        '-p tcp -m tcp --dport 80 -j ACCEPT',
        '-j DROP']
    FLAGS.allow_project_net_traffic = False
    assert '-s 10.0.0.0/24 -j ACCEPT' not in firewall.ingress_rules(vif, [])


def test_source_rules():
    assert firewall.source_rules([{'ip': '10.0.0.3',
                                   'mac': '02:16:3E:00:00:0A'}]) == [
        '-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 '
        '--dport 67 -j RETURN',
        '-p udp -m udp --sport 67 --dport 68 -j DROP',
        '-s 10.0.0.3/32 -j RETURN',
        '-j DROP']


# -- the driver on a database and a fake iptables ------------------------------

class Env:
    """A /24 network, groups and instances of project p1 on host h1."""

    def __init__(self):
        self.ctx = context.get_admin_context()
        self.user = context.RequestContext('alice', 'p1', is_admin=False)
        self.network = db.network_create(self.ctx, {
            'cidr': '10.9.0.0/24', 'gateway': '10.9.0.1',
            'netmask': '255.255.255.0', 'broadcast': '10.9.0.255',
            'bridge': 'br9', 'label': 'private'})
        self.kernel = FakeIptables()
        self.next_ip = 10

    def manager(self):
        return iptables.IptablesManager(execute=self.kernel,
                                        binary='compute', use_ipv6=False)

    def driver(self):
        return firewall.IptablesFirewallDriver(iptables=self.manager(),
                                               host='h1')

    def group(self, name):
        return security_groups.create(self.user, name, name)

    def instance(self, groups, host='h1', state='running'):
        row = db.instance_create(self.ctx, {
            'project_id': 'p1', 'user_id': 'alice', 'host': host,
            'state_description': state,
            'mac_address': '02:16:3e:00:00:%02x' % self.next_ip,
            'security_groups': [g['id'] for g in groups]})
        ip = '10.9.0.%d' % self.next_ip
        self.next_ip += 1
        db.fixed_ip_create(self.ctx, {'address': ip, 'allocated': True,
                                      'network_id': self.network['id'],
                                      'instance_id': row['id']})
        return {'id': row['id'], 'uuid': row['uuid'], 'name': row['name'],
                'mac_address': row['mac_address'], 'ip': ip}

    def network_info(self, instance):
        return [{'bridge': 'br9', 'ip': instance['ip'],
                 'netmask': '255.255.255.0', 'gateway': '10.9.0.1',
                 'broadcast': '10.9.0.255', 'cidr': '10.9.0.0/24',
                 'dns': [], 'mac': instance['mac_address'],
                 'dhcp_server': '10.9.0.1', 'injected': False,
                 'vlan': None, 'label': 'private'}]

    def chain(self, name):
        prefix = '-A %s ' % name
        return [r[len(prefix):] for r in self.kernel.rules('filter')
                if r.startswith(prefix)]

    def rules_mentioning(self, text):
        return [r for r in self.kernel.rules('filter') if text in r]


@pytest.fixture
def env(sqlite_db):  # noqa: F811
    FLAGS.iptables_lock_file = ''
    return Env()


def test_instance_chains(env):
    web = env.group('web')
    security_groups.authorize_ingress(env.user, 'web', [
        {'protocol': 'tcp', 'from_port': 80, 'to_port': 80},
        {'protocol': 'udp', 'from_port': 5000, 'to_port': 5100,
         'cidr': '192.168.0.0/16'},
        {'protocol': 'icmp', 'from_port': 8, 'to_port': 0}])
    inst = env.instance([web])
    drv = env.driver()
    drv.prepare_instance_filter(inst, env.network_info(inst))
    n = inst['id']
    tap = libvirt_conn.tap_name(inst, 0)
    assert env.chain('nova-compute-inst-%d' % n) == [
        '-m state --state INVALID -j DROP',
        '-m state --state RELATED,ESTABLISHED -j ACCEPT',
        '-s 10.9.0.1/32 -p udp -m udp --sport 67 --dport 68 -j ACCEPT',
        '-s 10.9.0.0/24 -j ACCEPT',
        '-p tcp -m tcp --dport 80 -j ACCEPT',
        '-s 192.168.0.0/16 -p udp -m udp --dport 5000:5100 -j ACCEPT',
        '-p icmp -m icmp --icmp-type 8/0 -j ACCEPT',
        '-j DROP']
    assert env.chain('nova-compute-src-%d' % n)[2:] == [
        '-s %s/32 -j RETURN' % inst['ip'], '-j DROP']
    assert env.chain('nova-compute-local') == [
        '-m physdev --physdev-in %s -j nova-compute-src-%d' % (tap, n),
        '-d %s/32 -j nova-compute-inst-%d' % (inst['ip'], n)]
    assert env.chain('nova-compute-INPUT') == [
        '-m physdev --physdev-in %s -j nova-compute-src-%d' % (tap, n)]
    # FORWARD and OUTPUT reach "local" through nova-filter-top, first.
    assert env.chain('FORWARD')[0] == '-j nova-filter-top'
    assert env.chain('OUTPUT')[0] == '-j nova-filter-top'
    assert '-j nova-compute-local' in env.chain('nova-filter-top')


def test_default_group_admits_members_only(env):
    default = security_groups.ensure_default(env.user)
    a = env.instance([default])
    b = env.instance([default])
    other = env.group('other')
    env.instance([other])                       # not a member of default
    drv = env.driver()
    drv.prepare_instance_filter(a, env.network_info(a))
    chain = env.chain('nova-compute-inst-%d' % a['id'])
    members = sorted([a['ip'], b['ip']])
    assert chain[4:-1] == [
        '-s %s/32 -p tcp -m tcp --dport 1:65535 -j ACCEPT' % members[0],
        '-s %s/32 -p tcp -m tcp --dport 1:65535 -j ACCEPT' % members[1],
        '-s %s/32 -p udp -m udp --dport 1:65535 -j ACCEPT' % members[0],
        '-s %s/32 -p udp -m udp --dport 1:65535 -j ACCEPT' % members[1],
        '-s %s/32 -p icmp -j ACCEPT' % members[0],
        '-s %s/32 -p icmp -j ACCEPT' % members[1]]


def test_source_group_members_are_recomputed_on_refresh(env):
    web = env.group('web')
    dbs = env.group('db')
    security_groups.authorize_ingress(env.user, 'db', [
        {'protocol': 'tcp', 'from_port': 5432, 'to_port': 5432,
         'source_group_name': 'web'}])
    server = env.instance([dbs])
    first = env.instance([web])
    drv = env.driver()
    drv.prepare_instance_filter(server, env.network_info(server))
    chain = 'nova-compute-inst-%d' % server['id']
    rule = '-s %s/32 -p tcp -m tcp --dport 5432 -j ACCEPT'
    assert rule % first['ip'] in env.chain(chain)

    second = env.instance([web])
    assert rule % second['ip'] not in env.chain(chain)
    drv.refresh_security_group_members(web['id'])
    assert rule % first['ip'] in env.chain(chain)
    assert rule % second['ip'] in env.chain(chain)

    db.instance_destroy(env.ctx, first['id'])
    drv.refresh_security_group_members(web['id'])
    assert rule % first['ip'] not in env.chain(chain)
    assert rule % second['ip'] in env.chain(chain)


def test_rules_refresh_adds_and_removes(env):
    web = env.group('web')
    inst = env.instance([web])
    drv = env.driver()
    drv.prepare_instance_filter(inst, env.network_info(inst))
    chain = 'nova-compute-inst-%d' % inst['id']
    http = '-p tcp -m tcp --dport 80 -j ACCEPT'
    assert http not in env.chain(chain)
    security_groups.authorize_ingress(env.user, 'web', [
        {'protocol': 'tcp', 'from_port': 80, 'to_port': 80}])
    drv.refresh_security_group_rules(web['id'])
    assert http in env.chain(chain)
    assert env.chain(chain)[-1] == '-j DROP'
    restores = len(env.kernel.restores)
    drv.refresh_security_group_rules(web['id'])
    assert len(env.kernel.restores) == restores     # nothing changed
    security_groups.revoke_ingress(env.user, 'web', [
        {'protocol': 'tcp', 'from_port': 80, 'to_port': 80}])
    drv.refresh_security_group_rules(web['id'])
    assert http not in env.chain(chain)


def test_unfilter_removes_everything_and_keeps_foreign_rules(env):
    before = env.kernel.rules('filter')
    web = env.group('web')
    a = env.instance([web])
    b = env.instance([web])
    drv = env.driver()
    drv.prepare_instance_filter(a, env.network_info(a))
    drv.prepare_instance_filter(b, env.network_info(b))
    drv.unfilter_instance(a, env.network_info(a))
    assert env.rules_mentioning('inst-%d' % a['id']) == []
    assert env.rules_mentioning('src-%d' % a['id']) == []
    assert not [c for c in env.kernel.chains('filter')
                if c.endswith('-%d' % a['id'])]
    assert env.rules_mentioning('inst-%d' % b['id'])
    drv.unfilter_instance(b, None)
    assert env.rules_mentioning('nova-compute-inst') == []
    assert env.rules_mentioning('nova-compute-src') == []
    # The operator's rules are where they were, unchanged.
    assert [r for r in env.kernel.rules('filter') if 'nova' not in r] == \
        before


def test_addresses_come_from_the_database_without_network_info(env):
    web = env.group('web')
    inst = env.instance([web])
    drv = env.driver()
    drv.prepare_instance_filter(inst, None)
    assert env.chain('nova-compute-local')[-1] == \
        '-d %s/32 -j nova-compute-inst-%d' % (inst['ip'], inst['id'])
    assert '-s 10.9.0.1/32 -p udp -m udp --sport 67 --dport 68 -j ACCEPT' \
        in env.chain('nova-compute-inst-%d' % inst['id'])


def test_restart_rebuilds_identical_rules_without_a_gap(env):
    web = env.group('web')
    security_groups.authorize_ingress(env.user, 'web', [
        {'protocol': 'tcp', 'from_port': 22, 'to_port': 22}])
    a = env.instance([web])
    b = env.instance([web])
    env.instance([web], host='h2')               # another host's
    env.instance([web], state='error')           # no guest
    drv = env.driver()
    drv.prepare_instance_filter(a, env.network_info(a))
    drv.prepare_instance_filter(b, env.network_info(b))
    text = iptables.normalize(env.kernel.text['iptables'])
    restores = len(env.kernel.restores)

    # A new process: new manager and driver.  Its first act restores
    # both guests from the database before writing anything, so b keeps
    # its rules while a is being restored.
    again = env.driver()
    again.prepare_instance_filter(a, None)
    assert len(env.kernel.restores) == restores
    assert iptables.normalize(env.kernel.text['iptables']) == text
    assert sorted(again.instances) == sorted([a['id'], b['id']])


def test_restart_then_refresh_keeps_every_guest(env):
    web = env.group('web')
    a = env.instance([web])
    drv = env.driver()
    drv.prepare_instance_filter(a, env.network_info(a))
    again = env.driver()
    again.refresh_security_group_rules(web['id'])
    assert env.rules_mentioning('-j nova-compute-inst-%d' % a['id'])


def test_instance_filter_names_no_nwfilter(env):
    assert env.driver().instance_filter({'id': 1}, {}) == (None, {})


def test_ipv6_ingress_rules(env):
    web = env.group('web')
    security_groups.authorize_ingress(env.user, 'web', [
        {'protocol': 'tcp', 'from_port': 22, 'to_port': 22,
         'cidr': 'fd00:1::/64'},
        {'protocol': 'tcp', 'from_port': 80, 'to_port': 80,
         'cidr': '10.0.0.0/8'}])
    inst = env.instance([web])
    manager = iptables.IptablesManager(execute=env.kernel, binary='compute',
                                       use_ipv6=True)
    drv = firewall.IptablesFirewallDriver(iptables=manager, host='h1')
    info = env.network_info(inst)
    info[0].update(ip6='fd00:9::10', cidr_v6='fd00:9::/64')
    drv.prepare_instance_filter(inst, info)
    chain = '-A nova-compute-inst-%d ' % inst['id']
    v6 = [r[len(chain):] for r in env.kernel.rules('filter', 'ip6tables')
          if r.startswith(chain)]
    assert v6 == [
        '-m state --state INVALID -j DROP',
        '-m state --state RELATED,ESTABLISHED -j ACCEPT',
        '-p ipv6-icmp -m icmp6 --icmpv6-type 134 -j ACCEPT',
        '-p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT',
        '-p ipv6-icmp -m icmp6 --icmpv6-type 136 -j ACCEPT',
        '-s fd00:9::/64 -j ACCEPT',
        '-s fd00:1::/64 -p tcp -m tcp --dport 22 -j ACCEPT',
        '-j DROP']
    assert '-A nova-compute-local -d fd00:9::10/128 -j nova-compute-inst-%d' \
        % inst['id'] in env.kernel.rules('filter', 'ip6tables')
    assert '-s fd00:1::/64 -p tcp -m tcp --dport 22 -j ACCEPT' not in \
        env.chain('nova-compute-inst-%d' % inst['id'])
    drv.unfilter_instance(inst, info)
    assert not [r for r in env.kernel.rules('filter', 'ip6tables')
                if 'inst-' in r]
