"""RSASSA-PKCS1-v1_5 verification, checked against signatures made by cryptography."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from cyclone.auth.rsa import RSAPublicKey, verify_pkcs1_v1_5

PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NUMBERS = PRIVATE.public_key().public_numbers()
KEY = RSAPublicKey(NUMBERS.n, NUMBERS.e)
HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


def sign(message: bytes, hash_name: str = "sha256") -> bytes:
    return PRIVATE.sign(message, padding.PKCS1v15(), HASHES[hash_name])


@settings(max_examples=30, deadline=None)
@given(message=st.binary(max_size=200), hash_name=st.sampled_from(sorted(HASHES)))
def test_signatures_made_by_cryptography_verify(message, hash_name) -> None:
    assert verify_pkcs1_v1_5(KEY, message, sign(message, hash_name), hash_name)


@settings(max_examples=30, deadline=None)
@given(message=st.binary(min_size=1, max_size=200), flip=st.integers(min_value=0))
def test_any_changed_bit_fails(message, flip) -> None:
    signature = bytearray(sign(message))
    bit = flip % (len(signature) * 8)
    signature[bit // 8] ^= 1 << (bit % 8)
    assert not verify_pkcs1_v1_5(KEY, message, bytes(signature), "sha256")
    assert not verify_pkcs1_v1_5(KEY, message + b"!", sign(message), "sha256")


def test_signature_with_another_hash_or_length_fails() -> None:
    signature = sign(b"hello", "sha384")
    assert not verify_pkcs1_v1_5(KEY, b"hello", signature, "sha256")
    assert not verify_pkcs1_v1_5(KEY, b"hello", signature[1:], "sha384")
    assert not verify_pkcs1_v1_5(KEY, b"hello", b"\xff" * len(signature), "sha384")


def test_weak_keys_are_refused() -> None:
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    numbers = short.public_numbers()
    with pytest.raises(ValueError, match="1024 bits is too short"):
        verify_pkcs1_v1_5(RSAPublicKey(numbers.n, numbers.e), b"x", b"\x00" * 128, "sha256")
    with pytest.raises(ValueError, match="exponent"):
        verify_pkcs1_v1_5(RSAPublicKey(NUMBERS.n, 2), b"x", sign(b"x"), "sha256")
    with pytest.raises(ValueError, match="unsupported hash"):
        verify_pkcs1_v1_5(KEY, b"x", sign(b"x"), "md5")
