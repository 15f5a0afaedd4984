"""Images kept by glance, through its v1 API."""

from glance import client as glance_client
from glance.common import exception as glance_exception

from nova import exception
from nova import flags
from nova import log as logging
from nova.image import service

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

WRITABLE = ('id', 'name', 'disk_format', 'container_format', 'is_public',
            'size', 'checksum', 'location', 'owner', 'store')


class GlanceImageService(service.BaseImageService):
    """Talks to glance-api at ``glance_host:glance_port``.

    The caller's ``context.auth_token`` goes along as X-Auth-Token, so a
    glance that checks nova tokens sees the caller's identity.
    """

    def __init__(self, host=None, port=None, client_class=None):
        self.host = host or FLAGS.glance_host
        self.port = port or FLAGS.glance_port
        self.client_class = client_class or glance_client.Client

    def _client(self, context):
        return self.client_class(self.host, self.port,
                                 auth_token=getattr(context, 'auth_token',
                                                    None))

    def _call(self, image_id, fn, *args, **kwargs):
        """Run a client call, turning glance errors into nova's."""
        try:
            return fn(*args, **kwargs)
        except glance_exception.NotFound:
            raise exception.ImageNotFound(image_id=image_id) from None
        except (glance_exception.NotAuthenticated,
                glance_exception.Forbidden) as e:
            raise exception.NotAuthorized(str(e)) from None
        except glance_exception.Invalid as e:
            raise exception.Invalid(str(e)) from None
        except glance_exception.Conflict as e:
            raise exception.InvalidState(reason=str(e)) from None
        except glance_exception.TooLarge as e:
            raise exception.QuotaError(reason=str(e)) from None
        except glance_exception.GlanceError as e:
            raise exception.NovaException('glance failed: %s' % e) from None

    def index(self, context, filters=None, marker=None, limit=None):
        return [{k: i.get(k) for k in ('id', 'name', 'disk_format',
                                       'container_format', 'checksum',
                                       'size')}
                for i in self.detail(context, filters, marker, limit)]

    def detail(self, context, filters=None, marker=None, limit=None):
        client = self._client(context)
        params = dict(filters or {})
        if limit is not None:
            if marker is not None:
                params['marker'] = marker
            images = self._call(marker, client.get_images_detailed,
                                limit=limit, **params)
        else:
            if marker is not None:
                params['marker'] = marker
            images = self._call(marker, lambda: list(
                client.iter_images_detailed(**params)))
        return [service.normalize(i) for i in images]

    def show(self, context, image_id):
        meta = self._call(image_id, self._client(context).get_image_meta,
                          image_id)
        return service.normalize(meta)

    def get_data(self, context, image_id):
        meta, chunks = self._call(image_id, self._client(context).get_image,
                                  image_id)
        return service.normalize(meta), chunks

    @staticmethod
    def _outgoing(metadata):
        fields = {}
        properties = dict(metadata.get('properties') or {})
        for key, value in metadata.items():
            if key == 'properties':
                continue
            if key in WRITABLE:
                fields[key] = value
            elif key not in service.BASE_ATTRS:
                properties[key] = value
        fields['properties'] = {k: v for k, v in properties.items()
                                if v is not None}
        return fields

    def create(self, context, metadata, data=None):
        image = self._call(None, self._client(context).add_image,
                           self._outgoing(metadata), data)
        return service.normalize(image)

    def update(self, context, image_id, metadata, data=None,
               purge_props=False):
        image = self._call(image_id, self._client(context).update_image,
                           image_id, self._outgoing(metadata), data,
                           purge_props=purge_props)
        return service.normalize(image)

    def delete(self, context, image_id):
        self._call(image_id, self._client(context).delete_image, image_id)
        return True
