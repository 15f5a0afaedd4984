"""nova-compute and nova-scheduler as processes, seen through nova-manage."""

import os
import signal
import subprocess
import sys

from tests.functional.nova import helpers


def _state(flagfile, binary):
    out = helpers.nova_manage(flagfile, 'service', 'list').stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[1] == binary:
            return fields[4]
    return None


def test_services_heartbeat_and_go_down(rabbit_vhost, tmp_path):
    flagfile = helpers.write_flagfile(str(tmp_path), report_interval=1,
                                      periodic_interval=1,
                                      service_down_time=5, host='ft-host',
                                      rabbit_virtual_host=rabbit_vhost,
                                      connection_type='fake')
    helpers.nova_manage(flagfile, 'db', 'sync')
    compute = helpers.Daemon('nova-compute', flagfile)
    scheduler = helpers.Daemon('nova-scheduler', flagfile)
    try:
        for daemon in (compute, scheduler):
            helpers.wait_for(
                lambda d=daemon: (_state(flagfile, d.binary) == ':-)'
                                  or not d.alive()),
                timeout=60, what='%s to report' % daemon.binary)
            assert daemon.alive(), daemon.output()
        compute.stop(signal.SIGKILL)
        helpers.wait_for(lambda: _state(flagfile, 'nova-compute') == 'XXX',
                         timeout=30, what='nova-compute to be shown down')
        assert _state(flagfile, 'nova-scheduler') == ':-)'

        helpers.nova_manage(flagfile, 'service', 'disable', 'ft-host',
                            'nova-scheduler')
        listing = helpers.nova_manage(flagfile, 'service', 'list').stdout
        assert 'disabled' in [l.split()[3] for l in listing.splitlines()
                              if 'nova-scheduler' in l][0]
        # SIGTERM is a clean stop.
        assert scheduler.stop() == 0, scheduler.output()
    finally:
        compute.stop(signal.SIGKILL)
        scheduler.stop(signal.SIGKILL)


def test_daemon_refuses_unknown_flags(tmp_path):
    flagfile = helpers.write_flagfile(str(tmp_path), no_such_flag_here=1)
    daemon = helpers.Daemon('nova-scheduler', flagfile)
    try:
        helpers.wait_for(lambda: not daemon.alive(), timeout=30,
                         what='nova-scheduler to exit')
    finally:
        code = daemon.stop()
    assert code == 2
    assert 'no_such_flag_here' in daemon.output()


def test_daemon_help(tmp_path):
    proc = subprocess.run([sys.executable,
                           os.path.join(helpers.BIN, 'nova-compute'),
                           '--help'], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0
    assert 'usage: nova-compute' in proc.stdout
    assert '--report_interval' in proc.stdout
