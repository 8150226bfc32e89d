"""cyclone._peercert: a certificate shaped as ssl.getpeercert() shows it, compared with the ssl module."""

from __future__ import annotations

import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from OpenSSL import crypto

from cyclone import _peercert

SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "NZ"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Org"),
        x509.NameAttribute(NameOID.COMMON_NAME, "client one"),
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, "one@example.com"),
    ]
)


def _certificate(serial_number, *extensions):
    key = ec.generate_private_key(ec.SECP256R1())
    start = datetime.datetime(2026, 3, 5, 9, 4, 3, tzinfo=datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(SUBJECT)
        .issuer_name(SUBJECT)
        .public_key(key.public_key())
        .serial_number(serial_number)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=30))
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(key, hashes.SHA256())


def _as_ssl_module_shows_it(certificate, tmp_path):
    path = tmp_path / "certificate.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return ssl._ssl._test_decode_cert(str(path))


ALTERNATIVE_NAMES = x509.SubjectAlternativeName(
    [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("2001:db8::abcd")),
        x509.RFC822Name("one@example.com"),
        x509.UniformResourceIdentifier("https://one.example/"),
        x509.DirectoryName(SUBJECT),
        x509.RegisteredID(x509.ObjectIdentifier("1.2.3.4")),
    ]
)
ACCESS = x509.AuthorityInformationAccess(
    [
        x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP,
            x509.UniformResourceIdentifier("http://ocsp.example/"),
        ),
        x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS,
            x509.UniformResourceIdentifier("http://ca.example/ca.der"),
        ),
    ]
)
CRL = x509.CRLDistributionPoints(
    [
        x509.DistributionPoint(
            [x509.UniformResourceIdentifier("http://crl.example/a.crl")], None, None, None
        )
    ]
)


@pytest.mark.parametrize(
    "serial_number, extensions",
    [
        (0x0ABCDEF, (ALTERNATIVE_NAMES, ACCESS, CRL)),
        (1, ()),
        (2**150 + 12345, (ALTERNATIVE_NAMES,)),
    ],
    ids=["every extension", "none", "long serial"],
)
def test_as_dict_matches_what_the_ssl_module_returns(serial_number, extensions, tmp_path):
    certificate = _certificate(serial_number, *extensions)
    expected = _as_ssl_module_shows_it(certificate, tmp_path)
    assert _peercert.as_dict(certificate) == expected
    # Twisted hands over pyOpenSSL objects: the same answer from one.
    assert _peercert.as_dict(crypto.X509.from_cryptography(certificate)) == expected


def test_as_der_is_the_certificates_der_encoding():
    certificate = _certificate(7)
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert _peercert.as_der(crypto.X509.from_cryptography(certificate)) == der
    assert ssl.DER_cert_to_PEM_cert(der) == certificate.public_bytes(
        serialization.Encoding.PEM
    ).decode("ascii")
