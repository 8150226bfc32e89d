"""Serving files from a directory: caching headers, conditional and range requests.

    app = cyclone.web.Application(handlers, static_path="./static")
    # /static/app.css is served from ./static/app.css;
    # handler.static_url("app.css") gives "/static/app.css?v=<hash>", cacheable for a year.

Requests can never leave the root: ``..`` segments, percent-encoded
traversal, absolute paths, NUL bytes and symbolic links that point outside
are refused (403 or 404). Large files are sent in chunks, waiting for the
client's socket to drain between them, and the file is closed however the
request ends.
"""

from __future__ import annotations

import datetime
import hashlib
import mimetypes
import os
import re
import stat
import threading
import time
from typing import Any

from cyclone import escape
from cyclone.handler import HTTPError, RequestHandler
from cyclone.httputil import format_timestamp, parse_http_date

__all__ = ["StaticFileHandler"]

#: Bytes read and written per step when streaming a file.
CHUNK_SIZE = 64 * 1024
#: A year, the usual lifetime of a versioned static URL.
CACHE_MAX_AGE = 86400 * 365
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)$")
#: A byte position with more significant digits than this is past the end of
#: any file (10**18 bytes is an exabyte); it is not given to int(), which would
#: spend time on it or raise past Python's 4300-digit limit.
_MAX_POSITION_DIGITS = 18
_PAST_ANY_FILE = 10**_MAX_POSITION_DIGITS


