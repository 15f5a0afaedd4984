"""The process-wide flag registry.

Flags are absl-py flags, declared by the module that owns them with
``DEFINE_string`` and friends, and set from ``--flagfile=FILE`` (one
``--name=value`` per line, ``#`` comments, the format of nova.conf) and the
command line.

Because managers and drivers are imported only after the command line has been
read (their class names are themselves flags), a value for a flag that is not
defined yet is kept aside and applied the moment a module defines that flag.
``verify()`` then fails, naming the flag and where it came from, for every value
that no module ever claimed.  Services and CLIs call it once their modules are
imported, so a typo in nova.conf stops the process at start-up.

String values may refer to other flags as ``$name`` or ``${name}`` (as in
``sql_connection=sqlite:///$state_path/nova.sqlite``); the reference is expanded
when the flag is read, so it follows later changes of the referenced flag.
"""

import os
import socket
import string
import sys

from absl import flags as absl_flags


class FlagfileError(Exception):
    """A flagfile or command line that cannot be applied."""


class UnknownFlagError(FlagfileError):
    def __init__(self, name, origin):
        self.name = name
        self.origin = origin
        super().__init__("unknown flag --%s (from %s)" % (name, origin))


class _Template(string.Template):
    idpattern = r'[a-z_][a-z0-9_]*'


class FlagValues:
    """Wraps one absl FlagValues with nova's flagfile rules and late binding."""

    def __init__(self):
        self.__dict__['_absl'] = absl_flags.FlagValues()
        self.__dict__['_pending'] = {}   # name -> (value, origin)
        self._absl.mark_as_parsed()

    # -- reading ---------------------------------------------------------------

    def __getattr__(self, name):
        try:
            value = getattr(self._absl, name)
        except AttributeError:
            raise AttributeError("no flag named %r" % name) from None
        if isinstance(value, str) and '$' in value:
            value = self._expand(value)
        return value

    def _expand(self, value, depth=0):
        if depth > 10:
            raise FlagfileError("flag references nest too deep: %s" % value)
        mapping = {}
        for name in self._absl:
            raw = getattr(self._absl, name)
            mapping[name] = '' if raw is None else str(raw)
        expanded = _Template(value).safe_substitute(mapping)
        if '$' in expanded and expanded != value:
            return self._expand(expanded, depth + 1)
        return expanded

    def __contains__(self, name):
        return name in self._absl

    def __iter__(self):
        return iter(list(self._absl))

    def get(self, name, default=None):
        return getattr(self, name) if name in self._absl else default

    def flag(self, name):
        return self._absl[name]

    # -- writing ---------------------------------------------------------------

    def __setattr__(self, name, value):
        """Set a flag directly (tests, and code that derives one flag from another)."""
        if name not in self._absl:
            raise AttributeError("no flag named %r" % name)
        setattr(self._absl, name, value)

    def set_value(self, name, text, origin='command line'):
        """Set from text as a flagfile would; unknown names wait for a DEFINE."""
        if name not in self._absl:
            if name.startswith('no') and name[2:] in self._absl and text is None:
                return self.set_value(name[2:], 'false', origin)
            self._pending[name] = (text, origin)
            return
        flag = self._absl[name]
        if text is None:
            if not isinstance(flag, absl_flags.BooleanFlag):
                raise FlagfileError("flag --%s needs a value (from %s)"
                                    % (name, origin))
            text = 'true'
        try:
            flag.parse(text)
        except (absl_flags.IllegalFlagValueError, ValueError) as e:
            raise FlagfileError("bad value for --%s (from %s): %s"
                                % (name, origin, e)) from None
        flag.using_default_value = False

    def _define(self, flag_class_fn, name, default, help_, **kw):
        flag_class_fn(name, default, help_, flag_values=self._absl, **kw)
        if name in self._pending:
            text, origin = self._pending.pop(name)
            self.set_value(name, text, origin)
        elif 'no' + name in self._pending:
            text, origin = self._pending.pop('no' + name)
            self.set_value(name, 'false', origin)

    def reset(self):
        """Every flag back to its default; pending values dropped (tests)."""
        for name in self._absl:
            self._absl[name].unparse()
        self._absl.mark_as_parsed()
        self._pending.clear()

    # -- parsing ---------------------------------------------------------------

    def __call__(self, argv):
        """Apply ``--flag`` arguments and flagfiles; return the other arguments.

        ``argv[0]`` is the program name and is returned first.  A bare ``--``
        ends flag parsing.
        """
        rest = [argv[0]] if argv else []
        args = list(argv[1:])
        while args:
            arg = args.pop(0)
            if arg == '--':
                rest.extend(args)
                break
            if not arg.startswith('--') or arg == '--':
                rest.append(arg)
                continue
            name, text = _split(arg)
            if name == 'flagfile':
                if text is None:
                    if not args:
                        raise FlagfileError("--flagfile needs a file name")
                    text = args.pop(0)
                self.read_flagfile(text)
            elif name in ('help', 'helpfull'):
                rest.append(arg)
            else:
                self.set_value(name, text)
        return rest

    def read_flagfile(self, path, _seen=None):
        seen = set() if _seen is None else _seen
        real = os.path.realpath(path)
        if real in seen:
            raise FlagfileError("flagfile %s includes itself" % path)
        seen.add(real)
        try:
            with open(path, encoding='utf-8') as f:
                lines = f.readlines()
        except OSError as e:
            raise FlagfileError("cannot read flagfile %s: %s"
                                % (path, e.strerror)) from None
        except UnicodeDecodeError:
            raise FlagfileError("flagfile %s is not UTF-8 text" % path) from None
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith('#') or line.startswith('//'):
                continue
            origin = '%s:%d' % (path, number)
            if not line.startswith('--'):
                raise FlagfileError("%s: expected --name=value, got %r"
                                    % (origin, line))
            name, text = _split(line)
            if not name:
                raise FlagfileError("%s: expected --name=value, got %r"
                                    % (origin, line))
            if name == 'flagfile':
                included = text or ''
                if not os.path.isabs(included):
                    included = os.path.join(os.path.dirname(path), included)
                self.read_flagfile(included, seen)
            else:
                self.set_value(name, text, origin)

    def verify(self):
        """Fail for every value that no defined flag took.

        One nova.conf serves every daemon, so a value may belong to a module
        this process never imports; all of nova's flag-defining modules are
        imported first, so only names that no module defines are errors.
        """
        if self._pending:
            import_flag_modules()
        if self._pending:
            name, (_text, origin) = sorted(self._pending.items())[0]
            raise UnknownFlagError(name, origin)

    def help_text(self):
        lines = []
        for name in sorted(self._absl):
            flag = self._absl[name]
            lines.append('  --%s: %s\n    (default: %r)' % (name, flag.help,
                                                            flag.default))
        return '\n'.join(lines)


