"""nova.flags: definitions, flagfiles, late binding, references, errors."""

import pytest

from nova import flags


@pytest.fixture
def fv():
    return flags.FlagValues()


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_defaults_and_types(fv):
    flags.DEFINE_string('s', 'x', 'a string', flag_values=fv)
    flags.DEFINE_integer('i', 3, 'an int', flag_values=fv)
    flags.DEFINE_bool('b', False, 'a bool', flag_values=fv)
    flags.DEFINE_list('l', ['a'], 'a list', flag_values=fv)
    flags.DEFINE_float('f', 1.5, 'a float', flag_values=fv)
    assert (fv.s, fv.i, fv.b, fv.l, fv.f) == ('x', 3, False, ['a'], 1.5)
    rest = fv(['prog', '--s=y', '--i=7', '--b', '--l=p,q', '--f=2.5', 'arg'])
    assert rest == ['prog', 'arg']
    assert (fv.s, fv.i, fv.b, fv.l, fv.f) == ('y', 7, True, ['p', 'q'], 2.5)
    fv(['prog', '--nob'])
    assert fv.b is False


def test_flagfile_in_nova_conf_format(fv, tmp_path):
    flags.DEFINE_string('sql_connection', 'none', '', flag_values=fv)
    flags.DEFINE_integer('report_interval', 10, '', flag_values=fv)
    flags.DEFINE_bool('verbose', False, '', flag_values=fv)
    path = _write(tmp_path, 'nova.conf',
                  '# comment\n\n--sql_connection=mysql+pymysql://root@h/nova\n'
                  '--report_interval=2\n--verbose\n')
    fv(['prog', '--flagfile=%s' % path])
    assert fv.sql_connection == 'mysql+pymysql://root@h/nova'
    assert fv.report_interval == 2
    assert fv.verbose is True


def test_command_line_after_flagfile_wins(fv, tmp_path):
    flags.DEFINE_integer('n', 1, '', flag_values=fv)
    path = _write(tmp_path, 'a.conf', '--n=5\n')
    fv(['prog', '--flagfile', path, '--n=9'])
    assert fv.n == 9


def test_unknown_flag_in_flagfile_names_flag_and_file(fv, tmp_path):
    path = _write(tmp_path, 'bad.conf', '--known=1\n--no_such_flag=3\n')
    flags.DEFINE_integer('known', 0, '', flag_values=fv)
    fv(['prog', '--flagfile=%s' % path])
    with pytest.raises(flags.UnknownFlagError) as e:
        fv.verify()
    assert 'no_such_flag' in str(e.value)
    assert '%s:2' % path in str(e.value)


def test_flag_defined_after_parsing_takes_its_value(fv, tmp_path):
    path = _write(tmp_path, 'late.conf', '--late_flag=hello\n')
    fv(['prog', '--flagfile=%s' % path])
    flags.DEFINE_string('late_flag', 'default', '', flag_values=fv)
    assert fv.late_flag == 'hello'
    fv.verify()


def test_malformed_flagfile_line_is_an_error(fv, tmp_path):
    path = _write(tmp_path, 'm.conf', 'sql_connection=sqlite://\n')
    with pytest.raises(flags.FlagfileError) as e:
        fv(['prog', '--flagfile=%s' % path])
    assert '%s:1' % path in str(e.value)


def test_bad_value_is_an_error_naming_the_flag(fv, tmp_path):
    flags.DEFINE_integer('port', 1, '', flag_values=fv)
    path = _write(tmp_path, 'v.conf', '--port=eighty\n')
    with pytest.raises(flags.FlagfileError) as e:
        fv(['prog', '--flagfile=%s' % path])
    assert '--port' in str(e.value) and 'v.conf:1' in str(e.value)


def test_missing_flagfile_is_a_clear_error(fv, tmp_path):
    with pytest.raises(flags.FlagfileError) as e:
        fv(['prog', '--flagfile=%s' % (tmp_path / 'nope.conf')])
    assert 'nope.conf' in str(e.value)


def test_nested_flagfiles_and_loops(fv, tmp_path):
    flags.DEFINE_integer('a', 0, '', flag_values=fv)
    flags.DEFINE_integer('b', 0, '', flag_values=fv)
    _write(tmp_path, 'inner.conf', '--b=2\n')
    outer = _write(tmp_path, 'outer.conf', '--a=1\n--flagfile=inner.conf\n')
    fv(['prog', '--flagfile=%s' % outer])
    assert (fv.a, fv.b) == (1, 2)
    loop = _write(tmp_path, 'loop.conf', '--flagfile=loop.conf\n')
    with pytest.raises(flags.FlagfileError):
        fv(['prog', '--flagfile=%s' % loop])


def test_references_expand_at_read_time(fv):
    flags.DEFINE_string('state_path', '/var/lib/nova', '', flag_values=fv)
    flags.DEFINE_string('db', 'sqlite:///$state_path/nova.sqlite', '',
                        flag_values=fv)
    assert fv.db == 'sqlite:////var/lib/nova/nova.sqlite'
    fv.state_path = '/tmp/x'
    assert fv.db == 'sqlite:////tmp/x/nova.sqlite'


def test_double_dash_ends_flags(fv):
    flags.DEFINE_integer('n', 1, '', flag_values=fv)
    assert fv(['prog', '--n=2', '--', '--n=3']) == ['prog', '--n=3']
    assert fv.n == 2


def test_reset_restores_defaults(fv):
    flags.DEFINE_integer('n', 1, '', flag_values=fv)
    fv(['prog', '--n=4', '--unknown_x=1'])
    fv.reset()
    assert fv.n == 1
    fv.verify()


def test_global_registry_knows_every_module_flag():
    """verify() imports every flag-defining module, so a shared nova.conf works."""
    flags.FLAGS(['prog', '--quota_instances=3'])
    flags.FLAGS.verify()
    assert flags.FLAGS.quota_instances == 3


def test_global_registry_rejects_unknown_names():
    flags.FLAGS(['prog', '--quota_instancez=3'])
    with pytest.raises(flags.UnknownFlagError) as e:
        flags.FLAGS.verify()
    assert 'quota_instancez' in str(e.value) and 'command line' in str(e.value)
