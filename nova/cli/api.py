"""nova-api: serves the apps of api-paste.ini, each on its own port."""

import sys

from nova import flags
from nova import log as logging
from nova import service

FLAGS = flags.FLAGS

flags.DEFINE_string('ec2_listen', '0.0.0.0', 'address the EC2 API binds')
flags.DEFINE_integer('ec2_listen_port', None, 'port the EC2 API binds '
                     '(default: ec2_port)')
flags.DEFINE_string('osapi_listen', '0.0.0.0',
                    'address the OpenStack API binds')
flags.DEFINE_integer('osapi_listen_port', None, 'port the OpenStack API '
                     'binds (default: osapi_port)')
flags.DEFINE_list('enabled_apis', ['ec2', 'osapi'],
                  'apps of api-paste.ini that nova-api serves')

USAGE = '''usage: nova-api [--flagfile=FILE] [--flag=value ...]

Serves the EC2 API (ec2_listen:ec2_listen_port) and the OpenStack API
(osapi_listen:osapi_listen_port) from the paste.deploy file api_paste_config.'''


def _apps():
    ports = {'ec2': (FLAGS.ec2_listen, FLAGS.ec2_listen_port or FLAGS.ec2_port),
             'osapi': (FLAGS.osapi_listen,
                       FLAGS.osapi_listen_port or FLAGS.osapi_port)}
    apps = []
    for name in FLAGS.enabled_apis:
        if name not in ports:
            raise ValueError('unknown API %r in enabled_apis (ec2, osapi)'
                             % name)
        host, port = ports[name]
        apps.append((name, host, port))
    return apps


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    rest = service.parse_args(argv, USAGE)
    if len(rest) > 1:
        sys.stderr.write('nova-api: unexpected arguments: %s\n'
                         % ' '.join(rest[1:]))
        return 2
    service.verify_flags(argv[0])
    logging.setup('nova-api')
    try:
        server = service.WSGIService(_apps())
    except Exception as e:
        sys.stderr.write('nova-api: %s\n' % e)
        return 1
    service.write_pidfile()
    service.serve(server)
    return 0
