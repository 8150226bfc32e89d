"""The sans-IO response writer: response events in, bytes out, no socket and no reactor."""

from __future__ import annotations

import re

import pytest

from cyclone.httputil import HTTPHeaders
from cyclone.httpwriter import (
    LAST_CHUNK,
    ResponseWriter,
    error_response,
    http_date_now,
    request_bytes,
)

DATE = {"Date": "Mon, 07 Dec 2026 09:00:00 GMT"}


def writer(version="HTTP/1.1", keep_alive=True, head_request=False) -> ResponseWriter:
    return ResponseWriter(version, keep_alive, head_request)


def head_of(parts: list[bytes]) -> bytes:
    data = b"".join(parts)
    return data[: data.index(b"\r\n\r\n") + 4]


def test_a_response_with_content_length_is_sent_as_is_and_kept_alive():
    w = writer()
    parts = w.frame_head(200, "OK", HTTPHeaders({**DATE, "Content-Length": "5"}), b"hello")
    assert parts == [
        b"HTTP/1.1 200 OK\r\nDate: Mon, 07 Dec 2026 09:00:00 GMT\r\nContent-Length: 5\r\n\r\nhello"
    ]
    assert w.frame_end() == b""
    assert (w.keep_alive, w.bytes_written, w.length_mismatch) == (True, 5, False)


def test_a_body_of_unknown_length_is_chunked_on_http_11():
    w = writer()
    parts = w.frame_head(200, "OK", HTTPHeaders(DATE), b"abc")
    assert b"Transfer-Encoding: chunked\r\n" in head_of(parts)
    assert b"".join(parts).endswith(b"\r\n\r\n3\r\nabc\r\n")
    assert w.frame_body(b"0123456789abcdefg") == [b"11\r\n", b"0123456789abcdefg", b"\r\n"]
    assert w.frame_body(b"") == []
    assert w.frame_end() == LAST_CHUNK == b"0\r\n\r\n"
    assert w.keep_alive


def test_a_body_of_unknown_length_is_close_delimited_on_http_10():
    w = writer("HTTP/1.0")
    parts = w.frame_head(200, "OK", HTTPHeaders(DATE), b"abc")
    head = head_of(parts)
    assert b"Transfer-Encoding" not in head
    assert b"Connection" not in head  # HTTP/1.0 closes by default
    assert b"".join(parts).endswith(b"\r\n\r\nabc")
    assert w.frame_body(b"def") == [b"def"]
    assert w.frame_end() == b""
    assert not w.keep_alive


def test_an_http_10_keep_alive_response_with_a_length_says_keep_alive():
    w = writer("HTTP/1.0")
    parts = w.frame_head(200, "OK", HTTPHeaders({**DATE, "Content-Length": "0"}))
    assert b"Connection: keep-alive\r\n" in head_of(parts)
    assert w.keep_alive


def test_closing_on_http_11_says_connection_close():
    w = writer(keep_alive=False)
    parts = w.frame_head(200, "OK", HTTPHeaders({**DATE, "Content-Length": "0"}))
    assert b"Connection: close\r\n" in head_of(parts)


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_drop_the_body_and_transfer_encoding(status):
    w = writer()
    headers = HTTPHeaders({**DATE, "Transfer-Encoding": "chunked"})
    parts = w.frame_head(status, None, headers, b"ignored")
    assert b"".join(parts) == (
        b"HTTP/1.1 %d %s\r\nDate: Mon, 07 Dec 2026 09:00:00 GMT\r\n\r\n"
        % (status, b"No Content" if status == 204 else b"Not Modified")
    )
    assert w.frame_body(b"more") == []
    assert w.frame_end() == b""
    assert w.keep_alive
    assert headers["Transfer-Encoding"] == "chunked"  # the application's headers are untouched


def test_a_head_response_keeps_content_length_and_sends_no_body():
    w = writer(head_request=True)
    parts = w.frame_head(200, "OK", HTTPHeaders({**DATE, "Content-Length": "100"}), b"x" * 100)
    assert b"".join(parts).endswith(b"Content-Length: 100\r\n\r\n")
    assert w.frame_body(b"y") == []
    assert w.frame_end() == b""
    assert (w.keep_alive, w.length_mismatch, w.bytes_written) == (True, False, 0)


