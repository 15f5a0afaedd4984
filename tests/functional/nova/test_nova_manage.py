"""bin/nova-manage as an operator runs it, on SQLite, MariaDB and PostgreSQL."""

import os
import zipfile

import pytest

from tests import dbservers
from tests.functional.nova import helpers


@pytest.fixture(params=['sqlite', 'mysql', 'postgres'])
def flagfile(request, tmp_path):
    url, drop = dbservers.make_database(request, request.param, 'nova_ft')
    yield helpers.write_flagfile(str(tmp_path), sql_connection=url)
    drop()


def test_db_sync_twice_and_version(flagfile):
    before = helpers.nova_manage(flagfile, 'db', 'version', check=False)
    assert before.returncode == 1
    assert 'db sync' in before.stderr
    first = helpers.nova_manage(flagfile, 'db', 'sync')
    version = helpers.nova_manage(flagfile, 'db', 'version').stdout.strip()
    assert version and version == first.stdout.strip()
    helpers.nova_manage(flagfile, 'db', 'sync')
    assert helpers.nova_manage(flagfile, 'db', 'version').stdout.strip() \
        == version


def test_users_projects_roles_and_quotas(flagfile, tmp_path):
    helpers.nova_manage(flagfile, 'db', 'sync')
    out = helpers.nova_manage(flagfile, 'user', 'admin', 'root', 'rootkey',
                              'rootsecret').stdout
    assert 'export EC2_ACCESS_KEY=rootkey' in out
    assert 'export EC2_SECRET_KEY=rootsecret' in out
    out = helpers.nova_manage(flagfile, 'user', 'create', 'alice').stdout
    assert 'EC2_ACCESS_KEY=' in out
    listing = helpers.nova_manage(flagfile, 'user', 'list').stdout
    assert 'root (admin)' in listing and 'alice' in listing
    exports = helpers.nova_manage(flagfile, 'user', 'exports', 'root').stdout
    assert 'rootsecret' in exports
    helpers.nova_manage(flagfile, 'user', 'modify', 'alice', 'newkey', '', 'T')
    assert 'EC2_ACCESS_KEY=newkey' in helpers.nova_manage(
        flagfile, 'user', 'exports', 'alice').stdout
    assert 'alice (admin)' in helpers.nova_manage(flagfile, 'user',
                                                  'list').stdout

    helpers.nova_manage(flagfile, 'project', 'create', 'proj', 'root',
                        'a project')
    helpers.nova_manage(flagfile, 'project', 'add', 'proj', 'alice')
    assert 'proj (manager root)' in helpers.nova_manage(
        flagfile, 'project', 'list').stdout

    helpers.nova_manage(flagfile, 'role', 'add', 'alice', 'netadmin')
    helpers.nova_manage(flagfile, 'role', 'add', 'alice', 'netadmin', 'proj')
    assert helpers.nova_manage(flagfile, 'role', 'has', 'alice', 'netadmin',
                               'proj').stdout.strip() == 'True'
    helpers.nova_manage(flagfile, 'role', 'remove', 'alice', 'netadmin')
    assert helpers.nova_manage(flagfile, 'role', 'has', 'alice', 'netadmin',
                               'proj').stdout.strip() == 'False'

    quota = helpers.nova_manage(flagfile, 'project', 'quota', 'proj').stdout
    assert 'instances: 10' in quota
    quota = helpers.nova_manage(flagfile, 'project', 'quota', 'proj',
                                'instances', '3').stdout
    assert 'instances: 3' in quota and 'cores: 20' in quota
    quota = helpers.nova_manage(flagfile, 'project', 'quota', 'proj',
                                'instances', 'default').stdout
    assert 'instances: 10' in quota

    rc = str(tmp_path / 'novarc')
    helpers.nova_manage(flagfile, 'project', 'environment', 'proj', 'alice',
                        rc)
    text = open(rc).read()
    assert "EC2_ACCESS_KEY='newkey:proj'" in text
    assert 'NOVA_API_KEY=' in text and 'EC2_URL=' in text

    helpers.nova_manage(flagfile, 'project', 'remove', 'proj', 'alice')
    helpers.nova_manage(flagfile, 'user', 'delete', 'alice')
    assert 'alice' not in helpers.nova_manage(flagfile, 'user', 'list').stdout
    helpers.nova_manage(flagfile, 'project', 'delete', 'proj')
    assert 'proj' not in helpers.nova_manage(flagfile, 'project',
                                             'list').stdout


