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

Connections are kept open between requests (`ConnectionCache`, one per
process): opening a SQLite database costs a schema read, and closing the
last connection of a WAL database checkpoints it and deletes the WAL, which
made a container update cost four times what its INSERT does.  A cached
connection is only handed out again while the file at its path is still
the same inode, so a database that quarantine or replication moved away
(or that was removed and made anew) gets a fresh connection.

Durability: commits run with ``synchronous = NORMAL`` in WAL mode, so a
committed update survives the server process dying at any point; a power
loss can lose the last commits before the next checkpoint (the database
stays consistent).  Swift's own pending file was not fsynced either; the
replicators bring back from the other replicas what one lost.

For replication (swift.common.db_replicator) a changed row is deleted and
inserted again, so it gets a new ROWID: "rows past a replica's sync point"
is then exactly what that replica may lack.  ``incoming_sync`` and
``outgoing_sync`` hold those points per remote replica id.
"""

import collections
import hashlib
import json
import os
import sqlite3
import threading
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


class ConnectionCache:
    """Idle SQLite connections of one process, by database path.

    ``checkout`` hands a connection to one caller only (a greenthread may
    yield while it holds a transaction, so two must never share one) and
    ``checkin`` takes it back.  Each cached connection remembers the
    (st_dev, st_ino) of the file it opened: when the path names another
    file now (quarantined, removed, re-created, replaced by replication) it
    is closed rather than reused.  At most ``max_idle`` connections stay
    open, the least recently used going first; a process that forked gets
    an empty cache (a connection must not cross a fork).
    """

    def __init__(self, max_idle=64, per_db=2):
        self.max_idle = max_idle
        self.per_db = per_db
        self._lock = threading.Lock()
        self._idle = collections.OrderedDict()  # path -> [(conn, ident)]
        self._ident = {}  # id(conn) -> (st_dev, st_ino) for checked-out ones
        self._pid = os.getpid()
        # Connections inherited over a fork: never closed here (closing
        # would touch the parent's locks and WAL), never used.
        self._abandoned = []

    def _forked(self):
        if self._pid != os.getpid():
            self._abandoned.append((self._idle, self._ident))
            self._idle = collections.OrderedDict()
            self._ident = {}
            self._pid = os.getpid()

    def checkout(self, path, timeout):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self.close_path(path)
            raise DatabaseConnectionError(path, 'DB does not exist')
        ident = (st.st_dev, st.st_ino)
        stale = []
        conn = None
        with self._lock:
            self._forked()
            entries = self._idle.get(path)
            while entries:
                candidate, cached_ident = entries.pop()
                if cached_ident == ident:
                    conn = candidate
                    break
                stale.append(candidate)
            if entries is not None and not entries:
                del self._idle[path]
        _close_all(stale)
        if conn is None:
            conn = _connect(path, timeout)
        with self._lock:
            self._ident[id(conn)] = ident
        return conn

    def checkin(self, path, conn):
        with self._lock:
            self._forked()
            ident = self._ident.pop(id(conn), None)
        if ident is None or conn.in_transaction:
            # Not ours (forked meanwhile), or left mid-transaction by a
            # caller: not something to hand to the next one.
            self.discard(conn)
            return
        extra = []
        with self._lock:
            entries = self._idle.setdefault(path, [])
            entries.append((conn, ident))
            self._idle.move_to_end(path)
            if len(entries) > self.per_db:
                extra.append(entries.pop(0)[0])
            while sum(len(v) for v in self._idle.values()) > self.max_idle:
                _old_path, old = self._idle.popitem(last=False)
                extra.extend(c for c, _i in old)
        _close_all(extra)

    def discard(self, conn):
        with self._lock:
            self._ident.pop(id(conn), None)
        _close_all([conn])

    def close_path(self, path):
        """Close the idle connections of ``path`` (before its directory is
        moved or removed, so no open file keeps the old copy alive)."""
        with self._lock:
            self._forked()
            entries = self._idle.pop(path, [])
        _close_all(c for c, _i in entries)

    def clear(self):
        with self._lock:
            self._forked()
            idle, self._idle = self._idle, collections.OrderedDict()
        _close_all(c for entries in idle.values() for c, _i in entries)

    def idle_count(self, path=None):
        with self._lock:
            if path is not None:
                return len(self._idle.get(path, ()))
            return sum(len(v) for v in self._idle.values())


def _close_all(conns):
    for conn in conns:
        try:
            conn.close()
        except sqlite3.Error:
            pass


#: The process's connection cache (see `ConnectionCache`).
CONNECTIONS = ConnectionCache()


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
        """A connection of this database, for this caller alone until the
        block ends (then it goes back to the process's cache; after an
        exception it is closed instead, whatever state it was left in)."""
        conn = CONNECTIONS.checkout(self.db_file, self.timeout)
        try:
            yield conn
        except BaseException:
            CONNECTIONS.discard(conn)
            raise
        CONNECTIONS.checkin(self.db_file, conn)

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
                _create_sync_tables(conn)
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


    # --- replication (swift.common.db_replicator) --------------------------
    #
    # Each replica has its own ``id``.  ``incoming_sync`` records, per remote
    # id, the highest ROWID of that remote's item table already merged here;
    # ``outgoing_sync`` records, per remote id, how far this replica has
    # pushed its own rows there.  Every change to a row gives it a new ROWID
    # (delete + insert), so "rows with ROWID > sync point" is exactly what a
    # peer may be missing.

    item_table = None       # 'object' or 'container'
    item_columns = ()       # replicated columns besides ROWID
    hash_columns = ()       # what identifies a row's state for the sync hash

    def get_replication_info(self):
        """The stat row plus ``max_row``, ``count`` (item rows, deleted ones
        included) and ``hash`` (XOR of the md5 of every row's state: equal
        on two replicas holding the same rows)."""
        with self.get() as conn:
            info = dict(self._stat(conn))
            row = conn.execute('SELECT max(ROWID), count(*) FROM %s'
                               % self.item_table).fetchone()
            info['max_row'] = row[0] if row[0] is not None else -1
            info['count'] = row[1]
            digest = 0
            for item in conn.execute('SELECT %s FROM %s' % (
                    ', '.join(self.hash_columns), self.item_table)):
                text = '\x00'.join(str(value) for value in item)
                digest ^= int(hashlib.md5(text.encode('utf-8')).hexdigest(),
                              16)
            info['hash'] = '%032x' % digest
        return info

    def get_items_since(self, start, count):
        """Up to ``count`` item rows with ROWID > ``start``, in ROWID order,
        as dicts (with their ``ROWID``)."""
        with self.get() as conn:
            rows = conn.execute(
                'SELECT ROWID, %s FROM %s WHERE ROWID > ? ORDER BY ROWID '
                'LIMIT ?' % (', '.join(self.item_columns), self.item_table),
                (int(start), int(count))).fetchall()
        return [dict(zip(('ROWID',) + tuple(self.item_columns), row))
                for row in rows]

    def merge_items(self, items, source=None):
        """Merge rows from another replica (newest state per name wins).

        With ``source`` (the sender's id) the incoming sync point for it
        moves to the highest ROWID among ``items``.  Raises ValueError on a
        malformed row before anything is written.
        """
        rows = [self._validate_item(item) for item in items]
        with self.transaction() as conn:
            for row in rows:
                self._merge_item_row(conn, row)
            if source and rows:
                _upsert_sync(conn, 'incoming_sync', source,
                             max(row['ROWID'] for row in rows))

    def _validate_item(self, item):
        raise NotImplementedError

    def _merge_item_row(self, conn, row):
        raise NotImplementedError

    def get_sync(self, remote_id, incoming=True):
        """The sync point recorded for ``remote_id`` (-1 when none)."""
        with self.get() as conn:
            table = 'incoming_sync' if incoming else 'outgoing_sync'
            if not _has_table(conn, table):
                return -1
            row = conn.execute('SELECT sync_point FROM %s WHERE remote_id = ?'
                               % table, (remote_id,)).fetchone()
        return row[0] if row else -1

    def get_syncs(self, incoming=True):
        """[{'remote_id': ..., 'sync_point': ...}] of one sync table."""
        with self.get() as conn:
            table = 'incoming_sync' if incoming else 'outgoing_sync'
            if not _has_table(conn, table):
                return []
            return [{'remote_id': row[0], 'sync_point': row[1]}
                    for row in conn.execute(
                        'SELECT remote_id, sync_point FROM %s' % table)]

    def merge_syncs(self, syncs, incoming=True):
        """Raise sync points to the given ones (never lowers a point)."""
        checked = []
        for sync in syncs:
            remote_id, point = sync['remote_id'], int(sync['sync_point'])
            if not isinstance(remote_id, str) or not remote_id:
                raise ValueError('bad remote_id %r' % (remote_id,))
            checked.append((remote_id, point))
        with self.transaction() as conn:
            for remote_id, point in checked:
                _upsert_sync(conn, 'incoming_sync' if incoming
                             else 'outgoing_sync', remote_id, point)

    def newid(self, remote_id):
        """Make this (freshly copied) database a replica of its own.

        It gets a new id, already holds every row of ``remote_id`` (it is a
        copy of it), and forgets the copied outgoing sync points, which
        described the other replica's pushes, not ours.
        """
        with self.transaction() as conn:
            _create_sync_tables(conn)
            conn.execute('UPDATE %s SET id = ?' % self.stat_table,
                         (str(uuid.uuid4()),))
            conn.execute('DELETE FROM outgoing_sync')
            row = conn.execute('SELECT max(ROWID) FROM %s'
                               % self.item_table).fetchone()
            _upsert_sync(conn, 'incoming_sync', remote_id,
                         row[0] if row[0] is not None else -1)

    def merge_timestamps(self, created_at, put_timestamp, delete_timestamp):
        """Take the newest put/delete of the account or container itself
        from another replica (so a DELETE or re-PUT spreads)."""
        put_timestamp = normalize_timestamp(put_timestamp)
        delete_timestamp = normalize_timestamp(delete_timestamp)
        created_at = normalize_timestamp(created_at)
        with self.transaction() as conn:
            old = self._stat(conn)
            put = max(put_timestamp, old['put_timestamp'])
            delete = max(delete_timestamp, old['delete_timestamp'])
            created = min(created_at, old['created_at'])
            if (put, delete, created) == (old['put_timestamp'],
                                          old['delete_timestamp'],
                                          old['created_at']):
                return False
            conn.execute('UPDATE %s SET put_timestamp = ?, '
                         'delete_timestamp = ?, created_at = ?'
                         % self.stat_table, (put, delete, created))
            if self.db_type == 'account':
                status = 'DELETED' if delete > put else ''
                if status != old['status']:
                    conn.execute('UPDATE account_stat SET status = ?, '
                                 'status_changed_at = ?',
                                 (status, max(put, delete)))
            elif delete > put:
                self._clear_metadata(conn, delete)
            return True

    def reclaim(self, age_timestamp):
        """Forget deleted rows older than ``age_timestamp``: by then every
        replica has had the time to learn of the delete."""
        with self.transaction() as conn:
            return self._reclaim_rows(conn, normalize_timestamp(age_timestamp))

    def _reclaim_rows(self, conn, age_timestamp):
        raise NotImplementedError


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

    item_table = 'object'
    item_columns = ('name', 'created_at', 'size', 'content_type', 'etag',
                    'deleted')
    hash_columns = ('name', 'created_at', 'deleted')

    def _validate_item(self, item):
        try:
            row = {'ROWID': int(item['ROWID']), 'name': item['name'],
                   'created_at': normalize_timestamp(item['created_at']),
                   'size': int(item['size']),
                   'content_type': item['content_type'],
                   'etag': item['etag'],
                   'deleted': 1 if int(item['deleted']) else 0}
        except (KeyError, TypeError) as err:
            raise ValueError('bad object row %r: %s' % (item, err))
        for key in ('name', 'content_type', 'etag'):
            if not isinstance(row[key], str):
                raise ValueError('bad object row %r: %s' % (item, key))
        if not row['name']:
            raise ValueError('bad object row %r: empty name' % (item,))
        return row

    def _merge_item_row(self, conn, row):
        self._put_object_row(conn, row['name'], row['created_at'],
                             row['size'], row['content_type'], row['etag'],
                             row['deleted'])

    def _reclaim_rows(self, conn, age_timestamp):
        return conn.execute('DELETE FROM object WHERE deleted = 1 AND '
                            'created_at < ?', (age_timestamp,)).rowcount

    def put_object(self, name, timestamp, size, content_type, etag,
                   deleted=0, only_if_live=False):
        """Record an object PUT (or DELETE with ``deleted=1``).

        Returns True when this update is now the object's newest state,
        False when a newer (or equal) one was already recorded.  With
        ``only_if_live`` nothing is written and None returned when the
        container is deleted (see is_deleted) -- checked in the same
        transaction, which is also cheaper than asking first.
        """
        timestamp = normalize_timestamp(timestamp)
        size = int(size)
        deleted = 1 if deleted else 0
        with self.transaction() as conn:
            if only_if_live:
                stat = conn.execute(
                    'SELECT object_count, put_timestamp, delete_timestamp '
                    'FROM container_stat').fetchone()
                if stat['object_count'] == 0 and \
                        stat['delete_timestamp'] > stat['put_timestamp']:
                    return None
            return self._put_object_row(conn, name, timestamp, size,
                                        content_type, etag, deleted)

    @staticmethod
    def _put_object_row(conn, name, timestamp, size, content_type, etag,
                        deleted):
        old = conn.execute('SELECT created_at, size, deleted FROM object '
                           'WHERE name = ?', (name,)).fetchone()
        if old is not None and old['created_at'] >= timestamp:
            return False
        count_delta = (0 if deleted else 1) - \
            (0 if old is None or old['deleted'] else 1)
        bytes_delta = (0 if deleted else size) - \
            (0 if old is None or old['deleted'] else old['size'])
        # Delete + insert rather than UPDATE: the row gets a new, higher
        # ROWID, which is how the replicator finds "rows changed since the
        # last sync point".
        conn.execute('DELETE FROM object WHERE name = ?', (name,))
        conn.execute('INSERT INTO object (name, created_at, size, '
                     'content_type, etag, deleted) '
                     'VALUES (?, ?, ?, ?, ?, ?)',
                     (name, timestamp, size, content_type, etag, deleted))
        if count_delta or bytes_delta:
            conn.execute('UPDATE container_stat SET '
                         'object_count = object_count + ?, '
                         'bytes_used = bytes_used + ?',
                         (count_delta, bytes_delta))
        return True

    def delete_object(self, name, timestamp, only_if_live=False):
        return self.put_object(name, timestamp, 0, 'application/deleted',
                               'noetag', deleted=1,
                               only_if_live=only_if_live)

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

    item_table = 'container'
    item_columns = ('name', 'put_timestamp', 'delete_timestamp',
                    'object_count', 'bytes_used', 'deleted')
    hash_columns = ('name', 'put_timestamp', 'delete_timestamp', 'deleted')

    def _validate_item(self, item):
        try:
            row = {'ROWID': int(item['ROWID']), 'name': item['name'],
                   'put_timestamp': normalize_timestamp(
                       item['put_timestamp']),
                   'delete_timestamp': normalize_timestamp(
                       item['delete_timestamp']),
                   'object_count': int(item['object_count']),
                   'bytes_used': int(item['bytes_used'])}
        except (KeyError, TypeError) as err:
            raise ValueError('bad container row %r: %s' % (item, err))
        if not isinstance(row['name'], str) or not row['name']:
            raise ValueError('bad container row %r: name' % (item,))
        return row

    def _merge_item_row(self, conn, row):
        self._put_container_row(conn, row['name'], row['put_timestamp'],
                                row['delete_timestamp'], row['object_count'],
                                row['bytes_used'], replicated=True)

    def _reclaim_rows(self, conn, age_timestamp):
        return conn.execute('DELETE FROM container WHERE deleted = 1 AND '
                            'delete_timestamp < ?', (age_timestamp,)).rowcount

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
            return self._put_container_row(conn, name, put_timestamp,
                                           delete_timestamp, object_count,
                                           bytes_used)

    @staticmethod
    def _put_container_row(conn, name, put_timestamp, delete_timestamp,
                           object_count, bytes_used, replicated=False):
        """See put_container; with ``replicated`` (a row from another
        replica) the incoming counts only win when the row brings a newer
        put or delete timestamp, so a stale replica cannot roll counts back.
        Returns whether the row is live; None when nothing changed."""
        old = conn.execute('SELECT * FROM container WHERE name = ?',
                           (name,)).fetchone()
        if old is not None:
            if replicated and put_timestamp <= old['put_timestamp'] and \
                    delete_timestamp <= old['delete_timestamp']:
                return None
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
        # Delete + insert: a changed row gets a new ROWID (see
        # ContainerBroker._put_object_row).
        conn.execute('DELETE FROM container WHERE name = ?', (name,))
        conn.execute('INSERT INTO container (name, put_timestamp, '
                     'delete_timestamp, object_count, bytes_used, '
                     'deleted) VALUES (?, ?, ?, ?, ?, ?)',
                     (name, put_timestamp, delete_timestamp,
                      object_count, bytes_used, deleted))
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
            cursor = conn.cursor()
            cursor.row_factory = None  # plain tuples: cheaper than Row
            rows = cursor.execute(query, args).fetchall()
            if not rows:
                break
            jumped = False
            for row in rows:
                name = row[0]
                marker = name
                if len(results) >= limit:
                    return results
                if not delimiter:
                    results.append(row)
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
                results.append(row)
            if not jumped and len(rows) < args[-1]:
                break
    return results


def _now():
    return time.time()


def _create_sync_tables(conn):
    for table in ('incoming_sync', 'outgoing_sync'):
        conn.execute('CREATE TABLE IF NOT EXISTS %s ('
                     'remote_id TEXT PRIMARY KEY, '
                     'sync_point INTEGER NOT NULL, '
                     "updated_at TEXT NOT NULL DEFAULT '0')" % table)


def _has_table(conn, table):
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                        'AND name = ?', (table,)).fetchone() is not None


def _upsert_sync(conn, table, remote_id, point):
    """Raise ``table``'s sync point for ``remote_id`` to ``point``.

    Databases made before the sync tables existed get them here."""
    _create_sync_tables(conn)
    conn.execute('INSERT INTO %s (remote_id, sync_point, updated_at) '
                 'VALUES (?, ?, ?) ON CONFLICT(remote_id) DO UPDATE SET '
                 'sync_point = max(sync_point, excluded.sync_point), '
                 'updated_at = excluded.updated_at' % table,
                 (remote_id, int(point), normalize_timestamp(_now())))
