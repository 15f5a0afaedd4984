"""Transaction ids: one per client request, shared by every log line and
every storage-node request that the client request causes."""

import uuid

ENV_KEY = 'swift.trans_id'


def new_trans_id():
    return 'tx' + uuid.uuid4().hex


def get_trans_id(env):
    """The request's transaction id, made (and kept in ``env``) if missing.

    The original accepted a client-supplied ``X-CF-Trans-Id``; a client could
    then make its requests look like somebody else's in the logs, so the id
    is always made here, by the first middleware that sees the request.
    """
    trans_id = env.get(ENV_KEY)
    if not trans_id:
        trans_id = new_trans_id()
        env[ENV_KEY] = trans_id
    return trans_id


def trans_id_headers(trans_id):
    """Headers that tell the client (and the storage nodes) the id."""
    return [('X-Trans-Id', trans_id), ('X-CF-Trans-Id', trans_id)]
