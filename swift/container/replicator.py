"""swift-container-replicator: keeps container DB replicas in step.

See swift.common.db_replicator for the protocol.  A container DB is removed
once it was deleted (delete newer than its last PUT, no objects) more than
``reclaim_age`` seconds ago; by then every replica had the time to learn of
the delete.
"""

from swift.common.db import ContainerBroker
from swift.common.db_replicator import Replicator
from swift.container.server import DATADIR


class ContainerReplicator(Replicator):
    server_type = 'container'
    datadir = DATADIR
    broker_class = ContainerBroker
    default_port = 6001

    def reclaimable(self, info, reclaim_point):
        return (info['delete_timestamp'] > info['put_timestamp']
                and info['object_count'] == 0
                and float(info['delete_timestamp']) < reclaim_point)
