"""Run a bin/swift-*-server script under cProfile, counting CPU time.

    python _cprofile_server.py OUT_PREFIX bin/swift-object-server CONF

Used by swift_cpu_profile.py --cprofile.  Profiling starts at SIGUSR1 and
pauses at SIGUSR2 (so start-up is left out); the stats of each process go
to ``OUT_PREFIX.<pid>`` when the server exits through
swift.common.wsgi._flush_and_exit (SIGTERM / SIGHUP).  The timer is
process CPU time, so time spent blocked (fsync, waiting for sockets) does
not count; greenthread switches make the call tree approximate, the
per-function self times are what to read.
"""

import cProfile
import os
import runpy
import signal
import sys
import time


def main():
    out_prefix, script = sys.argv[1], sys.argv[2]
    sys.argv = sys.argv[2:]
    top = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    sys.path.insert(0, top)
    from swift.common import wsgi
    profiler = cProfile.Profile(time.process_time)
    original_exit = wsgi._flush_and_exit

    def dump_then_exit(code):
        profiler.disable()
        profiler.dump_stats('%s.%d' % (out_prefix, os.getpid()))
        original_exit(code)

    wsgi._flush_and_exit = dump_then_exit
    signal.signal(signal.SIGUSR1, lambda *a: profiler.enable())
    signal.signal(signal.SIGUSR2, lambda *a: profiler.disable())
    runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
    main()
