"""HTTP connections from one Swift node to another.

``http_connect`` returns a connection on which the request line and headers
have already been sent: the caller streams a body with ``conn.send(chunk)``
(adding chunked framing itself when it sends ``Transfer-Encoding: chunked``)
and then reads ``conn.getresponse()``.  With ``Expect: 100-continue`` the
caller first reads the interim answer with ``conn.getexpect()``.

A server may answer ``Expect: 100-continue`` with its final answer instead
of ``100 Continue`` -- a refusal (507, 409, ...) or, for an empty body, the
real result (an object server stores a zero-byte PUT without ever reading
its body).  ``getexpect()`` then returns that final response, fully parsed
(headers and body readable), and ``getresponse()`` hands back the same
object.  An earlier version returned only a status line whose reason still
ended in CR LF; a proxy that copied it into its own status line sent a
blank line where its headers belonged, and clients waited for the close.

Keep-alive (``reuse=True``): a request whose whole body goes with its
headers may run on an idle connection to the same node kept by the
process's `ConnectionPool`; the caller hands the connection back with
`release(conn, resp)` once the response is read to its end (anything else
closes it).  Storage nodes close idle connections at any moment, so a
request on a reused connection that fails before any byte of the answer
arrives is sent once more on a fresh connection: it was never read.  That
saves a TCP connection set-up and tear-down, and on the server a new
greenthread and protocol object, per proxy->node and object->container
request.  Streaming uploads (``Expect: 100-continue``) never reuse.

Sockets come from eventlet.green, so a connection only blocks its own
greenthread even in a process that was not monkey-patched.  The caller bounds
connecting with ``eventlet.Timeout(conn_timeout)`` and each read with
``node_timeout``.
"""

import collections
import http.client
import ipaddress
import os
import re
import _socket
import threading
import time

from eventlet.green import socket as green_socket

from swift.common.utils import quote


class ExpectResponse:
    """The interim ``100 Continue`` answer to ``Expect: 100-continue``."""

    def __init__(self, status, reason, headers):
        self.status = status
        self.reason = reason
        self._headers = headers

    def getheader(self, name, default=None):
        return self._headers.get(name, default)

    def getheaders(self):
        return list(self._headers.items())


class BufferedHTTPResponse(http.client.HTTPResponse):
    """HTTPResponse that can also read just a 100-continue answer."""

    _pending_status = None

    def _read_status(self):
        # begin() reads the status line itself; expect_response() may have
        # read it already.
        if self._pending_status is not None:
            status, self._pending_status = self._pending_status, None
            return status
        return super()._read_status()

    def expect_response(self):
        """Read the answer to ``Expect: 100-continue``.

        ``100 Continue`` gives an `ExpectResponse` and leaves the socket
        ready for the body; any other status is the final answer, and this
        response is returned begun (headers parsed, body readable).
        """
        version, status, reason = self._read_status()
        if status == http.client.CONTINUE:
            headers = http.client.parse_headers(self.fp)
            return ExpectResponse(status, reason.strip(), headers)
        self._pending_status = (version, status, reason)
        self.begin()
        return self


