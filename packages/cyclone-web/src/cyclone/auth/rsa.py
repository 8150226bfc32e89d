"""RSASSA-PKCS1-v1_5 signature verification with a public key (RFC 8017 §8.2.2).

    >>> key = RSAPublicKey(n=..., e=65537)                    # doctest: +SKIP
    >>> verify_pkcs1_v1_5(key, b"message", signature, "sha256")  # doctest: +SKIP
    True

This is what RS256/RS384/RS512 ID tokens need (RFC 7518 §3.3; OpenID
Connect makes RS256 mandatory for providers). It verifies only: no private
key and no secret is involved, so timing does not leak anything. The one
classic pitfall — parsing the decrypted block leniently, which let
Bleichenbacher forge signatures for e=3 keys in 2006 — is avoided the way
RFC 8017 §8.2.2 step 3-4 prescribes: the expected encoded message is built
from the hash and compared byte for byte with the whole decrypted block.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

__all__ = ["MIN_KEY_BITS", "RSAPublicKey", "verify_pkcs1_v1_5"]

#: RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms."
MIN_KEY_BITS = 2048

#: DER encoding of the DigestInfo prefix for each hash (RFC 8017 §9.2, note 1).
_DIGEST_INFO_PREFIX = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}


@dataclass(frozen=True)
class RSAPublicKey:
    """An RSA public key: modulus ``n`` and public exponent ``e``."""

    n: int
    e: int

    @property
    def bits(self) -> int:
        return self.n.bit_length()


def _expected_encoding(message: bytes, hash_name: str, length: int) -> bytes | None:
    """EMSA-PKCS1-v1_5-ENCODE (RFC 8017 §9.2), or None if ``length`` is too short."""
    digest_info = _DIGEST_INFO_PREFIX[hash_name] + hashlib.new(hash_name, message).digest()
    padding = length - len(digest_info) - 3
    if padding < 8:
        return None
    return b"\x00\x01" + b"\xff" * padding + b"\x00" + digest_info


def verify_pkcs1_v1_5(key: RSAPublicKey, message: bytes, signature: bytes, hash_name: str) -> bool:
    """True if ``signature`` is ``key``'s RSASSA-PKCS1-v1_5 signature of ``message``.

    ``hash_name`` is ``sha256``, ``sha384`` or ``sha512``. Keys shorter than
    `MIN_KEY_BITS` or with an even or tiny exponent are refused (ValueError).
    """
    if hash_name not in _DIGEST_INFO_PREFIX:
        raise ValueError(f"unsupported hash for RSASSA-PKCS1-v1_5: {hash_name!r}")
    if key.bits < MIN_KEY_BITS:
        raise ValueError(f"RSA key of {key.bits} bits is too short (minimum {MIN_KEY_BITS})")
    if key.e < 3 or key.e % 2 == 0:
        raise ValueError(f"invalid RSA public exponent {key.e}")
    length = (key.bits + 7) // 8
    if len(signature) != length:
        return False
    s = int.from_bytes(signature, "big")
    if s >= key.n:
        return False
    decrypted = pow(s, key.e, key.n).to_bytes(length, "big")
    expected = _expected_encoding(message, hash_name, length)
    return expected is not None and hmac.compare_digest(decrypted, expected)
