"""Base for the background daemons (updaters, auditors, replicators).

A subclass implements ``run_once()`` (one full pass) and ``run_forever()``
(passes separated by its ``interval``); ``run_daemon`` is what a
``bin/swift-*`` launcher calls: ``run_daemon(ObjectUpdater, conf_file,
'object-updater', once='once' in argv)``.
"""

import os
import signal
import sys

from swift.common.utils import (drop_privileges, get_logger, readconf,
                                set_swift_dir)


class Daemon:
    """A daemon configured by one ini section (merged with [DEFAULT])."""

    def __init__(self, conf):
        self.conf = conf
        self.logger = get_logger(conf, conf.get('log_name', 'swift-daemon'))

    def run_once(self, *args, **kwargs):
        raise NotImplementedError('run_once not implemented')

    def run_forever(self, *args, **kwargs):
        raise NotImplementedError('run_forever not implemented')

    def run(self, once=False, **kwargs):
        """Drop privileges if asked, handle SIGTERM, then run."""
        user = self.conf.get('user')
        if user and os.geteuid() == 0:
            drop_privileges(user)

        def _terminate(signum, frame):
            self.logger.info('SIGTERM received, exiting')
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)

        signal.signal(signal.SIGTERM, _terminate)
        if once:
            self.run_once(**kwargs)
        else:
            self.run_forever(**kwargs)


def run_daemon(klass, conf_file, section_name='', once=False, **kwargs):
    """Load ``section_name`` from ``conf_file`` and run ``klass`` with it."""
    if not os.path.exists(conf_file):
        raise SystemExit('Unable to read config file %s' % conf_file)
    all_conf = readconf(conf_file)
    section_name = section_name or klass.__name__.lower()
    if section_name not in all_conf:
        raise SystemExit('Unable to find %s config section in %s'
                         % (section_name, conf_file))
    conf = dict(all_conf['DEFAULT'])
    conf.update(all_conf[section_name])
    conf['__file__'] = conf_file
    conf.setdefault('log_name', section_name)
    set_swift_dir(conf.get('swift_dir', '/etc/swift'))
    klass(conf).run(once=once, **kwargs)
