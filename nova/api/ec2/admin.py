"""AdminController: the actions of ``/services/Admin`` (cloud admins only).

Users, projects, roles and membership through the auth manager, instance
types, hosts, and X.509 credentials.  nova's admin client sends
``Version=nova``; dated versions are accepted as well.

Fixed on purpose: RegisterProject keeps the description and members it is
given (the original dropped them), and DescribeHosts/DescribeHost work
(the original called database functions that did not exist).
"""

import base64

from nova import exception
from nova import flags
from nova import service
from nova.api.ec2 import cloud
from nova.auth import manager
from nova.compute import instance_types
from nova.db import api as db

FLAGS = flags.FLAGS

_single = cloud._single
_as_list = cloud._as_list


def user_dict(user, credentials=None):
    return {'username': user.id, 'accesskey': user.access,
            'secretkey': user.secret,
            'file': base64.b64encode(credentials).decode('ascii')
            if credentials else None}


def project_dict(project):
    return {'projectname': project.id,
            'projectManagerId': project.project_manager_id,
            'description': project.description}


def _bool(value, name):
    value = _single(value, name)
    if value is None:
        return None
    if value.lower() in ('true', '1', 'yes'):
        return True
    if value.lower() in ('false', '0', 'no'):
        return False
    raise exception.InvalidParameterValue(
        reason='%s must be true or false, not %r.' % (name, value))


def _operation(value):
    operation = _single(value, 'Operation', required=True)
    if operation not in ('add', 'remove'):
        raise exception.InvalidParameterValue(
            reason='Operation must be add or remove, not %r.' % operation)
    return operation


class AdminController:
    """Cloud administration over the EC2 Query protocol."""

    EXTRA_VERSIONS = ('nova',)
    # No roles listed: superusers only (see nova.api.ec2.Authorizer).
    ACTIONS = {name: () for name in (
        'DescribeInstanceTypes', 'DescribeUser', 'DescribeUsers',
        'RegisterUser', 'DeregisterUser', 'DescribeRoles',
        'DescribeUserRoles', 'ModifyUserRole', 'GenerateX509ForUser',
        'DescribeProject', 'DescribeProjects', 'RegisterProject',
        'ModifyProject', 'DeregisterProject', 'DescribeProjectMembers',
        'ModifyProjectMember', 'DescribeHosts', 'DescribeHost')}

    def __init__(self, auth=None):
        self._auth = auth

    @property
    def auth(self):
        if self._auth is None:
            self._auth = manager.AuthManager()
        return self._auth

    def _user(self, name, param='Name'):
        name = _single(name, param, required=True)
        user = self.auth.get_user(name)
        if user is None:
            raise exception.UserNotFound(user_id=name)
        return user

    def _project(self, name, param='Name'):
        name = _single(name, param, required=True)
        project = self.auth.get_project(name)
        if project is None:
            raise exception.ProjectNotFound(project_id=name)
        return project

    # -- instance types ----------------------------------------------------------

    def describe_instance_types(self, context):
        types = instance_types.get_all_types()
        return {'instanceTypeSet': [
            {'name': name, 'memory_mb': t['memory_mb'], 'vcpus': t['vcpus'],
             'disk_gb': t['local_gb'], 'flavor_id': t['flavorid']}
            for name, t in sorted(types.items())]}

    # -- users -------------------------------------------------------------------

    def describe_user(self, context, name=None):
        return user_dict(self._user(name))

    def describe_users(self, context):
        return {'userSet': [user_dict(u) for u in self.auth.get_users()]}

    def register_user(self, context, name=None):
        name = _single(name, 'Name', required=True)
        return user_dict(self.auth.create_user(name))

    def deregister_user(self, context, name=None):
        self.auth.delete_user(self._user(name))
        return True

    def generate_x509_for_user(self, context, name=None, project=None):
        user = self._user(name)
        project = self._project(project or user.id, 'Project')
        return user_dict(user, self.auth.get_credentials(user, project))

    # -- roles -------------------------------------------------------------------

    def describe_roles(self, context, project_roles=None):
        only_project = _bool(project_roles, 'ProjectRoles')
        roles = self.auth.get_roles(bool(only_project))
        return {'roles': [{'role': r} for r in roles]}

    def describe_user_roles(self, context, user=None, project=None):
        user = self._user(user, 'User')
        project = self._project(project, 'Project') if project else None
        roles = self.auth.get_user_roles(user, project)
        return {'roles': [{'role': r} for r in roles]}

    def modify_user_role(self, context, user=None, role=None, project=None,
                         operation=None):
        user = self._user(user, 'User')
        role = _single(role, 'Role', required=True)
        project = self._project(project, 'Project') if project else None
        if _operation(operation) == 'add':
            self.auth.add_role(user, role, project)
        else:
            self.auth.remove_role(user, role, project)
        return True

    # -- projects ----------------------------------------------------------------

    def describe_project(self, context, name=None):
        return project_dict(self._project(name))

    def describe_projects(self, context, user=None):
        owner = self._user(user, 'User') if user else None
        return {'projectSet': [project_dict(p)
                               for p in self.auth.get_projects(owner)]}

    def register_project(self, context, name=None, manager_user=None,
                         description=None, member_users=None):
        name = _single(name, 'Name', required=True)
        manager_user = self._user(manager_user, 'ManagerUser')
        members = [self._user(m, 'MemberUsers')
                   for m in _as_list(member_users, 'MemberUsers')]
        project = self.auth.create_project(
            name, manager_user, _single(description, 'Description'),
            members)
        return project_dict(project)

    def modify_project(self, context, name=None, manager_user=None,
                       description=None):
        project = self._project(name)
        manager_user = self._user(manager_user, 'ManagerUser') \
            if manager_user else None
        self.auth.modify_project(project, manager_user,
                                 _single(description, 'Description'))
        return True

    def deregister_project(self, context, name=None):
        self.auth.delete_project(self._project(name))
        return True

    def describe_project_members(self, context, name=None):
        project = self._project(name)
        return {'members': [{'member': m} for m in project.member_ids]}

    def modify_project_member(self, context, user=None, project=None,
                              operation=None):
        user = self._user(user, 'User')
        project = self._project(project, 'Project')
        if _operation(operation) == 'add':
            self.auth.add_to_project(user, project)
        else:
            self.auth.remove_from_project(user, project)
        return True

    # -- hosts -------------------------------------------------------------------

    def _hosts(self, context):
        hosts = {}
        for svc in db.service_get_all(context.elevated()):
            hosts.setdefault(svc['host'], []).append(svc)
        return hosts

    @staticmethod
    def _host_dict(host, services, instance_count):
        return {
            'hostname': host,
            'availabilityZone': services[0]['availability_zone'],
            'instanceCount': instance_count,
            'serviceSet': [{
                'binary': s['binary'], 'topic': s['topic'],
                'enabled': not s['disabled'],
                'up': service.service_is_up(s),
                'updatedAt': s['updated_at'] or s['created_at']}
                for s in sorted(services, key=lambda s: s['binary'])]}

    def describe_hosts(self, context):
        hosts = self._hosts(context)
        admin = context.elevated()
        return {'hostSet': [
            self._host_dict(h, hosts[h],
                            len(db.instance_get_all_by_host(admin, h)))
            for h in sorted(hosts)]}

    def describe_host(self, context, name=None):
        name = _single(name, 'Name', required=True)
        hosts = self._hosts(context)
        if name not in hosts:
            raise exception.HostNotFound(host=name)
        admin = context.elevated()
        return self._host_dict(name, hosts[name],
                               len(db.instance_get_all_by_host(admin, name)))

