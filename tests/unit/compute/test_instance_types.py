"""Instance types kept in the database."""

import pytest

from nova import exception
from nova import flags
from nova.compute import instance_types
from tests.unit.db.conftest import _template_db, sqlite_db  # noqa: F401

FLAGS = flags.FLAGS


def test_migration_provides_the_m1_types(sqlite_db):  # noqa: F811
    types = instance_types.get_all_types()
    assert sorted(types) == ['m1.large', 'm1.medium', 'm1.small', 'm1.tiny',
                             'm1.xlarge']
    assert types['m1.small']['memory_mb'] == 2048
    assert types['m1.xlarge']['vcpus'] == 8
    assert instance_types.get_default_instance_type()['name'] == 'm1.small'
    assert instance_types.get_instance_type(None)['name'] == 'm1.small'
    assert instance_types.get_instance_type_by_flavor_id(3)['name'] == \
        'm1.medium'


def test_create_and_delete(sqlite_db):  # noqa: F811
    instance_types.create('x1.big', '4096', '4', '100', '42', swap='512')
    got = instance_types.get_instance_type('x1.big')
    assert (got['memory_mb'], got['vcpus'], got['local_gb'],
            got['flavorid'], got['swap']) == (4096, 4, 100, 42, 512)
    with pytest.raises(exception.Duplicate):
        instance_types.create('x1.big', 1, 1, 1, 43)
    with pytest.raises(exception.Duplicate):
        instance_types.create('x1.other', 1, 1, 1, 42)
    instance_types.destroy('x1.big')
    assert 'x1.big' not in instance_types.get_all_types()
    assert 'x1.big' in instance_types.get_all_types(inactive=True)
    with pytest.raises(exception.InstanceTypeNotFound):
        instance_types.destroy('x1.big')
    # The name is free again once deleted.
    instance_types.create('x1.big', 1, 1, 1, 42)


@pytest.mark.parametrize('args,text', [
    (('', 1, 1, 1, 10), 'name'),
    (('a', 'lots', 1, 1, 10), 'memory_mb'),
    (('a', 0, 1, 1, 10), 'memory_mb must be at least 1'),
    (('a', 1, 0, 1, 10), 'vcpus'),
    (('a', 1, 1, -1, 10), 'local_gb'),
    (('a', 1, 1, 1, 'x'), 'flavorid'),
    (('a', 1, 1, 1, 10, -5), 'swap'),
    (('n' * 256, 1, 1, 1, 10), 'longer'),
])
def test_invalid_types_are_refused(sqlite_db, args, text):  # noqa: F811
    before = instance_types.get_all_types(inactive=True)
    with pytest.raises(exception.InvalidInput) as info:
        instance_types.create(*args)
    assert text in str(info.value)
    assert instance_types.get_all_types(inactive=True) == before


def test_unknown_type(sqlite_db):  # noqa: F811
    with pytest.raises(exception.InstanceTypeNotFound):
        instance_types.get_instance_type('m5.nothing')
