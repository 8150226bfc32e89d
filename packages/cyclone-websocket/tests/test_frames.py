"""The sans-IO RFC 6455 codec and handshake helpers, driven with bytes only."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyclone.websocket.frames import (
    BinaryMessage,
    Close,
    FrameDecoder,
    FrameEncoder,
    Opcode,
    Ping,
    Pong,
    ProtocolError,
    Role,
    TextMessage,
    _apply_mask,
    accept_key,
    check_upgrade_request,
    encode_frame,
    format_extensions,
    is_valid_close_code,
    parse_extensions,
    parse_subprotocols,
)


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0) -> bytes:
    """A masked frame as a client sends it, with any header bits we want to test."""
    frame = encode_frame(opcode, payload, fin=fin, mask=True)
    return bytes([frame[0] | rsv]) + frame[1:]


def server_decode(data: bytes, **kwargs: object) -> list[object]:
    return FrameDecoder(Role.SERVER, **kwargs).feed(data)  # type: ignore[arg-type]


def error_code(events: list[object]) -> int | None:
    last = events[-1] if events else None
    return last.code if isinstance(last, ProtocolError) else None


# -- messages -----------------------------------------------------------------------


def test_rfc_example_single_frame_masked_text_decodes_to_hello() -> None:
    # RFC 6455 §5.7: a single-frame masked text message.
    wire = bytes.fromhex("818537fa213d7f9f4d5158")
    assert server_decode(wire) == [TextMessage("Hello")]


def test_rfc_example_unmasked_text_decodes_in_client_role() -> None:
    wire = bytes.fromhex("810548656c6c6f")
    assert FrameDecoder(Role.CLIENT).feed(wire) == [TextMessage("Hello")]


def test_rfc_example_fragmented_text_is_joined() -> None:
    wire = bytes.fromhex("010348656c80026c6f")
    assert FrameDecoder(Role.CLIENT).feed(wire) == [TextMessage("Hello")]


def test_binary_message_round_trips_through_encoder_and_decoder() -> None:
    payload = os.urandom(70000)
    wire = FrameEncoder(Role.CLIENT).message(payload)
    assert server_decode(wire) == [BinaryMessage(payload)]


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200000])
def test_every_length_encoding_round_trips(size: int) -> None:
    payload = b"x" * size
    wire = FrameEncoder(Role.SERVER).message(payload)
    assert FrameDecoder(Role.CLIENT).feed(wire) == [BinaryMessage(payload)]


def test_server_frames_are_not_masked_and_client_frames_are() -> None:
    assert not FrameEncoder(Role.SERVER).message("hi")[1] & 0x80
    assert FrameEncoder(Role.CLIENT).message("hi")[1] & 0x80


@pytest.mark.parametrize("size", [1, 1001, 16 * 1024 + 3, 70000])
def test_masking_twice_restores_payload(size: int) -> None:
    payload = os.urandom(size)
    mask = os.urandom(4)
    masked = _apply_mask(payload, mask)
    assert masked != payload
    assert _apply_mask(masked, mask) == payload
    assert masked == bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_control_frames_interleaved_in_a_fragmented_message_arrive_first() -> None:
    wire = (
        client_frame(Opcode.TEXT, b"frag", fin=False)
        + client_frame(Opcode.PING, b"p1")
        + client_frame(Opcode.CONTINUATION, b"ment", fin=False)
        + client_frame(Opcode.PONG, b"p2")
        + client_frame(Opcode.CONTINUATION, b"ed")
    )
    assert server_decode(wire) == [Ping(b"p1"), Pong(b"p2"), TextMessage("fragmented")]


def test_utf8_split_across_fragments_is_accepted() -> None:
    encoded = "κόσμε".encode()
    wire = client_frame(Opcode.TEXT, encoded[:3], fin=False) + client_frame(
        Opcode.CONTINUATION, encoded[3:]
    )
    assert server_decode(wire) == [TextMessage("κόσμε")]


def test_close_frame_carries_code_and_reason() -> None:
    wire = FrameEncoder(Role.CLIENT).close(4001, "done")
    assert server_decode(wire) == [Close(4001, "done")]


def test_empty_close_frame_reports_no_status() -> None:
    assert server_decode(client_frame(Opcode.CLOSE, b"")) == [Close(1005, "")]


def test_bytes_after_close_are_ignored() -> None:
    decoder = FrameDecoder(Role.SERVER)
    events = decoder.feed(FrameEncoder(Role.CLIENT).close() + client_frame(Opcode.TEXT, b"late"))
    assert events == [Close(1000, "")]
    assert decoder.finished
    assert decoder.feed(client_frame(Opcode.TEXT, b"later")) == []


# -- validation -----------------------------------------------------------------------


def test_unmasked_client_frame_is_a_protocol_error() -> None:
    wire = encode_frame(Opcode.TEXT, b"hi", mask=False)
    assert error_code(server_decode(wire)) == 1002


def test_masked_server_frame_is_a_protocol_error_for_clients() -> None:
    wire = encode_frame(Opcode.TEXT, b"hi", mask=True)
    assert error_code(FrameDecoder(Role.CLIENT).feed(wire)) == 1002


@pytest.mark.parametrize("rsv", [0x40, 0x20, 0x10, 0x70])
def test_reserved_bits_without_extension_are_a_protocol_error(rsv: int) -> None:
    assert error_code(server_decode(client_frame(Opcode.TEXT, b"hi", rsv=rsv))) == 1002


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcodes_are_a_protocol_error(opcode: int) -> None:
    assert error_code(server_decode(client_frame(opcode, b""))) == 1002


def test_control_frame_over_125_bytes_is_a_protocol_error() -> None:
    assert error_code(server_decode(client_frame(Opcode.PING, b"x" * 126))) == 1002


def test_fragmented_control_frame_is_a_protocol_error() -> None:
    assert error_code(server_decode(client_frame(Opcode.PING, b"x", fin=False))) == 1002


def test_continuation_without_a_start_is_a_protocol_error() -> None:
    assert error_code(server_decode(client_frame(Opcode.CONTINUATION, b"x"))) == 1002


def test_new_data_frame_inside_a_fragmented_message_is_a_protocol_error() -> None:
    wire = client_frame(Opcode.TEXT, b"a", fin=False) + client_frame(Opcode.TEXT, b"b")
    assert error_code(server_decode(wire)) == 1002


def test_close_payload_of_one_byte_is_a_protocol_error() -> None:
    assert error_code(server_decode(client_frame(Opcode.CLOSE, b"\x03"))) == 1002


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000])
def test_invalid_close_codes_are_a_protocol_error(code: int) -> None:
    wire = client_frame(Opcode.CLOSE, struct.pack("!H", code))
    assert error_code(server_decode(wire)) == 1002
    assert not is_valid_close_code(code)


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1011, 1012, 1014, 3000, 4999])
def test_valid_close_codes_are_reported(code: int) -> None:
    wire = client_frame(Opcode.CLOSE, struct.pack("!H", code))
    assert server_decode(wire) == [Close(code, "")]


def test_close_reason_that_is_not_utf8_is_invalid_payload() -> None:
    wire = client_frame(Opcode.CLOSE, struct.pack("!H", 1000) + b"\xff")
    assert error_code(server_decode(wire)) == 1007


def test_invalid_utf8_in_text_is_invalid_payload() -> None:
    assert error_code(server_decode(client_frame(Opcode.TEXT, b"ok\xc0\xafok"))) == 1007


def test_invalid_utf8_fails_on_the_first_bad_fragment_before_the_message_ends() -> None:
    decoder = FrameDecoder(Role.SERVER)
    assert decoder.feed(client_frame(Opcode.TEXT, "κ".encode(), fin=False)) == []
    events = decoder.feed(client_frame(Opcode.CONTINUATION, b"\xed\xa0\x80", fin=False))
    assert error_code(events) == 1007


def test_invalid_utf8_fails_before_the_rest_of_a_frame_arrives() -> None:
    frame = client_frame(Opcode.TEXT, b"good" + b"\xf4\x90\x80\x80" + b"x" * 100)
    decoder = FrameDecoder(Role.SERVER)
    assert error_code(decoder.feed(frame[:16])) == 1007


def test_truncated_multibyte_sequence_at_message_end_is_invalid() -> None:
    wire = client_frame(Opcode.TEXT, b"a\xce", fin=False) + client_frame(Opcode.CONTINUATION, b"")
    assert error_code(server_decode(wire)) == 1007


def test_message_over_max_message_size_is_too_big_from_the_header_alone() -> None:
    frame = client_frame(Opcode.BINARY, b"x" * 2000)
    assert error_code(server_decode(frame[:8], max_message_size=1000)) == 1009


def test_fragmented_message_over_max_message_size_is_too_big() -> None:
    wire = client_frame(Opcode.BINARY, b"x" * 600, fin=False) + client_frame(
        Opcode.CONTINUATION, b"x" * 600
    )
    assert error_code(server_decode(wire, max_message_size=1000)) == 1009


def test_message_exactly_at_max_message_size_is_accepted() -> None:
    assert server_decode(client_frame(Opcode.BINARY, b"x" * 1000), max_message_size=1000) == [
        BinaryMessage(b"x" * 1000)
    ]


def test_message_spanning_exactly_max_message_fragments_is_accepted() -> None:
    wire = client_frame(Opcode.TEXT, b"a", fin=False) + b"".join(
        client_frame(Opcode.CONTINUATION, b"b", fin=index == 8) for index in range(9)
    )
    assert server_decode(wire, max_message_fragments=10) == [TextMessage("a" + "b" * 9)]


def test_one_fragment_more_than_max_message_fragments_is_too_big_from_its_header() -> None:
    wire = (
        client_frame(Opcode.BINARY, b"", fin=False)
        + client_frame(Opcode.CONTINUATION, b"", fin=False) * 9
    )
    decoder = FrameDecoder(Role.SERVER, max_message_fragments=10)
    assert decoder.feed(wire) == []
    # Only the first two header bytes of the eleventh frame are needed to refuse it.
    events = decoder.feed(client_frame(Opcode.CONTINUATION, b"x" * 100)[:2])
    assert error_code(events) == 1009
    assert "10 fragments" in events[-1].reason


def test_fragment_count_starts_again_with_each_message() -> None:
    message = client_frame(Opcode.BINARY, b"a", fin=False) + client_frame(
        Opcode.CONTINUATION, b"b"
    )
    assert server_decode(message * 5, max_message_fragments=2) == [BinaryMessage(b"ab")] * 5


def test_fragments_are_unlimited_with_max_message_fragments_none() -> None:
    wire = (
        client_frame(Opcode.BINARY, b"", fin=False)
        + client_frame(Opcode.CONTINUATION, b"", fin=False) * 200_000
        + client_frame(Opcode.CONTINUATION, b"end")
    )
    assert server_decode(wire, max_message_fragments=None) == [BinaryMessage(b"end")]


def test_reassembly_holds_one_buffer_whatever_the_fragment_size() -> None:
    decoder = FrameDecoder(Role.SERVER)
    decoder.feed(
        client_frame(Opcode.TEXT, b"ab", fin=False)
        + client_frame(Opcode.CONTINUATION, b"ab", fin=False) * 999
    )
    message = decoder._message
    assert message is not None
    assert message.payload == b"ab" * 1000
    assert message.fragments == 1000
    assert decoder.feed(client_frame(Opcode.CONTINUATION, b"!")) == [
        TextMessage("ab" * 1000 + "!")
    ]


def test_invalid_utf8_in_the_last_fragment_of_a_text_message_is_invalid_payload() -> None:
    wire = client_frame(Opcode.TEXT, b"ok", fin=False) + client_frame(Opcode.CONTINUATION, b"\xff")
    assert error_code(server_decode(wire)) == 1007


def test_events_before_an_error_are_still_returned() -> None:
    wire = client_frame(Opcode.TEXT, b"first") + client_frame(9, b"x" * 200)
    events = server_decode(wire)
    assert events[0] == TextMessage("first")
    assert error_code(events) == 1002


def test_encoder_refuses_oversized_control_payloads() -> None:
    with pytest.raises(ValueError, match="125"):
        FrameEncoder().ping(b"x" * 126)
    with pytest.raises(ValueError, match="123"):
        FrameEncoder().close(1000, "x" * 124)


# -- properties -----------------------------------------------------------------------

messages = st.lists(
    st.one_of(st.text(max_size=300), st.binary(max_size=300)), min_size=1, max_size=8
)


@settings(max_examples=150, deadline=None)
@given(messages=messages, cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=20))
def test_any_split_of_a_valid_stream_decodes_identically(
    messages: list[str | bytes], cuts: list[int]
) -> None:
    encoder = FrameEncoder(Role.CLIENT)
    wire = b"".join(encoder.message(m) for m in messages) + encoder.ping(b"!")
    expected = FrameDecoder(Role.SERVER).feed(wire)
    decoder = FrameDecoder(Role.SERVER)
    events: list[object] = []
    previous = 0
    for cut in sorted(c % (len(wire) + 1) for c in cuts) + [len(wire)]:
        events += decoder.feed(wire[previous:cut])
        previous = cut
    assert events == expected
    assert expected[:-1] == [
        TextMessage(m) if isinstance(m, str) else BinaryMessage(m) for m in messages
    ]


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=2000))
def test_garbage_never_hangs_or_raises(garbage: bytes) -> None:
    decoder = FrameDecoder(Role.SERVER, max_message_size=4096)
    for start in range(0, len(garbage), 97):
        events = decoder.feed(garbage[start : start + 97])
        assert all(
            isinstance(e, TextMessage | BinaryMessage | Ping | Pong | Close | ProtocolError)
            for e in events
        )


# -- handshake helpers ---------------------------------------------------------------


def test_accept_key_matches_rfc_example() -> None:
    # RFC 6455 §1.3.
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def good_headers(**overrides: str) -> dict[str, str]:
    headers = {
        "Upgrade": "websocket",
        "Connection": "keep-alive, Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    headers.update(overrides)
    return headers


def test_valid_upgrade_request_is_accepted() -> None:
    assert check_upgrade_request("GET", good_headers()) is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"Upgrade": "h2c"},
        {"Connection": "keep-alive"},
        {"Sec-WebSocket-Key": "short"},
        {"Sec-WebSocket-Key": ""},
    ],
)
def test_bad_upgrade_requests_get_400(overrides: dict[str, str]) -> None:
    rejection = check_upgrade_request("GET", good_headers(**overrides))
    assert rejection is not None and rejection.status == 400


def test_post_upgrade_gets_400() -> None:
    rejection = check_upgrade_request("POST", good_headers())
    assert rejection is not None and rejection.status == 400


def test_wrong_version_gets_426_with_the_supported_version() -> None:
    rejection = check_upgrade_request("GET", good_headers(**{"Sec-WebSocket-Version": "8"}))
    assert rejection is not None
    assert rejection.status == 426
    assert rejection.headers == {"Sec-WebSocket-Version": "13"}


def test_extensions_header_is_parsed_with_parameters_and_quotes() -> None:
    parsed = parse_extensions(
        ['permessage-deflate; client_max_window_bits; server_max_window_bits="10"', "x-foo"]
    )
    assert parsed == [
        ("permessage-deflate", {"client_max_window_bits": None, "server_max_window_bits": "10"}),
        ("x-foo", {}),
    ]


def test_extensions_are_formatted_back() -> None:
    value = format_extensions([("permessage-deflate", {"server_no_context_takeover": None})])
    assert value == "permessage-deflate; server_no_context_takeover"
    assert parse_extensions(value) == [
        ("permessage-deflate", {"server_no_context_takeover": None})
    ]


def test_subprotocols_keep_client_order() -> None:
    assert parse_subprotocols(["chat, superchat", "mqtt"]) == ["chat", "superchat", "mqtt"]
    assert parse_subprotocols(None) == []
