"""Security groups as the APIs see them: validate, write rows, cast refreshes.

``nova.compute.api.API`` exposes these as methods; the EC2 and OpenStack
controllers call those.  Everything a request names is checked before the
first row is written, so a rejected request leaves nothing behind.

A rule, as callers pass it, is a dict:

* ``protocol``: ``tcp``, ``udp`` or ``icmp`` (any case);
* ``from_port``/``to_port``: for tcp/udp a port range 1-65535 with
  from <= to; for icmp the ICMP type and code, -1 meaning any (a code
  needs a type);
* the source: ``cidr`` (IPv4 or IPv6 network; host bits are cleared, so
  ``10.1.2.3/8`` is stored as ``10.0.0.0/8``) or a source group,
  ``source_group_name`` with ``source_project_id`` (the group's owner,
  default the caller's project; EC2's ``user:project`` form is accepted).
  Neither given means ``0.0.0.0/0``.  A source-group rule without a
  protocol admits everything from the group: it is stored as tcp 1-65535,
  udp 1-65535 and icmp any, which is also what EC2 does.

Refreshes reach only the compute hosts concerned:
``refresh_security_group_rules`` goes to the hosts running a member of the
changed group, ``refresh_security_group_members`` to the hosts running a
member of a group whose rules name the group as source (their rules expand
the source group to its members' addresses).

Fixes of the original's bugs, on purpose: a group still used by instances,
and a project's ``default`` group, cannot be deleted (Bexar deleted both and
left the instances' firewalls pointing at nothing); a CIDR rule without a
protocol is refused instead of stored as a rule no driver understands;
revoking checks every rule before deleting any.
"""

import ipaddress
import string

from nova import exception
from nova import flags
from nova import log as logging
from nova import rpc
from nova.db import api as db

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

DEFAULT_GROUP = 'default'
PROTOCOLS = ('tcp', 'udp', 'icmp')
MAX_FIELD = 255
# EC2 allows these in group names and descriptions (printable ASCII); a
# control character or a non-ASCII letter has no business in a firewall
# label that ends up in logs and iptables comments.
_ALLOWED_CHARS = frozenset(string.printable) - frozenset('\t\n\r\x0b\x0c')

_RULE_KEYS = frozenset(('protocol', 'from_port', 'to_port', 'cidr',
                        'source_group_name', 'source_project_id'))


def _invalid(reason):
    return exception.InvalidParameterValue(reason=reason)


def _check_label(what, value, required=True):
    if value is None:
        value = ''
    if not isinstance(value, str):
        raise _invalid('%s must be text' % what)
    if required and not value.strip():
        raise _invalid('%s must not be empty' % what)
    if len(value) > MAX_FIELD:
        raise _invalid('%s is longer than %d characters' % (what, MAX_FIELD))
    bad = set(value) - _ALLOWED_CHARS
    if bad:
        raise _invalid('%s may hold printable ASCII characters only, not %s'
                       % (what, ', '.join(sorted(repr(c) for c in bad))))
    return value


# -- rules -------------------------------------------------------------------

def _port(what, value):
    if isinstance(value, bool) or value is None or value == '':
        raise _invalid('%s must be a whole number' % what)
    try:
        return int(str(value).strip())
    except ValueError:
        raise _invalid('%s must be a whole number, not %r' % (what, value)) \
            from None


def _check_ports(protocol, from_port, to_port):
    if protocol == 'icmp':
        icmp_type = _port('the ICMP type (from_port)', from_port)
        icmp_code = _port('the ICMP code (to_port)', to_port)
        for what, number in (('type', icmp_type), ('code', icmp_code)):
            if not -1 <= number <= 255:
                raise _invalid('ICMP %s %d is not -1 (any) or 0-255'
                               % (what, number))
        if icmp_type == -1 and icmp_code != -1:
            raise _invalid('an ICMP code needs an ICMP type')
        return icmp_type, icmp_code
    low = _port('from_port', from_port)
    high = _port('to_port', to_port)
    for what, number in (('from_port', low), ('to_port', high)):
        if not 1 <= number <= 65535:
            raise _invalid('%s %d is not a port (1-65535)' % (what, number))
    if low > high:
        raise _invalid('from_port %d is larger than to_port %d'
                       % (low, high))
    return low, high


