"""swift-object-info: what one object file on a storage node holds.

    swift-object-info FILE [SWIFT_DIR]

FILE is a ``.data``, ``.ts`` or ``.meta`` file from an object server's
devices tree.  Prints its path, the object's account/container/object, the
timestamps, content type, ETag (and, for a .data, whether the body still
matches it), size, metadata, and -- when ``SWIFT_DIR/object.ring.gz``
exists -- the partition and the primary and hand-off nodes.  Exit status 0,
or 1 when the file cannot be read or holds no object metadata.
"""

import datetime
import hashlib
import os
import sys

from swift.common.utils import (hash_path, read_metadata, set_swift_dir,
                                wsgi_to_str)
from swift.obj.diskfile import file_timestamp

SYSTEM_KEYS = ('name', 'X-Timestamp', 'Content-Type', 'ETag',
               'Content-Length')
HANDOFFS_SHOWN = 3


def _when(timestamp):
    try:
        ts = float(timestamp)
    except (TypeError, ValueError):
        return str(timestamp)
    human = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return '%s (%s)' % (human.strftime('%Y-%m-%d %H:%M:%S.%f UTC'),
                        timestamp)


def _file_md5(path):
    md5 = hashlib.md5()
    with open(path, 'rb') as fp:
        for chunk in iter(lambda: fp.read(65536), b''):
            md5.update(chunk)
    return md5.hexdigest()


def _ring_lines(swift_dir, account, container, obj):
    if not os.path.exists(os.path.join(swift_dir, 'object.ring.gz')):
        return ['Ring: no object.ring.gz in %s; locations not shown'
                % swift_dir]
    from swift.common.ring import Ring
    ring = Ring(swift_dir, ring_name='object')
    part, nodes = ring.get_nodes(account, container, obj)
    lines = ['Partition: %s' % part]
    for node in nodes:
        lines.append('Primary node: %s:%s/%s (zone %s, id %s)' % (
            node['ip'], node['port'], node['device'], node['zone'],
            node['id']))
    for index, node in enumerate(ring.get_more_nodes(part)):
        if index >= HANDOFFS_SHOWN:
            break
        lines.append('Handoff node: %s:%s/%s (zone %s, id %s)' % (
            node['ip'], node['port'], node['device'], node['zone'],
            node['id']))
    return lines


def describe(path, swift_dir):
    """The lines swift-object-info prints; raises ValueError/OSError."""
    metadata = read_metadata(path)
    if not metadata or 'name' not in metadata:
        raise ValueError('%s holds no object metadata' % path)
    name = metadata['name']
    try:
        _, account, container, obj = name.split('/', 3)
    except ValueError:
        raise ValueError('%s: malformed object name %r' % (path, name))
    lines = ['Path: %s' % os.path.abspath(path),
             '  Account: %s' % account,
             '  Container: %s' % container,
             '  Object: %s' % obj,
             '  Object hash: %s' % hash_path(account, container, obj)]
    kind = os.path.splitext(path)[1]
    lines.append('File type: %s' % {'.data': 'object data',
                                    '.ts': 'tombstone (deleted)',
                                    '.meta': 'metadata update (POST)'
                                    }.get(kind, 'unknown (%s)' % kind))
    if file_timestamp(os.path.basename(path)) is not None:
        lines.append('File timestamp: %s' % _when(
            file_timestamp(os.path.basename(path))))
    lines.append('Timestamp: %s' % _when(metadata.get('X-Timestamp')))
    if 'Content-Type' in metadata:
        lines.append('Content-Type: %s' % wsgi_to_str(
            metadata['Content-Type']))
    if kind == '.data':
        actual = _file_md5(path)
        etag = metadata.get('ETag')
        lines.append('ETag: %s (%s)' % (
            etag, 'valid' if actual == etag
            else 'MISMATCH: body md5 is %s' % actual))
        size = os.path.getsize(path)
        length = metadata.get('Content-Length')
        lines.append('Content-Length: %s (%s)' % (
            length, 'valid' if str(size) == str(length)
            else 'MISMATCH: file has %d bytes' % size))
    user = sorted((k, v) for k, v in metadata.items()
                  if k not in SYSTEM_KEYS)
    if user:
        lines.append('Metadata:')
        lines.extend('  %s: %s' % (k, wsgi_to_str(v)) for k, v in user)
    else:
        lines.append('Metadata: none')
    lines.extend(_ring_lines(swift_dir, account, container, obj))
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ('-h', '--help'):
        print('Usage: swift-object-info FILE [SWIFT_DIR]\n\nPrints where an '
              'object file belongs and its metadata.')
        return 0
    if len(argv) not in (1, 2):
        print('Usage: swift-object-info FILE [SWIFT_DIR]', file=sys.stderr)
        return 1
    path = argv[0]
    swift_dir = argv[1] if len(argv) > 1 else \
        os.environ.get('SWIFT_DIR', '/etc/swift')
    try:
        set_swift_dir(swift_dir)
        lines = describe(path, swift_dir)
    except (OSError, ValueError) as err:
        print('swift-object-info: %s' % err, file=sys.stderr)
        return 1
    print('\n'.join(lines))
    return 0
