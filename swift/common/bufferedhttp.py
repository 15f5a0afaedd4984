"""HTTP connections from one Swift node to another.

``http_connect`` returns a connection on which the request line and headers
have already been sent: the caller streams a body with ``conn.send(chunk)``
(adding chunked framing itself when it sends ``Transfer-Encoding: chunked``)
and then reads ``conn.getresponse()``.  With ``Expect: 100-continue`` the
caller first reads the interim answer with ``conn.getexpect()``.

Sockets come from eventlet.green, so a connection only blocks its own
greenthread even in a process that was not monkey-patched.  The caller bounds
connecting with ``eventlet.Timeout(conn_timeout)`` and each read with
``node_timeout``.
"""

import http.client
import time

from eventlet.green import socket as green_socket

from swift.common.utils import quote


class ExpectResponse:
    """The interim answer to ``Expect: 100-continue`` (or an early final one)."""

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

    def expect_response(self):
        version, status, reason = self._read_status()
        headers = http.client.parse_headers(self.fp)
        return ExpectResponse(status, reason, headers)


class BufferedHTTPConnection(http.client.HTTPConnection):
    response_class = BufferedHTTPResponse

    def connect(self):
        self._connected_at = time.time()
        self.sock = green_socket.create_connection(
            (self.host, self.port), self.timeout, self.source_address)
        self.sock.setsockopt(green_socket.IPPROTO_TCP,
                             green_socket.TCP_NODELAY, 1)

    def putrequest(self, method, url, skip_host=False,
                   skip_accept_encoding=True):
        self._method = method
        self._path = url
        return super().putrequest(method, url, skip_host=skip_host,
                                  skip_accept_encoding=skip_accept_encoding)

    def getexpect(self):
        """Read the interim response (100 Continue, or an error status)."""
        response = BufferedHTTPResponse(self.sock, method=self._method)
        try:
            return response.expect_response()
        finally:
            # The socket stays open for the body and the final response;
            # only this reader's buffered file object is dropped.
            response.fp = None

    def getresponse(self):
        response = super().getresponse()
        return response


def _header_value(value):
    if isinstance(value, bytes):
        return value.decode('latin-1')
    return str(value)


def http_connect(ipaddr, port, device, partition, method, path,
                 headers=None, query_string=None, ssl=False):
    """Start a request to ``/<device>/<partition><path>`` on a storage node.

    ``path`` is text (``/a/c/o``); it is UTF-8 encoded and quoted here.
    """
    full_path = '/%s/%s%s' % (device, partition, path)
    return http_connect_raw(ipaddr, port, method, full_path, headers,
                            query_string, ssl)


def http_connect_raw(ipaddr, port, method, path, headers=None,
                     query_string=None, ssl=False):
    """Start a request to ``path`` (text, quoted here) on ``ipaddr:port``."""
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
    conn.endheaders()
    return conn
