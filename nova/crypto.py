"""The cloud's certificate authority, user certificates and SSH key pairs.

Everything is done in-process with the ``cryptography`` library; the original
shelled out to ``openssl`` and ``ssh-keygen`` through shell scripts kept in
the CA directory.

Layout under ``ca_path`` (the root CA) and ``ca_path/projects/<id>/`` (a
project's intermediate CA when ``use_project_ca`` is on)::

    cacert.pem            the CA certificate           (flag ca_file)
    private/cakey.pem     its private key, mode 0600   (flag key_file)
    crl.pem               its revocation list          (flag crl_file)
    newcerts/<serial>.pem every certificate it issued

Files are written to a temporary name and renamed into place, and creation
and revocation hold an exclusive lock on ``<ca dir>/.lock``, so two processes
racing to create the CA end up with one matching key and certificate and
concurrent revocations are not lost.

Deliberate differences from the original: keys are 2048 bits (it used 1024),
certificates are SHA-256 signed, the subject template is filled per field so
a user or project name cannot add fields to the subject, and serial numbers
are random (no shared serial file to race on).
"""

import base64
import contextlib
import datetime
import fcntl
import hashlib
import os
import re
import tempfile

from cryptography import exceptions as crypto_exceptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID

from nova import exception
from nova import flags
from nova import log as logging
from nova import utils

FLAGS = flags.FLAGS
LOG = logging.getLogger('nova.crypto')

flags.DEFINE_string('ca_file', 'cacert.pem', 'file name of the CA certificate')
flags.DEFINE_string('key_file', 'private/cakey.pem',
                    'file name of the CA private key')
flags.DEFINE_string('crl_file', 'crl.pem',
                    'file name of the certificate revocation list')
flags.DEFINE_string('keys_path', '$state_path/keys',
                    'where nova keeps keys')
flags.DEFINE_string('ca_path', '$state_path/CA',
                    'where the certificate authority lives')
flags.DEFINE_bool('use_project_ca', False,
                  'sign user certificates with a CA per project')
flags.DEFINE_string('ca_cert_subject',
                    '/C=US/ST=California/O=OpenStack/OU=NovaDev/'
                    'CN=nova-root-ca',
                    'subject of the root CA certificate')
flags.DEFINE_string('user_cert_subject',
                    '/C=US/ST=California/O=OpenStack/OU=NovaDev/'
                    'CN=%(project)s-%(user)s-%(timestamp)s',
                    'subject of user certificates; %(project)s, %(user)s '
                    'and %(timestamp)s are filled in')
flags.DEFINE_string('project_cert_subject',
                    '/C=US/ST=California/O=OpenStack/OU=NovaDev/'
                    'CN=project-ca-%(project)s-%(timestamp)s',
                    'subject of project CA certificates')
flags.DEFINE_string('vpn_cert_subject',
                    '/C=US/ST=California/O=OpenStack/OU=NovaDev/'
                    'CN=project-vpn-%(project)s-%(timestamp)s',
                    'subject of project VPN server certificates')
flags.DEFINE_integer('cert_key_size', 2048, 'bits of the RSA keys nova makes',
                     lower_bound=2048)
flags.DEFINE_integer('ca_valid_days', 3650, 'validity of CA certificates')
flags.DEFINE_integer('cert_valid_days', 365, 'validity of user certificates')
flags.DEFINE_integer('crl_valid_days', 365,
                     'days until a CRL must be re-issued (it is re-issued '
                     'on every revocation)')

_SAFE_ID = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.@-]{0,254}$')

_NAME_OIDS = {
    'C': NameOID.COUNTRY_NAME,
    'ST': NameOID.STATE_OR_PROVINCE_NAME,
    'L': NameOID.LOCALITY_NAME,
    'O': NameOID.ORGANIZATION_NAME,
    'OU': NameOID.ORGANIZATIONAL_UNIT_NAME,
    'CN': NameOID.COMMON_NAME,
    'emailAddress': NameOID.EMAIL_ADDRESS,
}


# -- paths and files -----------------------------------------------------------

def ca_folder(project_id=None):
    if project_id is None:
        return FLAGS.ca_path
    _check_id('project', project_id)
    return os.path.join(FLAGS.ca_path, 'projects', project_id)


