"""Proof Key for Code Exchange, S256 (RFC 7636).

    >>> verifier = new_code_verifier()
    >>> len(verifier)
    43
    >>> code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'

The verifier stays with the client (in the signed sign-in cookie); only its
hash goes to the authorization endpoint. Whoever redeems the code must
present the verifier, so a code stolen from a redirect, a log or a
``Referer`` is useless to anyone else (RFC 7636 §1).
"""

from __future__ import annotations

import hashlib
import secrets

from cyclone.auth.jwt import base64url_encode

__all__ = ["code_challenge", "new_code_verifier"]


def new_code_verifier() -> str:
    """32 random octets, base64url: 43 characters, the RFC 7636 §4.1 recommendation."""
    return secrets.token_urlsafe(32)


def code_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))``, the S256 method (RFC 7636 §4.2)."""
    return base64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())
