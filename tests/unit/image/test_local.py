"""nova.image.local.LocalImageService and the image service choice."""

import datetime
import io

import pytest

from nova import context
from nova import exception
from nova import flags
from nova import image
from nova.image import local
from nova.image import service

FLAGS = flags.FLAGS


@pytest.fixture
def svc(tmp_path):
    return local.LocalImageService(str(tmp_path / 'images'))


def ctx(project):
    return context.RequestContext('u-' + project, project)


def test_create_show_get_update_delete(svc, tmp_path):
    c = ctx('p1')
    img = svc.create(c, {'name': 'debian', 'disk_format': 'ami',
                         'container_format': 'ami', 'kernel_id': '3',
                         'properties': {'arch': 'x86_64'}},
                     data=io.BytesIO(b'x' * 100000))
    assert img['status'] == 'active' and img['size'] == 100000
    assert img['owner'] == 'p1'
    assert img['properties'] == {'kernel_id': '3', 'arch': 'x86_64'}
    assert isinstance(img['created_at'], datetime.datetime)
    shown = svc.show(c, img['id'])
    assert shown['name'] == 'debian'
    out = io.BytesIO()
    svc.get(c, img['id'], out)
    assert out.getvalue() == b'x' * 100000
    target = tmp_path / 'copy'
    svc.download(c, img['id'], str(target))
    assert target.read_bytes() == b'x' * 100000
    updated = svc.update(c, img['id'], {'name': 'renamed',
                                        'properties': {'ramdisk_id': '4'}})
    assert updated['name'] == 'renamed'
    assert updated['properties']['ramdisk_id'] == '4'
    assert svc.show_by_name(c, 'renamed')['id'] == img['id']
    svc.delete(c, img['id'])
    with pytest.raises(exception.ImageNotFound):
        svc.show(c, img['id'])
    with pytest.raises(exception.ImageNotFound):
        svc.show(c, 'not-a-number')


def test_visibility_and_paging(svc):
    a = svc.create(ctx('p1'), {'name': 'a'})
    svc.create(ctx('p2'), {'name': 'b'})
    svc.create(ctx('p2'), {'name': 'c', 'is_public': True})
    names = lambda images: [i['name'] for i in images]  # noqa: E731
    assert names(svc.detail(ctx('p1'))) == ['a', 'c']
    assert names(svc.index(ctx('p2'))) == ['b', 'c']
    assert names(svc.detail(context.get_admin_context())) == ['a', 'b', 'c']
    assert names(svc.detail(context.get_admin_context(), marker=a['id'],
                            limit=1)) == ['b']
    with pytest.raises(exception.ImageNotFound):
        svc.show(ctx('p2'), a['id'])


def test_normalize_moves_extra_keys_into_properties():
    img = service.normalize({'id': 1, 'kernel_id': '3',
                             'created_at': '2011-02-03T04:05:06.123456',
                             'updated_at': '2011-02-03T04:05:06',
                             'properties': {'arch': 'x'}})
    assert img['properties'] == {'arch': 'x', 'kernel_id': '3'}
    assert img['created_at'] == datetime.datetime(2011, 2, 3, 4, 5, 6, 123456)
    assert img['updated_at'] == datetime.datetime(2011, 2, 3, 4, 5, 6)


def test_image_service_flag_chooses_the_class(tmp_path):
    assert FLAGS.image_service == 'nova.image.glance.GlanceImageService'
    FLAGS.image_service = 'nova.image.local.LocalImageService'
    FLAGS.local_image_path = str(tmp_path)
    svc = image.get_default_image_service()
    assert isinstance(svc, local.LocalImageService)
    assert svc.path == str(tmp_path)
