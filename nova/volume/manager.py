"""nova-volume's manager: block volumes exported over iSCSI.

The foundation only binds it to the ``volume`` topics; volumes are the volume
service's work.
"""

from nova import manager


class VolumeManager(manager.Manager):
    """Manages the volumes of one storage host."""
