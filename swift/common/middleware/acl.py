"""Container ACLs: ``X-Container-Read`` and ``X-Container-Write``.

An ACL is a comma-separated list of items:

- ``.r:<host>`` / ``.r:.<domain>`` / ``.r:*`` -- referrer rules (read ACL
  only), ``.r:-<host>`` denies; ``.ref``, ``.referer`` and ``.referrer`` are
  accepted spellings of ``.r``.  A referrer grants object reads; container
  listings additionally need ``.rlistings`` (read ACL only).
- ``<account>`` -- everyone holding a token for that account;
- ``<account>:<user>`` -- one user.
"""

from urllib.parse import unquote, urlparse

REFERRER_SPELLINGS = ('.r', '.ref', '.referer', '.referrer')


def clean_acl(name, value):
    """Validate and normalise one ACL header value; raise ValueError.

    ``name`` is the header name: referrer rules and ``.rlistings`` are only
    valid in a read ACL.  Returns the normalised value, e.g.
    ``' .r : *, bob '`` -> ``'.r:*,bob'``.
    """
    write = 'write' in name.lower()
    values = []
    for raw in value.split(','):
        item = raw.strip()
        if not item:
            continue
        if item.startswith('.'):
            values.append(_clean_special(item, write))
        else:
            values.append(item)
    return ','.join(values)


def _clean_special(item, write):
    if ':' not in item:
        if item == '.rlistings':
            if write:
                raise ValueError('.rlistings is only valid in a read ACL')
            return item
        raise ValueError('Unknown designator %r in ACL' % item)
    designator, rule = item.split(':', 1)
    designator = designator.strip()
    rule = rule.strip()
    if designator not in REFERRER_SPELLINGS:
        raise ValueError('Unknown designator %r in ACL' % designator)
    if write:
        raise ValueError('Referrers not allowed in write ACL: %r' % item)
    negate = rule.startswith('-')
    if negate:
        rule = rule[1:].strip()
    if rule.startswith('http://') or rule.startswith('https://'):
        # a full URL was given: the rule matches on its host name
        rule = urlparse(rule).hostname or ''
    if not rule or rule in ('.', '-'):
        raise ValueError('No host/domain value after referrer designation '
                         'in ACL: %r' % item)
    return '.r:%s%s' % ('-' if negate else '', rule)


def parse_acl(acl_string):
    """(referrer rules, groups) of a normalised ACL; both lists."""
    referrers = []
    groups = []
    if acl_string:
        for value in acl_string.split(','):
            value = value.strip()
            if not value:
                continue
            if value.startswith('.r:'):
                referrers.append(value[len('.r:'):])
            else:
                groups.append(unquote(value))
    return referrers, groups


def referrer_allowed(referrer, referrer_acl):
    """Whether the Referer header value passes the referrer rules.

    Rules apply in order; the last one that matches decides, so
    ``.r:*,.r:-bad.example.com`` allows all but bad.example.com.
    """
    allow = False
    if not referrer_acl:
        return False
    host = urlparse(referrer or '').hostname or 'unknown'
    for rule in referrer_acl:
        negate = rule.startswith('-')
        if negate:
            rule = rule[1:]
        matches = rule == '*' or rule == host or (
            rule.startswith('.') and host.endswith(rule))
        if matches:
            allow = not negate
    return allow