def _check_cidr(cidr):
    if not isinstance(cidr, str) or not cidr.strip():
        raise _invalid('CIDR must be text like 10.0.0.0/8')
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise _invalid('%r is not a CIDR (like 10.0.0.0/8)' % cidr) from None
    if '/' not in cidr:
        raise _invalid('%r has no prefix length (like %s/32)' % (cidr, cidr))
    return str(network)


def _source_project(context, owner):
    """The project of a source group: EC2 says ``user:project`` or a
    project id."""
    if owner in (None, ''):
        return context.project_id
    if not isinstance(owner, str):
        raise _invalid('source_project_id must be text')
    return owner.rpartition(':')[2] or context.project_id


def parse_rules(context, rules):
    """Rule dicts -> [values for security_group_rule_create, without
    parent_group_id]; raises InvalidParameterValue (or
    SecurityGroupNotFound for a missing source group) before anything is
    written."""
    if isinstance(rules, dict):
        rules = [rules]
    if not isinstance(rules, (list, tuple)) or not rules:
        raise _invalid('give at least one rule')
    parsed = []
    for rule in rules:
        if not isinstance(rule, dict):
            raise _invalid('a rule is a mapping, not %r' % (rule,))
        unknown = sorted(set(rule) - _RULE_KEYS)
        if unknown:
            raise _invalid('unknown rule field(s): %s' % ', '.join(unknown))
        parsed.extend(_parse_rule(context, rule))
    return parsed


def _parse_rule(context, rule):
    cidr = rule.get('cidr')
    group_name = rule.get('source_group_name')
    if cidr not in (None, '') and group_name not in (None, ''):
        raise _invalid('a rule has a CIDR or a source group, not both')
    source = {}
    if group_name not in (None, ''):
        group_name = _check_label('source_group_name', group_name)
        project = _source_project(context, rule.get('source_project_id'))
        group = db.security_group_get_by_name(context.elevated(), project,
                                              group_name)
        source = {'group_id': group['id'], 'cidr': None}
    else:
        source = {'group_id': None,
                  'cidr': _check_cidr(cidr if cidr not in (None, '')
                                      else '0.0.0.0/0')}

    protocol = rule.get('protocol')
    if protocol in (None, '') and source['group_id'] is not None and \
            rule.get('from_port') in (None, '') and \
            rule.get('to_port') in (None, ''):
        return [dict(source, protocol='tcp', from_port=1, to_port=65535),
                dict(source, protocol='udp', from_port=1, to_port=65535),
                dict(source, protocol='icmp', from_port=-1, to_port=-1)]
    if not isinstance(protocol, str) or protocol.lower() not in PROTOCOLS:
        raise _invalid('protocol must be one of %s, not %r'
                       % (', '.join(PROTOCOLS), protocol))
    protocol = protocol.lower()
    low, high = _check_ports(protocol, rule.get('from_port'),
                             rule.get('to_port'))
    return [dict(source, protocol=protocol, from_port=low, to_port=high)]


def _rule_key(values):
    return (values['protocol'], values['from_port'], values['to_port'],
            values['cidr'], values['group_id'])


def _existing_rules(context, group_id):
    return {_rule_key(r): r for r in
            db.security_group_rule_get_by_security_group(context, group_id)}


def rule_dict(rule):
    """A stored rule as the APIs render it."""
    source = None
    if rule['group_id'] is not None:
        grantee = rule['grantee_group']
        source = {'id': rule['group_id'],
                  'name': grantee['name'] if grantee else None,
                  'project_id': grantee['project_id'] if grantee else None}
    return {'id': rule['id'], 'parent_group_id': rule['parent_group_id'],
            'protocol': rule['protocol'], 'from_port': rule['from_port'],
            'to_port': rule['to_port'], 'cidr': rule['cidr'],
            'group': source}