def ca_path(project_id=None):
    return os.path.join(ca_folder(project_id), FLAGS.ca_file)


def key_path(project_id=None):
    return os.path.join(ca_folder(project_id), FLAGS.key_file)


def crl_path(project_id=None):
    return os.path.join(ca_folder(project_id), FLAGS.crl_file)


def _check_id(kind, value):
    """Ids become file names and certificate subjects: keep them plain."""
    if not isinstance(value, str) or not _SAFE_ID.match(value):
        raise exception.InvalidInput(
            reason='%s id %r may only hold letters, digits and "_.@-"'
            % (kind, value))


def _write_atomic(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path),
                               prefix='.tmp-' + os.path.basename(path))
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'wb') as f:
            f.write(data if isinstance(data, bytes) else data.encode())
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, '.lock'), 'a') as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


# -- names and keys ------------------------------------------------------------

def _timestamp():
    return utils.utcnow().strftime('%Y-%m-%dT%H-%M-%SZ')


def subject_from_template(template, **values):
    """An x509.Name from ``/C=US/O=Org/CN=%(user)s``-style text.

    The template is split into fields first and only then filled in, so a
    value holding ``/`` or ``=`` stays inside its own field.
    """
    attributes = []
    for part in template.strip('/').split('/'):
        if not part:
            continue
        key, sep, value = part.partition('=')
        if not sep or key not in _NAME_OIDS:
            raise exception.InvalidInput(
                reason='bad subject field %r in %r' % (part, template))
        try:
            value = value % values
        except (KeyError, ValueError, TypeError) as e:
            raise exception.InvalidInput(
                reason='bad subject template %r: %s' % (template, e)) from None
        if key == 'CN':
            value = value[:64]     # X.520 upper bound of a common name
        attributes.append(x509.NameAttribute(_NAME_OIDS[key], value))
    return x509.Name(attributes)


def _new_rsa_key(bits=None):
    return rsa.generate_private_key(public_exponent=65537,
                                    key_size=bits or FLAGS.cert_key_size)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _load_ca(project_id=None):
    key = serialization.load_pem_private_key(_read(key_path(project_id)),
                                             password=None)
    cert = x509.load_pem_x509_certificate(_read(ca_path(project_id)))
    return key, cert


def _ca_certificate(subject, key, issuer_name, issuer_key, path_length):
    now = utils.utcnow()
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer_name)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(
                   days=FLAGS.ca_valid_days))
               .add_extension(x509.BasicConstraints(
                   ca=True, path_length=path_length), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, content_commitment=False,
                   key_encipherment=False, data_encipherment=False,
                   key_agreement=False, key_cert_sign=True, crl_sign=True,
                   encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                   key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer_key.public_key()), critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


def _empty_crl(project_id, key, cert):
    _write_atomic(crl_path(project_id), _sign_crl(key, cert, []))


# -- the certificate authorities -----------------------------------------------

def ensure_ca():
    """Create the root CA under ca_path unless it exists; return its folder."""
    folder = ca_folder()
    if os.path.exists(ca_path()) and os.path.exists(key_path()):
        return folder
    with _locked(folder):
        if os.path.exists(ca_path()) and os.path.exists(key_path()):
            return folder
        LOG.info('creating the root certificate authority in %s', folder)
        key = _new_rsa_key()
        subject = subject_from_template(FLAGS.ca_cert_subject,
                                        timestamp=_timestamp())
        cert = _ca_certificate(subject, key, subject, key, path_length=None)
        # Key first: the certificate's presence is what marks the CA ready.
        _write_atomic(key_path(), _key_pem(key), mode=0o600)
        _write_atomic(ca_path(), _cert_pem(cert))
        _empty_crl(None, key, cert)
    return folder


def ensure_project_ca(project_id):
    """Create the intermediate CA of a project (signed by the root)."""
    folder = ca_folder(project_id)
    if os.path.exists(ca_path(project_id)) \
            and os.path.exists(key_path(project_id)):
        return folder
    ensure_ca()
    with _locked(folder):
        if os.path.exists(ca_path(project_id)) \
                and os.path.exists(key_path(project_id)):
            return folder
        LOG.info('creating the certificate authority of project %s',
                 project_id)
        root_key, root_cert = _load_ca()
        key = _new_rsa_key()
        subject = subject_from_template(FLAGS.project_cert_subject,
                                        project=project_id,
                                        timestamp=_timestamp())
        cert = _ca_certificate(subject, key, root_cert.subject, root_key,
                               path_length=0)
        _write_atomic(key_path(project_id), _key_pem(key), mode=0o600)
        _write_atomic(ca_path(project_id), _cert_pem(cert))
        _empty_crl(project_id, key, cert)
    return folder


