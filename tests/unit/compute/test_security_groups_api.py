"""Security groups through nova.compute.api: validation with nothing
written, rule storage, deletion guards and refresh casts to the right
compute hosts."""

import pytest

from nova import context
from nova import exception
from nova import rpc
from nova.compute import api as compute_api
from nova.compute import security_groups
from nova.db import api as db
from tests.unit.compute.conftest import settle


@pytest.fixture
def api(fake_env):
    return compute_api.API()


@pytest.fixture
def other_ctx(fake_env):
    return context.RequestContext('bob', 'proj2', is_admin=False)


@pytest.fixture
def casts(fake_env, monkeypatch):
    """(topic, method, args) of every rpc.cast, in order."""
    seen = []

    def cast(ctxt, topic, msg):
        seen.append((topic, msg['method'], msg['args']))
    monkeypatch.setattr(rpc, 'cast', cast)
    return seen


def _all_rules():
    admin = context.get_admin_context()
    return [(r['parent_group_id'], r['protocol'], r['from_port'],
             r['to_port'], r['cidr'], r['group_id'])
            for g in db.security_group_get_all(admin) for r in g['rules']]


def _all_groups():
    return sorted((g['project_id'], g['name']) for g in
                  db.security_group_get_all(context.get_admin_context()))


def _instance(group_ids, host, project='proj1'):
    return db.instance_create(context.get_admin_context(), {
        'project_id': project, 'user_id': 'alice', 'host': host,
        'state_description': 'running', 'security_groups': group_ids})


def _tcp(port_from, port_to=None, cidr='0.0.0.0/0'):
    return {'protocol': 'tcp', 'from_port': port_from,
            'to_port': port_to if port_to is not None else port_from,
            'cidr': cidr}


# -- groups --------------------------------------------------------------------

def test_default_group_admits_its_own_members(api, user_ctx, casts):
    group = api.ensure_default_security_group(user_ctx)
    assert group['name'] == 'default' and group['project_id'] == 'proj1'
    rules = {(r['protocol'], r['from_port'], r['to_port'], r['cidr'],
              r['group']['id']) for r in group['rules']}
    gid = group['id']
    assert rules == {('tcp', 1, 65535, None, gid), ('udp', 1, 65535, None, gid),
                     ('icmp', -1, -1, None, gid)}
    again = api.ensure_default_security_group(user_ctx)
    assert again['id'] == gid
    assert _all_groups() == [('proj1', 'default')]


def test_create_and_list(api, user_ctx, other_ctx, admin_ctx, casts):
    made = api.create_security_group(user_ctx, 'web', 'web servers')
    assert made['name'] == 'web' and made['description'] == 'web servers'
    assert made['rules'] == [] and made['project_id'] == 'proj1'
    api.create_security_group(other_ctx, 'web', 'theirs')
    mine = api.get_security_groups(user_ctx)
    assert sorted(g['name'] for g in mine) == ['default', 'web']
    assert {g['project_id'] for g in mine} == {'proj1'}
    named = api.get_security_groups(user_ctx, names=['web'])
    assert [g['id'] for g in named] == [made['id']]
    with pytest.raises(exception.SecurityGroupNotFound):
        api.get_security_groups(user_ctx, names=['nope'])
    everything = api.get_security_groups(admin_ctx)
    assert {(g['project_id'], g['name']) for g in everything} >= {
        ('proj1', 'web'), ('proj2', 'web'), ('proj1', 'default')}


def test_duplicate_group_name(api, user_ctx, casts):
    api.create_security_group(user_ctx, 'web', 'x')
    with pytest.raises(exception.SecurityGroupExists) as info:
        api.create_security_group(user_ctx, 'web', 'y')
    assert info.value.ec2_code == 'InvalidGroup.Duplicate'
    assert isinstance(info.value, exception.Duplicate)
    assert _all_groups() == [('proj1', 'web')]


@pytest.mark.parametrize('name, description', [
    ('', 'x'), ('   ', 'x'), (None, 'x'), (7, 'x'), ('w' * 256, 'x'),
    ('caf\u00e9', 'x'), ('tab\there', 'x'), ('web', ''), ('web', None),
    ('web', 'd' * 256), ('web', 'new\nline'),
])
def test_bad_group_is_refused_with_nothing_written(api, user_ctx, casts,
                                                   name, description):
    with pytest.raises(exception.InvalidParameterValue):
        api.create_security_group(user_ctx, name, description)
    assert _all_groups() == []


