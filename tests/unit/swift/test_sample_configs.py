"""etc/swift/*.conf name what the code reads, and only that.

Two directions:

- every option a sample config names (set, or commented out with its
  default) is read somewhere in swift/ -- a typo or a removed option fails;
- every option a server, middleware or daemon reads while it starts (seen
  through a recording conf dict) is named in its sample section or in
  [DEFAULT] -- a new option without documentation fails.
"""

import configparser
import os
import re

import pytest

from swift.common import utils

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
ETC = os.path.join(ROOT, 'etc', 'swift')
SAMPLES = ('account-server.conf', 'container-server.conf',
           'object-server.conf', 'proxy-server.conf', 'swift.conf')
#: paste.deploy's own keys
PASTE_KEYS = {'pipeline', 'paste.app_factory', 'paste.filter_factory', 'use'}
#: families of options whose names the code builds: prefix -> the part of
#: the code that reads them
DYNAMIC_PREFIXES = {'user_': 'tempauth users',
                    'container_ratelimit_': 'ratelimit sizes',
                    'access_': 'proxy_logging access_<log option>'}
#: read by run_wsgi / _serve / Daemon.run / get_logger rather than by a
#: constructor we can call here
RUNTIME_KEYS = {'bind_ip', 'bind_port', 'backlog', 'workers', 'user',
                'max_clients', 'graceful_timeout', 'client_timeout',
                'swift_dir', 'log_name', 'log_level', 'log_facility',
                'log_file'}

KEY_LINE = re.compile(r'^#?\s?([a-z][a-z0-9_.]*)\s*=')


def named_options(path):
    """{section: {option names, set or commented out}}."""
    sections = {}
    current = None
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            header = re.match(r'^\[([^\]]+)\]', line)
            if header:
                current = header.group(1)
                sections.setdefault(current, set())
                continue
            match = KEY_LINE.match(line)
            if match and current is not None:
                sections[current].add(match.group(1))
    return sections


def swift_sources():
    text = []
    for dirpath, _dirs, files in os.walk(os.path.join(ROOT, 'swift')):
        for name in files:
            if name.endswith('.py'):
                with open(os.path.join(dirpath, name),
                          encoding='utf-8') as f:
                    text.append(f.read())
    return '\n'.join(text)


def is_read(key, sources):
    if key in PASTE_KEYS:
        return True
    literal = re.compile(r"""['"]%s['"]""" % re.escape(key))
    if literal.search(sources):
        return True
    for prefix in DYNAMIC_PREFIXES:
        if key.startswith(prefix) and re.search(
                r"""['"]%s['"]""" % re.escape(prefix), sources):
            rest = key[len(prefix):]
            if prefix == 'access_':
                return re.search(r"""['"]%s['"]""" % re.escape(rest),
                                 sources) is not None
            return True
    return False


@pytest.mark.parametrize('sample', SAMPLES)
def test_every_named_option_is_read_by_the_code(sample):
    sources = swift_sources()
    unread = sorted('[%s] %s' % (section, key)
                    for section, keys in named_options(
                        os.path.join(ETC, sample)).items()
                    for key in keys
                    if not is_read(key, sources))
    assert unread == [], '%s names options nothing reads' % sample


def test_runtime_keys_are_read_where_claimed():
    sources = swift_sources()
    assert all(is_read(key, sources) for key in RUNTIME_KEYS)


