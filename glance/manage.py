"""glance-manage: the registry database's schema.

    glance-manage [--sql-connection URL | --config-file F] db_sync [VERSION]
    glance-manage [...] db_version
    glance-manage [...] downgrade VERSION      (VERSION 'base' drops all)
"""

import argparse
import sys

from glance.registry.db import migration


def _sql_connection(args):
    if args.sql_connection:
        return args.sql_connection
    if args.config_file:
        from paste import deploy
        conf = deploy.appconfig('config:%s' % args.config_file,
                                name='glance-registry',
                                relative_to='.')
        if conf.get('sql_connection'):
            return conf['sql_connection']
    return 'sqlite:///glance.sqlite'


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(prog='glance-manage',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--sql-connection', '--sql_connection')
    parser.add_argument('--config-file', help='glance-registry.conf')
    parser.add_argument('command', choices=('db_sync', 'db_version',
                                            'downgrade'))
    parser.add_argument('version', nargs='?')
    args = parser.parse_args(argv)
    engine = migration.make_engine(_sql_connection(args))
    try:
        if args.command == 'db_sync':
            migration.db_sync(engine, args.version or 'head')
            print(migration.db_version(engine), file=out)
        elif args.command == 'db_version':
            print(migration.db_version(engine) or 'none', file=out)
        else:
            if not args.version:
                parser.error('downgrade needs a VERSION')
            migration.db_downgrade(engine, args.version)
            print(migration.db_version(engine) or 'none', file=out)
    except Exception as e:  # noqa: BLE001 - a CLI reports, not tracebacks
        print('glance-manage %s failed: %s' % (args.command, e),
              file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0
