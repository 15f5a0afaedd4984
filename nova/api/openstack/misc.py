"""The small resources: backup schedules, shared IP groups, extensions.

Backup schedules and shared IP groups are Rackspace features nova never
had; reading them answers what is true (no schedule, no groups) and
changing them is a clear 501 ``notImplemented``.  No extensions are
loaded, so ``/extensions`` lists none.
"""

from nova.api.openstack import faults
from nova.api.openstack import resource
from nova.api.openstack import servers


class BackupScheduleController(resource.Controller):

    def index(self, req, server_id):
        # The server must exist and be visible, like every sub-resource.
        servers.ServersController(self.version).compute_api.get(
            resource.context_of(req), servers.instance_id(server_id))
        return {'backupSchedule': {'enabled': False, 'weekly': 'DISABLED',
                                   'daily': 'DISABLED'}}

    def create(self, req, server_id):
        raise faults.not_implemented('backup schedules are not supported')

    def delete(self, req, server_id, id=None):
        raise faults.not_implemented('backup schedules are not supported')


class SharedIpGroupsController(resource.Controller):

    def index(self, req):
        return {'sharedIpGroups': []}

    def detail(self, req):
        return {'sharedIpGroups': []}

    def show(self, req, id):
        raise faults.not_found('Shared IP group %s could not be found.' % id)

    def create(self, req):
        raise faults.not_implemented('shared IP groups are not supported')

    def update(self, req, id):
        raise faults.not_implemented('shared IP groups are not supported')

    def delete(self, req, id):
        raise faults.not_implemented('shared IP groups are not supported')


class ExtensionsController(resource.Controller):

    def index(self, req):
        return {'extensions': []}

    def show(self, req, id):
        raise faults.not_found('Extension %s could not be found.' % id)
