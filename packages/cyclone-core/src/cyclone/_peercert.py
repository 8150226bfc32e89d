"""A client's TLS certificate in the shapes ``ssl.SSLSocket.getpeercert()`` gives.

    certificate = transport.getPeerCertificate()   # pyOpenSSL, under Twisted
    as_der(certificate)     # b"0\\x82..."
    as_dict(certificate)    # {"subject": ((("commonName", "client"),),), ...}

Tornado's ``HTTPServerRequest.get_ssl_certificate`` returns what the
standard library's ``ssl`` module makes of the certificate; Twisted hands
us pyOpenSSL objects instead, so this module rebuilds that dict with
`cryptography` (imported here, on first use: only a TLS server needs it).
"""

from __future__ import annotations

from typing import Any

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

__all__ = ["as_der", "as_dict"]

#: ``getpeercert()``'s names for the general-name types of subjectAltName.
_GENERAL_NAME_LABELS = {
    "DNSName": "DNS",
    "RFC822Name": "email",
    "UniformResourceIdentifier": "URI",
    "IPAddress": "IP Address",
    "RegisteredID": "Registered ID",
}


def _cryptography_certificate(certificate: Any) -> Any:
    """The `cryptography` certificate behind a pyOpenSSL ``X509`` (or the argument itself)."""
    to_cryptography = getattr(certificate, "to_cryptography", None)
    return to_cryptography() if to_cryptography is not None else certificate


def as_der(certificate: Any) -> bytes:
    """The certificate's DER encoding, as ``getpeercert(binary_form=True)`` returns."""
    from cryptography.hazmat.primitives.serialization import Encoding

    return bytes(_cryptography_certificate(certificate).public_bytes(Encoding.DER))


def _name(name: Any) -> tuple[tuple[tuple[str, str], ...], ...]:
    """A distinguished name as nested tuples of (long attribute name, value), one per RDN."""
    return tuple(
        tuple((_oid_name(attribute.oid), str(attribute.value)) for attribute in rdn)
        for rdn in name.rdns
    )


def _oid_name(oid: Any) -> str:
    """OpenSSL's long name for a known attribute (``commonName``), else the dotted OID."""
    name = getattr(oid, "_name", None)
    return name if name and name != "Unknown OID" else str(oid.dotted_string)


def _asn1_time(moment: Any) -> str:
    """``Jan  5 09:34:43 2018 GMT``: OpenSSL's ASN1_TIME_print format, as ``ssl`` shows it."""
    return f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S %Y} GMT"


def _serial_number(number: int) -> str:
    """Upper-case hex in whole bytes, as OpenSSL prints an ASN.1 INTEGER."""
    digits = f"{number:X}"
    return digits if len(digits) % 2 == 0 else "0" + digits


def _general_name(general_name: Any) -> tuple[str, Any]:
    kind = type(general_name).__name__
    if kind == "DirectoryName":
        return ("DirName", _name(general_name.value))
    label = _GENERAL_NAME_LABELS.get(kind)
    if label is None:
        return ("othername", "<unsupported>")
    value = general_name.value
    if kind == "RegisteredID":
        return (label, _oid_name(value))
    if kind == "IPAddress" and value.version == 6:
        # OpenSSL writes all eight groups, in upper-case hex without zero padding.
        packed = value.packed
        return (label, ":".join(f"{packed[i] << 8 | packed[i + 1]:X}" for i in range(0, 16, 2)))
    return (label, str(value))


def as_dict(certificate: Any) -> dict[str, Any]:
    """The certificate as ``getpeercert()`` returns it for a verified peer.

    Keys: ``subject``, ``issuer``, ``version``, ``serialNumber``,
    ``notBefore``, ``notAfter``, and when the certificate has the extension
    ``subjectAltName``, ``OCSP``, ``caIssuers`` and ``crlDistributionPoints``.
    """
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID

    cert = _cryptography_certificate(certificate)
    result: dict[str, Any] = {
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "version": cert.version.value + 1,
        "serialNumber": _serial_number(cert.serial_number),
        "notBefore": _asn1_time(cert.not_valid_before_utc),
        "notAfter": _asn1_time(cert.not_valid_after_utc),
    }
    extensions = cert.extensions
    try:
        alternative = extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        pass
    else:
        result["subjectAltName"] = tuple(_general_name(name) for name in alternative.value)
    try:
        access = extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    except x509.ExtensionNotFound:
        pass
    else:
        for method, key in (
            (AuthorityInformationAccessOID.OCSP, "OCSP"),
            (AuthorityInformationAccessOID.CA_ISSUERS, "caIssuers"),
        ):
            urls = tuple(
                str(description.access_location.value)
                for description in access.value
                if description.access_method == method
                and isinstance(description.access_location, x509.UniformResourceIdentifier)
            )
            if urls:
                result[key] = urls
    try:
        points = extensions.get_extension_for_class(x509.CRLDistributionPoints)
    except x509.ExtensionNotFound:
        pass
    else:
        urls = tuple(
            str(name.value)
            for point in points.value
            for name in point.full_name or ()
            if isinstance(name, x509.UniformResourceIdentifier)
        )
        if urls:
            result["crlDistributionPoints"] = urls
    return result
