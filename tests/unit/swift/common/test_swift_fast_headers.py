"""swift.common.fast_headers gives what http.client.parse_headers gives."""

import email.parser
import http.client
import io

import pytest

from swift.common import fast_headers

BLOCKS = [
    b'Content-Length: 4096\r\nX-Timestamp: 1700000000.12345\r\n\r\n',
    b'',
    b'\r\n',
    b'A:b\r\nA:  twice  \r\nEmpty:\r\n\r\n',
    b'Tab:\tvalue\t\r\n\r\n',
    b'Bare: lf\nOther: x\n\n',
    b'X-Meta: caf\xc3\xa9\r\n\r\n',
    b'X-Latin: \xe9t\xe9\r\n\r\n',
    # the email parser's own cases: continuation, no colon, odd names
    b'Folded: one\r\n  two\r\n\r\n',
    b'No colon here\r\nAfter: x\r\n\r\n',
    b'Bad Name: x\r\n\r\n',
    b': empty name\r\n\r\n',
    b'From nobody\r\nA: b\r\n\r\n',
    b'Cr: in\rside\r\n\r\n',
    b'Ctl\x01: x\r\n\r\n',
]


def stdlib(block):
    lines = http.client._read_headers(io.BytesIO(block))
    return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(
        b''.join(lines).decode('iso-8859-1'))


def state(message):
    return (type(message), message._headers, message.get_payload(),
            [type(d) for d in message.defects], message.get_unixfrom(),
            message.get_content_type(), message.items(),
            message.get('content-length'))


@pytest.mark.parametrize('block', BLOCKS)
def test_same_message_as_the_stdlib(block):
    fast = fast_headers.parse_headers(io.BytesIO(block))
    assert state(fast) == state(stdlib(block))


def test_simple_blocks_skip_the_email_parser(monkeypatch):
    def no_email(*args, **kwargs):
        raise AssertionError('email parser used')
    monkeypatch.setattr(fast_headers.email.parser, 'Parser', no_email)
    message = fast_headers.parse_headers(io.BytesIO(BLOCKS[0]))
    assert message['x-timestamp'] == '1700000000.12345'


def _outcome(parse, block):
    try:
        return state(parse(io.BytesIO(block)))
    except Exception as e:  # noqa: BLE001 - the kind is the outcome
        return type(e)


def test_limits_are_the_stdlibs():
    """Too many headers and too long a line fail as the stdlib fails.

    Compared with the stdlib of this very process: eventlet's green copy of
    http.client (imported by other tests) has limits of its own.
    """
    # (whatever limit is in force: a library may have raised the default)
    too_many = b''.join(b'H%d: v\r\n' % i for i in
                        range(http.client._MAXHEADERS + 1)) + b'\r\n'
    too_long = b'A: ' + b'x' * 70000
    for block in (too_many, too_long):
        expected = _outcome(fast_headers._stdlib_parse_headers, block)
        assert _outcome(fast_headers.parse_headers, block) == expected


def test_install_replaces_the_stdlib_function():
    try:
        fast_headers.install()
        assert http.client.parse_headers is fast_headers.parse_headers
        response = http.client.HTTPResponse(FakeSock(
            b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nok'))
        response.begin()
        assert response.getheader('x-a') == 'b'
        assert response.read() == b'ok'
    finally:
        fast_headers.uninstall()
    assert http.client.parse_headers is fast_headers._stdlib_parse_headers


class FakeSock:
    def __init__(self, data):
        self.data = data

    def makefile(self, mode):
        return io.BytesIO(self.data)
