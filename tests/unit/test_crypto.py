"""nova.crypto: the CA, user certificates, revocation, key pairs, bundles."""

import multiprocessing
import os
import shutil
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes
from cryptography.x509 import verification

from nova import crypto
from nova import exception
from nova import flags

FLAGS = flags.FLAGS


@pytest.fixture
def state(tmp_path, monkeypatch):
    """A state_path of its own, and a fake certificates table."""
    FLAGS.state_path = str(tmp_path)
    records = []
    monkeypatch.setattr(crypto, '_record_certificate',
                        lambda user_id, project_id, file_name: records.append(
                            {'user_id': user_id, 'project_id': project_id,
                             'file_name': file_name}))

    def certificates(user_id=None, project_id=None):
        return [r for r in records
                if user_id in (None, r['user_id'])
                and project_id in (None, r['project_id'])]
    monkeypatch.setattr(crypto, '_certificates', certificates)
    return records


def _cert(pem):
    return x509.load_pem_x509_certificate(pem.encode()
                                          if isinstance(pem, str) else pem)


def _verify_chain(leaf_pem, chain_pems, root_pem):
    """Path validation by cryptography: RFC 5280 with the web-PKI policy,
    except that (like EC2 X.509 certificates) ours carry no subjectAltName."""
    store = verification.Store([_cert(root_pem)])
    ee_policy = verification.ExtensionPolicy.webpki_defaults_ee() \
        .may_be_present(x509.SubjectAlternativeName,
                        verification.Criticality.AGNOSTIC, None)
    verifier = verification.PolicyBuilder().store(store).extension_policies(
        ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
        ee_policy=ee_policy).build_client_verifier()
    return verifier.verify(_cert(leaf_pem), [_cert(p) for p in chain_pems])


def _split_pems(text):
    marker = '-----END CERTIFICATE-----'
    return [part.lstrip('\n') + marker + '\n' for part in text.split(marker)
            if part.strip()]


# -- the root CA ------------------------------------------------------------------

def test_ensure_ca_is_idempotent(state, tmp_path):
    folder = crypto.ensure_ca()
    assert folder == str(tmp_path / 'CA')
    cert_pem = (tmp_path / 'CA' / 'cacert.pem').read_bytes()
    key_file = tmp_path / 'CA' / 'private' / 'cakey.pem'
    key_pem = key_file.read_bytes()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    crypto.ensure_ca()
    assert (tmp_path / 'CA' / 'cacert.pem').read_bytes() == cert_pem
    assert key_file.read_bytes() == key_pem

    cert = _cert(cert_pem)
    key = serialization.load_pem_private_key(key_pem, None)
    assert cert.public_key() == key.public_key()
    assert key.key_size >= 2048
    assert cert.extensions.get_extension_for_class(
        x509.BasicConstraints).value.ca
    assert crypto.fetch_ca() == cert_pem.decode()
    crl = x509.load_pem_x509_crl(crypto.fetch_crl().encode())
    assert crl.is_signature_valid(cert.public_key()) and len(crl) == 0


def _race_ensure_ca(state_path, barrier):
    FLAGS.state_path = state_path
    barrier.wait(10)
    crypto.ensure_ca()


def test_concurrent_creation_leaves_one_matching_ca(tmp_path):
    ctx = multiprocessing.get_context('fork')
    barrier = ctx.Barrier(3)
    procs = [ctx.Process(target=_race_ensure_ca, args=(str(tmp_path), barrier))
             for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    FLAGS.state_path = str(tmp_path)
    key = serialization.load_pem_private_key(
        (tmp_path / 'CA' / 'private' / 'cakey.pem').read_bytes(), None)
    assert _cert(crypto.fetch_ca()).public_key() == key.public_key()
    assert not [n for n in os.listdir(tmp_path / 'CA') if n.startswith('.tmp')]


# -- user certificates ----------------------------------------------------------

def test_user_cert_signed_by_root_and_recorded(state):
    key_pem, cert_pem = crypto.generate_x509_cert('alice', 'proj1')
    cert = _cert(cert_pem)
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    assert cert.public_key() == key.public_key()
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0]
    assert cn.value.startswith('proj1-alice-')
    _verify_chain(cert_pem, [], crypto.fetch_ca())
    assert state == [{'user_id': 'alice', 'project_id': 'proj1',
                      'file_name': '%x.pem' % cert.serial_number}]
    # A certificate from some other CA does not verify against ours.
    FLAGS.ca_path = FLAGS.state_path + '/otherCA'
    _key, stranger = crypto.generate_x509_cert('mallory', 'proj1')
    FLAGS.ca_path = '$state_path/CA'
    with pytest.raises(verification.VerificationError):
        _verify_chain(stranger, [], crypto.fetch_ca())


