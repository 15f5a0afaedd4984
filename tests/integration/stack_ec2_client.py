"""A user of the tools/stack.sh cloud: EC2 through boto3 (and boto 2.49),
run inside the cloud's network namespace by tests/integration/
test_stack_e2e.py (``ip netns exec NS python stack_ec2_client.py ACTION``).

Credentials and endpoint come from the environment, as ``. novarc`` sets
it: EC2_URL, EC2_REGION, EC2_ACCESS_KEY, EC2_SECRET_KEY.  Each action
prints one JSON document on stdout; a failed action exits 1 with the reason
on stderr.  Every wait is bounded by the TIMEOUT argument.

    images                        describe_images with boto 2.49 and boto3
    boot AMI_NAME                 open tcp/80 in "default", run one m1.tiny
    wait-running ID TIMEOUT       until running with a private address
    http URL TIMEOUT              until GET URL answers 200; the body
    float ID TIMEOUT              allocate an address, associate it to ID
    unfloat ADDRESS               disassociate and release it
    terminate ID TIMEOUT          terminate; until describe no longer lists it
    console ID                    the console output
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
import botocore.config
import botocore.exceptions


def ec2():
    return boto3.client(
        'ec2', endpoint_url=os.environ['EC2_URL'],
        region_name=os.environ.get('EC2_REGION', 'nova'),
        aws_access_key_id=os.environ['EC2_ACCESS_KEY'],
        aws_secret_access_key=os.environ['EC2_SECRET_KEY'],
        config=botocore.config.Config(retries={'max_attempts': 1}))


def boto2():
    import boto.ec2.connection
    from boto.ec2.regioninfo import RegionInfo
    url = urllib.parse.urlsplit(os.environ['EC2_URL'])
    return boto.ec2.connection.EC2Connection(
        os.environ['EC2_ACCESS_KEY'], os.environ['EC2_SECRET_KEY'],
        region=RegionInfo(name=os.environ.get('EC2_REGION', 'nova'),
                          endpoint=url.hostname),
        port=url.port, path=url.path, is_secure=False)


def poll(what, timeout, fn, interval=2):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = fn()
        except (botocore.exceptions.ClientError, OSError) as e:
            value, last = None, e
        if value:
            return value
        if time.monotonic() >= deadline:
            raise SystemExit('timed out after %ss waiting for %s (last error: '
                             '%s)' % (timeout, what, last))
        time.sleep(interval)


def images():
    v3 = {i['ImageId']: i.get('Name') for i in
          ec2().describe_images()['Images']}
    v2 = {i.id: i.name for i in boto2().get_all_images()}
    return {'boto3': v3, 'boto2': v2}


def boot(ami_name):
    client = ec2()
    try:
        client.authorize_security_group_ingress(
            GroupName='default', IpProtocol='tcp', FromPort=80, ToPort=80,
            CidrIp='0.0.0.0/0')
    except botocore.exceptions.ClientError as e:
        if 'Duplicate' not in e.response['Error']['Code']:
            raise
    found = [i for i in client.describe_images()['Images']
             if i.get('Name') == ami_name]
    if not found:
        raise SystemExit('no image named %s' % ami_name)
    image = found[0]
    result = client.run_instances(ImageId=image['ImageId'], MinCount=1,
                                  MaxCount=1, InstanceType='m1.tiny')
    return {'instance_id': result['Instances'][0]['InstanceId'],
            'image_id': image['ImageId'],
            'kernel_id': image.get('KernelId'),
            'ramdisk_id': image.get('RamdiskId')}


def describe(client, instance_id):
    reservations = client.describe_instances(
        InstanceIds=[instance_id])['Reservations']
    return reservations[0]['Instances'][0] if reservations else None


def wait_running(instance_id, timeout):
    client = ec2()

    def running():
        inst = describe(client, instance_id)
        state = inst and inst['State']['Name']
        if state in ('terminated', 'error', 'shutdown'):
            raise SystemExit('%s went %s' % (instance_id, state))
        if state == 'running' and inst.get('PrivateIpAddress'):
            return inst
        return None
    inst = poll('%s to run' % instance_id, timeout, running)
    return {'state': inst['State']['Name'],
            'private_ip': inst['PrivateIpAddress']}


def http(url, timeout):
    def get():
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.read().decode() if resp.status == 200 else None
    return {'body': poll('GET %s' % url, timeout, get, interval=1)}


def floating(instance_id, timeout):
    client = ec2()
    address = client.allocate_address()['PublicIp']
    client.associate_address(InstanceId=instance_id, PublicIp=address)

    def shown():
        inst = describe(client, instance_id)
        return inst.get('PublicIpAddress') == address
    poll('%s to show %s' % (instance_id, address), timeout, shown)
    described = client.describe_addresses(PublicIps=[address])['Addresses']
    return {'public_ip': address,
            'described_instance': described[0].get('InstanceId')}


def unfloat(address):
    client = ec2()
    client.disassociate_address(PublicIp=address)
    client.release_address(PublicIp=address)
    return {'released': address}


def terminate(instance_id, timeout):
    client = ec2()
    client.terminate_instances(InstanceIds=[instance_id])

    def gone():
        try:
            inst = describe(client, instance_id)
        except botocore.exceptions.ClientError as e:
            if 'NotFound' in e.response['Error']['Code']:
                return True
            raise
        return inst is None or inst['State']['Name'] == 'terminated'
    poll('%s to go away' % instance_id, timeout, gone)
    return {'terminated': instance_id}


def console(instance_id):
    return {'output': ec2().get_console_output(
        InstanceId=instance_id).get('Output', '')}


ACTIONS = {
    'images': (images, ()),
    'boot': (boot, (str,)),
    'wait-running': (wait_running, (str, float)),
    'http': (http, (str, float)),
    'float': (floating, (str, float)),
    'unfloat': (unfloat, (str,)),
    'terminate': (terminate, (str, float)),
    'console': (console, (str,)),
}


def main(argv):
    if len(argv) < 2 or argv[1] not in ACTIONS:
        sys.stderr.write(__doc__)
        return 2
    fn, types = ACTIONS[argv[1]]
    args = argv[2:]
    if len(args) != len(types):
        sys.stderr.write('%s takes %d argument(s)\n' % (argv[1], len(types)))
        return 2
    try:
        result = fn(*[t(a) for t, a in zip(types, args)])
    except botocore.exceptions.ClientError as e:
        sys.stderr.write('%s: %s\n' % (argv[1], e))
        return 1
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
