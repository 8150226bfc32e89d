"""ID-token claim checks (OpenID Connect Core §3.1.3.7)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from cyclone.auth.id_token import half_hash, validate_id_token_claims
from cyclone.auth.jwt import InvalidTokenError

NOW = 1_800_000_000
GOOD = {
    "iss": "https://issuer.example",
    "aud": "app",
    "sub": "alice",
    "iat": NOW - 5,
    "exp": NOW + 300,
    "nonce": "n-1",
}


def check(claims: dict, **options) -> None:
    arguments = {
        "issuer": "https://issuer.example",
        "client_id": "app",
        "nonce": "n-1",
        "algorithm": "RS256",
        "now": NOW,
        **options,
    }
    validate_id_token_claims(claims, **arguments)


def test_good_claims_pass() -> None:
    check(GOOD)
    check({**GOOD, "aud": ["app", "api"], "azp": "app"}, trusted_audiences=["api"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"iss": "https://issuer.example/"}, "issuer"),
        ({"aud": "other"}, "does not include 'app'"),
        ({"aud": ["app", "other"], "azp": "app"}, "untrusted audiences"),
        ({"azp": "other"}, "authorized party"),
        ({"exp": NOW - 121}, "expired 121 seconds ago"),
        ({"exp": None}, "no 'exp'"),
        ({"exp": "soon"}, "not a number"),
        ({"iat": NOW + 121}, "in the future"),
        ({"iat": None}, "no 'iat'"),
        ({"nbf": NOW + 200}, "not valid for another"),
        ({"nonce": "n-2"}, "nonce does not match"),
        ({"nonce": None}, "nonce does not match"),
        ({"sub": ""}, "no 'sub'"),
        ({"at_hash": "wrong"}, "at_hash"),
    ],
)
def test_bad_claims_are_refused(changes, message) -> None:
    claims = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    with pytest.raises(InvalidTokenError, match=message):
        check(claims, access_token="token")


def test_clock_skew_is_tolerated_within_the_limit() -> None:
    check({**GOOD, "exp": NOW - 119, "iat": NOW + 119})
    with pytest.raises(InvalidTokenError):
        check({**GOOD, "exp": NOW - 30}, clock_skew=10)


def test_at_hash_is_the_left_half_of_the_hash() -> None:
    digest = hashlib.sha256(b"an access token").digest()[:16]
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert half_hash("an access token", "RS256") == expected
    check({**GOOD, "at_hash": expected}, access_token="an access token")
