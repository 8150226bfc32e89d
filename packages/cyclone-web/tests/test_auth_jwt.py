"""JWS compact tokens and JWK Sets: what is verified and what is refused."""

from __future__ import annotations

import json

import pytest
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from cyclone.auth.jwt import (
    InvalidTokenError,
    base64url_decode,
    base64url_encode,
    decode_compact,
    verify_signature,
)

KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig"})
JWKS = KeySet([KEY, OTHER]).as_dict(private=False)
CLAIMS = {"sub": "alice", "iss": "https://issuer.example"}


def make(key=KEY, alg: str = "RS256", header: dict | None = None) -> str:
    return joserfc_jwt.encode({"alg": alg, "kid": key.kid, **(header or {})}, CLAIMS, key, [alg])


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_tokens_signed_by_a_published_key_verify(alg) -> None:
    token = decode_compact(make(alg=alg))
    verify_signature(token, JWKS)
    assert token.claims == CLAIMS and token.header["kid"] == "k1"


def test_token_signed_by_another_key_with_the_same_kid_is_refused() -> None:
    impostor = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    with pytest.raises(InvalidTokenError, match="does not verify with the provider's key 'k1'"):
        verify_signature(decode_compact(make(impostor)), JWKS)


def test_unknown_kid_is_refused() -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k9"})
    with pytest.raises(InvalidTokenError, match="no RS256 key with kid 'k9'"):
        verify_signature(decode_compact(make(stranger)), JWKS)


def test_alg_none_and_hmac_are_refused() -> None:
    header = base64url_encode(json.dumps({"alg": "none"}).encode())
    payload = base64url_encode(json.dumps(CLAIMS).encode())
    with pytest.raises(InvalidTokenError, match="alg 'none'"):
        verify_signature(decode_compact(f"{header}.{payload}."), JWKS)
    secret = OctKey.import_key(b"k" * 32)
    hs = joserfc_jwt.encode({"alg": "HS256"}, CLAIMS, secret, ["HS256"])
    with pytest.raises(InvalidTokenError, match="alg 'HS256'"):
        verify_signature(decode_compact(hs), JWKS)


def test_algorithms_can_be_narrowed() -> None:
    with pytest.raises(InvalidTokenError, match="accepted: RS256"):
        verify_signature(decode_compact(make(alg="RS512")), JWKS, ["RS256"])


def test_token_without_kid_needs_a_single_key() -> None:
    token = decode_compact(joserfc_jwt.encode({"alg": "RS256"}, CLAIMS, KEY, ["RS256"]))
    with pytest.raises(InvalidTokenError, match="several signing keys"):
        verify_signature(token, JWKS)
    verify_signature(token, KeySet([KEY]).as_dict(private=False))


def test_critical_headers_are_refused() -> None:
    header = base64url_encode(json.dumps({"alg": "RS256", "kid": "k1", "crit": ["exp"]}).encode())
    token = decode_compact(header + "." + base64url_encode(b"{}") + ".AAAA")
    with pytest.raises(InvalidTokenError, match="critical"):
        verify_signature(token, JWKS)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("a.b", "has 2 parts"),
        ("a.b.c.d.e", "encrypted tokens are not supported"),
        ("!!.e30.", "header is not base64url JSON"),
        ("W10.e30.", "header is not a JSON object"),
        ("e30=.e30.", "header is not base64url JSON"),
        ("e30.e30.***", "signature is not base64url"),
        ("e30." + "A" * 70000 + ".", "larger than"),
    ],
)
def test_malformed_tokens_are_refused(token, message) -> None:
    with pytest.raises(InvalidTokenError, match=message):
        decode_compact(token)


def test_base64url_round_trip_is_strict() -> None:
    assert base64url_decode(base64url_encode(b"\xfb\xff")) == b"\xfb\xff"
    for bad in ("+/8", "AA==", "A"):
        with pytest.raises(ValueError):
            base64url_decode(bad)
