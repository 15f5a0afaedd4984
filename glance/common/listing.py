"""Query parameters of the image lists: filters, sorting and paging."""

from glance.common import config
from glance.common import exception
from glance.common import image_meta

FILTERS = ('name', 'status', 'disk_format', 'container_format', 'checksum',
           'owner', 'size_min', 'size_max', 'is_public')
PAGING = ('marker', 'limit', 'sort_key', 'sort_dir')


def forwardable(params):
    """The (name, value) pairs of a list query the registry understands."""
    return [(k, v) for k, v in params if k in FILTERS or k in PAGING
            or k.startswith('property-')]


def parse(params, limit_default=25, limit_max=1000):
    """``(filters, marker, limit, sort_key, sort_dir)`` from query pairs.

    Bad values are a 400 naming the parameter; a limit over the maximum is
    lowered to it rather than refused (clients ask for big pages freely).
    """
    filters = {}
    marker = None
    limit = limit_default
    sort_key = 'created_at'
    sort_dir = 'desc'
    for key, value in params:
        if key in ('size_min', 'size_max'):
            filters[key] = image_meta.parse_int(value, key)
        elif key == 'is_public':
            # python-glanceclient sends is_public=None for "all I can see".
            if value.strip().lower() in ('none', ''):
                filters[key] = None
            else:
                filters[key] = config.parse_bool(value, 'is_public')
        elif key in ('disk_format', 'container_format'):
            filters[key] = value.lower()
        elif key in FILTERS:
            filters[key] = value
        elif key.startswith('property-'):
            image_meta.validate_property_key(key[len('property-'):])
            filters[key] = value
        elif key == 'marker':
            marker = image_meta.parse_int(value, 'marker', minimum=1)
        elif key == 'limit':
            limit = image_meta.parse_int(value, 'limit')
        elif key == 'sort_key':
            sort_key = value
        elif key == 'sort_dir':
            sort_dir = value.lower()
    if filters.get('status') is not None:
        image_meta.validate_status(filters['status'])
    if limit_max is not None and limit > limit_max:
        limit = limit_max
    return filters, marker, limit, sort_key, sort_dir


def check_known(params):
    for key, _value in params:
        if not (key in FILTERS or key in PAGING
                or key.startswith('property-')):
            raise exception.Invalid('Unknown query parameter %r' % key)