def group_dict(group):
    """A group row as the APIs render it (with its rules)."""
    return {'id': group['id'], 'name': group['name'],
            'description': group['description'],
            'user_id': group['user_id'], 'project_id': group['project_id'],
            'rules': [rule_dict(r) for r in group['rules']]}


# -- groups ------------------------------------------------------------------

def ensure_default(context):
    """The project's ``default`` group, made if missing.

    It admits all traffic from its own members and nothing else (besides
    DHCP and, with allow_project_net_traffic, the project's network, which
    the firewall drivers admit for every guest).  That is AWS's default
    group; Bexar made it empty.
    """
    try:
        return db.security_group_get_by_name(context, context.project_id,
                                             DEFAULT_GROUP)
    except exception.SecurityGroupNotFound:
        pass
    try:
        group = db.security_group_create(context, {
            'name': DEFAULT_GROUP, 'description': DEFAULT_GROUP,
            'user_id': context.user_id, 'project_id': context.project_id})
    except exception.Duplicate:
        # A concurrent request made it in the meantime.
        return db.security_group_get_by_name(context, context.project_id,
                                             DEFAULT_GROUP)
    try:
        for values in admit_members(group['id']):
            db.security_group_rule_create(context, values)
    except Exception:
        db.security_group_destroy(context, group['id'])
        raise
    return db.security_group_get(context, group['id'])


def admit_members(group_id):
    """Rules admitting all traffic from the group's own members."""
    return [dict(parent_group_id=group_id, group_id=group_id, cidr=None,
                 protocol=protocol, from_port=low, to_port=high)
            for protocol, low, high in (('tcp', 1, 65535),
                                        ('udp', 1, 65535),
                                        ('icmp', -1, -1))]


def create(context, name, description):
    name = _check_label('group name', name)
    description = _check_label('group description', description)
    if db.security_group_exists(context, context.project_id, name):
        raise exception.SecurityGroupExists(name=name,
                                            project_id=context.project_id)
    try:
        group = db.security_group_create(context, {
            'name': name, 'description': description,
            'user_id': context.user_id, 'project_id': context.project_id})
    except exception.Duplicate:
        raise exception.SecurityGroupExists(
            name=name, project_id=context.project_id) from None
    LOG.info('created security group %s (%s)', name, group['id'],
             context=context)
    return group_dict(group)


def lookup(context, name=None, group_id=None):
    """A group of the caller's project by name, or any visible by id."""
    if group_id not in (None, ''):
        try:
            group_id = int(group_id)
        except (TypeError, ValueError):
            raise _invalid('group id %r is not a number' % (group_id,)) \
                from None
        return db.security_group_get(context, group_id)
    if name in (None, ''):
        raise exception.MissingParameter(name='group name or id')
    name = _check_label('group name', name)
    return db.security_group_get_by_name(context, context.project_id, name)


def delete(context, name=None, group_id=None):
    group = lookup(context, name, group_id)
    if group['name'] == DEFAULT_GROUP:
        raise exception.SecurityGroupReserved(name=group['name'])
    if group['instances']:
        raise exception.SecurityGroupInUse(
            name=group['name'], count=len(group['instances']))
    admin = context.elevated()
    # Rules of other groups naming this one as source go with it: their
    # members' firewalls must drop the expanded addresses.
    referencing = {r['parent_group_id'] for r in
                   db.security_group_rule_get_by_security_group_grantee(
                       admin, group['id'])
                   if r['parent_group_id'] != group['id']}
    db.security_group_destroy(context, group['id'])
    LOG.info('deleted security group %s (%s)', group['name'], group['id'],
             context=context)
    for parent_id in sorted(referencing):
        trigger_rules_refresh(admin, parent_id)


