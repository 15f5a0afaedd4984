"""nova.image.glance.GlanceImageService against real glance processes."""

import datetime
import hashlib
import io
import os

import pytest

from nova import context
from nova import exception
from nova import flags
from nova import image
from nova.image import glance as glance_image

FLAGS = flags.FLAGS


@pytest.fixture
def svc(glance):
    FLAGS.glance_host = '127.0.0.1'
    FLAGS.glance_port = glance.api_port
    return image.get_default_image_service()


def test_default_service_is_glance(svc):
    assert isinstance(svc, glance_image.GlanceImageService)


def test_create_show_stream_update_delete(svc, tmp_path):
    ctxt = context.get_admin_context()
    data = os.urandom(256 * 1024)
    img = svc.create(ctxt, {'name': 'snap', 'disk_format': 'raw',
                            'container_format': 'bare', 'is_public': False,
                            'kernel_id': '7', 'status': 'queued',
                            'properties': {'image_state': 'available'}},
                     data=io.BytesIO(data))
    assert img['status'] == 'active'
    assert img['size'] == len(data)
    assert img['properties'] == {'kernel_id': '7',
                                 'image_state': 'available'}
    assert isinstance(img['created_at'], datetime.datetime)

    shown = svc.show(ctxt, img['id'])
    assert shown['name'] == 'snap'
    assert shown['is_public'] is False
    assert shown['properties']['kernel_id'] == '7'
    assert shown['checksum'] == hashlib.md5(data).hexdigest()

    meta, chunks = svc.get_data(ctxt, img['id'])
    assert b''.join(chunks) == data
    target = tmp_path / 'disk'
    svc.download(ctxt, img['id'], str(target))
    assert target.read_bytes() == data

    updated = svc.update(ctxt, img['id'], {'name': 'snap2',
                                           'properties': {'arch': 'x86_64'}})
    assert updated['name'] == 'snap2'
    assert updated['properties']['arch'] == 'x86_64'
    assert svc.show_by_name(ctxt, 'snap2')['id'] == img['id']

    svc.delete(ctxt, img['id'])
    with pytest.raises(exception.ImageNotFound):
        svc.show(ctxt, img['id'])
    with pytest.raises(exception.ImageNotFound):
        svc.delete(ctxt, img['id'])
    with pytest.raises(exception.ImageNotFound):
        svc.get_data(ctxt, img['id'])


def test_queued_then_data_iterator(svc):
    ctxt = context.get_admin_context()
    img = svc.create(ctxt, {'name': 'later'})
    assert img['status'] == 'queued'
    pieces = [b'a' * 70000, b'b' * 3]
    updated = svc.update(ctxt, img['id'], {}, data=iter(pieces))
    assert updated['status'] == 'active' and updated['size'] == 70003


def test_detail_follows_every_page_and_errors_translate(svc):
    ctxt = context.get_admin_context()
    for n in range(30):
        svc.create(ctxt, {'name': 'i%02d' % n})
    assert len(svc.detail(ctxt)) == 30
    assert len(svc.index(ctxt, limit=7)) == 7
    with pytest.raises(exception.Invalid):
        svc.create(ctxt, {'name': 'x', 'disk_format': 'floppy'})