def test_default_group_cannot_be_deleted(api, user_ctx, casts):
    group = api.ensure_default_security_group(user_ctx)
    with pytest.raises(exception.SecurityGroupReserved) as info:
        api.delete_security_group(user_ctx, 'default')
    assert info.value.ec2_code == 'InvalidGroup.Reserved'
    with pytest.raises(exception.SecurityGroupReserved):
        api.delete_security_group(user_ctx, group_id=group['id'])
    assert _all_groups() == [('proj1', 'default')]


def test_group_in_use_cannot_be_deleted(api, user_ctx, casts):
    group = api.create_security_group(user_ctx, 'web', 'x')
    instance = _instance([group['id']], 'h1')
    with pytest.raises(exception.SecurityGroupInUse) as info:
        api.delete_security_group(user_ctx, 'web')
    assert info.value.ec2_code == 'InvalidGroup.InUse'
    assert _all_groups() == [('proj1', 'web')]
    db.instance_destroy(context.get_admin_context(), instance['id'])
    api.delete_security_group(user_ctx, 'web')
    assert _all_groups() == []
    with pytest.raises(exception.SecurityGroupNotFound):
        api.delete_security_group(user_ctx, 'web')


def test_deleting_a_source_group_refreshes_who_admitted_it(api, user_ctx,
                                                           casts):
    web = api.create_security_group(user_ctx, 'web', 'x')
    dbs = api.create_security_group(user_ctx, 'db', 'x')
    api.authorize_security_group_ingress(
        user_ctx, 'db', [{'protocol': 'tcp', 'from_port': 5432,
                          'to_port': 5432, 'source_group_name': 'web'}])
    _instance([dbs['id']], 'h7')
    del casts[:]
    api.delete_security_group(user_ctx, 'web')
    assert _all_rules() == []
    assert casts == [('compute.h7', 'refresh_security_group_rules',
                      {'security_group_id': dbs['id']})]
    assert web['id'] not in [g['id'] for g in
                             api.get_security_groups(user_ctx)]


def test_other_projects_groups_are_invisible(api, user_ctx, other_ctx, casts):
    theirs = api.create_security_group(other_ctx, 'secret', 'x')
    with pytest.raises(exception.SecurityGroupNotFound):
        api.delete_security_group(user_ctx, group_id=theirs['id'])
    with pytest.raises(exception.SecurityGroupNotFound):
        api.authorize_security_group_ingress(user_ctx, 'secret', [_tcp(80)])
    assert _all_rules() == []


# -- rules ---------------------------------------------------------------------

def test_authorize_stores_every_kind_of_rule(api, user_ctx, other_ctx, casts):
    web = api.create_security_group(user_ctx, 'web', 'x')
    peer = api.create_security_group(other_ctx, 'peer', 'x')
    stored = api.authorize_security_group_ingress(user_ctx, 'web', [
        _tcp(80),
        {'protocol': 'UDP', 'from_port': '5000', 'to_port': 5010,
         'cidr': '10.1.2.3/16'},
        {'protocol': 'icmp', 'from_port': 8, 'to_port': 0,
         'cidr': '192.168.0.0/24'},
        {'protocol': 'icmp', 'from_port': 3, 'to_port': -1},
        {'protocol': 'tcp', 'from_port': 22, 'to_port': 22,
         'cidr': 'fd00::/64'},
        {'protocol': 'tcp', 'from_port': 443, 'to_port': 443,
         'source_group_name': 'peer', 'source_project_id': 'bob:proj2'},
    ])
    assert len(stored) == 6
    gid = web['id']
    assert sorted(_all_rules(), key=str) == sorted([
        (gid, 'tcp', 80, 80, '0.0.0.0/0', None),
        (gid, 'udp', 5000, 5010, '10.1.0.0/16', None),
        (gid, 'icmp', 8, 0, '192.168.0.0/24', None),
        (gid, 'icmp', 3, -1, '0.0.0.0/0', None),
        (gid, 'tcp', 22, 22, 'fd00::/64', None),
        (gid, 'tcp', 443, 443, None, peer['id']),
    ], key=str)
    listed = api.get_security_groups(user_ctx, names=['web'])[0]['rules']
    by_group = [r for r in listed if r['group']]
    assert by_group[0]['group'] == {'id': peer['id'], 'name': 'peer',
                                    'project_id': 'proj2'}


def test_source_group_without_protocol_admits_everything(api, user_ctx,
                                                         casts):
    web = api.create_security_group(user_ctx, 'web', 'x')
    api.create_security_group(user_ctx, 'app', 'x')
    api.authorize_security_group_ingress(user_ctx, 'web',
                                         {'source_group_name': 'app'})
    assert sorted((p, lo, hi) for _g, p, lo, hi, _c, _s in _all_rules()) == [
        ('icmp', -1, -1), ('tcp', 1, 65535), ('udp', 1, 65535)]
    assert all(g == web['id'] for g, *_rest in _all_rules())