def test_an_informational_head_changes_nothing_and_a_final_one_may_follow():
    w = writer()
    assert w.frame_head(100, None, HTTPHeaders()) == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    assert not w.headers_written
    w.frame_head(200, "OK", HTTPHeaders({**DATE, "Content-Length": "0"}))
    assert w.headers_written
    with pytest.raises(RuntimeError, match="already written"):
        w.frame_head(200, "OK", HTTPHeaders())


def test_a_body_longer_than_its_content_length_is_refused():
    w = writer()
    w.frame_head(200, "OK", HTTPHeaders({**DATE, "Content-Length": "3"}), b"ab")
    assert w.frame_body(b"c") == [b"c"]
    with pytest.raises(ValueError, match="wrote 4 bytes, more than the Content-Length 3"):
        w.frame_body(b"d")
    assert w.bytes_written == 3


def test_a_body_shorter_than_its_content_length_ends_the_connection():
    w = writer()
    w.frame_head(200, "OK", HTTPHeaders({**DATE, "Content-Length": "10"}), b"short")
    assert w.frame_end() == b""
    assert (w.length_mismatch, w.keep_alive) == (True, False)


def test_an_unread_request_body_ends_the_connection():
    w = writer()
    parts = w.frame_head(413, None, HTTPHeaders({**DATE, "Content-Length": "0"}), b"", True)
    assert b"Connection: close\r\n" in head_of(parts)
    assert not w.keep_alive


def test_a_large_first_chunk_is_a_buffer_of_its_own_and_a_small_one_is_joined():
    small, large = b"s" * 16384, b"l" * 16385
    w = writer()
    assert (
        len(w.frame_head(200, "OK", HTTPHeaders({**DATE, "Content-Length": "16384"}), small)) == 1
    )
    w = writer()
    parts = w.frame_head(200, "OK", HTTPHeaders({**DATE, "Content-Length": "16385"}), large)
    assert len(parts) == 2 and parts[1] is large


def test_date_is_added_when_the_application_sent_none():
    parts = writer().frame_head(200, "OK", HTTPHeaders({"Content-Length": "0"}))
    assert re.search(rb"\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n", head_of(parts))
    assert http_date_now().endswith(" GMT")


@pytest.mark.parametrize(
    "name,value,reason",
    [
        ("X-A", "a\r\nSet-Cookie: evil=1", "OK"),
        ("X-A", "a\nb", "OK"),
        ("X-A", "a\rb", "OK"),
        ("X-A", "ok", "OK\r\nSet-Cookie: evil=1"),
    ],
)
def test_cr_or_lf_inside_a_line_is_refused_and_changes_nothing(name, value, reason):
    w = writer()
    headers = HTTPHeaders(DATE)
    headers.add(name, value)
    with pytest.raises(ValueError, match="CR or LF inside a header line"):
        w.frame_head(200, reason, headers, b"body")
    assert not w.headers_written and w.bytes_written == 0 and not w.chunked
    assert "Transfer-Encoding" not in headers


def test_a_header_that_is_not_latin_1_is_refused():
    with pytest.raises(ValueError, match="not latin-1"):
        writer().frame_head(200, "OK", HTTPHeaders({"X-Name": "名前"}))


def test_an_unknown_status_without_a_reason_says_unknown():
    parts = writer().frame_head(599, None, HTTPHeaders({**DATE, "Content-Length": "0"}))
    assert parts[0].startswith(b"HTTP/1.1 599 Unknown\r\n")


def test_error_response_is_a_complete_plain_text_answer_that_closes():
    data = error_response(431, "request header fields too large")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"\r\nConnection: close" in head
    assert b"\r\nContent-Type: text/plain; charset=utf-8" in head
    assert body == b"431 Request Header Fields Too Large: request header fields too large\n"
    assert f"Content-Length: {len(body)}".encode() in head


def test_request_bytes_frames_a_request_and_refuses_header_injection():
    headers = HTTPHeaders({"Host": "x", "Content-Length": "2"})
    assert request_bytes("POST", "/a?b=1", headers, b"hi") == (
        b"POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
    )
    with pytest.raises(ValueError, match="CR or LF"):
        request_bytes("GET", "/", HTTPHeaders({"X-A": "a\r\nX-B: b"}))
