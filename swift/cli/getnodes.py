"""swift-get-nodes RING_FILE ACCOUNT [CONTAINER [OBJECT]]

Prints the partition and hash of the name, its primary and hand-off nodes,
and curl / ssh lines an operator can paste to look at each copy.
"""

import os
import sys

from swift.common.ring import Ring
from swift.common.utils import hash_path, quote, set_swift_dir

USAGE = ('Usage: swift-get-nodes <ring.gz> <account> [<container> '
         '[<object>]]\n'
         'Shows the nodes responsible for the item specified.\n'
         'Example:\n'
         '    $ swift-get-nodes /etc/swift/account.ring.gz AUTH_test\n')

DATADIRS = {'account': 'accounts', 'container': 'containers',
            'object': 'objects'}


def main(argv=None, out=None):
    argv = list(sys.argv if argv is None else argv)
    out = out or sys.stdout
    if len(argv) > 1 and argv[1] in ('-h', '--help'):
        out.write(USAGE)
        return 0
    if len(argv) < 3 or len(argv) > 5:
        out.write(USAGE)
        return 1
    ring_file = argv[1]
    account = argv[2]
    container = argv[3] if len(argv) > 3 else None
    obj = argv[4] if len(argv) > 4 else None
    if not os.path.exists(ring_file):
        out.write('Ring file does not exist: %s\n' % ring_file)
        return 1
    # The hash suffix lives in swift.conf next to the ring (or $SWIFT_DIR).
    swift_dir = os.environ.get('SWIFT_DIR') or \
        os.path.dirname(os.path.abspath(ring_file))
    try:
        set_swift_dir(swift_dir)
    except ValueError as err:
        out.write('%s\n' % err)
        return 1
    try:
        ring = Ring(ring_file)
    except ValueError as err:
        out.write('Cannot read ring %s: %s\n' % (ring_file, err))
        return 1
    kind = 'object' if obj else 'container' if container else 'account'
    part, nodes = ring.get_nodes(account, container, obj)
    name_hash = hash_path(account, container, obj)
    handoffs = []
    for node in ring.get_more_nodes(part):
        if len(handoffs) >= ring.replica_count:
            break
        handoffs.append(node)
    path = '/' + '/'.join(p for p in (account, container, obj) if p)

    out.write('\nAccount  \t%s\n' % account)
    out.write('Container\t%s\n' % (container or 'None'))
    out.write('Object   \t%s\n\n' % (obj or 'None'))
    out.write('Partition\t%s\n' % part)
    out.write('Hash     \t%s\n\n' % name_hash)
    for node in nodes:
        out.write('Server:Port Device\t%s:%s %s\n'
                  % (node['ip'], node['port'], node['device']))
    for node in handoffs:
        out.write('Server:Port Device\t%s:%s %s\t [Handoff]\n'
                  % (node['ip'], node['port'], node['device']))
    out.write('\n')
    for node in nodes + handoffs:
        out.write('curl -I -XHEAD "http://%s:%s/%s/%s%s"%s\n'
                  % (node['ip'], node['port'], node['device'], part,
                     quote(path), ' # [Handoff]' if node in handoffs else ''))
    out.write('\n')
    datadir = DATADIRS[kind]
    for node in nodes + handoffs:
        out.write('ssh %s "ls -lah /srv/node/%s/%s/%s/%s/%s/"%s\n'
                  % (node['ip'], node['device'], datadir, part,
                     name_hash[-3:], name_hash,
                     ' # [Handoff]' if node in handoffs else ''))
    out.write('\nnote: `/srv/node` is the default devices path; adjust it '
              'to the node\'s `devices` setting.\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
