"""nova-compute's manager: runs guests on this host through a virt driver.

The foundation only binds it to the ``compute`` topics; running instances is
the compute service's work (see the compute issue).
"""

from nova import manager


class ComputeManager(manager.Manager):
    """Manages the guests of one compute host."""
