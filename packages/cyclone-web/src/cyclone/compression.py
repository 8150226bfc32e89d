"""gzip response compression, as an output transform (the ``compress_response`` setting).

    app = cyclone.web.Application(handlers, compress_response=True)

Responses of compressible types (text, JSON, JavaScript, XML, SVG) are
gzip-encoded when the client accepts gzip, and every such response carries
``Vary: Accept-Encoding`` so caches keep both variants. Streaming responses
are compressed chunk by chunk with a sync flush, so each ``flush()`` still
reaches the client at once. Small complete bodies (under 1 KB) are left alone,
where compression costs more than it saves.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from cyclone.httputil import HTTPHeaders, HTTPServerRequest
from cyclone.transforms import OutputTransform

__all__ = ["GZipContentEncoding"]

_COMPRESSIBLE_TYPES = frozenset(
    {
        "application/javascript",
        "application/x-javascript",
        "application/json",
        "application/xml",
        "application/atom+xml",
        "application/rss+xml",
        "application/xhtml+xml",
        "image/svg+xml",
    }
)
_CODING = re.compile(r"\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def _accepts_gzip(header: str) -> bool:
    """True when Accept-Encoding allows gzip (RFC 9110 §12.5.3).

    ``gzip`` (or its alias ``x-gzip``, §8.4.1.3) with its own weight wins over
    ``*``, so ``gzip;q=0, *`` refuses gzip; weight 0 means "not acceptable".
    """
    weights: dict[str, float] = {}
    for item in header.split(","):
        match = _CODING.match(item)
        if not match:
            continue
        coding = match.group(1).lower()
        try:
            weight = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        if coding == "x-gzip":
            coding = "gzip"
        weights[coding] = max(weight, weights.get(coding, 0.0))
    if "gzip" in weights:
        return weights["gzip"] > 0
    return weights.get("*", 0.0) > 0


class GZipContentEncoding(OutputTransform):
    """Compresses one response when the request allows it (an `OutputTransform`)."""

    #: Complete bodies shorter than this are sent uncompressed.
    MIN_LENGTH = 1024
    #: zlib level: 6 is zlib's own default balance of speed and size.
    GZIP_LEVEL = 6

    def __init__(self, request: HTTPServerRequest) -> None:
        self._gzipping = _accepts_gzip(request.headers.get("Accept-Encoding", ""))
        self._compressor: Any = None
        self._head = request.method == "HEAD"

    @staticmethod
    def compressible(content_type: str) -> bool:
        return content_type.startswith("text/") or content_type in _COMPRESSIBLE_TYPES

    def transform_first_chunk(
        self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, HTTPHeaders, bytes]:
        content_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
        compressible = self.compressible(content_type)
        if compressible:
            vary = headers.get("Vary")
            if not vary:
                headers["Vary"] = "Accept-Encoding"
            elif "accept-encoding" not in vary.lower():
                headers["Vary"] = vary + ", Accept-Encoding"
        length = len(chunk)
        # A HEAD answer may declare the length of a body it never wrote (a static
        # file): decide as GET would, so both carry the same headers (RFC 9110 §9.3.2).
        head_without_body = (
            self._head and not chunk and headers.get("Content-Length", "").isdigit()
        )
        if head_without_body:
            length = int(headers["Content-Length"])
        self._gzipping = (
            self._gzipping
            and compressible
            and status_code not in (204, 206, 304)
            and "Content-Encoding" not in headers
            and (not finishing or length >= self.MIN_LENGTH)
        )
        if self._gzipping:
            headers["Content-Encoding"] = "gzip"
            self._compressor = zlib.compressobj(
                self.GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS
            )
            chunk = self.transform_chunk(chunk, finishing)
            if "Content-Length" in headers:
                if finishing and not head_without_body:
                    headers["Content-Length"] = str(len(chunk))
                else:
                    del headers["Content-Length"]
            etag = headers.get("Etag")
            if etag and not etag.startswith("W/"):
                # The compressed bytes differ from the identity ones (RFC 9110 §8.8.3).
                headers["Etag"] = "W/" + etag
        return status_code, headers, chunk

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        if not self._gzipping:
            return chunk
        compressed = self._compressor.compress(chunk)
        compressed += self._compressor.flush(zlib.Z_FINISH if finishing else zlib.Z_SYNC_FLUSH)
        return compressed
