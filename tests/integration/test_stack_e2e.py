"""The README's promise, end to end: tools/stack.sh brings the whole cloud up
on this machine (here with STACK_NETNS, in a temp STACK_DIR), a user boots
the test image through EC2 with the novarc credentials and reaches its HTTP
server on its fixed address and on a floating IP, stores and reads an object
with bin/swift, lists images with bin/glance, and tools/unstack.sh --purge
leaves nothing behind.

Every client runs inside the cloud's namespace (``ip netns exec``), as a
user of a STACK_NETNS cloud does.  Tests run in file order on one module
fixture; the last one takes the cloud down and checks the machine.
"""

import os
import re
import time

import pytest

from tests.integration import stackenv

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

BOOT_TIMEOUT = 300
SERVICES = ('swift', 'glance', 'nova', 'images')


def _require_root():
    if os.geteuid() != 0:
        pytest.fail('the one-host cloud needs root (namespaces, libvirtd, '
                    'bridges)', pytrace=False)


@pytest.fixture(scope='module')
def before():
    """The machine as it was before the cloud."""
    return {'links': stackenv.host_links(),
            'namespaces': stackenv.namespaces(),
            'vhosts': stackenv.rabbit_vhosts()}


@pytest.fixture(scope='module')
def cloud(before):
    _require_root()
    from tests.conftest import require_service
    require_service('rabbit')
    stack = stackenv.Stack()
    try:
        try:
            stack.up_output = stack.up().stdout
        except stackenv.StackError as e:
            pytest.fail('tools/stack.sh failed: %s' % e, pytrace=False)
        yield stack
    finally:
        stack.cleanup()


def test_up_writes_novarc_and_prints_endpoints(cloud):
    rc = cloud.rc
    for name in ('EC2_URL', 'EC2_ACCESS_KEY', 'EC2_SECRET_KEY', 'S3_URL',
                 'NOVA_URL', 'NOVA_USERNAME', 'NOVA_API_KEY', 'ST_AUTH',
                 'ST_USER', 'ST_KEY', 'GLANCE_HOST', 'GLANCE_PORT'):
        assert rc.get(name), 'novarc lacks %s: %s' % (name, rc)
    assert rc['EC2_ACCESS_KEY'] == '%s:admin' % rc['NOVA_API_KEY']
    assert rc['EC2_URL'] in cloud.up_output
    assert 'in network namespace %s' % cloud.ns in cloud.up_output
    assert cloud.ns in stackenv.namespaces()
    assert ('netns', cloud.ns) in cloud.made()


def test_rerun_changes_nothing_and_status_is_alive(cloud):
    pids = sorted(p for p in stackenv.processes_naming(cloud.dir + '/'))
    out = cloud.stack(timeout=600).stdout
    for what in ('swift is already running', 'glance is already running',
                 'nova is already running',
                 'test images are already in glance'):
        assert what in out, out
    assert 'starting' not in out, out
    assert sorted(stackenv.processes_naming(cloud.dir + '/')) == pids

    status = cloud.stack('status', timeout=300)
    for svc in SERVICES:
        assert '%s: alive' % svc in status.stdout, status.stdout
    for daemon in ('nova-api', 'nova-objectstore', 'nova-scheduler',
                   'nova-network', 'nova-compute', 'glance-api',
                   'glance-registry', 'libvirtd'):
        assert re.search(r'%s running \(pid \d+\)' % daemon, status.stdout), \
            status.stdout
    # The heartbeats of the RPC services, through nova-manage.
    for binary in ('nova-compute', 'nova-network', 'nova-scheduler'):
        assert re.search(r'%s\s+nova\s+enabled\s+:-\)' % binary,
                         status.stdout), status.stdout


def test_glance_cli_lists_the_test_images(cloud):
    out = cloud.tool('glance', 'index').stdout
    ids = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].isdigit():
            ids[fields[1]] = fields[0]
    assert {'nova-test-kernel', 'nova-test-ramdisk', 'nova-test-ami',
            'nova-test-disk'} <= set(ids), out
    show = cloud.tool('glance', 'show', ids['nova-test-ami']).stdout
    assert "Property 'kernel_id': %s" % ids['nova-test-kernel'] in show, show
    assert "Property 'ramdisk_id': %s" % ids['nova-test-ramdisk'] in show
    disk = cloud.tool('glance', 'show', ids['nova-test-disk']).stdout
    assert 'Disk format: qcow2' in disk, disk
    # The bytes live in swift (glance's store), under test2's account.
    assert 'swift' in show.lower(), show


