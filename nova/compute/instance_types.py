"""Instance types (flavors): the sizes instances come in, kept in the DB.

The five m1.* types are inserted by the schema migration; operators add and
remove others with ``nova-manage instance_type``.  Deleting a type is a soft
delete, so instances created with it still know their size.
"""

from nova import context as nova_context
from nova import exception
from nova import flags
from nova import log as logging
from nova.db import api as db

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

flags.DEFINE_string('default_instance_type', 'm1.small',
                    'instance type used when a request names none')

_NAME_MAX = 255


def _whole(name, value, minimum):
    """``value`` as an int >= minimum, or InvalidInput naming the field."""
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise exception.InvalidInput(
            reason='%s must be a whole number, not %r' % (name, value)) \
            from None
    if number < minimum:
        raise exception.InvalidInput(
            reason='%s must be at least %d, not %d' % (name, minimum, number))
    return number


def validate(name, memory, vcpus, local_gb, flavorid, swap=0, rxtx_quota=0,
             rxtx_cap=0):
    """The values of a new type as a dict, or InvalidInput naming the field."""
    if not isinstance(name, str) or not name.strip():
        raise exception.InvalidInput(reason='instance type name is empty')
    name = name.strip()
    if len(name) > _NAME_MAX:
        raise exception.InvalidInput(
            reason='instance type name is longer than %d characters'
            % _NAME_MAX)
    return {'name': name,
            'memory_mb': _whole('memory_mb', memory, 1),
            'vcpus': _whole('vcpus', vcpus, 1),
            'local_gb': _whole('local_gb', local_gb, 0),
            'flavorid': _whole('flavorid', flavorid, 0),
            'swap': _whole('swap', swap, 0),
            'rxtx_quota': _whole('rxtx_quota', rxtx_quota, 0),
            'rxtx_cap': _whole('rxtx_cap', rxtx_cap, 0)}


def create(name, memory, vcpus, local_gb, flavorid, swap=0, rxtx_quota=0,
           rxtx_cap=0):
    """Add a type; Duplicate when the name or flavorid is taken."""
    values = validate(name, memory, vcpus, local_gb, flavorid, swap,
                      rxtx_quota, rxtx_cap)
    ctxt = nova_context.get_admin_context()
    # Checked first for a clear message; the unique constraints still
    # guard against a concurrent create.
    for lookup, key, what in (
            (db.instance_type_get_by_name, 'name', 'name'),
            (db.instance_type_get_by_flavor_id, 'flavorid', 'flavorid')):
        try:
            lookup(ctxt, values[key])
        except exception.InstanceTypeNotFound:
            continue
        raise exception.Duplicate('an instance type with %s %s already '
                                  'exists' % (what, values[key]))
    row = db.instance_type_create(ctxt, values)
    LOG.info('created instance type %s', values['name'])
    return row


def destroy(name):
    """Soft-delete a type by name; InstanceTypeNotFound if there is none."""
    if not name:
        raise exception.InvalidInput(reason='no instance type name given')
    db.instance_type_destroy(nova_context.get_admin_context(), name)
    LOG.info('deleted instance type %s', name)


def get_all_types(inactive=False):
    """{name: type dict} of every type (``inactive`` adds deleted ones)."""
    rows = db.instance_type_get_all(nova_context.get_admin_context(),
                                    inactive=inactive)
    return {row['name']: dict(row) for row in rows}


def get_default_instance_type():
    return get_instance_type_by_name(FLAGS.default_instance_type)


def get_instance_type_by_name(name):
    """The type called ``name`` (the default type when ``name`` is empty)."""
    if name is None or name == '':
        name = FLAGS.default_instance_type
    if not isinstance(name, str):
        raise exception.InstanceTypeNotFound(instance_type=name)
    return dict(db.instance_type_get_by_name(
        nova_context.get_admin_context(), name))


def get_instance_type_by_flavor_id(flavor_id):
    return dict(db.instance_type_get_by_flavor_id(
        nova_context.get_admin_context(), flavor_id))


def get_instance_type(instance_type):
    """Resolve a name, a row/dict with ``id``/``name``, or None (default)."""
    if instance_type is None or isinstance(instance_type, str):
        return get_instance_type_by_name(instance_type)
    if hasattr(instance_type, 'get') and instance_type.get('name'):
        return get_instance_type_by_name(instance_type['name'])
    raise exception.InstanceTypeNotFound(instance_type=instance_type)
