"""Images in a local directory, for tests and single-host experiments.

Each image is ``<local_image_path>/<id>/info.json`` plus its data in
``<id>/image``.  Visibility follows glance's rule: public images and the
caller's project's own (admins see all).
"""

import hashlib
import json
import os
import shutil

from nova import exception
from nova import flags
from nova import utils
from nova.image import service

FLAGS = flags.FLAGS
flags.DEFINE_string('local_image_path', '$state_path/local_images',
                    'directory of nova.image.local.LocalImageService')

CHUNK_SIZE = 64 * 1024
FIELDS = ('name', 'disk_format', 'container_format', 'is_public', 'size',
          'checksum', 'location', 'owner', 'status')


class LocalImageService(service.BaseImageService):

    def __init__(self, path=None):
        self.path = path or FLAGS.local_image_path

    def _dir(self, image_id):
        try:
            image_id = int(image_id)
        except (TypeError, ValueError):
            raise exception.ImageNotFound(image_id=image_id) from None
        return os.path.join(self.path, str(image_id))

    def _read(self, image_id):
        try:
            with open(os.path.join(self._dir(image_id), 'info.json')) as f:
                return json.load(f)
        except (OSError, ValueError):
            raise exception.ImageNotFound(image_id=image_id) from None

    def _write(self, info):
        directory = self._dir(info['id'])
        tmp = os.path.join(directory, 'info.json.tmp')
        with open(tmp, 'w') as f:
            json.dump(info, f)
        os.replace(tmp, os.path.join(directory, 'info.json'))

    @staticmethod
    def _visible(context, info):
        if context is None or getattr(context, 'is_admin', False) or \
                info.get('is_public'):
            return True
        return info.get('owner') is not None and \
            info.get('owner') == getattr(context, 'project_id', None)

    def _ids(self):
        if not os.path.isdir(self.path):
            return []
        return sorted(int(n) for n in os.listdir(self.path) if n.isdigit())

    def detail(self, context, filters=None, marker=None, limit=None):
        images = []
        for image_id in self._ids():
            try:
                info = self._read(image_id)
            except exception.ImageNotFound:
                continue
            if not self._visible(context, info):
                continue
            if any(info.get(k) != v if not k.startswith('property-')
                   else info['properties'].get(k[9:]) != v
                   for k, v in (filters or {}).items()):
                continue
            images.append(info)
        if marker is not None:
            images = [i for i in images if i['id'] > int(marker)]
        if limit is not None:
            images = images[:limit]
        return [service.normalize(i) for i in images]

    def index(self, context, filters=None, marker=None, limit=None):
        return [{k: i.get(k) for k in ('id', 'name', 'disk_format',
                                       'container_format', 'checksum',
                                       'size')}
                for i in self.detail(context, filters, marker, limit)]

    def show(self, context, image_id):
        info = self._read(image_id)
        if not self._visible(context, info):
            raise exception.ImageNotFound(image_id=image_id)
        return service.normalize(info)

    def get_data(self, context, image_id):
        meta = self.show(context, image_id)
        path = os.path.join(self._dir(image_id), 'image')
        if not os.path.exists(path):
            raise exception.ImageNotFound(image_id=image_id)

        def chunks():
            with open(path, 'rb') as f:
                while True:
                    data = f.read(CHUNK_SIZE)
                    if not data:
                        return
                    yield data
        return meta, chunks()

    def _store_data(self, info, data):
        path = os.path.join(self._dir(info['id']), 'image')
        md5 = hashlib.md5()
        size = 0
        pieces = (iter(lambda: data.read(CHUNK_SIZE), b'')
                  if hasattr(data, 'read') else data)
        with open(path + '.partial', 'wb') as f:
            for piece in pieces:
                md5.update(piece)
                size += len(piece)
                f.write(piece)
        os.replace(path + '.partial', path)
        info.update(size=size, checksum=md5.hexdigest(), status='active')

    def create(self, context, metadata, data=None):
        os.makedirs(self.path, exist_ok=True)
        for _attempt in range(1000):
            ids = self._ids()
            image_id = (ids[-1] + 1) if ids else 1
            try:
                os.mkdir(self._dir(image_id))
                break
            except FileExistsError:
                continue
        else:
            raise exception.NovaException('cannot allocate an image id')
        now = utils.utcnow().strftime('%Y-%m-%dT%H:%M:%S.%f')
        info = {'id': image_id, 'status': 'queued', 'is_public': False,
                'owner': getattr(context, 'project_id', None),
                'created_at': now, 'updated_at': None, 'deleted_at': None,
                'deleted': False, 'properties': {}}
        self._merge(info, metadata)
        if data is not None:
            self._store_data(info, data)
        elif info.get('location') or metadata.get('status') == 'active':
            info['status'] = 'active'
        self._write(info)
        return service.normalize(info)

    @staticmethod
    def _merge(info, metadata, purge_props=False):
        if purge_props:
            info['properties'] = {}
        for key, value in metadata.items():
            if key == 'properties':
                info['properties'].update(value or {})
            elif key in FIELDS:
                info[key] = value
            elif key not in service.BASE_ATTRS:
                info['properties'][key] = value

    def update(self, context, image_id, metadata, data=None,
               purge_props=False):
        info = self._read(image_id)
        if not self._visible(context, info):
            raise exception.ImageNotFound(image_id=image_id)
        self._merge(info, metadata, purge_props)
        if data is not None:
            self._store_data(info, data)
        info['updated_at'] = utils.utcnow().strftime('%Y-%m-%dT%H:%M:%S.%f')
        self._write(info)
        return service.normalize(info)

    def delete(self, context, image_id):
        info = self._read(image_id)
        if not self._visible(context, info):
            raise exception.ImageNotFound(image_id=image_id)
        shutil.rmtree(self._dir(image_id))
        return True
