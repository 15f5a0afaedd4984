"""Throwaway databases on the machine's MariaDB and PostgreSQL servers."""

import uuid


def make_database(request, kind, prefix='test'):
    """Create a uniquely named database; return (url, drop).

    ``kind`` is sqlite, mysql or postgres.  The server fixtures of
    tests/conftest.py fail the test with a clear message when the server
    is down.
    """
    name = '%s_%s' % (prefix, uuid.uuid4().hex[:10])
    if kind == 'sqlite':
        path = request.getfixturevalue('tmp_path') / ('%s.sqlite' % name)
        return 'sqlite:///%s' % path, lambda: None
    if kind == 'mysql':
        import pymysql
        request.getfixturevalue('mysql_server')

        def run(sql):
            conn = pymysql.connect(host='127.0.0.1', port=3306, user='root')
            try:
                conn.cursor().execute(sql)
            finally:
                conn.close()
        run('CREATE DATABASE %s CHARACTER SET utf8mb4' % name)
        return ('mysql+pymysql://root@127.0.0.1:3306/%s' % name,
                lambda: run('DROP DATABASE IF EXISTS %s' % name))
    if kind == 'postgres':
        import psycopg
        request.getfixturevalue('postgres_server')
        dsn = 'host=127.0.0.1 port=5432 user=postgres dbname=postgres'

        def run(sql):
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(sql)
        run('CREATE DATABASE %s' % name)
        return ('postgresql+psycopg://postgres@127.0.0.1:5432/%s' % name,
                lambda: run('DROP DATABASE IF EXISTS %s WITH (FORCE)' % name))
    raise ValueError('unknown database kind %r' % kind)
