"""Helpers every Swift server and daemon shares.

Conventions that the other modules rely on:

* Account, container and object names are Python ``str`` (Unicode) inside the
  servers; they are encoded as UTF-8 wherever bytes are needed (hashing,
  URL quoting, on-disk metadata).
* Header values travelling through WSGI and http.client are "WSGI strings"
  (latin-1 decoded raw bytes), so a UTF-8 metadata value passes through a
  proxy unchanged.
* On-disk object metadata is JSON in extended attributes.  The original
  stored a pickle there; unpickling data found on disk lets whoever can write
  a file (or an xattr) run code in the server, so we never do it.
"""

import errno
import fcntl
import hashlib
import json
import logging
import logging.handlers
import os
import socket
import struct
import sys
import threading
import time
from configparser import ConfigParser
from contextlib import contextmanager
from urllib.parse import quote as _quote

from eventlet import corolocal

from swift.common.exceptions import LockTimeout

TRUE_VALUES = frozenset(('true', '1', 'yes', 'on', 't', 'y'))

# Filled by set_swift_dir() (or lazily from $SWIFT_DIR or /etc/swift).
HASH_PATH_SUFFIX = b''
_hash_suffix_loaded = False

METADATA_KEY = 'user.swift.metadata'
# Small pieces keep every xattr value under the limits of the filesystems
# Swift runs on (ext4 keeps all of an inode's xattrs in one block).
METADATA_CHUNK = 254


def config_true_value(value):
    """True for the spellings of "yes" accepted in config files."""
    return value is True or (
        isinstance(value, str) and value.strip().lower() in TRUE_VALUES)


def config_int(conf, key, default):
    """``int(conf[key])`` with a clear error naming the bad option."""
    value = conf.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError('option %s must be an integer, got %r' % (key, value))


