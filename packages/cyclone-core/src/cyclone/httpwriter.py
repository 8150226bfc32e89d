"""Sans-IO HTTP/1.1 response framing: response events in, bytes out, no sockets.

    >>> from cyclone.httputil import HTTPHeaders
    >>> from cyclone.httpwriter import ResponseWriter
    >>> writer = ResponseWriter("HTTP/1.1", True, False)  # version, keep-alive, HEAD
    >>> parts = writer.frame_head(200, "OK", HTTPHeaders({"Date": "x"}), b"hel")
    >>> b"".join(parts)
    b'HTTP/1.1 200 OK\\r\\nDate: x\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n3\\r\\nhel\\r\\n'
    >>> writer.frame_body(b"lo"), writer.frame_end()
    ([b'2\\r\\n', b'lo', b'\\r\\n'], b'0\\r\\n\\r\\n')

`ResponseWriter` is the writing half of what `cyclone.httpparser` is for
reading, as h11's writers are: it chooses the framing when the head is
written (the application's Content-Length, chunked for HTTP/1.1 bodies of
unknown length, close-delimited for HTTP/1.0; none for HEAD, 1xx, 204 and
304, RFC 9110 §6.4.1 and RFC 9112 §6), adds ``Date``, ``Transfer-Encoding``
and ``Connection``, refuses a head with CR or LF inside a line or text that
is not Latin-1 (response splitting), encodes chunks and counts body bytes
against the Content-Length. It returns lists of buffers so a large body is
never copied to be joined with its head; the server sends them with one
scatter/gather call. `error_response` builds the complete answer the server
sends for a protocol error, and `request_bytes` the request the in-memory
test client sends.
"""

from __future__ import annotations

import time
from typing import Final

from cyclone.httputil import HTTPHeaders, responses

__all__ = ["ResponseWriter", "error_response", "http_date_now", "request_bytes"]

#: Statuses whose responses never have a body (RFC 9110 §15.3.5, §15.4.5).
NO_BODY_STATUSES: Final = frozenset({204, 304})
#: A body up to this size is copied after its head into one buffer (one small
#: write beats a scatter/gather list); a larger one is sent as its own buffer.
JOIN_BODY_LIMIT: Final = 16384
#: The last chunk and an empty trailer section (RFC 9112 §7.1).
LAST_CHUNK: Final = b"0\r\n\r\n"

_date_cache: list[int | str] = [0, ""]


