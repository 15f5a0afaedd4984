"""Nova's iptables rules, kept in nova-named chains and written atomically.

Every nova process that filters or NATs (nova-network, nova-compute) owns
one ``IptablesManager``.  Its chains are *wrapped*: chain ``x`` of the
process ``nova-compute`` is ``nova-compute-x`` in the kernel, so two
processes on one host never touch each other's chains.  Each table gets one
wrapped chain per built-in chain (``nova-compute-FORWARD``...) jumped to from
the top of that built-in chain, plus shared unwrapped chains:

* filter: ``nova-filter-top``, jumped to from the top of FORWARD and OUTPUT;
  each process puts one rule ``-j nova-<binary>-local`` in it.  Per-instance
  chains (``nova-compute-inst-12``) hang off ``$local``.
* nat: ``nova-postrouting-bottom``, jumped to from the end of POSTROUTING;
  each process puts ``-j nova-<binary>-snat`` in it.

``apply()`` reads the live tables with ``iptables-save``, replaces exactly
what this process made (its wrapped chains, the rules jumping to them and
the rules it put in shared chains) and writes the tables back with one
``iptables-restore``.  Everything else -- rules and chains of the operator,
libvirt, docker, or another nova process -- is kept as it was, in place, so
repeated applies give byte-identical ``iptables-save`` output and nothing is
rewritten when nothing changed.

Rule text is iptables-save syntax without ``-A chain``, e.g.
``-s 10.0.0.0/8 -j $snat``; ``$name`` stands for this process's wrapped
chain ``name``.
"""

import fcntl
import os
import re
import sys
import threading

from nova import flags
from nova import log as logging
from nova import utils

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

flags.DEFINE_string('iptables_lock_file', '$state_path/nova-iptables.lock',
                    'file locked while nova processes of this host rewrite '
                    'the iptables tables')

# The kernel's limit on a chain name (XT_EXTENSION_MAXNAMELEN - 1).
MAX_CHAIN_NAME = 28

BUILTIN_CHAINS = {
    4: {'filter': ['INPUT', 'OUTPUT', 'FORWARD'],
        'nat': ['PREROUTING', 'OUTPUT', 'POSTROUTING']},
    6: {'filter': ['INPUT', 'OUTPUT', 'FORWARD']},
}

_JUMP_RE = re.compile(r'(?:^|\s)-[jg]\s+(\S+)')
_COUNTERS_RE = re.compile(r'\[\d+:\d+\]')

# One lock per process for green threads, the file lock for the other nova
# processes of the host.
_PROCESS_LOCK = threading.Lock()


def binary_name():
    """``compute`` for nova-compute: the part that wraps chain names."""
    name = os.path.basename(sys.argv[0] if sys.argv else '')
    if name.endswith('.py'):
        name = name[:-3]
    if name.startswith('nova-'):
        name = name[len('nova-'):]
    name = re.sub(r'[^A-Za-z0-9_]', '', name).strip('_') or 'nova'
    # Room for "nova-" + name + "-" + a chain name like POSTROUTING.
    return name[:10]


def canonical_rule(rule):
    """The rule as iptables-save prints it back, for the common forms.

    Addresses get their prefix length and ``-p tcp --dport`` its implicit
    ``-m tcp``, so a rule read back from the kernel compares equal to the
    one asked for and an unchanged table is not rewritten.  Write options
    in iptables-save's order (-s -d -i -o -p -m ... -j) for the same reason.
    """
    tokens = rule.split()
    out = []
    for index, token in enumerate(tokens):
        previous = out[-1] if out else None
        if previous in ('-s', '-d', '--source', '--destination') \
                and '/' not in token and token != '!':
            token += '/128' if ':' in token else '/32'
        out.append(token)
        if previous == '-p' and token in ('tcp', 'udp', 'icmp'):
            rest = tokens[index + 1:]
            needs = ('--dport', '--sport', '--icmp-type', '--tcp-flags',
                     '--syn')
            if any(t in needs for t in rest) and \
                    ['-m', token] != rest[:2]:
                out.extend(['-m', token])
    return ' '.join(out)


