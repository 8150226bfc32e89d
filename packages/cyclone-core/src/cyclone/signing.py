"""Signed, timestamped values for secure cookies, readable by Tornado and cyclone 1.x.

    >>> from cyclone.signing import create_signed_value, decode_signed_value
    >>> token = create_signed_value("secret", "user", b"alice", clock=lambda: 1_000_000)
    >>> token
    b'2|1:0|7:1000000|4:user|8:YWxpY2U=|46953ff0d1e23f2b2f4fe7b830e64b6747c8645238bdf9ff42426d8a521b6776'
    >>> decode_signed_value("secret", "user", token, clock=lambda: 1_000_000)
    b'alice'
    >>> decode_signed_value("other-secret", "user", token, clock=lambda: 1_000_000) is None
    True

Values are written in Tornado's version 2 format, so a Tornado service and a
cyclone service that share ``cookie_secret`` share signed cookies both ways::

    2|<len>:<key version>|<len>:<timestamp>|<len>:<name>|<len>:<base64 value>|<hmac-sha256>

Three formats are read, each with the same secret:

- Tornado's version 2 (above), which cyclone 2 writes;
- version 1, ``<base64 value>|<timestamp>|<hmac-sha1>``: what cyclone 1.x and
  Tornado before 3.2.1 wrote, so nobody is logged out on an upgrade
  (``version=1`` still writes it, for a fleet that still runs cyclone 1.x);
- ``2|<key version>|<timestamp>|<base64 value>|<hmac-sha256>``, the format of
  cyclone 2's development releases.

The MAC covers the cookie name in every format, so a value signed for one
cookie cannot be replayed under another. ``secret`` may be one string or a dict
of versioned secrets ``{1: "old", 2: "new"}``: values are signed with
``key_version`` (the newest by default) and any listed version verifies, which
is how secrets are rotated without logging everyone out. Version 1 values carry
no key version: a dict verifies them with its key version 0, if it has one. A
single secret verifies values of any key version, as in Tornado.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

__all__ = [
    "DEFAULT_SIGNED_VALUE_MIN_VERSION",
    "DEFAULT_SIGNED_VALUE_VERSION",
    "MAX_SUPPORTED_SIGNED_VALUE_VERSION",
    "MIN_SUPPORTED_SIGNED_VALUE_VERSION",
    "SECRET_TYPE",
    "create_signed_value",
    "decode_signed_value",
    "get_signature_key_version",
    "signed_value_version",
]

SECRET_TYPE = str | bytes | Mapping[int, str | bytes]
#: The oldest and newest format versions read, the one written and the oldest
#: accepted by default, with Tornado's names and values.
MIN_SUPPORTED_SIGNED_VALUE_VERSION = 1
MAX_SUPPORTED_SIGNED_VALUE_VERSION = 2
DEFAULT_SIGNED_VALUE_VERSION = 2
DEFAULT_SIGNED_VALUE_MIN_VERSION = 1
#: Digits accepted in a key-version, timestamp or length field. Any 64-bit number
#: fits in 20; a longer field is not one anybody made, and is refused before
#: int() spends time on it (or raises past Python's 4300-digit limit).
_MAX_FIELD_DIGITS = 20
#: A timestamp later than this many seconds from now is refused, so that a
#: value signed with a wrong clock cannot live forever (Tornado allows 31 days
#: for version 1 values and any time for version 2 ones).
_MAX_FUTURE_SECONDS = 86400


@dataclass(frozen=True)
class _Parsed:
    """The fields of a signed value, before its MAC is checked."""

    #: 1, 2 (Tornado's), or "cyclone2" (cyclone 2's development format).
    layout: int | str
    #: None for version 1 values, which carry none.
    key_version: int | None
    timestamp_digits: bytes
    #: The name the value was signed for, when the format states it.
    name: bytes | None
    encoded: bytes
    signed: bytes
    signature: bytes

    @property
    def format_version(self) -> int:
        return 1 if self.layout == 1 else 2


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _field_number(field: bytes) -> int | None:
    """The ASCII decimal number in ``field``, or None if it is anything else or too long."""
    if not field.isdigit() or len(field) > _MAX_FIELD_DIGITS:
        return None
    return int(field)


def _hmac_hex(secret: str | bytes, message: bytes, digest: str) -> bytes:
    return hmac.new(_as_bytes(secret), message, digest).hexdigest().encode("ascii")


def _length_prefixed(field: bytes) -> bytes:
    return str(len(field)).encode("ascii") + b":" + field


def create_signed_value(
    secret: SECRET_TYPE,
    name: str,
    value: str | bytes,
    version: int | None = None,
    clock: Callable[[], float] | None = None,
    key_version: int | None = None,
) -> bytes:
    """Sign ``value`` for the cookie ``name`` with the current time (Tornado's arguments).

    ``version`` is the format: 2 (the default, Tornado's) or 1 (cyclone 1.x's
    and old Tornado's, which has no key version and so needs a single secret).
    With a dict ``secret``, ``key_version`` picks the key (the newest by default).
    """
    if version is None:
        version = DEFAULT_SIGNED_VALUE_VERSION
    timestamp = str(int((clock or time.time)())).encode("ascii")
    encoded = base64.b64encode(_as_bytes(value))
    if version == 1:
        if isinstance(secret, Mapping):
            raise ValueError(
                "version 1 signed values have no key version: sign them with a single secret, "
                f"not the dict of key versions {sorted(secret)!r}"
            )
        signature = _hmac_hex(secret, _as_bytes(name) + encoded + timestamp, "sha1")
        return b"|".join([encoded, timestamp, signature])
    if version != 2:
        raise ValueError(f"unsupported signed value version {version!r} (1 or 2)")
    if isinstance(secret, Mapping):
        if not secret:
            raise ValueError("the cookie_secret dict is empty")
        if key_version is None:
            key_version = max(secret)
        if key_version not in secret:
            raise KeyError(f"no secret with key version {key_version!r}")
        key = secret[key_version]
    else:
        key = secret
    signed = b"|".join(
        [
            b"2",
            _length_prefixed(str(key_version or 0).encode("ascii")),
            _length_prefixed(timestamp),
            _length_prefixed(_as_bytes(name)),
            _length_prefixed(encoded),
            b"",
        ]
    )
    return signed + _hmac_hex(key, signed, "sha256")


def _parse(raw: bytes) -> _Parsed | None:
    """Split a signed value of any known format into its fields; None if it is none of them."""
    if raw.startswith(b"2|"):
        parts = raw.split(b"|")
        if len(parts) == 5 and parts[1].isdigit():
            key_version = _field_number(parts[1])
            if key_version is None:
                return None
            return _Parsed(
                "cyclone2",
                key_version,
                parts[2],
                None,
                parts[3],
                raw[: -len(parts[4]) - 1],
                parts[4],
            )
        return _parse_tornado_v2(raw)
    parts = raw.split(b"|")
    if len(parts) != 3:
        return None
    return _Parsed(1, None, parts[1], None, parts[0], parts[0] + parts[1], parts[2])


def _parse_tornado_v2(raw: bytes) -> _Parsed | None:
    """Read the four length-prefixed fields of Tornado's version 2 format."""
    rest = raw[2:]
    fields = []
    for _ in range(4):
        length_digits, colon, rest = rest.partition(b":")
        length = _field_number(length_digits)
        if not colon or length is None or rest[length : length + 1] != b"|":
            return None
        fields.append(rest[:length])
        rest = rest[length + 1 :]
    key_version = _field_number(fields[0])
    if key_version is None:
        return None
    return _Parsed(
        2, key_version, fields[1], fields[2], fields[3], raw[: len(raw) - len(rest)], rest
    )


def _verification_key(secret: SECRET_TYPE, parsed: _Parsed) -> str | bytes | None:
    """The secret that must have signed ``parsed``, or None if none of ours could have."""
    if isinstance(secret, Mapping):
        return secret.get(parsed.key_version or 0)
    # As in Tornado, a single secret verifies values of any key version: the MAC decides.
    return secret


def _expected_signature(key: str | bytes, name: bytes, parsed: _Parsed) -> bytes:
    if parsed.layout == 1:
        return _hmac_hex(key, name + parsed.signed, "sha1")
    if parsed.layout == 2:
        return _hmac_hex(key, parsed.signed, "sha256")
    return _hmac_hex(key, name + b"|" + parsed.signed, "sha256")


def decode_signed_value(
    secret: SECRET_TYPE,
    name: str,
    value: str | bytes | None,
    max_age_days: float = 31,
    clock: Callable[[], float] | None = None,
    min_version: int | None = None,
    min_key_version: int | None = None,
) -> bytes | None:
    """Return the original value, or None if it is forged, malformed or too old.

    Timestamps more than a day in the future are refused too. ``min_version``
    is the oldest *format* accepted, as in Tornado: 2 refuses version 1 values
    (cyclone 1.x's); ``min_key_version`` refuses values signed with an older
    rotated secret.
    """
    if min_version is None:
        min_version = DEFAULT_SIGNED_VALUE_MIN_VERSION
    if min_version > MAX_SUPPORTED_SIGNED_VALUE_VERSION:
        raise ValueError(
            f"unsupported min_version {min_version!r}: the newest format is "
            f"{MAX_SUPPORTED_SIGNED_VALUE_VERSION}"
        )
    if not value:
        return None
    parsed = _parse(_as_bytes(value))
    if parsed is None or parsed.format_version < min_version:
        return None
    if min_key_version is not None and (parsed.key_version or 0) < min_key_version:
        return None
    timestamp_digits = parsed.timestamp_digits
    timestamp = _field_number(timestamp_digits)
    if timestamp is None:
        return None
    if parsed.layout == 1 and timestamp_digits.startswith(b"0"):
        # Version 1 MACs the fields without a separator: a leading zero can
        # only come from moving a digit of the value into the timestamp.
        return None
    key = _verification_key(secret, parsed)
    if key is None:
        return None
    name_bytes = _as_bytes(name)
    if parsed.name is not None and not hmac.compare_digest(parsed.name, name_bytes):
        return None
    if not hmac.compare_digest(_expected_signature(key, name_bytes, parsed), parsed.signature):
        return None
    now = (clock or time.time)()
    if timestamp < now - max_age_days * 86400 or timestamp > now + _MAX_FUTURE_SECONDS:
        return None
    try:
        return base64.b64decode(parsed.encoded, validate=True)
    except (binascii.Error, ValueError):
        return None


def get_signature_key_version(value: str | bytes) -> int | None:
    """The key version a signed value was made with; None for version 1 and foreign values."""
    parsed = _parse(_as_bytes(value))
    return None if parsed is None else parsed.key_version


#: cyclone 2's earlier name for `get_signature_key_version`.
signed_value_version = get_signature_key_version