class BufferedHTTPConnection(http.client.HTTPConnection):
    response_class = BufferedHTTPResponse

    _early_response = None

    def connect(self):
        self._connected_at = time.time()
        family = _ip_family(self.host)
        if family is None or self.source_address:
            self.sock = green_socket.create_connection(
                (self.host, self.port), self.timeout, self.source_address)
        else:
            # Ring nodes are IP addresses: skip the (green) name lookup
            # that create_connection would do for every request.
            sock = green_socket.socket(family, green_socket.SOCK_STREAM)
            try:
                if self.timeout is not socket_default_timeout():
                    sock.settimeout(self.timeout)
                sock.connect((self.host, self.port))
            except BaseException:
                sock.close()
                raise
            self.sock = sock
        self.sock.setsockopt(green_socket.IPPROTO_TCP,
                             green_socket.TCP_NODELAY, 1)

    def putrequest(self, method, url, skip_host=False,
                   skip_accept_encoding=True):
        self._method = method
        self._path = url
        return super().putrequest(method, url, skip_host=skip_host,
                                  skip_accept_encoding=skip_accept_encoding)

    def _send_output(self, message_body=None, encode_chunked=False):
        # A small body given to endheaders() leaves in the same write as
        # the headers: http.client would send it separately, and on
        # loopback every send costs the receiver a wakeup and both sides
        # a round of kernel work.
        if (message_body is None or isinstance(message_body, bytes)) and \
                not encode_chunked:
            self._buffer.extend((b'', b''))
            message = b'\r\n'.join(self._buffer) + (message_body or b'')
            del self._buffer[:]
            self.send(message)
            return
        super()._send_output(message_body, encode_chunked=encode_chunked)

    def putheaders(self, items):
        """putheader for each (name, text value), checked as strictly but
        in one go: http.client's per-header checks were a tenth of a
        proxy's CPU for a small PUT."""
        if not items:
            return
        names = ''.join(name for name, _value in items)
        values = ''.join(value for _name, value in items)
        if not _LEGAL_NAMES.match(names) or _ILLEGAL_VALUE.search(values) \
                or not all(name for name, _value in items):
            for name, value in items:  # the stdlib says what is wrong
                self.putheader(name, value)
            return
        for name, value in items:
            self._buffer.append(('%s: %s' % (name, value)).encode('latin-1'))

    def getexpect(self):
        """The interim answer (status 100), or the server's final answer.

        A final answer is also what the next ``getresponse()`` returns, so
        its body can be read (and the connection reused) as usual.
        """
        response = self.response_class(self.sock, method=self._method)
        answer = response.expect_response()
        if answer is response:
            self._early_response = response
            return response
        # The socket stays open for the body and the final response; only
        # this reader's buffered file object goes (the server sends nothing
        # more before it has the body, so nothing buffered is lost).
        response.fp.close()
        response.fp = None
        return answer

    #: (method, url, skip_host, headers, body) of the request sent on a
    #: connection taken from the pool, for one resend on a fresh one.
    _replay = None
    #: ip, port as given to http_connect (the pool's key)
    pool_key = None

    def getresponse(self):
        early = self._early_response
        if early is not None:
            self._early_response = None
            return early
        replay, self._replay = self._replay, None
        try:
            return super().getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError,
                BrokenPipeError):
            if replay is None:
                raise
        # The node had closed the idle connection: it never saw this
        # request.  Once more on a fresh connection.
        self.close()
        _send_request(self, *replay)
        return super().getresponse()

    def close(self):
        self._early_response = None
        super().close()


#: http.client's own rules: a header name is a token (no ':' or white
#: space), a value holds no CR/LF/NUL (a line break would start a header of
#: the sender's choosing).
_LEGAL_NAMES = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_ILLEGAL_VALUE = re.compile(r'[\r\n\x00]')


def _ip_family(host):
    """AF_INET / AF_INET6 for an IP address literal, None for a name."""
    try:
        version = ipaddress.ip_address(host).version
    except ValueError:
        return None
    return green_socket.AF_INET6 if version == 6 else green_socket.AF_INET


def socket_default_timeout():
    """What http.client uses for "no timeout given"."""
    return http.client.socket._GLOBAL_DEFAULT_TIMEOUT


def _header_value(value):
    if isinstance(value, bytes):
        return value.decode('latin-1')
    return str(value)


def http_connect(ipaddr, port, device, partition, method, path,
                 headers=None, query_string=None, ssl=False, body=None,
                 reuse=False):
    """Start a request to ``/<device>/<partition><path>`` on a storage node.

    ``path`` is text (``/a/c/o``); it is UTF-8 encoded and quoted here.
    ``body`` (bytes, optional) is sent with the headers, in one write; the
    caller sets its Content-Length.  ``reuse``: see the module docstring
    (the whole body must be in ``body``).
    """
    full_path = '/%s/%s%s' % (device, partition, path)
    return http_connect_raw(ipaddr, port, method, full_path, headers,
                            query_string, ssl, body=body, reuse=reuse)


