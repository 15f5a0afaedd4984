"""The SQL auth driver: users, projects and roles in nova's database.

The auth manager speaks to a driver in plain dicts so that another backend
(the original also had LDAP) can stand in without the manager changing:

    user:    {'id', 'name', 'access', 'secret', 'admin'}
    project: {'id', 'name', 'project_manager_id', 'description', 'member_ids'}
"""

from nova import context
from nova import exception
from nova.db import api as db


def _user_dict(row):
    if row is None:
        return None
    return {'id': row['id'], 'name': row['name'], 'access': row['access_key'],
            'secret': row['secret_key'], 'admin': bool(row['is_admin'])}


def _project_dict(row):
    if row is None:
        return None
    return {'id': row['id'], 'name': row['name'],
            'project_manager_id': row['project_manager'],
            'description': row['description'],
            'member_ids': sorted(member['id'] for member in row['members'])}


class DbDriver:

    def __init__(self):
        self.ctxt = context.get_admin_context()

    # -- users ------------------------------------------------------------------

    def get_user(self, uid):
        try:
            return _user_dict(db.user_get(self.ctxt, uid))
        except exception.NotFound:
            return None

    def get_user_from_access_key(self, access):
        try:
            return _user_dict(db.user_get_by_access_key(self.ctxt, access))
        except exception.NotFound:
            return None

    def get_users(self):
        return [_user_dict(row) for row in db.user_get_all(self.ctxt)]

    def create_user(self, name, access_key, secret_key, is_admin):
        values = {'id': name, 'name': name, 'access_key': access_key,
                  'secret_key': secret_key, 'is_admin': bool(is_admin)}
        return _user_dict(db.user_create(self.ctxt, values))

    def modify_user(self, uid, access_key=None, secret_key=None, admin=None):
        values = {}
        if access_key is not None:
            values['access_key'] = access_key
        if secret_key is not None:
            values['secret_key'] = secret_key
        if admin is not None:
            values['is_admin'] = bool(admin)
        if values:
            db.user_update(self.ctxt, uid, values)

    def delete_user(self, uid):
        db.user_delete(self.ctxt, uid)

    # -- projects ---------------------------------------------------------------

    def get_project(self, pid):
        try:
            return _project_dict(db.project_get(self.ctxt, pid))
        except exception.NotFound:
            return None

    def get_projects(self, uid=None):
        if uid is None:
            rows = db.project_get_all(self.ctxt)
        else:
            rows = db.project_get_by_user(self.ctxt, uid)
        return [_project_dict(row) for row in rows]

    def create_project(self, name, manager_uid, description, member_uids):
        values = {'id': name, 'name': name, 'project_manager': manager_uid,
                  'description': description}
        db.project_create(self.ctxt, values)
        for uid in set(member_uids) | {manager_uid}:
            db.project_add_member(self.ctxt, name, uid)
        return self.get_project(name)

    def modify_project(self, pid, manager_uid=None, description=None):
        values = {}
        if manager_uid is not None:
            values['project_manager'] = manager_uid
        if description is not None:
            values['description'] = description
        if values:
            db.project_update(self.ctxt, pid, values)
        if manager_uid is not None:
            project = self.get_project(pid)
            if manager_uid not in project['member_ids']:
                db.project_add_member(self.ctxt, pid, manager_uid)

    def add_to_project(self, uid, pid):
        db.project_add_member(self.ctxt, pid, uid)

    def remove_from_project(self, uid, pid):
        db.project_remove_member(self.ctxt, pid, uid)

    def delete_project(self, pid):
        db.project_delete(self.ctxt, pid)

    # -- roles ------------------------------------------------------------------

    def get_user_roles(self, uid, pid=None):
        if pid is None:
            return sorted(db.user_get_roles(self.ctxt, uid))
        return sorted(db.user_get_roles_for_project(self.ctxt, uid, pid))

    def add_role(self, uid, role, pid=None):
        if pid is None:
            db.user_add_role(self.ctxt, uid, role)
        else:
            db.user_add_project_role(self.ctxt, uid, pid, role)

    def remove_role(self, uid, role, pid=None):
        if pid is None:
            db.user_remove_role(self.ctxt, uid, role)
        else:
            db.user_remove_project_role(self.ctxt, uid, pid, role)