def get_all(context, names=None):
    """Groups (dicts) the caller asked for; the project's ``default`` is
    made first.  Without names: the caller's project, every project for
    admins."""
    ensure_default(context)
    if names:
        if isinstance(names, str):
            names = [names]
        return [group_dict(lookup(context, name=n))
                for n in dict.fromkeys(names)]
    if context.is_admin:
        groups = db.security_group_get_all(context)
    else:
        groups = db.security_group_get_by_project(context,
                                                  context.project_id)
    return [group_dict(g) for g in groups]


# -- rules of a group --------------------------------------------------------

def authorize_ingress(context, group_name, rules, group_id=None):
    """Add rules to a group; returns the stored rules (dicts).

    Every rule is checked, and none may exist already
    (SecurityGroupRuleExists), before the first is written; a failure
    while writing removes what was written.
    """
    group = lookup(context, group_name, group_id)
    wanted = parse_rules(context, rules)
    existing = _existing_rules(context, group['id'])
    seen = set()
    for values in wanted:
        key = _rule_key(values)
        if key in existing or key in seen:
            raise exception.SecurityGroupRuleExists(
                rule=_describe(values), name=group['name'])
        seen.add(key)
    made = []
    try:
        for values in wanted:
            made.append(db.security_group_rule_create(
                context, dict(values, parent_group_id=group['id'])))
    except Exception:
        for row in made:
            try:
                db.security_group_rule_destroy(context, row['id'])
            except Exception:  # noqa: BLE001 - report the first error
                LOG.exception('could not undo rule %s', row['id'])
        raise
    trigger_rules_refresh(context.elevated(), group['id'])
    return [rule_dict(r) for r in db.security_group_rule_get_by_security_group(
        context, group['id']) if r['id'] in {m['id'] for m in made}]


def revoke_ingress(context, group_name, rules, group_id=None):
    """Remove rules from a group: all of them exist or nothing is removed
    (SecurityGroupRuleNotFound)."""
    group = lookup(context, group_name, group_id)
    wanted = parse_rules(context, rules)
    existing = _existing_rules(context, group['id'])
    doomed = {}
    for values in wanted:
        row = existing.get(_rule_key(values))
        if row is None:
            raise exception.SecurityGroupRuleNotFound(
                'No rule %s in security group %s.'
                % (_describe(values), group['name']),
                rule_id=_describe(values))
        doomed[row['id']] = row
    for rule_id in doomed:
        db.security_group_rule_destroy(context, rule_id)
    trigger_rules_refresh(context.elevated(), group['id'])


def _describe(values):
    source = values['cidr'] if values['group_id'] is None \
        else 'group %s' % values['group_id']
    return '%s %s:%s from %s' % (values['protocol'], values['from_port'],
                                 values['to_port'], source)


# -- refreshes ---------------------------------------------------------------

def _member_hosts(admin_context, group_ids):
    hosts = set()
    for group_id in set(group_ids):
        try:
            group = db.security_group_get(admin_context, group_id)
        except exception.SecurityGroupNotFound:
            continue
        hosts.update(i['host'] for i in group['instances'] if i['host'])
    return sorted(hosts)


def _cast(context, hosts, method, group_id):
    for host in hosts:
        rpc.cast(context, '%s.%s' % (FLAGS.compute_topic, host),
                 {'method': method,
                  'args': {'security_group_id': group_id}})


def trigger_rules_refresh(context, group_id):
    """The group's rules changed: tell the hosts running its members."""
    admin = context.elevated()
    _cast(admin, _member_hosts(admin, [group_id]),
          'refresh_security_group_rules', group_id)


def trigger_members_refresh(context, group_ids):
    """The members (or their addresses) of these groups changed: tell the
    hosts whose instances admit traffic from them by source-group rules."""
    admin = context.elevated()
    if isinstance(group_ids, int):
        group_ids = [group_ids]
    for group_id in sorted(set(group_ids)):
        parents = {r['parent_group_id'] for r in
                   db.security_group_rule_get_by_security_group_grantee(
                       admin, group_id)}
        _cast(admin, _member_hosts(admin, parents),
              'refresh_security_group_members', group_id)
