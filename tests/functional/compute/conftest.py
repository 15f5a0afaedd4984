"""Images for the functional compute tests."""

from nova import context


def make_images():
    """kernel, ramdisk, AMI and raw disk in the LocalImageService."""
    from nova.image import local
    svc = local.LocalImageService()
    ctxt = context.get_admin_context()

    def make(name, disk_format, props=None):
        return str(svc.create(ctxt, {
            'name': name, 'disk_format': disk_format,
            'container_format': 'bare' if disk_format == 'raw'
            else disk_format,
            'is_public': True, 'properties': props or {}},
            data=iter([b'image bytes'])) ['id'])

    ids = {'kernel': make('kernel', 'aki'), 'ramdisk': make('ramdisk', 'ari')}
    ids['ami'] = make('ami', 'ami', {'kernel_id': ids['kernel'],
                                     'ramdisk_id': ids['ramdisk']})
    ids['raw'] = make('raw', 'raw')
    ids['broken'] = make('broken', 'raw')
    return ids
