"""Signed, timestamped values: round trips, tampering, expiry, key rotation, and the
formats of Tornado (made by Tornado's own functions) and of cyclone 1.3."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
import tornado.web
from hypothesis import given
from hypothesis import strategies as st

from cyclone.signing import (
    create_signed_value,
    decode_signed_value,
    get_signature_key_version,
    signed_value_version,
)

NOW = 1_700_000_000
DAY = 86400


def at(seconds: float):
    return lambda: seconds


def sign(value, secret="secret", name="user", **options):
    return create_signed_value(secret, name, value, clock=at(NOW), **options)


def decode(token, secret="secret", name="user", now=NOW, **options):
    return decode_signed_value(secret, name, token, clock=at(now), **options)


def test_round_trip_returns_the_original_bytes():
    assert decode(sign("alice")) == b"alice"
    assert decode(sign(b"\x00\xff|binary|")) == b"\x00\xff|binary|"


@given(st.binary(), st.text(min_size=1))
def test_any_value_and_name_round_trip(value, name):
    assert decode(sign(value, name=name), name=name) == value


def test_decode_accepts_text_tokens():
    assert decode(sign("alice").decode()) == b"alice"


def test_wrong_secret_gives_none():
    assert decode(sign("alice"), secret="other") is None


def test_value_signed_for_one_name_fails_for_another():
    assert decode(sign("alice", name="user"), name="admin") is None


@pytest.mark.parametrize("junk", [None, "", b"", "garbage", "2|0|x|y|z", "2|||||", "|" * 4, "é|é"])
def test_malformed_values_give_none(junk):
    assert decode(junk) is None


def test_expired_values_give_none():
    token = sign("alice")
    assert decode(token, now=NOW + 30 * DAY) == b"alice"
    assert decode(token, now=NOW + 32 * DAY) is None
    assert decode(token, now=NOW + 2 * DAY, max_age_days=1) is None
    assert decode(token, now=NOW + DAY / 2, max_age_days=1) == b"alice"


def test_values_from_more_than_a_day_in_the_future_give_none():
    token = sign("alice")
    assert decode(token, now=NOW - DAY / 2) == b"alice"
    assert decode(token, now=NOW - 2 * DAY) is None


def test_bytes_secrets_work_like_text_secrets():
    assert decode(sign("alice", secret=b"secret"), secret="secret") == b"alice"


def test_dict_secret_signs_with_the_newest_key_version():
    secrets = {1: "old", 2: "new"}
    token = sign("alice", secret=secrets)
    assert signed_value_version(token) == 2
    assert decode(token, secret={2: "new"}) == b"alice"
    assert decode(token, secret={1: "old"}) is None


def test_key_rotation_keeps_values_signed_with_older_keys_valid():
    old_token = sign("alice", secret={1: "old"})
    assert decode(old_token, secret={1: "old", 2: "new"}) == b"alice"


def test_explicit_key_version_is_used():
    token = sign("alice", secret={1: "old", 2: "new"}, key_version=1)
    assert signed_value_version(token) == 1
    assert decode(token, secret={1: "old", 2: "new"}) == b"alice"


def test_unknown_key_version_to_sign_with_is_an_error():
    with pytest.raises(KeyError):
        sign("alice", secret={1: "old"}, key_version=3)
    with pytest.raises(ValueError):
        sign("alice", secret={})


def test_min_key_version_refuses_values_signed_with_older_keys():
    secrets = {1: "old", 2: "new"}
    old_token = sign("alice", secret=secrets, key_version=1)
    new_token = sign("alice", secret=secrets)
    assert decode(old_token, secret=secrets, min_key_version=2) is None
    assert decode(new_token, secret=secrets, min_key_version=2) == b"alice"


def test_min_version_is_the_format_version_as_in_tornado():
    token = sign("alice", secret="single")
    assert decode(token, secret="single", min_version=2) == b"alice"
    with pytest.raises(ValueError, match="unsupported min_version 3"):
        decode(token, secret="single", min_version=3)


def test_a_dict_secret_does_not_accept_values_without_its_key_versions():
    assert decode(sign("alice", secret="secret"), secret={1: "secret"}) is None
    assert decode(sign("alice", secret={3: "secret"}), secret={1: "secret"}) is None


def test_a_single_secret_reads_values_of_any_key_version_as_tornado_does():
    assert decode(sign("alice", secret={1: "secret"}), secret="secret") == b"alice"
    assert decode(sign("alice", secret={1: "other"}), secret="secret") is None


def test_signed_value_version_of_foreign_values_is_none():
    assert signed_value_version("not|signed") is None
    assert signed_value_version(sign("alice")) == 0


def test_tokens_are_ascii_and_cookie_safe():
    token = sign("alice ☕;, =")
    token.decode("ascii")
    assert not set(b' ;,"\\') & set(token)


@pytest.mark.parametrize(
    "token",
    [
        b"2|" + b"1" * 5000 + b"|1700000000|YWxpY2U=|" + b"0" * 64,
        b"2|1|" + b"1" * 5000 + b"|YWxpY2U=|" + b"0" * 64,
        b"2|" + b"1" * 21 + b"|1700000000|YWxpY2U=|" + b"0" * 64,
        "2|١|1700000000|YWxpY2U=|" + "0" * 64,
    ],
)
def test_fields_with_too_many_or_non_ascii_digits_are_refused_before_the_mac(token):
    assert decode(token, secret={1: "secret"}) is None


def test_signed_value_version_of_a_5000_digit_version_is_none():
    assert signed_value_version(b"2|" + b"7" * 5000 + b"|1|YQ==|00") is None
    assert signed_value_version(b"2|" + b"7" * 20 + b"|1|YQ==|00") == int("7" * 20)


# -- Tornado's formats, made and read by Tornado itself ----------------------------------------

#: Cookie names as browsers and Tornado use them (Tornado's version 2 format
#: writes the name as it is, and counts its length in characters).
cookie_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.", min_size=1
)


def tornado_sign(value, secret="secret", name="user", **options):
    return tornado.web.create_signed_value(secret, name, value, clock=at(NOW), **options)


def tornado_decode(token, secret="secret", name="user", now=NOW, **options):
    return tornado.web.decode_signed_value(secret, name, token, clock=at(now), **options)


def test_values_are_written_byte_for_byte_as_tornado_writes_them():
    assert sign("alice") == tornado_sign("alice")
    secrets = {1: "old", 2: "new"}
    assert sign("alice", secret=secrets) == tornado_sign("alice", secret=secrets, key_version=2)
    assert sign("alice", secret=secrets, key_version=1) == tornado_sign(
        "alice", secret=secrets, key_version=1
    )


@given(st.binary(), cookie_names)
def test_tornado_reads_every_value_cyclone_writes(value, name):
    assert tornado_decode(sign(value, name=name), name=name) == value
    secrets = {1: "old", 7: "new"}
    token = sign(value, secret=secrets, name=name)
    assert tornado_decode(token, secret=secrets, name=name) == value
    assert tornado.web.get_signature_key_version(token) == 7


@given(st.binary(), cookie_names, st.sampled_from([1, 2]))
def test_cyclone_reads_every_value_tornado_writes_in_both_versions(value, name, version):
    assert decode(tornado_sign(value, name=name, version=version), name=name) == value


def test_tornado_values_with_rotated_keys_are_read_with_the_key_they_name():
    secrets = {1: "old", 2: "new"}
    old = tornado_sign("alice", secret=secrets, key_version=1)
    assert decode(old, secret=secrets) == b"alice"
    assert get_signature_key_version(old) == 1
    assert decode(old, secret=secrets, min_key_version=2) is None
    assert decode(old, secret={2: "new"}) is None


def test_min_version_2_refuses_tornado_version_1_values():
    token = tornado_sign("alice", version=1)
    assert decode(token) == b"alice"
    assert decode(token, min_version=2) is None
    assert decode(tornado_sign("alice"), min_version=2) == b"alice"


def test_cyclone_writes_version_1_on_request_and_tornado_reads_it():
    token = sign("alice", version=1)
    assert token == tornado_sign("alice", version=1)
    assert tornado_decode(token) == b"alice"
    assert get_signature_key_version(token) is None


def test_a_value_tornado_signed_for_one_name_is_refused_under_another():
    for version in (1, 2):
        assert decode(tornado_sign("alice", name="user", version=version), name="admin") is None


def test_unsupported_versions_and_version_1_with_key_versions_are_errors():
    with pytest.raises(ValueError, match="unsupported signed value version 3"):
        sign("alice", version=3)
    with pytest.raises(ValueError, match="version 1 signed values have no key version"):
        sign("alice", secret={1: "old"}, version=1)


# -- cyclone 1.3's format ---------------------------------------------------------------------
#
# cyclone 1.3's cyclone.web cannot be imported beside cyclone 2 (its package
# __init__ and module names collide with ours), so its algorithm is written
# out here from 1.3's web.py: base64 value, "|", timestamp, "|", the hex
# HMAC-SHA1 of name + base64 value + timestamp (no separators). The vector
# below was produced by 1.3's own create_signed_value, run from the 1.3 sdist
# with time.time() returning 1700000000.

SIGNED_BY_CYCLONE_1_3 = "YWxpY2U=|1700000000|d5f9ebacf6b8c8213d154837065ceeebd6555dbb"


def sign_like_cyclone_1_3(secret, name, value, timestamp=NOW):
    encoded = base64.b64encode(value.encode("utf-8")).decode()
    mac = hmac.new(secret.encode(), (name + encoded + str(timestamp)).encode(), hashlib.sha1)
    return "|".join([encoded, str(timestamp), mac.hexdigest()])


def decode_like_cyclone_1_3(secret, name, value, now=NOW, max_age_days=31):
    parts = value.split("|")
    if len(parts) != 3:
        return None
    mac = hmac.new(secret.encode(), (name + parts[0] + parts[1]).encode(), hashlib.sha1)
    if not hmac.compare_digest(parts[2], mac.hexdigest()):
        return None
    timestamp = int(parts[1])
    if timestamp < now - max_age_days * 86400 or timestamp > now + 31 * 86400:
        return None
    if parts[1].startswith("0"):
        return None
    return base64.b64decode(parts[0])


def test_a_cookie_signed_by_cyclone_1_3_is_read_with_the_same_secret():
    assert sign_like_cyclone_1_3("cyclone-1.3-secret", "user", "alice") == SIGNED_BY_CYCLONE_1_3
    assert decode(SIGNED_BY_CYCLONE_1_3, secret="cyclone-1.3-secret") == b"alice"
    assert decode(SIGNED_BY_CYCLONE_1_3, secret="another-secret") is None
    assert decode(SIGNED_BY_CYCLONE_1_3, secret="cyclone-1.3-secret", name="admin") is None
    assert decode(SIGNED_BY_CYCLONE_1_3, secret="cyclone-1.3-secret", now=NOW + 32 * DAY) is None


@given(st.text(), cookie_names)
def test_every_value_cyclone_1_3_signs_is_read(value, name):
    token = sign_like_cyclone_1_3("secret", name, value)
    assert decode(token, name=name) == value.encode("utf-8")


@given(st.text(), cookie_names)
def test_cyclone_1_3_reads_the_version_1_values_cyclone_writes(value, name):
    token = sign(value, name=name, version=1).decode()
    assert decode_like_cyclone_1_3("secret", name, token) == value.encode("utf-8")


def test_a_dict_secret_reads_cyclone_1_3_values_with_its_key_version_0():
    assert decode(SIGNED_BY_CYCLONE_1_3, secret={0: "cyclone-1.3-secret", 1: "new"}) == b"alice"
    assert decode(SIGNED_BY_CYCLONE_1_3, secret={1: "cyclone-1.3-secret"}) is None


def test_a_digit_moved_from_the_value_into_the_timestamp_is_refused():
    # Version 1 MACs the fields without separators, so moving the last character
    # of the value to the front of the timestamp keeps the MAC valid.
    value = next(v for v in (f"user{i}" for i in range(1000)) if _b64_ends_in_digit(v))
    token = sign_like_cyclone_1_3("secret", "user", value)
    encoded, timestamp, mac = token.split("|")
    shifted = "|".join([encoded[:-1], encoded[-1] + timestamp, mac])
    assert decode(token) == value.encode()
    assert decode(shifted, now=int(encoded[-1] + timestamp)) is None


def _b64_ends_in_digit(value):
    return base64.b64encode(value.encode())[-1:].isdigit()


# -- cyclone 2's development format, still read -----------------------------------------------

#: Made by cyclone 2's signing module before it wrote Tornado's format, with
#: secret "cyclone-2-secret" (and a {1: "old", 2: "new"} dict) at 1700000000.
SIGNED_BY_CYCLONE_2_DEV = (
    "2|0|1700000000|YWxpY2U=|d83f4f8a23c3ae14d8a73b26d717003957fc8ae65aafab45275fd1ecaf12d7e1"
)
SIGNED_BY_CYCLONE_2_DEV_KEY_1 = (
    "2|1|1700000000|YWxpY2U=|85b0aa3745067c2b5845a832c351cc280039914b9be46fbc13691c382f6b2c63"
)


def test_cookies_in_cyclone_2s_earlier_format_keep_working():
    assert decode(SIGNED_BY_CYCLONE_2_DEV, secret="cyclone-2-secret") == b"alice"
    assert decode(SIGNED_BY_CYCLONE_2_DEV, secret="cyclone-2-secret", name="admin") is None
    assert decode(SIGNED_BY_CYCLONE_2_DEV, secret="cyclone-2-secret", min_version=2) == b"alice"
    secrets = {1: "old", 2: "new"}
    assert decode(SIGNED_BY_CYCLONE_2_DEV_KEY_1, secret=secrets) == b"alice"
    assert decode(SIGNED_BY_CYCLONE_2_DEV_KEY_1, secret=secrets, min_key_version=2) is None
    assert signed_value_version(SIGNED_BY_CYCLONE_2_DEV_KEY_1) == 1


# -- tampering, in every format -----------------------------------------------------------------


def _flip(text: str) -> str:
    """``text`` with its last character changed (a digit stays a digit)."""
    last = text[-1]
    replacement = {"0": "1"}.get(last, "0") if last.isdigit() else ("B" if last != "B" else "C")
    return text[:-1] + replacement


def _tornado_v2_tampered(token: str) -> dict[str, str]:
    """One token per field of a Tornado version 2 value, that field altered, lengths kept right."""
    _, key_version, timestamp, name, value, mac = token.split("|")
    fields = {"key-version": key_version, "timestamp": timestamp, "name": name, "value": value}
    tampered = {}
    for label, field in fields.items():
        length, _, content = field.partition(":")
        changed = f"{length}:{_flip(content)}"
        tampered[label] = token.replace(f"|{field}|", f"|{changed}|", 1)
    tampered["mac"] = token[:-1] + ("0" if token[-1] != "0" else "1")
    tampered["longer-mac"] = token + "0"
    tampered["extra-field"] = token.replace("|", "||", 1)
    tampered["version-1-label"] = "1" + token[1:]
    tampered["no-mac"] = token[: token.rindex("|")]
    return tampered


def _pipe_fields_tampered(token: str) -> dict[str, str]:
    """One token per "|"-separated field altered (the v1 and cyclone-2-development layouts)."""
    parts = token.split("|")
    tampered = {}
    for index in range(len(parts)):
        changed = list(parts)
        changed[index] = _flip(parts[index])
        tampered[f"field-{index}"] = "|".join(changed)
    tampered["longer-mac"] = token + "0"
    tampered["extra-field"] = token + "|0"
    tampered["no-mac"] = token[: token.rindex("|")]
    return tampered


TAMPERED = [
    *(
        ("tornado-v2", label, value)
        for label, value in _tornado_v2_tampered(sign("alice").decode()).items()
    ),
    *(
        ("cyclone-1.3", label, value)
        for label, value in _pipe_fields_tampered(
            sign_like_cyclone_1_3("secret", "user", "alice")
        ).items()
    ),
]


@pytest.mark.parametrize(
    ("layout", "label", "token"), TAMPERED, ids=[f"{a}-{b}" for a, b, _ in TAMPERED]
)
def test_tampered_values_give_none(layout, label, token):
    assert decode(token) is None


@pytest.mark.parametrize("label", list(_pipe_fields_tampered(SIGNED_BY_CYCLONE_2_DEV)))
def test_tampered_values_in_the_earlier_cyclone_2_format_give_none(label):
    token = _pipe_fields_tampered(SIGNED_BY_CYCLONE_2_DEV)[label]
    assert decode(token, secret="cyclone-2-secret") is None


def test_every_format_refuses_timestamps_more_than_a_day_ahead():
    for token in (sign("alice"), sign("alice", version=1), tornado_sign("alice")):
        assert decode(token, now=NOW - DAY / 2) == b"alice"
        assert decode(token, now=NOW - 2 * DAY) is None
    assert decode(SIGNED_BY_CYCLONE_2_DEV, secret="cyclone-2-secret", now=NOW - 2 * DAY) is None


# -- hostile numbers in Tornado's and cyclone 1.3's formats -------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "2|" + "9" * 5000 + ":0|10:1700000000|4:user|8:YWxpY2U=|" + "0" * 64,
        "2|1:0|" + "9" * 5000 + ":1700000000|4:user|8:YWxpY2U=|" + "0" * 64,
        "2|5000:" + "9" * 5000 + "|10:1700000000|4:user|8:YWxpY2U=|" + "0" * 64,
        "2|1:0|5000:" + "9" * 5000 + "|4:user|8:YWxpY2U=|" + "0" * 64,
        "2|1:0|99:1700000000|4:user|8:YWxpY2U=|" + "0" * 64,
        "2|+1:0|10:1700000000|4:user|8:YWxpY2U=|" + "0" * 64,
        "2|1:0|10:١٧٠٠٠٠٠٠٠٠|4:user|8:YWxpY2U=|" + "0" * 64,
        "YWxpY2U=|" + "9" * 5000 + "|" + "0" * 40,
        "YWxpY2U=|١٧٠٠٠٠٠٠٠٠|" + "0" * 40,
    ],
    ids=[
        "v2-length-digits",
        "v2-timestamp-length-digits",
        "v2-key-version-digits",
        "v2-timestamp-digits",
        "v2-length-past-the-end",
        "v2-signed-length",
        "v2-non-ascii-digits",
        "v1-timestamp-digits",
        "v1-non-ascii-digits",
    ],
)
def test_hostile_numbers_in_every_format_are_refused_before_int(token):
    assert decode(token) is None
    assert decode(token, secret={0: "secret"}) is None


def test_key_version_of_a_tornado_value_with_a_5000_digit_version_is_none():
    assert get_signature_key_version("2|5000:" + "7" * 5000 + "|1:1|4:user|4:YQ==|00") is None