BAD_RULES = [
    ('no protocol on a CIDR rule', {'from_port': 80, 'to_port': 80,
                                    'cidr': '0.0.0.0/0'}),
    ('unknown protocol', {'protocol': 'gre', 'from_port': 1, 'to_port': 1}),
    ('port 0', _tcp(0)),
    ('port too high', _tcp(80, 65536)),
    ('-1 for tcp', _tcp(-1, -1)),
    ('from > to', _tcp(90, 80)),
    ('port not a number', _tcp('http')),
    ('port missing', {'protocol': 'tcp', 'cidr': '0.0.0.0/0'}),
    ('port is a bool', _tcp(True)),
    ('icmp type too big', {'protocol': 'icmp', 'from_port': 256,
                           'to_port': -1}),
    ('icmp code without type', {'protocol': 'icmp', 'from_port': -1,
                                'to_port': 0}),
    ('bad CIDR', _tcp(80, cidr='10.0.0.300/8')),
    ('CIDR without prefix', _tcp(80, cidr='10.0.0.1')),
    ('CIDR not text', _tcp(80, cidr=10)),
    ('CIDR and group', dict(_tcp(80), source_group_name='web')),
    ('unknown field', dict(_tcp(80), ports='80')),
    ('not a mapping', 'tcp:80'),
]


@pytest.mark.parametrize('why, rule', BAD_RULES, ids=[b[0] for b in BAD_RULES])
def test_bad_rule_is_refused_with_nothing_written(api, user_ctx, casts,
                                                  why, rule):
    api.create_security_group(user_ctx, 'web', 'x')
    with pytest.raises(exception.InvalidParameterValue):
        # A good rule before the bad one: the whole request fails.
        api.authorize_security_group_ingress(user_ctx, 'web',
                                             [_tcp(22), rule])
    assert _all_rules() == []
    assert casts == []


def test_unknown_source_group(api, user_ctx, casts):
    api.create_security_group(user_ctx, 'web', 'x')
    with pytest.raises(exception.SecurityGroupNotFound):
        api.authorize_security_group_ingress(
            user_ctx, 'web', [_tcp(22), {'source_group_name': 'ghost'}])
    assert _all_rules() == []


def test_empty_rule_list(api, user_ctx, casts):
    api.create_security_group(user_ctx, 'web', 'x')
    with pytest.raises(exception.InvalidParameterValue):
        api.authorize_security_group_ingress(user_ctx, 'web', [])


def test_duplicate_rule(api, user_ctx, casts):
    api.create_security_group(user_ctx, 'web', 'x')
    api.authorize_security_group_ingress(user_ctx, 'web', [_tcp(80)])
    with pytest.raises(exception.SecurityGroupRuleExists) as info:
        api.authorize_security_group_ingress(user_ctx, 'web',
                                             [_tcp(443), _tcp(80)])
    assert info.value.ec2_code == 'InvalidPermission.Duplicate'
    # The same network spelt differently is the same rule.
    with pytest.raises(exception.SecurityGroupRuleExists):
        api.authorize_security_group_ingress(
            user_ctx, 'web', [_tcp(80, cidr='0.0.0.0/0')])
    with pytest.raises(exception.SecurityGroupRuleExists):
        api.authorize_security_group_ingress(user_ctx, 'web',
                                             [_tcp(8080), _tcp(8080)])
    assert [r[1:4] for r in _all_rules()] == [('tcp', 80, 80)]


def test_revoke(api, user_ctx, casts):
    api.create_security_group(user_ctx, 'web', 'x')
    api.authorize_security_group_ingress(user_ctx, 'web',
                                         [_tcp(80), _tcp(443)])
    with pytest.raises(exception.SecurityGroupRuleNotFound) as info:
        api.revoke_security_group_ingress(user_ctx, 'web',
                                          [_tcp(80), _tcp(8080)])
    assert info.value.ec2_code == 'InvalidPermission.NotFound'
    assert len(_all_rules()) == 2
    with pytest.raises(exception.InvalidParameterValue):
        api.revoke_security_group_ingress(user_ctx, 'web', [_tcp(0)])
    api.revoke_security_group_ingress(user_ctx, 'web',
                                      [_tcp(80, cidr='0.0.0.0/0')])
    assert [r[1:4] for r in _all_rules()] == [('tcp', 443, 443)]
    with pytest.raises(exception.SecurityGroupRuleNotFound):
        api.revoke_security_group_ingress(user_ctx, 'web', [_tcp(80)])


# -- refreshes -----------------------------------------------------------------

