"""bin/nova: the OpenStack API from the command line.

    nova [--url URL] [--username NAME] [--api-key KEY] [--project-id ID]
         COMMAND [ARGS]

The connection comes from the options or from NOVA_URL (the API root to
log in at, e.g. http://127.0.0.1:8774/v1.1/), NOVA_USERNAME, NOVA_API_KEY
(the user's access key) and NOVA_PROJECT_ID.  Exit status: 0 done, 1 the
cloud refused or could not be reached (the fault is printed), 2 bad usage.
"""

import argparse
import os
import sys

from nova.api.openstack import client as os_client

COMMANDS = ('list', 'boot', 'show', 'delete', 'reboot', 'rename',
            'image-list', 'image-create', 'flavor-list')


def _table(rows, columns):
    """Rows of dicts as an aligned text table."""
    cells = [[str(c) for c in columns]]
    for row in rows:
        cells.append(['' if row.get(c) is None else str(row.get(c))
                      for c in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    line = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'
    out = [line]
    for index, row in enumerate(cells):
        out.append('| ' + ' | '.join(v.ljust(w) for v, w in
                                     zip(row, widths)) + ' |')
        if index == 0:
            out.append(line)
    out.append(line)
    return '\n'.join(out)


def _properties(item):
    rows = []
    for key in sorted(item):
        value = item[key]
        if key == 'links':
            continue
        if key == 'addresses' and isinstance(value, dict):
            value = '; '.join(
                '%s=%s' % (net, ', '.join(ip['addr'] if isinstance(ip, dict)
                                          else ip for ip in ips))
                for net, ips in sorted(value.items()))
        elif key == 'metadata' and isinstance(value, dict):
            value = ', '.join('%s=%s' % kv for kv in sorted(value.items()))
        rows.append({'Property': key, 'Value': value})
    return _table(rows, ['Property', 'Value'])


def _server_row(server, version):
    row = dict(server)
    if version != '1.0':
        row['imageId'] = str(server.get('imageRef', '')).rsplit('/', 1)[-1]
        row['flavorId'] = str(server.get('flavorRef', '')).rsplit('/', 1)[-1]
    return row


def _key_value(text, what):
    key, sep, value = text.partition('=')
    if not sep or not key:
        raise argparse.ArgumentTypeError('%s must be KEY=VALUE, not %r'
                                         % (what, text))
    return key, value


def _parser():
    env = os.environ
    parser = argparse.ArgumentParser(
        prog='nova', description='Command line client of the OpenStack '
        'Compute API (v1.0 and v1.1).',
        epilog='Environment: NOVA_URL, NOVA_USERNAME, NOVA_API_KEY, '
        'NOVA_PROJECT_ID. Exit status: 0 ok, 1 API error, 2 usage error.')
    parser.add_argument('--url', default=env.get('NOVA_URL'),
                        help='API root to log in at [NOVA_URL]')
    parser.add_argument('--username', default=env.get('NOVA_USERNAME'),
                        help='user name [NOVA_USERNAME]')
    parser.add_argument('--api-key', default=env.get('NOVA_API_KEY'),
                        help='API key: the access key [NOVA_API_KEY]')
    parser.add_argument('--project-id', default=env.get('NOVA_PROJECT_ID'),
                        help='project to work in [NOVA_PROJECT_ID]')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')

    sub.add_parser('list', help='list servers')
    boot = sub.add_parser('boot', help='create a server')
    boot.add_argument('name')
    boot.add_argument('--image', required=True, help='image id')
    boot.add_argument('--flavor', required=True, help='flavor id')
    boot.add_argument('--meta', action='append', default=[],
                      metavar='KEY=VALUE', help='server metadata')
    boot.add_argument('--file', action='append', default=[],
                      metavar='DST=SRC',
                      help='inject local file SRC at path DST')
    for name, text in (('show', 'show a server'),
                       ('delete', 'delete a server')):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument('server', help='server id')
    reboot = sub.add_parser('reboot', help='reboot a server')
    reboot.add_argument('server', help='server id')
    reboot.add_argument('--hard', action='store_true',
                        help='hard reboot (default: soft)')
    rename = sub.add_parser('rename', help='rename a server')
    rename.add_argument('server', help='server id')
    rename.add_argument('name')
    sub.add_parser('image-list', help='list images')
    image_create = sub.add_parser('image-create',
                                  help='snapshot a server into an image')
    image_create.add_argument('server', help='server id')
    image_create.add_argument('name')
    sub.add_parser('flavor-list', help='list flavors')
    return parser


def _run(client, args, out):
    version = client.version
    if args.command == 'list':
        servers = [_server_row(s, version) for s in client.servers()]
        out.write(_table(servers, ['id', 'name', 'status', 'imageId',
                                   'flavorId']) + '\n')
    elif args.command == 'boot':
        metadata = dict(_key_value(m, '--meta') for m in args.meta)
        files = {}
        for item in args.file:
            dst, src = _key_value(item, '--file')
            try:
                with open(src, 'rb') as f:
                    files[dst] = f.read()
            except OSError as e:
                raise os_client.ClientError(0, 'localFile',
                                            'cannot read %s: %s'
                                            % (src, e.strerror)) from None
        server = client.create_server(args.name, args.image, args.flavor,
                                      metadata or None, files or None)
        out.write(_properties(server) + '\n')
    elif args.command == 'show':
        out.write(_properties(client.server(args.server)) + '\n')
    elif args.command == 'delete':
        client.delete_server(args.server)
    elif args.command == 'reboot':
        client.reboot(args.server, hard=args.hard)
    elif args.command == 'rename':
        client.rename_server(args.server, args.name)
    elif args.command == 'image-list':
        out.write(_table(client.images(), ['id', 'name', 'status']) + '\n')
    elif args.command == 'image-create':
        image = client.create_image(args.server, args.name)
        out.write(_properties(image) + '\n')
    elif args.command == 'flavor-list':
        out.write(_table(client.flavors(), ['id', 'name', 'ram', 'disk'])
                  + '\n')


def main(argv=None, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return e.code
    if not args.command:
        parser.print_usage(err)
        err.write('nova: error: give a command (%s)\n' % ', '.join(COMMANDS))
        return 2
    missing = [name for name, value in (('--url/NOVA_URL', args.url),
                                        ('--username/NOVA_USERNAME',
                                         args.username),
                                        ('--api-key/NOVA_API_KEY',
                                         args.api_key)) if not value]
    if missing:
        err.write('nova: error: missing %s\n' % ', '.join(missing))
        return 2
    client = os_client.Client(args.url, args.username, args.api_key,
                              args.project_id)
    try:
        _run(client, args, out)
    except argparse.ArgumentTypeError as e:
        err.write('nova: error: %s\n' % e)
        return 2
    except os_client.ClientError as e:
        err.write('nova: %s\n' % e)
        return 1
    return 0
