"""swift-init knows every server and daemon launcher in bin/."""

import os
import re

from swift.cli import init

BIN = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'bin')
KINDS = r'(server|replicator|auditor|updater|reaper)'


def test_every_daemon_launcher_is_known_and_the_other_way_round():
    launchers = {name[len('swift-'):] for name in os.listdir(BIN)
                 if re.match(r'^swift-(proxy|account|container|object)-%s$'
                             % KINDS, name)}
    assert launchers == set(init.ALL_SERVERS)
    assert {'object-replicator', 'object-auditor', 'object-updater',
            'container-replicator', 'container-updater', 'container-auditor',
            'account-replicator', 'account-auditor',
            'account-reaper'} == set(init.DAEMONS)


def test_short_names():
    assert init.server_name('object') == 'object-server'
    assert init.server_name('account-reaper') == 'account-reaper'
    assert init.conf_type('container-updater') == 'container'


def test_still_exiting_is_false_for_live_and_missing_processes():
    import os
    assert not init.still_exiting(os.getpid())  # cmdline is not empty
    assert not init.still_exiting(2 ** 22 + 1)  # above pid_max: no such pid
    assert not init.still_exiting(2)  # kthreadd: empty cmdline, pgrp 0
