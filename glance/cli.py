"""The ``glance`` command: manage images through the v1 API.

    glance [options] add name=NAME [key=value...] [--file F | < F]
    glance [options] update ID [key=value...] [--file F]
    glance [options] delete ID
    glance [options] show ID
    glance [options] download ID [--file F]
    glance [options] index [filter=value...]
    glance [options] details [filter=value...]
    glance [options] clear

Exit status: 0 on success, 1 when the service refused or failed (the
reason goes to stderr), 2 for a usage error.
"""

import argparse
import os
import sys

from glance import client as glance_client
from glance.common import config
from glance.common import exception
from glance.common import image_meta

VERSION = '2011.1'
FIELDS = ('name', 'disk_format', 'container_format', 'is_public', 'location',
          'owner', 'size', 'checksum', 'id', 'store')
READ_ONLY = ('status', 'created_at', 'updated_at', 'deleted_at', 'deleted',
             'created_on', 'updated_on', 'deleted_on')
PROGRESS_THRESHOLD = 8 * 1024 * 1024


class UsageError(Exception):
    pass


def parse_pairs(args):
    """``key=value`` arguments into a dict (keys lower-cased, - -> _)."""
    pairs = {}
    for arg in args:
        if '=' not in arg:
            raise UsageError('expected key=value, got %r' % arg)
        key, value = arg.split('=', 1)
        key = key.strip().lower()
        if not key:
            raise UsageError('expected key=value, got %r' % arg)
        if not key.startswith('property-'):
            key = key.replace('-', '_')
        pairs[key] = value
    return pairs


def split_fields(pairs, out):
    """(fields, properties) from key=value pairs; read-only keys dropped."""
    fields, properties = {}, {}
    for key, value in pairs.items():
        if key in READ_ONLY:
            print('Note: %s cannot be set and was ignored.' % key, file=out)
        elif key in FIELDS:
            fields[key] = value
        else:
            properties[key[len('property-'):] if key.startswith('property-')
                       else key] = value
    if 'is_public' in fields:
        try:
            fields['is_public'] = config.parse_bool(fields['is_public'],
                                                    'is_public')
        except exception.Invalid as e:
            raise UsageError(str(e))
    return fields, properties


class Progress:
    """Wraps a file or iterator; reports percent done to a stream."""

    def __init__(self, source, total, stream, label):
        self.source = source
        self.total = total
        self.stream = stream
        self.label = label
        self.done = 0
        self._shown = -1

    def _report(self):
        if self.total:
            pct = int(self.done * 100 / self.total)
            if pct != self._shown:
                self._shown = pct
                self.stream.write('\r%s: %3d%% (%d of %d bytes)'
                                  % (self.label, pct, self.done, self.total))
                self.stream.flush()

    def __iter__(self):
        if hasattr(self.source, 'read'):
            pieces = iter(lambda: self.source.read(65536), b'')
        else:
            pieces = self.source
        for piece in pieces:
            self.done += len(piece)
            self._report()
            yield piece
        if self._shown >= 0:
            self.stream.write('\n')
            self.stream.flush()


def _print_image(image, out, url=None):
    if url:
        print('URI: %s' % url, file=out)
    print('Id: %s' % image.get('id'), file=out)
    print('Public: %s' % ('Yes' if image.get('is_public') else 'No'), file=out)
    print('Name: %s' % (image.get('name') or ''), file=out)
    print('Status: %s' % (image.get('status') or ''), file=out)
    print('Size: %s' % (image.get('size') if image.get('size') is not None
                        else ''), file=out)
    print('Checksum: %s' % (image.get('checksum') or ''), file=out)
    print('Location: %s' % (image.get('location') or ''), file=out)
    print('Disk format: %s' % (image.get('disk_format') or ''), file=out)
    print('Container format: %s' % (image.get('container_format') or ''),
          file=out)
    print('Owner: %s' % (image.get('owner') or ''), file=out)
    for key, value in sorted((image.get('properties') or {}).items()):
        print("Property '%s': %s" % (key, value), file=out)


