"""PKCE S256 (RFC 7636)."""

from __future__ import annotations

import re

from cyclone.auth.pkce import code_challenge, new_code_verifier


def test_rfc7636_appendix_b_example() -> None:
    assert (
        code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_verifiers_are_random_and_use_the_allowed_alphabet() -> None:
    verifiers = {new_code_verifier() for _ in range(100)}
    assert len(verifiers) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", v) for v in verifiers)
