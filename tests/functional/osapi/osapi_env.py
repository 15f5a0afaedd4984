"""A whole cloud behind a real nova-api for the OpenStack API tests.

Real Glance (registry + API on a file store), the fake-driver control plane
of tests/functional/compute/fake_cloud.py over RabbitMQ (own vhost), users
made with bin/nova-manage, and two bin/nova-api processes serving only the
OpenStack API: ``api`` with generous rate limits and a day-long token
lifetime, ``strict_api`` with small limits and 3-second tokens.
"""

import http.client as http_lib
import json
import os
import re
import shutil
import socket
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET

from nova.image import glance as nova_glance
from tests.functional.compute import fake_cloud
from tests.functional.glance import servers as glance_servers
from tests.functional.nova import helpers

XMLNS = {'1.0': 'http://docs.rackspacecloud.com/servers/api/v1.0',
         '1.1': 'http://docs.openstack.org/compute/api/v1.1'}
STRICT_LIMITS = ('(POST, "*", .*, 3, MINUTE);'
                 '(GET, "*changes-since*", .*changes-since.*, 2, MINUTE)')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def xml(self):
        return ET.fromstring(self.body)

    def __repr__(self):
        return '<%s %r>' % (self.status, self.body[:300])


def http(method, url, body=None, headers=None, timeout=60):
    parts = urllib.parse.urlsplit(url)
    conn = http_client(parts.port, timeout)
    try:
        path = parts.path or '/'
        if parts.query:
            path += '?' + parts.query
        if isinstance(body, str):
            body = body.encode('utf-8')
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def http_client(port, timeout):
    return http_lib.HTTPConnection('127.0.0.1', port, timeout=timeout)


class Api:
    """One bin/nova-api process serving the OpenStack API."""

    def __init__(self, flagfile, *args):
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.daemon = helpers.Daemon(
            'nova-api', flagfile, '--enabled_apis=osapi',
            '--osapi_listen=127.0.0.1', '--osapi_listen_port=%d' % self.port,
            '--api_paste_config=%s' % os.path.join(
                helpers.ROOT, 'etc', 'nova', 'api-paste.ini'), *args)

    def wait_ready(self):
        def answers():
            assert self.daemon.alive(), self.daemon.output()
            try:
                return http('GET', self.url + '/', timeout=5).status == 200
            except OSError:
                return False
        helpers.wait_for(answers, 90, what='nova-api to answer')

    def login(self, user, version):
        resp = http('GET', '%s/v%s' % (self.url, version), headers={
            'X-Auth-User': user['name'], 'X-Auth-Key': user['access']})
        assert resp.status == 204, resp
        return (resp.headers['X-Auth-Token'],
                resp.headers['X-Server-Management-Url'])


class Env:

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix='osapi-e2e-')
        self.glance = None
        self.cloud = None
        self.apis = []

    def start(self):
        self.glance = glance_servers.GlanceServers().start()
        self.cloud = fake_cloud.FakeCloud(
            self.tmp, compute_hosts=1, network='10.61.0.0/24',
            flags_extra={
                'image_service': 'nova.image.glance.GlanceImageService',
                'glance_host': '127.0.0.1',
                'glance_port': self.glance.api_port})
        self.cloud.start()
        flagfile = self.cloud.flagfile
        self.users = {name: self._user(flagfile, name, project)
                      for name, project in (('alice', 'proj1'),
                                            ('bob', 'proj2'))}
        self.api = Api(flagfile,
                       '--osapi_rate_limits=(POST, "*", .*, 10000, MINUTE)')
        self.strict_api = Api(flagfile, '--osapi_rate_limits=%s'
                              % STRICT_LIMITS, '--auth_token_ttl=3')
        self.apis = [self.api, self.strict_api]
        for api in self.apis:
            api.wait_ready()
        images = nova_glance.GlanceImageService('127.0.0.1',
                                                self.glance.api_port)
        self.image_id = images.create(None, {
            'name': 'tiny-disk', 'disk_format': 'raw',
            'container_format': 'bare', 'is_public': True},
            data=iter([b'\0' * 1024]))['id']
        return self

    @staticmethod
    def _user(flagfile, name, project):
        out = helpers.nova_manage(flagfile, 'user', 'create', name).stdout
        access = re.search(r'EC2_ACCESS_KEY=(\S+)', out).group(1)
        helpers.nova_manage(flagfile, 'project', 'create', project, name)
        return {'name': name, 'access': access, 'project': project}

    def stop(self):
        for api in self.apis:
            api.daemon.stop()
        if self.cloud is not None:
            self.cloud.stop()
        if self.glance is not None:
            self.glance.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check_alive(self):
        self.cloud.check_alive()
        for api in self.apis:
            assert api.daemon.alive(), api.daemon.output()


def wait(predicate, timeout, what, env=None):
    deadline = time.monotonic() + timeout
    while True:
        if env is not None:
            env.check_alive()
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError('timed out after %ss waiting for %s'
                                 % (timeout, what))
        time.sleep(0.3)
