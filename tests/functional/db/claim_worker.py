"""Claims fixed IPs from another process, under eventlet green threads.

    python claim_worker.py URL NETWORK_ID THREADS CLAIMS_PER_THREAD

Prints a JSON list of the addresses this process got.
"""

import eventlet

eventlet.monkey_patch()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                '..', '..', '..')))

from nova import context  # noqa: E402
from nova import db  # noqa: E402
from nova import flags  # noqa: E402


def main():
    url, network_id, threads, claims = sys.argv[1:5]
    flags.FLAGS.sql_connection = url
    ctx = context.get_admin_context()
    got = []

    def claim_some():
        for _ in range(int(claims)):
            inst = db.instance_create(ctx, {'project_id': 'p'})
            got.append(db.fixed_ip_associate_pool(ctx, int(network_id),
                                                  inst.id))

    pool = eventlet.GreenPool()
    for _ in range(int(threads)):
        pool.spawn(claim_some)
    pool.waitall()
    print(json.dumps(got))


if __name__ == '__main__':
    main()