def http_date_now() -> str:
    """The current time as an HTTP date (RFC 9110 §5.6.7), formatted at most once a second."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))
    return _date_cache[1]  # type: ignore[return-value]


def _head_bytes(first_line: str, values: dict[str, tuple[str, list[str]]]) -> bytes:
    """``first_line`` and the header table as bytes, refusing CR/LF inside a line and non-Latin-1.

    Whoever controls a value with CR or LF could add headers or a whole
    response (response splitting), so the head is checked as one text: it
    must hold exactly one CR and one LF per line.
    """
    lines = [f"{name}: {value}\r\n" for name, items in values.values() for value in items]
    text = f"{first_line}\r\n{''.join(lines)}\r\n"
    line_count = len(lines) + 2
    if text.count("\n") != line_count or text.count("\r") != line_count:
        line = next(
            line
            for line in [f"{first_line}\r\n", *lines]
            if line.count("\r") + line.count("\n") != 2
        )
        raise ValueError(f"CR or LF inside a header line: {line[:200]!r}")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as error:
        raise ValueError(f"header is not latin-1 text: {error.object!r}") from None


def _chunk(data: bytes) -> list[bytes]:
    """One chunk of a chunked body (RFC 9112 §7.1): size line, data, CRLF."""
    return [b"%x\r\n" % len(data), data, b"\r\n"]


class ResponseWriter:
    """Frames the response to one request: `frame_head`, then `frame_body` calls, then `frame_end`.

    ``keep_alive`` starts as what the request asked for and ends as what the
    framing allows (a close-delimited body, a ``Connection: close``, a body
    the application did not read, a body shorter than its Content-Length);
    the server closes the connection after the response when it is False.
    """

    # Per-response state starts from these class-level defaults: a writer is made
    # for every request, so __init__ sets only what differs.
    #: True once the final (non-1xx) head was framed: an error can no longer be answered.
    headers_written = False
    chunked = False
    #: The Content-Length the application sent, if any.
    expected_length: int | None = None
    #: Body bytes framed so far (those a HEAD, 204 or 304 response drops excluded).
    bytes_written = 0
    #: Set by `frame_end` when the body sent differs from the Content-Length sent.
    length_mismatch = False

    def __init__(self, request_version: str, keep_alive: bool, head_request: bool) -> None:
        # Positional parameters: a writer is made per request, and keyword arguments
        # to a constructor cost more than the rest of this call.
        self.request_version = request_version
        self.keep_alive = keep_alive
        #: No body goes out (HEAD, 204, 304), whatever the application writes.
        self.discard_body = head_request

    def frame_head(
        self,
        status_code: int,
        reason: str | None,
        headers: HTTPHeaders,
        chunk: bytes = b"",
        request_body_unread: bool = False,
    ) -> list[bytes]:
        """The status line, headers and first body bytes, as buffers to send in order.

        A 1xx head is informational: it changes nothing and another head may
        follow. ``request_body_unread`` says the application answers before
        reading the whole request body, whose rest would be taken for the
        next request: the connection closes after this response. Raises
        ValueError, changing nothing, when the head is refused.
        """
        if self.headers_written:
            raise RuntimeError("the response headers were already written")
        status_line = f"HTTP/1.1 {status_code} {reason or responses.get(status_code, 'Unknown')}"
        if status_code < 200:
            return [_head_bytes(status_line, headers.table)]
        # Framing headers go on a copy and the framing is kept only once the head
        # proved valid: a refused head leaves the writer and the headers as they were.
        values = dict(headers.table)
        framing = self._choose_framing(status_code, values, request_body_unread)
        if "date" not in values:
            values["date"] = ("Date", [http_date_now()])
        data = _head_bytes(status_line, values)
        self.headers_written = True
        self.chunked, self.expected_length, self.keep_alive, self.discard_body = framing
        if not chunk or self.discard_body:
            return [data]
        self.bytes_written += len(chunk)
        if self.chunked:
            return [data, *_chunk(chunk)]
        if len(chunk) <= JOIN_BODY_LIMIT:
            return [data + chunk]
        return [data, chunk]

    def _choose_framing(
        self,
        status_code: int,
        values: dict[str, tuple[str, list[str]]],
        request_body_unread: bool,
    ) -> tuple[bool, int | None, bool, bool]:
        """Content-Length, chunked or close-delimited, and the Connection header (RFC 9112 §6, §9).

        Adjusts the header table ``values``; returns (chunked, expected
        length, keep-alive, discard body) for `frame_head` to keep.
        """
        http_11 = self.request_version == "HTTP/1.1"
        chunked = False
        expected_length = None
        keep_alive = self.keep_alive and not request_body_unread
        discard_body = self.discard_body
        length = values.get("content-length")
        if status_code in NO_BODY_STATUSES:
            discard_body = True
            values.pop("transfer-encoding", None)
        elif length is not None:
            expected_length = int(",".join(length[1]))
        elif not discard_body:
            if http_11:
                chunked = True
                values["transfer-encoding"] = ("Transfer-Encoding", ["chunked"])
            else:
                keep_alive = False
        if not keep_alive:
            if http_11 or "connection" in values:
                values["connection"] = ("Connection", ["close"])
        elif not http_11:
            values["connection"] = ("Connection", ["keep-alive"])
        return chunked, expected_length, keep_alive, discard_body

    def frame_body(self, chunk: bytes) -> list[bytes]:
        """Body bytes as buffers to send (none for an empty chunk or a body-less response).

        Raises ValueError when they would exceed the Content-Length sent.
        """
        if not chunk or self.discard_body:
            return []
        written = self.bytes_written + len(chunk)
        expected = self.expected_length
        if expected is not None and written > expected:
            raise ValueError(f"wrote {written} bytes, more than the Content-Length {expected}")
        self.bytes_written = written
        if self.chunked:
            return _chunk(chunk)
        return [chunk]

    def frame_end(self) -> bytes:
        """What ends the response: the last chunk when chunked, else nothing.

        A body shorter than its Content-Length leaves the client waiting for
        the rest: `length_mismatch` is then True and ``keep_alive`` False.
        """
        if self.chunked:
            return LAST_CHUNK
        expected = self.expected_length
        if expected is not None and self.bytes_written != expected and not self.discard_body:
            self.length_mismatch = True
            self.keep_alive = False
        return b""


def error_response(status: int, message: str) -> bytes:
    """A complete plain-text ``status`` response that closes the connection.

    For errors found below any handler (a malformed request, a deadline, a
    failing application): ``message`` is the body, after the status.
    """
    reason = responses.get(status, "Error")
    body = f"{status} {reason}: {message}\n".encode()
    values = {
        "content-type": ("Content-Type", ["text/plain; charset=utf-8"]),
        "content-length": ("Content-Length", [str(len(body))]),
        "date": ("Date", [http_date_now()]),
        "connection": ("Connection", ["close"]),
    }
    return _head_bytes(f"HTTP/1.1 {status} {reason}", values) + body


def request_bytes(
    method: str, target: str, headers: HTTPHeaders, body: bytes = b"", version: str = "HTTP/1.1"
) -> bytes:
    """A request as bytes, for in-memory clients; its head is checked as a response's is.

    The caller frames the body (its Content-Length is one of ``headers``).
    """
    return _head_bytes(f"{method} {target} {version}", headers.table) + body
