"""A throw-away self-signed TLS certificate for tests over ``https://`` loopback.

    from cyclone.testing.selfsigned import self_signed_files

    certfile, keyfile = self_signed_files()  # PEM files, valid for localhost and 127.0.0.1

Tornado's `AsyncHTTPSTestCase` serves a certificate bundled with Tornado; here one
is made on first use (an EC P-256 key, valid for a day) and kept in a temporary
folder that is removed when the process exits, so no key ships in a wheel.
Needs ``cryptography``, which ``pip install 'cyclone-core[tls]'`` brings.
"""

from __future__ import annotations

import atexit
import datetime
import ipaddress
import shutil
import tempfile
from pathlib import Path

__all__ = ["self_signed_files"]

_files: tuple[str, str] | None = None


def self_signed_files() -> tuple[str, str]:
    """Paths of a PEM certificate and its PEM private key, made once per process."""
    global _files
    if _files is None:
        _files = _write_self_signed()
    return _files


def _write_self_signed() -> tuple[str, str]:
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError as missing:
        raise ImportError(
            "a test certificate needs cryptography: pip install 'cyclone-core[tls]'"
        ) from missing
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="cyclone-test-tls-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    certfile, keyfile = folder / "localhost.crt", folder / "localhost.key"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    keyfile.chmod(0o600)
    return str(certfile), str(keyfile)
