"""File upload, streamed: the handler sees the body chunk by chunk as it arrives.

The page sends the file as the raw body of ``PUT /upload/file?name=...`` (with an
``XMLHttpRequest``, whose upload events drive the progress bar). `UploadReceiver`
is a ``@stream_request_body`` handler: ``prepare()`` runs once the headers are
in, ``data_received()`` gets every chunk, ``put()`` runs at the end. Nothing is
buffered or written to disk; it hashes the bytes and forgets them.

``max_body_size`` caps the body: a larger ``Content-Length`` is answered 413
before a byte of the body is read (the page also checks the size first).
"""

from __future__ import annotations

import hashlib
import time

import cyclone.web
from demosite.base import BaseHandler

#: The largest upload accepted, in bytes.
UPLOAD_LIMIT = 8 * 1024 * 1024


class UploadPage(BaseHandler):
    page = "upload"

    def get(self) -> None:
        self.render("upload.html", limit=UPLOAD_LIMIT)


@cyclone.web.stream_request_body
class UploadReceiver(BaseHandler):
    """Receives one file as the request body; answers its size and SHA-256 in JSON."""

    max_body_size = UPLOAD_LIMIT

    def prepare(self) -> None:
        self._digest = hashlib.sha256()
        self._received = 0
        self._started = time.monotonic()

    def data_received(self, chunk: bytes) -> None:
        self._digest.update(chunk)
        self._received += len(chunk)

    def put(self) -> None:
        name = self.get_query_argument("name", "unnamed")[:200]
        self.write(
            {
                "name": name,
                "size": self._received,
                "sha256": self._digest.hexdigest(),
                "content_type": self.request.headers.get("Content-Type", ""),
                "seconds": round(time.monotonic() - self._started, 3),
            }
        )
