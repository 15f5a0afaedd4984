"""ACL parsing, normalising and referrer matching."""

import pytest

from swift.common.middleware.acl import clean_acl, parse_acl, referrer_allowed


@pytest.mark.parametrize('value, expected', [
    ('.r:*', '.r:*'),
    (' .r : * ', '.r:*'),
    ('.ref:example.com', '.r:example.com'),
    ('.referer:-bad.com', '.r:-bad.com'),
    ('.referrer:.example.com', '.r:.example.com'),
    ('.r:http://www.example.com/page', '.r:www.example.com'),
    ('bob, ,acct:user', 'bob,acct:user'),
    ('.r:*,.rlistings', '.r:*,.rlistings'),
])
def test_clean_read_acl(value, expected):
    assert clean_acl('X-Container-Read', value) == expected


@pytest.mark.parametrize('value', ['.r:', '.r:-', '.unknown:x', '.bogus',
                                   '.r:  '])
def test_bad_read_acls(value):
    with pytest.raises(ValueError):
        clean_acl('X-Container-Read', value)


@pytest.mark.parametrize('value', ['.r:*', '.rlistings', '.ref:x.com'])
def test_referrers_not_in_write_acl(value):
    with pytest.raises(ValueError):
        clean_acl('X-Container-Write', value)
    assert clean_acl('X-Container-Write', 'acct:user,acct2') == \
        'acct:user,acct2'


def test_parse_acl():
    assert parse_acl('.r:*,.r:-bad.com,acct,acct:user,.rlistings') == (
        ['*', '-bad.com'], ['acct', 'acct:user', '.rlistings'])
    assert parse_acl(None) == ([], [])
    assert parse_acl('') == ([], [])


def test_referrer_allowed():
    assert referrer_allowed('http://a.com/x', ['*'])
    assert referrer_allowed(None, ['*'])
    assert not referrer_allowed('http://a.com/x', [])
    assert referrer_allowed('http://www.a.com/', ['.a.com'])
    assert not referrer_allowed('http://www.b.com/', ['.a.com'])
    assert referrer_allowed('http://a.com/', ['a.com'])
    assert not referrer_allowed('http://bad.a.com/', ['.a.com', '-bad.a.com'])
    # the last matching rule decides
    assert referrer_allowed('http://bad.a.com/', ['-bad.a.com', '*'])
    assert not referrer_allowed('http://x.com/', ['*', '-*'])
