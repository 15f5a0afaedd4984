"""glance-api's client for glance-registry (JSON over HTTP)."""

import http.client
import io
import json
import urllib.parse

from glance.common import exception
from glance.registry import server as registry_server


class RegistryClient:
    """Talks to one registry at ``host:port`` (or to a WSGI app in tests)."""

    def __init__(self, host='127.0.0.1', port=9191, timeout=60, app=None):
        self.host = host
        self.port = int(port)
        self.timeout = timeout
        self.app = app

    # -- transport ----------------------------------------------------------

    def _identity(self, context):
        headers = {'Content-Type': 'application/json'}
        if context is not None:
            if context.project_id:
                headers[registry_server.PROJECT_HEADER] = context.project_id
            headers[registry_server.ADMIN_HEADER] = (
                'true' if context.is_admin else 'false')
        return headers

    def _call(self, context, method, path, body=None, headers=None):
        all_headers = self._identity(context)
        all_headers.update(headers or {})
        data = json.dumps(body).encode('utf-8') if body is not None else None
        if self.app is not None:
            status, text = self._call_app(method, path, data, all_headers)
        else:
            status, text = self._call_http(method, path, data, all_headers)
        if status >= 400:
            raise exception.from_status(status, text.strip())
        return json.loads(text) if text else {}

    def _call_http(self, method, path, data, headers):
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=self.timeout)
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read().decode('utf-8', 'replace')
        except OSError as e:
            raise exception.ServiceUnavailable(
                'glance-registry at %s:%s is unreachable: %s'
                % (self.host, self.port, e)) from None
        finally:
            conn.close()

    def _call_app(self, method, path, data, headers):
        import webob
        req = webob.Request.blank(path, method=method, headers=headers)
        if data is not None:
            req.body_file = io.BytesIO(data)
            req.content_length = len(data)
        resp = req.get_response(self.app)
        return resp.status_int, resp.body.decode('utf-8', 'replace')

    # -- operations ---------------------------------------------------------

    def get_images(self, context, params=(), detail=True):
        path = '/images/detail' if detail else '/images'
        query = urllib.parse.urlencode(list(params))
        if query:
            path += '?' + query
        return self._call(context, 'GET', path)['images']

    def get_image(self, context, image_id):
        return self._call(context, 'GET', '/images/%s' % _quote(image_id))[
            'image']

    def add_image(self, context, values, properties=None):
        body = {'image': dict(values, properties=properties or {})}
        return self._call(context, 'POST', '/images', body)['image']

    def update_image(self, context, image_id, values, properties=None,
                     purge_props=False, expected_status=None):
        headers = {registry_server.PURGE_HEADER:
                   'true' if purge_props else 'false'}
        if expected_status:
            headers[registry_server.EXPECT_HEADER] = expected_status
        body = {'image': dict(values, properties=properties or {})}
        return self._call(context, 'PUT', '/images/%s' % _quote(image_id),
                          body, headers)['image']

    def delete_image(self, context, image_id):
        self._call(context, 'DELETE', '/images/%s' % _quote(image_id))


def _quote(image_id):
    return urllib.parse.quote(str(image_id), safe='')
