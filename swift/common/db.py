"""SQLite databases behind the account and container servers.

One database file per account (its containers) and per container (its
objects).  Rows are never deleted by a DELETE: they get ``deleted = 1`` and
the request's timestamp, so that an older PUT arriving later (or from a
replica) loses to the newer DELETE.  For every name the row with the newest
timestamp wins.

Differences from the original, on purpose:

* Updates go straight into the database in short transactions (WAL
  journal) instead of being appended to a ``.pending`` side file first;
  WAL makes small writes cheap and there is no second on-disk format.
* Statistics (object count, bytes, container count) are adjusted in the
  same transaction as the row change, in Python, rather than by triggers.
* Metadata is JSON ``{name: [value, timestamp]}``; an empty value is a
  deletion that still carries its timestamp so it wins over older values.
* A new database is built in a temp file and hard-linked into place, so a
  crash or a concurrent creator never leaves a half-made database.
"""

import json
import os
import sqlite3
import time
import uuid
from contextlib import contextmanager

from swift.common.exceptions import (DatabaseAlreadyExists,
                                     DatabaseConnectionError)
from swift.common.utils import mkdirs, normalize_timestamp

#: Seconds to wait for another process's write lock on a database.
BROKER_TIMEOUT = 10


def _connect(path, timeout):
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as err:
        raise DatabaseConnectionError(path, str(err), timeout)
    conn.row_factory = sqlite3.Row
    conn.text_factory = str
    conn.execute('PRAGMA synchronous = NORMAL')
    conn.execute('PRAGMA temp_store = MEMORY')
    return conn


