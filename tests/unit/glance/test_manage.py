"""glance-manage db_sync / db_version / downgrade."""

import io

from glance import manage


def run(*argv):
    out = io.StringIO()
    rc = manage.main(list(argv), out=out)
    return rc, out.getvalue().strip()


def test_sync_version_downgrade(tmp_path):
    url = 'sqlite:///%s/g.sqlite' % tmp_path
    assert run('--sql-connection', url, 'db_version') == (0, 'none')
    assert run('--sql-connection', url, 'db_sync') == (0, '001')
    assert run('--sql-connection', url, 'db_sync') == (0, '001')
    assert run('--sql-connection', url, 'db_version') == (0, '001')
    assert run('--sql-connection', url, 'downgrade', 'base') == (0, 'none')


def test_reads_the_registry_config(tmp_path):
    conf = tmp_path / 'glance-registry.conf'
    conf.write_text('[DEFAULT]\nsql_connection = sqlite:///%s/c.sqlite\n\n'
                    '[app:glance-registry]\npaste.app_factory = '
                    'glance.registry.server:app_factory\n' % tmp_path)
    assert run('--config-file', str(conf), 'db_sync') == (0, '001')
    assert (tmp_path / 'c.sqlite').exists()


def test_bad_url_is_reported_not_raised(tmp_path):
    rc, _ = run('--sql-connection', 'sqlite:////nonexistent/dir/x.sqlite',
                'db_sync')
    assert rc == 1
