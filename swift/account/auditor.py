"""swift-account-auditor: checks every account DB, quarantines broken ones.

See swift.common.db_replicator.DatabaseAuditor.
"""

from swift.account.server import DATADIR
from swift.common.db import AccountBroker
from swift.common.db_replicator import DatabaseAuditor


class AccountAuditor(DatabaseAuditor):
    server_type = 'account'
    datadir = DATADIR
    broker_class = AccountBroker
