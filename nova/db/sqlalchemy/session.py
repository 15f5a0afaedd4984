"""Engines and sessions for the nova database.

One engine per connection URL, made on first use and kept for the life of the
process.  The URL comes from the ``sql_connection`` flag each time a session is
asked for, so tests that point the flag at a fresh database between tests get
a fresh engine; ``dispose()`` closes every pooled connection and forgets the
engines (tests call it when they remove a database).

Driver choices: ``mysql://`` means PyMySQL (pure Python, so it yields to other
green threads under eventlet's monkey patching) and ``postgresql://`` means
psycopg 3.  SQLite gets foreign keys switched on (SQLite leaves them off by
default) and a busy timeout, because the API, the scheduler and every other
service on a one-host cloud share one database file.
"""

import threading
import time

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy import orm
from sqlalchemy import pool as sa_pool

from nova import exception
from nova import flags
from nova import log as logging

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_integer('sqlite_busy_timeout', 30, 'seconds a SQLite writer '
                     'waits for another process to release the database')
flags.DEFINE_bool('sqlite_wal', True, 'use SQLite write-ahead logging, so '
                  'readers do not block the writer across processes')
flags.DEFINE_bool('sql_connection_debug', False, 'log every SQL statement')

_LOCK = threading.Lock()
_ENGINES = {}        # normalized URL -> Engine
_MAKERS = {}         # normalized URL -> sessionmaker

# The drivers we ship with; a URL naming another driver explicitly is kept.
_DEFAULT_DRIVERS = {'mysql': 'mysql+pymysql', 'mariadb': 'mysql+pymysql',
                    'postgresql': 'postgresql+psycopg',
                    'postgres': 'postgresql+psycopg'}


def normalize_url(url):
    """The URL with our default driver filled in (``mysql://`` -> PyMySQL)."""
    parsed = sa.engine.make_url(url)
    driver = _DEFAULT_DRIVERS.get(parsed.drivername)
    if driver:
        parsed = parsed.set(drivername=driver)
    if parsed.get_backend_name() == 'mysql' and 'charset' not in parsed.query:
        parsed = parsed.update_query_dict({'charset': 'utf8mb4'})
    return parsed.render_as_string(hide_password=False)


def current_url():
    return normalize_url(FLAGS.sql_connection)


def _is_memory_sqlite(url):
    parsed = sa.engine.make_url(url)
    return (parsed.get_backend_name() == 'sqlite'
            and parsed.database in (None, '', ':memory:'))


def _sqlite_on_connect(dbapi_conn, _record):
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute('PRAGMA foreign_keys=ON')
        cursor.execute('PRAGMA busy_timeout=%d'
                       % (int(FLAGS.sqlite_busy_timeout) * 1000))
        if FLAGS.sqlite_wal:
            cursor.execute('PRAGMA journal_mode=WAL')
    finally:
        cursor.close()


def _cooperative_psycopg():
    """Make psycopg wait for the server through the (green) select module.

    psycopg waits for replies in C (``wait_c``) unless it sees gevent, so
    under eventlet one slow query would stall every green thread of the
    daemon.  ``wait_select`` goes through ``select.select``, which eventlet's
    monkey patching makes cooperative.
    """
    try:
        from eventlet import patcher
    except ImportError:
        return
    if patcher.is_monkey_patched('select'):
        from psycopg import waiting
        waiting.wait = waiting.wait_select


def _make_engine(url):
    backend = sa.engine.make_url(url).get_backend_name()
    if backend == 'postgresql':
        _cooperative_psycopg()
    kwargs = {'echo': bool(FLAGS.sql_connection_debug)}
    if backend == 'sqlite':
        kwargs['connect_args'] = {'timeout': FLAGS.sqlite_busy_timeout,
                                  'check_same_thread': False}
        if _is_memory_sqlite(url):
            # One connection, or every checkout would see an empty database.
            kwargs['poolclass'] = sa_pool.StaticPool
    else:
        kwargs['pool_recycle'] = FLAGS.sql_idle_timeout
        kwargs['pool_pre_ping'] = True
    engine = sa.create_engine(url, **kwargs)
    if backend == 'sqlite':
        event.listen(engine, 'connect', _sqlite_on_connect)
    _wait_for_database(engine, retry=(backend != 'sqlite'))
    return engine


def _wait_for_database(engine, retry):
    """Connect once, retrying a server that is still starting up.

    A SQLite file either opens or does not, so only server databases are
    retried (``sql_max_retries`` attempts, ``sql_retry_interval`` apart).
    """
    attempts = max(1, int(FLAGS.sql_max_retries)) if retry else 1
    for attempt in range(1, attempts + 1):
        try:
            with engine.connect():
                return
        except sa_exc.DBAPIError as e:
            if attempt >= attempts:
                engine.dispose()
                raise exception.DBError(
                    reason='cannot connect to %s: %s'
                    % (engine.url.render_as_string(hide_password=True),
                       e.orig)) from None
            LOG.warning('database %s is not answering (%s); attempt %d of '
                        '%d, retrying in %ss',
                        engine.url.render_as_string(hide_password=True),
                        e.orig, attempt, attempts, FLAGS.sql_retry_interval)
            time.sleep(FLAGS.sql_retry_interval)


def get_engine(url=None):
    """The engine for ``url`` (default: the ``sql_connection`` flag)."""
    url = normalize_url(url) if url else current_url()
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _make_engine(url)
            _ENGINES[url] = engine
            _MAKERS[url] = orm.sessionmaker(bind=engine,
                                            expire_on_commit=False,
                                            autoflush=True)
        return engine


def get_session(url=None):
    """A new ORM session; objects stay readable after it is closed."""
    url = normalize_url(url) if url else current_url()
    if url not in _MAKERS:
        get_engine(url)
    return _MAKERS[url]()


def dispose(url=None):
    """Close pooled connections and forget engines (one URL, or all)."""
    with _LOCK:
        urls = [normalize_url(url)] if url else list(_ENGINES)
        for key in urls:
            engine = _ENGINES.pop(key, None)
            _MAKERS.pop(key, None)
            if engine is not None:
                engine.dispose()