def fetch_ca(project_id=None, chain=True):
    """PEM text of the CA that signs certificates for the project.

    With ``use_project_ca`` and a project, that project's CA (followed by the
    root CA when ``chain``); else the root CA.
    """
    if project_id is None or not FLAGS.use_project_ca:
        ensure_ca()
        return _read(ca_path()).decode()
    ensure_project_ca(project_id)
    text = _read(ca_path(project_id)).decode()
    if chain:
        text += _read(ca_path()).decode()
    return text


def fetch_crl(project_id=None):
    """PEM text of the revocation list of the root or a project CA."""
    if project_id is None or not FLAGS.use_project_ca:
        ensure_ca()
        return _read(crl_path()).decode()
    ensure_project_ca(project_id)
    return _read(crl_path(project_id)).decode()


def _issue(subject, public_key, issuer_project, extensions):
    """Sign a certificate with the root or a project CA and file it."""
    ca_key, ca_cert = _load_ca(issuer_project)
    now = utils.utcnow()
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(ca_cert.subject)
               .public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(
                   days=FLAGS.cert_valid_days))
               .add_extension(x509.BasicConstraints(ca=False,
                                                    path_length=None),
                              critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                   public_key), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca_key.public_key()), critical=False))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    cert = builder.sign(ca_key, hashes.SHA256())
    file_name = '%x.pem' % cert.serial_number
    _write_atomic(os.path.join(ca_folder(issuer_project), 'newcerts',
                               file_name), _cert_pem(cert))
    return cert, file_name


def _client_extensions(server=False):
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server \
        else ExtendedKeyUsageOID.CLIENT_AUTH
    return [(x509.KeyUsage(
        digital_signature=True, content_commitment=False,
        key_encipherment=True, data_encipherment=False, key_agreement=False,
        key_cert_sign=False, crl_sign=False, encipher_only=False,
        decipher_only=False), True),
        (x509.ExtendedKeyUsage([usage]), False)]


def generate_x509_cert(user_id, project_id, bits=None):
    """A new key and certificate for a user in a project: (key PEM, cert PEM).

    Signed by the project's CA when ``use_project_ca``, else by the root CA,
    and recorded with ``db.certificate_create``.
    """
    _check_id('user', user_id)
    _check_id('project', project_id)
    issuer = project_id if FLAGS.use_project_ca else None
    if issuer is None:
        ensure_ca()
    else:
        ensure_project_ca(project_id)
    key = _new_rsa_key(bits)
    subject = subject_from_template(FLAGS.user_cert_subject,
                                    project=project_id, user=user_id,
                                    timestamp=_timestamp())
    cert, file_name = _issue(subject, key.public_key(), issuer,
                             _client_extensions())
    _record_certificate(user_id, project_id, file_name)
    LOG.info('issued certificate %s to user %s in project %s', file_name,
             user_id, project_id)
    return _key_pem(key).decode(), _cert_pem(cert).decode()


def generate_vpn_cert(project_id, bits=None):
    """Key and server certificate of a project's VPN: (key PEM, cert PEM)."""
    _check_id('project', project_id)
    issuer = project_id if FLAGS.use_project_ca else None
    if issuer is None:
        ensure_ca()
    else:
        ensure_project_ca(project_id)
    key = _new_rsa_key(bits)
    subject = subject_from_template(FLAGS.vpn_cert_subject,
                                    project=project_id,
                                    timestamp=_timestamp())
    cert, _file_name = _issue(subject, key.public_key(), issuer,
                              _client_extensions(server=True))
    return _key_pem(key).decode(), _cert_pem(cert).decode()


# -- revocation ----------------------------------------------------------------

