"""What every proxy controller shares: talking to storage nodes.

- `Controller.iter_nodes` -- primaries, then hand-offs, skipping nodes the
  application has error-limited;
- `Controller.make_requests` -- one write to every replica (a failed
  primary is replaced by the next hand-off) and `best_response` over the
  answers;
- `Controller.GETorHEAD_base` -- a read that falls through to the next node
  until one has the data, streamed back to the client;
- `account_info` / `container_info` -- existence (and a container's ACLs
  and size) cached in ``env['swift.cache']``.
"""

import json
import time

from eventlet import GreenPile, Timeout
from webob import Request, Response
from webob.exc import status_map

from swift.common.bufferedhttp import http_connect, release
from swift.common.exceptions import ChunkReadTimeout, ConnectionTimeout
from swift.common.utils import normalize_timestamp, quote

__all__ = ['Controller', 'delay_denial', 'best_response',
           'get_container_memcache_key', 'get_account_memcache_key']

#: Headers of a client request never forwarded to a storage node: hop-by-hop
#: headers, credentials, and the headers storage nodes use to talk to each
#: other.  The original forwarded the client's headers wholesale, so a
#: client could send e.g. X-Container-Host and make an object server send
#: its container update to any host:port it liked; we strip them.
DROPPED_REQUEST_HEADERS = frozenset((
    'host', 'content-length', 'transfer-encoding', 'expect', 'connection',
    'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization',
    'authorization', 'x-auth-token', 'x-storage-token', 'cookie',
    'x-timestamp', 'x-trans-id', 'x-cf-trans-id',
    'x-container-host', 'x-container-partition', 'x-container-device',
    'x-account-host', 'x-account-partition', 'x-account-device',
    'x-put-timestamp', 'x-delete-timestamp', 'x-object-count',
    'x-bytes-used', 'x-size', 'x-content-type', 'x-etag',
    'x-account-override-deleted', 'x-copy-from', 'destination',
))

#: Headers of a storage node's answer not passed on to the client.
DROPPED_RESPONSE_HEADERS = frozenset((
    'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer',
    'upgrade', 'server', 'date', 'x-trans-id', 'x-cf-trans-id',
))


def get_account_memcache_key(account):
    return 'account/%s' % account


def get_container_memcache_key(account, container):
    return 'container/%s/%s' % (account, container)


def delay_denial(func):
    """Mark a verb whose authorization needs the container's ACLs: the
    application does not call ``swift.authorize`` first, the method does
    (after setting ``req.acl``)."""
    func.delay_denial = True
    return func


def is_success(status):
    return 200 <= status < 300


def status_line(status, reason=None):
    """'<status> <reason>' for a response; a reason taken from a storage
    node loses any CR/LF (it once kept its line end and broke the reply)."""
    if reason:
        reason = ' '.join(reason.split())
    if not reason:
        cls = status_map.get(status)
        reason = cls.title if cls else {498: 'Slow Down',
                                        499: 'Client Disconnect'}.get(
                                            status, 'Unknown')
    return '%d %s' % (status, reason)


def text_response(status, body, reason=None, request=None, headers=None):
    """A small plain-text response (error or status message)."""
    if isinstance(body, str):
        body = body.encode('utf-8')
    return Response(status=status_line(status, reason), body=body,
                    content_type='text/plain', charset='utf-8',
                    request=request, headers=headers or {})


def best_response(req, statuses, reasons, bodies, server_type,
                  replica_count, logger=None, headers=None):
    """The answer to give for a write that went to ``replica_count`` nodes.

    The first class (2xx, then 3xx, then 4xx) that a majority of replicas
    answered wins, with the highest status of that class; otherwise 503.
    Replicas that did not answer count against every class.
    """
    quorum = replica_count // 2 + 1
    for hundred in (200, 300, 400):
        in_class = [s for s in statuses if hundred <= s < hundred + 100]
        if len(in_class) >= quorum:
            status = max(in_class)
            index = statuses.index(status)
            resp = Response(status=status_line(status, reasons[index]),
                            request=req)
            body = bodies[index] or b''
            if body and status not in (204, 304):
                resp.body = body
                resp.content_type = 'text/plain'
            if headers and headers[index]:
                for key, value in headers[index]:
                    if key.lower() not in DROPPED_RESPONSE_HEADERS and \
                            key.lower() not in ('content-length',
                                                'content-type'):
                        resp.headers[key] = value
            return resp
    if logger:
        logger.error('%s returned no quorum: %s', server_type, statuses)
    return text_response(503, 'Service Unavailable\n', request=req)


