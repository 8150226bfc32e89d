"""permessage-deflate negotiation and compression (RFC 7692), without sockets."""

from __future__ import annotations

import os
import zlib

import pytest

from cyclone.websocket.deflate import (
    NegotiationError,
    PerMessageDeflate,
    client_offer,
    negotiate_client,
    negotiate_server,
)
from cyclone.websocket.frames import (
    BinaryMessage,
    FrameDecoder,
    FrameEncoder,
    Opcode,
    ProtocolError,
    Role,
    TextMessage,
    encode_frame,
    parse_extensions,
)


def negotiated(offer: str, server_options: dict | None = None, client_options: dict | None = None):
    accepted = negotiate_server(parse_extensions(offer), server_options or {})
    assert accepted is not None
    header, server = accepted
    client = negotiate_client(parse_extensions(header), client_options or {})
    assert client is not None
    return header, server, client


def test_rfc_example_hello_decompresses() -> None:
    # RFC 7692 §7.2.3.1: "Hello" compressed, one frame.
    codec = PerMessageDeflate(Role.CLIENT)
    assert codec.decode_frame(bytes.fromhex("f248cdc9c90700"), True, 0) == b"Hello"


def test_default_offer_is_accepted_without_parameters() -> None:
    header, _, _ = negotiated(client_offer({}))
    assert header == "permessage-deflate"


def test_messages_round_trip_with_context_takeover() -> None:
    _, server, client = negotiated(client_offer({}))
    server_encoder = FrameEncoder(Role.SERVER, server)
    client_decoder = FrameDecoder(Role.CLIENT, extension=client)
    for text in ["hello " * 50, "hello " * 50, "other"]:
        assert client_decoder.feed(server_encoder.message(text)) == [TextMessage(text)]
    client_encoder = FrameEncoder(Role.CLIENT, client)
    server_decoder = FrameDecoder(Role.SERVER, extension=server)
    payload = os.urandom(5000)
    assert server_decoder.feed(client_encoder.message(payload)) == [BinaryMessage(payload)]


def test_context_takeover_makes_repeated_messages_smaller() -> None:
    _, server, _ = negotiated(client_offer({}))
    first = server.encode_message(b"the same sentence again and again")
    second = server.encode_message(b"the same sentence again and again")
    assert len(second) < len(first)


def test_server_no_context_takeover_is_honoured() -> None:
    header, server, client = negotiated("permessage-deflate; server_no_context_takeover")
    assert "server_no_context_takeover" in header
    first = server.encode_message(b"the same sentence again and again")
    second = server.encode_message(b"the same sentence again and again")
    assert first == second
    fresh = PerMessageDeflate(Role.CLIENT)
    assert fresh.decode_frame(second, True, 0) == b"the same sentence again and again"
    assert client.decompress_no_context_takeover


def test_server_max_window_bits_is_answered_and_used() -> None:
    header, server, _ = negotiated("permessage-deflate; server_max_window_bits=10")
    assert "server_max_window_bits=10" in header
    assert server.compress_window_bits == 10


def test_window_bits_8_offer_is_declined_because_zlib_cannot_compress_with_it() -> None:
    offers = parse_extensions(
        "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_no_context_takeover"
    )
    accepted = negotiate_server(offers, {})
    assert accepted is not None
    assert accepted[0] == "permessage-deflate; server_no_context_takeover"


@pytest.mark.parametrize(
    "offer",
    [
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; unknown_parameter",
        "x-webkit-deflate-frame",
    ],
)
def test_invalid_offers_are_declined(offer: str) -> None:
    assert negotiate_server(parse_extensions(offer), {}) is None


def test_client_fails_when_server_answers_an_unknown_parameter() -> None:
    with pytest.raises(NegotiationError):
        negotiate_client(parse_extensions("permessage-deflate; bogus"), {})


def test_client_honours_client_max_window_bits() -> None:
    client = negotiate_client(parse_extensions("permessage-deflate; client_max_window_bits=9"), {})
    assert client is not None and client.compress_window_bits == 9


def test_unknown_compression_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="compresion_level"):
        negotiate_server(parse_extensions("permessage-deflate"), {"compresion_level": 9})


def test_compression_level_and_mem_level_are_used() -> None:
    _, server, _ = negotiated("permessage-deflate", {"compression_level": 9, "mem_level": 9})
    assert (server.compression_level, server.mem_level) == (9, 9)


def test_fragmented_compressed_message_decodes() -> None:
    _, server, client = negotiated(client_offer({}))
    compressed = client.encode_message(b"fragmented " * 100)
    wire = encode_frame(
        Opcode.TEXT, compressed[:10], fin=False, rsv1=True, mask=True
    ) + encode_frame(Opcode.CONTINUATION, compressed[10:], mask=True)
    assert FrameDecoder(Role.SERVER, extension=server).feed(wire) == [
        TextMessage("fragmented " * 100)
    ]