def _split(arg):
    body = arg[2:]
    if '=' in body:
        name, text = body.split('=', 1)
        return name.strip(), text
    return body.strip(), None


FLAGS = FlagValues()


def import_flag_modules():
    """Import every nova module that defines flags."""
    import importlib
    package_dir = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(package_dir)
    for dirpath, dirnames, filenames in os.walk(package_dir):
        dirnames[:] = [d for d in dirnames if not d.startswith(('.', '_'))
                       and d not in ('tests', 'migrations')]
        for filename in sorted(filenames):
            if not filename.endswith('.py'):
                continue
            path = os.path.join(dirpath, filename)
            with open(path, encoding='utf-8') as f:
                if 'flags.DEFINE_' not in f.read():
                    continue
            module = os.path.relpath(path, root)[:-3].replace(os.sep, '.')
            if module.endswith('.__init__'):
                module = module[:-len('.__init__')]
            importlib.import_module(module)


def DEFINE_string(name, default, help, flag_values=FLAGS):
    flag_values._define(absl_flags.DEFINE_string, name, default, help)


def DEFINE_integer(name, default, help, flag_values=FLAGS, lower_bound=None):
    flag_values._define(absl_flags.DEFINE_integer, name, default, help,
                        lower_bound=lower_bound)


def DEFINE_float(name, default, help, flag_values=FLAGS):
    flag_values._define(absl_flags.DEFINE_float, name, default, help)


def DEFINE_bool(name, default, help, flag_values=FLAGS):
    flag_values._define(absl_flags.DEFINE_bool, name, default, help)


DEFINE_boolean = DEFINE_bool


def DEFINE_list(name, default, help, flag_values=FLAGS):
    flag_values._define(absl_flags.DEFINE_list, name, default, help)


def DEFINE_multistring(name, default, help, flag_values=FLAGS):
    flag_values._define(absl_flags.DEFINE_multi_string, name, default, help)


def DEFINE_enum(name, default, choices, help, flag_values=FLAGS):
    flag_values._define(absl_flags.DEFINE_enum, name, default, help,
                        enum_values=choices)


def parse(argv, default_flagfile=None):
    """Parse a daemon's or CLI's argv; return the non-flag arguments.

    When no ``--flagfile`` is given and ``default_flagfile`` exists it is
    read first, so ``nova-manage`` beside an ``etc/nova/nova.conf`` just works.
    """
    argv = list(argv)
    if default_flagfile and not any(a.startswith('--flagfile') for a in argv):
        if os.path.exists(default_flagfile):
            argv.insert(1, '--flagfile=%s' % default_flagfile)
    return FLAGS(argv)


def _default_host():
    return socket.gethostname()


