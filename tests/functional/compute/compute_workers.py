#!/usr/bin/env python3
"""Several nova-compute services in one process, one per host name given.

    compute_workers.py --flagfile=FILE HOST [HOST ...]

Each host is a full nova.service.Service (its own manager, driver, RPC
consumers and heartbeat), as if it ran on its own machine; used with the
fake driver to simulate many compute hosts on one small machine.  SIGTERM
stops them all.
"""

import os
import sys

_top = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
sys.path.insert(0, _top)

import nova  # noqa: E402,F401
import eventlet  # noqa: E402
eventlet.monkey_patch()

from nova import log as logging  # noqa: E402
from nova import service  # noqa: E402


def main():
    rest = service.parse_args(sys.argv, __doc__)
    hosts = rest[1:]
    if not hosts:
        sys.stderr.write('compute_workers.py: no host names given\n')
        return 2
    service.verify_flags(sys.argv[0])
    logging.setup('nova-compute')
    services = [service.Service.create(host=host, binary='nova-compute',
                                       topic='compute') for host in hosts]
    service.serve(*services)
    return 0


if __name__ == '__main__':
    sys.exit(main())
