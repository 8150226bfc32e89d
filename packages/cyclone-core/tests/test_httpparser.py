"""The sans-IO request parser, driven with bytes only (no sockets, no reactor)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cyclone.httpparser import (
    NEED_DATA,
    PAUSED,
    BodyData,
    EndOfMessage,
    ParseError,
    RequestHead,
    RequestParser,
)

#: A generous bound on next_event() calls per received byte: every call either
#: consumes input or returns a terminal marker, so more means a loop.
_CALLS_PER_BYTE = 4


def _drain(parser: RequestParser, out: list, budget: int) -> bool:
    """Collect events until the parser needs data; False once a ParseError arrived."""
    for _ in range(budget):
        event = parser.next_event()
        if event is NEED_DATA:
            return True
        if event is PAUSED:
            if parser.buffered:
                parser.start_next_request()
                continue
            parser.start_next_request()
            return True
        out.append(event)
        if isinstance(event, ParseError):
            return False
    raise AssertionError(f"the parser did not settle within {budget} next_event() calls")


def parse(*pieces: bytes, **limits: int) -> list:
    """Feed ``pieces`` one after the other, answering each request at once."""
    parser = RequestParser(**limits)
    events: list = []
    for piece in pieces:
        parser.receive(piece)
        if not _drain(parser, events, _CALLS_PER_BYTE * (len(piece) + 10)):
            break
    return events


def normalise(events: list) -> list:
    """Events with adjacent body pieces merged, so different splits compare equal."""
    result: list = []
    for event in events:
        if isinstance(event, BodyData):
            if result and isinstance(result[-1], bytes):
                result[-1] += event.data
            else:
                result.append(event.data)
        elif isinstance(event, RequestHead):
            result.append(
                (
                    event.method,
                    event.uri,
                    event.version,
                    list(event.headers.get_all()),
                    event.keep_alive,
                    event.expect_continue,
                    event.content_length,
                    event.chunked,
                    event.authority,
                    event.scheme,
                )
            )
        else:
            result.append(event)
    return result


def only_error(data: bytes, **limits: int) -> ParseError:
    events = parse(data, **limits)
    assert events, "the parser produced no event"
    error = events[-1]
    assert isinstance(error, ParseError), f"expected a ParseError, got {events!r}"
    return error


def head_of(data: bytes) -> RequestHead:
    events = parse(data)
    assert isinstance(events[0], RequestHead), events
    return events[0]


def body_of(events: list) -> bytes:
    return b"".join(event.data for event in events if isinstance(event, BodyData))


# -- valid requests -------------------------------------------------------------------


def test_get_request_gives_head_then_end_of_message():
    events = parse(b"GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n")
    head = events[0]
    assert head.method == "GET"
    assert head.uri == "/a/b?x=1&y=2"
    assert head.version == "HTTP/1.1"
    assert head.headers["host"] == "example.com"
    assert head.headers["Accept"] == "*/*"
    assert head.keep_alive is True
    assert head.content_length is None
    assert head.chunked is False
    assert head.has_body is False
    assert events[1:] == [EndOfMessage]


def test_post_with_content_length_delivers_exactly_that_many_bytes():
    events = parse(b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET")
    assert events[0].content_length == 5
    assert body_of(events) == b"hello"
    assert events[-1] is EndOfMessage


def test_content_length_zero_means_no_body():
    events = parse(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
    assert events[0].content_length == 0
    assert events[0].has_body is False
    assert events[1:] == [EndOfMessage]


def test_content_length_with_leading_zeros_is_a_number():
    events = parse(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0003\r\n\r\nabc")
    assert body_of(events) == b"abc"


def test_body_bytes_arriving_later_are_delivered_as_they_come():
    parser = RequestParser()
    parser.receive(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nab")
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() == BodyData(b"ab")
    assert parser.next_event() is NEED_DATA
    parser.receive(b"cdef")
    assert parser.next_event() == BodyData(b"cdef")
    assert parser.next_event() is EndOfMessage
    assert parser.next_event() is PAUSED


def test_chunked_body_with_extensions_and_trailers_is_accepted():
    events = parse(
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value;flag\r\nhello\r\n"
        b'6 ; quoted="x;y"\r\n world\r\n'
        b"A\r\n0123456789\r\n"
        b"0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
    )
    assert events[0].chunked is True
    assert events[0].content_length is None
    assert body_of(events) == b"hello world0123456789"
    assert events[-1] is EndOfMessage


def test_chunked_coding_name_is_case_insensitive():
    events = parse(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n")
    assert events[0].chunked and events[-1] is EndOfMessage


def test_chunk_sizes_accept_upper_and_lower_case_hex():
    data = b"x" * 0xAB + b"y" * 0xCD
    events = parse(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"aB\r\n" + data[:0xAB] + b"\r\nCd\r\n" + data[0xAB:] + b"\r\n0\r\n\r\n"
    )
    assert body_of(events) == data


def test_pipelined_requests_in_one_feed_are_parsed_in_order():
    events = parse(
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
        b"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
        b"POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
        b"GET /4 HTTP/1.1\r\nHost: a\r\n\r\n"
    )
    assert [e.uri for e in events if isinstance(e, RequestHead)] == ["/1", "/2", "/3", "/4"]
    shape = [type(e).__name__ if not isinstance(e, bytes) else e for e in normalise(events)]
    assert shape == [
        "tuple", "_EndOfMessage",
        "tuple", b"abc", "_EndOfMessage",
        "tuple", b"xy", "_EndOfMessage",
        "tuple", "_EndOfMessage",
    ]  # fmt: skip


def test_parser_pauses_after_a_request_until_it_is_answered():
    parser = RequestParser()
    parser.receive(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
    assert parser.next_event().uri == "/1"
    assert parser.next_event() is EndOfMessage
    assert parser.next_event() is PAUSED
    assert parser.next_event() is PAUSED
    assert parser.buffered > 0
    parser.start_next_request()
    assert parser.next_event().uri == "/2"


def test_absolute_form_target_gives_origin_form_uri_and_authority():
    head = head_of(b"GET http://Example.com:8080/p/q?x=1 HTTP/1.1\r\nHost: other\r\n\r\n")
    assert head.uri == "/p/q?x=1"
    assert head.authority == "Example.com:8080"
    assert head.scheme == "http"


def test_absolute_form_without_a_path_means_root():
    head = head_of(b"GET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert head.uri == "/"
    assert head.scheme == "https"
    head = head_of(b"GET http://example.com?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert head.uri == "/?x=1"


def test_asterisk_form_is_accepted_for_options():
    head = head_of(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
    assert head.method == "OPTIONS"
    assert head.uri == "*"


def test_asterisk_form_is_rejected_for_other_methods():
    assert only_error(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n").status == 400


def test_http_1_0_closes_by_default():
    head = head_of(b"GET / HTTP/1.0\r\n\r\n")
    assert head.version == "HTTP/1.0"
    assert head.keep_alive is False


def test_http_1_0_keeps_alive_when_asked():
    assert head_of(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive is True


def test_http_1_0_needs_no_host_header():
    assert head_of(b"GET / HTTP/1.0\r\n\r\n").headers.get("Host") is None


def test_connection_close_ends_keep_alive():
    assert head_of(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive is False
    head = head_of(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, Close\r\n\r\n")
    assert head.keep_alive is False


def test_expect_100_continue_is_reported():
    head = head_of(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-Continue\r\n\r\n"
    )
    assert head.expect_continue is True


def test_expect_100_continue_is_ignored_for_http_1_0():
    head = head_of(b"POST / HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
    assert head.expect_continue is False


def test_leading_empty_lines_before_the_request_line_are_ignored():
    events = parse(b"\r\n\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert events[0].uri == "/"
    assert events[-1] is EndOfMessage


def test_too_many_leading_empty_lines_are_rejected():
    assert only_error(b"\r\n" * 50 + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").status == 400


def test_too_many_leading_empty_lines_are_rejected_when_they_arrive_one_by_one():
    events = parse(*[b"\r\n"] * 50, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert isinstance(events[-1], ParseError) and events[-1].status == 400


def test_bare_lf_line_endings_are_accepted():
    events = parse(b"POST / HTTP/1.1\nHost: a\nContent-Length: 2\n\nhi")
    assert events[0].headers["Host"] == "a"
    assert body_of(events) == b"hi"


@pytest.mark.parametrize("first_end", [b"\n\n", b"\r\n\n", b"\n\r\n"])
def test_a_head_ending_in_bare_lf_ends_there_with_a_crlf_head_after_it(first_end):
    # The first empty line ends a head, whatever a later request in the buffer ends with.
    events = parse(
        b"GET /first HTTP/1.1\r\nHost: a" + first_end + b"GET /second HTTP/1.1\r\nHost: b\r\n\r\n"
    )
    heads = [event for event in events if isinstance(event, RequestHead)]
    assert [(head.uri, head.host) for head in heads] == [("/first", "a"), ("/second", "b")]


def test_header_values_are_trimmed_and_may_be_empty():
    head = head_of(b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Pad: \t v a l \t\r\n\r\n")
    assert head.headers["X-Empty"] == ""
    assert head.headers["X-Pad"] == "v a l"


def test_repeated_headers_keep_every_value_in_order():
    head = head_of(b"GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\ncookie: b=2\r\n\r\n")
    assert head.headers.get_list("Cookie") == ["a=1", "b=2"]


def test_header_values_with_obs_text_are_decoded_as_latin_1():
    head = head_of(b"GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\r\n\r\n")
    assert head.headers["X-Name"] == "caf\xe9"


def test_connect_with_authority_form_is_accepted():
    head = head_of(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    assert head.method == "CONNECT"
    assert head.uri == "example.com:443"


def test_ipv6_host_is_accepted():
    assert head_of(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").headers["Host"] == "[::1]:8080"


def test_empty_host_is_accepted():
    assert head_of(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").headers["Host"] == ""


def test_extension_methods_are_accepted():
    assert head_of(b"PROPFIND /dav HTTP/1.1\r\nHost: a\r\n\r\n").method == "PROPFIND"


# -- rejections -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET  / HTTP/1.1",
        b"GET / HTTP/1.1 ",
        b" GET / HTTP/1.1",
        b"GET /",
        b"GET",
        b"GET / HTTP/1.1 extra",
        b"GET\t/\tHTTP/1.1",
    ],
)
def test_malformed_request_line_is_400(request_line):
    assert only_error(request_line + b"\r\nHost: a\r\n\r\n").status == 400


@pytest.mark.parametrize("method", [b"GE(T", b"G\xc3\xa9T", b"GET:", b"[GET]", b'GE"T'])
def test_invalid_method_token_is_400(method):
    assert only_error(method + b" / HTTP/1.1\r\nHost: a\r\n\r\n").status == 400


@pytest.mark.parametrize(
    "version", [b"HTTP/1", b"HTTP/1.10", b"http/1.1", b"HTTP/1.x", b"HTTPS/1.1", b"HTTP/ 1.1"]
)
def test_malformed_version_is_400(version):
    assert only_error(b"GET / " + version + b"\r\nHost: a\r\n\r\n").status == 400


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/0.9", b"HTTP/3.0"])
def test_unsupported_major_version_is_505(version):
    assert only_error(b"GET / " + version + b"\r\nHost: a\r\n\r\n").status == 505


@pytest.mark.parametrize(
    "target", [b"/a\xffb", b"/caf\xc3\xa9", b"/a\x7fb", b"a/b", b"ftp://example.com/", b"http://"]
)
def test_invalid_request_target_is_400(target):
    assert only_error(b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n").status == 400


def test_absolute_form_with_an_invalid_authority_is_400():
    assert only_error(b"GET http://a b/ HTTP/1.1\r\nHost: a\r\n\r\n").status == 400
    assert only_error(b"GET http://us@er/ HTTP/1.1\r\nHost: a\r\n\r\n").status == 400


@pytest.mark.parametrize("byte", [b"\x00", b"\x01", b"\x0b", b"\x0c", b"\x1f", b"\x7f", b"\r"])
def test_control_characters_in_header_values_are_400(byte):
    assert only_error(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: a" + byte + b"b\r\n\r\n").status == 400


@pytest.mark.parametrize("name", [b"X A", b"X(A)", b"X@A", b"X\xe9", b"", b"X/A", b'X"'])
def test_invalid_header_name_characters_are_400(name):
    assert only_error(b"GET / HTTP/1.1\r\nHost: a\r\n" + name + b": v\r\n\r\n").status == 400


def test_header_line_without_a_colon_is_400():
    assert only_error(b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n").status == 400


def test_whitespace_before_the_colon_is_400():
    # RFC 9112 §5.1: a server MUST reject it (request smuggling).
    assert only_error(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n").status == 400
    assert only_error(b"GET / HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n").status == 400


@pytest.mark.parametrize("fold", [b" folded", b"\tfolded"])
def test_obs_fold_is_400(fold):
    assert (
        only_error(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n" + fold + b"\r\n\r\n").status == 400
    )


def test_whitespace_line_before_the_first_header_is_400():
    assert only_error(b"GET / HTTP/1.1\r\n X-A: b\r\nHost: a\r\n\r\n").status == 400


def test_http_1_1_without_host_is_400():
    assert only_error(b"GET / HTTP/1.1\r\n\r\n").status == 400


def test_duplicate_host_is_400():
    assert only_error(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status == 400
    assert only_error(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n").status == 400


@pytest.mark.parametrize("host", [b"a b", b"a/b", b"us@er", b"a:b", b"[::1", b"a\\b", b"a?b"])
def test_invalid_host_is_400(host):
    assert only_error(b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n").status == 400


def test_duplicate_content_length_is_400():
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"
    assert only_error(data).status == 400


def test_conflicting_content_length_is_400():
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy"
    assert only_error(data).status == 400


@pytest.mark.parametrize(
    "value", [b"abc", b"-1", b"+5", b"0x5", b"5.0", b"1,1", b"1 1", b"", b"1e3", b"\xd9\xa3"]
)
def test_invalid_content_length_is_400(value):
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + value + b"\r\n\r\n"
    assert only_error(data).status == 400


def test_absurdly_long_content_length_is_413_not_an_exception():
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n"
    assert only_error(data).status == 413


def test_content_length_with_transfer_encoding_is_400():
    data = (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    assert only_error(data).status == 400


@pytest.mark.parametrize(
    "codings",
    [
        [b"chunked, gzip"],
        [b"chunked", b"gzip"],
        [b"chunked, chunked"],
        [b"chunked", b"chunked"],
        [b""],
        [b"identity"],
        [b"chunked;x=1"],
    ],
)
def test_transfer_encoding_not_ending_in_a_single_chunked_is_400(codings):
    lines = b"".join(b"Transfer-Encoding: " + value + b"\r\n" for value in codings)
    data = b"POST / HTTP/1.1\r\nHost: a\r\n" + lines + b"\r\n0\r\n\r\n"
    assert only_error(data).status == 400


def test_transfer_encoding_in_http_1_0_is_400():
    data = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    assert only_error(data).status == 400


@pytest.mark.parametrize("codings", [b"gzip, chunked", b"deflate,chunked", b"br, chunked"])
def test_unknown_transfer_coding_is_501(codings):
    data = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + codings + b"\r\n\r\n0\r\n\r\n"
    assert only_error(data).status == 501


_CHUNKED_HEAD = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    "body",
    [
        b"g\r\nxxxxxxxxxxxxxxxx\r\n0\r\n\r\n",
        b"-1\r\nx\r\n0\r\n\r\n",
        b"+1\r\nx\r\n0\r\n\r\n",
        b"0x1\r\nx\r\n0\r\n\r\n",
        b"\r\nx\r\n0\r\n\r\n",
        b" 1\r\nx\r\n0\r\n\r\n",
        b"1" * 17 + b"\r\n",
        b"00000000000000001\r\nx\r\n0\r\n\r\n",
    ],
)
def test_invalid_chunk_size_is_400(body):
    assert only_error(_CHUNKED_HEAD + body).status == 400


def test_chunk_size_line_that_never_ends_is_400():
    assert only_error(_CHUNKED_HEAD + b"1;" + b"x" * 10_000).status == 400


def test_chunk_data_not_followed_by_crlf_is_400():
    assert only_error(_CHUNKED_HEAD + b"3\r\nabcX\r\n0\r\n\r\n").status == 400
    assert only_error(_CHUNKED_HEAD + b"3\r\nabc\rX0\r\n\r\n").status == 400


def test_chunk_data_followed_by_bare_lf_is_400():
    assert only_error(_CHUNKED_HEAD + b"3\r\nabc\n0\r\n\r\n").status == 400


def test_bare_lf_after_chunk_size_is_400():
    assert only_error(_CHUNKED_HEAD + b"3\nabc\r\n0\r\n\r\n").status == 400


def test_bare_lf_in_the_trailer_section_is_400():
    assert only_error(_CHUNKED_HEAD + b"0\r\nX-A: b\n\r\n").status == 400
    assert only_error(_CHUNKED_HEAD + b"0\r\n\n").status == 400


def test_malformed_trailer_field_is_400():
    assert only_error(_CHUNKED_HEAD + b"0\r\nNo colon\r\n\r\n").status == 400
    assert only_error(_CHUNKED_HEAD + b"0\r\nX-A: b\r\n folded\r\n\r\n").status == 400
    assert only_error(_CHUNKED_HEAD + b"0\r\nX-A: \x00\r\n\r\n").status == 400


def test_request_line_too_long_is_414():
    data = b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    assert only_error(data).status == 414


def test_request_line_too_long_is_414_before_it_ends():
    assert only_error(b"GET /" + b"a" * 20_000).status == 414


def test_request_line_limit_is_configurable():
    data = b"GET /" + b"a" * 100 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    assert only_error(data, max_request_line_size=50).status == 414
    assert isinstance(parse(data, max_request_line_size=200)[0], RequestHead)


def test_headers_too_big_is_431():
    data = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-Big: " + b"b" * 70_000 + b"\r\n\r\n"
    assert only_error(data).status == 431


def test_headers_too_big_is_431_before_they_end():
    headers = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 50) for i in range(2000))
    assert only_error(b"GET / HTTP/1.1\r\nHost: a\r\n" + headers).status == 431


def test_header_limit_is_configurable():
    data = b"GET / HTTP/1.1\r\nHost: a\r\nX-A: " + b"v" * 200 + b"\r\n\r\n"
    assert only_error(data, max_header_size=100).status == 431
    assert isinstance(parse(data, max_header_size=1000)[0], RequestHead)


def test_content_length_over_max_body_size_is_413():
    events = parse(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", max_body_size=100)
    assert isinstance(events[0], RequestHead)
    assert events[0].content_length == 101
    assert isinstance(events[-1], ParseError) and events[-1].status == 413


def test_content_length_at_max_body_size_is_accepted():
    events = parse(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + b"x" * 100,
        max_body_size=100,
    )
    assert body_of(events) == b"x" * 100
    assert events[-1] is EndOfMessage


def test_chunked_body_growing_past_max_body_size_is_413():
    body = b"40\r\n" + b"x" * 64 + b"\r\n" + b"40\r\n" + b"y" * 64 + b"\r\n0\r\n\r\n"
    events = parse(_CHUNKED_HEAD + body, max_body_size=100)
    assert body_of(events) == b"x" * 64
    assert isinstance(events[-1], ParseError) and events[-1].status == 413


def test_max_body_size_can_be_raised_after_the_head():
    parser = RequestParser(max_body_size=10)
    parser.receive(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n" + b"z" * 20)
    assert isinstance(parser.next_event(), RequestHead)
    parser.max_body_size = 20
    assert parser.next_event() == BodyData(b"z" * 20)
    assert parser.next_event() is EndOfMessage


def test_trailers_too_big_is_431():
    trailers = b"".join(b"X-%d: %s\r\n" % (i, b"t" * 50) for i in range(100))
    events = parse(_CHUNKED_HEAD + b"0\r\n" + trailers + b"\r\n", max_header_size=1000)
    assert isinstance(events[-1], ParseError) and events[-1].status == 431


def test_trailers_too_big_is_431_before_they_end():
    events = parse(_CHUNKED_HEAD + b"0\r\nX-A: " + b"t" * 2000, max_header_size=1000)
    assert isinstance(events[-1], ParseError) and events[-1].status == 431


def test_parser_stays_failed_after_an_error():
    parser = RequestParser()
    parser.receive(b"BAD\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert isinstance(parser.next_event(), ParseError)
    assert not isinstance(parser.next_event(), RequestHead)
    parser.start_next_request()
    assert not isinstance(parser.next_event(), RequestHead)


def test_take_buffered_returns_the_bytes_after_the_request():
    parser = RequestParser()
    parser.receive(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: x\r\n\r\n\x81\x00")
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() is EndOfMessage
    assert parser.take_buffered() == b"\x81\x00"
    assert parser.buffered == 0


# -- properties -------------------------------------------------------------------------

_valid_requests = st.sampled_from(
    [
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /x?y=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nCookie: a=1\r\n\r\n",
        b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
        b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n",
        b"PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET http://example.com:81/abs HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /lf HTTP/1.1\nHost: a\n\n",
        b"\r\nGET /after-empty-line HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
        b"GET /10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ]
)


@st.composite
def _stream_and_splits(draw):
    stream = b"".join(draw(st.lists(_valid_requests, min_size=1, max_size=5)))
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    return stream, pieces


@given(_stream_and_splits())
@settings(max_examples=150, deadline=None)
def test_any_split_of_a_valid_stream_gives_the_same_events(stream_and_pieces):
    stream, pieces = stream_and_pieces
    whole = normalise(parse(stream))
    assert not any(isinstance(event, ParseError) for event in whole)
    assert normalise(parse(*pieces)) == whole


@given(_stream_and_splits())
@settings(max_examples=100, deadline=None)
def test_byte_by_byte_feeding_gives_the_same_events(stream_and_pieces):
    stream, _ = stream_and_pieces
    singles = [stream[i : i + 1] for i in range(len(stream))]
    assert normalise(parse(*singles)) == normalise(parse(stream))


def _assert_settles(pieces: list[bytes], **limits: int) -> None:
    """Feeding ``pieces`` never raises and each feed ends in a terminal marker."""
    parser = RequestParser(**limits)
    for piece in pieces:
        parser.receive(piece)
        budget = _CALLS_PER_BYTE * (parser.buffered + 10)
        for _ in range(budget):
            event = parser.next_event()
            if event is NEED_DATA or event is PAUSED or isinstance(event, ParseError):
                break
            assert isinstance(event, (RequestHead, BodyData)) or event is EndOfMessage
        else:
            raise AssertionError("the parser did not settle")
        if isinstance(event, ParseError):
            assert 400 <= event.status < 600
            return
        if event is PAUSED:
            parser.start_next_request()


@given(st.lists(st.binary(max_size=200), min_size=1, max_size=5))
@settings(max_examples=250, deadline=None)
def test_random_garbage_never_raises_or_loops(pieces):
    _assert_settles(pieces, max_header_size=1024, max_request_line_size=256, max_body_size=512)


_interesting_bytes = st.sampled_from(
    [b"\r", b"\n", b"\r\n", b" ", b"\t", b":", b";", b"0", b"f", b"\x00", b"\xff", b"-", b","]
)


@st.composite
def _mutated_stream(draw):
    data = bytearray(b"".join(draw(st.lists(_valid_requests, min_size=1, max_size=3))))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            data[position:position] = draw(_interesting_bytes | st.binary(min_size=1, max_size=3))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 4))]
        else:
            data[position : position + 1] = draw(_interesting_bytes)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    data = bytes(data)
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]


@given(_mutated_stream())
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_valid_requests_never_raise_or_loop(pieces):
    _assert_settles(pieces, max_header_size=1024, max_request_line_size=256, max_body_size=512)


@pytest.mark.parametrize("byte", [b"\r", b"\x00", b"\x7f", b"\x1b"])
def test_control_characters_in_chunk_extensions_are_400(byte):
    assert only_error(_CHUNKED_HEAD + b"1;a=" + byte + b"\r\nx\r\n0\r\n\r\n").status == 400


def _feed_byte_by_byte(parser: RequestParser, data: bytes) -> object:
    event = NEED_DATA
    for index in range(len(data)):
        parser.receive(data[index : index + 1])
        event = parser.next_event()
        if event is not NEED_DATA:
            break
    return event


class _CountingSearch:
    """Stands in for the head-end regex and counts the bytes its searches cover."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.scanned = 0

    def search(self, buffer, pos=0):
        self.scanned += len(buffer) - pos
        return self.pattern.search(buffer, pos)


