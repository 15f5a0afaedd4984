"""``/v1/<account>/<container>/<object>``: object data and metadata.

PUT opens one connection per replica with ``Expect: 100-continue`` (a
failed primary is replaced by a hand-off), streams the body to all of them
in chunks and needs a majority of them to store it.  A small body (with a
Content-Length up to ``buffered_put_size``) is read from the client first
and sent to each replica with the request headers in one write, without
the 100-continue round trip; a node that fails is then replaced by a
hand-off that gets the same bytes -- which the streaming path cannot do
once it has started sending.  COPY and PUT with ``X-Copy-From`` copy
server-side; GET/HEAD of an object carrying ``X-Object-Manifest`` serve the
concatenated segments (segments.py).
"""

import mimetypes
import time
from urllib.parse import unquote

from eventlet import GreenPile, Timeout
from webob import Request

from swift.common.bufferedhttp import release
from swift.common.constraints import (MAX_FILE_SIZE, check_metadata,
                                      check_object_creation)
from swift.common.exceptions import ChunkReadTimeout, ChunkWriteTimeout
from swift.common.utils import (normalize_timestamp, public, quote,
                                wsgi_to_str)
from swift.proxy.controllers import segments
from swift.proxy.controllers.base import (Controller, best_response,
                                          delay_denial, is_success,
                                          text_response)


class ClientDisconnect(Exception):
    pass


class ClientTimeout(Exception):
    pass


class BodyTooLarge(Exception):
    pass


def parse_container_object(value, header):
    """'<container>/<object>' (quoted or not, leading '/' optional) ->
    (container, object); ValueError when malformed."""
    path = unquote(wsgi_to_str(value or ''))
    if not path.startswith('/'):
        path = '/' + path
    parts = path[1:].split('/', 1)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ValueError('%s header must be of the form '
                         '<container name>/<object name>' % header)
    return parts[0], parts[1]


