"""Output transforms: rewrite a response's status, headers and body on its way out.

    import cyclone.web

    class ServedBy(cyclone.web.OutputTransform):
        def transform_first_chunk(self, status_code, headers, chunk, finishing):
            headers["X-Served-By"] = "cyclone"
            return status_code, headers, chunk

    app = cyclone.web.Application(handlers, transforms=[ServedBy])
    app.add_transform(AnotherTransform)

This is Tornado's and cyclone 1.x's contract. Every request gets a new
instance of each transform class, built with the request. The first time the
handler sends (its first `flush()`, or `finish()`), each transform's
`~OutputTransform.transform_first_chunk` gets the status code, the headers and
the body so far, and returns them, changed or not. Every later chunk goes
through `~OutputTransform.transform_chunk`. ``finishing`` is True for the last
one. After `finish()` the headers hold the body's Content-Length, so a
transform that changes the body's length sets Content-Length again (or
deletes it), as `cyclone.compression.GZipContentEncoding` does. Otherwise the
response is cut short, as in Tornado.

The transforms do not frame the body: `cyclone.httpwriter` does that after
them, with Content-Length or chunked encoding. `ChunkedTransferEncoding` is
kept so that code naming it still runs, and it changes nothing.
"""

from __future__ import annotations

from cyclone.httputil import HTTPHeaders, HTTPServerRequest

__all__ = ["ChunkedTransferEncoding", "OutputTransform"]


class OutputTransform:
    """The base of output transforms: hands everything on unchanged.

    Subclass it and override either method. A handler applies the
    transforms in the order the application lists them.
    """

    def __init__(self, request: HTTPServerRequest) -> None:
        """Made for each request; ``request`` lets a transform decide (Accept-Encoding...)."""

    def transform_first_chunk(
        self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, HTTPHeaders, bytes]:
        """The status, headers and first body bytes to send instead of these."""
        return status_code, headers, chunk

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        """The body bytes to send instead of ``chunk`` (every chunk after the first)."""
        return chunk


class ChunkedTransferEncoding(OutputTransform):
    """cyclone 1.x's chunked-encoding transform, now a no-op: framing is automatic.

    `cyclone.httpwriter` uses chunked encoding for an HTTP/1.1 response whose
    length is not known when its headers go out. A transform doing the same
    would frame the body twice, so this class only keeps
    ``transforms=[..., ChunkedTransferEncoding]`` working.
    """
