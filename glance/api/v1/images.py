"""The image API v1: ``/images`` (and ``/v1/images``).

Metadata travels in ``x-image-meta-*`` headers (see
glance.common.image_meta), image bytes in the body, lists as JSON.  Records
live in glance-registry; bytes in a store.  Status moves queued -> saving
-> active, or -> killed when an upload fails; a deleted image is gone for
every read.
"""

import logging

import webob

from glance.api import auth
from glance.api.v1 import upload
from glance.common import config
from glance.common import exception
from glance.common import image_meta
from glance.common import listing
from glance.common import wsgi
from glance.store import base as store_base

LOG = logging.getLogger(__name__)

PURGE_HEADER = 'x-glance-registry-purge-props'


class ImagesController:

    def __init__(self, registry, stores, image_size_cap=None):
        self.registry = registry
        self.stores = stores
        self.image_size_cap = image_size_cap

    # -- helpers ------------------------------------------------------------

    @staticmethod
    def _context(req):
        return req.environ[auth.CONTEXT_KEY]

    def _present(self, ctx, image):
        """The record as this caller may see it."""
        shown = dict(image)
        if ctx.can_modify(image):
            shown['location'] = store_base.redact(image.get('location'))
        else:
            # Where another project's image data lives is none of the
            # caller's business (the original even showed swift keys).
            shown['location'] = None
        return shown

    def _get(self, ctx, image_id):
        return self.registry.get_image(ctx, image_id)

    def _get_mutable(self, ctx, image_id):
        image = self._get(ctx, image_id)
        if not ctx.can_modify(image):
            raise exception.Forbidden('Image %s belongs to another project'
                                      % image_id)
        return image

    def _meta_response(self, ctx, image, status=200):
        shown = self._present(ctx, image)
        resp = webob.Response(status=status)
        resp.headerlist = [(k, v) for k, v in image_meta.to_headers(shown)]
        if image.get('checksum'):
            resp.headerlist.append(('ETag', image['checksum']))
        return resp

    def _image_response(self, ctx, image, status=200):
        headers = [('Location', '/v1/images/%s' % image['id'])]
        if image.get('checksum'):
            headers.append(('ETag', image['checksum']))
        return wsgi.json_response({'image': self._present(ctx, image)},
                                  status=status, headers=headers)

    def _kill(self, ctx, image_id, reason):
        LOG.warning('image %s killed: %s', image_id, reason)
        try:
            self.registry.update_image(ctx, image_id, {'status': 'killed',
                                                       'location': None})
        except exception.GlanceError as e:
            LOG.error('could not mark image %s killed: %s', image_id, e)

    def _delete_data_quietly(self, location):
        try:
            self.stores.for_location(location).delete(location)
        except exception.NotFound:
            pass
        except exception.GlanceError as e:
            LOG.error('could not remove data at %s: %s',
                      store_base.redact(location), e)

    # -- lists --------------------------------------------------------------

    def _list(self, req, detail):
        ctx = self._context(req)
        params = list(req.GET.items())
        listing.check_known(params)
        # Parsed here too so a bad value is refused before the registry is
        # asked; the registry checks again.
        listing.parse(params, limit_max=None)
        images = self.registry.get_images(ctx, listing.forwardable(params),
                                          detail=True)
        if detail:
            images = [self._present(ctx, i) for i in images]
        else:
            images = [{k: i.get(k) for k in image_meta.SUMMARY_FIELDS}
                      for i in images]
        return wsgi.json_response({'images': images})

    def index(self, req):
        return self._list(req, detail=False)

    def detail(self, req):
        return self._list(req, detail=True)

    # -- one image ----------------------------------------------------------

    def meta(self, req, image_id):
        ctx = self._context(req)
        image = self._get(ctx, image_id)
        resp = self._meta_response(ctx, image)
        if image['status'] == 'active' and image.get('size') is not None:
            # What a GET would send, as HTTP wants of a HEAD.
            resp.content_type = 'application/octet-stream'
            resp.headers['Content-Length'] = str(image['size'])
        return resp

    def show(self, req, image_id):
        ctx = self._context(req)
        image = self._get(ctx, image_id)
        if image['status'] != 'active' or not image.get('location'):
            raise exception.Conflict('Image %s is %s and has no data to read'
                                     % (image_id, image['status']))
        location = image['location']
        chunks, size = self.stores.for_location(location).get(location)
        resp = self._meta_response(ctx, image)
        resp.content_type = 'application/octet-stream'
        resp.app_iter = chunks
        if size is None:
            size = image.get('size')
        if size is not None:
            resp.content_length = size
        return resp

    def _parse(self, req, ctx, existing=None):
        meta, properties, ignored = image_meta.parse_headers(
            wsgi.raw_headers(req.environ))
        if ignored:
            LOG.debug('ignoring read-only attributes %s', ', '.join(ignored))
        if 'owner' in meta and not ctx.is_admin:
            current = existing.get('owner') if existing else ctx.project_id
            if meta['owner'] != current:
                raise exception.Forbidden('Only an admin may give an image to '
                                          'another owner')
        content_type = req.headers.get('Content-Type')
        if upload.has_body(req) and content_type and \
                content_type.split(';')[0].strip() != \
                'application/octet-stream':
            raise exception.Invalid('Image data must be sent as '
                                    'application/octet-stream, not %s'
                                    % content_type)
        store_name = meta.pop('store', None)
        if store_name is not None:
            self.stores.get(store_name)
        return meta, properties, store_name

    def _check_size(self, req, declared):
        length = upload.content_length(req)
        if declared is not None and length and declared != length:
            raise exception.Invalid('x-image-meta-size says %d bytes but the '
                                    'body has %d' % (declared, length))
        for size in (declared, length):
            if size is not None and self.image_size_cap is not None and \
                    size > self.image_size_cap:
                raise exception.TooLarge('The image exceeds the size limit '
                                         'of %d bytes' % self.image_size_cap)

    def _check_location(self, ctx, location):
        self.stores.for_location(location).validate_location(location, ctx)

    def _location_size(self, location):
        try:
            return self.stores.for_location(location).get_size(location)
        except exception.NotFound:
            raise exception.Invalid('There is no image data at %s'
                                    % store_base.redact(location)) from None
        except exception.GlanceError as e:
            LOG.warning('cannot learn the size at %s: %s',
                        store_base.redact(location), e)
            return None

    def create(self, req):
        ctx = self._context(req)
        meta, properties, store_name = self._parse(req, ctx)
        location = meta.pop('location', None)
        body = upload.has_body(req)
        if location and body:
            raise exception.Invalid('Send either image data or '
                                    'x-image-meta-location, not both')
        image_meta.validate_formats(meta.get('disk_format'),
                                    meta.get('container_format'))
        self._check_size(req, meta.get('size'))
        if not ctx.is_admin or not meta.get('owner'):
            meta['owner'] = meta.get('owner') or ctx.project_id
        expected_checksum = None
        if location:
            self._check_location(ctx, location)
            if meta.get('size') is None:
                meta['size'] = self._location_size(location)
            meta.update(status='active', location=location)
        else:
            expected_checksum = meta.pop('checksum', None)
            meta['status'] = 'queued'
            if not body:
                meta.setdefault('size', None)
        declared = meta.get('size') if body else None
        if body:
            meta['size'] = None
        image = self.registry.add_image(ctx, meta, properties)
        LOG.info('image %s created (%s)', image['id'], image['status'])
        if body:
            image = self._upload(req, ctx, image, store_name, declared,
                                 expected_checksum)
        return self._image_response(ctx, image, status=201)

    def update(self, req, image_id):
        ctx = self._context(req)
        image = self._get_mutable(ctx, image_id)
        meta, properties, store_name = self._parse(req, ctx, image)
        body = upload.has_body(req)
        location = meta.pop('location', None)
        if body and image['status'] != 'queued':
            raise exception.Conflict('Image %s is %s: data can only be '
                                     'uploaded to a queued image'
                                     % (image_id, image['status']))
        if location and body:
            raise exception.Invalid('Send either image data or '
                                    'x-image-meta-location, not both')
        if image['status'] != 'queued':
            changed = [f for f in ('size', 'checksum') if f in meta
                       and meta[f] != image.get(f)]
            if location and location != image.get('location'):
                changed.append('location')
            if changed:
                raise exception.Conflict(
                    'Image %s already has data; its %s cannot change'
                    % (image_id, ', '.join(changed)))
            meta.pop('size', None)
            meta.pop('checksum', None)
            location = None
        merged = dict(image, **meta)
        image_meta.validate_formats(merged.get('disk_format'),
                                    merged.get('container_format'))
        self._check_size(req, meta.get('size'))
        expected_checksum = None
        expected_status = None
        if location:
            self._check_location(ctx, location)
            if meta.get('size') is None:
                meta['size'] = self._location_size(location)
            meta.update(status='active', location=location)
            expected_status = 'queued'
        elif body:
            expected_checksum = meta.pop('checksum', None)
        declared = meta.pop('size', None) if body else None
        purge = config.parse_bool(req.headers.get(PURGE_HEADER, 'false'),
                                  PURGE_HEADER)
        image = self.registry.update_image(ctx, image_id, meta, properties,
                                           purge_props=purge,
                                           expected_status=expected_status)
        if body:
            image = self._upload(req, ctx, image, store_name, declared,
                                 expected_checksum)
        return self._image_response(ctx, image)

    def _upload(self, req, ctx, image, store_name, declared_size,
                expected_checksum):
        """Stream the body into a store and activate the image.

        Any failure kills the image and leaves no data in the store.
        """
        image_id = image['id']
        store = self.stores.get(store_name)
        self.registry.update_image(ctx, image_id, {'status': 'saving'},
                                   expected_status='queued')
        reader = upload.BodyReader(req.environ, upload.content_length(req),
                                   declared_size, self.image_size_cap)
        size_hint = declared_size
        if size_hint is None:
            size_hint = upload.content_length(req)
        try:
            location = store.add(image_id, reader, size=size_hint)
        except exception.GlanceError as e:
            self._kill(ctx, image_id, e)
            raise
        except Exception as e:
            LOG.exception('store %s failed for image %s', store.name,
                          image_id)
            self._kill(ctx, image_id, e)
            raise exception.StoreError('Storing the image data failed') \
                from None
        problem = None
        if declared_size is not None and reader.size != declared_size:
            problem = exception.Invalid(
                'The image data has %d bytes but x-image-meta-size said %d'
                % (reader.size, declared_size))
        elif expected_checksum and reader.checksum() != expected_checksum:
            problem = exception.Invalid(
                'The image data has checksum %s but x-image-meta-checksum '
                'said %s' % (reader.checksum(), expected_checksum))
        if problem is not None:
            self._delete_data_quietly(location)
            self._kill(ctx, image_id, problem)
            raise problem
        try:
            image = self.registry.update_image(
                ctx, image_id, {'status': 'active', 'location': location,
                                'size': reader.size,
                                'checksum': reader.checksum()},
                expected_status='saving')
        except exception.GlanceError:
            # Deleted (or changed) while the data streamed in: the data
            # belongs to nothing now.
            self._delete_data_quietly(location)
            raise
        LOG.info('image %s active: %d bytes in %s', image_id, reader.size,
                 store.name)
        return image

    def delete(self, req, image_id):
        ctx = self._context(req)
        image = self._get_mutable(ctx, image_id)
        location = image.get('location')
        if location and image['status'] == 'active':
            try:
                self.stores.for_location(location).delete(location)
            except exception.NotFound:
                LOG.warning('image %s had no data at %s', image_id,
                            store_base.redact(location))
        self.registry.delete_image(ctx, image_id)
        LOG.info('image %s deleted', image_id)
        return webob.Response(status=200)


def versions(req):
    base = req.host_url
    return wsgi.json_response({'versions': [{
        'id': 'v1.0', 'status': 'CURRENT',
        'links': [{'rel': 'self', 'href': base + '/v1/'}]}]})


class API(wsgi.Router):
    """The routes, both as ``/images`` (first release) and ``/v1/images``."""

    def __init__(self, controller):
        super().__init__()
        self.add('GET', r'/', versions)
        self.add('GET', r'/versions', versions)
        for prefix in ('', '/v1'):
            images = prefix + r'/images'
            one = images + r'/(?P<image_id>[^/]+)'
            self.add('GET', images, controller.index)
            self.add('GET', images + r'/detail', controller.detail)
            self.add('POST', images, controller.create)
            self.add('HEAD', one, controller.meta)
            self.add('GET', one, controller.show)
            self.add('PUT', one, controller.update)
            self.add('DELETE', one, controller.delete)
