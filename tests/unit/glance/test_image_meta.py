"""Format rules and the x-image-meta-* header mapping."""

import pytest

from glance.common import exception
from glance.common import image_meta


@pytest.mark.parametrize('disk,container', [
    ('raw', 'bare'), ('qcow2', 'ovf'), ('vhd', 'bare'), ('iso', 'bare'),
    ('vmdk', 'ovf'), ('vdi', 'bare'), ('aki', 'aki'), ('ari', 'ari'),
    ('ami', 'ami'), (None, None), ('raw', None), (None, 'bare')])
def test_accepted_formats(disk, container):
    image_meta.validate_formats(disk, container)


@pytest.mark.parametrize('disk,container,named', [
    ('floppy', 'bare', 'floppy'), ('raw', 'tarball', 'tarball'),
    ('ami', 'bare', 'ami'), ('raw', 'aki', 'aki'), ('aki', 'ari', 'aki'),
    ('ami', None, 'ami')])
def test_rejected_formats_name_the_value(disk, container, named):
    with pytest.raises(exception.Invalid) as err:
        image_meta.validate_formats(disk, container)
    assert err.value.code == 400
    assert named in str(err.value)


def test_parse_keeps_underscores_and_reads_hyphens_as_same_field():
    meta, props, ignored = image_meta.parse_headers([
        ('x-image-meta-disk_format', 'QCOW2'),
        ('X-Image-Meta-Container-Format', 'bare'),
        ('x-image-meta-is_public', 'True'),
        ('x-image-meta-size', '42'),
        ('x-image-meta-name', 'debian'),
        ('x-image-meta-property-kernel_id', '3'),
        ('x-image-meta-property-ramdisk-id', '4'),
        ('X-Image-Meta-Status', 'active'),
        ('Content-Type', 'application/octet-stream'),
    ])
    assert meta == {'disk_format': 'qcow2', 'container_format': 'bare',
                    'is_public': True, 'size': 42, 'name': 'debian'}
    # property keys stay exactly as sent: a_b and a-b are different keys
    assert props == {'kernel_id': '3', 'ramdisk-id': '4'}
    assert ignored == ['status']


@pytest.mark.parametrize('header,value,fragment', [
    ('x-image-meta-size', 'big', 'size'),
    ('x-image-meta-size', '-1', 'size'),
    ('x-image-meta-is_public', 'maybe', 'is_public'),
    ('x-image-meta-checksum', 'abc', 'checksum'),
    ('x-image-meta-id', '0', 'id'),
    ('x-image-meta-colour', 'red', 'x-image-meta-colour'),
    ('x-image-meta-property-bad key', 'x', 'bad key'),
    ('x-image-meta-name', 'x' * 256, 'name'),
])
def test_bad_headers_are_400_naming_the_problem(header, value, fragment):
    with pytest.raises(exception.Invalid) as err:
        image_meta.parse_headers([(header, value)])
    assert fragment in str(err.value)


def test_empty_value_means_none():
    meta, _props, _ = image_meta.parse_headers([('x-image-meta-name', ''),
                                                ('x-image-meta-size', '')])
    assert meta == {'name': None, 'size': None}


def test_utf8_values_survive_the_latin1_header_form():
    sent = 'd\u00e9bian \u2603'.encode('utf-8').decode('latin-1')
    meta, props, _ = image_meta.parse_headers([
        ('x-image-meta-name', sent), ('x-image-meta-property-note', sent)])
    assert meta['name'] == 'd\u00e9bian \u2603'
    out = dict(image_meta.to_headers({'name': meta['name'],
                                      'properties': props}))
    assert out['x-image-meta-name'] == sent
    assert image_meta.from_headers(list(out.items()))['name'] == \
        'd\u00e9bian \u2603'


def test_to_headers_emits_underscore_names_and_round_trips():
    image = {'id': 7, 'name': 'n', 'disk_format': 'ami',
             'container_format': 'ami', 'size': 10, 'checksum': None,
             'status': 'active', 'is_public': True, 'location': None,
             'owner': 'p1', 'created_at': '2011-02-03T04:05:06.000007',
             'updated_at': None, 'deleted_at': None, 'deleted': False,
             'properties': {'kernel_id': '5'}}
    headers = image_meta.to_headers(image)
    names = [n for n, _v in headers]
    assert 'x-image-meta-disk_format' in names
    assert 'x-image-meta-container_format' in names
    assert 'x-image-meta-is_public' in names
    assert ('x-image-meta-is_public', 'True') in headers
    assert ('x-image-meta-checksum', '') in headers
    back = image_meta.from_headers(headers)
    assert back['id'] == 7 and back['size'] == 10
    assert back['is_public'] is True and back['deleted'] is False
    assert back['checksum'] is None
    assert back['properties'] == {'kernel_id': '5'}


def test_header_values_with_line_breaks_are_refused():
    with pytest.raises(exception.Invalid):
        image_meta.parse_headers([('x-image-meta-name', 'a\r\nX-Evil: 1')])