def test_credentials_zip(tmp_path):
    from cryptography import x509
    flagfile = helpers.write_flagfile(str(tmp_path))
    helpers.nova_manage(flagfile, 'db', 'sync')
    helpers.nova_manage(flagfile, 'user', 'admin', 'admin')
    helpers.nova_manage(flagfile, 'project', 'create', 'admin', 'admin')
    target = str(tmp_path / 'nova.zip')
    helpers.nova_manage(flagfile, 'project', 'zipfile', 'admin', 'admin',
                        target)
    with zipfile.ZipFile(target) as zf:
        names = set(zf.namelist())
        assert names == {'novarc', 'pk.pem', 'cert.pem', 'cacert.pem'}
        cert = x509.load_pem_x509_certificate(zf.read('cert.pem'))
        ca = x509.load_pem_x509_certificate(zf.read('cacert.pem'))
        assert 'EC2_SECRET_KEY' in zf.read('novarc').decode()
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)


def test_wrong_usage_prints_usage_and_fails(tmp_path):
    flagfile = helpers.write_flagfile(str(tmp_path))
    helpers.nova_manage(flagfile, 'db', 'sync')
    for args in (['nosuchcategory'], ['user'], ['user', 'frobnicate'],
                 ['user', 'create'], ['user', 'create', 'a', 'b', 'c', 'd'],
                 ['project', 'quota', 'x', 'instances'], []):
        proc = helpers.nova_manage(flagfile, *args, check=False)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert 'usage: nova-manage' in proc.stderr, args


def test_failed_actions_exit_one_and_write_nothing(tmp_path):
    flagfile = helpers.write_flagfile(str(tmp_path))
    helpers.nova_manage(flagfile, 'db', 'sync')
    proc = helpers.nova_manage(flagfile, 'user', 'delete', 'ghost',
                               check=False)
    assert proc.returncode == 1 and 'ghost' in proc.stderr
    proc = helpers.nova_manage(flagfile, 'project', 'create', 'p', 'ghost',
                               check=False)
    assert proc.returncode == 1 and 'ghost' in proc.stderr
    assert 'p (manager' not in helpers.nova_manage(flagfile, 'project',
                                                   'list').stdout
    helpers.nova_manage(flagfile, 'user', 'create', 'bob')
    proc = helpers.nova_manage(flagfile, 'role', 'add', 'bob', 'emperor',
                               check=False)
    assert proc.returncode == 1 and 'emperor' in proc.stderr
    proc = helpers.nova_manage(flagfile, 'user', 'create', 'bob', check=False)
    assert proc.returncode == 1 and 'exists' in proc.stderr
    proc = helpers.nova_manage(flagfile, 'project', 'zipfile', 'nope', 'bob',
                               str(tmp_path / 'z.zip'), check=False)
    assert proc.returncode == 1
    assert not os.path.exists(tmp_path / 'z.zip')


def test_abbreviated_commands(tmp_path):
    flagfile = helpers.write_flagfile(str(tmp_path))
    helpers.nova_manage(flagfile, 'db', 'sync')
    helpers.nova_manage(flagfile, 'us', 'cr', 'carol')
    assert 'carol' in helpers.nova_manage(flagfile, 'user', 'l').stdout


def test_malformed_and_unknown_flagfiles(tmp_path):
    bad = tmp_path / 'bad.conf'
    bad.write_text('--verbose\nsql_connection=sqlite://\n')
    proc = helpers.nova_manage(str(bad), 'user', 'list', check=False)
    assert proc.returncode == 2
    assert 'bad.conf:2' in proc.stderr
    unknown = tmp_path / 'unknown.conf'
    unknown.write_text('--verbose\n--no_such_option=1\n')
    proc = helpers.nova_manage(str(unknown), 'user', 'list', check=False)
    assert proc.returncode == 2
    assert 'no_such_option' in proc.stderr and 'unknown.conf:2' in proc.stderr


def test_help_lists_every_category(tmp_path):
    flagfile = helpers.write_flagfile(str(tmp_path))
    proc = helpers.nova_manage(flagfile, '--help')
    for category in ('db', 'user', 'project', 'role', 'service', 'shell',
                     'version'):
        assert '\n%s: ' % category in proc.stdout
