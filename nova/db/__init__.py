"""nova's datastore: ``from nova import db; db.instance_get(ctx, 1)``.

Everything is in nova.db.api, the one facade over the database.
"""

from nova.db.api import *  # noqa: F401,F403