def _sign_crl(ca_key, ca_cert, revoked):
    now = utils.utcnow()
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(ca_cert.subject)
               .last_update(now)
               .next_update(now + datetime.timedelta(
                   days=FLAGS.crl_valid_days)))
    for entry in revoked:
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(
        serialization.Encoding.PEM)


def _issuer_of(project_id, file_name):
    """The CA (None = root) whose newcerts folder holds file_name."""
    if not re.match(r'^[0-9a-f]+\.pem$', file_name or ''):
        raise exception.InvalidInput(
            reason='%r is not a certificate file name' % (file_name,))
    candidates = []
    if project_id is not None:
        candidates.append(project_id)
    candidates.append(None)
    for issuer in candidates:
        path = os.path.join(ca_folder(issuer), 'newcerts', file_name)
        if os.path.exists(path):
            return issuer, path
    raise exception.CertificateNotFound(certificate_id=file_name)


def revoke_cert(project_id, file_name):
    """Add one issued certificate to its CA's revocation list."""
    issuer, path = _issuer_of(project_id, file_name)
    cert = x509.load_pem_x509_certificate(_read(path))
    with _locked(ca_folder(issuer)):
        ca_key, ca_cert = _load_ca(issuer)
        revoked = []
        if os.path.exists(crl_path(issuer)):
            crl = x509.load_pem_x509_crl(_read(crl_path(issuer)))
            if crl.get_revoked_certificate_by_serial_number(
                    cert.serial_number) is not None:
                return
            revoked = list(crl)
        revoked.append(x509.RevokedCertificateBuilder()
                       .serial_number(cert.serial_number)
                       .revocation_date(utils.utcnow())
                       .build())
        _write_atomic(crl_path(issuer), _sign_crl(ca_key, ca_cert, revoked))
    LOG.info('revoked certificate %s (project %s)', file_name, project_id)


def revoke_certs_by_user(user_id):
    for cert in _certificates(user_id=user_id):
        revoke_cert(cert['project_id'], cert['file_name'])


def revoke_certs_by_project(project_id):
    for cert in _certificates(project_id=project_id):
        revoke_cert(cert['project_id'], cert['file_name'])


def revoke_certs_by_user_and_project(user_id, project_id):
    for cert in _certificates(user_id=user_id, project_id=project_id):
        revoke_cert(cert['project_id'], cert['file_name'])


def is_revoked(cert_pem, project_id=None):
    """True when the certificate is on the CRL of the CA that issued it."""
    cert = x509.load_pem_x509_certificate(_bytes(cert_pem))
    issuer = project_id if FLAGS.use_project_ca else None
    for folder_project in ([issuer, None] if issuer else [None]):
        path = crl_path(folder_project)
        if not os.path.exists(path):
            continue
        crl = x509.load_pem_x509_crl(_read(path))
        if crl.issuer == cert.issuer:
            return crl.get_revoked_certificate_by_serial_number(
                cert.serial_number) is not None
    return False


# The certificate table lives in nova.db (imported late: crypto is used by
# tools that have no database, and nova.db imports a lot).

def _record_certificate(user_id, project_id, file_name):
    from nova import context
    from nova.db import api as db
    db.certificate_create(context.get_admin_context(),
                          {'user_id': user_id, 'project_id': project_id,
                           'file_name': file_name})


def _certificates(user_id=None, project_id=None):
    from nova import context
    from nova.db import api as db
    ctxt = context.get_admin_context()
    if user_id is not None and project_id is not None:
        return db.certificate_get_all_by_user_and_project(ctxt, user_id,
                                                          project_id)
    if user_id is not None:
        return db.certificate_get_all_by_user(ctxt, user_id)
    return db.certificate_get_all_by_project(ctxt, project_id)


# -- SSH key pairs ---------------------------------------------------------------

def generate_key_pair(bits=2048):
    """A new RSA key pair: (private key PEM, OpenSSH public key, fingerprint).

    The private key is in the traditional ``BEGIN RSA PRIVATE KEY`` form that
    EC2's CreateKeyPair returns and every ssh client reads.
    """
    if bits < 2048:
        raise exception.InvalidInput(reason='key pairs need at least 2048 bits')
    key = _new_rsa_key(bits)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH,
        serialization.PublicFormat.OpenSSH).decode()
    return _key_pem(key).decode(), public, generate_fingerprint(public)


