"""swift-account-replicator: keeps account DB replicas in step.

See swift.common.db_replicator for the protocol.  An account DB is removed
once it was DELETEd more than ``reclaim_age`` seconds ago and the account
reaper has emptied it (no containers left); an account whose reaping is
unfinished keeps its DB, because that DB is the reaper's list of work.
"""

from swift.account.server import DATADIR
from swift.common.db import AccountBroker
from swift.common.db_replicator import Replicator


class AccountReplicator(Replicator):
    server_type = 'account'
    datadir = DATADIR
    broker_class = AccountBroker
    default_port = 6002

    def reclaimable(self, info, reclaim_point):
        return (info['status'] == 'DELETED'
                and info['container_count'] == 0
                and float(info['delete_timestamp']) < reclaim_point)
