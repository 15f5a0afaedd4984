"""Per-project limits.

Each limit has a flag default; a ``quotas`` row for a project overrides the
limits it sets (a NULL column keeps the default).  The ``allowed_*``
functions answer how many of a request fit, so an API can grant part of a
RunInstances (between MinCount and MaxCount) or refuse it with the reason.
"""

from nova import exception
from nova import flags
from nova.db import api as db

FLAGS = flags.FLAGS

flags.DEFINE_integer('quota_instances', 10, 'instances per project')
flags.DEFINE_integer('quota_cores', 20, 'instance cores per project')
flags.DEFINE_integer('quota_volumes', 10, 'volumes per project')
flags.DEFINE_integer('quota_gigabytes', 1000, 'volume gigabytes per project')
flags.DEFINE_integer('quota_floating_ips', 10, 'floating IPs per project')
flags.DEFINE_integer('quota_metadata_items', 128,
                     'metadata items per instance')
flags.DEFINE_integer('quota_max_injected_files', 5,
                     'files injected into an instance at boot')
flags.DEFINE_integer('quota_max_injected_file_content_bytes', 10 * 1024,
                     'bytes per injected file')

# resource name -> flag holding its default
RESOURCES = {
    'instances': 'quota_instances',
    'cores': 'quota_cores',
    'volumes': 'quota_volumes',
    'gigabytes': 'quota_gigabytes',
    'floating_ips': 'quota_floating_ips',
    'metadata_items': 'quota_metadata_items',
    'injected_files': 'quota_max_injected_files',
    'injected_file_content_bytes': 'quota_max_injected_file_content_bytes',
}


def get_defaults():
    return {name: getattr(FLAGS, flag) for name, flag in RESOURCES.items()}


def get_quota(context, project_id):
    """Effective limits of a project: flag defaults, overridden by its row."""
    quota = get_defaults()
    try:
        row = db.quota_get(context, project_id)
    except exception.NotFound:
        return quota
    for name in RESOURCES:
        value = row.get(name) if hasattr(row, 'get') else row[name]
        if value is not None:
            quota[name] = value
    return quota


def set_quota(context, project_id, resource, limit):
    """Override one limit of a project; ``None`` goes back to the default."""
    if resource not in RESOURCES:
        raise exception.InvalidInput(
            reason='unknown quota %r (known: %s)'
                   % (resource, ', '.join(sorted(RESOURCES))))
    if limit is not None:
        try:
            limit = int(limit)
        except (TypeError, ValueError):
            raise exception.InvalidInput(
                reason='quota %s must be a whole number, not %r'
                       % (resource, limit)) from None
        if limit < 0:
            raise exception.InvalidInput(
                reason='quota %s cannot be negative' % resource)
    try:
        db.quota_get(context, project_id)
    except exception.NotFound:
        db.quota_create(context, {'project_id': project_id, resource: limit})
    else:
        db.quota_update(context, project_id, {resource: limit})


def allowed_instances(context, requested, instance_type):
    """How many of ``requested`` instances of this type the project may add."""
    project_id = context.project_id
    quota = get_quota(context, project_id)
    used_instances, used_cores = db.instance_data_get_for_project(context,
                                                                  project_id)
    allowed = min(requested, quota['instances'] - used_instances)
    vcpus = instance_type['vcpus']
    if vcpus:
        allowed = min(allowed, (quota['cores'] - used_cores) // vcpus)
    return max(allowed, 0)


def allowed_volumes(context, requested, size):
    project_id = context.project_id
    quota = get_quota(context, project_id)
    used_volumes, used_gigabytes = db.volume_data_get_for_project(context,
                                                                  project_id)
    allowed = min(requested, quota['volumes'] - used_volumes)
    size = int(size)
    if size:
        allowed = min(allowed, (quota['gigabytes'] - used_gigabytes) // size)
    return max(allowed, 0)


def allowed_floating_ips(context, requested):
    project_id = context.project_id
    quota = get_quota(context, project_id)
    used = db.floating_ip_count_by_project(context, project_id)
    return max(min(requested, quota['floating_ips'] - used), 0)


def allowed_metadata_items(context, requested):
    quota = get_quota(context, context.project_id)
    return max(min(requested, quota['metadata_items']), 0)


def allowed_injected_files(context, requested):
    quota = get_quota(context, context.project_id)
    return max(min(requested, quota['injected_files']), 0)


def allowed_injected_file_content_bytes(context, requested):
    quota = get_quota(context, context.project_id)
    return max(min(requested, quota['injected_file_content_bytes']), 0)
