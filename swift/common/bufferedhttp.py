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

Sockets come from eventlet.green, so a connection only blocks its own
greenthread even in a process that was not monkey-patched.  The caller bounds
connecting with ``eventlet.Timeout(conn_timeout)`` and each read with
``node_timeout``.
"""

import http.client
import ipaddress
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
        if isinstance(message_body, bytes) and not encode_chunked:
            self._buffer.extend((b'', b''))
            message = b'\r\n'.join(self._buffer) + message_body
            del self._buffer[:]
            self.send(message)
            return
        super()._send_output(message_body, encode_chunked=encode_chunked)

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

    def getresponse(self):
        early = self._early_response
        if early is not None:
            self._early_response = None
            return early
        return super().getresponse()

    def close(self):
        self._early_response = None
        super().close()


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
                 headers=None, query_string=None, ssl=False, body=None):
    """Start a request to ``/<device>/<partition><path>`` on a storage node.

    ``path`` is text (``/a/c/o``); it is UTF-8 encoded and quoted here.
    ``body`` (bytes, optional) is sent with the headers, in one write; the
    caller sets its Content-Length.
    """
    full_path = '/%s/%s%s' % (device, partition, path)
    return http_connect_raw(ipaddr, port, method, full_path, headers,
                            query_string, ssl, body=body)


def http_connect_raw(ipaddr, port, method, path, headers=None,
                     query_string=None, ssl=False, body=None):
    """Start a request to ``path`` (text, quoted here) on ``ipaddr:port``;
    ``body`` as for `http_connect`."""
    if ssl:
        raise ValueError('ssl between storage nodes is not supported')
    conn = BufferedHTTPConnection('%s:%s' % (ipaddr, port)
                                  if ':' not in str(ipaddr)
                                  else '[%s]:%s' % (ipaddr, port))
    url = quote(path)
    if query_string:
        url += '?' + query_string
    conn.path = url
    conn.method = method
    conn.putrequest(method, url, skip_host=bool(
        headers and any(k.lower() == 'host' for k in headers)))
    if headers:
        for header, value in headers.items():
            conn.putheader(header, _header_value(value))
    conn.endheaders(body)
    return conn