class Commands:

    def __init__(self, opts, out, err, stdin):
        self.opts = opts
        self.out = out
        self.err = err
        self.stdin = stdin
        self.client = glance_client.Client(opts.host, opts.port,
                                           auth_token=opts.auth_token)

    def _url(self, image_id):
        return 'http://%s:%s/v1/images/%s' % (self.opts.host, self.opts.port,
                                              image_id)

    def _data_source(self, allow_stdin=True):
        """(file object or None, size or None) of the image data to send."""
        if self.opts.file:
            if self.opts.file == '-':
                return self._stdin_source()
            try:
                f = open(self.opts.file, 'rb')
            except OSError as e:
                raise UsageError('cannot read %s: %s' % (self.opts.file,
                                                         e.strerror))
            return f, os.fstat(f.fileno()).st_size
        if allow_stdin and self.stdin is not None and not self.stdin.isatty():
            return self._stdin_source()
        return None, None

    def _stdin_source(self):
        stream = getattr(self.stdin, 'buffer', self.stdin)
        size = glance_client._size_of(stream)
        if size is not None:
            return (stream, size) if size > 0 else (None, None)
        first = stream.read(65536)
        if not first:
            return None, None

        def chained():
            yield first
            while True:
                piece = stream.read(65536)
                if not piece:
                    return
                yield piece
        return chained(), None

    def _with_progress(self, data, size, label):
        show = self.opts.progress or (size and size >= PROGRESS_THRESHOLD
                                      and self.err.isatty())
        if data is None or not show:
            return data
        return Progress(data, size, self.err, label)

    def add(self, args):
        fields, properties = split_fields(parse_pairs(args), self.out)
        if not fields.get('name'):
            raise UsageError('add needs name=NAME')
        disk = fields.get('disk_format')
        container = fields.get('container_format')
        if disk in image_meta.AMAZON_FORMATS and not container:
            fields['container_format'] = disk
        elif container in image_meta.AMAZON_FORMATS and not disk:
            fields['disk_format'] = container
        fields.setdefault('disk_format', 'raw')
        fields.setdefault('container_format', 'ovf')
        data, size = self._data_source(allow_stdin='location' not in fields)
        if data is not None and 'location' in fields:
            raise UsageError('give either location= or image data, not both')
        if self.opts.dry_run:
            print('Dry run. Would add image with metadata:', file=self.out)
            for key, value in sorted(fields.items()):
                print('  %s: %s' % (key, value), file=self.out)
            for key, value in sorted(properties.items()):
                print("  Property '%s': %s" % (key, value), file=self.out)
            return 0
        meta = dict(fields, properties=properties)
        image = self.client.add_image(
            meta, self._with_progress(data, size, 'Uploading'))
        print('Added new image with ID: %s' % image['id'], file=self.out)
        if self.opts.verbose:
            _print_image(image, self.out, self._url(image['id']))
        return 0

    def update(self, args):
        if not args:
            raise UsageError('update needs an image ID')
        image_id, rest = args[0], args[1:]
        fields, properties = split_fields(parse_pairs(rest), self.out)
        data, size = self._data_source(allow_stdin=False)
        if self.opts.dry_run:
            print('Dry run. Would update image %s with:' % image_id,
                  file=self.out)
            for key, value in sorted(fields.items()):
                print('  %s: %s' % (key, value), file=self.out)
            for key, value in sorted(properties.items()):
                print("  Property '%s': %s" % (key, value), file=self.out)
            return 0
        image = self.client.update_image(
            image_id, dict(fields, properties=properties),
            self._with_progress(data, size, 'Uploading'),
            purge_props=self.opts.purge_props)
        print('Updated image %s' % image_id, file=self.out)
        if self.opts.verbose:
            _print_image(image, self.out, self._url(image_id))
        return 0

    def delete(self, args):
        if len(args) != 1:
            raise UsageError('delete needs exactly one image ID')
        try:
            self.client.delete_image(args[0])
        except exception.NotFound:
            print('No image with ID %s was found' % args[0], file=self.err)
            return 1
        print('Deleted image %s' % args[0], file=self.out)
        return 0

    def show(self, args):
        if len(args) != 1:
            raise UsageError('show needs exactly one image ID')
        try:
            image = self.client.get_image_meta(args[0])
        except exception.NotFound:
            print('No image with ID %s was found' % args[0], file=self.err)
            return 1
        _print_image(image, self.out, self._url(args[0]))
        return 0

    def download(self, args):
        if len(args) != 1:
            raise UsageError('download needs exactly one image ID')
        try:
            meta, chunks = self.client.get_image(args[0])
        except exception.NotFound:
            print('No image with ID %s was found' % args[0], file=self.err)
            return 1
        target = self.opts.file
        chunks = self._with_progress(chunks, meta.get('size'), 'Downloading')
        if target and target != '-':
            partial = target + '.partial'
            try:
                with open(partial, 'wb') as f:
                    for chunk in chunks:
                        f.write(chunk)
                os.replace(partial, target)
            except BaseException:
                if os.path.exists(partial):
                    os.unlink(partial)
                raise
        else:
            stream = getattr(self.out, 'buffer', self.out)
            for chunk in chunks:
                stream.write(chunk)
            stream.flush()
        return 0

    def _list(self, args):
        filters = parse_pairs(args)
        return list(self.client.iter_images_detailed(**filters))

    def index(self, args):
        images = self._list(args)
        if not images:
            print('No images found.', file=self.out)
            return 0
        print('Found %d images...' % len(images), file=self.out)
        row = '%-16s %-30s %-20s %-20s %14s'
        print(row % ('ID', 'Name', 'Disk Format', 'Container Format',
                     'Size'), file=self.out)
        print(row % ('-' * 16, '-' * 30, '-' * 20, '-' * 20, '-' * 14),
              file=self.out)
        for image in images:
            print(row % (image['id'], (image.get('name') or '')[:30],
                         image.get('disk_format') or '',
                         image.get('container_format') or '',
                         image.get('size') if image.get('size') is not None
                         else ''), file=self.out)
        return 0

    def details(self, args):
        images = self._list(args)
        if not images:
            print('No images found.', file=self.out)
            return 0
        print('=' * 80, file=self.out)
        for image in images:
            _print_image(image, self.out, self._url(image['id']))
            print('=' * 80, file=self.out)
        return 0

    def clear(self, args):
        if args:
            raise UsageError('clear takes no arguments')
        failed = 0
        images = self._list([])
        for image in images:
            if self.opts.verbose:
                print('Deleting image %s "%s" ...' % (image['id'],
                                                      image.get('name')),
                      end=' ', file=self.out)
            try:
                self.client.delete_image(image['id'])
            except exception.GlanceError as e:
                failed += 1
                print('Could not delete image %s: %s' % (image['id'], e),
                      file=self.err)
                continue
            if self.opts.verbose:
                print('done', file=self.out)
        print('Deleted %d images' % (len(images) - failed), file=self.out)
        return 1 if failed else 0


