"""Command lines of the swift server and daemon launchers under bin/."""

import os
import sys


def parse_args(argv, description, once=False):
    """``CONFIG_FILE`` (and ``once`` for daemons) from argv; exits on -h or misuse.

    Returns ``(conf_file, run_once)``.
    """
    prog = os.path.basename(argv[0])
    usage = 'Usage: %s CONFIG_FILE%s' % (prog, ' [once]' if once else '')
    args = argv[1:]
    if any(a in ('-h', '--help') for a in args):
        sys.stdout.write('%s\n\n%s\n' % (usage, description.strip()))
        sys.exit(0)
    allowed_extra = ([], ['once']) if once else ([],)
    if not args or args[1:] not in allowed_extra:
        sys.stderr.write(usage + '\n')
        sys.exit(2)
    return args[0], bool(args[1:])
