"""Images as the EC2 API shows them: ``ami-``/``aki-``/``ari-`` ids over the
image service's integer ids, and registration of S3 bundles.

Image states: Glance ``active`` is ``available``, ``queued``/``saving`` are
``pending``, ``killed``/``deleted`` are ``failed``/``deregistered``.  The
image type comes from the disk format (aki kernel, ari ramdisk, everything
else a machine image).
"""

import gzip
import os
import tarfile

import defusedxml.ElementTree
import eventlet

from nova import exception
from nova import flags
from nova import log as logging
from nova import crypto
from nova.api.ec2 import ec2utils
from nova.api.ec2 import faults

LOG = logging.getLogger('nova.api.ec2.images')
FLAGS = flags.FLAGS

_STATES = {'active': 'available', 'queued': 'pending', 'saving': 'pending',
           'killed': 'failed', 'deleted': 'deregistered',
           'pending_delete': 'deregistered'}
_TYPES = {'aki': 'kernel', 'ari': 'ramdisk'}
_MAX_MANIFEST_BYTES = 1024 * 1024


def image_type(image):
    return _TYPES.get(image.get('disk_format'), 'machine')


def ec2_id(image):
    return ec2utils.image_ec2_id(image['id'], image.get('disk_format'))


def _ref(image_id, prefix):
    """aki-/ari- id of a kernel or ramdisk property (kept as given if odd)."""
    if image_id in (None, ''):
        return None
    try:
        return '%s-%08x' % (prefix, int(image_id))
    except (TypeError, ValueError):
        return None


def image_state(image):
    props = image.get('properties') or {}
    if props.get('image_state') in ('decrypting', 'untarring', 'uploading',
                                    'downloading'):
        return 'pending'
    if props.get('image_state') == 'failed':
        return 'failed'
    return _STATES.get(image.get('status'), 'pending')


def format_image(image):
    """The ``imagesSet`` item of an image-service record."""
    props = image.get('properties') or {}
    kind = image_type(image)
    item = {
        'imageId': ec2_id(image),
        'imageLocation': props.get('image_location') or image.get('name')
        or '',
        'imageState': image_state(image),
        'imageOwnerId': image.get('owner') or '',
        'isPublic': bool(image.get('is_public')),
        'architecture': props.get('architecture') or 'x86_64',
        'imageType': kind,
        'name': image.get('name') or '',
        'rootDeviceType': 'instance-store',
        'virtualizationType': 'paravirtual' if image.get('disk_format')
        in ('ami', 'aki', 'ari') else 'hvm',
    }
    if props.get('description'):
        item['description'] = props['description']
    if kind == 'machine':
        item['kernelId'] = _ref(props.get('kernel_id'), 'aki')
        item['ramdiskId'] = _ref(props.get('ramdisk_id'), 'ari')
    if image.get('created_at'):
        item['creationDate'] = image['created_at']
    return item


def filter_attributes(image, item):
    """What DescribeImages filters look at."""
    return {'image-id': item['imageId'], 'name': item['name'],
            'owner-id': item['imageOwnerId'], 'state': item['imageState'],
            'image-type': item['imageType'], 'is-public': item['isPublic'],
            'architecture': item['architecture'],
            'kernel-id': item.get('kernelId'),
            'ramdisk-id': item.get('ramdiskId'),
            'manifest-location': item['imageLocation']}


def visible(context, image):
    """Public images, the project's own, and everything for admins.

    Checked here as well as by the image service: a Glance that gets no
    token from nova (EC2 requests carry none) answers for anyone.
    """
    return bool(context.is_admin or image.get('is_public')
                or (image.get('owner') is not None
                    and image.get('owner') == context.project_id))


def show(service, context, ec2_image_id):
    """The image behind an EC2 image id; InvalidAMIID.NotFound if none."""
    internal = ec2utils.ec2_image_id_to_id(ec2_image_id)
    try:
        image = service.show(context, internal)
    except exception.ImageNotFound:
        image = None
    if image is None or not visible(context, image) or \
            image.get('deleted') or image.get('status') == 'deleted':
        raise exception.ImageNotFound(image_id=ec2_image_id)
    return image


def check_owner(context, image, ec2_image_id):
    """Only the owning project (or an admin) may change an image."""
    if context.is_admin or image.get('owner') == context.project_id:
        return
    raise faults.EC2APIError('AuthFailure', 'Not authorized to modify image '
                             '%s.' % ec2_image_id, status=403)


# -- S3 bundles ------------------------------------------------------------------

def parse_manifest(text):
    """What RegisterImage needs from an ec2-bundle-image manifest."""
    try:
        root = defusedxml.ElementTree.fromstring(text)
    except Exception as e:  # noqa: BLE001 - ParseError or defusedxml's
        raise exception.InvalidParameterValue(
            reason='The image manifest is not valid XML: %s' % e) from None

    def find(path):
        node = root.find(path)
        return node.text.strip() if node is not None and node.text else None

    parts = [p.text.strip() for p in root.findall('image/parts/part/filename')
             if p.text]
    if not parts:
        raise exception.InvalidParameterValue(
            reason='The image manifest lists no parts.')
    for part in parts:
        if '/' in part or part in ('.', '..'):
            raise exception.InvalidParameterValue(
                reason='Bad part name %r in the image manifest.' % part)
    kind = 'machine'
    if find('machine_configuration/kernel_id') == 'true':
        kind = 'kernel'
    if find('machine_configuration/ramdisk_id') == 'true':
        kind = 'ramdisk'
    return {'parts': parts, 'kind': kind,
            'architecture': find('machine_configuration/architecture')
            or 'x86_64',
            'encrypted_key': find('image/ec2_encrypted_key'),
            'encrypted_iv': find('image/ec2_encrypted_iv'),
            'kernel_id': find('machine_configuration/kernel_id'),
            'ramdisk_id': find('machine_configuration/ramdisk_id')}


