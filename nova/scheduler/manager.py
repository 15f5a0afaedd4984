"""nova-scheduler's manager: picks a host for each new instance or volume.

The foundation only binds it to the ``scheduler`` topic; placement drivers are
the compute issue's work.
"""

from nova import manager


class SchedulerManager(manager.Manager):
    """Chooses hosts for the other services' work."""
