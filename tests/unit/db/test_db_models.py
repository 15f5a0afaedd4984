"""Rows as dicts, computed names, timestamps and soft delete."""

import datetime

import pytest

from nova import context
from nova import db
from nova import exception
from nova import flags
from nova import utils

FLAGS = flags.FLAGS

T0 = datetime.datetime(2011, 2, 3, 4, 5, 6)
T1 = datetime.datetime(2011, 2, 3, 5, 0, 0)


def test_row_reads_like_a_dict(ctx):
    svc = db.service_create(ctx, {'host': 'h1', 'binary': 'nova-compute',
                                  'topic': 'compute'})
    assert svc['host'] == svc.host == 'h1'
    assert svc.get('topic') == 'compute'
    assert svc.get('no_such_field', 'dflt') == 'dflt'
    assert dict(svc)['binary'] == 'nova-compute'
    assert dict(svc.items()) == dict(svc.iteritems()) == dict(svc)
    assert 'report_count' in svc.keys()
    assert dict(svc)['report_count'] == 0
    with pytest.raises(KeyError):
        svc['no_such_field']
    svc.update({'topic': 'x'})
    assert svc['topic'] == 'x'


def test_unknown_field_is_an_error_and_nothing_is_written(ctx):
    with pytest.raises(exception.Invalid, match='no_such_column'):
        db.service_create(ctx, {'host': 'h1', 'no_such_column': 1})
    assert db.service_get_all(ctx) == []


def test_instance_and_volume_names_follow_the_templates(ctx):
    inst = db.instance_create(ctx, {'project_id': 'p'})
    vol = db.volume_create(ctx, {'project_id': 'p', 'size': 1})
    assert inst.name == 'instance-%08x' % inst.id
    assert inst['name'] == inst.name
    assert dict(inst)['name'] == inst.name
    assert vol.name == 'volume-%08x' % vol.id
    FLAGS.instance_name_template = 'vm-%(uuid)s'
    assert db.instance_get(ctx, inst.id).name == 'vm-%s' % inst.uuid


def test_created_and_updated_timestamps(ctx, monkeypatch):
    monkeypatch.setattr(utils, 'utcnow', lambda: T0)
    svc = db.service_create(ctx, {'host': 'h', 'binary': 'b'})
    assert svc.created_at == T0
    assert svc.updated_at is None
    monkeypatch.setattr(utils, 'utcnow', lambda: T1)
    db.service_update(ctx, svc.id, {'report_count': 1})
    again = db.service_get(ctx, svc.id)
    assert again.created_at == T0
    assert again.updated_at == T1
    assert again.created_at.tzinfo is None


def test_soft_delete_hides_rows_unless_read_deleted(ctx, monkeypatch):
    monkeypatch.setattr(utils, 'utcnow', lambda: T1)
    svc = db.service_create(ctx, {'host': 'h', 'binary': 'b'})
    db.service_destroy(ctx, svc.id)
    with pytest.raises(exception.ServiceNotFound):
        db.service_get(ctx, svc.id)
    assert db.service_get_all(ctx) == []
    seen = db.service_get(context.get_admin_context(read_deleted=True),
                          svc.id)
    assert seen.deleted
    assert seen.deleted_at == T1


def test_a_deleted_name_can_be_reused(ctx):
    first = db.key_pair_create(ctx, {'user_id': 'u', 'name': 'k'})
    db.key_pair_destroy(ctx, 'u', 'k')
    second = db.key_pair_create(ctx, {'user_id': 'u', 'name': 'k'})
    db.key_pair_destroy(ctx, 'u', 'k')
    third = db.key_pair_create(ctx, {'user_id': 'u', 'name': 'k'})
    assert len({first.id, second.id, third.id}) == 3
    with pytest.raises(exception.Duplicate):
        db.key_pair_create(ctx, {'user_id': 'u', 'name': 'k'})


def test_rows_are_usable_after_the_session_closed(ctx):
    sg = db.security_group_create(ctx, {'project_id': 'p', 'name': 'web'})
    db.security_group_rule_create(ctx, {'parent_group_id': sg.id,
                                        'protocol': 'tcp', 'from_port': 80,
                                        'to_port': 80, 'cidr': '0.0.0.0/0'})
    inst = db.instance_create(ctx, {'project_id': 'p',
                                    'instance_type': 'm1.tiny',
                                    'security_groups': [sg.id]})
    net = db.network_create(ctx, {'cidr': '10.0.0.0/28'})
    db.fixed_ip_create(ctx, {'address': '10.0.0.2', 'network_id': net.id})
    db.fixed_ip_associate_pool(ctx, net.id, inst.id)
    inst = db.instance_get(ctx, inst.id)
    # Every relationship below was loaded before the call returned.
    assert inst.instance_type.name == 'm1.tiny'
    assert [g.name for g in inst.security_groups] == ['web']
    assert inst.security_groups[0].rules[0].from_port == 80
    assert inst.fixed_ip.address == '10.0.0.2'
    assert inst.fixed_ip.network.cidr == '10.0.0.0/28'
    assert inst.fixed_ip.instance.id == inst.id
    assert inst.fixed_ip.floating_ips == []
    assert inst.volumes == []