def read_manifest(store, context, location):
    """(bucket, manifest key, manifest dict) of ``bucket/key.manifest.xml``."""
    bucket, _sep, key = location.lstrip('/').partition('/')
    if not bucket or not key:
        raise exception.InvalidParameterValue(
            reason='ImageLocation must be bucket/path.manifest.xml.')
    try:
        owner = store.get_bucket(bucket).owner
    except Exception:  # noqa: BLE001 - any store error means "no bucket"
        raise exception.ImageNotFound(image_id=location) from None
    if owner != context.project_id and not context.is_admin:
        raise exception.ImageNotFound(image_id=location)
    try:
        info, handle = store.open_object(bucket, key)
        with handle:
            text = handle.read(_MAX_MANIFEST_BYTES + 1)
    except Exception:  # noqa: BLE001
        raise exception.ImageNotFound(image_id=location) from None
    if len(text) > _MAX_MANIFEST_BYTES:
        raise exception.InvalidParameterValue(
            reason='The image manifest is too large.')
    return bucket, key, parse_manifest(text)


def _bundle_chunks(store, bucket, key_dir, parts):
    for part in parts:
        name = (key_dir + '/' + part) if key_dir else part
        _info, handle = store.open_object(bucket, name)
        with handle:
            while True:
                chunk = handle.read(65536)
                if not chunk:
                    break
                yield chunk


def decrypt_bundle(service, store, context, image_id, bucket, key, manifest,
                   workdir):
    """Decrypt, gunzip and untar a bundle into the image (runs green).

    The plaintext is written to a temporary file in ``workdir`` (the tar
    stream must be read to its first member), then uploaded; the image's
    ``image_state`` property tells the EC2 state as it goes.
    """
    key_dir = key.rpartition('/')[0]

    def state(value):
        service.update(context, image_id,
                       {'properties': {'image_state': value}})
    os.makedirs(workdir, exist_ok=True)
    tmp = os.path.join(workdir, 'bundle-%s.tar.gz' % image_id)
    try:
        state('decrypting')
        aes_key, aes_iv = crypto.decrypt_bundle_keys(
            manifest['encrypted_key'], manifest['encrypted_iv'])
        with open(tmp, 'wb') as out:
            for chunk in crypto.decrypt_aes_cbc_stream(
                    _bundle_chunks(store, bucket, key_dir, manifest['parts']),
                    aes_key, aes_iv):
                out.write(chunk)
        state('untarring')
        with gzip.open(tmp, 'rb') as gz, \
                tarfile.open(fileobj=gz, mode='r|') as tar:
            for member in tar:
                if not member.isfile():
                    continue
                data = tar.extractfile(member)
                state('uploading')
                service.update(context, image_id,
                               {'properties': {'image_state': 'available'}},
                               data=iter(lambda: data.read(65536), b''))
                return
        raise exception.InvalidInput(reason='the bundle holds no file')
    except Exception as e:  # noqa: BLE001 - recorded on the image
        LOG.warning('bundle %s/%s of image %s failed: %s', bucket, key,
                    image_id, e)
        try:
            service.update(context, image_id,
                           {'properties': {'image_state': 'failed'}})
        except Exception:  # noqa: BLE001
            LOG.exception('cannot mark image %s failed', image_id)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def register_bundle(service, store, context, location, name=None,
                    description=None, architecture=None, kernel_id=None,
                    ramdisk_id=None, workdir=None):
    """A new private image from an S3 bundle; decryption runs in the background."""
    bucket, key, manifest = read_manifest(store, context, location)
    disk_format = {'kernel': 'aki', 'ramdisk': 'ari'}.get(manifest['kind'],
                                                          'ami')
    properties = {'image_location': location, 'image_state': 'decrypting',
                  'architecture': architecture or manifest['architecture']}
    if description:
        properties['description'] = description
    if kernel_id:
        properties['kernel_id'] = kernel_id
    if ramdisk_id:
        properties['ramdisk_id'] = ramdisk_id
    if not (manifest['encrypted_key'] and manifest['encrypted_iv']):
        raise exception.InvalidParameterValue(
            reason='The image manifest has no encrypted key and IV.')
    image = service.create(context, {
        'name': name or location, 'is_public': False, 'status': 'queued',
        'disk_format': disk_format, 'container_format': disk_format,
        'owner': context.project_id, 'properties': properties})
    eventlet.spawn_n(decrypt_bundle, service, store, context, image['id'],
                     bucket, key, manifest,
                     workdir or os.path.join(FLAGS.state_path, 'tmp'))
    return image
