"""A sans-IO HTTP/1.1 request parser: bytes in, typed events out, no sockets.

    >>> from cyclone.httpparser import RequestParser, RequestHead, BodyData, EndOfMessage
    >>> parser = RequestParser()
    >>> parser.receive(b"POST /x HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 2\\r\\n\\r\\nhi")
    >>> head = parser.next_event()
    >>> head.method, head.uri, head.headers["Host"]
    ('POST', '/x', 'a')
    >>> parser.next_event().data, parser.next_event() is EndOfMessage
    (b'hi', True)

The parser follows RFC 9112 strictly where leniency would allow request
smuggling or desynchronisation: conflicting or repeated Content-Length,
Transfer-Encoding together with Content-Length, malformed chunk sizes,
obs-fold, bad header names or values and a missing or repeated Host on
HTTP/1.1 are all rejected with a `MalformedRequest` event carrying the status
to answer (an event, like the others, not an exception: the parser never
raises on client input).
After `EndOfMessage` it pauses (returns `PAUSED`) until the server has
answered and calls `start_next_request()`, so pipelined requests are
answered in order and never parsed ahead without bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from cyclone.httputil import TOKEN_PATTERN, HTTPHeaders, canonical_header_name

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "BodyData",
    "EndOfMessage",
    "MalformedRequest",
    "ParseError",
    "RequestHead",
    "RequestParser",
]

#: Default cap on the whole request head (request line + headers), as Tornado's
#: ``max_header_size``. Larger heads get 431.
DEFAULT_MAX_HEADER_SIZE: Final = 64 * 1024
#: Default cap on the number of header fields (lines) in a request head, as Apache's
#: ``LimitRequestFields``. Each field costs a few hundred bytes of Python objects, so
#: without it a 64 KiB head of tiny fields would hold about 2.4 MB. More: 431.
DEFAULT_MAX_HEADER_COUNT: Final = 100
#: Default cap on the request line alone. RFC 9110 §4.1 recommends supporting
#: request-targets of at least 8000 octets; twice that leaves room. Longer: 414.
DEFAULT_MAX_REQUEST_LINE_SIZE: Final = 16 * 1024
#: Default cap on a request body, as Tornado's ``max_body_size``. Larger: 413.
DEFAULT_MAX_BODY_SIZE: Final = 100 * 1024 * 1024
#: A chunk-size line (size plus extensions) longer than this is an attack, not HTTP.
MAX_CHUNK_SIZE_LINE: Final = 4096
#: Hex digits in a chunk size: 16 covers any size a 64-bit counter can hold.
MAX_CHUNK_SIZE_DIGITS: Final = 16
#: Significant digits in a Content-Length: 19 hold any 64-bit size, and Python
#: refuses to convert more than 4300 digits at all (RFC 9110 §8.6 asks parsers
#: to guard against overflow). Leading zeros are valid (``1*DIGIT``) and ignored.
MAX_CONTENT_LENGTH_DIGITS: Final = 19
#: Empty lines tolerated before a request line (RFC 9112 §2.2 says ignore at least one).
MAX_LEADING_EMPTY_LINES: Final = 8


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: Returned by `RequestParser.next_event` when more bytes are needed.
NEED_DATA: Final = _Sentinel("NEED_DATA")
#: Returned after a complete request until `RequestParser.start_next_request` is called.
PAUSED: Final = _Sentinel("PAUSED")


@dataclass(slots=True)
class RequestHead:
    """A parsed request line and header block.

    The defaults describe the common request: no body, no ``Expect``, an
    origin-form target.
    """

    method: str
    #: The target in origin-form (``/path?query``); absolute-form targets are reduced to it.
    uri: str
    version: str
    headers: HTTPHeaders
    #: The Host header's value (validated), or None when there is none (HTTP/1.0).
    host: str | None
    keep_alive: bool
    expect_continue: bool = False
    #: Declared body length, or None when there is no Content-Length.
    content_length: int | None = None
    chunked: bool = False
    #: The authority of an absolute-form target (it overrides Host, RFC 9112 §3.2.2).
    authority: str | None = None
    #: The scheme of an absolute-form target.
    scheme: str | None = None

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)


@dataclass(slots=True)
class BodyData:
    """Some bytes of the request body (chunked framing already removed)."""

    data: bytes


class _EndOfMessage:
    __slots__ = ()

    def __repr__(self) -> str:
        return "EndOfMessage"


#: The request's body is complete.
EndOfMessage: Final = _EndOfMessage()


@dataclass(slots=True)
class MalformedRequest:
    """The request cannot be parsed: answer ``status`` and close the connection.

    The last event of a connection: the parser returns it again if asked.
    """

    status: int
    message: str


#: The event's name in cyclone 2's first releases (it is an event, not an exception).
ParseError = MalformedRequest

_TOKEN = TOKEN_PATTERN
_METHOD_RE = re.compile(_TOKEN)
_HEADER_LINE_RE = re.compile(r"(" + _TOKEN + r"):[ \t]*(.*?)[ \t]*")
# Extracts the (name, value) pairs of a header block `_HEAD_RE` has validated, the
# value without its surrounding blanks. A greedy value ending in a non-blank (``[ \t]*``
# then gives back only the trailing blanks) is two to three times faster than a lazy
# ``[^\r\n]*?``, which tries the line end after every character.
_HEADER_PAIR_RE = re.compile(r"(" + _TOKEN + r"):[ \t]*((?:[^\r\n]*[^\r\n \t])?)[ \t]*\r\n")
_REQUEST_LINE_RE = re.compile(r"(" + _TOKEN + r") ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])")
# Request line and header block in one C-level pass (the head as text, with a CRLF
# after every line): method, target, major, minor, header block.
_HEAD_RE = re.compile(
    r"("
    + _TOKEN
    + r") ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])\r\n((?:"
    + _TOKEN
    + r":[^\r\n]*\r\n)*)"
)

# CTLs other than HTAB are never valid in a request head. CR and LF are left to
# the line splitting (a bare CR is rejected separately).
_FORBIDDEN_HEAD_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Control characters plus CR and LF. Deleting them from a well-formed head removes
# exactly two bytes per CRLF and nothing else: two C-level passes prove there is
# no CTL, bare CR or bare LF (a regex with look-arounds costs several times more).
_CONTROL_AND_LINE_BREAK_BYTES = bytes([*range(0x09), *range(0x0A, 0x20), 0x7F])
_HEAD_END_RE = re.compile(rb"\r?\n\r?\n")
_TARGET_RE = re.compile(r"[\x21-\x7e]+")
_VERSION_RE = re.compile(r"HTTP/([0-9])\.([0-9])")
_ABSOLUTE_TARGET_RE = re.compile(r"(?i)(https?)://([^/?#]*)([^#]*)")
_HOST_RE = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?")
# Chunk extensions may hold any visible text, but no CTL: a bare CR there is read
# as a line end by some proxies, a request-smuggling vector (RFC 9112 §7.1.1).
_CHUNK_SIZE_RE = re.compile(
    rb"([0-9A-Fa-f]{1,%d})[ \t]*(;[^\x00-\x08\x0a-\x1f\x7f]*)?" % MAX_CHUNK_SIZE_DIGITS
)
_DIGITS_RE = re.compile(r"[0-9]+")
#: Headers that change how a request is framed or kept alive (lower-cased).
_FRAMING_HEADERS = frozenset({"connection", "transfer-encoding", "content-length", "expect"})

# The parser's states: what the next bytes of the connection are.
#: A request head (or empty lines before one).
_HEAD: Final = "head"
#: Body bytes counted by Content-Length.
_BODY_LENGTH: Final = "body-length"
#: A chunk-size line of a chunked body (RFC 9112 §7.1).
_CHUNK_SIZE: Final = "chunk-size"
#: The data of a chunk.
_CHUNK_DATA: Final = "chunk-data"
#: The CRLF after a chunk's data.
_CHUNK_END: Final = "chunk-end"
#: Trailer fields after the last chunk, up to an empty line (RFC 9112 §7.1.2).
_TRAILERS: Final = "trailers"
#: The body is complete: EndOfMessage is next.
_END: Final = "end"
#: The request is complete: PAUSED until start_next_request().
_DONE: Final = "done"
#: The connection's bytes are not HTTP: the MalformedRequest again, forever.
_ERROR: Final = "error"
_CHUNKED_STATES: Final = frozenset({_CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS})
_BODY_STATES: Final = _CHUNKED_STATES | {_BODY_LENGTH}


def _body_data(pieces: list[bytes]) -> BodyData:
    return BodyData(pieces[0] if len(pieces) == 1 else b"".join(pieces))


def _keep_alive(version: str, connection_values: list[str]) -> bool:
    """Whether the connection persists after this request, from its Connection tokens (§9.3)."""
    tokens = {token.strip().lower() for value in connection_values for token in value.split(",")}
    if version == "HTTP/1.1":
        return "close" not in tokens
    return "keep-alive" in tokens and "close" not in tokens


def _describe_bad_header_line(lines: list[str]) -> str:
    """Name the first header line that is not ``token: value`` (obs-fold gets its own message)."""
    for line in lines:
        if line[:1] in (" ", "\t"):
            return "obsolete line folding (obs-fold) is not accepted"
        if line and not _HEADER_LINE_RE.fullmatch(line):
            return f"malformed header line: {line[:100]!r}"
    return "malformed header section"


def _describe_bad_request_line(line: str) -> str:
    """Say what is wrong with a request line that did not match ``method SP target SP version``."""
    parts = line.split(" ")
    if len(parts) != 3:
        return f"malformed request line: {line[:100]!r}"
    method, target, version = parts
    if not _METHOD_RE.fullmatch(method):
        return f"invalid method token: {method[:50]!r}"
    if not _VERSION_RE.fullmatch(version):
        return f"malformed HTTP version: {version[:20]!r}"
    return f"invalid request target: {target[:100]!r}"


class RequestParser:
    """Turns the bytes of one connection into request events.

    Call `receive` with whatever the socket delivered, then `next_event`
    until it returns `NEED_DATA` or `PAUSED`. Limits are attributes so a
    server (or a test) can change them; `max_body_size` may be raised for the
    current request after its head arrived (streaming uploads).

    The parser holds at most one request head (``max_header_size`` plus what
    one `receive` added) and, in a body, only the bytes not yet returned:
    every complete chunk of a chunked body present in the buffer comes out
    as one `BodyData`, whatever the chunk sizes.
    """

    # One parser per connection, idle ones included: slots, no __dict__.
    __slots__ = (
        "max_header_size",
        "max_body_size",
        "max_request_line_size",
        "max_header_count",
        "_buffer",
        "_state",
        "_remaining",
        "_body_received",
        "_trailer_size",
        "_empty_lines",
        "_head_scanned",
        "_trailer_scanned",
        "_chunk_line_scanned",
        "_error",
    )

    def __init__(
        self,
        max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        max_request_line_size: int = DEFAULT_MAX_REQUEST_LINE_SIZE,
        max_header_count: int = DEFAULT_MAX_HEADER_COUNT,
    ) -> None:
        self.max_header_size = max_header_size
        self.max_body_size = max_body_size
        self.max_request_line_size = max_request_line_size
        self.max_header_count = max_header_count
        self._buffer = bytearray()
        self._state = _HEAD
        self._remaining = 0
        self._body_received = 0
        self._trailer_size = 0
        self._empty_lines = 0
        # How far the search for the end of the head (or of a trailer line) got,
        # so bytes trickling in are scanned once: linear, not quadratic, time.
        self._head_scanned = 0
        self._trailer_scanned = 0
        self._chunk_line_scanned = 0
        self._error: MalformedRequest | None = None

    # -- feeding -------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Append bytes read from the socket."""
        self._buffer += data

    @property
    def buffered(self) -> int:
        """How many received bytes have not been turned into events yet."""
        return len(self._buffer)

    @property
    def waiting_for_head(self) -> bool:
        """True between requests: the next bytes start a request head."""
        return self._state == _HEAD

    @property
    def reading_body(self) -> bool:
        """True while a request body is being read (the application may answer before its end)."""
        return self._state in _BODY_STATES

    def take_buffered(self) -> bytes:
        """Remove and return every byte not parsed yet (for a protocol switch)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        self._state = _DONE
        return data

    def start_next_request(self) -> None:
        """Allow the next pipelined request to be parsed (the previous one was answered)."""
        if self._state == _DONE:
            self._state = _HEAD
            self._body_received = 0

    # -- events --------------------------------------------------------------

    def next_event(self) -> RequestHead | BodyData | _EndOfMessage | MalformedRequest | _Sentinel:
        """Return the next event, `NEED_DATA` or `PAUSED`."""
        state = self._state
        if state == _HEAD:
            return self._next_head()
        if state == _END:  # second: every request passes here, bodiless ones straight from _HEAD
            self._state = _DONE
            return EndOfMessage
        if state == _BODY_LENGTH:
            return self._next_length_body()
        if state in _CHUNKED_STATES:
            return self._next_chunked_body()
        if state == _ERROR:
            # Also how an error found after some body data comes out: the data first.
            return self._error  # type: ignore[return-value]
        return PAUSED

    def _fail(self, status: int, message: str) -> MalformedRequest:
        self._state = _ERROR
        self._error = MalformedRequest(status, message)
        return self._error

    def _fail_after(
        self, pieces: list[bytes], status: int, message: str
    ) -> BodyData | MalformedRequest:
        """Fail, but first return the body data collected before the error was found."""
        error = self._fail(status, message)
        return _body_data(pieces) if pieces else error

    def _next_head(self) -> RequestHead | MalformedRequest | _Sentinel:
        buffer = self._buffer
        if not buffer:
            return NEED_DATA
        if buffer[0] in (13, 10):
            while buffer[:2] == b"\r\n" or buffer[:1] == b"\n":
                del buffer[: 2 if buffer[:1] == b"\r" else 1]
                self._empty_lines += 1
                if self._empty_lines > MAX_LEADING_EMPTY_LINES:
                    return self._fail(400, "too many empty lines before the request line")
            if not buffer or buffer == b"\r":
                return NEED_DATA
            self._head_scanned = 0
        # An end marker is at most 4 bytes: one straddling the old end starts 3 before it.
        start = max(0, self._head_scanned - 3)
        # The usual head: CRLF CRLF ends it and no bare LF comes before (which would
        # end it earlier). Three C-level finds prove that; the regex, which allows
        # bare LFs, walks the head at about 10 ns a byte.
        end = buffer.find(b"\r\n\r\n", start)
        if (
            end != -1
            and buffer.find(b"\n\n", start, end) == -1
            and buffer.find(b"\n\r\n", start, end + 2) == -1
        ):
            marker_end = end + 4
        else:
            match = _HEAD_END_RE.search(buffer, start)
            if match is None:
                self._head_scanned = len(buffer)
                if len(buffer) > self.max_header_size or len(buffer) > self.max_request_line_size:
                    line_end = buffer.find(b"\n", 0, self.max_request_line_size + 2)
                    if line_end == -1 and len(buffer) > self.max_request_line_size:
                        return self._fail(414, "request line too long")
                    if len(buffer) > self.max_header_size:
                        return self._fail(431, "request header fields too large")
                return NEED_DATA
            end, marker_end = match.start(), match.end()
        if end > self.max_header_size:
            line_end = buffer.find(b"\n", 0, end)
            if line_end > self.max_request_line_size:
                return self._fail(414, "request line too long")
            return self._fail(431, "request header fields too large")
        head = bytes(buffer[:end])
        del buffer[:marker_end]
        self._empty_lines = 0
        self._head_scanned = 0
        return self._parse_head(head)

    def _parse_head(self, head: bytes) -> RequestHead | MalformedRequest:
        """The request line and header block (RFC 9112 §3, §5), checked and split into fields."""
        stripped = len(head.translate(None, _CONTROL_AND_LINE_BREAK_BYTES))
        if stripped + 2 * head.count(b"\r\n") == len(head):
            text = head.decode("latin-1") + "\r\n"
        else:
            checked = self._head_with_odd_bytes(head)
            if type(checked) is MalformedRequest:
                return checked
            text = checked  # type: ignore[assignment]
        match = _HEAD_RE.fullmatch(text)
        if match is None or match.start(5) - 2 > self.max_request_line_size:
            return self._fail_head(text)
        method, target, major, minor, block = match.groups()
        if major != "1":
            return self._fail(505, f"HTTP version not supported: HTTP/{major}.{minor}")
        version = "HTTP/1.0" if minor == "0" else "HTTP/1.1"

        values: dict[str, tuple[str, list[str]]] = {}
        if block:
            fields = _HEADER_PAIR_RE.findall(block)
            if len(fields) > self.max_header_count:
                return self._fail(431, f"more than {self.max_header_count} header fields")
            for name, value in fields:
                key = name.lower()
                entry = values.get(key)
                if entry is None:
                    values[key] = (canonical_header_name(name), [value])
                else:
                    entry[1].append(value)
        headers = HTTPHeaders.from_table(values)

        authority = scheme = None
        if target[0] != "/":
            other_form = self._other_target_form(method, target)
            if type(other_form) is MalformedRequest:
                return other_form
            target, authority, scheme = other_form  # type: ignore[misc]

        host_entry = values.get("host")
        host = None
        if host_entry is not None:
            if len(host_entry[1]) > 1:
                return self._fail(400, "more than one Host header")
            host = host_entry[1][0]
            if not _HOST_RE.fullmatch(host):
                return self._fail(400, f"invalid Host header: {host[:100]!r}")
        elif version == "HTTP/1.1":
            return self._fail(400, "HTTP/1.1 request without a Host header")

        self._body_received = 0
        # The version's default persistence; the defaults say: no body, no Expect.
        request = RequestHead(method, target, version, headers, host, version == "HTTP/1.1")
        if authority is not None:
            request.authority, request.scheme = authority, scheme
        if not _FRAMING_HEADERS.isdisjoint(values):
            return self._head_with_framing(request)
        self._state = _END
        return request

    def _head_with_odd_bytes(self, head: bytes) -> str | MalformedRequest:
        """A head with a bare LF or a control character: its text with CRLF lines, or the error.

        Bare LF line endings are accepted (RFC 9112 §2.2 lets a recipient
        read them as CRLF); a bare CR or another control character is not.
        """
        if head.count(b"\r") != head.count(b"\r\n"):
            return self._fail(400, "bare CR in the request head")
        if _FORBIDDEN_HEAD_BYTES.search(head):
            return self._fail(400, "control character in the request head")
        return head.decode("latin-1").replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n"

    def _other_target_form(
        self, method: str, target: str
    ) -> tuple[str, str | None, str | None] | MalformedRequest:
        """(origin-form target, authority, scheme) of a target not starting with "/" (§3.2).

        An absolute-form target is reduced to its path and query; ``*`` is
        for OPTIONS only; CONNECT's authority-form is left as it is.
        """
        absolute = _ABSOLUTE_TARGET_RE.fullmatch(target)
        if absolute:
            scheme, authority = absolute.group(1).lower(), absolute.group(2)
            path = absolute.group(3) or "/"
            if path[0] != "/":
                path = "/" + path
            if not _HOST_RE.fullmatch(authority) or not authority:
                return self._fail(400, f"invalid authority in request target: {authority!r}")
            return path, authority, scheme
        if target == "*":
            if method != "OPTIONS":
                return self._fail(400, "asterisk-form target is only valid for OPTIONS")
        elif method != "CONNECT":
            return self._fail(400, f"invalid request target: {target[:100]!r}")
        return target, None, None

    def _head_with_framing(self, head: RequestHead) -> RequestHead | MalformedRequest:
        """Complete ``head`` from Connection, Transfer-Encoding, Content-Length and Expect.

        RFC 9112 §6 (message body length) and §9.3 (persistence); the
        parser's next state follows from the framing.
        """
        values = head.headers.table
        version = head.version
        connection = values.get("connection")
        if connection is not None:
            head.keep_alive = _keep_alive(version, connection[1])
        framing = self._body_framing(version, values)
        if type(framing) is MalformedRequest:
            return framing
        head.content_length, head.chunked = framing  # type: ignore[misc]
        expect = values.get("expect")
        if expect is not None and version == "HTTP/1.1":
            head.expect_continue = expect[1][-1].strip().lower() == "100-continue"
        if head.chunked:
            self._state = _CHUNK_SIZE
        elif head.content_length:
            self._state = _BODY_LENGTH
            self._remaining = head.content_length
        else:
            self._state = _END
        return head

    def _body_framing(
        self, version: str, values: dict[str, tuple[str, list[str]]]
    ) -> tuple[int | None, bool] | MalformedRequest:
        """(Content-Length, chunked) of the body, refusing what could desynchronise (§6.1, §6.3)."""
        transfer_entry = values.get("transfer-encoding")
        length_entry = values.get("content-length")
        if transfer_entry is not None:
            if length_entry is not None:
                return self._fail(400, "both Transfer-Encoding and Content-Length")
            if version == "HTTP/1.0":
                return self._fail(400, "Transfer-Encoding in an HTTP/1.0 request")
            codings = [
                coding.strip().lower()
                for value in transfer_entry[1]
                for coding in value.split(",")
            ]
            if codings[-1] != "chunked" or codings.count("chunked") != 1:
                return self._fail(400, f"invalid Transfer-Encoding: {', '.join(codings)!r}")
            if len(codings) > 1:
                return self._fail(501, f"unsupported transfer coding: {codings[0]!r}")
            return None, True
        if length_entry is None:
            return None, False
        if len(length_entry[1]) > 1:
            return self._fail(400, "more than one Content-Length header")
        raw_length = length_entry[1][0]
        if not _DIGITS_RE.fullmatch(raw_length):
            return self._fail(400, f"invalid Content-Length: {raw_length[:40]!r}")
        significant = raw_length.lstrip("0")
        if len(significant) > MAX_CONTENT_LENGTH_DIGITS:
            return self._fail(413, f"Content-Length is too large: {raw_length[:40]!r}...")
        return int(significant or "0"), False

    def _fail_head(self, text: str) -> MalformedRequest:
        """Say precisely what is wrong with a head `_HEAD_RE` refused (``text`` ends in CRLF)."""
        request_line, _, block = text.partition("\r\n")
        if len(request_line) > self.max_request_line_size:
            return self._fail(414, "request line too long")
        if not _REQUEST_LINE_RE.fullmatch(request_line):
            return self._fail(400, _describe_bad_request_line(request_line))
        return self._fail(400, _describe_bad_header_line(block.split("\r\n")))

    def _next_length_body(self) -> BodyData | _EndOfMessage | MalformedRequest | _Sentinel:
        if self._remaining > self.max_body_size:
            return self._fail(413, f"request body of {self._remaining} bytes is too large")
        buffer = self._buffer
        if not buffer:
            return NEED_DATA
        take = min(self._remaining, len(buffer))
        data = bytes(buffer[:take]) if take < len(buffer) else bytes(buffer)
        del buffer[:take]
        self._remaining -= take
        if self._remaining == 0:
            self._state = _END
        return BodyData(data)

    def _next_chunked_body(self) -> BodyData | _EndOfMessage | MalformedRequest | _Sentinel:
        """Read a chunked body (RFC 9112 §7.1) as far as the buffer goes.

        The data of every complete chunk in the buffer comes out as one
        event: tiny chunks must not cost an event (and an object) each. Each
        step reads one part of the framing and returns None to go on, or
        the event to return.
        """
        pieces: list[bytes] = []
        event: BodyData | _EndOfMessage | MalformedRequest | _Sentinel | None
        while True:
            state = self._state
            if state == _CHUNK_SIZE:
                event = self._read_chunk_size(pieces)
            elif state == _CHUNK_DATA:
                event = self._read_chunk_data(pieces)
            elif state == _CHUNK_END:
                event = self._read_chunk_end(pieces)
            elif state == _TRAILERS:
                event = self._read_trailer_field()
            else:
                return PAUSED
            if event is not None:
                return event

    def _read_chunk_size(
        self, pieces: list[bytes]
    ) -> BodyData | MalformedRequest | _Sentinel | None:
        """The chunk-size line: its hex size (extensions ignored); size 0 starts the trailers."""
        buffer = self._buffer
        scanned = self._chunk_line_scanned
        line_end = buffer.find(b"\r\n", max(0, scanned - 1), MAX_CHUNK_SIZE_LINE + 2)
        if line_end == -1:
            if len(buffer) > MAX_CHUNK_SIZE_LINE or buffer.find(b"\n", scanned) != -1:
                return self._fail_after(pieces, 400, "malformed chunk size line")
            self._chunk_line_scanned = len(buffer)
            return _body_data(pieces) if pieces else NEED_DATA
        self._chunk_line_scanned = 0
        match = _CHUNK_SIZE_RE.fullmatch(buffer, 0, line_end)
        if match is None or b"\n" in buffer[:line_end]:
            return self._fail_after(
                pieces, 400, f"invalid chunk size line: {bytes(buffer[:40])!r}"
            )
        size = int(match.group(1), 16)
        del buffer[: line_end + 2]
        if size == 0:
            self._state = _TRAILERS
            self._trailer_size = 0
            self._trailer_scanned = 0
            return _body_data(pieces) if pieces else None
        if self._body_received + size > self.max_body_size:
            return self._fail_after(pieces, 413, "chunked request body is too large")
        self._remaining = size
        self._state = _CHUNK_DATA
        return None

    def _read_chunk_data(self, pieces: list[bytes]) -> BodyData | _Sentinel | None:
        """As much of the chunk's data as the buffer has."""
        buffer = self._buffer
        if not buffer:
            return _body_data(pieces) if pieces else NEED_DATA
        take = min(self._remaining, len(buffer))
        pieces.append(bytes(buffer[:take]))
        del buffer[:take]
        self._remaining -= take
        self._body_received += take
        if self._remaining:
            return _body_data(pieces)
        self._state = _CHUNK_END
        return None

    def _read_chunk_end(
        self, pieces: list[bytes]
    ) -> BodyData | MalformedRequest | _Sentinel | None:
        """The CRLF that must follow a chunk's data."""
        buffer = self._buffer
        if len(buffer) < 2:
            if buffer and buffer != b"\r":
                return self._fail_after(pieces, 400, "chunk data is not followed by CRLF")
            return _body_data(pieces) if pieces else NEED_DATA
        if buffer[:2] != b"\r\n":
            return self._fail_after(pieces, 400, "chunk data is not followed by CRLF")
        del buffer[:2]
        self._state = _CHUNK_SIZE
        return None

    def _read_trailer_field(self) -> _EndOfMessage | MalformedRequest | _Sentinel | None:
        """One trailer field, checked as a header line and dropped; an empty line ends the body."""
        buffer = self._buffer
        scanned = self._trailer_scanned
        line_end = buffer.find(b"\r\n", max(0, scanned - 1))
        if line_end == -1:
            if len(buffer) + self._trailer_size > self.max_header_size:
                return self._fail(431, "trailer section too large")
            if buffer.find(b"\n", scanned) != -1:
                return self._fail(400, "bare LF in the trailer section")
            self._trailer_scanned = len(buffer)
            return NEED_DATA
        line = bytes(buffer[:line_end])
        del buffer[: line_end + 2]
        self._trailer_scanned = 0
        if not line:
            self._state = _DONE
            return EndOfMessage
        self._trailer_size += line_end + 2
        if self._trailer_size > self.max_header_size:
            return self._fail(431, "trailer section too large")
        if (
            line[:1] in (b" ", b"\t")
            or b"\r" in line
            or _FORBIDDEN_HEAD_BYTES.search(line)
            or not _HEADER_LINE_RE.fullmatch(line.decode("latin-1"))
        ):
            return self._fail(400, f"malformed trailer field: {line[:100]!r}")
        return None
