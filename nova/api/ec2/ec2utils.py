"""EC2 identifiers and their mapping to nova's internal ids.

EC2 names everything with a typed prefix and eight hex digits: instances
``i-%08x`` of the integer instance id, volumes ``vol-%08x``, and images
``ami-``/``aki-``/``ari-`` of the integer Glance (or local) image id, the
prefix chosen by the image's disk format.  Reservation ids are made by
compute (``r-`` plus eight characters) and pass through unchanged.

Malformed ids are refused here with the EC2 ``.Malformed`` codes, so a
controller never looks up garbage.
"""

import re

from nova import exception

_ID_RE = re.compile(r'([a-z]+)-([0-9a-fA-F]{1,16})')

IMAGE_PREFIXES = {'aki': 'aki', 'ari': 'ari'}   # disk format -> prefix
_PREFIX_ERRORS = {
    'i': 'InvalidInstanceID.Malformed',
    'ami': 'InvalidAMIID.Malformed',
    'aki': 'InvalidAMIID.Malformed',
    'ari': 'InvalidAMIID.Malformed',
    'vol': 'InvalidVolumeID.Malformed',
}


class MalformedId(exception.Invalid):
    """An id that is not of the form its parameter needs."""
    message = 'Invalid id: "%(ec2_id)s"'

    def __init__(self, ec2_id, prefixes):
        super().__init__(ec2_id=ec2_id)
        self.ec2_code = _PREFIX_ERRORS.get(prefixes[0],
                                           'InvalidParameterValue')


def ec2_id_to_id(ec2_id, prefixes=('i',)):
    """The integer behind ``prefix-hex``; MalformedId unless the prefix fits."""
    match = _ID_RE.fullmatch(ec2_id) if isinstance(ec2_id, str) else None
    if match is None or match.group(1) not in prefixes:
        raise MalformedId(ec2_id, prefixes)
    return int(match.group(2), 16)


def id_to_ec2_id(internal_id, template='i-%08x'):
    return template % int(internal_id)


def instance_id_to_ec2(internal_id):
    return id_to_ec2_id(internal_id, 'i-%08x')


def ec2_instance_id_to_id(ec2_id):
    return ec2_id_to_id(ec2_id, ('i',))


def image_prefix(disk_format):
    """``aki`` for kernels, ``ari`` for ramdisks, ``ami`` for everything else."""
    return IMAGE_PREFIXES.get(disk_format, 'ami')


def image_ec2_id(image_id, disk_format=None):
    """``ami-%08x`` (or aki-/ari-) of an integer image id.

    Image services whose ids are not integers cannot be named in EC2; they
    raise InvalidParameterValue rather than inventing a mapping that would
    not survive a restart.
    """
    try:
        number = int(image_id)
    except (TypeError, ValueError):
        raise exception.InvalidParameterValue(
            reason='image id %r is not an integer; the EC2 API needs integer '
                   'image ids' % (image_id,)) from None
    return '%s-%08x' % (image_prefix(disk_format), number)


def ec2_image_id_to_id(ec2_id):
    """The integer image id behind ami-/aki-/ari- ids."""
    return ec2_id_to_id(ec2_id, ('ami', 'aki', 'ari'))


def volume_id_to_ec2(internal_id):
    return id_to_ec2_id(internal_id, 'vol-%08x')