def jump_target(rule):
    match = _JUMP_RE.search(rule)
    return match.group(1) if match else None


class IptablesRule:
    """One rule of a chain, as this manager wants it written."""

    __slots__ = ('chain', 'rule', 'wrap', 'top')

    def __init__(self, chain, rule, wrap, top):
        self.chain = chain
        self.rule = rule
        self.wrap = wrap
        self.top = top

    def _key(self):
        return (self.chain, self.rule, self.wrap, self.top)

    def __eq__(self, other):
        return isinstance(other, IptablesRule) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return 'IptablesRule(%r, %r, wrap=%r, top=%r)' % self._key()


class IptablesTable:
    """What one process wants in one table (filter or nat)."""

    def __init__(self, wrap_prefix):
        self.wrap_prefix = wrap_prefix
        self.chains = []            # wrapped chain names (unprefixed), ordered
        self.unwrapped_chains = []  # shared chains this process ensures
        self.rules = []
        self.dirty = True

    def wrapped(self, name):
        return self.wrap_prefix + name

    def _check_name(self, name, wrap):
        full = self.wrapped(name) if wrap else name
        if not name or len(full) > MAX_CHAIN_NAME or not re.match(
                r'^[A-Za-z0-9_.-]+$', name):
            raise ValueError('bad iptables chain name %r (at most %d '
                             'characters of [A-Za-z0-9_.-] with its prefix)'
                             % (full, MAX_CHAIN_NAME))

    def add_chain(self, name, wrap=True):
        self._check_name(name, wrap)
        chains = self.chains if wrap else self.unwrapped_chains
        if name not in chains:
            chains.append(name)
            self.dirty = True

    def remove_chain(self, name, wrap=True):
        """Forget a chain, its rules and every rule of ours jumping to it."""
        chains = self.chains if wrap else self.unwrapped_chains
        if name not in chains:
            LOG.debug('no chain %s to remove', name)
            return
        chains.remove(name)
        full = self.wrapped(name) if wrap else name
        self.rules = [r for r in self.rules
                      if not (r.chain == name and r.wrap == wrap)
                      and self._target(r) != full]
        self.dirty = True

    def add_rule(self, chain, rule, wrap=True, top=False):
        chains = self.chains if wrap else self.unwrapped_chains
        if wrap and chain not in chains:
            raise ValueError('no chain %s to add a rule to' % chain)
        rule = canonical_rule(rule)
        if rule.startswith('-A ') or rule.startswith('-I '):
            raise ValueError('rule text must not name the chain: %r' % rule)
        new = IptablesRule(chain, rule, wrap, top)
        if new not in self.rules:
            self.rules.append(new)
            self.dirty = True

    def remove_rule(self, chain, rule, wrap=True, top=False):
        old = IptablesRule(chain, canonical_rule(rule), wrap, top)
        if old in self.rules:
            self.rules.remove(old)
            self.dirty = True
        else:
            LOG.debug('no rule %r in %s to remove', rule, chain)

    def empty_chain(self, name, wrap=True):
        before = len(self.rules)
        self.rules = [r for r in self.rules
                      if not (r.chain == name and r.wrap == wrap)]
        if len(self.rules) != before:
            self.dirty = True

    def has_chain(self, name, wrap=True):
        return name in (self.chains if wrap else self.unwrapped_chains)

    def rules_of(self, name, wrap=True):
        return [r.rule for r in self.rules
                if r.chain == name and r.wrap == wrap]

    # -- rendering -------------------------------------------------------------

    def chain_name(self, rule):
        return self.wrapped(rule.chain) if rule.wrap else rule.chain

    def rule_text(self, rule):
        """The rule with ``$name`` turned into this process's chain names."""
        def expand(match):
            return self.wrapped(match.group(1))
        return re.sub(r'\$([A-Za-z0-9_.-]+)', expand, rule.rule)

    def _target(self, rule):
        return jump_target(self.rule_text(rule))

    def is_own_chain(self, name):
        return name.startswith(self.wrap_prefix)

    def render(self, current_lines):
        """The table's new iptables-save lines (without ``*table``/COMMIT)
        from its current ones."""
        decls, rules_by_chain, order = _parse_table(current_lines)
        wanted_wrapped = [self.wrapped(c) for c in self.chains]

        # Chains: drop our stale wrapped chains, keep the rest in place,
        # declare missing ones at the end.
        new_decls = []
        declared = set()
        for name, line in decls:
            if self.is_own_chain(name) and name not in wanted_wrapped:
                continue
            new_decls.append((name, line))
            declared.add(name)
        for name in self.unwrapped_chains + wanted_wrapped:
            if name not in declared:
                new_decls.append((name, ':%s - [0:0]' % name))
                declared.add(name)

        ours = {}  # chain name -> (top rules, bottom rules) wanted
        for rule in self.rules:
            top, bottom = ours.setdefault(self.chain_name(rule), ([], []))
            (top if rule.top else bottom).append(self.rule_text(rule))
        our_texts = {(self.chain_name(r), self.rule_text(r))
                     for r in self.rules}

        def is_ours(chain, text):
            if (chain, text) in our_texts:
                return True
            target = jump_target(text)
            return bool(target and self.is_own_chain(target))

        lines = [line for _name, line in new_decls]
        for name, _line in new_decls:
            top, bottom = ours.get(name, ([], []))
            if self.is_own_chain(name):
                chain_rules = top + bottom
            else:
                chain_rules = _merge_shared(
                    name, rules_by_chain.get(name, []), top, bottom, is_ours)
            lines.extend('-A %s %s' % (name, text) for text in chain_rules)
        return lines