def test_project_ca_chain(state, tmp_path):
    FLAGS.use_project_ca = True
    key_pem, cert_pem = crypto.generate_x509_cert('bob', 'proj2')
    project_ca = (tmp_path / 'CA' / 'projects' / 'proj2' /
                  'cacert.pem').read_text()
    root = (tmp_path / 'CA' / 'cacert.pem').read_text()
    assert _cert(cert_pem).issuer == _cert(project_ca).subject
    assert _cert(project_ca).issuer == _cert(root).subject
    assert _split_pems(crypto.fetch_ca('proj2')) == [project_ca, root]
    assert crypto.fetch_ca('proj2', chain=False) == project_ca
    chain = _verify_chain(cert_pem, [project_ca], root)
    assert len(chain.chain) == 3
    # Without the intermediate the leaf does not reach the root.
    with pytest.raises(verification.VerificationError):
        _verify_chain(cert_pem, [], root)


def test_ids_cannot_escape_paths_or_subject_fields(state):
    for bad in ('../x', 'a/b', '', 'x' * 300, 'a b'):
        with pytest.raises(exception.InvalidInput):
            crypto.generate_x509_cert('alice', bad)
        with pytest.raises(exception.InvalidInput):
            crypto.generate_x509_cert(bad, 'proj')
    name = crypto.subject_from_template('/O=Org/CN=%(user)s',
                                        user='x/CN=evil/O=other')
    assert len(name) == 2
    assert name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value \
        == 'x/CN=evil/O=other'
    with pytest.raises(exception.InvalidInput):
        crypto.subject_from_template('/XX=1/CN=a')


# -- revocation -------------------------------------------------------------------

def _serials(crl_pem):
    return {r.serial_number for r in x509.load_pem_x509_crl(crl_pem.encode())}


def test_revoke_cert_updates_signed_crl(state):
    _k, cert_a = crypto.generate_x509_cert('alice', 'proj1')
    _k, cert_b = crypto.generate_x509_cert('bob', 'proj1')
    crypto.revoke_cert('proj1', state[0]['file_name'])
    crypto.revoke_cert('proj1', state[0]['file_name'])   # twice is harmless
    crl = x509.load_pem_x509_crl(crypto.fetch_crl().encode())
    assert crl.is_signature_valid(_cert(crypto.fetch_ca()).public_key())
    assert _serials(crypto.fetch_crl()) == {_cert(cert_a).serial_number}
    assert crypto.is_revoked(cert_a) and not crypto.is_revoked(cert_b)
    with pytest.raises(exception.CertificateNotFound):
        crypto.revoke_cert('proj1', 'abc123.pem')
    with pytest.raises(exception.InvalidInput):
        crypto.revoke_cert('proj1', '../../etc/passwd')


def test_revoke_by_user_project_and_both(state):
    certs = {}
    for user, project in [('u1', 'p1'), ('u1', 'p2'), ('u2', 'p1'),
                          ('u2', 'p2')]:
        certs[user, project] = _cert(
            crypto.generate_x509_cert(user, project)[1]).serial_number
    crypto.revoke_certs_by_user_and_project('u2', 'p2')
    assert _serials(crypto.fetch_crl()) == {certs['u2', 'p2']}
    crypto.revoke_certs_by_user('u1')
    assert _serials(crypto.fetch_crl()) == {certs['u2', 'p2'], certs['u1', 'p1'],
                                            certs['u1', 'p2']}
    crypto.revoke_certs_by_project('p1')
    assert _serials(crypto.fetch_crl()) == set(certs.values())


def test_project_ca_revocation_goes_to_project_crl(state):
    FLAGS.use_project_ca = True
    _k, cert = crypto.generate_x509_cert('carol', 'proj3')
    crypto.revoke_certs_by_user('carol')
    assert _serials(crypto.fetch_crl('proj3')) == {_cert(cert).serial_number}
    FLAGS.use_project_ca = False
    assert _serials(crypto.fetch_crl()) == set()


@pytest.mark.skipif(not shutil.which('openssl'), reason='no openssl binary')
def test_openssl_agrees_on_chain_and_revocation(state, tmp_path):
    _k, cert = crypto.generate_x509_cert('dave', 'proj1')
    cert_file = tmp_path / 'cert.pem'
    cert_file.write_text(cert)
    ca_dir = tmp_path / 'CA'

    def openssl_verify():
        return subprocess.run(
            ['openssl', 'verify', '-crl_check', '-CAfile',
             str(ca_dir / 'cacert.pem'), '-CRLfile', str(ca_dir / 'crl.pem'),
             str(cert_file)], capture_output=True, text=True, timeout=60)

    ok = openssl_verify()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    crypto.revoke_cert('proj1', state[0]['file_name'])
    revoked = openssl_verify()
    assert revoked.returncode != 0
    assert 'revoked' in (revoked.stdout + revoked.stderr)


