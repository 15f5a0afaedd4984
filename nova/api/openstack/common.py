"""Small helpers the OpenStack API controllers share.

Pagination: v1.0 pages with ``limit``/``offset`` (as Cloud Servers did),
v1.1 with ``limit``/``marker`` (the id of the last item seen).  ``limit``
is capped at ``osapi_max_limit``; a bad number or an unknown marker is a
400, never a silent empty page (a client looping on ``marker`` would
otherwise never stop).
"""

import datetime
import re

from nova import flags
from nova import utils
from nova.api.openstack import faults
from nova.compute import power_state

FLAGS = flags.FLAGS

flags.DEFINE_integer('osapi_max_limit', 1000,
                     'most items one OpenStack API list returns')


def _whole(name, text, minimum):
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise faults.bad_request('%s must be a whole number, not %r'
                                 % (name, text)) from None
    if value < minimum:
        raise faults.bad_request('%s must be at least %d' % (name, minimum))
    return value


def _limit(req):
    limit = req.GET.get('limit')
    if limit is None or limit == '':
        return FLAGS.osapi_max_limit
    limit = _whole('limit', limit, 0)
    if limit == 0:
        return FLAGS.osapi_max_limit
    return min(limit, FLAGS.osapi_max_limit)


def limited(items, req):
    """v1.0: the page of ``items`` that ``offset`` and ``limit`` select."""
    offset = req.GET.get('offset')
    offset = 0 if offset in (None, '') else _whole('offset', offset, 0)
    limit = _limit(req)
    return items[offset:offset + limit]


def limited_by_marker(items, req, key='id'):
    """v1.1: up to ``limit`` items after the one whose id is ``marker``."""
    limit = _limit(req)
    marker = req.GET.get('marker')
    start = 0
    if marker not in (None, ''):
        for index, item in enumerate(items):
            if str(item[key]) == str(marker):
                start = index + 1
                break
        else:
            raise faults.bad_request('marker %s not found' % marker)
    return items[start:start + limit]


def paginate(items, req, version, key='id'):
    if version == '1.0':
        return limited(items, req)
    return limited_by_marker(items, req, key)


def changes_since(req):
    """The ``changes-since`` time of a request (naive UTC), or None."""
    value = req.GET.get('changes-since')
    if value is None:
        return None
    try:
        return utils.parse_isotime(value)
    except (TypeError, ValueError):
        raise faults.bad_request('changes-since must be an ISO 8601 time, '
                                 'not %r' % value) from None


_TRAILING_ID = re.compile(r'/?(\d+)/?$')


def id_from_ref(ref, what):
    """The integer id from an id or a URL ending in one (imageRef...)."""
    if isinstance(ref, bool):
        ref = None
    if isinstance(ref, int):
        return ref
    if isinstance(ref, str):
        ref = ref.strip()
        if ref.isdigit():
            return int(ref)
        match = _TRAILING_ID.search(ref)
        if match and '/' in ref:
            return int(match.group(1))
    raise faults.bad_request('%s must be an id or a link to one, not %r'
                             % (what, ref))


def links(req, collection, item_id, version):
    """v1.1 self (versioned) and bookmark (unversioned) links of one item.

    ``application_url`` already ends in ``/v1.1/<project>`` (the auth
    middleware moved the project into SCRIPT_NAME).
    """
    if version == '1.0':
        return None
    base = req.application_url.rstrip('/')
    project = req.environ.get('nova.osapi.project_prefix', '')
    root = req.host_url.rstrip('/')
    return [{'rel': 'self', 'href': '%s/%s/%s' % (base, collection, item_id)},
            {'rel': 'bookmark', 'href': '%s%s/%s/%s'
             % (root, project, collection, item_id)}]


# -- server status -------------------------------------------------------------

_BY_DESCRIPTION = {
    'scheduling': 'BUILD', 'networking': 'BUILD', 'spawning': 'BUILD',
    'launching': 'BUILD', 'rebooting': 'REBOOT',
    'rebooting_hard': 'HARD_REBOOT', 'rescuing': 'RESCUE',
    'rescued': 'RESCUE', 'unrescuing': 'RESCUE', 'resizing': 'RESIZE',
    'reverting_resize': 'RESIZE', 'resize_verify': 'VERIFY_RESIZE',
    'rebuilding': 'BUILD', 'error': 'ERROR', 'terminating': 'DELETED',
    'terminated': 'DELETED', 'suspending': 'SUSPENDED',
    'resuming': 'SUSPENDED', 'pausing': 'PAUSED', 'unpausing': 'PAUSED',
    'updating_password': 'ACTIVE', 'snapshotting': 'ACTIVE',
}

_BY_POWER_STATE = {
    power_state.NOSTATE: 'BUILD', power_state.BUILDING: 'BUILD',
    power_state.RUNNING: 'ACTIVE', power_state.BLOCKED: 'ACTIVE',
    power_state.SHUTDOWN: 'ACTIVE', power_state.SHUTOFF: 'ACTIVE',
    power_state.PAUSED: 'PAUSED', power_state.SUSPENDED: 'SUSPENDED',
    power_state.CRASHED: 'ERROR', power_state.FAILED: 'ERROR',
}

_V11_OVERRIDES = {'rebuilding': 'REBUILD', 'updating_password': 'PASSWORD'}
_V11_POWER = {power_state.SHUTDOWN: 'SHUTOFF', power_state.SHUTOFF: 'SHUTOFF'}


def server_status(instance, version):
    """(status, progress) of an instance dict.

    The state description (what compute is doing) wins over the power
    state (what the hypervisor last said).
    """
    if instance.get('deleted'):
        return 'DELETED', 100
    description = instance.get('state_description')
    state = instance.get('state')
    status = None
    if version != '1.0':
        status = _V11_OVERRIDES.get(description)
    if status is None:
        status = _BY_DESCRIPTION.get(description)
    if status is None and version != '1.0':
        status = _V11_POWER.get(state)
    if status is None:
        status = _BY_POWER_STATE.get(state, 'UNKNOWN')
    progress = 0 if status in ('BUILD', 'REBUILD', 'RESIZE') else 100
    return status, progress


def isotime(value):
    if isinstance(value, datetime.datetime):
        return utils.isotime(value)
    return value
