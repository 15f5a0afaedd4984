"""``/v1/<account>``: container listings, account metadata, and (with
``allow_account_management``) account creation and deletion."""

import time
from xml.sax.saxutils import quoteattr

from webob import Response

from swift.common.constraints import MAX_ACCOUNT_NAME_LENGTH, check_metadata
from swift.common.utils import get_param, normalize_timestamp, public
from swift.proxy.controllers.base import (Controller, text_response,
                                          verbs_of)


class AccountController(Controller):
    server_type = 'Account'

    def _path(self):
        return '/%s' % self.account_name

    def _name_too_long(self, req):
        if len(self.account_name.encode('utf-8')) > MAX_ACCOUNT_NAME_LENGTH:
            return text_response(
                400, 'Account name length of %d longer than %d\n'
                % (len(self.account_name.encode('utf-8')),
                   MAX_ACCOUNT_NAME_LENGTH), request=req)
        return None

    def _may_autocreate(self, req):
        return self.app.account_autocreate or \
            bool(req.environ.get('reseller_request'))

    def GETorHEAD(self, req):
        error = self._name_too_long(req)
        if error:
            return error
        ring = self.app.account_ring
        partition, nodes = ring.get_nodes(self.account_name)
        resp = self.GETorHEAD_base(req, 'Account', ring, partition,
                                   self._path(), nodes=nodes,
                                   query_string=req.query_string)
        if resp.status_int == 404 and self._may_autocreate(req):
            # an account that autocreate would make on its first write
            # looks like an empty one until then
            resp = empty_account_response(req, self.account_name)
        return resp

    @public
    def GET(self, req):
        return self.GETorHEAD(req)

    @public
    def HEAD(self, req):
        return self.GETorHEAD(req)

    def _not_managed(self, req):
        return text_response(
            405, 'Account management is not allowed on this proxy\n',
            request=req,
            headers={'Allow': ', '.join(m for m in verbs_of(type(self))
                                        if m not in ('PUT', 'DELETE'))})

    def _write(self, req, method):
        ring = self.app.account_ring
        partition, _nodes = ring.get_nodes(self.account_name)
        headers = self.backend_headers(
            req, X_Timestamp=normalize_timestamp(time.time()))
        resp = self.make_requests(req, ring, partition, method, self._path(),
                                  [dict(headers)
                                   for _ in range(ring.replica_count)])
        self.clear_account_info(self.account_name)
        return resp

    @public
    def PUT(self, req):
        if not self.app.allow_account_management:
            return self._not_managed(req)
        error = self._name_too_long(req) or check_metadata(req, 'account')
        if error:
            return error
        return self._write(req, 'PUT')

    @public
    def POST(self, req):
        error = self._name_too_long(req) or check_metadata(req, 'account')
        if error:
            return error
        resp = self._write(req, 'POST')
        if resp.status_int == 404 and self._may_autocreate(req):
            if self.autocreate_account(self.account_name):
                resp = self._write(req, 'POST')
        return resp

    @public
    def DELETE(self, req):
        if not self.app.allow_account_management:
            return self._not_managed(req)
        if req.query_string:
            # a DELETE with a query is most likely a mistyped object path
            return text_response(400, 'DELETE of an account takes no '
                                 'query string\n', request=req)
        return self._write(req, 'DELETE')


def listing_format(req):
    """'json', 'xml' or 'plain' from ``format=`` or the Accept header."""
    fmt = (get_param(req, 'format') or '').lower()
    if fmt in ('json', 'xml', 'plain'):
        return fmt
    best = req.accept.best_match(['text/plain', 'application/json',
                                  'application/xml', 'text/xml'])
    if best == 'application/json':
        return 'json'
    if best in ('application/xml', 'text/xml'):
        return 'xml'
    return 'plain'


def empty_account_response(req, account):
    headers = {'X-Account-Container-Count': '0',
               'X-Account-Object-Count': '0',
               'X-Account-Bytes-Used': '0'}
    fmt = listing_format(req)
    if fmt == 'json':
        resp = Response(status=200, body=b'[]', headers=headers,
                        content_type='application/json', charset='utf-8')
    elif fmt == 'xml':
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<account name=%s>'
                '</account>' % quoteattr(account))
        resp = Response(status=200, body=body.encode('utf-8'),
                        headers=headers, content_type='application/xml',
                        charset='utf-8')
    else:
        resp = Response(status=204, headers=headers,
                        content_type='text/plain', charset='utf-8')
    resp.request = req
    return resp

