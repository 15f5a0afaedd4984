"""The interface every nova image service offers.

Images are dicts::

    {'id': 12, 'name': 'debian', 'status': 'active', 'is_public': True,
     'size': 1024, 'disk_format': 'ami', 'container_format': 'ami',
     'checksum': '...', 'location': ..., 'owner': 'project',
     'created_at': datetime, 'updated_at': datetime or None,
     'deleted_at': None, 'deleted': False,
     'properties': {'kernel_id': '3', 'ramdisk_id': '4', ...}}

Timestamps are naive UTC datetimes.  Data moves as iterators of bytes, or
file objects, never as one string, so image size does not matter.  A
missing (or invisible) image raises nova.exception.ImageNotFound.
"""

import datetime

BASE_ATTRS = ('id', 'name', 'status', 'is_public', 'size', 'disk_format',
              'container_format', 'checksum', 'location', 'owner',
              'created_at', 'updated_at', 'deleted_at', 'deleted')


class BaseImageService:

    def index(self, context, filters=None, marker=None, limit=None):
        """Brief records (id, name, formats, checksum, size) of one page."""
        raise NotImplementedError

    def detail(self, context, filters=None, marker=None, limit=None):
        """Full records; every visible image when ``limit`` is None."""
        raise NotImplementedError

    def show(self, context, image_id):
        raise NotImplementedError

    def show_by_name(self, context, name):
        for image in self.detail(context, filters={'name': name}):
            return image
        from nova import exception
        raise exception.ImageNotFound(image_id=name)

    def get(self, context, image_id, data=None):
        """The image's metadata; its bytes are written to ``data``.

        ``data`` is anything with ``write`` (a file opened 'wb').
        """
        meta, chunks = self.get_data(context, image_id)
        if data is not None:
            for chunk in chunks:
                data.write(chunk)
        else:
            for _chunk in chunks:
                pass
        return meta

    def get_data(self, context, image_id):
        """``(metadata, iterator of byte chunks)``."""
        raise NotImplementedError

    def download(self, context, image_id, path):
        """Write the image to ``path`` (whole, or not at all); return meta."""
        import os
        partial = path + '.partial'
        try:
            with open(partial, 'wb') as f:
                meta = self.get(context, image_id, f)
            os.replace(partial, path)
        except BaseException:
            if os.path.exists(partial):
                os.unlink(partial)
            raise
        return meta

    def create(self, context, metadata, data=None):
        """A new image; ``data`` (file or iterator of bytes) is optional."""
        raise NotImplementedError

    def update(self, context, image_id, metadata, data=None,
               purge_props=False):
        raise NotImplementedError

    def delete(self, context, image_id):
        raise NotImplementedError


def parse_time(value):
    """A glance timestamp string as a naive datetime (None stays None)."""
    if value is None or isinstance(value, datetime.datetime):
        return value
    for fmt in ('%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S'):
        try:
            return datetime.datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def normalize(meta):
    """Nova's form of an image record: datetimes, and extra keys moved
    under ``properties``."""
    image = {'properties': dict(meta.get('properties') or {})}
    for key, value in meta.items():
        if key == 'properties':
            continue
        if key in BASE_ATTRS:
            image[key] = value
        else:
            image['properties'][key] = value
    for key in ('created_at', 'updated_at', 'deleted_at'):
        if key in image:
            image[key] = parse_time(image[key])
    return image