# -- SSH key pairs ----------------------------------------------------------------

def _ssh_keygen_md5(tmp_path, public_key):
    path = tmp_path / 'key.pub'
    path.write_text(public_key + '\n')
    out = subprocess.run(['ssh-keygen', '-l', '-E', 'md5', '-f', str(path)],
                         capture_output=True, text=True, timeout=60,
                         check=True).stdout
    return out.split()[1].split(':', 1)[1]


def test_generate_key_pair():
    private_pem, public, fingerprint = crypto.generate_key_pair()
    assert private_pem.startswith('-----BEGIN RSA PRIVATE KEY-----')
    key = serialization.load_pem_private_key(private_pem.encode(), None)
    assert key.key_size == 2048
    assert public == key.public_key().public_bytes(
        serialization.Encoding.OpenSSH,
        serialization.PublicFormat.OpenSSH).decode()
    assert len(fingerprint.split(':')) == 16
    assert crypto.generate_fingerprint(public + ' me@host') == fingerprint
    with pytest.raises(exception.InvalidInput):
        crypto.generate_key_pair(bits=1024)


@pytest.mark.skipif(not shutil.which('ssh-keygen'), reason='no ssh-keygen')
def test_fingerprints_match_ssh_keygen(tmp_path):
    _private, rsa_public, fingerprint = crypto.generate_key_pair()
    assert _ssh_keygen_md5(tmp_path, rsa_public) == fingerprint
    ed_public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH,
        serialization.PublicFormat.OpenSSH).decode() + ' imported'
    assert _ssh_keygen_md5(tmp_path, ed_public) == \
        crypto.generate_fingerprint(ed_public)


@pytest.mark.parametrize('bad', [
    '', 'ssh-rsa', 'garbage', 'ssh-rsa !!!notbase64!!!',
    'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ',          # truncated blob
    'ssh-dss AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx',        # type mismatch
    '-----BEGIN PUBLIC KEY-----',
])
def test_invalid_public_keys(bad):
    with pytest.raises(exception.InvalidInput):
        crypto.generate_fingerprint(bad)


# -- EC2 bundles --------------------------------------------------------------------

def test_bundle_key_round_trip(state, tmp_path):
    crypto.ensure_ca()
    ca_public = _cert(crypto.fetch_ca()).public_key()
    aes_key, iv = os.urandom(16), os.urandom(16)
    # What ec2-bundle-image writes: the hex text, RSA-encrypted, in hex.
    enc_key = ca_public.encrypt(aes_key.hex().encode(),
                                padding.PKCS1v15()).hex()
    enc_iv = ca_public.encrypt(iv.hex().encode(), padding.PKCS1v15()).hex()
    assert crypto.decrypt_bundle_keys(enc_key, enc_iv) == (aes_key, iv)

    plaintext = os.urandom(100000) + b'tail'
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()

    assert crypto.decrypt_aes_cbc(ciphertext, aes_key, iv) == plaintext
    assert crypto.decrypt_aes_cbc(ciphertext, aes_key.hex(), iv.hex()) \
        == plaintext
    chunks = [ciphertext[i:i + 4097] for i in range(0, len(ciphertext), 4097)]
    assert b''.join(crypto.decrypt_aes_cbc_stream(chunks, aes_key, iv)) \
        == plaintext

    with pytest.raises(exception.InvalidInput):
        crypto.decrypt_aes_cbc(ciphertext, os.urandom(16), iv)
    with pytest.raises(exception.InvalidInput):
        crypto.decrypt_aes_cbc(ciphertext, b'short', iv)
    with pytest.raises(exception.InvalidInput):
        crypto.decrypt_bundle_key('zz' + enc_key)
    # Tampered: PKCS#1 v1.5 implicit rejection yields random bytes, which
    # are not the hex text of a key.
    with pytest.raises(exception.InvalidInput):
        crypto.decrypt_bundle_keys(enc_key[:-2] + '00', enc_iv)


def test_decrypt_with_explicit_key():
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    secret = key.public_key().encrypt(b'abc', padding.PKCS1v15()).hex()
    assert crypto.decrypt_bundle_key(secret, pem) == b'abc'
