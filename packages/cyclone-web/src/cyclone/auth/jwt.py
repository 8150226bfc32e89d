"""Signed JSON Web Tokens: decode the compact form, verify it with a JWK Set.

    >>> token = decode_compact(id_token)                    # doctest: +SKIP
    >>> verify_signature(token, jwks)                        # doctest: +SKIP
    >>> token.claims["sub"]                                  # doctest: +SKIP

Only what signed ID tokens need: JWS compact serialization (RFC 7515 §7.1)
with RS256, RS384 or RS512 (RFC 7518 §3.3) and RSA keys from a JWK Set
(RFC 7517). ``alg: none``, HMAC algorithms (whose key would be the client
secret, or an attacker's choice in an algorithm-confusion attack), and
algorithms we cannot check are refused, never skipped. Failures raise
`InvalidTokenError` (an `AuthError`, answered 403) naming what was wrong
but never echoing the token.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cyclone.auth.errors import AuthError
from cyclone.auth.rsa import RSAPublicKey, verify_pkcs1_v1_5

__all__ = [
    "MAX_TOKEN_SIZE",
    "SUPPORTED_ALGORITHMS",
    "InvalidTokenError",
    "SignedToken",
    "base64url_decode",
    "base64url_encode",
    "decode_compact",
    "find_key",
    "rsa_key_from_jwk",
    "verify_signature",
]

#: JWS algorithms we verify, with the hash each uses (RFC 7518 §3.1).
SUPPORTED_ALGORITHMS = {"RS256": "sha256", "RS384": "sha384", "RS512": "sha512"}
#: A compact token larger than this is refused before decoding (bytes); ID tokens are ~1 KiB.
MAX_TOKEN_SIZE = 64 * 1024


_NOT_BASE64URL = re.compile(rb"[^A-Za-z0-9_-]")


class InvalidTokenError(AuthError):
    """A token is malformed, badly signed or carries claims we must refuse."""


@dataclass(frozen=True)
class SignedToken:
    """A decoded JWS: its header, its claims, and what the signature covers."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def algorithm(self) -> str:
        return str(self.header.get("alg"))


def base64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def base64url_decode(text: str | bytes) -> bytes:
    """Strict base64url without padding (RFC 7515 §2): other characters are an error."""
    data = text.encode("ascii") if isinstance(text, str) else text
    if _NOT_BASE64URL.search(data) or len(data) % 4 == 1:
        raise ValueError("invalid base64url characters, length or padding")
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4), altchars=b"-_", validate=True)
    except binascii.Error as error:
        raise ValueError(f"invalid base64url: {error}") from None


def _json_object(part: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(base64url_decode(part))
    except ValueError as error:
        raise InvalidTokenError(f"token {what} is not base64url JSON ({error})") from None
    if not isinstance(value, dict):
        raise InvalidTokenError(f"token {what} is not a JSON object")
    return value


def decode_compact(token: str | bytes) -> SignedToken:
    """Split and decode a JWS compact serialization, without checking the signature yet."""
    raw = token.encode("ascii", "replace") if isinstance(token, str) else token
    if len(raw) > MAX_TOKEN_SIZE:
        raise InvalidTokenError(f"token of {len(raw)} bytes is larger than {MAX_TOKEN_SIZE}")
    parts = raw.split(b".")
    if len(parts) != 3:
        raise InvalidTokenError(
            f"token has {len(parts)} parts, a signed JWT has 3 (encrypted tokens are not supported)"
        )
    header = _json_object(parts[0], "header")
    claims = _json_object(parts[1], "payload")
    try:
        signature = base64url_decode(parts[2])
    except ValueError as error:
        raise InvalidTokenError(f"token signature is not base64url ({error})") from None
    return SignedToken(header, claims, parts[0] + b"." + parts[1], signature)


def _base64url_integer(jwk: Mapping[str, Any], name: str) -> int:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidTokenError(f"RSA JWK {jwk.get('kid')!r} has no {name!r} member")
    try:
        return int.from_bytes(base64url_decode(value), "big")
    except ValueError:
        raise InvalidTokenError(f"RSA JWK {jwk.get('kid')!r} has an invalid {name!r}") from None


def rsa_key_from_jwk(jwk: Mapping[str, Any]) -> RSAPublicKey:
    """The RSA public key of a JWK (RFC 7518 §6.3.1: base64url ``n`` and ``e``)."""
    if jwk.get("kty") != "RSA":
        raise InvalidTokenError(f"JWK {jwk.get('kid')!r} is a {jwk.get('kty')!r} key, not RSA")
    return RSAPublicKey(n=_base64url_integer(jwk, "n"), e=_base64url_integer(jwk, "e"))


def _candidate_keys(header: Mapping[str, Any], jwks: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise InvalidTokenError("JWK Set has no 'keys' list")
    usable: list[Mapping[str, Any]] = [
        key
        for key in keys
        if isinstance(key, dict)
        and key.get("kty") == "RSA"
        and key.get("use", "sig") == "sig"
        and key.get("alg", header.get("alg")) == header.get("alg")
    ]
    kid = header.get("kid")
    if kid is not None:
        return [key for key in usable if key.get("kid") == kid]
    return usable


def find_key(token: SignedToken, jwks: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The JWK that should have signed ``token``: the one with its ``kid``, or the only one."""
    candidates = _candidate_keys(token.header, jwks)
    if not candidates:
        return None
    if len(candidates) > 1 and token.header.get("kid") is None:
        raise InvalidTokenError("token has no 'kid' and the JWK Set has several signing keys")
    return candidates[0]


def verify_signature(
    token: SignedToken,
    jwks: Mapping[str, Any],
    algorithms: Iterable[str] = tuple(SUPPORTED_ALGORITHMS),
) -> None:
    """Raise `InvalidTokenError` unless a key of ``jwks`` signed ``token`` with an allowed alg."""
    allowed = [name for name in algorithms if name in SUPPORTED_ALGORITHMS]
    if token.algorithm not in allowed:
        raise InvalidTokenError(
            f"token signed with alg {token.algorithm!r}; accepted: {', '.join(allowed)}"
        )
    if token.header.get("crit"):
        raise InvalidTokenError(f"token has critical header parameters {token.header['crit']!r}")
    jwk = find_key(token, jwks)
    if jwk is None:
        raise InvalidTokenError(
            f"no {token.algorithm} key with kid {token.header.get('kid')!r} in the provider's JWK Set"
        )
    key = rsa_key_from_jwk(jwk)
    try:
        valid = verify_pkcs1_v1_5(
            key, token.signing_input, token.signature, SUPPORTED_ALGORITHMS[token.algorithm]
        )
    except ValueError as error:
        raise InvalidTokenError(f"JWK {jwk.get('kid')!r} cannot be used: {error}") from None
    if not valid:
        raise InvalidTokenError(
            f"token signature does not verify with the provider's key {jwk.get('kid')!r}"
        )
