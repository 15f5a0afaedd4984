"""Small helpers shared by every nova service."""

import datetime
import importlib
import logging
import os
import random
import shlex
import string
import subprocess
import time
import uuid

from nova import exception

LOG = logging.getLogger('nova.utils')

TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'


def _flags():
    # nova.flags imports nothing of ours; importing it lazily keeps utils
    # importable by flags-free tools (and avoids an import cycle).
    from nova import flags
    return flags.FLAGS


def execute(*cmd, process_input=None, check_exit_code=True, timeout=None,
            run_as_root=False, env_variables=None, attempts=1,
            delay_on_retry=True, cwd=None, binary=False):
    """Run a command given as an argument list; return (stdout, stderr).

    Nothing goes through a shell, so arguments that came from users cannot
    inject commands.  ``check_exit_code`` may be True (only 0 is success),
    False, or a list of accepted exit codes.  A command that outlives
    ``timeout`` seconds (flag ``execute_timeout`` by default) is killed and
    reported as a ``ProcessExecutionError`` like any other failure.
    """
    if len(cmd) == 1 and isinstance(cmd[0], (list, tuple)):
        cmd = tuple(cmd[0])
    cmd = [str(c) for c in cmd]
    flags = _flags()
    if run_as_root and flags.root_helper:
        cmd = shlex.split(flags.root_helper) + cmd
    if timeout is None:
        timeout = flags.execute_timeout
    if check_exit_code is True:
        accepted = [0]
    elif check_exit_code is False:
        accepted = None
    else:
        accepted = list(check_exit_code)
    env = None
    if env_variables:
        env = dict(os.environ)
        env.update(env_variables)
    if isinstance(process_input, str):
        process_input = process_input.encode()

    while True:
        attempts -= 1
        LOG.debug('Running cmd: %s', ' '.join(shlex.quote(c) for c in cmd))
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, input=process_input, capture_output=True,
                                  timeout=timeout or None, env=env, cwd=cwd,
                                  close_fds=True)
        except subprocess.TimeoutExpired as e:
            raise exception.ProcessExecutionError(
                cmd, exit_code=None, stdout=_text(e.stdout, binary),
                stderr=_text(e.stderr, binary),
                description='Command timed out after %ss.' % timeout)
        except OSError as e:
            raise exception.ProcessExecutionError(
                cmd, exit_code=None, stderr=str(e),
                description='Command could not be started.')
        stdout = _text(proc.stdout, binary)
        stderr = _text(proc.stderr, binary)
        LOG.debug('Result was %s (%.3fs)', proc.returncode,
                  time.monotonic() - started)
        if accepted is None or proc.returncode in accepted:
            return stdout, stderr
        if attempts <= 0:
            raise exception.ProcessExecutionError(
                cmd, exit_code=proc.returncode, stdout=stdout, stderr=stderr)
        if delay_on_retry:
            time.sleep(random.uniform(0.2, 1.0))


def trycmd(*cmd, **kwargs):
    """Like execute, but return (stdout, error text) instead of raising."""
    try:
        out, err = execute(*cmd, **kwargs)
    except exception.ProcessExecutionError as e:
        return e.stdout, e.stderr or str(e)
    return out, ''


def _text(data, binary):
    if data is None:
        return b'' if binary else ''
    return data if binary else data.decode('utf-8', 'replace')


def utcnow():
    """Naive UTC now; the database keeps naive UTC timestamps."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def isotime(at=None):
    if at is None:
        at = utcnow()
    if at.tzinfo is not None:
        at = at.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return at.strftime(TIME_FORMAT)


def parse_isotime(text):
    for fmt in (TIME_FORMAT, '%Y-%m-%dT%H:%M:%S.%fZ', '%Y-%m-%dT%H:%M:%S',
                '%Y-%m-%dT%H:%M:%S.%f'):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    parsed = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return parsed


def import_class(import_str):
    """Return the class (or function) named by a dotted path."""
    module_name, _sep, name = import_str.rpartition('.')
    try:
        module = importlib.import_module(module_name)
        return getattr(module, name)
    except (ImportError, AttributeError, ValueError) as e:
        raise exception.NotFound('Class %s cannot be found (%s)'
                                 % (import_str, e)) from None


def import_object(import_str, *args, **kwargs):
    """An instance of the named class, or the named module itself."""
    try:
        return importlib.import_module(import_str)
    except ImportError:
        return import_class(import_str)(*args, **kwargs)


def generate_uid(prefix='', size=8):
    chars = string.ascii_lowercase + string.digits
    return prefix + ''.join(random.SystemRandom().choice(chars)
                            for _ in range(size))


def generate_password(length=12):
    chars = ''.join(c for c in string.ascii_letters + string.digits
                    if c not in 'lIO0')
    rng = random.SystemRandom()
    return ''.join(rng.choice(chars) for _ in range(length))


def generate_uuid():
    return str(uuid.uuid4())


def ensure_tree(path):
    os.makedirs(path, exist_ok=True)


def bool_from_string(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ('true', '1', 'yes', 'on', 't', 'y')


class LoopingCall:
    """Run a function every ``interval`` seconds in a green thread."""

    def __init__(self, f, *args, **kwargs):
        self.f = f
        self.args = args
        self.kwargs = kwargs
        self._running = False
        self._thread = None

    def start(self, interval, initial_delay=None):
        import eventlet
        self._running = True

        def _loop():
            if initial_delay:
                eventlet.sleep(initial_delay)
            while self._running:
                try:
                    self.f(*self.args, **self.kwargs)
                except Exception:
                    LOG.exception('in looping call %s', self.f)
                if not self._running:
                    break
                eventlet.sleep(interval)

        self._thread = eventlet.spawn(_loop)
        return self

    def stop(self):
        self._running = False

    def wait(self):
        if self._thread is not None:
            self._thread.wait()


def _define_flags():
    from nova import flags
    flags.DEFINE_string('root_helper', '', 'prefix for commands that need '
                        'root, e.g. "sudo" (empty: the services run as root)')
    flags.DEFINE_integer('execute_timeout', 120, 'seconds before a shell '
                         'command is killed')


_define_flags()
