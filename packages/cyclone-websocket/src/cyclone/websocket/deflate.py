"""permessage-deflate (RFC 7692): negotiation and the per-message codec, without I/O.

    >>> from cyclone.websocket.deflate import negotiate_server, PerMessageDeflate
    >>> from cyclone.websocket.frames import parse_extensions, Role
    >>> offers = parse_extensions("permessage-deflate; client_max_window_bits")
    >>> header, server = negotiate_server(offers, {})
    >>> header
    'permessage-deflate'
    >>> client = PerMessageDeflate(Role.CLIENT)
    >>> client.decode_frame(server.encode_message(b"hi" * 100), True, 0) == b"hi" * 100
    True

The negotiated object is handed to `cyclone.websocket.frames.FrameDecoder` and
`FrameEncoder` as their ``extension``: it compresses whole outgoing messages and
decompresses incoming ones frame by frame. Decompression is bounded by the codec's
``max_message_size`` through ``decompressobj.decompress(data, max_length)``, so a small
"deflate bomb" never inflates past the limit before the connection is failed with 1009.

``compression_options`` (the dict a handler's ``get_compression_options()`` returns, or the
client's ``compression_options``) may hold ``compression_level`` (zlib level, default 6),
``mem_level`` (zlib memLevel, default 8), ``max_window_bits`` (9-15: the window we use to
compress, default 15) and ``no_context_takeover`` (True: compress each message on its own,
trading ratio for memory).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from cyclone.websocket.frames import MessageTooBig, Role, format_extensions

__all__ = [
    "EXTENSION_NAME",
    "NegotiationError",
    "PerMessageDeflate",
    "client_offer",
    "negotiate_client",
    "negotiate_server",
]

EXTENSION_NAME = "permessage-deflate"

#: Every frame of a compressed message ends as if flushed with Z_SYNC_FLUSH; the sender
#: strips this empty stored block and the receiver appends it back (RFC 7692 §7.2.1).
_TAIL = b"\x00\x00\xff\xff"

#: LZ77 window sizes a peer may ask for (RFC 7692 §7.1.2). zlib refuses to compress raw
#: deflate with an 8-bit window, so we never promise to, but we can inflate any of them.
_WINDOW_BITS = range(8, 16)
_MIN_COMPRESS_WINDOW_BITS = 9

_KNOWN_PARAMETERS = frozenset(
    {
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
    }
)


class NegotiationError(ValueError):
    """The peer's permessage-deflate parameters are invalid or can't be honoured."""


class PerMessageDeflate:
    """The negotiated compressor/decompressor pair for one connection (RFC 7692 §7).

    ``compress_window_bits`` and ``compress_no_context_takeover`` shape what we send;
    ``decompress_no_context_takeover`` says the peer resets its window after each message,
    so we may too. We always inflate with a 15-bit window: that reads any smaller window.
    """

    def __init__(
        self,
        role: Role,
        *,
        compress_window_bits: int = 15,
        compress_no_context_takeover: bool = False,
        decompress_no_context_takeover: bool = False,
        compression_level: int = 6,
        mem_level: int = 8,
    ) -> None:
        if not _MIN_COMPRESS_WINDOW_BITS <= compress_window_bits <= 15:
            raise NegotiationError(f"cannot compress with window bits {compress_window_bits}")
        self.role = role
        self.compress_window_bits = compress_window_bits
        self.compress_no_context_takeover = compress_no_context_takeover
        self.decompress_no_context_takeover = decompress_no_context_takeover
        self.compression_level = compression_level
        self.mem_level = mem_level
        self._compressor = self._new_compressor()
        self._decompressor = zlib.decompressobj(-15)

    def _new_compressor(self) -> Any:
        return zlib.compressobj(
            self.compression_level, zlib.DEFLATED, -self.compress_window_bits, self.mem_level
        )

    def encode_message(self, data: bytes) -> bytes:
        """Compress one whole message payload (RFC 7692 §7.2.1)."""
        compressor = self._compressor
        flush_mode = zlib.Z_FULL_FLUSH if self.compress_no_context_takeover else zlib.Z_SYNC_FLUSH
        compressed = compressor.compress(data) + compressor.flush(flush_mode)
        if compressed.endswith(_TAIL):
            compressed = compressed[:-4]
        return compressed or b"\x00"

    def decode_frame(self, payload: bytes, final: bool, max_length: int) -> bytes:
        """Inflate one frame of a compressed message (RFC 7692 §7.2.2).

        ``max_length`` (0: unbounded) is the most output this frame may produce; going over
        raises MessageTooBig without inflating the rest. Corrupt data raises ValueError.

        A sender may end a message with a DEFLATE block whose BFINAL bit is set (§7.2.3.3):
        that ends the DEFLATE stream, so the next message starts a new one. Anything but
        our own appended tail after such a block is corrupt: zlib would otherwise keep
        every later byte in ``unused_data``, growing for as long as the peer sends.
        """
        decompressor = self._decompressor
        if decompressor.eof:
            # An earlier frame of this message ended the DEFLATE stream.
            if payload:
                raise ValueError(f"{len(payload)} bytes after the final DEFLATE block")
            inflated = b""
        else:
            try:
                inflated = decompressor.decompress(
                    payload + _TAIL if final else payload, max_length
                )
            except zlib.error as exc:
                raise ValueError(str(exc)) from None
            if decompressor.unconsumed_tail:
                raise MessageTooBig(f"inflated message exceeds {max_length - 1} bytes")
            if decompressor.eof and len(decompressor.unused_data) > (len(_TAIL) if final else 0):
                raise ValueError("data after the final DEFLATE block")
        if final and (decompressor.eof or self.decompress_no_context_takeover):
            self._decompressor = zlib.decompressobj(-15)
        return inflated


def _window_bits(name: str, value: str | None) -> int:
    if value is None or not value.isdigit() or int(value) not in _WINDOW_BITS:
        raise NegotiationError(f"invalid {name}={value!r}: must be 8 to 15")
    return int(value)


def _check_parameters(params: Mapping[str, str | None]) -> None:
    unknown = set(params) - _KNOWN_PARAMETERS
    if unknown:
        raise NegotiationError(f"unknown permessage-deflate parameters {sorted(unknown)}")
    for flag in ("server_no_context_takeover", "client_no_context_takeover"):
        if flag in params and params[flag] is not None:
            raise NegotiationError(f"{flag} takes no value, got {params[flag]!r}")


def _options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    options = dict(options or {})
    known = {"compression_level", "mem_level", "max_window_bits", "no_context_takeover"}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown compression options {sorted(unknown)}; known: {sorted(known)}")
    return options


def negotiate_server(
    offers: list[tuple[str, dict[str, str | None]]], options: Mapping[str, Any] | None
) -> tuple[str, PerMessageDeflate] | None:
    """Accept the first acceptable permessage-deflate offer (RFC 7692 §5, §7.1).

    Returns the Sec-WebSocket-Extensions response value and the codec, or None when no
    offer can be honoured (the connection then simply runs uncompressed).
    """
    settings = _options(options)
    preferred_bits = int(settings.get("max_window_bits", 15))
    for name, params in offers:
        if name != EXTENSION_NAME:
            continue
        try:
            _check_parameters(params)
            window_bits = preferred_bits
            if "server_max_window_bits" in params:
                window_bits = min(
                    window_bits,
                    _window_bits("server_max_window_bits", params["server_max_window_bits"]),
                )
            if "client_max_window_bits" in params and params["client_max_window_bits"] is not None:
                _window_bits("client_max_window_bits", params["client_max_window_bits"])
        except NegotiationError:
            continue
        if window_bits < _MIN_COMPRESS_WINDOW_BITS:
            continue
        response: dict[str, str | None] = {}
        no_context_takeover = bool(settings.get("no_context_takeover", False))
        if "server_no_context_takeover" in params or no_context_takeover:
            no_context_takeover = True
            response["server_no_context_takeover"] = None
        if "server_max_window_bits" in params or window_bits != 15:
            response["server_max_window_bits"] = str(window_bits)
        codec = PerMessageDeflate(
            Role.SERVER,
            compress_window_bits=window_bits,
            compress_no_context_takeover=no_context_takeover,
            # In an offer client_no_context_takeover only says the client *could* reset its
            # window (§7.1.1.2); it does so only if we answer with it, which we don't.
            decompress_no_context_takeover=False,
            compression_level=settings.get("compression_level", 6),
            mem_level=settings.get("mem_level", 8),
        )
        return format_extensions([(EXTENSION_NAME, response)]), codec
    return None


def client_offer(options: Mapping[str, Any] | None) -> str:
    """The Sec-WebSocket-Extensions value a client sends to ask for compression (§7.1)."""
    settings = _options(options)
    params: dict[str, str | None] = {"client_max_window_bits": None}
    if "max_window_bits" in settings:
        params["client_max_window_bits"] = str(int(settings["max_window_bits"]))
    if settings.get("no_context_takeover"):
        params["client_no_context_takeover"] = None
    return format_extensions([(EXTENSION_NAME, params)])


def negotiate_client(
    response: list[tuple[str, dict[str, str | None]]], options: Mapping[str, Any] | None
) -> PerMessageDeflate | None:
    """Build the client codec from the server's Sec-WebSocket-Extensions answer (§7.1).

    Raises NegotiationError when the server accepted something we didn't offer or can't do,
    which fails the handshake (RFC 6455 §4.1: extensions not requested).
    """
    if not response:
        return None
    settings = _options(options)
    if len(response) != 1 or response[0][0] != EXTENSION_NAME:
        names = [name for name, _ in response]
        raise NegotiationError(f"server accepted extensions we did not offer: {names}")
    params = response[0][1]
    _check_parameters(params)
    window_bits = int(settings.get("max_window_bits", 15))
    if "client_max_window_bits" in params:
        window_bits = min(
            window_bits, _window_bits("client_max_window_bits", params["client_max_window_bits"])
        )
    if "server_max_window_bits" in params:
        _window_bits("server_max_window_bits", params["server_max_window_bits"])
    if window_bits < _MIN_COMPRESS_WINDOW_BITS:
        raise NegotiationError(f"zlib cannot compress with client_max_window_bits={window_bits}")
    return PerMessageDeflate(
        Role.CLIENT,
        compress_window_bits=window_bits,
        compress_no_context_takeover=(
            "client_no_context_takeover" in params or bool(settings.get("no_context_takeover"))
        ),
        decompress_no_context_takeover="server_no_context_takeover" in params,
        compression_level=settings.get("compression_level", 6),
        mem_level=settings.get("mem_level", 8),
    )