class RecordingConf(dict):
    """A conf dict that remembers which keys were asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def sample_conf(sample, section):
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(os.path.join(ETC, sample))
    conf = RecordingConf(parser.defaults())
    conf.update(dict(parser.items(section)))
    # nothing here touches /etc/swift or /srv/node of the machine
    conf['swift_dir'] = '/nonexistent-swift-dir'
    conf.asked.clear()
    return conf


@pytest.fixture(autouse=True)
def keep_hash_suffix(monkeypatch):
    monkeypatch.setattr(utils, 'HASH_PATH_SUFFIX', utils.HASH_PATH_SUFFIX)
    monkeypatch.setattr(utils, '_hash_suffix_loaded',
                        utils._hash_suffix_loaded)


def _app(env, start_response):
    start_response('200 OK', [])
    return [b'']


def _build(kind):
    """[(sample, section, callable taking the conf)]"""
    from swift.account.auditor import AccountAuditor
    from swift.account.reaper import AccountReaper
    from swift.account.replicator import AccountReplicator
    from swift.account.server import AccountController
    from swift.common.middleware.catch_errors import CatchErrorMiddleware
    from swift.common.middleware.healthcheck import HealthCheckMiddleware
    from swift.common.middleware.memcache import CacheMiddleware
    from swift.common.middleware.proxy_logging import ProxyLoggingMiddleware
    from swift.common.middleware.ratelimit import RateLimitMiddleware
    from swift.common.middleware.tempauth import TempAuth
    from swift.container.auditor import ContainerAuditor
    from swift.container.replicator import ContainerReplicator
    from swift.container.server import ContainerController
    from swift.container.updater import ContainerUpdater
    from swift.obj.auditor import ObjectAuditor
    from swift.obj.replicator import ObjectReplicator
    from swift.obj.server import ObjectController
    from swift.obj.updater import ObjectUpdater
    from swift.proxy.server import Application

    return {
        'object-server': ObjectController,
        'object-replicator': ObjectReplicator,
        'object-auditor': ObjectAuditor,
        'object-updater': ObjectUpdater,
        'container-server': ContainerController,
        'container-replicator': ContainerReplicator,
        'container-updater': ContainerUpdater,
        'container-auditor': ContainerAuditor,
        'account-server': AccountController,
        'account-replicator': AccountReplicator,
        'account-auditor': AccountAuditor,
        'account-reaper': AccountReaper,
        'proxy-server': lambda conf: Application(
            conf, account_ring=object(), container_ring=object(),
            object_ring=object()),
        'tempauth': lambda conf: TempAuth(_app, conf),
        'healthcheck': lambda conf: HealthCheckMiddleware(_app, conf),
        'cache': lambda conf: CacheMiddleware(_app, conf),
        'catch_errors': lambda conf: CatchErrorMiddleware(_app, conf),
        'proxy-logging': lambda conf: ProxyLoggingMiddleware(_app, conf),
        'ratelimit': lambda conf: RateLimitMiddleware(_app, conf),
    }[kind]


SECTIONS = [
    ('object-server.conf', 'app:object-server'),
    ('object-server.conf', 'object-replicator'),
    ('object-server.conf', 'object-auditor'),
    ('object-server.conf', 'object-updater'),
    ('container-server.conf', 'app:container-server'),
    ('container-server.conf', 'container-replicator'),
    ('container-server.conf', 'container-updater'),
    ('container-server.conf', 'container-auditor'),
    ('account-server.conf', 'app:account-server'),
    ('account-server.conf', 'account-replicator'),
    ('account-server.conf', 'account-auditor'),
    ('account-server.conf', 'account-reaper'),
    ('proxy-server.conf', 'app:proxy-server'),
    ('proxy-server.conf', 'filter:tempauth'),
    ('proxy-server.conf', 'filter:healthcheck'),
    ('proxy-server.conf', 'filter:cache'),
    ('proxy-server.conf', 'filter:catch_errors'),
    ('proxy-server.conf', 'filter:proxy-logging'),
    ('proxy-server.conf', 'filter:ratelimit'),
]


@pytest.mark.parametrize('sample,section', SECTIONS)
def test_every_option_the_code_reads_is_in_the_sample(sample, section):
    named = named_options(os.path.join(ETC, sample))
    assert section in named, 'no [%s] in %s' % (section, sample)
    documented = named[section] | named.get('DEFAULT', set())
    conf = sample_conf(sample, section)
    _build(section.split(':')[-1])(conf)
    assert conf.asked, 'the constructor read nothing: test is broken'
    missing = sorted(key for key in conf.asked
                     if key not in documented and key != '__file__')
    assert missing == [], '%s [%s] lacks options the code reads' % (
        sample, section)


def test_daemon_sections_name_their_own_log():
    for sample in ('object-server.conf', 'container-server.conf',
                   'account-server.conf'):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(os.path.join(ETC, sample))
        for section in parser.sections():
            if section.startswith(('app:', 'pipeline:', 'filter:')):
                continue
            assert parser.get(section, 'log_name') == section
