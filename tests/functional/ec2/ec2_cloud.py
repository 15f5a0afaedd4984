"""A fake-driver cloud with bin/nova-api and real Glance, for EC2 client tests.

``start_cloud(workdir)`` runs glance-registry and glance-api, the FakeCloud
daemons (network, scheduler, one compute host on the fake driver, over
RabbitMQ in a vhost of their own), bin/nova-api serving only the EC2 app,
makes users and projects with bin/nova-manage and uploads a kernel,
ramdisk and machine image to Glance.  ``stop()`` ends everything it
started.
"""

import os
import socket
import time

from nova import context
from nova.db import api as db
from nova.image import glance as glance_image
from tests.functional.compute import fake_cloud
from tests.functional.glance.servers import GlanceServers
from tests.functional.nova import helpers

# name -> (access, secret, admin)
USERS = {'admin': ('AKadmin', 'SKadmin', True),
         'alice': ('AKalice', 'SKalice', False),
         'bob': ('AKbob', 'SKbob', False),
         'locky': ('AKlocky', 'SKlocky', False)}
FLOATING = ['192.0.2.%d' % i for i in range(10, 13)]


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class EC2Cloud:

    def __init__(self, workdir):
        self.workdir = workdir
        self.glance = GlanceServers()
        self.port = free_port()
        self.cloud = None
        self.images = {}

    def start(self):
        self.glance.start()
        self.cloud = fake_cloud.FakeCloud(
            self.workdir, compute_hosts=1, hosts_per_process=1,
            flags_extra={
                'image_service': 'nova.image.glance.GlanceImageService',
                'glance_host': '127.0.0.1',
                'glance_port': self.glance.api_port,
                'ec2_listen': '127.0.0.1', 'ec2_listen_port': self.port,
                'ec2_host': '127.0.0.1', 'ec2_port': self.port,
                'enabled_apis': 'ec2',
                'api_paste_config': os.path.join(
                    helpers.ROOT, 'etc', 'nova', 'api-paste.ini'),
                'lockout_attempts': 5,
            })
        self.cloud.configure_this_process()
        self.cloud.start()
        self._upload_images()
        self._make_users()
        admin = context.get_admin_context()
        for address in FLOATING:
            db.floating_ip_create(admin, {
                'address': address, 'host': 'fc%s-net' % self.cloud.tag})
        self.api = self.cloud._spawn('nova-api', [
            os.path.join(helpers.BIN, 'nova-api'),
            '--flagfile=%s' % self.cloud.flagfile])
        self.cloud.wait(self._listening, 60, 'nova-api to listen')
        return self

    def _listening(self):
        try:
            socket.create_connection(('127.0.0.1', self.port), 1).close()
            return True
        except OSError:
            return False

    def _upload_images(self):
        service = glance_image.GlanceImageService('127.0.0.1',
                                                  self.glance.api_port)
        admin = context.get_admin_context()

        def make(name, disk_format, props=None, owner=None, public=True):
            return service.create(admin, {
                'name': name, 'disk_format': disk_format,
                'container_format': disk_format, 'is_public': public,
                'owner': owner, 'properties': props or {}},
                data=iter([b'image bytes of %s' % name.encode()]))['id']
        self.images['kernel'] = make('kernel', 'aki')
        self.images['ramdisk'] = make('ramdisk', 'ari')
        self.images['ami'] = make('machine', 'ami', {
            'kernel_id': str(self.images['kernel']),
            'ramdisk_id': str(self.images['ramdisk'])})
        self.images['alices'] = make('alices', 'ami', {
            'kernel_id': str(self.images['kernel'])}, owner='proj1',
            public=False)

    def _make_users(self):
        flagfile = self.cloud.flagfile
        for name, (access, secret, admin) in USERS.items():
            helpers.nova_manage(flagfile, 'user',
                                'admin' if admin else 'create',
                                name, access, secret)
        helpers.nova_manage(flagfile, 'project', 'create', 'proj1', 'alice')
        helpers.nova_manage(flagfile, 'project', 'create', 'proj2', 'bob')
        helpers.nova_manage(flagfile, 'project', 'add', 'proj1', 'locky')
        helpers.nova_manage(flagfile, 'project', 'add', 'proj1', 'admin')

    def stop(self):
        try:
            if self.cloud is not None:
                self.cloud.stop()
        finally:
            self.glance.stop()

    def wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            self.cloud.check_alive()
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError('timed out after %ss waiting for %s\n'
                                     'nova-api said:\n%s'
                                     % (timeout, what, self.api.output()))
            time.sleep(0.5)
