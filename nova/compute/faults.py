"""Why an instance failed, kept where users can read it.

A failure is stored as an ``instance_actions`` row (action, error text) and
the instance's ``state_description`` becomes ``error`` when it cannot run.
``compute.api.API.get`` reports the newest such row as the instance's
``fault`` ({'action', 'message', 'created_at'}).  The messages are short
one-line reasons; tracebacks stay in the service logs.
"""

from nova import exception
from nova import log as logging
from nova.compute import power_state
from nova.db import api as db

LOG = logging.getLogger(__name__)

ERROR = 'error'
_MAX_MESSAGE = 1024


def describe(exc):
    """A one-line reason from an exception, for users."""
    text = str(exc).strip().splitlines()
    text = text[0] if text else ''
    name = type(exc).__name__
    if isinstance(exc, exception.NovaException) and text:
        return text[:_MAX_MESSAGE]
    return ('%s: %s' % (name, text) if text else name)[:_MAX_MESSAGE]


def record(context, instance_id, action, reason):
    """Add a fault row; never raises (the instance may be gone)."""
    try:
        db.instance_action_create(context.elevated(), {
            'instance_id': instance_id, 'action': action,
            'error': str(reason)[:_MAX_MESSAGE]})
    except exception.InstanceNotFound:
        pass
    except Exception:  # noqa: BLE001 - recording must not mask the failure
        LOG.exception('could not record the failure of %s on instance %s',
                      action, instance_id)


def set_error(context, instance_id, action, reason,
              state=power_state.FAILED):
    """Record the reason and put the instance in state ``error``."""
    LOG.warning('instance %s: %s failed: %s', instance_id, action, reason,
                context=context)
    record(context, instance_id, action, reason)
    try:
        db.instance_update(context.elevated(), instance_id,
                           {'state': state, 'state_description': ERROR})
    except exception.InstanceNotFound:
        pass
    except Exception:  # noqa: BLE001
        LOG.exception('could not set instance %s to error', instance_id)


def last_fault(context, instance_id):
    """The newest recorded failure of an instance, or None."""
    try:
        actions = db.instance_get_actions(context, instance_id)
    except exception.NotFound:
        return None
    for action in reversed(actions):
        if action['error']:
            return {'action': action['action'], 'message': action['error'],
                    'created_at': action['created_at']}
    return None
