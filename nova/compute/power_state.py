"""Power states of a guest as the hypervisor reports them.

The numbers are stored in ``instances.state`` and compared across services,
so they never change.
"""

NOSTATE = 0
RUNNING = 1
BLOCKED = 2
PAUSED = 3
SHUTDOWN = 4
SHUTOFF = 5
CRASHED = 6
SUSPENDED = 7
FAILED = 8
BUILDING = 9

_NAMES = {
    NOSTATE: 'pending',
    RUNNING: 'running',
    BLOCKED: 'blocked',
    PAUSED: 'paused',
    SHUTDOWN: 'shutdown',
    SHUTOFF: 'shutdown',
    CRASHED: 'crashed',
    SUSPENDED: 'suspended',
    FAILED: 'failed to spawn',
    BUILDING: 'building',
}


def name(code):
    """A short human name for ``code`` ('unknown' for a number we never set)."""
    return _NAMES.get(code, 'unknown')


def valid_states():
    return list(_NAMES)
