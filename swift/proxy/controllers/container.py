"""``/v1/<account>/<container>``: object listings, container metadata and
ACLs, creation and deletion."""

import time

from swift.common.constraints import MAX_CONTAINER_NAME_LENGTH, check_metadata
from swift.common.utils import normalize_timestamp, public
from swift.proxy.controllers.base import (Controller, delay_denial,
                                          get_container_memcache_key,
                                          info_from_container_headers,
                                          is_success, text_response)

ACL_HEADERS = ('x-container-read', 'x-container-write')


class ContainerController(Controller):
    server_type = 'Container'

    def _path(self):
        return '/%s/%s' % (self.account_name, self.container_name)

    def _name_error(self, req):
        length = len(self.container_name.encode('utf-8'))
        if length > MAX_CONTAINER_NAME_LENGTH:
            return text_response(400, 'Container name length of %d longer '
                                 'than %d\n' % (length,
                                                MAX_CONTAINER_NAME_LENGTH),
                                 request=req)
        return None

    def clean_acls(self, req):
        """Normalise ACL headers through the auth middleware; a bad ACL is
        a 400 (None when all is well)."""
        clean = req.environ.get('swift.clean_acl')
        for header in ACL_HEADERS:
            if header not in req.headers:
                continue
            if clean is None:
                continue  # no auth middleware: nothing enforces ACLs
            try:
                req.headers[header] = clean(header, req.headers[header])
            except ValueError as e:
                return text_response(400, 'Invalid ACL: %s\n' % e,
                                     request=req)
        return None

    # ----------------------------------------------------------- reads

    def GETorHEAD(self, req):
        error = self._name_error(req)
        if error:
            return error
        ring = self.app.container_ring
        partition, nodes = ring.get_nodes(self.account_name,
                                          self.container_name)
        resp = self.GETorHEAD_base(req, 'Container', ring, partition,
                                   self._path(), nodes=nodes,
                                   query_string=req.query_string)
        status = resp.status_int
        if self.cache and (is_success(status) or status == 404):
            info = info_from_container_headers(status, resp.headers)
            timeout = self.app.recheck_container_existence
            if status == 404:
                timeout /= 10.0
            self._cache_set(get_container_memcache_key(
                self.account_name, self.container_name), info, timeout)
        denied = self.authorize(req, resp.headers.get('x-container-read'))
        if denied is not None:
            return denied
        if 'swift.authorize' in req.environ and \
                not req.environ.get('swift_owner'):
            # only the owner may see who else has access
            for header in ACL_HEADERS:
                resp.headers.pop(header, None)
        return resp

    @public
    @delay_denial
    def GET(self, req):
        return self.GETorHEAD(req)

    @public
    @delay_denial
    def HEAD(self, req):
        return self.GETorHEAD(req)

    # ---------------------------------------------------------- writes

    def _write(self, req, method, account_nodes, account_partition):
        ring = self.app.container_ring
        partition, _nodes = ring.get_nodes(self.account_name,
                                           self.container_name)
        timestamp = normalize_timestamp(time.time())
        headers_list = []
        for index in range(ring.replica_count):
            extra = {'X_Timestamp': timestamp}
            if account_nodes:
                # each container replica tells one account replica
                node = account_nodes[index % len(account_nodes)]
                extra.update({
                    'X_Account_Host': '%s:%s' % (node['ip'], node['port']),
                    'X_Account_Partition': str(account_partition),
                    'X_Account_Device': node['device']})
            headers_list.append(self.backend_headers(req, **extra))
        resp = self.make_requests(req, ring, partition, method, self._path(),
                                  headers_list)
        self.clear_container_info(self.account_name, self.container_name)
        return resp

    def _account(self, req):
        autocreate = self.app.account_autocreate or \
            bool(req.environ.get('reseller_request'))
        return self.account_info(self.account_name,
                                 autocreate=autocreate and req.method == 'PUT')

    @public
    def PUT(self, req):
        error = self._name_error(req) or check_metadata(req, 'container') \
            or self.clean_acls(req)
        if error:
            return error
        account_partition, account_nodes = self._account(req)
        if not account_nodes:
            return text_response(404, 'Account not found\n', request=req)
        return self._write(req, 'PUT', account_nodes, account_partition)

    @public
    def POST(self, req):
        error = self._name_error(req) or check_metadata(req, 'container') \
            or self.clean_acls(req)
        if error:
            return error
        _account_partition, account_nodes = self._account(req)
        if not account_nodes:
            return text_response(404, 'Account not found\n', request=req)
        return self._write(req, 'POST', None, None)

    @public
    def DELETE(self, req):
        error = self._name_error(req)
        if error:
            return error
        account_partition, account_nodes = self._account(req)
        if not account_nodes:
            return text_response(404, 'Account not found\n', request=req)
        resp = self._write(req, 'DELETE', account_nodes, account_partition)
        if resp.status_int == 202:
            # the container servers' "already deleted"
            return text_response(404, 'Not Found\n', request=req)
        return resp
