"""Object and DB auditors quarantine what is rotten and keep the rest."""

import os
import time

from webob import Request

from swift.account.auditor import AccountAuditor
from swift.common.db import AccountBroker, ContainerBroker
from swift.common.utils import hash_path, read_metadata, storage_directory
from swift.container.auditor import ContainerAuditor
from swift.obj import diskfile
from swift.obj.auditor import ObjectAuditor
from swift.obj.server import ObjectController


def conf(tmp_path, **extra):
    base = {'devices': str(tmp_path), 'mount_check': 'false',
            'log_requests': 'false', 'files_per_second': '0',
            'bytes_per_second': '0', 'dbs_per_second': '0'}
    base.update(extra)
    return base


def put(tmp_path, name, body):
    (tmp_path / 'sda').mkdir(exist_ok=True)
    resp = Request.blank('/sda/0/a/c/' + name, method='PUT', body=body,
                         headers={'X-Timestamp': str(time.time()),
                                  'Content-Length': str(len(body)),
                                  'Content-Type': 't'}).get_response(
        ObjectController(conf(tmp_path)))
    assert resp.status_int == 201
    name_hash = hash_path('a', 'c', name)
    hash_dir = os.path.join(str(tmp_path), 'sda', 'objects', '0',
                            name_hash[-3:], name_hash)
    return os.path.join(hash_dir, os.listdir(hash_dir)[0])


def quarantined(tmp_path, data_path):
    return os.path.join(str(tmp_path), 'sda', 'quarantined', 'objects',
                        os.path.basename(os.path.dirname(data_path)),
                        os.path.basename(data_path))


def test_object_auditor_quarantines_only_bad_objects(tmp_path):
    good = put(tmp_path, 'good', b'fine bytes')
    flipped = put(tmp_path, 'flipped', b'original')
    truncated = put(tmp_path, 'truncated', b'0123456789')
    no_meta = put(tmp_path, 'no-meta', b'abc')
    with open(flipped, 'r+b') as fp:
        fp.write(b'X')                      # same size, other md5
    with open(truncated, 'r+b') as fp:
        fp.truncate(4)
    os.removexattr(no_meta, 'user.swift.metadata')
    part_dir = os.path.join(str(tmp_path), 'sda', 'objects', '0')
    before = diskfile.get_hashes(part_dir)

    stats = ObjectAuditor(conf(tmp_path)).run_once()
    assert stats['passes'] == 1 and stats['quarantines'] == 3, stats
    assert os.path.exists(good)
    for path in (flipped, truncated, no_meta):
        assert not os.path.exists(path)
        assert os.path.exists(quarantined(tmp_path, path))
    # the suffix hashes changed, so replication will notice the loss
    after = diskfile.get_hashes(part_dir)
    changed = {s for s in before if before[s] != after.get(s)}
    assert {os.path.basename(os.path.dirname(os.path.dirname(p)))
            for p in (flipped, truncated, no_meta)} <= changed
    # the quarantined copy keeps its metadata for forensics
    assert read_metadata(quarantined(tmp_path, flipped))['name'] == \
        '/a/c/flipped'


def test_object_auditor_passes_a_clean_tree(tmp_path):
    put(tmp_path, 'one', b'1' * 200000)
    put(tmp_path, 'two', b'')
    stats = ObjectAuditor(conf(tmp_path)).run_once()
    assert stats == {'passes': 2, 'quarantines': 0, 'errors': 0,
                     'bytes': 200000}


def db_path(tmp_path, datadir, *names):
    name_hash = hash_path(*names)
    return os.path.join(storage_directory(
        os.path.join(str(tmp_path), 'sda', datadir), 0, name_hash),
        name_hash + '.db')


def test_container_auditor_quarantines_broken_and_misplaced_dbs(tmp_path):
    good = ContainerBroker(db_path(tmp_path, 'containers', 'a', 'good'),
                           account='a', container='good')
    good.initialize(1)
    garbage = db_path(tmp_path, 'containers', 'a', 'garbage')
    os.makedirs(os.path.dirname(garbage))
    with open(garbage, 'wb') as fp:
        fp.write(os.urandom(4096))
    # a sound DB of container a/x sitting where a/misplaced belongs
    misplaced = ContainerBroker(
        db_path(tmp_path, 'containers', 'a', 'misplaced'), account='a',
        container='x')
    misplaced.initialize(1)

    stats = ContainerAuditor(conf(tmp_path)).run_once()
    assert stats == {'passes': 1, 'quarantines': 2, 'errors': 0}
    assert good.exists()
    for path in (garbage, misplaced.db_file):
        name_hash = os.path.basename(path)[:-3]
        assert not os.path.exists(path)
        assert os.path.exists(os.path.join(
            str(tmp_path), 'sda', 'quarantined', 'containers', name_hash,
            name_hash + '.db'))


def test_account_auditor_passes_good_accounts(tmp_path):
    broker = AccountBroker(db_path(tmp_path, 'accounts', 'AUTH_x'),
                           account='AUTH_x')
    broker.initialize(1)
    broker.put_container('c', 1, 0, 0, 0)
    assert AccountAuditor(conf(tmp_path)).run_once() == {
        'passes': 1, 'quarantines': 0, 'errors': 0}
