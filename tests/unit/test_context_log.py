"""nova.context and nova.log."""

import logging

from nova import context
from nova import flags
from nova import log

FLAGS = flags.FLAGS


def test_context_round_trips_through_a_dict():
    ctx = context.RequestContext('alice', 'proj', roles=['netadmin'],
                                 remote_address='10.0.0.9')
    copy = context.RequestContext.from_dict(ctx.to_dict())
    assert copy.user_id == 'alice' and copy.project_id == 'proj'
    assert copy.roles == ['netadmin']
    assert copy.remote_address == '10.0.0.9'
    assert copy.request_id == ctx.request_id
    assert copy.timestamp.replace(microsecond=0) == \
        ctx.timestamp.replace(microsecond=0)
    assert not copy.is_admin


def test_admin_by_role_and_elevated_copy():
    assert context.RequestContext('u', 'p', roles=['cloudadmin']).is_admin
    ctx = context.RequestContext('u', 'p')
    admin = ctx.elevated()
    assert admin.is_admin and not ctx.is_admin
    assert admin.request_id == ctx.request_id
    assert context.get_admin_context().is_admin
    assert context.is_user_context(ctx)
    assert not context.is_user_context(admin)


def test_from_dict_ignores_unknown_keys():
    ctx = context.RequestContext.from_dict({'user_id': 'u', 'project_id': 'p',
                                            'something_new': 1})
    assert ctx.user_id == 'u'


def test_log_lines_carry_the_request_context(tmp_path):
    logfile = tmp_path / 'nova-test.log'
    FLAGS.logfile = str(logfile)
    try:
        log.setup('nova-test')
        logger = log.getLogger('nova.test')
        ctx = context.RequestContext('alice', 'proj', request_id='req-42')
        logger.info('with context', context=ctx)
        logger.info('without context')
        for handler in logging.getLogger().handlers:
            handler.flush()
        lines = logfile.read_text().splitlines()
    finally:
        FLAGS.logfile = None
        log.setup('nova-test')
    assert '[req-42 alice proj] with context' in lines[0]
    assert '[-] without context' in lines[1]