class _CountingBuffer(bytearray):
    """The parser's buffer, counting the bytes its ``find`` calls cover."""

    scanned = 0

    def find(self, sub, start=0, end=None):
        stop = len(self) if end is None else min(end, len(self))
        self.scanned += max(0, stop - start)
        return super().find(sub, start, stop)


def test_a_head_trickling_in_byte_by_byte_is_scanned_a_constant_number_of_times(monkeypatch):
    # Each byte used to rescan the whole buffer: 60 KB took two minutes of CPU.
    import cyclone.httpparser

    counter = _CountingSearch(cyclone.httpparser._HEAD_END_RE)
    monkeypatch.setattr(cyclone.httpparser, "_HEAD_END_RE", counter)
    head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"s" * 30_000 + b"\r\n\r\n"
    event = _feed_byte_by_byte(RequestParser(), head)
    assert isinstance(event, RequestHead)
    assert event.headers["X-Slow"] == "s" * 30_000
    assert counter.scanned <= 4 * len(head)  # rescanning would be len(head) ** 2 / 2


def test_a_trailer_trickling_in_byte_by_byte_is_scanned_a_constant_number_of_times():
    parser = RequestParser()
    parser.receive(_CHUNKED_HEAD + b"0\r\n")
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() is NEED_DATA
    parser._buffer = buffer = _CountingBuffer(parser._buffer)
    trailer = b"X-T: " + b"t" * 30_000 + b"\r\n\r\n"
    assert _feed_byte_by_byte(parser, trailer) is EndOfMessage
    assert buffer.scanned <= 4 * len(trailer)


def test_bare_cr_inside_a_trailer_field_is_400():
    assert only_error(_CHUNKED_HEAD + b"0\r\nX-A: a\rb\r\n\r\n").status == 400


def test_long_chunk_extensions_trickling_in_are_scanned_a_constant_number_of_times():
    parser = RequestParser()
    parser.receive(_CHUNKED_HEAD)
    assert isinstance(parser.next_event(), RequestHead)
    parser._buffer = buffer = _CountingBuffer(parser._buffer)
    data = (b"1;" + b"e" * 4000 + b"\r\nx\r\n") * 20 + b"0\r\n\r\n"
    events = []
    for index in range(len(data)):
        parser.receive(data[index : index + 1])
        _drain(parser, events, 10)
    assert body_of(events) == b"x" * 20
    assert events[-1] is EndOfMessage
    assert buffer.scanned <= 4 * len(data)