def test_swift_cli_stores_and_reads_an_object(cloud, tmp_path):
    body = 'stored through the one-host cloud %s\n' % time.time()
    src = os.path.join(cloud.dir, 'e2e-object.txt')
    with open(src, 'w') as f:
        f.write(body)
    try:
        cloud.tool('swift', 'upload', 'e2e', 'e2e-object.txt')
        listed = cloud.tool('swift', 'list', 'e2e').stdout.split()
        assert listed == ['e2e-object.txt']
        got = cloud.tool('swift', 'download', 'e2e', 'e2e-object.txt',
                         '-o', '-').stdout
        assert got == body
    finally:
        os.unlink(src)


def _http_or_console(cloud, iid, url, timeout):
    try:
        return cloud.ec2('http', url, timeout, timeout=timeout)['body']
    except stackenv.StackError:
        console = cloud.ec2('console', iid)['output'][-3000:]
        raise AssertionError('%s never answered on %s; console:\n%s'
                             % (iid, url, console)) from None


def test_boot_through_ec2_reach_fixed_and_floating_ip(cloud):
    images = cloud.ec2('images')
    # boto 2.49 and boto3 see the same images
    assert images['boto2'] == images['boto3']
    assert 'nova-test-ami' in images['boto3'].values(), images
    booted = cloud.ec2('boot', 'nova-test-ami')
    iid, disk_iid = booted['instance_id'], None
    assert booted['kernel_id'].startswith('aki-'), booted
    assert booted['ramdisk_id'].startswith('ari-'), booted
    floating = None
    try:
        fixed = cloud.ec2('wait-running', iid, BOOT_TIMEOUT,
                          timeout=BOOT_TIMEOUT)['private_ip']
        assert fixed.startswith('10.11.12.'), fixed
        body = _http_or_console(cloud, iid, 'http://%s/' % fixed,
                                BOOT_TIMEOUT)
        # The guest learnt its EC2 id from the metadata service
        assert 'instance-id=%s' % iid in body, body
        assert 'form=ami' in body, body

        floated = cloud.ec2('float', iid, 60)
        floating = floated['public_ip']
        assert floated['described_instance'] == iid
        assert floating.startswith('172.24.4.'), floated
        via_floating = _http_or_console(cloud, iid, 'http://%s/' % floating,
                                        60)
        assert via_floating == body

        # the qcow2 whole-disk image boots by itself (no kernel/ramdisk).
        # Booted once the first guest runs: two first boots at once race in
        # nova-network (both start the bridge's dnsmasq; reported).
        disk_iid = cloud.ec2('boot', 'nova-test-disk')['instance_id']
        disk_ip = cloud.ec2('wait-running', disk_iid, BOOT_TIMEOUT,
                            timeout=BOOT_TIMEOUT)['private_ip']
        assert disk_ip != fixed
        disk_body = _http_or_console(cloud, disk_iid, 'http://%s/' % disk_ip,
                                     BOOT_TIMEOUT)
        assert 'instance-id=%s' % disk_iid in disk_body, disk_body
        assert 'form=whole-disk' in disk_body, disk_body
    finally:
        if floating:
            cloud.ec2('unfloat', floating)
        for instance in (iid, disk_iid):
            if instance:
                cloud.ec2('terminate', instance, 180, timeout=180)


def test_openstack_api_and_nova_manage(cloud):
    flavors = cloud.tool('nova', 'flavor-list').stdout
    assert 'm1.tiny' in flavors, flavors
    images = cloud.tool('nova', 'image-list').stdout
    assert 'nova-test-ami' in images, images
    conf = os.path.join(cloud.dir, 'etc', 'nova', 'nova.conf')
    networks = cloud.tool('nova-manage', '--flagfile=%s' % conf, 'network',
                          'list').stdout
    assert '10.11.12.0/24' in networks, networks
    floating = cloud.tool('nova-manage', '--flagfile=%s' % conf, 'floating',
                          'list').stdout
    assert '172.24.4.225' in floating, floating


def test_unstack_purge_leaves_nothing(cloud, before):
    made = cloud.made()
    vhost = [name for kind, name in made if kind == 'vhost']
    assert vhost, made
    qemu = [p for p in stackenv.processes_naming(cloud.dir + '/')
            if b'qemu' in open('/proc/%d/cmdline' % p, 'rb').read()]
    assert not qemu, 'a guest is still running after terminate: %s' % qemu

    out = cloud.unstack('--purge').stdout
    assert 'deleting network namespace %s' % cloud.ns in out, out
    assert stackenv.processes_naming(cloud.dir + '/') == []
    assert cloud.ns not in stackenv.namespaces()
    assert not os.path.exists(cloud.dir)
    assert vhost[0] not in stackenv.rabbit_vhosts()
    # the host's interfaces: the cloud's bridges lived in the namespace and
    # went with it; none of the host's own was touched
    after = stackenv.host_links()
    assert not {'br100', 'stackpub0'} & (after - before['links'])
    assert {'lo'} | ({'eth0'} & before['links']) <= after

    again = cloud.unstack('--purge').stdout
    assert 'nothing to do' in again