def test_rule_changes_reach_the_hosts_of_members_only(api, user_ctx, casts):
    web = api.create_security_group(user_ctx, 'web', 'x')
    other = api.create_security_group(user_ctx, 'other', 'x')
    _instance([web['id']], 'h1')
    _instance([web['id']], 'h2')
    _instance([web['id']], 'h2')
    _instance([web['id']], None)            # not placed yet
    _instance([other['id']], 'h3')
    api.authorize_security_group_ingress(user_ctx, 'web', [_tcp(80)])
    expected = [(topic, 'refresh_security_group_rules',
                 {'security_group_id': web['id']})
                for topic in ('compute.h1', 'compute.h2')]
    assert casts == expected
    del casts[:]
    api.revoke_security_group_ingress(user_ctx, 'web', [_tcp(80)])
    assert casts == expected


def test_member_changes_reach_hosts_that_admit_the_group(api, user_ctx,
                                                         casts):
    web = api.create_security_group(user_ctx, 'web', 'x')
    dbs = api.create_security_group(user_ctx, 'db', 'x')
    cache = api.create_security_group(user_ctx, 'cache', 'x')
    api.authorize_security_group_ingress(
        user_ctx, 'db', [{'protocol': 'tcp', 'from_port': 5432,
                          'to_port': 5432, 'source_group_name': 'web'}])
    _instance([web['id']], 'h1')
    _instance([dbs['id']], 'h5')
    _instance([dbs['id']], 'h6')
    _instance([cache['id']], 'h7')
    del casts[:]
    api.trigger_security_group_members_refresh(user_ctx, web['id'])
    assert casts == [(topic, 'refresh_security_group_members',
                      {'security_group_id': web['id']})
                     for topic in ('compute.h5', 'compute.h6')]
    del casts[:]
    api.trigger_security_group_members_refresh(user_ctx, cache['id'])
    assert casts == []


def test_parse_rules_takes_ec2_owner_forms(fake_env, user_ctx, other_ctx):
    theirs = db.security_group_create(other_ctx, {
        'name': 'peer', 'project_id': 'proj2', 'user_id': 'bob',
        'description': 'x'})
    for owner in ('proj2', 'bob:proj2'):
        parsed = security_groups.parse_rules(user_ctx, {
            'protocol': 'udp', 'from_port': 53, 'to_port': 53,
            'source_group_name': 'peer', 'source_project_id': owner})
        assert parsed == [{'group_id': theirs['id'], 'cidr': None,
                           'protocol': 'udp', 'from_port': 53,
                           'to_port': 53}]


# -- the compute manager's part ------------------------------------------------

def _boot(api, ctx, images, host, groups):
    admin = context.RequestContext(ctx.user_id, ctx.project_id,
                                   is_admin=True)
    made = api.create(admin, 'm1.tiny', images['ami'],
                      availability_zone='nova:%s' % host,
                      security_group=groups)[0]
    settle()
    return api.get(ctx, made['id'])


def _record(cloud, monkeypatch, method):
    seen = []
    for host, manager in cloud.computes.items():
        monkeypatch.setattr(
            manager.driver, method,
            lambda *args, _host=host: seen.append((_host,) + args))
    return seen


def test_build_and_terminate_refresh_hosts_admitting_the_group(
        api, cloud, user_ctx, images, monkeypatch):
    api.create_security_group(user_ctx, 'web', 'x')
    dbs = api.create_security_group(user_ctx, 'db', 'x')
    api.authorize_security_group_ingress(
        user_ctx, 'db', [{'protocol': 'tcp', 'from_port': 5432,
                          'to_port': 5432, 'source_group_name': 'web'}])
    server = _boot(api, user_ctx, images, 'h2', ['db'])
    assert server['state_description'] == 'running'
    seen = _record(cloud, monkeypatch, 'refresh_security_group_members')
    web_id = api.get_security_groups(user_ctx, names=['web'])[0]['id']

    client = _boot(api, user_ctx, images, 'h1', ['web'])
    assert client['fixed_ip']
    # Twice: the API's cast when the row is made (before the client has
    # an address, so not enough) and the compute host's once it has one.
    assert seen == [('h2', web_id), ('h2', web_id)]
    del seen[:]
    api.delete(user_ctx, client['id'])
    settle()
    assert seen == [('h2', web_id)]
    assert dbs['id'] != web_id


def test_compute_start_restores_filters_from_the_database(
        api, cloud, user_ctx, images, monkeypatch):
    inst = _boot(api, user_ctx, images, 'h1', ['default'])
    seen = _record(cloud, monkeypatch, 'ensure_filtering_rules_for_instance')
    cloud.computes['h1'].init_host()
    assert [(host, instance['id'], network_info)
            for host, instance, network_info in seen] == \
        [('h1', inst['id'], None)]
