"""A real QEMU guest reads its metadata and user data from nova-api.

The cloud: bin/nova-network, bin/nova-scheduler and a nova-compute on the
libvirt driver (QEMU in the session's namespace) over RabbitMQ, images in
real Glance, and two bin/nova-api processes: one on loopback for the EC2
API (boto3 launches the guest with a key pair and user data), and one
inside the namespace listening on 169.254.169.254:80 (the address is put
on the namespace's loopback) for the metadata service, which the guest
reaches through its gateway, the namespace's bridge.  The test image
prints ``NOVA-TEST-IMAGE-METADATA instance-id=...`` and
``NOVA-TEST-IMAGE-METADATA-USERDATA <first line>`` on its console.
"""

import importlib
import os
import socket
import sys

import boto3
import botocore.config
import pytest

from nova import context
from nova.image import glance as glance_image
from tests.functional.compute import fake_cloud
from tests.functional.glance.servers import GlanceServers
from tests.functional.nova import helpers
from tests.integration import guests

pytestmark = pytest.mark.slow
BOOT_TIMEOUT = 300
METADATA_IP = '169.254.169.254'


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def cloud(rabbit, libvirt_ns, test_image, tmp_path):
    glance = GlanceServers().start()
    cloud = None
    address_added = False
    port = _free_port()
    try:
        cloud = fake_cloud.FakeCloud(
            str(tmp_path), compute_hosts=1, hosts_per_process=1,
            network=libvirt_ns.prefix + '.0/24',
            flags_extra={
                'connection_type': 'libvirt', 'libvirt_type': 'qemu',
                'libvirt_uri': libvirt_ns.uri,
                'instances_path': str(tmp_path / 'instances'),
                'libvirt_boot_timeout': 120,
                'firewall_driver':
                    'nova.virt.libvirt.firewall.NoopFirewallDriver',
                'image_service': 'nova.image.glance.GlanceImageService',
                'glance_host': '127.0.0.1', 'glance_port': glance.api_port,
                'flat_network_bridge': libvirt_ns.bridge,
                'flat_injected': True,
                'scheduler_driver': 'nova.scheduler.chance.ChanceScheduler',
                'ec2_listen': '127.0.0.1', 'ec2_listen_port': port,
                'enabled_apis': 'ec2',
                'api_paste_config': os.path.join(
                    helpers.ROOT, 'etc', 'nova', 'api-paste.ini'),
            })
        cloud.configure_this_process()
        # The network is made in this process by cloud.start().
        from nova import flags
        importlib.import_module('nova.network.manager')   # its flat_* flags
        flags.FLAGS.flat_network_bridge = libvirt_ns.bridge
        flags.FLAGS.flat_injected = True
        service = glance_image.GlanceImageService('127.0.0.1',
                                                  glance.api_port)
        ids = guests.upload_test_images(service, context.get_admin_context(),
                                        test_image)
        cloud.start()
        helpers.nova_manage(cloud.flagfile, 'user', 'create', 'meta',
                            'AKmeta', 'SKmeta')
        helpers.nova_manage(cloud.flagfile, 'project', 'create', 'metaproj',
                            'meta')
        cloud._spawn('nova-api', [os.path.join(helpers.BIN, 'nova-api'),
                                  '--flagfile=%s' % cloud.flagfile])
        libvirt_ns.ns_run('ip', 'addr', 'add', METADATA_IP + '/32', 'dev',
                          'lo')
        address_added = True
        # The metadata service needs only the database, which it reaches
        # by file: it runs inside the namespace, away from RabbitMQ.
        metadata_api = fake_cloud.Process(
            'nova-api-metadata',
            ['ip', 'netns', 'exec', libvirt_ns.ns, sys.executable,
             os.path.join(helpers.BIN, 'nova-api'),
             '--flagfile=%s' % cloud.flagfile,
             '--ec2_listen=%s' % METADATA_IP, '--ec2_listen_port=80'],
            cloud.logs)
        cloud.processes.append(metadata_api)
        cloud.wait(lambda: libvirt_ns.http_get('http://%s/' % METADATA_IP,
                                               timeout=2), 60,
                   'the metadata service in the namespace')

        def listening():
            try:
                socket.create_connection(('127.0.0.1', port), 1).close()
                return True
            except OSError:
                return False
        cloud.wait(listening, 60, 'nova-api on loopback')
        yield {'cloud': cloud, 'images': ids, 'port': port,
               'env': libvirt_ns}
    finally:
        if cloud is not None:
            cloud.stop()
        if address_added:
            libvirt_ns.ns_run('ip', 'addr', 'del', METADATA_IP + '/32',
                              'dev', 'lo', check=False)
        glance.stop()


def test_guest_reads_metadata_and_user_data(cloud):
    c = cloud['cloud']
    ec2 = boto3.client(
        'ec2', endpoint_url='http://127.0.0.1:%d/services/Cloud'
        % cloud['port'], region_name='nova',
        aws_access_key_id='AKmeta:metaproj', aws_secret_access_key='SKmeta',
        config=botocore.config.Config(retries={'max_attempts': 1}))
    ec2.create_key_pair(KeyName='guestkey')
    ami = 'ami-%08x' % int(cloud['images']['ami'])
    result = ec2.run_instances(
        ImageId=ami, MinCount=1, MaxCount=1, InstanceType='m1.tiny',
        KeyName='guestkey', UserData='hello-from-user-data\nsecond line\n')
    iid = result['Instances'][0]['InstanceId']
    try:
        last = {}

        def booted():
            try:
                text = ec2.get_console_output(InstanceId=iid).get('Output',
                                                                   '')
            except ec2.exceptions.ClientError as e:
                last['error'] = str(e)    # not yet placed on a host
                return None
            last['text'] = text
            return text if 'NOVA-TEST-IMAGE-BOOTED' in text else None
        try:
            text = c.wait(booted, BOOT_TIMEOUT, 'the guest to boot',
                          interval=2)
        except AssertionError:
            state = ec2.describe_instances(InstanceIds=[iid])
            raise AssertionError('guest never booted: %r\nlast: %r\n%s'
                                 % (state, last.get('error'),
                                    last.get('text', '')[-3000:])) from None
        assert 'NOVA-TEST-IMAGE-METADATA instance-id=%s' % iid in text, \
            text[-3000:]
        assert 'NOVA-TEST-IMAGE-METADATA-USERDATA hello-from-user-data' \
            in text, text[-3000:]

        # The test image prints only these two; the key it was given is
        # the one the metadata service holds for it (checked in the unit
        # and functional tests of the tree itself).
        [instance] = ec2.describe_instances(InstanceIds=[iid])[
            'Reservations'][0]['Instances']
        assert instance['KeyName'] == 'guestkey'
        assert instance['State']['Name'] == 'running'
    finally:
        ec2.terminate_instances(InstanceIds=[iid])

        def gone():
            try:
                ec2.describe_instances(InstanceIds=[iid])
            except ec2.exceptions.ClientError:
                return True
            return False
        c.wait(gone, 120, 'the guest to be terminated')
