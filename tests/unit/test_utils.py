"""nova.utils: execute and the small helpers."""

import datetime

import pytest

from nova import exception
from nova import flags
from nova import utils

FLAGS = flags.FLAGS


def test_execute_returns_output():
    out, err = utils.execute('sh', '-c', 'echo out; echo err >&2')
    assert out == 'out\n'
    assert err == 'err\n'


def test_execute_takes_an_argument_list_without_a_shell():
    out, _ = utils.execute(['echo', '$(id)', ';', 'rm'])
    assert out == '$(id) ; rm\n'


def test_execute_feeds_stdin():
    out, _ = utils.execute('cat', process_input='hello')
    assert out == 'hello'


def test_execute_raises_with_code_stdout_and_stderr():
    with pytest.raises(exception.ProcessExecutionError) as e:
        utils.execute('sh', '-c', 'echo partial; echo broken >&2; exit 3')
    assert e.value.exit_code == 3
    assert e.value.stdout == 'partial\n'
    assert e.value.stderr == 'broken\n'
    assert 'exit 3' in str(e.value)


def test_execute_accepts_listed_exit_codes():
    out, _ = utils.execute('sh', '-c', 'echo ok; exit 1',
                           check_exit_code=[0, 1])
    assert out == 'ok\n'
    utils.execute('false', check_exit_code=False)


def test_execute_kills_commands_that_run_too_long():
    with pytest.raises(exception.ProcessExecutionError) as e:
        utils.execute('sleep', '30', timeout=0.5)
    assert 'timed out' in str(e.value)


def test_execute_missing_binary_is_a_process_error():
    with pytest.raises(exception.ProcessExecutionError) as e:
        utils.execute('/nonexistent/binary')
    assert e.value.exit_code is None


def test_execute_prefixes_root_helper():
    FLAGS.root_helper = 'env NOVA_ROOTWRAP=1'
    out, _ = utils.execute('sh', '-c', 'echo $NOVA_ROOTWRAP', run_as_root=True)
    assert out == '1\n'
    out, _ = utils.execute('sh', '-c', 'echo x$NOVA_ROOTWRAP')
    assert out == 'x\n'


def test_execute_retries_attempts():
    with pytest.raises(exception.ProcessExecutionError):
        utils.execute('false', attempts=2, delay_on_retry=False)


def test_isotime_round_trip():
    at = datetime.datetime(2011, 2, 3, 4, 5, 6)
    assert utils.isotime(at) == '2011-02-03T04:05:06Z'
    assert utils.parse_isotime('2011-02-03T04:05:06Z') == at
    assert utils.parse_isotime('2011-02-03T05:05:06+01:00') == at


def test_utcnow_is_naive():
    assert utils.utcnow().tzinfo is None


def test_import_class_and_missing_class():
    assert utils.import_class('nova.exception.NotFound') is exception.NotFound
    with pytest.raises(exception.NotFound):
        utils.import_class('nova.exception.NoSuchThing')
    with pytest.raises(exception.NotFound):
        utils.import_class('nova.no_such_module.Thing')


def test_generate_helpers():
    uid = utils.generate_uid('r-')
    assert uid.startswith('r-') and len(uid) == 10
    password = utils.generate_password(16)
    assert len(password) == 16 and password.isalnum()


def test_bool_from_string():
    assert utils.bool_from_string('True') and utils.bool_from_string('1')
    assert not utils.bool_from_string('no') and not utils.bool_from_string('')


def test_looping_call_runs_until_stopped():
    import eventlet
    calls = []
    loop = utils.LoopingCall(lambda: calls.append(1))
    loop.start(interval=0.01)
    for _ in range(200):
        if len(calls) >= 3:
            break
        eventlet.sleep(0.01)
    loop.stop()
    loop.wait()
    assert len(calls) >= 3