def _prefix_upper_bound(prefix):
    """Smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class DatabaseBroker:
    """Shared plumbing: create, connect, transactions, metadata, timestamps."""

    db_type = None          # 'account' or 'container'
    stat_table = None       # 'account_stat' or 'container_stat'

    def __init__(self, db_file, timeout=BROKER_TIMEOUT, logger=None,
                 account=None, container=None):
        self.db_file = db_file
        self.db_dir = os.path.dirname(db_file)
        self.timeout = timeout
        self.logger = logger
        self.account = account
        self.container = container

    # --- connections ----------------------------------------------------

    def exists(self):
        return os.path.exists(self.db_file)

    @contextmanager
    def get(self):
        """A connection for reads (closed afterwards)."""
        if not self.exists():
            raise DatabaseConnectionError(self.db_file, 'DB does not exist')
        conn = _connect(self.db_file, self.timeout)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self):
        """A write transaction, taken with BEGIN IMMEDIATE so concurrent
        writers queue up front instead of failing on upgrade."""
        with self.get() as conn:
            conn.execute('BEGIN IMMEDIATE')
            try:
                yield conn
            except BaseException:
                conn.execute('ROLLBACK')
                raise
            conn.execute('COMMIT')

    def initialize(self, put_timestamp=None):
        """Create the database (DatabaseAlreadyExists if it is there)."""
        if self.exists():
            raise DatabaseAlreadyExists(self.db_file)
        put_timestamp = normalize_timestamp(put_timestamp or 0)
        mkdirs(self.db_dir)
        tmp = os.path.join(self.db_dir, '.%s.%s.tmp'
                           % (os.path.basename(self.db_file), uuid.uuid4().hex))
        try:
            conn = _connect(tmp, self.timeout)
            try:
                conn.execute('PRAGMA journal_mode = WAL')
                # No transaction needed: nobody sees the temp file yet.
                self._create_tables(conn, put_timestamp)
                # Fold the WAL back so one file is the whole database.
                conn.execute('PRAGMA wal_checkpoint(TRUNCATE)')
            finally:
                conn.close()
            try:
                os.link(tmp, self.db_file)
            except FileExistsError:
                raise DatabaseAlreadyExists(self.db_file)
        finally:
            for leftover in (tmp, tmp + '-wal', tmp + '-shm'):
                try:
                    os.unlink(leftover)
                except OSError:
                    pass

    def _create_tables(self, conn, put_timestamp):
        raise NotImplementedError

    # --- stat row helpers -------------------------------------------------

    def _stat(self, conn):
        return conn.execute('SELECT * FROM %s' % self.stat_table).fetchone()

    def get_info(self):
        with self.get() as conn:
            return dict(self._stat(conn))

    def update_put_timestamp(self, timestamp):
        """Record a PUT of the account/container itself (keeps the newest)."""
        timestamp = normalize_timestamp(timestamp)
        with self.transaction() as conn:
            conn.execute('UPDATE %s SET put_timestamp = ? '
                         'WHERE put_timestamp < ?' % self.stat_table,
                         (timestamp, timestamp))
            if self.db_type == 'account':
                conn.execute("UPDATE account_stat SET status = '', "
                             "status_changed_at = ? WHERE status = 'DELETED' "
                             "AND delete_timestamp < ?",
                             (timestamp, timestamp))

    def delete_db(self, timestamp):
        """Mark the account/container deleted as of ``timestamp``."""
        timestamp = normalize_timestamp(timestamp)
        with self.transaction() as conn:
            conn.execute('UPDATE %s SET delete_timestamp = ? '
                         'WHERE delete_timestamp < ?' % self.stat_table,
                         (timestamp, timestamp))
            if self.db_type == 'account':
                conn.execute("UPDATE account_stat SET status = 'DELETED', "
                             "status_changed_at = ?", (timestamp,))
            self._clear_metadata(conn, timestamp)

    def _clear_metadata(self, conn, timestamp):
        """A deleted container forgets its metadata (a re-created one must
        not inherit ACLs from the old one)."""
        if self.db_type != 'container':
            return
        row = self._stat(conn)
        metadata = json.loads(row['metadata'] or '{}')
        for key, (value, ts) in list(metadata.items()):
            if ts < timestamp:
                metadata[key] = ['', timestamp]
        conn.execute('UPDATE container_stat SET metadata = ?',
                     (json.dumps(metadata),))

    # --- metadata ---------------------------------------------------------

    @property
    def metadata(self):
        """{name: [value, timestamp]}, including empty (deleted) values."""
        with self.get() as conn:
            return json.loads(self._stat(conn)['metadata'] or '{}')

    def update_metadata(self, updates):
        """Merge {name: (value, timestamp)}; per key the newest wins."""
        if not updates:
            return
        with self.transaction() as conn:
            metadata = json.loads(self._stat(conn)['metadata'] or '{}')
            changed = False
            for key, (value, timestamp) in updates.items():
                timestamp = normalize_timestamp(timestamp)
                if key not in metadata or metadata[key][1] < timestamp:
                    metadata[key] = [value, timestamp]
                    changed = True
            if changed:
                conn.execute('UPDATE %s SET metadata = ?' % self.stat_table,
                             (json.dumps(metadata),))


class ContainerBroker(DatabaseBroker):
    """One container: its object rows, stats and metadata."""

    db_type = 'container'
    stat_table = 'container_stat'

    def _create_tables(self, conn, put_timestamp):
        conn.executescript('''
            CREATE TABLE object (
                ROWID INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT NOT NULL,
                created_at TEXT NOT NULL,
                size INTEGER NOT NULL DEFAULT 0,
                content_type TEXT NOT NULL DEFAULT '',
                etag TEXT NOT NULL DEFAULT '',
                deleted INTEGER NOT NULL DEFAULT 0
            );
            CREATE UNIQUE INDEX ix_object_name ON object (name);
            CREATE INDEX ix_object_deleted_name ON object (deleted, name);
            CREATE TABLE container_stat (
                account TEXT,
                container TEXT,
                created_at TEXT,
                put_timestamp TEXT DEFAULT '0',
                delete_timestamp TEXT DEFAULT '0',
                object_count INTEGER DEFAULT 0,
                bytes_used INTEGER DEFAULT 0,
                reported_put_timestamp TEXT DEFAULT '0',
                reported_delete_timestamp TEXT DEFAULT '0',
                reported_object_count INTEGER DEFAULT 0,
                reported_bytes_used INTEGER DEFAULT 0,
                id TEXT,
                status TEXT DEFAULT '',
                status_changed_at TEXT DEFAULT '0',
                metadata TEXT DEFAULT ''
            );
        ''')
        conn.execute(
            'INSERT INTO container_stat (account, container, created_at, '
            'put_timestamp, delete_timestamp, id, status_changed_at, '
            'metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            (self.account, self.container, normalize_timestamp(_now()),
             put_timestamp, normalize_timestamp(0), str(uuid.uuid4()),
             put_timestamp, '{}'))

    def put_object(self, name, timestamp, size, content_type, etag,
                   deleted=0):
        """Record an object PUT (or DELETE with ``deleted=1``).

        Returns True when this update is now the object's newest state,
        False when a newer (or equal) one was already recorded.
        """
        timestamp = normalize_timestamp(timestamp)
        size = int(size)
        deleted = 1 if deleted else 0
        with self.transaction() as conn:
            old = conn.execute('SELECT created_at, size, deleted FROM object '
                               'WHERE name = ?', (name,)).fetchone()
            if old is not None and old['created_at'] >= timestamp:
                return False
            count_delta = (0 if deleted else 1) - \
                (0 if old is None or old['deleted'] else 1)
            bytes_delta = (0 if deleted else size) - \
                (0 if old is None or old['deleted'] else old['size'])
            if old is None:
                conn.execute('INSERT INTO object (name, created_at, size, '
                             'content_type, etag, deleted) '
                             'VALUES (?, ?, ?, ?, ?, ?)',
                             (name, timestamp, size, content_type, etag,
                              deleted))
            else:
                conn.execute('UPDATE object SET created_at = ?, size = ?, '
                             'content_type = ?, etag = ?, deleted = ? '
                             'WHERE name = ?',
                             (timestamp, size, content_type, etag, deleted,
                              name))
            if count_delta or bytes_delta:
                conn.execute('UPDATE container_stat SET '
                             'object_count = object_count + ?, '
                             'bytes_used = bytes_used + ?',
                             (count_delta, bytes_delta))
            return True

    def delete_object(self, name, timestamp):
        return self.put_object(name, timestamp, 0, 'application/deleted',
                               'noetag', deleted=1)

    def empty(self):
        with self.get() as conn:
            return self._stat(conn)['object_count'] == 0

    def is_deleted(self):
        """True when the DB is missing, or deleted after its last PUT and
        holding no objects."""
        if not self.exists():
            return True
        info = self.get_info()
        return info['object_count'] == 0 and \
            info['delete_timestamp'] > info['put_timestamp']

    def reported(self, put_timestamp, delete_timestamp, object_count,
                 bytes_used):
        """Remember what the account servers have been told."""
        with self.transaction() as conn:
            conn.execute('UPDATE container_stat SET '
                         'reported_put_timestamp = ?, '
                         'reported_delete_timestamp = ?, '
                         'reported_object_count = ?, reported_bytes_used = ?',
                         (put_timestamp, delete_timestamp, object_count,
                          bytes_used))

    def list_objects_iter(self, limit, marker='', end_marker='', prefix='',
                          delimiter='', path=None):
        """Object rows in name order as tuples
        (name, created_at, size, content_type, etag); a rolled-up
        ``delimiter`` subdirectory is (name, '0', 0, None, '').

        ``path`` (legacy pseudo-directories) lists only the direct children
        of ``path``: prefix ``path/`` and delimiter ``/``, with deeper names
        skipped rather than rolled up.
        """
        if path is not None:
            prefix = path
            if path:
                prefix = path = path.rstrip('/') + '/'
            delimiter = '/'
        elif delimiter and not prefix:
            prefix = ''
        return _list_rows(
            self, 'SELECT name, created_at, size, content_type, etag '
            'FROM object WHERE deleted = 0', limit, marker, end_marker,
            prefix, delimiter, path,
            lambda dir_name: (dir_name, '0', 0, None, ''))


class AccountBroker(DatabaseBroker):
    """One account: its container rows, stats, metadata and status."""

    db_type = 'account'
    stat_table = 'account_stat'

    def _create_tables(self, conn, put_timestamp):
        conn.executescript('''
            CREATE TABLE container (
                ROWID INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT NOT NULL,
                put_timestamp TEXT NOT NULL DEFAULT '0',
                delete_timestamp TEXT NOT NULL DEFAULT '0',
                object_count INTEGER NOT NULL DEFAULT 0,
                bytes_used INTEGER NOT NULL DEFAULT 0,
                deleted INTEGER NOT NULL DEFAULT 0
            );
            CREATE UNIQUE INDEX ix_container_name ON container (name);
            CREATE INDEX ix_container_deleted_name
                ON container (deleted, name);
            CREATE TABLE account_stat (
                account TEXT,
                created_at TEXT,
                put_timestamp TEXT DEFAULT '0',
                delete_timestamp TEXT DEFAULT '0',
                container_count INTEGER DEFAULT 0,
                object_count INTEGER DEFAULT 0,
                bytes_used INTEGER DEFAULT 0,
                id TEXT,
                status TEXT DEFAULT '',
                status_changed_at TEXT DEFAULT '0',
                metadata TEXT DEFAULT ''
            );
        ''')
        conn.execute(
            'INSERT INTO account_stat (account, created_at, put_timestamp, '
            'delete_timestamp, id, status_changed_at, metadata) '
            'VALUES (?, ?, ?, ?, ?, ?, ?)',
            (self.account, normalize_timestamp(_now()), put_timestamp,
             normalize_timestamp(0), str(uuid.uuid4()), put_timestamp, '{}'))

    def put_container(self, name, put_timestamp, delete_timestamp,
                      object_count, bytes_used):
        """Merge a container's report.

        Per container the newest put and newest delete timestamps are kept;
        the row is deleted when the delete is newer than the put and the
        container is empty.  Counts come from the incoming report (the
        container replica that sends it has just read them).
        """
        put_timestamp = normalize_timestamp(put_timestamp or 0)
        delete_timestamp = normalize_timestamp(delete_timestamp or 0)
        object_count = int(object_count or 0)
        bytes_used = int(bytes_used or 0)
        with self.transaction() as conn:
            old = conn.execute('SELECT * FROM container WHERE name = ?',
                               (name,)).fetchone()
            if old is not None:
                put_timestamp = max(put_timestamp, old['put_timestamp'])
                delete_timestamp = max(delete_timestamp,
                                       old['delete_timestamp'])
            deleted = 1 if (delete_timestamp > put_timestamp
                            and object_count == 0) else 0
            new_live = (0 if deleted else 1,
                        0 if deleted else object_count,
                        0 if deleted else bytes_used)
            old_live = (0, 0, 0) if old is None or old['deleted'] else \
                (1, old['object_count'], old['bytes_used'])
            if old is None:
                conn.execute('INSERT INTO container (name, put_timestamp, '
                             'delete_timestamp, object_count, bytes_used, '
                             'deleted) VALUES (?, ?, ?, ?, ?, ?)',
                             (name, put_timestamp, delete_timestamp,
                              object_count, bytes_used, deleted))
            else:
                conn.execute('UPDATE container SET put_timestamp = ?, '
                             'delete_timestamp = ?, object_count = ?, '
                             'bytes_used = ?, deleted = ? WHERE name = ?',
                             (put_timestamp, delete_timestamp, object_count,
                              bytes_used, deleted, name))
            conn.execute('UPDATE account_stat SET '
                         'container_count = container_count + ?, '
                         'object_count = object_count + ?, '
                         'bytes_used = bytes_used + ?',
                         tuple(n - o for n, o in zip(new_live, old_live)))
            return not deleted

    def empty(self):
        with self.get() as conn:
            return self._stat(conn)['container_count'] == 0

    def is_status_deleted(self):
        """True once the account was DELETEd (reseller removed it)."""
        with self.get() as conn:
            return self._stat(conn)['status'] == 'DELETED'

    def is_deleted(self):
        if not self.exists():
            return True
        info = self.get_info()
        return info['status'] == 'DELETED' or (
            info['container_count'] == 0
            and info['delete_timestamp'] > info['put_timestamp'])

    def list_containers_iter(self, limit, marker='', end_marker='', prefix='',
                             delimiter=''):
        """Container rows as (name, object_count, bytes_used, is_subdir)."""
        return _list_rows(
            self, 'SELECT name, object_count, bytes_used, 0 '
            'FROM container WHERE deleted = 0', limit, marker, end_marker,
            prefix, delimiter, None, lambda dir_name: (dir_name, 0, 0, 1))


def _list_rows(broker, base_query, limit, marker, end_marker, prefix,
               delimiter, path, make_subdir):
    """Listing with marker/end_marker/prefix/delimiter/path semantics.

    Each rolled-up subdirectory is emitted once, then the scan jumps past
    every name below it (``dir`` + the character after the delimiter), so
    a listing costs one indexed range query per emitted entry at worst.
    """
    marker = marker or ''
    prefix = prefix or ''
    delimiter = delimiter or ''
    orig_marker = marker
    results = []
    with broker.get() as conn:
        while len(results) < limit:
            query = base_query
            args = []
            if end_marker:
                query += ' AND name < ?'
                args.append(end_marker)
            if marker and marker >= prefix:
                query += ' AND name > ?'
                args.append(marker)
            elif prefix:
                query += ' AND name >= ?'
                args.append(prefix)
            if prefix:
                query += ' AND name < ?'
                args.append(_prefix_upper_bound(prefix))
            query += ' ORDER BY name LIMIT ?'
            args.append(limit - len(results) if not delimiter else
                        max(limit - len(results), 1) * 4)
            rows = conn.execute(query, args).fetchall()
            if not rows:
                break
            jumped = False
            for row in rows:
                name = row[0]
                marker = name
                if len(results) >= limit:
                    return results
                if not delimiter:
                    results.append(tuple(row))
                    continue
                end = name.find(delimiter, len(prefix))
                if path is not None:
                    if name == path:
                        continue
                    if end >= 0 and len(name) > end + len(delimiter):
                        # deeper than a direct child: skip the whole subtree
                        marker = name[:end] + chr(ord(delimiter) + 1)
                        jumped = True
                        break
                elif end >= 0:
                    dir_name = name[:end + 1]
                    marker = name[:end] + chr(ord(delimiter) + 1)
                    if dir_name != orig_marker:
                        results.append(make_subdir(dir_name))
                    jumped = True
                    break
                results.append(tuple(row))
            if not jumped and len(rows) < args[-1]:
                break
    return results


def _now():
    return time.time()