def generate_fingerprint(public_key):
    """MD5 of the key blob in colon hex, as ``ssh-keygen -l -E md5`` shows.

    Raises InvalidInput for anything that is not an OpenSSH public key.
    """
    text = public_key.decode() if isinstance(public_key, bytes) else public_key
    fields = (text or '').strip().split()
    if len(fields) < 2:
        raise exception.InvalidInput(reason='not an OpenSSH public key')
    try:
        serialization.load_ssh_public_key(
            ('%s %s' % (fields[0], fields[1])).encode())
        blob = base64.b64decode(fields[1], validate=True)
    except (ValueError, crypto_exceptions.UnsupportedAlgorithm) as e:
        # binascii.Error (bad base64) is a ValueError too.
        raise exception.InvalidInput(
            reason='not an OpenSSH public key: %s' % e) from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


# -- EC2 image bundles -------------------------------------------------------------

def decrypt_bundle_key(encrypted_hex, ca_private_key_pem=None):
    """RSA PKCS#1 v1.5 decryption of a hex-encoded bundle key or IV.

    ``ec2-bundle-image`` encrypts the AES key and IV (each as hex text) with
    the cloud's certificate; this returns the decrypted bytes (that hex
    text).  The key is the root CA's unless one is given.  PKCS#1 v1.5 is
    what the bundle format uses; the result never reaches a client, so no
    padding oracle is exposed.
    """
    if ca_private_key_pem is None:
        ca_private_key_pem = _read(key_path())
    key = serialization.load_pem_private_key(_bytes(ca_private_key_pem),
                                             password=None)
    try:
        data = bytes.fromhex(encrypted_hex.strip())
        return key.decrypt(data, padding.PKCS1v15())
    except ValueError:
        raise exception.InvalidInput(
            reason='the bundle key cannot be decrypted') from None


def decrypt_bundle_keys(encrypted_key_hex, encrypted_iv_hex,
                        ca_private_key_pem=None):
    """The (key, iv) bytes of a bundle manifest's ec2_encrypted_key/_iv."""
    try:
        key = bytes.fromhex(decrypt_bundle_key(
            encrypted_key_hex, ca_private_key_pem).decode('ascii').strip())
        iv = bytes.fromhex(decrypt_bundle_key(
            encrypted_iv_hex, ca_private_key_pem).decode('ascii').strip())
    except (UnicodeDecodeError, ValueError):
        raise exception.InvalidInput(
            reason='the bundle key or IV is not hex text') from None
    return key, iv


class AESCBCDecryptor:
    """Incremental AES-CBC decryption with PKCS#7 unpadding at the end.

    ``update(chunk)`` returns the plaintext available so far and
    ``finalize()`` the rest; memory stays flat whatever the size.
    """

    def __init__(self, key, iv):
        key, iv = _bytes_or_hex(key), _bytes_or_hex(iv)
        if len(key) not in (16, 24, 32) or len(iv) != 16:
            raise exception.InvalidInput(
                reason='AES needs a 16, 24 or 32 byte key and a 16 byte IV')
        self._decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        self._unpadder = sym_padding.PKCS7(128).unpadder()

    def update(self, chunk):
        return self._unpadder.update(self._decryptor.update(chunk))

    def finalize(self):
        try:
            tail = self._unpadder.update(self._decryptor.finalize())
            return tail + self._unpadder.finalize()
        except ValueError:
            raise exception.InvalidInput(
                reason='decryption failed: wrong key or corrupt data') from None


def decrypt_aes_cbc(data, key, iv):
    """Decrypt a whole AES-CBC (PKCS#7 padded) byte string."""
    decryptor = AESCBCDecryptor(key, iv)
    return decryptor.update(data) + decryptor.finalize()


def decrypt_aes_cbc_stream(chunks, key, iv):
    """Yield the plaintext of an iterable of AES-CBC ciphertext chunks."""
    decryptor = AESCBCDecryptor(key, iv)
    for chunk in chunks:
        out = decryptor.update(chunk)
        if out:
            yield out
    tail = decryptor.finalize()
    if tail:
        yield tail


def _bytes_or_hex(value):
    if isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise exception.InvalidInput(
                reason='expected hex text or bytes') from None
    return value


def _bytes(value):
    return value if isinstance(value, bytes) else value.encode()