def http_connect_raw(ipaddr, port, method, path, headers=None,
                     query_string=None, ssl=False, body=None, reuse=False):
    """Start a request to ``path`` (text, quoted here) on ``ipaddr:port``;
    ``body`` and ``reuse`` as for `http_connect`."""
    if ssl:
        raise ValueError('ssl between storage nodes is not supported')
    url = quote(path)
    if query_string:
        url += '?' + query_string
    skip_host = bool(headers and any(k.lower() == 'host' for k in headers))
    header_items = [(header, _header_value(value))
                    for header, value in (headers or {}).items()]
    request = (method, url, skip_host, header_items, body)
    key = (str(ipaddr), int(port))
    conn = POOL.get(key) if reuse else None
    if conn is not None:
        try:
            _send_request(conn, *request)
            conn._replay = request
            return conn
        except (ConnectionResetError, BrokenPipeError):
            conn.close()
        conn = None
    conn = BufferedHTTPConnection('%s:%s' % (ipaddr, port)
                                  if ':' not in str(ipaddr)
                                  else '[%s]:%s' % (ipaddr, port))
    conn.pool_key = key
    _send_request(conn, *request)
    return conn


def _send_request(conn, method, url, skip_host, header_items, body):
    conn.path = url
    conn.method = method
    conn.putrequest(method, url, skip_host=skip_host)
    conn.putheaders(header_items)
    conn.endheaders(body)


def release(conn, resp):
    """Done with ``conn`` and its response ``resp``: back to the pool when
    the answer was read to its end and both sides keep the connection
    open, otherwise closed."""
    if getattr(conn, 'pool_key', None) is None or \
            not isinstance(resp, http.client.HTTPResponse):
        conn.close()  # not one of ours (e.g. a test's stand-in)
        return
    try:
        if not resp.isclosed() and resp.length == 0:
            resp.read()  # no body: marks the response complete
    except (OSError, http.client.HTTPException):
        pass
    if not resp.isclosed() or resp.will_close or conn.sock is None or \
            conn._early_response is not None:
        conn.close()
        return
    POOL.put(conn)


class ConnectionPool:
    """Idle keep-alive connections of this process, by (ip, port).

    At most ``per_node`` idle connections per node, none older than
    ``max_idle_age`` seconds (storage nodes drop idle clients after their
    ``client_timeout``), and one whose peer has already closed is dropped
    when taken.  A forked process starts with an empty pool: a socket
    shared with the parent would mix two processes' requests.
    """

    def __init__(self, per_node=32, max_idle_age=20.0):
        self.per_node = per_node
        self.max_idle_age = max_idle_age
        self._lock = threading.Lock()
        self._idle = collections.defaultdict(list)  # key -> [(t, conn)]
        self._pid = os.getpid()

    def _check_fork(self):
        if self._pid != os.getpid():
            self._idle = collections.defaultdict(list)
            self._pid = os.getpid()

    def get(self, key):
        now = time.monotonic()
        while True:
            with self._lock:
                self._check_fork()
                entries = self._idle.get(key)
                if not entries:
                    return None
                idle_since, conn = entries.pop()
            if now - idle_since < self.max_idle_age and _still_open(conn):
                return conn
            conn.close()

    def put(self, conn):
        now = time.monotonic()
        extra = None
        with self._lock:
            self._check_fork()
            entries = self._idle[conn.pool_key]
            entries.append((now, conn))
            if len(entries) > self.per_node:
                extra = entries.pop(0)[1]
        if extra is not None:
            extra.close()

    def clear(self):
        with self._lock:
            idle, self._idle = self._idle, collections.defaultdict(list)
        for entries in idle.values():
            for _t, conn in entries:
                conn.close()

    def idle_count(self):
        with self._lock:
            return sum(len(v) for v in self._idle.values())


def _still_open(conn):
    """False when the peer closed (or sent something unasked) while the
    connection sat idle; checked without blocking the greenthread."""
    sock = conn.sock
    if sock is None:
        return False
    # The OS socket under a green one, read through the C type so that
    # neither eventlet nor monkey-patching turns EAGAIN into a wait.
    raw = getattr(sock, 'fd', sock)
    try:
        _socket.socket.recv(raw, 1, _socket.MSG_PEEK | _socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    except (OSError, TypeError):
        return False
    return False  # EOF (b'') or stray bytes: not usable either way


#: The process's pool of idle storage-node connections.
POOL = ConnectionPool()
