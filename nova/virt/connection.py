"""Picks the hypervisor driver named by the ``connection_type`` flag."""

from nova import exception
from nova import flags
from nova import log as logging

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

flags.DEFINE_string('connection_type', 'libvirt',
                    'hypervisor driver of nova-compute: libvirt or fake')


def get_connection(read_only=False):
    """A ComputeDriver for this host.

    The driver modules are imported here, not at the top, so a host running
    the fake driver never needs the libvirt bindings installed.
    """
    kind = FLAGS.connection_type
    if kind == 'fake':
        from nova.virt import fake
        conn = fake.get_connection(read_only)
    elif kind == 'libvirt':
        from nova.virt.libvirt import connection as libvirt_conn
        conn = libvirt_conn.get_connection(read_only)
    else:
        raise exception.Invalid('unknown connection_type %r (expected '
                                'libvirt or fake)' % kind)
    if conn is None:
        raise exception.NovaException('failed to open a %s connection' % kind)
    return conn