class StaticFileHandler(RequestHandler):
    """Serves files below ``path``; ``default_filename`` answers directory URLs."""

    _static_hashes: dict[str, str | None] = {}
    _lock = threading.Lock()

    def initialize(self, path: str, default_filename: str | None = None) -> None:  # type: ignore[override]
        self.root = path
        self.default_filename = default_filename

    def head(self, path: str) -> Any:
        return self.get(path, include_body=False)

    async def get(self, path: str, include_body: bool = True) -> None:
        absolute_path = self.validate_absolute_path(self.root, path)
        if absolute_path is None:
            return
        try:
            info = os.stat(absolute_path)
        except FileNotFoundError:
            raise HTTPError(404)
        size = info.st_size
        modified = datetime.datetime.fromtimestamp(int(info.st_mtime), datetime.timezone.utc)
        etag = f'"{size:x}-{info.st_mtime_ns:x}"'
        self.set_header("Etag", etag)
        self.set_header("Last-Modified", format_timestamp(modified))
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("Content-Type", self.get_content_type(absolute_path))
        cache_time = self.get_cache_time(path, modified, self.get_content_type(absolute_path))
        if cache_time > 0:
            self.set_header("Cache-Control", f"max-age={cache_time}")
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                seconds=cache_time
            )
            self.set_header("Expires", format_timestamp(expires))
        self.set_extra_headers(path)

        if self._not_modified(etag, modified):
            self.set_status(304)
            return

        start, end = 0, size
        range_header = self.request.headers.get("Range")
        if range_header and self._range_applies(etag, modified):
            parsed = _parse_range(range_header, size)
            if parsed == "unsatisfiable":
                self.set_status(416)
                self.set_header("Content-Range", f"bytes */{size}")
                self.clear_header("Content-Type")
                self.set_header("Content-Length", "0")
                return
            if isinstance(parsed, tuple):
                start, end = parsed
                self.set_status(206)
                self.set_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.set_header("Content-Length", str(end - start))
        if not include_body or self.request.method == "HEAD":
            return
        await self._send_file(absolute_path, start, end)

    async def _send_file(self, absolute_path: str, start: int, end: int) -> None:
        connection = self.request.connection
        with open(absolute_path, "rb") as file:
            file.seek(start)
            remaining = end - start
            while remaining > 0:
                chunk = file.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                self.write(chunk)
                if remaining > 0:
                    await self.flush()
                    if connection.client_disconnected:
                        return

    def compute_etag(self) -> str | None:
        return None  # set from the file's size and modification time in get()

    def _not_modified(self, etag: str, modified: datetime.datetime) -> bool:
        """If-None-Match, else If-Modified-Since (RFC 9110 §13.1.3, §13.2.2).

        A date that is not one, or that lies in the future, is ignored (§13.1.3:
        it cannot be a Last-Modified this server sent), so the file is sent.
        """
        if self.request.headers.get("If-None-Match"):
            return self.check_etag_header()
        since = self.request.headers.get("If-Modified-Since")
        if since:
            timestamp = parse_http_date(since)
            if timestamp is not None and modified.timestamp() <= timestamp <= time.time():
                return True
        return False

    def _range_applies(self, etag: str, modified: datetime.datetime) -> bool:
        """If-Range (RFC 9110 §13.1.5): serve the range only if the validator still matches."""
        if_range = self.request.headers.get("If-Range")
        if not if_range:
            return True
        if if_range.startswith('"') or if_range.startswith("W/"):
            return if_range == etag
        timestamp = parse_http_date(if_range)
        return timestamp is not None and int(timestamp) == int(modified.timestamp())

    # -- extension points (as in Tornado) -------------------------------------------

    def validate_absolute_path(self, root: str, path: str) -> str | None:
        """Map a URL path to a file below ``root``, or refuse it with 403/404."""
        if "\x00" in path:
            raise HTTPError(404)
        root = os.path.realpath(root)
        candidate = os.path.realpath(os.path.join(root, path))
        if candidate != root and not candidate.startswith(root + os.sep):
            raise HTTPError(403, "%s is not in the root static directory", path)
        if os.path.isdir(candidate):
            if self.default_filename is None:
                raise HTTPError(403, "%s is a directory", path)
            if not self.request.path.endswith("/"):
                self._redirect_within_origin(self.request.path + "/", permanent=True)
                return None
            candidate = os.path.join(candidate, self.default_filename)
        if not os.path.exists(candidate):
            raise HTTPError(404)
        if not stat.S_ISREG(os.stat(candidate).st_mode):
            raise HTTPError(403, "%s is not a file", path)
        return candidate

    def get_content_type(self, absolute_path: str) -> str:
        mime_type, encoding = mimetypes.guess_type(absolute_path)
        if encoding == "gzip":
            return "application/gzip"
        if encoding is not None:
            return "application/octet-stream"
        if mime_type is None:
            return "application/octet-stream"
        if mime_type.startswith("text/") or mime_type in (
            "application/javascript",
            "application/json",
        ):
            return mime_type + "; charset=UTF-8" if "charset" not in mime_type else mime_type
        return mime_type

    def get_cache_time(self, path: str, modified: datetime.datetime, mime_type: str) -> int:
        """Seconds the client may cache this file: a year for versioned (``?v=``) URLs."""
        return CACHE_MAX_AGE if "v" in self.request.arguments else 0

    def set_extra_headers(self, path: str) -> None:
        """Hook for subclasses to add headers to every file response."""

    @classmethod
    def make_static_url(cls, settings: Any, path: str, include_version: bool = True) -> str:
        """``static_url_prefix + path``, with ``?v=<hash>`` of the content when it exists."""
        url = settings.get("static_url_prefix", "/static/") + escape.url_escape(
            path, plus=False
        ).replace("%2F", "/")
        if not include_version:
            return url
        version = cls.get_version(settings, path)
        return f"{url}?v={version}" if version else url

    @classmethod
    def get_version(cls, settings: Any, path: str) -> str | None:
        """A short hash of the file's content (cached unless ``static_hash_cache`` is off)."""
        absolute_path = os.path.join(settings["static_path"], path)
        use_cache = settings.get("static_hash_cache", not settings.get("debug", False))
        with cls._lock:
            if use_cache and absolute_path in cls._static_hashes:
                return cls._static_hashes[absolute_path]
        hasher = hashlib.sha256()
        try:
            with open(absolute_path, "rb") as file:
                for block in iter(lambda: file.read(CHUNK_SIZE), b""):
                    hasher.update(block)
            digest: str | None = hasher.hexdigest()[:32]
        except OSError:
            digest = None
        if use_cache:
            with cls._lock:
                cls._static_hashes[absolute_path] = digest
        return digest

    @classmethod
    def reset(cls) -> None:
        """Forget every cached version hash."""
        with cls._lock:
            cls._static_hashes.clear()


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One byte range from a Range header as (start, end-exclusive).

    Returns None when the header should be ignored (malformed or several
    ranges: the whole file is then sent with 200, which RFC 9110 §14.2
    allows), or "unsatisfiable" for a 416.
    """
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = _position(last)
        if suffix == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size
    start = _position(first)
    end = _position(last) + 1 if last else size
    if last and end <= start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size)


def _position(digits: str) -> int:
    """A byte position from a Range header; huge ones become a position past any file."""
    significant = digits.lstrip("0")
    if len(significant) > _MAX_POSITION_DIGITS:
        return _PAST_ANY_FILE
    return int(significant or "0")
