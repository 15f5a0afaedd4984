"""A small Python client of nova's OpenStack API (v1.0 and v1.1), for bin/nova.

    client = Client('http://127.0.0.1:8774/v1.1/', 'alice', 'ACCESS-KEY')
    client.servers(detail=True)

It logs in with the X-Auth handshake on first use, talks JSON to the
X-Server-Management-Url it was given and logs in again once when the token
has expired.  Errors are ``ClientError`` with the fault's name, code and
message.
"""

import base64
import http.client
import json
import urllib.parse


class ClientError(Exception):
    def __init__(self, code, name, message):
        super().__init__('%s (HTTP %s): %s' % (name, code, message))
        self.code = code
        self.name = name
        self.message = message


class Client:

    def __init__(self, auth_url, username, api_key, project_id=None,
                 timeout=60):
        self.auth_url = auth_url.rstrip('/')
        self.username = username
        self.api_key = api_key
        self.project_id = project_id
        self.timeout = timeout
        self.token = None
        self.management_url = None
        path = urllib.parse.urlsplit(self.auth_url).path
        self.version = '1.0' if path.rstrip('/').endswith('v1.0') else '1.1'

    # -- HTTP -------------------------------------------------------------------

    def _http(self, method, url, body=None, headers=None):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise ClientError(0, 'badUrl', 'not an http(s) URL: %s' % url)
        conn_class = (http.client.HTTPSConnection if parts.scheme == 'https'
                      else http.client.HTTPConnection)
        conn = conn_class(parts.hostname, parts.port, timeout=self.timeout)
        path = parts.path or '/'
        if parts.query:
            path += '?' + parts.query
        data = None
        headers = dict(headers or {})
        headers.setdefault('Accept', 'application/json')
        if body is not None:
            data = json.dumps(body).encode('utf-8')
            headers['Content-Type'] = 'application/json'
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, resp.headers, raw
        except OSError as e:
            raise ClientError(0, 'connectionError',
                              'cannot reach %s: %s' % (url, e)) from None
        finally:
            conn.close()

    def authenticate(self):
        headers = {'X-Auth-User': self.username, 'X-Auth-Key': self.api_key}
        if self.project_id:
            headers['X-Auth-Project-Id'] = self.project_id
        status, resp_headers, raw = self._http('GET', self.auth_url,
                                               headers=headers)
        if status != 204:
            raise _error(status, raw)
        self.token = resp_headers.get('X-Auth-Token')
        self.management_url = resp_headers.get(
            'X-Server-Management-Url', '').rstrip('/')
        if not self.token or not self.management_url:
            raise ClientError(status, 'badResponse', 'the login answer has '
                              'no X-Auth-Token or X-Server-Management-Url')

    def request(self, method, path, body=None):
        """The parsed JSON answer (or None) of ``method path``."""
        if self.token is None:
            self.authenticate()
        for attempt in (1, 2):
            status, _headers, raw = self._http(
                method, self.management_url + path, body,
                {'X-Auth-Token': self.token})
            if status == 401 and attempt == 1:
                self.authenticate()
                continue
            if status >= 400:
                raise _error(status, raw)
            if not raw:
                return None
            try:
                return json.loads(raw.decode('utf-8'))
            except ValueError:
                raise ClientError(status, 'badResponse',
                                  'the answer is not JSON') from None
        return None

    # -- resources --------------------------------------------------------------

    def servers(self, detail=True):
        path = '/servers/detail' if detail else '/servers'
        return self.request('GET', path)['servers']

    def server(self, server_id):
        return self.request('GET', '/servers/%s' % _quote(server_id))['server']

    def create_server(self, name, image, flavor, metadata=None, files=None):
        """``files``: {path in the guest: bytes}."""
        entity = {'name': name}
        if self.version == '1.0':
            entity.update(imageId=_number(image), flavorId=_number(flavor))
        else:
            entity.update(imageRef=str(image), flavorRef=str(flavor))
        if metadata:
            entity['metadata'] = metadata
        if files:
            entity['personality'] = [
                {'path': path,
                 'contents': base64.b64encode(data).decode('ascii')}
                for path, data in files.items()]
        return self.request('POST', '/servers', {'server': entity})['server']

    def delete_server(self, server_id):
        self.request('DELETE', '/servers/%s' % _quote(server_id))

    def rename_server(self, server_id, name):
        self.request('PUT', '/servers/%s' % _quote(server_id),
                     {'server': {'name': name}})

    def action(self, server_id, name, args=None):
        return self.request('POST', '/servers/%s/action' % _quote(server_id),
                            {name: args})

    def reboot(self, server_id, hard=False):
        self.action(server_id, 'reboot', {'type': 'HARD' if hard else 'SOFT'})

    def images(self, detail=True):
        path = '/images/detail' if detail else '/images'
        return self.request('GET', path)['images']

    def create_image(self, server_id, name):
        key = 'serverId' if self.version == '1.0' else 'serverRef'
        value = _number(server_id) if self.version == '1.0' \
            else str(server_id)
        return self.request('POST', '/images',
                            {'image': {key: value, 'name': name}})['image']

    def flavors(self, detail=True):
        path = '/flavors/detail' if detail else '/flavors'
        return self.request('GET', path)['flavors']


def _quote(value):
    return urllib.parse.quote(str(value), safe='')


def _number(value):
    text = str(value)
    return int(text) if text.isdigit() else text


def _error(status, raw):
    try:
        body = json.loads(raw.decode('utf-8'))
        (name, fault), = body.items()
        return ClientError(status, name, fault.get('message', ''))
    except (ValueError, AttributeError, TypeError, UnicodeDecodeError):
        text = raw.decode('utf-8', 'replace').strip()[:200]
        return ClientError(status, 'httpError', text or 'HTTP %s' % status)
