"""Disk image files on a compute host: fetch, inspect, check, copy-on-write.

Every qemu-img run goes through ``nova.utils.execute`` with an argument list.

Security: the original driver handed whatever bytes the image service gave it
to qemu, and let qemu *probe* the format.  A user could then upload a "raw"
image whose first bytes are a qcow2 header naming ``/etc/shadow`` (or another
tenant's disk) as its backing file, and boot it to read that file.  Here:

* an image's format is taken from its declared ``disk_format``; a declared
  raw image is always opened as raw (``-F raw``), never probed;
* a declared (or probed) qcow2 image must really be qcow2 and must name
  neither a backing file nor an external data file;
* only raw and qcow2 are accepted as disks (vmdk and friends can reference
  arbitrary host files through their descriptors).
"""

import json
import os
import shutil

from nova import exception
from nova import log as logging
from nova import utils

LOG = logging.getLogger(__name__)

# disk_format values whose bytes are a raw block device (or a file system).
RAW_FORMATS = ('raw', 'ami', 'aki', 'ari', 'iso')
ACCEPTED_FORMATS = ('raw', 'qcow2')
QEMU_IMG_TIMEOUT = 600
INFO_MAX_BYTES = 1024 ** 3
INFO_MAX_CPU_SECONDS = 30


class ImageUnacceptable(exception.Invalid):
    """The image cannot be used as a disk; ``reason`` says why."""

    message = 'image %(image_id)s is unacceptable: %(reason)s'

    def __init__(self, image_id=None, reason=None, message=None):
        self.image_id = image_id
        self.reason = reason
        super().__init__(message, image_id=image_id, reason=reason)


def fetch(context, image_service, image_id, path):
    """Download image ``image_id`` to ``path`` (whole or not at all).

    Returns the image's metadata.
    """
    LOG.info('downloading image %s to %s', image_id, path)
    return image_service.download(context, image_id, path)


def _limited(cmd):
    """``cmd`` under prlimit: a crafted image must not make qemu-img eat
    the host's memory or CPU while it is being inspected (CVE-2015-5162)."""
    if shutil.which('prlimit'):
        return ['prlimit', '--as=%d' % INFO_MAX_BYTES,
                '--cpu=%d' % INFO_MAX_CPU_SECONDS, '--'] + cmd
    return cmd


def qemu_img_info(path):
    """``qemu-img info`` of ``path`` as a dict, probing its format.

    Only ever used on files that will be checked, not opened by a guest;
    qemu-img info does not open backing files.
    """
    out, _err = utils.execute(*_limited(['qemu-img', 'info', '--output=json',
                                         path]), timeout=QEMU_IMG_TIMEOUT)
    try:
        return json.loads(out)
    except ValueError:
        raise exception.NovaException('qemu-img info %s gave no JSON: %r'
                                      % (path, out[:200])) from None


def read_qcow2_backing(path):
    """The backing file named in a qcow2 header, '' when none, None when
    ``path`` is not qcow2 at all.

    Read from the header directly (magic, version, backing offset/size) so
    the check does not depend on qemu-img's probing.
    """
    with open(path, 'rb') as f:
        header = f.read(20)
        if len(header) < 20 or header[:4] != b'QFI\xfb':
            return None
        offset = int.from_bytes(header[8:16], 'big')
        size = int.from_bytes(header[16:20], 'big')
        if offset == 0 or size == 0:
            return ''
        f.seek(offset)
        return f.read(min(size, 1023)).decode('utf-8', 'replace')


def check_disk_image(image_id, path, declared_format):
    """Decide how ``path`` may be opened; return 'raw' or 'qcow2'.

    ``declared_format`` is the image's disk_format from the image service
    (None when unknown).  Raises ImageUnacceptable with the reason.
    """
    declared = (declared_format or '').lower() or None
    if declared in RAW_FORMATS:
        # Opened as raw: whatever header the bytes carry is never followed.
        size = os.path.getsize(path)
        if size == 0:
            raise ImageUnacceptable(image_id, 'it is empty')
        return 'raw'
    if declared not in (None, 'qcow2'):
        raise ImageUnacceptable(
            image_id, 'disk format %s is not supported (only %s)'
            % (declared, ', '.join(ACCEPTED_FORMATS + RAW_FORMATS[1:])))

    backing = read_qcow2_backing(path)
    info = qemu_img_info(path)
    actual = info.get('format')
    if declared == 'qcow2' and (actual != 'qcow2' or backing is None):
        raise ImageUnacceptable(
            image_id, 'it is declared qcow2 but its content is %s' % actual)
    if actual not in ACCEPTED_FORMATS:
        raise ImageUnacceptable(image_id, 'its content is %s, not one of %s'
                                % (actual, ', '.join(ACCEPTED_FORMATS)))
    if backing or info.get('backing-filename') or \
            info.get('full-backing-filename'):
        raise ImageUnacceptable(
            image_id, 'it names a backing file (%s)'
            % (backing or info.get('backing-filename')))
    specific = (info.get('format-specific') or {}).get('data') or {}
    if specific.get('data-file'):
        raise ImageUnacceptable(image_id, 'it names an external data file '
                                '(%s)' % specific['data-file'])
    if actual == 'qcow2' and specific.get('corrupt'):
        raise ImageUnacceptable(image_id, 'its qcow2 metadata is corrupt')
    return actual


def virtual_size(path, fmt):
    """Size in bytes the guest sees, opening ``path`` as ``fmt`` only."""
    out, _err = utils.execute(*_limited(['qemu-img', 'info', '--output=json',
                                         '-f', fmt, path]),
                              timeout=QEMU_IMG_TIMEOUT)
    return int(json.loads(out)['virtual-size'])


def create_cow_image(base, base_format, path, size=None):
    """A qcow2 overlay at ``path`` on ``base`` (opened as ``base_format``)."""
    cmd = ['qemu-img', 'create', '-f', 'qcow2', '-o', 'cluster_size=2M',
           '-b', base, '-F', base_format, path]
    if size:
        cmd.append(str(int(size)))
    utils.execute(*cmd, timeout=QEMU_IMG_TIMEOUT)


def create_blank_image(path, size_bytes, fmt='qcow2'):
    utils.execute('qemu-img', 'create', '-f', fmt, path, str(int(size_bytes)),
                  timeout=QEMU_IMG_TIMEOUT)


def copy_image(base, base_format, path, fmt='qcow2'):
    """A standalone copy (``use_cow_images`` off)."""
    utils.execute('qemu-img', 'convert', '-f', base_format, '-O', fmt, base,
                  path, timeout=QEMU_IMG_TIMEOUT)


def resize_image(path, size_bytes, fmt='qcow2'):
    utils.execute('qemu-img', 'resize', '-f', fmt, path, str(int(size_bytes)),
                  timeout=QEMU_IMG_TIMEOUT)


def convert_image(source, source_format, dest, dest_format, force_share=False):
    """A standalone copy of ``source`` (backing chain flattened) at ``dest``.

    ``force_share`` lets qemu-img read a disk a running (paused) guest holds
    locked.
    """
    cmd = ['qemu-img', 'convert']
    if force_share:
        cmd.append('-U')
    cmd += ['-f', source_format, '-O', dest_format, source, dest]
    utils.execute(*cmd, timeout=QEMU_IMG_TIMEOUT)