def _default_ip():
    """The address this host uses to reach the outside, else loopback."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            # No packet is sent: connect() on UDP only picks a route.
            s.connect(('192.0.2.1', 9))
            return s.getsockname()[0]
        finally:
            s.close()
    except OSError:
        return '127.0.0.1'


_REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

# Flags that several services share live here; each module defines its own.
DEFINE_string('state_path', _REPO_ROOT,
              'top-level directory for keeping nova state')
DEFINE_string('my_ip', _default_ip(), 'this host\'s IP address')
DEFINE_string('host', _default_host(), 'name of this node')
DEFINE_string('node_availability_zone', 'nova',
              'availability zone of this node')
DEFINE_list('region_list', [], 'list of region=url pairs separated by commas')
DEFINE_bool('verbose', False, 'log debug messages')
DEFINE_string('logfile', None, 'write the log to this file')
DEFINE_string('logdir', None, 'write the log to <logdir>/<binary>.log')
DEFINE_bool('use_syslog', False, 'log to syslog')
DEFINE_string('pidfile', None, 'write the process id to this file')

DEFINE_string('sql_connection', 'sqlite:///$state_path/nova.sqlite',
              'SQLAlchemy connection URL of the nova database')
DEFINE_integer('sql_idle_timeout', 3600, 'seconds before idle SQL '
               'connections are recycled')
DEFINE_integer('sql_max_retries', 12, 'attempts to connect to the database '
               'at start-up')
DEFINE_integer('sql_retry_interval', 10, 'seconds between database '
               'connection attempts')

DEFINE_string('rabbit_host', 'localhost', 'AMQP broker host')
DEFINE_integer('rabbit_port', 5672, 'AMQP broker port')
DEFINE_string('rabbit_userid', 'guest', 'AMQP user')
DEFINE_string('rabbit_password', 'guest', 'AMQP password')
DEFINE_string('rabbit_virtual_host', '/', 'AMQP virtual host')
DEFINE_integer('rabbit_retry_interval', 10, 'longest pause in seconds '
               'between attempts to reconnect to the broker')
DEFINE_integer('rabbit_max_retries', 0, 'give up after this many failed '
               'reconnects (0 = never)')
DEFINE_string('transport_url', None, 'amqp://user:pass@host:port/vhost; '
              'overrides the rabbit_* flags when set')
DEFINE_string('control_exchange', 'nova', 'AMQP exchange for nova topics')
DEFINE_string('rpc_backend', 'kombu', 'kombu (AMQP) or fake (in-process, '
              'tests only)')
DEFINE_integer('rpc_response_timeout', 60, 'seconds to wait for the answer '
               'of an RPC call')

DEFINE_string('compute_topic', 'compute', 'the topic compute nodes listen on')
DEFINE_string('network_topic', 'network', 'the topic network nodes listen on')
DEFINE_string('volume_topic', 'volume', 'the topic volume nodes listen on')
DEFINE_string('scheduler_topic', 'scheduler',
              'the topic scheduler nodes listen on')

DEFINE_string('compute_manager', 'nova.compute.manager.ComputeManager',
              'manager class of nova-compute')
DEFINE_string('network_manager', 'nova.network.manager.FlatDHCPManager',
              'manager class of nova-network')
DEFINE_string('volume_manager', 'nova.volume.manager.VolumeManager',
              'manager class of nova-volume')
DEFINE_string('scheduler_manager', 'nova.scheduler.manager.SchedulerManager',
              'manager class of nova-scheduler')

DEFINE_integer('report_interval', 10, 'seconds between service heartbeats')
DEFINE_integer('periodic_interval', 60, 'seconds between periodic tasks')
DEFINE_integer('service_down_time', 60, 'a service whose last heartbeat is '
               'older than this many seconds is down')
DEFINE_bool('enable_new_services', True, 'new services start enabled')

DEFINE_string('ec2_host', '$my_ip', 'host the EC2 API is reached at')
DEFINE_string('ec2_dmz_host', '$my_ip', 'EC2 API host that guests reach')
DEFINE_integer('ec2_port', 8773, 'port of the EC2 API')
DEFINE_string('ec2_scheme', 'http', 'http or https for the EC2 API')
DEFINE_string('ec2_path', '/services/Cloud', 'path of the EC2 API')
DEFINE_string('osapi_host', '$my_ip', 'host the OpenStack API is reached at')
DEFINE_integer('osapi_port', 8774, 'port of the OpenStack API')
DEFINE_string('osapi_scheme', 'http', 'http or https for the OpenStack API')
DEFINE_string('osapi_path', '/v1.0/', 'path of the OpenStack API')
DEFINE_string('s3_host', '$my_ip', 'host of the S3 objectstore')
DEFINE_string('s3_dmz', '$my_ip', 'S3 host that guests reach')
DEFINE_integer('s3_port', 3333, 'port of the S3 objectstore')
DEFINE_string('default_project', 'openstack', 'project of OpenStack API '
              'users that name none')
