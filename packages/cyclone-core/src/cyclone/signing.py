"""Signed, timestamped values for secure cookies and XSRF tokens.

    >>> from cyclone.signing import create_signed_value, decode_signed_value
    >>> token = create_signed_value("secret", "user", b"alice", clock=lambda: 1_000_000)
    >>> decode_signed_value("secret", "user", token, clock=lambda: 1_000_000)
    b'alice'
    >>> decode_signed_value("other-secret", "user", token, clock=lambda: 1_000_000) is None
    True

A signed value is ``2|<key version>|<timestamp>|<base64 value>|<hmac-sha256>``
where the MAC covers the cookie name, so a value signed for one cookie cannot
be replayed under another. ``secret`` may be a single string or a dict of
versioned secrets ``{1: "old", 2: "new"}``: values are signed with
``key_version`` (the newest by default) and any listed version verifies, which
is how secrets are rotated without logging everyone out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

__all__ = ["SECRET_TYPE", "create_signed_value", "decode_signed_value", "signed_value_version"]

SECRET_TYPE = str | bytes | Mapping[int, str | bytes]
_FORMAT_VERSION = b"2"
#: Digits accepted in the key-version and timestamp fields. Any 64-bit number
#: fits in 20; a longer field is not one we made, and is refused before int()
#: spends time on it (or raises past Python's 4300-digit limit).
_MAX_FIELD_DIGITS = 20


def _select_secret(secret: SECRET_TYPE, key_version: int | None) -> tuple[int, bytes]:
    if isinstance(secret, Mapping):
        if not secret:
            raise ValueError("the cookie_secret dict is empty")
        version = max(secret) if key_version is None else key_version
        if version not in secret:
            raise KeyError(f"no secret with key version {version!r}")
        value = secret[version]
    else:
        version, value = 0, secret
    return version, value.encode("utf-8") if isinstance(value, str) else value


def _mac(secret: bytes, name: str, payload: bytes) -> bytes:
    digest = hmac.new(secret, name.encode("utf-8") + b"|" + payload, hashlib.sha256)
    return digest.hexdigest().encode("ascii")


def create_signed_value(
    secret: SECRET_TYPE,
    name: str,
    value: str | bytes,
    key_version: int | None = None,
    clock: Callable[[], float] = time.time,
) -> bytes:
    """Sign ``value`` for the cookie ``name`` with the current time."""
    version, key = _select_secret(secret, key_version)
    raw = value.encode("utf-8") if isinstance(value, str) else value
    payload = b"|".join(
        [
            _FORMAT_VERSION,
            str(version).encode("ascii"),
            str(int(clock())).encode("ascii"),
            base64.b64encode(raw),
        ]
    )
    return payload + b"|" + _mac(key, name, payload)


def signed_value_version(value: str | bytes) -> int | None:
    """The key version a signed value was made with, or None if it is not one of ours."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    parts = raw.split(b"|")
    if len(parts) != 5 or parts[0] != _FORMAT_VERSION:
        return None
    return _field_number(parts[1])


def _field_number(field: bytes) -> int | None:
    """The ASCII decimal number in ``field``, or None if it is anything else or too long."""
    if not field.isdigit() or len(field) > _MAX_FIELD_DIGITS:
        return None
    return int(field)


def decode_signed_value(
    secret: SECRET_TYPE,
    name: str,
    value: str | bytes | None,
    max_age_days: float = 31,
    clock: Callable[[], float] = time.time,
    min_version: int | None = None,
    min_key_version: int | None = None,
) -> bytes | None:
    """Return the original value, or None if it is forged, malformed or too old.

    Timestamps more than a day in the future are refused too, so a value
    signed with a wrong clock cannot live forever. ``min_version`` is the
    oldest signed-value *format* accepted, as in Tornado (ours is format 2);
    ``min_key_version`` refuses values signed with an older rotated secret.
    """
    if min_version is not None and int(_FORMAT_VERSION) < min_version:
        return None
    if not value:
        return None
    raw = value.encode("utf-8") if isinstance(value, str) else value
    parts = raw.split(b"|")
    if len(parts) != 5 or parts[0] != _FORMAT_VERSION:
        return None
    version_text, timestamp_text, encoded, signature = parts[1:]
    version = _field_number(version_text)
    timestamp = _field_number(timestamp_text)
    if version is None or timestamp is None:
        return None
    if min_key_version is not None and version < min_key_version:
        return None
    if isinstance(secret, Mapping):
        if version not in secret:
            return None
        key = secret[version]
    elif version != 0:
        return None
    else:
        key = secret
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    payload = raw[: -len(signature) - 1]
    if not hmac.compare_digest(_mac(key_bytes, name, payload), signature):
        return None
    now = clock()
    if timestamp < now - max_age_days * 86400 or timestamp > now + 86400:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
