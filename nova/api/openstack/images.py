"""/images: the images the project may use; create = snapshot a server.

Image ids are the image service's integer ids (the original hashed string
ids with Python 2's ``hash``, which changed between interpreters).
Deleting needs the project to own the image (or an admin).
"""

from nova import exception
from nova import image as nova_image
from nova.api.openstack import common
from nova.api.openstack import faults
from nova.api.openstack import resource
from nova.api.openstack import servers

_STATUS = {'active': 'ACTIVE', 'queued': 'QUEUED', 'saving': 'SAVING',
           'killed': 'FAILED', 'deleted': 'DELETED',
           'pending_delete': 'DELETED'}


def image_status(image):
    status = _STATUS.get(image.get('status'), 'UNKNOWN')
    props = image.get('properties') or {}
    if status == 'QUEUED' and (props.get('image_state') == 'snapshotting'
                               or props.get('instance_id')):
        # A snapshot being taken: the compute host is filling it.
        status = 'SAVING'
    return status


def image_id(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise faults.not_found('Image %s could not be found.' % value) \
            from None
    return number


class ImageAccess:
    """What both image controllers need: the service and ownership."""

    def __init__(self, image_service=None):
        self._image_service = image_service

    @property
    def image_service(self):
        if self._image_service is None:
            self._image_service = nova_image.get_default_image_service()
        return self._image_service

    def get(self, context, value):
        number = image_id(value)
        try:
            image = self.image_service.show(context, number)
        except exception.ImageNotFound:
            raise faults.not_found('Image %s could not be found.' % value) \
                from None
        if image.get('deleted') or image.get('status') in ('deleted',
                                                           'pending_delete'):
            raise faults.not_found('Image %s could not be found.' % value)
        return image

    def get_owned(self, context, value):
        image = self.get(context, value)
        if not context.is_admin and image.get('owner') != context.project_id:
            raise faults.Fault(403, 'Image %s belongs to another project.'
                               % value)
        return image


class ImagesController(resource.Controller):

    def __init__(self, version='1.1', image_service=None, compute_api=None):
        super().__init__(version)
        self.access = ImageAccess(image_service)
        self._compute_api = compute_api

    @property
    def compute_api(self):
        if self._compute_api is None:
            self._compute_api = servers._compute_api()
        return self._compute_api

    def _view(self, req, image, detail):
        view = {'id': image['id'], 'name': image.get('name')}
        if detail:
            status = image_status(image)
            props = image.get('properties') or {}
            view.update({'status': status,
                         'created': common.isotime(image.get('created_at')),
                         'updated': common.isotime(
                             image.get('updated_at')
                             or image.get('created_at'))})
            if status == 'SAVING':
                view['progress'] = 0
            elif status == 'ACTIVE':
                view['progress'] = 100
            server = props.get('instance_id')
            if self.version == '1.0':
                if server and str(server).isdigit():
                    view['serverId'] = int(server)
            else:
                if server:
                    view['serverRef'] = '%s/servers/%s' % (
                        req.application_url.rstrip('/'), server)
                view['metadata'] = {k: str(v) for k, v in props.items()
                                    if v is not None}
        links = common.links(req, 'images', image['id'], self.version)
        if links:
            view['links'] = links
        return view

    def _visible(self, req):
        context = resource.context_of(req)
        images = self.access.image_service.detail(context)
        images = [i for i in images if not i.get('deleted') and
                  i.get('status') not in ('deleted', 'pending_delete')]
        images.sort(key=lambda i: int(i['id']))
        return common.paginate(images, req, self.version)

    def index(self, req):
        return {'images': [self._view(req, i, False)
                           for i in self._visible(req)]}

    def detail(self, req):
        return {'images': [self._view(req, i, True)
                           for i in self._visible(req)]}

    def show(self, req, id):
        context = resource.context_of(req)
        return {'image': self._view(req, self.access.get(context, id), True)}

    def create(self, req, body):
        context = resource.context_of(req)
        entity = resource.require_key(body, 'image')
        name = servers._text_field(entity, 'name', 'image name',
                                   required=True)
        ref = entity.get('serverId')
        if self.version != '1.0':
            ref = entity.get('serverRef', ref)
        if ref is None:
            raise faults.bad_request('serverId%s is required'
                                     % ('' if self.version == '1.0'
                                        else ' or serverRef'))
        server_id = common.id_from_ref(ref, 'serverRef')
        image = self.compute_api.snapshot(context, server_id, name)
        return resource.Result({'image': self._view(req, image, True)},
                               status=202)

    def delete(self, req, id):
        context = resource.context_of(req)
        image = self.access.get_owned(context, id)
        self.access.image_service.delete(context, image['id'])
        return resource.Result(None, status=204)
