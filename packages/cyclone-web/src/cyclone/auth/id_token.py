"""OpenID Connect ID-token claim checks (OpenID Connect Core 1.0 §3.1.3.7).

    >>> validate_id_token_claims(                                   # doctest: +SKIP
    ...     token.claims, issuer="https://accounts.google.com", client_id="my-app",
    ...     nonce=expected_nonce, algorithm="RS256", access_token=access_token)

Run after the signature was verified (`cyclone.auth.jwt.verify_signature`).
Every failure raises `InvalidTokenError` saying which claim was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from typing import Any

from cyclone.auth.jwt import SUPPORTED_ALGORITHMS, InvalidTokenError, base64url_encode

__all__ = ["DEFAULT_CLOCK_SKEW", "half_hash", "validate_id_token_claims"]

#: How far the provider's clock may be off ours when checking ``exp``, ``iat``, ``nbf`` (seconds).
DEFAULT_CLOCK_SKEW = 120


def half_hash(value: str, algorithm: str) -> str:
    """``at_hash``/``c_hash``: base64url of the left half of the alg's hash (OIDC Core §3.1.3.6)."""
    digest = hashlib.new(SUPPORTED_ALGORITHMS[algorithm], value.encode("ascii")).digest()
    return base64url_encode(digest[: len(digest) // 2])


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTokenError(f"ID token claim {name!r} is not a number: {value!r}")
    return float(value)


def validate_id_token_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    algorithm: str,
    access_token: str | None = None,
    trusted_audiences: Iterable[str] = (),
    clock_skew: float = DEFAULT_CLOCK_SKEW,
    now: float | None = None,
) -> None:
    """Raise `InvalidTokenError` unless ``claims`` are an ID token issued to us, now.

    - ``iss`` equals ``issuer`` exactly;
    - ``aud`` lists ``client_id`` and no audience outside ``trusted_audiences``;
      with several audiences, ``azp`` must be ``client_id``;
    - ``exp`` is in the future and ``iat`` (required) and ``nbf`` are not,
      each allowing ``clock_skew`` seconds;
    - ``nonce`` equals the one sent with the authorization request;
    - ``sub`` is present; ``at_hash``, when present, matches ``access_token``.
    """
    if now is None:
        now = time.time()
    if claims.get("iss") != issuer:
        raise InvalidTokenError(
            f"ID token issuer {claims.get('iss')!r} is not the provider's {issuer!r}"
        )
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise InvalidTokenError(f"ID token audience {audience!r} does not include {client_id!r}")
    untrusted = [a for a in audiences if a != client_id and a not in set(trusted_audiences)]
    if untrusted:
        raise InvalidTokenError(f"ID token is also meant for untrusted audiences {untrusted!r}")
    authorized_party = claims.get("azp")
    if (len(audiences) > 1 or authorized_party is not None) and authorized_party != client_id:
        raise InvalidTokenError(
            f"ID token authorized party {authorized_party!r} is not {client_id!r}"
        )
    expires = _number(claims, "exp")
    if expires is None:
        raise InvalidTokenError("ID token has no 'exp' claim")
    if now > expires + clock_skew:
        raise InvalidTokenError(f"ID token expired {int(now - expires)} seconds ago")
    issued = _number(claims, "iat")
    if issued is None:
        raise InvalidTokenError("ID token has no 'iat' claim")
    if issued > now + clock_skew:
        raise InvalidTokenError(
            f"ID token issued {int(issued - now)} seconds in the future (clock skew allowed: "
            f"{clock_skew:g} s)"
        )
    not_before = _number(claims, "nbf")
    if not_before is not None and not_before > now + clock_skew:
        raise InvalidTokenError(f"ID token not valid for another {int(not_before - now)} seconds")
    if nonce is not None:
        received = claims.get("nonce")
        if not isinstance(received, str) or not hmac.compare_digest(
            received.encode(), nonce.encode()
        ):
            raise InvalidTokenError("ID token nonce does not match this sign-in's nonce")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidTokenError("ID token has no 'sub' claim")
    at_hash = claims.get("at_hash")
    if at_hash is not None and access_token is not None:
        if not isinstance(at_hash, str) or not hmac.compare_digest(
            at_hash.encode(), half_hash(access_token, algorithm).encode()
        ):
            raise InvalidTokenError("ID token at_hash does not match the access token")
