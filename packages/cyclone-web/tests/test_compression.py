"""GZipContentEncoding as a transform, without a server (test_web.py covers it over sockets)."""

from __future__ import annotations

import zlib

import pytest

from cyclone.compression import GZipContentEncoding, _accepts_gzip
from cyclone.httputil import HTTPHeaders, HTTPServerRequest

BIG = b"compressible text " * 200


def transform_for(accept_encoding: str | None, method: str = "GET") -> GZipContentEncoding:
    headers = HTTPHeaders()
    if accept_encoding is not None:
        headers["Accept-Encoding"] = accept_encoding
    return GZipContentEncoding(HTTPServerRequest(method=method, uri="/", headers=headers))


def response_headers(content_type="text/html; charset=UTF-8", **extra):
    headers = HTTPHeaders({"Content-Type": content_type})
    for name, value in extra.items():
        headers[name.replace("_", "-")] = value
    return headers


def gunzip(data: bytes) -> bytes:
    return zlib.decompress(data, 16 + zlib.MAX_WBITS)


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("deflate, gzip", True),
        ("gzip;q=0.001", True),
        ("gzip ; q = 1", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0", False),
        ("*;q=0", False),
        ("x-gzip", True),
        ("gzip;q=0, *", False),
        ("*, gzip;q=0", False),
        ("*;q=0, gzip", True),
        ("br;q=1, *;q=0.1", True),
        ("gzipped", False),
        ("identity", False),
        ("", False),
        ("gzip;q=abc", False),
    ],
)
def test_accept_encoding_parsing(header, accepted):
    assert _accepts_gzip(header) is accepted


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "text/css", "application/json", "application/javascript", "image/svg+xml"],
)
def test_compressible_types_are_compressed_with_the_length_corrected(content_type):
    transform = transform_for("gzip")
    headers = response_headers(content_type, Content_Length=str(len(BIG)))
    status, headers, body = transform.transform_first_chunk(200, headers, BIG, True)
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Vary"] == "Accept-Encoding"
    assert headers["Content-Length"] == str(len(body))
    assert gunzip(body) == BIG


@pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream", "video/mp4"])
def test_other_types_are_left_alone_without_vary(content_type):
    transform = transform_for("gzip")
    _, headers, body = transform.transform_first_chunk(
        200, response_headers(content_type), BIG, True
    )
    assert body == BIG
    assert "Content-Encoding" not in headers
    assert "Vary" not in headers


def test_existing_vary_is_extended_not_replaced():
    transform = transform_for("gzip")
    headers = response_headers(Vary="Cookie")
    _, headers, _ = transform.transform_first_chunk(200, headers, BIG, True)
    assert headers["Vary"] == "Cookie, Accept-Encoding"
    headers = response_headers(Vary="accept-encoding")
    _, headers, _ = transform_for("gzip").transform_first_chunk(200, headers, BIG, True)
    assert headers["Vary"] == "accept-encoding"


@pytest.mark.parametrize("status", [204, 206, 304])
def test_statuses_without_a_full_body_are_not_compressed(status):
    _, headers, body = transform_for("gzip").transform_first_chunk(
        status, response_headers(), BIG, True
    )
    assert body == BIG
    assert "Content-Encoding" not in headers


def test_already_encoded_responses_are_not_compressed_twice():
    headers = response_headers(Content_Encoding="br")
    _, headers, body = transform_for("gzip").transform_first_chunk(200, headers, BIG, True)
    assert (headers["Content-Encoding"], body) == ("br", BIG)


def test_small_complete_body_is_not_compressed_but_a_small_first_flush_is():
    _, headers, body = transform_for("gzip").transform_first_chunk(
        200, response_headers(), b"tiny", True
    )
    assert (body, "Content-Encoding" in headers) == (b"tiny", False)
    _, headers, body = transform_for("gzip").transform_first_chunk(
        200, response_headers(), b"tiny", False
    )
    assert headers["Content-Encoding"] == "gzip"


def test_strong_etag_becomes_weak_when_compressed():
    headers = response_headers(Etag='"abc"')
    _, headers, _ = transform_for("gzip").transform_first_chunk(200, headers, BIG, True)
    assert headers["Etag"] == 'W/"abc"'
    headers = response_headers(Etag='W/"abc"')
    _, headers, _ = transform_for("gzip").transform_first_chunk(200, headers, BIG, True)
    assert headers["Etag"] == 'W/"abc"'


def test_streamed_chunks_are_each_decodable_and_end_the_stream():
    transform = transform_for("gzip")
    headers = response_headers(Content_Length="999999")
    _, headers, first = transform.transform_first_chunk(200, headers, b"first ", False)
    assert "Content-Length" not in headers
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert decoder.decompress(first) == b"first "
    assert decoder.decompress(transform.transform_chunk(b"second ", False)) == b"second "
    assert decoder.decompress(transform.transform_chunk(b"last", True)) == b"last"
    assert decoder.eof


def test_without_accept_encoding_chunks_pass_through():
    transform = transform_for(None)
    _, headers, first = transform.transform_first_chunk(200, response_headers(), BIG, False)
    assert first == BIG
    assert headers["Vary"] == "Accept-Encoding"
    assert transform.transform_chunk(b"more", True) == b"more"


def test_head_declaring_a_large_body_gets_the_headers_get_would_get():
    headers = response_headers(Content_Length=str(len(BIG)), Etag='"v1"')
    _, headers, _ = transform_for("gzip", "HEAD").transform_first_chunk(200, headers, b"", True)
    assert headers["Content-Encoding"] == "gzip"
    assert "Content-Length" not in headers
    assert headers["Etag"] == 'W/"v1"'
    small = response_headers(Content_Length="10")
    _, small, _ = transform_for("gzip", "HEAD").transform_first_chunk(200, small, b"", True)
    assert "Content-Encoding" not in small
    assert small["Content-Length"] == "10"
