"""Who is calling glance, and what that caller may see and change."""


class RequestContext:
    """The caller of one request.

    ``project_id`` is the project (tenant) the caller acts for; images it
    creates belong to that project.  An admin sees and changes everything.
    """

    def __init__(self, user_id=None, project_id=None, is_admin=False,
                 roles=None, auth_token=None):
        self.user_id = user_id
        self.project_id = project_id
        self.is_admin = bool(is_admin)
        self.roles = list(roles or [])
        self.auth_token = auth_token

    def can_see(self, image):
        if self.is_admin or image.get('is_public'):
            return True
        owner = image.get('owner')
        return owner is not None and owner == self.project_id

    def can_modify(self, image):
        if self.is_admin:
            return True
        owner = image.get('owner')
        return owner is not None and owner == self.project_id

    def __repr__(self):
        return '<glance context user=%s project=%s admin=%s>' % (
            self.user_id, self.project_id, self.is_admin)


def open_context():
    """The caller of a service running without authentication.

    Glance's first releases had no identity at all: anyone could do
    anything.  ``auth_strategy = noauth`` keeps that behaviour, so every
    caller is an admin there.
    """
    return RequestContext(is_admin=True)
