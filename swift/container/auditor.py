"""swift-container-auditor: checks every container DB, quarantines broken ones.

See swift.common.db_replicator.DatabaseAuditor.
"""

from swift.common.db import ContainerBroker
from swift.common.db_replicator import DatabaseAuditor
from swift.container.server import DATADIR


class ContainerAuditor(DatabaseAuditor):
    server_type = 'container'
    datadir = DATADIR
    broker_class = ContainerBroker