def _novaish(text):
    target = jump_target(text)
    return bool(target and target.startswith('nova-'))


def _merge_shared(chain, current, top, bottom, is_ours):
    """Rules of a chain others write too: theirs untouched and in place,
    ours at the top/bottom block of nova jumps, existing ones not moved."""
    def place(existing, wanted):
        # existing: the leading run of nova rules; wanted: our rules for it.
        block = []
        for text in existing:
            if is_ours(chain, text) and (text not in wanted or text in block):
                continue
            block.append(text)
        previous = None
        for text in wanted:
            if text not in block:
                index = block.index(previous) + 1 if previous else 0
                block.insert(index, text)
            previous = text
        return block

    head = 0
    while head < len(current) and (
            is_ours(chain, current[head]) or _novaish(current[head])):
        head += 1
    tail = len(current)
    while tail > head and (
            is_ours(chain, current[tail - 1]) or _novaish(current[tail - 1])):
        tail -= 1
    middle = [t for t in current[head:tail] if not is_ours(chain, t)]
    new_head = place(current[:head], top)
    new_head = [t for t in new_head if t not in bottom]
    new_tail = list(reversed(place(list(reversed(current[tail:])),
                                   list(reversed(bottom)))))
    new_tail = [t for t in new_tail if t not in top]
    return new_head + middle + new_tail


def _parse_table(lines):
    """(chain declarations in order, rules per chain, chain order)."""
    decls = []
    rules = {}
    for line in lines:
        if line.startswith(':'):
            name = line[1:].split()[0]
            decls.append((name, line))
        elif line.startswith('-A '):
            parts = line.split(None, 2)
            rules.setdefault(parts[1], []).append(
                parts[2] if len(parts) > 2 else '')
    return decls, rules, [name for name, _line in decls]


def split_tables(save_output):
    """{table: [lines between *table and COMMIT]} of iptables-save output."""
    tables = {}
    current = None
    for raw in save_output.splitlines():
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        if line.startswith('*'):
            current = line[1:]
            tables[current] = []
        elif line == 'COMMIT':
            current = None
        elif current is not None:
            tables[current].append(line)
    return tables


def normalize(save_output):
    """iptables-save output without comments and counters, for comparing."""
    out = []
    for line in save_output.splitlines():
        if line.startswith('#') or not line.strip():
            continue
        out.append(_COUNTERS_RE.sub('[0:0]', line.rstrip()))
    return '\n'.join(out) + '\n'