class ObjectController(Controller):
    server_type = 'Object'

    def _path(self, container=None, obj=None):
        return '/%s/%s/%s' % (self.account_name,
                              container or self.container_name,
                              obj or self.object_name)

    def _container_headers(self, container_info, index):
        """Which container replica the object replica ``index`` updates."""
        nodes = container_info['nodes']
        node = nodes[index % len(nodes)]
        return {'X_Container_Host': '%s:%s' % (node['ip'], node['port']),
                'X_Container_Partition': str(container_info['partition']),
                'X_Container_Device': node['device']}

    # ----------------------------------------------------------- reads

    def GETorHEAD(self, req):
        container_info = self.container_info(self.account_name,
                                             self.container_name)
        denied = self.authorize(req, container_info['read_acl'])
        if denied is not None:
            return denied
        ring = self.app.object_ring
        partition, nodes = ring.get_nodes(self.account_name,
                                          self.container_name,
                                          self.object_name)
        nodes = list(nodes)
        # spread reads over the replicas
        segments.shuffle(nodes)
        resp = self.GETorHEAD_base(req, 'Object', ring, partition,
                                   self._path(), nodes=nodes)
        if resp.status_int == 416 and 'x-object-manifest' not in resp.headers:
            # the range may be past the (empty) manifest object itself
            head = Request.blank(quote('/v1' + self._path()),
                                 environ={'REQUEST_METHOD': 'HEAD'})
            head_resp = self.GETorHEAD_base(head, 'Object', ring, partition,
                                            self._path(), nodes=nodes,
                                            headers=self.backend_headers())
            if is_success(head_resp.status_int) and \
                    'x-object-manifest' in head_resp.headers:
                resp = head_resp
        if 'x-object-manifest' in resp.headers and \
                (is_success(resp.status_int) or resp.status_int == 416):
            resp = segments.manifest_response(self, req, resp)
        resp.headers['Accept-Ranges'] = 'bytes'
        return resp

    @public
    @delay_denial
    def GET(self, req):
        return self.GETorHEAD(req)

    @public
    @delay_denial
    def HEAD(self, req):
        return self.GETorHEAD(req)

    # ------------------------------------------------ simple writes

    def _simple_write(self, req, method):
        """POST or DELETE: one request per replica, container updates
        attached."""
        container_info = self.container_info(self.account_name,
                                             self.container_name)
        denied = self.authorize(req, container_info['write_acl'])
        if denied is not None:
            return denied
        if not container_info['nodes']:
            return text_response(404, 'Container not found\n', request=req)
        ring = self.app.object_ring
        partition, _nodes = ring.get_nodes(self.account_name,
                                           self.container_name,
                                           self.object_name)
        timestamp = normalize_timestamp(time.time())
        extras = []
        for index in range(ring.replica_count):
            extra = {'X_Timestamp': timestamp}
            if method == 'DELETE':
                extra.update(self._container_headers(container_info, index))
            extras.append(extra)
        headers_list = self.headers_per_replica(req, extras)
        return self.make_requests(req, ring, partition, method, self._path(),
                                  headers_list)

    @public
    @delay_denial
    def POST(self, req):
        error = check_metadata(req, 'object')
        if error:
            return error
        if 'x-object-manifest' in req.headers:
            # a POST replaces user metadata only; the object server keeps
            # the manifest of the PUT
            return text_response(400, 'X-Object-Manifest can only be set by '
                                 'PUT\n', request=req)
        return self._simple_write(req, 'POST')

    @public
    @delay_denial
    def DELETE(self, req):
        return self._simple_write(req, 'DELETE')

    # ------------------------------------------------------------ copy

    @public
    @delay_denial
    def COPY(self, req):
        """COPY with ``Destination: <container>/<object>`` is a PUT of the
        destination with ``X-Copy-From`` this object (same account)."""
        try:
            dest_container, dest_object = parse_container_object(
                req.headers.get('destination'), 'Destination')
        except ValueError as e:
            return text_response(412, '%s\n' % e, request=req)
        version = req.path_info.split('/')[1]
        env = dict(req.environ)
        env.pop('webob.adhoc_attrs', None)
        env['REQUEST_METHOD'] = 'PUT'
        env['CONTENT_LENGTH'] = '0'
        env.pop('HTTP_TRANSFER_ENCODING', None)
        env.pop('HTTP_DESTINATION', None)
        put_req = Request.blank(
            quote('/%s/%s/%s/%s' % (version, self.account_name,
                                    dest_container, dest_object)),
            environ=env)
        put_req.headers['X-Copy-From'] = quote(
            '/%s/%s' % (self.container_name, self.object_name))
        dest = ObjectController(self.app, self.account_name, dest_container,
                                dest_object)
        dest.cache = self.cache
        dest.trans_id = self.trans_id
        return dest.PUT(put_req)

    def _copy_source(self, req):
        """(source response, source path) for ``X-Copy-From``; or
        (error response, None)."""
        try:
            src_container, src_object = parse_container_object(
                req.headers['x-copy-from'], 'X-Copy-From')
        except ValueError as e:
            return text_response(412, '%s\n' % e, request=req), None
        version = req.path_info.split('/')[1]
        env = {'REQUEST_METHOD': 'GET'}
        for key in ('swift.authorize', 'swift.clean_acl', 'REMOTE_USER',
                    'swift.cache', 'swift.trans_id', 'reseller_request',
                    'HTTP_REFERER', 'HTTP_X_AUTH_TOKEN',
                    'HTTP_X_STORAGE_TOKEN', 'REMOTE_ADDR'):
            if key in req.environ:
                env[key] = req.environ[key]
        source_req = Request.blank(
            quote('/%s/%s/%s/%s' % (version, self.account_name,
                                    src_container, src_object)),
            environ=env)
        source = ObjectController(self.app, self.account_name, src_container,
                                  src_object)
        source.cache = self.cache
        source.trans_id = self.trans_id
        resp = source.GETorHEAD(source_req)
        return resp, '%s/%s' % (src_container, src_object)

    # ------------------------------------------------------------- PUT

    @public
    @delay_denial
    def PUT(self, req):
        container_info = self.container_info(self.account_name,
                                             self.container_name)
        denied = self.authorize(req, container_info['write_acl'])
        if denied is not None:
            return denied
        if not container_info['nodes']:
            return text_response(404, 'Container not found\n', request=req)
        body_iter = None
        copied_from = None
        if 'x-copy-from' in req.headers:
            if req.content_length or \
                    'chunked' in req.headers.get('transfer-encoding', ''):
                return text_response(400, 'Copy requests require a zero '
                                     'byte body\n', request=req)
            source_resp, copied_from = self._copy_source(req)
            if copied_from is None:
                return source_resp
            if source_resp.status_int >= 300:
                return source_resp
            error = self._merge_copy_headers(req, source_resp)
            if error:
                return error
            body_iter = iter(source_resp.app_iter)
        self._set_content_type(req)
        error = check_object_creation(req, self.object_name)
        if error:
            return error
        if 'x-object-manifest' in req.headers:
            try:
                segments.parse_manifest(req.headers['x-object-manifest'])
            except ValueError:
                return text_response(400, 'X-Object-Manifest must be in the '
                                     'format container/prefix\n',
                                     request=req)
        resp = self._store(req, container_info, body_iter)
        if copied_from and is_success(resp.status_int):
            resp.headers['X-Copied-From'] = quote(copied_from)
        return resp

    def _merge_copy_headers(self, req, source_resp):
        """The copy gets the source's type and metadata, overridden by the
        request's own; a manifest's assembled bytes are copied (not the
        manifest)."""
        is_manifest = 'x-object-manifest' in source_resp.headers
        if source_resp.content_length is None:
            return text_response(413, 'Max segment count exceeded for a '
                                 'copy of a large object\n', request=req)
        if source_resp.content_length > MAX_FILE_SIZE:
            return text_response(413, 'Your request is too large.\n',
                                 request=req)
        own_meta = {k: v for k, v in req.headers.items()
                    if k.lower().startswith('x-object-meta-')}
        for key, value in source_resp.headers.items():
            lower = key.lower()
            if lower.startswith('x-object-meta-') and key not in own_meta:
                req.headers[key] = value
            elif lower in ('content-encoding', 'content-disposition') and \
                    lower not in req.headers:
                req.headers[key] = value
        if not req.headers.get('content-type'):
            req.headers['Content-Type'] = source_resp.headers.get(
                'content-type', 'application/octet-stream')
        if not is_manifest and source_resp.headers.get('etag'):
            req.headers['ETag'] = source_resp.headers['etag'].strip('"')
        else:
            req.headers.pop('etag', None)
        req.headers.pop('x-object-manifest', None)
        req.headers['Content-Length'] = str(source_resp.content_length)
        req.headers.pop('transfer-encoding', None)
        return None

    def _set_content_type(self, req):
        detect = req.headers.get('x-detect-content-type', '').lower() in (
            'true', '1', 'yes', 'on')
        if detect or not req.headers.get('content-type'):
            guessed = mimetypes.guess_type(self.object_name)[0]
            req.headers['Content-Type'] = guessed or \
                'application/octet-stream'
        req.headers.pop('x-detect-content-type', None)

    def _store(self, req, container_info, body_iter=None):
        """Stream the body (from the client, or ``body_iter`` for copies)
        to one connection per replica and answer from their results."""
        ring = self.app.object_ring
        partition, _nodes = ring.get_nodes(self.account_name,
                                           self.container_name,
                                           self.object_name)
        replicas = ring.replica_count
        quorum = replicas // 2 + 1
        chunked = req.content_length is None
        if body_iter is None and not chunked and \
                req.content_length <= self.app.buffered_put_size:
            return self._store_buffered(req, container_info, partition)
        timestamp = normalize_timestamp(time.time())
        nodes = self.iter_nodes(ring, partition)
        pile = GreenPile(replicas)
        extras = []
        for index in range(replicas):
            extra = {'X_Timestamp': timestamp, 'Expect': '100-continue'}
            extra.update(self._container_headers(container_info, index))
            if chunked:
                extra['Transfer_Encoding'] = 'chunked'
            else:
                extra['Content_Length'] = str(req.content_length)
            extras.append(extra)
        for headers in self.headers_per_replica(req, extras):
            pile.spawn(self._connect_put_node, nodes, partition, headers)
        conns = []
        stored = []  # final 2xx answers given instead of 100 Continue
        refusals = []  # final 4xx answers given instead of 100 Continue
        for conn, answer in pile:
            if conn is not None:
                conns.append(conn)
            elif answer is not None:
                (stored if is_success(answer[0]) else refusals).append(answer)
        if len(conns) + len(stored) < quorum:
            if refusals:
                resp = _superseded(req, stored + refusals, replicas,
                                   timestamp) or \
                    best_response(req, *_columns(refusals, 3),
                                  'Object PUT', replicas)
                if resp.status_int < 500:
                    return resp
            self.app.logger.error('Object PUT %s: %d connections of %d '
                                  'needed', self._path(),
                                  len(conns) + len(stored), quorum)
            return text_response(503, 'Service Unavailable\n', request=req)
        if body_iter is None:
            body_iter = self._client_chunks(req)
        try:
            if conns:
                conns = self._send_body(conns, body_iter, chunked,
                                        quorum - len(stored))
        except ClientTimeout:
            return text_response(408, 'Request Timeout\n', request=req)
        except ClientDisconnect:
            return text_response(499, 'Client Disconnect\n', request=req)
        except BodyTooLarge:
            return text_response(413, 'Your request is too large.\n',
                                 request=req)
        finally:
            if hasattr(body_iter, 'close'):
                body_iter.close()
        if conns is None:
            return text_response(503, 'Service Unavailable\n', request=req)
        return self._put_results(req, conns, stored, replicas, timestamp)

    def _store_buffered(self, req, container_info, partition):
        """PUT of a small body: read it all, then one request per replica
        with headers and body in one write.

        The timestamp is taken once the body is here, right before the
        writes go out: taken before reading, a slow client's write would
        carry an older timestamp than a concurrent one sent earlier and
        lose to it on the object servers."""
        try:
            body = b''.join(self._client_chunks(req))
        except ClientTimeout:
            return text_response(408, 'Request Timeout\n', request=req)
        except ClientDisconnect:
            return text_response(499, 'Client Disconnect\n', request=req)
        timestamp = normalize_timestamp(time.time())
        ring = self.app.object_ring
        replicas = ring.replica_count
        nodes = self.iter_nodes(ring, partition)
        pile = GreenPile(replicas)
        extras = []
        for index in range(replicas):
            extra = {'X_Timestamp': timestamp,
                     'Content_Length': str(len(body))}
            extra.update(self._container_headers(container_info, index))
            extras.append(extra)
        for headers in self.headers_per_replica(req, extras):
            pile.spawn(self._put_whole, nodes, partition, headers, body)
        answers = [answer for answer in pile if answer]
        return self._put_answer(req, answers, replicas, timestamp)

    def _put_whole(self, nodes, partition, headers, body):
        """PUT ``body`` on the first node of ``nodes`` (shared by the
        replicas' greenthreads) that gives a real answer: (status, reason,
        body, headers), or None when every node failed.  Connection errors,
        timeouts, 5xx and 507 move on to the next node, a hand-off once the
        primaries are used up; the bytes are still here to send again."""
        for node in nodes:
            conn = None
            try:
                conn = self._connect(node, partition, 'PUT', self._path(),
                                     headers, body=body)
                with Timeout(self.app.node_timeout):
                    resp = conn.getresponse()
                    answer_body = resp.read()
                release(conn, resp)
            except (Exception, Timeout) as e:
                if conn is not None:
                    conn.close()
                self.app.exception_occurred(
                    node, 'Object', 'Trying to PUT %s: %s'
                    % (self._path(), e))
                continue
            if resp.status == 507:
                self.app.error_limit(node)
                continue
            if resp.status >= 500:
                self.app.error_occurred(
                    node, 'Object server answered %d to PUT %s'
                    % (resp.status, self._path()))
                continue
            return (resp.status, resp.reason, answer_body,
                    resp.getheaders())
        return None

    def _connect_put_node(self, nodes, partition, headers):
        """(connection that said 100 Continue, None) or (None, final
        answer as (status, reason, body, headers)) or (None, None) when no
        node could take it.

        An object server answers an empty PUT at once with its final
        status (it stores the object without reading a body): a 2xx there
        is a stored replica, not a failure.
        """
        empty_body = headers.get('Content-Length') == '0'
        for node in nodes:
            try:
                conn = self._connect(node, partition, 'PUT', self._path(),
                                     headers, reuse=False)
                with Timeout(self.app.node_timeout):
                    expect = conn.getexpect()
                    body = b'' if expect.status == 100 else expect.read()
            except (Exception, Timeout) as e:
                self.app.exception_occurred(
                    node, 'Object', 'Expect: 100-continue on %s: %s'
                    % (self._path(), e))
                continue
            if expect.status == 100:
                conn.node = node
                return conn, None
            conn.close()
            answer = (expect.status, expect.reason, body,
                      expect.getheaders())
            if expect.status == 507:
                self.app.error_limit(node)
            elif expect.status >= 500:
                self.app.error_occurred(
                    node, 'Object server answered %d to PUT %s'
                    % (expect.status, self._path()))
            elif is_success(expect.status) and not empty_body:
                # It cannot have stored a body it never read.
                self.app.error_occurred(
                    node, 'Object server answered %d to PUT %s before '
                    'reading the body' % (expect.status, self._path()))
            else:
                # stored (empty body), or a real refusal (e.g. 400, 409):
                # asking another node would not change its mind
                return None, answer
        return None, None

    def _client_chunks(self, req):
        """The client's body in chunks; raises ClientTimeout /
        ClientDisconnect."""
        wsgi_input = req.environ['wsgi.input']
        remaining = req.content_length
        size = self.app.client_chunk_size
        while remaining is None or remaining > 0:
            want = size if remaining is None else min(size, remaining)
            try:
                with ChunkReadTimeout(self.app.client_timeout):
                    chunk = wsgi_input.read(want)
            except ChunkReadTimeout:
                raise ClientTimeout()
            except (ValueError, IOError) as e:
                # eventlet raises these for a broken chunked body or a
                # connection that went away
                self.app.logger.info('client read error: %s', e)
                raise ClientDisconnect()
            if not chunk:
                if remaining is not None:
                    raise ClientDisconnect()
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk

    def _send_body(self, conns, body_iter, chunked, quorum):
        """Send every chunk to every live connection; returns the
        connections still standing, or None when fewer than ``quorum``
        are left."""
        total = 0
        for chunk in body_iter:
            total += len(chunk)
            if total > MAX_FILE_SIZE:
                raise BodyTooLarge()
            data = b'%x\r\n%s\r\n' % (len(chunk), chunk) if chunked \
                else chunk
            conns = self._send_to_all(conns, data)
            if len(conns) < quorum:
                self.app.logger.error('Object PUT %s: too few nodes left '
                                      'while sending', self._path())
                return None
        if chunked:
            conns = self._send_to_all(conns, b'0\r\n\r\n')
            if len(conns) < quorum:
                return None
        return conns

    def _send_to_all(self, conns, data):
        alive = []
        for conn in conns:
            try:
                with ChunkWriteTimeout(self.app.node_timeout):
                    conn.send(data)
                alive.append(conn)
            except (Exception, Timeout) as e:
                self.app.exception_occurred(
                    conn.node, 'Object',
                    'Trying to write to %s: %s' % (self._path(), e))
                conn.close()
        return alive

    def _put_results(self, req, conns, stored, replicas, timestamp):
        """Answer from the final status of every replica: those read from
        ``conns`` now and the ``stored`` answers given early."""
        answers = list(stored)
        for conn in conns:
            try:
                with Timeout(self.app.node_timeout):
                    resp = conn.getresponse()
                    body = resp.read()
            except (Exception, Timeout) as e:
                self.app.exception_occurred(
                    conn.node, 'Object',
                    'Trying to get final status of PUT to %s: %s'
                    % (self._path(), e))
                continue
            finally:
                conn.close()
            if resp.status == 507:
                self.app.error_limit(conn.node)
            elif resp.status >= 500:
                self.app.error_occurred(
                    conn.node, 'Object server answered %d to PUT %s'
                    % (resp.status, self._path()))
            answers.append((resp.status, resp.reason, body,
                            resp.getheaders()))
        return self._put_answer(req, answers, replicas, timestamp)

    def _put_answer(self, req, answers, replicas, timestamp):
        """The client's answer from the replicas' final (status, reason,
        body, headers).

        An object server refuses (409) a write not newer than what it
        holds, naming that in X-Backend-Timestamp.  When a majority of
        replicas stored this write or already hold a newer one, but not a
        majority stored it, the write lost a race to a concurrent newer
        one: the answer is 202 Accepted (as in Swift 2.x), not 409 -- last
        writer wins, and this one was simply not the last.
        """
        resp = _superseded(req, answers, replicas, timestamp)
        if resp is not None:
            return resp
        etags = set()
        for status, _reason, _body, headers in answers:
            if is_success(status):
                etags.add(dict((k.lower(), v) for k, v in headers).get(
                    'etag', '').strip('"'))
        if len(etags) > 1:
            self.app.logger.error('Object servers returned %d mismatched '
                                  'etags for %s', len(etags), self._path())
            return text_response(500, 'Internal Server Error\n',
                                 request=req)
        resp = best_response(req, *_columns(answers, 3), 'Object PUT',
                             replicas, self.app.logger)
        if is_success(resp.status_int):
            if etags:
                resp.headers['ETag'] = etags.pop()
            resp.last_modified = float(timestamp)
        return resp


def _superseded(req, answers, replicas, timestamp):
    """202 when a newer write beat this one to the majority of the
    replicas (see ObjectController._put_answer), else None."""
    stored = sum(1 for a in answers if is_success(a[0]))
    superseded = sum(1 for a in answers
                     if a[0] == 409 and _backend_timestamp(a[3]) >=
                     float(timestamp))
    if stored < replicas // 2 + 1 <= stored + superseded:
        resp = text_response(202, 'Accepted: a newer write of this object '
                             'is already stored\n', request=req)
        resp.last_modified = float(timestamp)
        return resp
    return None


def _backend_timestamp(headers):
    """X-Backend-Timestamp of a node's answer as a float (0 without)."""
    for key, value in headers or ():
        if key.lower() == 'x-backend-timestamp':
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 0.0


def _columns(answers, count):
    """[(a, b, c, ...)] -> [a...], [b...], [c...] (the first ``count``)."""
    return [[answer[i] for answer in answers] for i in range(count)]