class Controller:
    """Base of the account, container and object controllers."""

    server_type = 'Base'

    def __init__(self, app, account_name, container_name=None,
                 object_name=None):
        self.app = app
        self.account_name = account_name
        self.container_name = container_name
        self.object_name = object_name
        self.cache = None
        self.trans_id = None

    # ------------------------------------------------------------ nodes

    def iter_nodes(self, ring, partition, nodes=None):
        """Primary nodes (``nodes`` if given, in that order) then the ring's
        hand-offs; error-limited nodes are skipped."""
        if nodes is None:
            nodes = ring.get_part_nodes(partition)
        for node in nodes:
            if not self.app.error_limited(node):
                yield node
        for node in ring.get_more_nodes(partition):
            if not self.app.error_limited(node):
                yield node

    def backend_headers(self, req=None, **extra):
        """Headers for a storage-node request: the client's own (less the
        dropped ones), the transaction id, and ``extra``."""
        headers = {}
        if req is not None:
            for key, value in req.headers.items():
                if key.lower() not in DROPPED_REQUEST_HEADERS:
                    headers[key] = value
        headers['X-Trans-Id'] = self.trans_id or ''
        headers['X-CF-Trans-Id'] = self.trans_id or ''
        for key, value in extra.items():
            headers[key.replace('_', '-')] = value
        return headers

    def headers_per_replica(self, req, extras):
        """`backend_headers` for each dict of ``extras`` (one per replica),
        reading the client's headers once: webob builds every header
        name from the WSGI environ each time they are walked."""
        base = self.backend_headers(req)
        result = []
        for extra in extras:
            headers = dict(base)
            for key, value in extra.items():
                headers[key.replace('_', '-')] = value
            result.append(headers)
        return result

    def _connect(self, node, partition, method, path, headers,
                 query_string=None, body=None, reuse=True):
        """A connection with the request (and ``body``, if given) sent.

        With ``reuse`` (everything but streamed uploads) it may be a
        kept-alive one; give it back with bufferedhttp.release."""
        with ConnectionTimeout(self.app.conn_timeout):
            if body is None:
                return http_connect(node['ip'], node['port'],
                                    node['device'], partition, method, path,
                                    headers=headers,
                                    query_string=query_string, reuse=reuse)
            return http_connect(node['ip'], node['port'], node['device'],
                                partition, method, path, headers=headers,
                                query_string=query_string, body=body,
                                reuse=reuse)

    # ----------------------------------------------------------- writes

    def _make_request(self, nodes, partition, method, path, headers,
                      query_string):
        """Send one request to the first node of ``nodes`` (shared by the
        replicas' greenthreads) that gives a real answer.

        Returns (status, reason, body, headers) or None when every node
        failed.  507 and 5xx answers and connection errors move on to the
        next node (a hand-off when the primaries are used up).
        """
        for node in nodes:
            conn = None
            try:
                conn = self._connect(node, partition, method, path, headers,
                                     query_string)
                with Timeout(self.app.node_timeout):
                    resp = conn.getresponse()
                    body = resp.read()
                release(conn, resp)
            except (Exception, Timeout) as e:
                if conn is not None:
                    conn.close()
                self.app.exception_occurred(
                    node, self.server_type,
                    'Trying to %s %s: %s' % (method, path, e))
                continue
            if resp.status == 507:
                self.app.error_limit(node)
                continue
            if resp.status >= 500:
                self.app.error_occurred(
                    node, '%s server answered %d to %s %s'
                    % (self.server_type, resp.status, method, path))
                continue
            return resp.status, resp.reason, body, resp.getheaders()
        return None

    def make_requests(self, req, ring, partition, method, path,
                      headers_list, query_string=None):
        """Send ``method`` to one node per entry of ``headers_list`` (one per
        replica) in parallel, and answer with `best_response`."""
        nodes = self.iter_nodes(ring, partition)
        pile = GreenPile(len(headers_list))
        for headers in headers_list:
            pile.spawn(self._make_request, nodes, partition, method, path,
                       headers, query_string)
        answers = [answer for answer in pile if answer]
        statuses = [a[0] for a in answers]
        reasons = [a[1] for a in answers]
        bodies = [a[2] for a in answers]
        return best_response(req, statuses, reasons, bodies,
                             '%s %s' % (self.server_type, method),
                             ring.replica_count, self.app.logger)

    # ------------------------------------------------------------ reads

    def GETorHEAD_base(self, req, server_type, ring, partition, path,
                       nodes=None, headers=None, query_string=None):
        """Read from the first node that has the answer.

        Nodes that fail (connection, timeout, 5xx, 507) do not count as an
        attempt and the next one -- a hand-off when needed -- is asked; 4xx
        answers count, and after one per replica the best of them is the
        answer.  A 2xx/3xx/416 answer is streamed back as it comes.
        """
        if headers is None:
            headers = self.backend_headers(req)
        method = req.method
        statuses, reasons, bodies = [], [], []
        attempts_left = ring.replica_count
        for node in self.iter_nodes(ring, partition, nodes):
            if attempts_left <= 0:
                break
            conn = None
            try:
                conn = self._connect(node, partition, method, path, headers,
                                     query_string)
                with Timeout(self.app.node_timeout):
                    source = conn.getresponse()
            except (Exception, Timeout) as e:
                if conn is not None:
                    conn.close()
                self.app.exception_occurred(
                    node, server_type,
                    'Trying to %s %s: %s' % (method, path, e))
                continue
            status = source.status
            if status == 507:
                self.app.error_limit(node)
                _close(source, conn)
                continue
            if is_success(status) or 300 <= status < 400 or status == 416:
                return self._source_response(req, node, conn, source,
                                             server_type)
            try:
                with Timeout(self.app.node_timeout):
                    body = source.read()
                release(conn, source)
            except (Exception, Timeout):
                body = b''
                _close(source, conn)
            if status >= 500:
                self.app.error_occurred(
                    node, '%s server answered %d to %s %s'
                    % (server_type, status, method, path))
                continue
            attempts_left -= 1
            statuses.append(status)
            reasons.append(source.reason)
            bodies.append(body)
        return best_response(req, statuses, reasons, bodies,
                             '%s %s' % (server_type, method),
                             ring.replica_count, self.app.logger)

    def _source_response(self, req, node, conn, source, server_type):
        headerlist = [(k, v) for k, v in source.getheaders()
                      if k.lower() not in DROPPED_RESPONSE_HEADERS]
        if req.method == 'HEAD' or source.status in (204, 304):
            release(conn, source)
            app_iter = []
        else:
            app_iter = self._stream(node, conn, source, server_type)
        return Response(status=status_line(source.status, source.reason),
                        headerlist=headerlist, app_iter=app_iter,
                        request=req, conditional_response=False)

    def _stream(self, node, conn, source, server_type):
        """The body of a node's answer, read chunk by chunk; a node that
        stalls for node_timeout ends the body early (and is noted).  A
        body read to its end leaves the connection for reuse."""
        complete = False
        try:
            while True:
                with ChunkReadTimeout(self.app.node_timeout):
                    chunk = source.read(self.app.object_chunk_size)
                if not chunk:
                    complete = True
                    break
                yield chunk
        except ChunkReadTimeout:
            self.app.exception_occurred(node, server_type,
                                        'Trying to read during GET')
        except GeneratorExit:
            pass  # the client went away
        except (Exception, Timeout) as e:
            self.app.exception_occurred(node, server_type,
                                        'Trying to read during GET: %s' % e)
        finally:
            if complete:
                release(conn, source)
            else:
                _close(source, conn)

    def backend_read(self, ring, partition, path, method='HEAD',
                     query_string=None, server_type=None):
        """A read of our own (not the client's): (status, headers, body).

        status is 503 when no node answered.
        """
        req = Request.blank(quote(path), environ={'REQUEST_METHOD': method})
        resp = self.GETorHEAD_base(
            req, server_type or self.server_type, ring, partition, path,
            headers=self.backend_headers(), query_string=query_string)
        body = b''.join(resp.app_iter) if method == 'GET' else b''
        return resp.status_int, resp.headers, body

    # ------------------------------------------------------ existence

    def account_info(self, account, autocreate=False):
        """(partition, nodes) of an existing account, else (None, None).

        With ``autocreate`` a missing account is created first.
        """
        partition, nodes = self.app.account_ring.get_nodes(account)
        key = get_account_memcache_key(account)
        cached = self.cache.get(key) if self.cache else None
        if cached == 200:
            return partition, nodes
        if cached != 404:
            status, _headers, _body = self.backend_read(
                self.app.account_ring, partition, '/%s' % account,
                server_type='Account')
            if is_success(status):
                self._cache_set(key, 200, self.app.recheck_account_existence)
                return partition, nodes
            if status != 404:
                return None, None  # no node could tell
            self._cache_set(key, 404,
                            self.app.recheck_account_existence / 10.0)
        if autocreate and self.autocreate_account(account):
            return partition, nodes
        return None, None

    def autocreate_account(self, account):
        partition, nodes = self.app.account_ring.get_nodes(account)
        headers = self.backend_headers(
            X_Timestamp=normalize_timestamp(time.time()))
        req = Request.blank(quote('/v1/%s' % account),
                            environ={'REQUEST_METHOD': 'PUT'})
        replicas = self.app.account_ring.replica_count
        resp = self.make_requests(req, self.app.account_ring, partition,
                                  'PUT', '/%s' % account,
                                  [dict(headers) for _ in range(replicas)])
        if is_success(resp.status_int):
            self.app.logger.info('autocreated account %s', account)
            self._cache_set(get_account_memcache_key(account), 200,
                            self.app.recheck_account_existence)
            return True
        self.app.logger.error('could not autocreate account %s: %s',
                              account, resp.status)
        return False

    def container_info(self, account, container):
        """Dict with partition, nodes (None when the container does not
        exist), read_acl, write_acl, container_size and status."""
        partition, nodes = self.app.container_ring.get_nodes(account,
                                                             container)
        key = get_container_memcache_key(account, container)
        info = self.cache.get(key) if self.cache else None
        if not isinstance(info, dict):
            status, headers, _body = self.backend_read(
                self.app.container_ring, partition,
                '/%s/%s' % (account, container), server_type='Container')
            info = info_from_container_headers(status, headers)
            if is_success(status):
                self._cache_set(key, info,
                                self.app.recheck_container_existence)
            elif status == 404:
                self._cache_set(key, info,
                                self.app.recheck_container_existence / 10.0)
        result = dict(info)
        result['partition'] = partition
        result['nodes'] = nodes if is_success(info['status']) else None
        return result

    def clear_container_info(self, account, container):
        if self.cache:
            self.cache.delete(get_container_memcache_key(account, container))

    def clear_account_info(self, account):
        if self.cache:
            self.cache.delete(get_account_memcache_key(account))

    def _cache_set(self, key, value, timeout):
        if self.cache:
            self.cache.set(key, value, timeout=max(int(timeout), 1))

    def authorize(self, req, acl=None):
        """Ask the auth middleware (if any) about ``req``; None = go on."""
        authorize = req.environ.get('swift.authorize')
        if authorize is None:
            return None
        req.acl = acl
        return authorize(req)


def info_from_container_headers(status, headers):
    def int_header(name):
        try:
            return int(headers.get(name))
        except (TypeError, ValueError):
            return 0
    return {
        'status': status,
        'read_acl': headers.get('x-container-read'),
        'write_acl': headers.get('x-container-write'),
        'container_size': int_header('x-container-object-count'),
        'bytes': int_header('x-container-bytes-used'),
    }


def _close(source, conn):
    for thing in (source, conn):
        try:
            thing.close()
        except Exception:
            pass


def json_listing(body):
    """A JSON listing body as a list ([] when unreadable)."""
    try:
        listing = json.loads(body)
    except ValueError:
        return []
    return listing if isinstance(listing, list) else []


def verbs_of(controller_class):
    return sorted(name for name in dir(controller_class)
                  if name.isupper()
                  and getattr(getattr(controller_class, name),
                              'publicly_accessible', False))