class IptablesManager:
    """The iptables state of one nova process; see the module docstring."""

    def __init__(self, execute=None, binary=None, use_ipv6=None):
        # utils.execute looked up at call time, so tests can replace it.
        self.execute = execute or (lambda *a, **k: utils.execute(*a, **k))
        self.binary = binary or binary_name()
        self.wrap_prefix = 'nova-%s-' % self.binary
        # None: follow the use_ipv6 flag at apply time (the module-level
        # manager exists before flagfiles are read).
        self.use_ipv6 = use_ipv6
        self.ipv4 = {'filter': IptablesTable(self.wrap_prefix),
                     'nat': IptablesTable(self.wrap_prefix)}
        self.ipv6 = {'filter': IptablesTable(self.wrap_prefix)}
        self._add_skeleton()

    def _add_skeleton(self):
        # FORWARD/OUTPUT: nova-filter-top first (the instances' chains hang
        # off it: a guest's security groups decide before any process's
        # general accept rules), then each process's wrapped built-in chain.
        for version, tables in ((4, self.ipv4), (6, self.ipv6)):
            filt = tables['filter']
            filt.add_chain('nova-filter-top', wrap=False)
            for builtin in ('FORWARD', 'OUTPUT'):
                filt.add_rule(builtin, '-j nova-filter-top', wrap=False,
                              top=True)
            filt.add_chain('local')
            filt.add_rule('nova-filter-top', '-j $local', wrap=False)
            for table_name, table in tables.items():
                for builtin in BUILTIN_CHAINS[version][table_name]:
                    table.add_chain(builtin)
                    table.add_rule(builtin, '-j $%s' % builtin, wrap=False,
                                   top=True)
        nat = self.ipv4['nat']
        nat.add_chain('nova-postrouting-bottom', wrap=False)
        nat.add_rule('POSTROUTING', '-j nova-postrouting-bottom', wrap=False)
        nat.add_chain('snat')
        nat.add_rule('nova-postrouting-bottom', '-j $snat', wrap=False)

    def _families(self):
        families = [('iptables', self.ipv4)]
        use_ipv6 = self.use_ipv6
        if use_ipv6 is None:
            use_ipv6 = bool(FLAGS.get('use_ipv6', False))
        if use_ipv6:
            families.append(('ip6tables', self.ipv6))
        return families

    def apply(self):
        """Write what changed; a no-op when the kernel already has it."""
        with _PROCESS_LOCK, _file_lock():
            for command, tables in self._families():
                self._apply_family(command, tables)
                for table in tables.values():
                    table.dirty = False

    def _apply_family(self, command, tables):
        current, _err = self.execute(['%s-save' % command], run_as_root=True)
        current_tables = split_tables(current)
        blocks = []
        changed = False
        for name in sorted(current_tables):
            lines = current_tables[name]
            if name in tables:
                new_lines = tables[name].render(lines)
                if _strip_counters(new_lines) != _strip_counters(lines):
                    changed = True
                    blocks.append('*%s\n%s\nCOMMIT\n'
                                  % (name, '\n'.join(new_lines)))
        for name in sorted(set(tables) - set(current_tables)):
            # A table the kernel has not shown yet (module not loaded).
            changed = True
            new_lines = tables[name].render(_builtin_decls(command, name))
            blocks.append('*%s\n%s\nCOMMIT\n' % (name, '\n'.join(new_lines)))
        if not changed:
            LOG.debug('%s already up to date', command)
            return
        self.execute(['%s-restore' % command], process_input=''.join(blocks),
                     run_as_root=True)
        LOG.debug('%s rules written', command)


def _builtin_decls(command, table):
    version = 6 if command.startswith('ip6') else 4
    return [':%s ACCEPT [0:0]' % c
            for c in BUILTIN_CHAINS[version].get(table, [])]


def _strip_counters(lines):
    return [_COUNTERS_RE.sub('', line) for line in lines]


class _file_lock:
    """An exclusive lock on ``iptables_lock_file`` (skipped if unset)."""

    def __enter__(self):
        self.fd = None
        path = FLAGS.get('iptables_lock_file')
        if not path:
            return self
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
        return False
