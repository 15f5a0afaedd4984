"""/flavors: the instance types, by their flavor id."""

from nova import exception
from nova.api.openstack import common
from nova.api.openstack import faults
from nova.api.openstack import resource
from nova.compute import instance_types


class FlavorsController(resource.Controller):

    def _all(self):
        types = instance_types.get_all_types()
        return sorted(types.values(), key=lambda t: t['flavorid'])

    def _view(self, req, itype, detail):
        view = {'id': itype['flavorid'], 'name': itype['name']}
        if detail:
            view['ram'] = itype['memory_mb']
            view['disk'] = itype['local_gb']
            if self.version != '1.0':
                view['vcpus'] = itype['vcpus']
        links = common.links(req, 'flavors', itype['flavorid'], self.version)
        if links:
            view['links'] = links
        return view

    def index(self, req):
        flavors = common.paginate(self._all(), req, self.version,
                                  key='flavorid')
        return {'flavors': [self._view(req, f, False) for f in flavors]}

    def detail(self, req):
        flavors = common.paginate(self._all(), req, self.version,
                                  key='flavorid')
        return {'flavors': [self._view(req, f, True) for f in flavors]}

    def show(self, req, id):
        try:
            flavor_id = int(id)
            itype = instance_types.get_instance_type_by_flavor_id(flavor_id)
        except (ValueError, exception.InstanceTypeNotFound):
            raise faults.not_found('Flavor %s could not be found.' % id) \
                from None
        return {'flavor': self._view(req, itype, True)}
