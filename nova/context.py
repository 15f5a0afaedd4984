"""The request context: who is asking, for which project, and why.

A context travels with every call from an API down to a driver, and inside
RPC messages as ``_context_*`` keys, so a service deep in the cloud logs and
authorizes with the identity of the original caller.
"""

import uuid

from nova import utils


def generate_request_id():
    return 'req-' + str(uuid.uuid4())


class RequestContext:

    def __init__(self, user_id, project_id, is_admin=None, roles=None,
                 read_deleted=False, remote_address=None, timestamp=None,
                 request_id=None, auth_token=None):
        self.user_id = user_id
        self.project_id = project_id
        self.roles = list(roles or [])
        if is_admin is None:
            is_admin = 'cloudadmin' in self.roles or 'admin' in self.roles
        self.is_admin = bool(is_admin)
        self.read_deleted = bool(read_deleted)
        self.remote_address = remote_address
        if timestamp is None:
            timestamp = utils.utcnow()
        if isinstance(timestamp, str):
            timestamp = utils.parse_isotime(timestamp)
        self.timestamp = timestamp
        self.request_id = request_id or generate_request_id()
        self.auth_token = auth_token

    # Older code and the original RPC format spoke of "user" and "project".
    @property
    def user(self):
        return self.user_id

    @property
    def project(self):
        return self.project_id

    def to_dict(self):
        return {'user_id': self.user_id,
                'project_id': self.project_id,
                'is_admin': self.is_admin,
                'roles': self.roles,
                'read_deleted': self.read_deleted,
                'remote_address': self.remote_address,
                'timestamp': utils.isotime(self.timestamp),
                'request_id': self.request_id,
                'auth_token': self.auth_token}

    @classmethod
    def from_dict(cls, values):
        known = ('user_id', 'project_id', 'is_admin', 'roles', 'read_deleted',
                 'remote_address', 'timestamp', 'request_id', 'auth_token')
        return cls(**{k: v for k, v in values.items() if k in known})

    def elevated(self, read_deleted=None):
        """A copy with admin rights, for the service's own bookkeeping."""
        ctx = self.from_dict(self.to_dict())
        ctx.is_admin = True
        if read_deleted is not None:
            ctx.read_deleted = read_deleted
        return ctx

    def __repr__(self):
        return ('<RequestContext %s user=%s project=%s admin=%s>'
                % (self.request_id, self.user_id, self.project_id,
                   self.is_admin))


def get_admin_context(read_deleted=False):
    return RequestContext(user_id=None, project_id=None, is_admin=True,
                          read_deleted=read_deleted)


def is_user_context(context):
    """True when the context speaks for a user rather than the cloud itself."""
    return bool(context and not context.is_admin and context.user_id
                and context.project_id)