COMMANDS = ('add', 'update', 'delete', 'show', 'download', 'index',
            'details', 'clear', 'help')


def build_parser():
    parser = argparse.ArgumentParser(
        prog='glance', description=__doc__.split('\n\n')[0],
        epilog=__doc__.split('\n', 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('command', choices=COMMANDS, metavar='COMMAND',
                        help=', '.join(COMMANDS))
    parser.add_argument('args', nargs='*', metavar='ARG',
                        help='an image ID and/or key=value pairs')
    parser.add_argument('-H', '--host',
                        default=os.environ.get('GLANCE_HOST', '127.0.0.1'),
                        help='glance-api host (GLANCE_HOST, default '
                        '127.0.0.1)')
    parser.add_argument('-p', '--port', type=int,
                        default=int(os.environ.get('GLANCE_PORT', 9292)),
                        help='glance-api port (GLANCE_PORT, default 9292)')
    parser.add_argument('-A', '--auth_token', '--auth-token',
                        dest='auth_token',
                        default=os.environ.get('GLANCE_AUTH_TOKEN'),
                        help='token sent as X-Auth-Token '
                        '(GLANCE_AUTH_TOKEN)')
    parser.add_argument('-f', '--file', help='read image data from this file '
                        '(add, update) or write it there (download); '
                        '- is stdin/stdout')
    parser.add_argument('--purge-props', action='store_true',
                        help='update: drop the properties not given')
    parser.add_argument('--progress', action='store_true',
                        help='show transfer progress on stderr (shown '
                        'anyway for large transfers to a terminal)')
    parser.add_argument('-v', '--verbose', action='store_true')
    parser.add_argument('--dry-run', action='store_true',
                        help='show what add/update would send, send nothing')
    parser.add_argument('--version', action='version',
                        version='glance %s' % VERSION)
    return parser


def main(argv=None, stdin=None, stdout=None, stderr=None):
    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    parser = build_parser()
    opts = parser.parse_intermixed_args(argv)
    if opts.command == 'help':
        parser.print_help(out)
        return 0
    commands = Commands(opts, out, err, stdin)
    try:
        return getattr(commands, opts.command)(opts.args)
    except UsageError as e:
        print('glance %s: %s' % (opts.command, e), file=err)
        return 2
    except exception.GlanceError as e:
        print('glance %s failed (%s): %s'
              % (opts.command, getattr(e, 'code', '?'), e), file=err)
        return 1
    except KeyboardInterrupt:
        print('interrupted', file=err)
        return 130
