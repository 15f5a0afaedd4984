"""RegisterImage of an ec2-bundle-image bundle kept in nova-objectstore:
the AES key and IV are decrypted with the cloud's CA key, the parts are
decrypted, gunzipped and untarred into a new private image."""

import gzip
import io
import os
import tarfile

import eventlet
from cryptography import x509
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from nova import crypto
from nova import flags
from nova.image import local
from nova.objectstore import store as s3store

FLAGS = flags.FLAGS

MANIFEST = '''<?xml version="1.0"?>
<manifest><version>2007-10-10</version>
<machine_configuration><architecture>x86_64</architecture>
</machine_configuration>
<image><name>disk.img</name>
<ec2_encrypted_key algorithm="AES-128-CBC">%(key)s</ec2_encrypted_key>
<ec2_encrypted_iv>%(iv)s</ec2_encrypted_iv>
<parts count="2"><part index="0"><filename>disk.img.part.0</filename></part>
<part index="1"><filename>disk.img.part.1</filename></part></parts>
</image></manifest>'''


def _bundle(payload):
    tarred = io.BytesIO()
    with tarfile.open(fileobj=tarred, mode='w') as tar:
        info = tarfile.TarInfo('disk.img')
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    plain = gzip.compress(tarred.getvalue())
    key, iv = os.urandom(16), os.urandom(16)
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    cipher = encryptor.update(padded) + encryptor.finalize()
    with open(crypto.ca_path(), 'rb') as f:
        public = x509.load_pem_x509_certificate(f.read()).public_key()

    def seal(data):
        return public.encrypt(data.hex().encode(), padding.PKCS1v15()).hex()
    manifest = MANIFEST % {'key': seal(key), 'iv': seal(iv)}
    half = len(cipher) // 2
    return manifest.encode(), [cipher[:half], cipher[half:]]


def test_register_bundle(ec2, users, cloud):
    crypto.ensure_ca()
    payload = os.urandom(50000)
    manifest, parts = _bundle(payload)
    store = s3store.Store(FLAGS.buckets_path)
    store.create_bucket('bundles', 'proj1')
    store.put_object('bundles', 'img/disk.img.manifest.xml', [manifest])
    for n, part in enumerate(parts):
        store.put_object('bundles', 'img/disk.img.part.%d' % n, [part])

    root = ec2.ok(users['alice1'], 'RegisterImage',
                  ImageLocation='bundles/img/disk.img.manifest.xml')
    image_id = root.findtext('imageId')
    assert image_id.startswith('ami-')
    internal = int(image_id[4:], 16)

    def state():
        root = ec2.ok(users['alice1'], 'DescribeImages',
                      **{'ImageId.1': image_id})
        return root.findtext('imagesSet/item/imageState')
    for _ in range(200):
        if state() != 'pending':
            break
        eventlet.sleep(0.05)
    assert state() == 'available'
    root = ec2.ok(users['alice1'], 'DescribeImages', **{'ImageId.1': image_id})
    item = root.find('imagesSet/item')
    assert item.findtext('imageLocation') == \
        'bundles/img/disk.img.manifest.xml'
    assert item.findtext('isPublic') == 'false'
    _meta, chunks = local.LocalImageService().get_data(None, internal)
    assert b''.join(chunks) == payload

    # Another project cannot register from this bucket.
    ec2.error(users['bob'], 'RegisterImage', 400, 'InvalidAMIID.NotFound',
              ImageLocation='bundles/img/disk.img.manifest.xml')


def test_register_bundle_with_a_wrong_key_fails(ec2, users, cloud):
    crypto.ensure_ca()
    manifest, parts = _bundle(b'x' * 1000)
    store = s3store.Store(FLAGS.buckets_path)
    store.create_bucket('bundles', 'proj1')
    store.put_object('bundles', 'disk.img.manifest.xml', [manifest])
    # Corrupt ciphertext: the padding check at the end fails.
    store.put_object('bundles', 'disk.img.part.0', [parts[0]])
    store.put_object('bundles', 'disk.img.part.1', [b'\0' * 16])
    root = ec2.ok(users['alice1'], 'RegisterImage',
                  ImageLocation='bundles/disk.img.manifest.xml')
    image_id = root.findtext('imageId')

    def state():
        root = ec2.ok(users['alice1'], 'DescribeImages',
                      **{'ImageId.1': image_id})
        return root.findtext('imagesSet/item/imageState')
    for _ in range(200):
        if state() != 'pending':
            break
        eventlet.sleep(0.05)
    assert state() == 'failed'
