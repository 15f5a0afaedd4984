"""A faster ``http.client.parse_headers`` for Swift's server processes.

The standard library hands every header block -- each request an
eventlet.wsgi server reads, each answer an http.client connection reads --
to the email package's feedparser: about 80 us of CPU for a dozen
headers.  A Swift request is parsed that way several times over (the
proxy reads the client's request and one answer per storage node, each
storage node its request, an object server the container server's answer),
which made header parsing 5-10% of the CPU of a 4 KiB request.

Storage nodes and clients send plain ``Name: value`` lines.  For a block
of such lines `parse_headers` builds the very same HTTPMessage (same
``(name, value)`` list, the compat32 policy's value clean-up, empty
payload) directly; anything else -- continuation lines, a line without a
colon, a name with spaces or control characters, stray CR/LF -- goes to
the email parser as before, so the result never differs.

`install()` (called by swift.common.wsgi.run_wsgi) puts it in place of
``http.client.parse_headers``, which http.server (eventlet.wsgi's request
parser) and http.client both call.
"""

import email.parser
import http.client
import re

#: a header name the feedparser takes as is: printable ASCII except ':'
_NAME = re.compile(r'[!-9;-~]+\Z')

_stdlib_parse_headers = http.client.parse_headers


def parse_headers(fp, _class=http.client.HTTPMessage):
    """Read a header block from ``fp``; same result as the stdlib's."""
    # _read_headers does the reading and its limits (line length, 100
    # headers) exactly as the stdlib version.
    lines = http.client._read_headers(fp)
    message = _simple_message(lines, _class)
    if message is not None:
        return message
    hstring = b''.join(lines).decode('iso-8859-1')
    return email.parser.Parser(_class=_class).parsestr(hstring)


def _simple_message(lines, _class):
    """The message for a block of plain 'Name: value' lines, else None."""
    message = _class()
    append = message._headers.append
    last = len(lines) - 1
    for index, raw in enumerate(lines):
        if index == last and raw in (b'\r\n', b'\n', b''):
            break  # the blank line (or EOF) that ends the block
        line = raw.decode('iso-8859-1')
        if line.endswith('\r\n'):
            line = line[:-2]
        elif line.endswith('\n'):
            line = line[:-1]
        else:
            return None
        if '\r' in line or '\n' in line:
            return None
        name, colon, value = line.partition(':')
        if not colon or not _NAME.match(name):
            return None
        append((name, value.lstrip(' \t')))
    message._payload = ''
    return message


def install():
    """Use `parse_headers` for http.client and http.server (idempotent)."""
    http.client.parse_headers = parse_headers


def uninstall():
    http.client.parse_headers = _stdlib_parse_headers