def test_deflate_bomb_stops_at_max_message_size() -> None:
    _, server, client = negotiated(client_offer({}))
    bomb = client.encode_message(b"\x00" * 5_000_000)
    assert len(bomb) < 10_000
    decoder = FrameDecoder(Role.SERVER, max_message_size=100_000, extension=server)
    events = decoder.feed(encode_frame(Opcode.BINARY, bomb, rsv1=True, mask=True))
    assert isinstance(events[-1], ProtocolError) and events[-1].code == 1009


def test_inflated_message_at_the_limit_is_accepted() -> None:
    _, server, client = negotiated(client_offer({}))
    compressed = client.encode_message(b"a" * 1000)
    decoder = FrameDecoder(Role.SERVER, max_message_size=1000, extension=server)
    events = decoder.feed(encode_frame(Opcode.BINARY, compressed, rsv1=True, mask=True))
    assert events == [BinaryMessage(b"a" * 1000)]


def test_corrupt_compressed_data_is_invalid_payload() -> None:
    _, server, _ = negotiated(client_offer({}))
    decoder = FrameDecoder(Role.SERVER, extension=server)
    events = decoder.feed(encode_frame(Opcode.BINARY, b"\xff\xff\xff\xff", rsv1=True, mask=True))
    assert isinstance(events[-1], ProtocolError) and events[-1].code == 1007


def test_rsv1_on_a_control_frame_is_a_protocol_error_even_with_deflate() -> None:
    _, server, _ = negotiated(client_offer({}))
    ping = encode_frame(Opcode.PING, b"", rsv1=True, mask=True)
    events = FrameDecoder(Role.SERVER, extension=server).feed(ping)
    assert isinstance(events[-1], ProtocolError) and events[-1].code == 1002


def test_uncompressed_message_on_a_deflate_connection_is_accepted() -> None:
    _, server, _ = negotiated(client_offer({}))
    wire = encode_frame(Opcode.TEXT, b"plain", mask=True)
    assert FrameDecoder(Role.SERVER, extension=server).feed(wire) == [TextMessage("plain")]


def _ended_with_bfinal(data: bytes) -> bytes:
    """A message compressed as RFC 7692 §7.2.3.3 allows: its last block has BFINAL set."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH)


def test_a_message_ending_the_deflate_stream_is_followed_by_a_new_stream() -> None:
    codec = PerMessageDeflate(Role.SERVER)
    for word in (b"hello", b"world", b"again"):
        assert codec.decode_frame(_ended_with_bfinal(word), True, 0) == word


def test_data_after_the_final_deflate_block_is_corrupt() -> None:
    codec = PerMessageDeflate(Role.SERVER)
    with pytest.raises(ValueError, match="after the final DEFLATE block"):
        codec.decode_frame(_ended_with_bfinal(b"hello") + b"more", True, 0)


def test_a_later_fragment_after_the_final_deflate_block_is_corrupt() -> None:
    codec = PerMessageDeflate(Role.SERVER)
    assert codec.decode_frame(_ended_with_bfinal(b"hello"), False, 0) == b"hello"
    with pytest.raises(ValueError, match="after the final DEFLATE block"):
        codec.decode_frame(b"\x00" * 1000, False, 0)


def test_empty_fragments_after_the_final_deflate_block_end_the_message() -> None:
    codec = PerMessageDeflate(Role.SERVER)
    assert codec.decode_frame(_ended_with_bfinal(b"hello"), False, 0) == b"hello"
    assert codec.decode_frame(b"", False, 0) == b""
    assert codec.decode_frame(b"", True, 0) == b""
    assert codec.decode_frame(_ended_with_bfinal(b"next"), True, 0) == b"next"


def test_compressed_fragments_are_inflated_into_one_buffer() -> None:
    _, server, client = negotiated(client_offer({}))
    payload = os.urandom(5000)
    compressor = zlib.compressobj(0, zlib.DEFLATED, -15)
    compressed = (compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    pieces = [compressed[index : index + 3] for index in range(0, len(compressed), 3)]
    wire = encode_frame(Opcode.BINARY, pieces[0], fin=False, rsv1=True, mask=True) + b"".join(
        encode_frame(Opcode.CONTINUATION, piece, fin=index == len(pieces) - 1, mask=True)
        for index, piece in enumerate(pieces[1:], 1)
    )
    decoder = FrameDecoder(Role.SERVER, extension=server)
    assert decoder.feed(wire) == [BinaryMessage(payload)]
