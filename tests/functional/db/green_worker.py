"""Checks that a query waiting in the database lets other green threads run.

    python green_worker.py URL

Green thread A asks for a database lock that the main green thread holds;
the main thread releases it only after A is waiting.  If A's wait blocked
the eventlet hub, the main thread could never release the lock and A would
fail on its lock timeout.  Prints "ok" on success.
"""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                '..', '..', '..')))

from nova import flags  # noqa: E402
from nova.db.sqlalchemy import session as db_session  # noqa: E402

LOCKS = {
    # take (blocking, with a timeout in seconds), release
    'mysql': ("SELECT GET_LOCK('nova_green_test', 30)",
              "SELECT RELEASE_LOCK('nova_green_test')"),
    'postgresql': ("SELECT pg_advisory_lock(4242)",
                   "SELECT pg_advisory_unlock(4242)"),
}


def main():
    flags.FLAGS.sql_connection = sys.argv[1]
    engine = db_session.get_engine()
    take, release = LOCKS[engine.dialect.name]
    waiting = eventlet.event.Event()

    def contender():
        with engine.connect() as conn:
            if engine.dialect.name == 'postgresql':
                conn.exec_driver_sql("SET statement_timeout = '30s'")
            waiting.send()
            got = conn.exec_driver_sql(take).scalar()
            conn.exec_driver_sql(release)
            return got

    with engine.connect() as holder:
        holder.exec_driver_sql(take)
        thread = eventlet.spawn(contender)
        waiting.wait()
        eventlet.sleep(0.5)       # let the contender block in the database
        holder.exec_driver_sql(release)
        result = thread.wait()
    assert result in (1, '', None), result
    print('ok')


if __name__ == '__main__':
    main()
