"""v1.1 metadata of servers and images, as a whole and key by key.

    GET    .../metadata          {"metadata": {...}}
    POST   .../metadata          merge the given keys, answer all of them
    PUT    .../metadata          replace the whole set
    GET    .../metadata/{key}    {"meta": {key: value}}
    PUT    .../metadata/{key}    body {"meta": {key: value}} (that key only)
    DELETE .../metadata/{key}    204

Image metadata is the image's properties; changing it needs the project to
own the image.  Both count against the ``quota_metadata_items`` quota.
"""

from nova import exception
from nova import quota
from nova.api.openstack import faults
from nova.api.openstack import images
from nova.api.openstack import resource
from nova.api.openstack import servers


def _items(body, key):
    if not isinstance(body, dict) or key not in body or \
            not isinstance(body[key] or {}, dict):
        raise faults.bad_request('the request body must be a "%s" object'
                                 % key)
    items = body[key] or {}
    for k, v in items.items():
        if not isinstance(k, str) or not k or len(k) > 255 or \
                not isinstance(v, (str, int, float)) or isinstance(v, bool) \
                or len(str(v)) > 255:
            raise faults.bad_request('metadata keys and values must be text '
                                     'of at most 255 characters')
    return {k: str(v) for k, v in items.items()}


def _one_item(body, key):
    items = _items(body, 'meta')
    if len(items) != 1:
        raise faults.bad_request('a "meta" body has exactly one key')
    if key not in items:
        raise faults.bad_request('the key in the body must be %s, the one '
                                 'in the URL' % key)
    return items


class ServerMetadataController(resource.Controller):

    def __init__(self, version='1.1', compute_api=None):
        super().__init__(version)
        self._compute_api = compute_api

    @property
    def compute_api(self):
        if self._compute_api is None:
            self._compute_api = servers._compute_api()
        return self._compute_api

    def _get(self, req, server_id):
        return self.compute_api.get_instance_metadata(
            resource.context_of(req), servers.instance_id(server_id))

    def index(self, req, server_id):
        return {'metadata': self._get(req, server_id)}

    def _update(self, req, server_id, items, replace):
        return self.compute_api.update_instance_metadata(
            resource.context_of(req), servers.instance_id(server_id), items,
            delete=replace)

    def create(self, req, server_id, body):
        return {'metadata': self._update(req, server_id,
                                         _items(body, 'metadata'), False)}

    def update_all(self, req, server_id, body):
        return {'metadata': self._update(req, server_id,
                                         _items(body, 'metadata'), True)}

    def show(self, req, server_id, id):
        metadata = self._get(req, server_id)
        if id not in metadata:
            raise faults.not_found('Server %s has no metadata key %s.'
                                   % (server_id, id))
        return {'meta': {id: metadata[id]}}

    def update(self, req, server_id, id, body):
        items = _one_item(body, id)
        self._update(req, server_id, items, False)
        return {'meta': items}

    def delete(self, req, server_id, id):
        try:
            self.compute_api.delete_instance_metadata(
                resource.context_of(req), servers.instance_id(server_id), id)
        except exception.InstanceMetadataNotFound:
            raise faults.not_found('Server %s has no metadata key %s.'
                                   % (server_id, id)) from None
        return resource.Result(None, status=204)


class ImageMetadataController(resource.Controller):

    def __init__(self, version='1.1', image_service=None):
        super().__init__(version)
        self.access = images.ImageAccess(image_service)

    def _props(self, image):
        return {k: str(v) for k, v in (image.get('properties') or {}).items()
                if v is not None}

    def index(self, req, image_id):
        context = resource.context_of(req)
        return {'metadata': self._props(self.access.get(context, image_id))}

    def _save(self, req, image_id, change):
        context = resource.context_of(req)
        image = self.access.get_owned(context, image_id)
        props = change(self._props(image))
        if quota.allowed_metadata_items(context, len(props)) < len(props):
            raise exception.QuotaError(
                reason='%d metadata items, the quota allows %d'
                % (len(props), quota.allowed_metadata_items(context,
                                                            len(props))))
        updated = self.access.image_service.update(
            context, image['id'], {'properties': props}, purge_props=True)
        return self._props(updated)

    def create(self, req, image_id, body):
        items = _items(body, 'metadata')
        return {'metadata': self._save(req, image_id,
                                       lambda p: dict(p, **items))}

    def update_all(self, req, image_id, body):
        items = _items(body, 'metadata')
        return {'metadata': self._save(req, image_id, lambda p: items)}

    def show(self, req, image_id, id):
        metadata = self.index(req, image_id)['metadata']
        if id not in metadata:
            raise faults.not_found('Image %s has no metadata key %s.'
                                   % (image_id, id))
        return {'meta': {id: metadata[id]}}

    def update(self, req, image_id, id, body):
        items = _one_item(body, id)
        self._save(req, image_id, lambda p: dict(p, **items))
        return {'meta': items}

    def delete(self, req, image_id, id):
        def drop(props):
            if id not in props:
                raise faults.not_found('Image %s has no metadata key %s.'
                                       % (image_id, id))
            return {k: v for k, v in props.items() if k != id}
        self._save(req, image_id, drop)
        return resource.Result(None, status=204)