def config_float(conf, key, default):
    value = conf.get(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError('option %s must be a number, got %r' % (key, value))


# ----------------------------------------------------------------- logging

class LogAdapter(logging.LoggerAdapter):
    """Logger that prefixes each line with the current transaction id.

    ``txn_id`` and ``client_ip`` are greenthread-local (eventlet's corolocal
    is keyed by greenlet, so plain threads are separate too): concurrent
    requests in one process do not see each other's ids.
    """

    def __init__(self, logger, server):
        super().__init__(logger, {})
        self.server = server
        self._local = corolocal.local()

    @property
    def txn_id(self):
        return getattr(self._local, 'txn_id', None)

    @txn_id.setter
    def txn_id(self, value):
        self._local.txn_id = value

    @property
    def client_ip(self):
        return getattr(self._local, 'client_ip', None)

    @client_ip.setter
    def client_ip(self, value):
        self._local.client_ip = value

    def process(self, msg, kwargs):
        txn = self.txn_id
        if txn:
            msg = '%s (txn: %s)' % (msg, txn)
        ip = self.client_ip
        if ip:
            msg = '%s (client_ip: %s)' % (msg, ip)
        return msg, kwargs

    def exception(self, msg, *args, **kwargs):
        kwargs.setdefault('exc_info', True)
        self.error(msg, *args, **kwargs)

    def notice(self, msg, *args, **kwargs):
        self.info(msg, *args, **kwargs)


_configured_loggers = {}
_logger_lock = threading.Lock()


def get_logger(conf, name=None, log_route=None):
    """Return a LogAdapter configured from ``conf``.

    Keys: ``log_name`` (default ``name`` or "swift"), ``log_level``
    (default INFO), ``log_facility`` (syslog facility, e.g. LOG_LOCAL0) and
    ``log_file``.  Lines go to ``log_file`` when set, to syslog when a
    facility is given and /dev/log exists, otherwise to stderr (which is what
    the test harness captures).
    """
    conf = conf or {}
    if name is None:
        name = conf.get('log_name', 'swift')
    route = log_route or name
    logger = logging.getLogger('swift.' + route)
    logger.propagate = False
    level_name = str(conf.get('log_level', 'INFO')).upper()
    level = getattr(logging, level_name, None)
    if not isinstance(level, int):
        raise ValueError('unknown log_level %r' % level_name)
    fmt = logging.Formatter(name + ': %(message)s')
    with _logger_lock:
        key = (route, conf.get('log_file'), conf.get('log_facility'))
        if _configured_loggers.get(route) != key:
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
                handler.close()
            if conf.get('log_file'):
                handler = logging.FileHandler(conf['log_file'])
                fmt = logging.Formatter(
                    '%(asctime)s ' + name + ' %(levelname)s: %(message)s')
            elif conf.get('log_facility') and os.path.exists('/dev/log'):
                facility = getattr(logging.handlers.SysLogHandler,
                                   conf['log_facility'],
                                   logging.handlers.SysLogHandler.LOG_LOCAL0)
                handler = logging.handlers.SysLogHandler(
                    address='/dev/log', facility=facility)
            else:
                handler = logging.StreamHandler(sys.stderr)
                fmt = logging.Formatter(
                    '%(asctime)s ' + name + ' %(levelname)s: %(message)s')
            handler.setFormatter(fmt)
            logger.addHandler(handler)
            _configured_loggers[route] = key
    logger.setLevel(level)
    return LogAdapter(logger, name)


# ------------------------------------------------------------ configuration

def readconf(path, section_name=None, log_name=None, defaults=None):
    """Read a paste.deploy style ini file.

    Without ``section_name`` returns ``{section: {key: value}}`` (every
    section also sees [DEFAULT]) plus ``__file__``; with it, that section's
    dict plus ``__file__`` and ``log_name`` (``log_name`` argument, else the
    section's own log_name, else the section name).  Values are read raw:
    no ``%`` interpolation, so ``%`` in a value is literal.
    """
    parser = ConfigParser(defaults or {}, interpolation=None)
    parser.optionxform = str  # keep key case, as paste.deploy does
    if hasattr(path, 'readline'):
        parser.read_file(path)
        filename = getattr(path, 'name', '<stream>')
    else:
        if not parser.read(path):
            raise ValueError('Unable to read config file %s' % path)
        filename = path
    if section_name:
        if not parser.has_section(section_name):
            raise ValueError('Unable to find %s config section in %s'
                             % (section_name, filename))
        conf = dict(parser.items(section_name))
        if log_name:
            conf['log_name'] = log_name
        else:
            conf.setdefault('log_name', section_name)
    else:
        conf = {}
        for section in parser.sections():
            conf[section] = dict(parser.items(section))
        conf['DEFAULT'] = dict(parser.defaults())
        if log_name:
            conf['log_name'] = log_name
    conf['__file__'] = filename
    return conf


# ------------------------------------------------------- names and hashing

def normalize_timestamp(timestamp):
    """Format a timestamp as Swift stores it: '%016.05f' (sortable as text)."""
    return '%016.05f' % float(timestamp)


def split_path(path, minsegs=1, maxsegs=None, rest_with_last=False):
    """Split ``/a/b/c`` into its segments, validating the count.

    Returns a list of exactly ``maxsegs`` items, missing trailing segments
    as None.  The first ``minsegs`` segments must be non-empty.  With
    ``rest_with_last`` everything beyond ``maxsegs - 1`` segments (slashes
    included) is the last segment, which is how object names keep their
    slashes.  Raises ValueError on anything else.
    """
    if maxsegs is None:
        maxsegs = minsegs
    if minsegs > maxsegs:
        raise ValueError('minsegs > maxsegs: %d > %d' % (minsegs, maxsegs))
    if not path.startswith('/'):
        raise ValueError('Invalid path: %s' % quote(path))
    body = path[1:]
    if rest_with_last:
        segs = body.split('/', maxsegs - 1)
    else:
        segs = body.split('/')
        # one trailing slash ("/a/c/") is tolerated, nothing else past maxsegs
        if len(segs) == maxsegs + 1 and segs[-1] == '':
            segs = segs[:-1]
        if len(segs) > maxsegs:
            raise ValueError('Invalid path: %s' % quote(path))
    if len(segs) < minsegs or '' in segs[:minsegs]:
        raise ValueError('Invalid path: %s' % quote(path))
    if not rest_with_last and '' in segs[minsegs:-1]:
        raise ValueError('Invalid path: %s' % quote(path))
    segs = [s if s != '' else None for s in segs]
    segs.extend([None] * (maxsegs - len(segs)))
    return segs


def quote(value, safe='/'):
    """URL-quote a str or bytes, encoding str as UTF-8."""
    if isinstance(value, str):
        value = value.encode('utf-8')
    return _quote(value, safe=safe)


def set_swift_dir(swift_dir=None, required=False):
    """Load ``[swift-hash] swift_hash_path_suffix`` from swift.conf.

    ``swift_dir`` defaults to $SWIFT_DIR, else /etc/swift.  A missing file is
    tolerated (empty suffix, as in unit tests) unless ``required``; a file
    without the key is always an error, because a cluster that silently
    changes its suffix would lose every object.  The suffix is secret salt:
    without it anyone could craft names that pile onto one partition.
    """
    global HASH_PATH_SUFFIX, _hash_suffix_loaded
    swift_dir = swift_dir or os.environ.get('SWIFT_DIR') or '/etc/swift'
    conf_path = os.path.join(swift_dir, 'swift.conf')
    parser = ConfigParser(interpolation=None)
    if not parser.read(conf_path):
        if required:
            raise ValueError('Unable to read %s' % conf_path)
        _hash_suffix_loaded = True
        return HASH_PATH_SUFFIX
    try:
        suffix = parser.get('swift-hash', 'swift_hash_path_suffix')
    except Exception:
        raise ValueError('%s has no [swift-hash] swift_hash_path_suffix'
                         % conf_path)
    HASH_PATH_SUFFIX = suffix.encode('utf-8')
    _hash_suffix_loaded = True
    return HASH_PATH_SUFFIX


def hash_path(account, container=None, object=None, raw_digest=False):
    """md5 of '/account/container/object' + the cluster's hash suffix."""
    if not _hash_suffix_loaded:
        set_swift_dir()
    if object and not container:
        raise ValueError('container is required if object is provided')
    parts = [account]
    if container:
        parts.append(container)
    if object:
        parts.append(object)
    path = '/' + '/'.join(parts)
    data = path.encode('utf-8') if isinstance(path, str) else path
    digest = hashlib.md5(data + HASH_PATH_SUFFIX)
    return digest.digest() if raw_digest else digest.hexdigest()


def storage_directory(datadir, partition, name_hash):
    """datadir/partition/<last 3 hex of hash>/hash."""
    return os.path.join(datadir, str(partition), name_hash[-3:], name_hash)


def validate_device_partition(device, partition):
    """Raise ValueError unless device/partition are safe path components."""
    if not device or '/' in device or device in ('.', '..') \
            or '\x00' in device:
        raise ValueError('Invalid device: %s' % quote(device or ''))
    partition = str(partition)
    if not partition or '/' in partition or not partition.isdigit():
        raise ValueError('Invalid partition: %s' % quote(partition))


# -------------------------------------------------------------- filesystem

def mkdirs(path):
    """os.makedirs that is fine with the directory existing already."""
    try:
        os.makedirs(path)
    except OSError as err:
        if err.errno != errno.EEXIST or not os.path.isdir(path):
            raise


def renamer(old, new):
    """Rename, making the destination's parent directories when missing.

    The rename is tried first: the directories nearly always exist, and a
    mkdir that fails with EEXIST costs more than the rename itself."""
    try:
        os.rename(old, new)
    except FileNotFoundError:
        mkdirs(os.path.dirname(new))
        os.rename(old, new)


def fsync(fd):
    os.fsync(fd)


def fsync_dir(dirpath):
    """fsync a directory so a rename inside it is durable."""
    try:
        fd = os.open(dirpath, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fallocate(fd, size):
    """Reserve ``size`` bytes; ENOSPC propagates, unsupported is ignored."""
    if size <= 0:
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise
        if err.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            raise


def drop_buffer_cache(fd, offset, length):
    """Tell the kernel we will not reread these pages (keeps cache for metadata)."""
    try:
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
    except (OSError, AttributeError):
        pass


def _xattr_target(fd_or_path):
    if hasattr(fd_or_path, 'fileno'):
        return fd_or_path.fileno()
    return fd_or_path


def write_metadata(fd_or_path, metadata):
    """Store a dict of str -> JSON-able values in the file's xattrs (JSON)."""
    target = _xattr_target(fd_or_path)
    blob = json.dumps(metadata, sort_keys=True).encode('utf-8')
    key = 0
    while blob:
        name = METADATA_KEY + (str(key) if key else '')
        os.setxattr(target, name, blob[:METADATA_CHUNK])
        blob = blob[METADATA_CHUNK:]
        key += 1
    # Remove pieces left over from a longer, older value.
    for extra in range(key, key + 10000):
        name = METADATA_KEY + (str(extra) if extra else '')
        try:
            os.removexattr(target, name)
        except OSError as err:
            if err.errno == errno.ENODATA:
                break
            raise


def read_metadata(fd_or_path):
    """Read what write_metadata stored; {} when the file has none."""
    target = _xattr_target(fd_or_path)
    blob = b''
    key = 0
    while True:
        name = METADATA_KEY + (str(key) if key else '')
        try:
            blob += os.getxattr(target, name)
        except OSError as err:
            if err.errno == errno.ENODATA:
                break
            raise
        key += 1
        if key > 100000:
            raise ValueError('implausible metadata size')
    if not blob:
        return {}
    metadata = json.loads(blob.decode('utf-8'))
    if not isinstance(metadata, dict):
        raise ValueError('metadata is not a mapping')
    return metadata


def ismount(path):
    """True when ``path`` is a mount point (False if it does not exist)."""
    try:
        return os.path.ismount(path)
    except OSError:
        return False


def check_mount(root, drive):
    """True when ``drive`` is a safe name and ``root/drive`` is mounted."""
    try:
        validate_device_partition(drive, '0')
    except ValueError:
        return False
    return ismount(os.path.join(root, drive))


@contextmanager
def lock_path(directory, timeout=10):
    """Hold an exclusive flock on ``directory/.lock`` (LockTimeout after timeout s)."""
    mkdirs(directory)
    lockpath = os.path.join(directory, '.lock')
    fd = os.open(lockpath, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                raise LockTimeout(timeout, lockpath)
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        yield True
    finally:
        os.close(fd)


def lock_parent_directory(filename, timeout=10):
    """lock_path on the directory holding ``filename``."""
    return lock_path(os.path.dirname(filename), timeout=timeout)


def audit_location_generator(devices, datadir, mount_check=True, logger=None,
                             suffix=''):
    """Yield (path, device, partition) for every file under each device's
    ``datadir`` laid out as datadir/partition/suffix/hash/file.
    """
    try:
        device_names = sorted(os.listdir(devices))
    except OSError:
        return
    for device in device_names:
        if mount_check and not ismount(os.path.join(devices, device)):
            if logger:
                logger.debug('Skipping %s as it is not mounted', device)
            continue
        datadir_path = os.path.join(devices, device, datadir)
        try:
            partitions = sorted(os.listdir(datadir_path))
        except OSError:
            continue
        for partition in partitions:
            part_path = os.path.join(datadir_path, partition)
            if not partition.isdigit() or not os.path.isdir(part_path):
                continue
            for suffix_dir in sorted(_listdir(part_path)):
                suffix_path = os.path.join(part_path, suffix_dir)
                for hsh in sorted(_listdir(suffix_path)):
                    hash_path_ = os.path.join(suffix_path, hsh)
                    for fname in sorted(_listdir(hash_path_)):
                        if suffix and not fname.endswith(suffix):
                            continue
                        yield (os.path.join(hash_path_, fname), device,
                               partition)


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def ratelimit_sleep(running_time, max_rate, incr_by=1):
    """Sleep so that calls happen at most ``max_rate`` per second.

    Returns the new running_time to pass to the next call.
    """
    if not max_rate or incr_by <= 0:
        return running_time
    time_per_request = 1000.0 * incr_by / max_rate
    now = time.time() * 1000
    if running_time < now:
        running_time = now
    elif running_time - now > time_per_request:
        time.sleep((running_time - now) / 1000.0)
    return running_time + time_per_request


# -------------------------------------------------------------------- WSGI

def public(func):
    """Mark a server method as reachable as an HTTP verb."""
    func.publicly_accessible = True
    return func


def get_param(req, name, default=None):
    """A query parameter as str, or HTTPBadRequest if it is not UTF-8."""
    from webob.exc import HTTPBadRequest
    try:
        value = req.params.get(name, default)
    except UnicodeDecodeError:
        raise HTTPBadRequest(request=req, content_type='text/plain',
                             body=b'Invalid UTF8')
    if isinstance(value, bytes):
        try:
            value = value.decode('utf-8')
        except UnicodeDecodeError:
            raise HTTPBadRequest(request=req, content_type='text/plain',
                                 body=('"%s" parameter not valid UTF-8'
                                       % name).encode())
    if isinstance(value, str):
        try:
            value.encode('utf-8')
        except UnicodeEncodeError:
            raise HTTPBadRequest(request=req, content_type='text/plain',
                                 body=('"%s" parameter not valid UTF-8'
                                       % name).encode())
    return value


def wsgi_to_str(value):
    """A WSGI (latin-1) string back to the UTF-8 text it carries."""
    if value is None:
        return None
    try:
        return value.encode('latin-1').decode('utf-8')
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def str_to_wsgi(value):
    """Text to the WSGI (latin-1) form header values use."""
    return value.encode('utf-8').decode('latin-1')


def get_remote_client(req):
    """The client's address, preferring X-Forwarded-For set by a balancer."""
    forwarded = req.headers.get('x-forwarded-for')
    if forwarded:
        return forwarded.split(',')[0].strip()
    return req.remote_addr


def cache_from_env(env):
    """The memcache client the cache middleware put into the environ."""
    return env.get('swift.cache')


# ----------------------------------------------------------------- network

def whataremyips():
    """Every local IPv4/IPv6 address (used to find this node in a ring)."""
    addresses = set()
    for _index, ifname in socket.if_nameindex():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            packed = fcntl.ioctl(sock.fileno(), 0x8915,  # SIOCGIFADDR
                                 struct.pack('256s', ifname[:15].encode()))
            addresses.add(socket.inet_ntoa(packed[20:24]))
        except OSError:
            pass
        finally:
            sock.close()
    try:
        with open('/proc/net/if_inet6') as f:
            for line in f:
                raw = line.split()[0]
                addr = ':'.join(raw[i:i + 4] for i in range(0, 32, 4))
                addresses.add(socket.inet_ntop(
                    socket.AF_INET6, socket.inet_pton(socket.AF_INET6, addr)))
    except OSError:
        pass
    return sorted(addresses)


def drop_privileges(user):
    """Become ``user`` (when running as root); also start a new session."""
    import grp
    import pwd
    entry = pwd.getpwnam(user)
    if os.geteuid() == 0:
        groups = [g.gr_gid for g in grp.getgrall() if user in g.gr_mem]
        os.setgroups(groups)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    try:
        os.setsid()
    except OSError:
        pass
    os.chdir('/')
    os.umask(0o22)
