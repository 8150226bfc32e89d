"""Serving files from a directory: caching headers, conditional and range requests.

    app = cyclone.web.Application(handlers, static_path="./static")
    # /static/app.css is served from ./static/app.css;
    # handler.static_url("app.css") gives "/static/app.css?v=<hash>", cacheable for a year.

Requests can never leave the root: ``..`` segments, percent-encoded
traversal, absolute paths, NUL bytes and symbolic links that point outside
are refused (403 or 404). Large files are sent in chunks, waiting for the
client's socket to drain between them, and the file is closed however the
request ends.

`StaticFileHandler` has Tornado's override hooks, called in Tornado's order,
so a static handler written for Tornado (content from a database, versioned
URLs for a CDN, custom cache headers) works unchanged; see its docstring.
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
from collections.abc import Iterable, Iterator
from typing import Any

from twisted.logger import Logger

from cyclone import escape
from cyclone.handler import HTTPError, RequestHandler
from cyclone.httputil import parse_http_date

__all__ = ["StaticFileHandler"]

log = Logger()

#: Bytes read and written per step when streaming a file.
CHUNK_SIZE = 64 * 1024
#: A year, the usual lifetime of a versioned static URL (RFC 9111 §5.3 suggests
#: no more); Tornado uses ten. `StaticFileHandler.CACHE_MAX_AGE` is what is used.
CACHE_MAX_AGE = 86400 * 365
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)$")
#: A byte position with more significant digits than this is past the end of
#: any file (10**18 bytes is an exabyte); it is not given to int(), which would
#: spend time on it or raise past Python's 4300-digit limit.
_MAX_POSITION_DIGITS = 18
_PAST_ANY_FILE = 10**_MAX_POSITION_DIGITS
_UTC = datetime.timezone.utc


class StaticFileHandler(RequestHandler):
    """Serves files below ``path``; ``default_filename`` answers directory URLs.

    Route it as ``(r"/content/(.*)", StaticFileHandler, {"path": "/var/www"})``,
    or let `Application` do it from the ``static_path`` setting.

    Subclasses override Tornado's hooks, which `get` calls in this order:
    ``parse_url_path(url_path)`` → ``get_absolute_path(root, path)``
    (classmethod) → ``validate_absolute_path(root, absolute_path)`` →
    ``get_modified_time()`` → ``set_headers()`` (which calls ``compute_etag``,
    ``get_content_type``, ``get_cache_time`` and ``set_extra_headers``) →
    ``should_return_304()`` → ``get_content_size()`` →
    ``get_content(absolute_path, start, end)`` (classmethod; bytes or an
    iterator of bytes). Instance methods may use ``self.path``,
    ``self.absolute_path`` and ``self.modified``. Static URLs come from the
    classmethods ``make_static_url``, ``get_version`` and
    ``get_content_version``; ``reset()`` forgets the cached versions.

    To serve content from somewhere else than the file system (a database),
    override ``get_content``, ``get_content_size``, ``get_modified_time``,
    ``get_absolute_path`` and ``validate_absolute_path``.

    Differences from Tornado, on purpose: text types get ``; charset=UTF-8``,
    versioned URLs are cached for a year (``CACHE_MAX_AGE``), the default ETag
    is the file's size and modification time (no hashing per file, and a
    changed file changes it at once), versions are a 32-digit SHA-256 of the
    content, ``If-Modified-Since`` in the future is ignored, ``If-Range`` is
    honoured, a directory redirect always stays on this host, and a range
    covering the whole file is answered 206.
    """

    #: Seconds a versioned URL may be cached (``Cache-Control: max-age``).
    CACHE_MAX_AGE = CACHE_MAX_AGE
    #: Content larger than this gets no version: hashing it would block the
    #: reactor for a long time (as in Tornado 6.6).
    MAX_VERSION_CONTENT_SIZE = 64 * 1024 * 1024
    #: Versions kept in the cache; the least recently used one goes first (as in
    #: Tornado 6.6), so static_url with many distinct paths cannot grow it forever.
    MAX_CACHED_VERSIONS = 10_000

    #: Versions by absolute path, from the least to the most recently used; each
    #: subclass has its own (its get_content_version may differ).
    _static_hashes: dict[str, str | None] = {}
    _lock = threading.Lock()

    #: Directories symbolic links may point into (the root by default), as in
    #: Tornado 6.5.9: one directory or a list of them.
    allowed_symlink_directory: str | list[str] | None = None

    root: str
    default_filename: str | None
    path: str
    absolute_path: str | None
    modified: datetime.datetime | None

    def initialize(  # type: ignore[override]
        self,
        path: str,
        default_filename: str | None = None,
        allowed_symlink_directory: str | list[str] | None = None,
    ) -> None:
        self.root = path
        self.default_filename = default_filename
        self.allowed_symlink_directory = allowed_symlink_directory

    def head(self, path: str) -> Any:
        return self.get(path, include_body=False)

    async def get(self, path: str, include_body: bool = True) -> None:
        self.path = self.parse_url_path(path)
        del path
        absolute_path = self.get_absolute_path(self.root, self.path)
        self.absolute_path = self.validate_absolute_path(self.root, absolute_path)
        if self.absolute_path is None:
            return
        modified = self.get_modified_time()
        if modified is not None and modified.tzinfo is None:
            modified = modified.replace(tzinfo=_UTC)
        self.modified = modified
        self.set_headers()

        if self.should_return_304():
            self.set_status(304)
            return

        size = self.get_content_size()
        start: int | None = None
        end: int | None = None
        range_header = self.request.headers.get("Range")
        if range_header and self._range_applies():
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
        length = size if start is None or end is None else end - start
        self.set_header("Content-Length", str(length))
        if not include_body or self.request.method == "HEAD":
            return
        await self._send_content(self.get_content(self.absolute_path, start, end), length)

    async def _send_content(self, content: bytes | Iterable[bytes], length: int) -> None:
        """Write ``content`` chunk by chunk, waiting for the socket to drain between them.

        The last chunk is left for finish(), which sends it with the end of
        the response. Bytes past ``length`` (a file that grew since it was
        measured) are not sent: the Content-Length is already promised. The
        iterator is closed however this ends (a client that went away
        included), so a file it holds is closed at once.
        """
        chunks: Iterable[bytes] = [content] if isinstance(content, bytes) else content
        connection = self.request.connection
        remaining = length
        try:
            for chunk in chunks:
                if len(chunk) >= remaining:
                    self.write(chunk[:remaining] if len(chunk) > remaining else chunk)
                    return
                self.write(chunk)
                remaining -= len(chunk)
                await self.flush()
                if connection.client_disconnected:
                    return
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    # -- Tornado's hooks, per request -------------------------------------------------

    def parse_url_path(self, url_path: str) -> str:
        """The path below the root that a URL path (``static_url_prefix`` removed) names.

        The inverse of `make_static_url`; override both to change the URL scheme.
        """
        if os.path.sep != "/":
            url_path = url_path.replace("/", os.path.sep)
        return url_path

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        """Check ``absolute_path`` is a regular file below ``root``: its resolved path.

        Raises 403 for what lies outside (symbolic links are resolved and must
        stay in ``allowed_symlink_directory``, the root by default) and for what
        is not a regular file, 404 for what does not exist. A directory is
        served through ``default_filename`` (redirecting ``/dir`` to ``/dir/``
        on this host), or refused. Returns None once it has answered itself.
        """
        if "\x00" in absolute_path:
            raise HTTPError(404)
        _check_in_root(root, absolute_path, self.path)
        allowed = self.allowed_symlink_directory or root
        directories = [allowed] if isinstance(allowed, str) else list(allowed)
        resolved = _resolve_inside(absolute_path, directories, self.path)
        stat_result = _stat_or_404(resolved)
        if stat.S_ISDIR(stat_result.st_mode):
            if self.default_filename is None:
                raise HTTPError(403, "%s is a directory", self.path)
            if not self.request.path.endswith("/"):
                self._redirect_within_origin(self.request.path + "/", permanent=True)
                return None
            resolved = _resolve_inside(
                os.path.join(resolved, self.default_filename), directories, self.path
            )
            stat_result = _stat_or_404(resolved)
        if not stat.S_ISREG(stat_result.st_mode):
            raise HTTPError(403, "%s is not a file", self.path)
        self._stat_result = stat_result
        return resolved

    def get_modified_time(self) -> datetime.datetime | None:
        """When ``self.absolute_path`` last changed (whole seconds, UTC), or None."""
        return datetime.datetime.fromtimestamp(int(self._stat().st_mtime), _UTC)

    def get_content_size(self) -> int:
        """The size in bytes of the content at ``self.absolute_path``."""
        return self._stat().st_size

    def get_content_type(self) -> str:
        """The Content-Type for ``self.absolute_path``, from its name; text types in UTF-8."""
        assert self.absolute_path is not None
        mime_type, encoding = mimetypes.guess_type(self.absolute_path)
        if encoding == "gzip":
            return "application/gzip"
        if encoding is not None or mime_type is None:
            return "application/octet-stream"
        if mime_type.startswith("text/") or mime_type in (
            "application/javascript",
            "application/json",
        ):
            return mime_type + "; charset=UTF-8" if "charset" not in mime_type else mime_type
        return mime_type

    def set_headers(self) -> None:
        """Set the content and caching headers: Accept-Ranges, Etag, Last-Modified, type, cache."""
        self.set_header("Accept-Ranges", "bytes")
        self.set_etag_header()
        if self.modified is not None:
            self.set_header("Last-Modified", self.modified)
        content_type = self.get_content_type()
        if content_type:
            self.set_header("Content-Type", content_type)
        cache_time = self.get_cache_time(self.path, self.modified, content_type)
        if cache_time > 0:
            expires = datetime.datetime.now(_UTC) + datetime.timedelta(seconds=cache_time)
            self.set_header("Expires", expires)
            self.set_header("Cache-Control", f"max-age={cache_time}")
        self.set_extra_headers(self.path)

    def get_cache_time(self, path: str, modified: datetime.datetime | None, mime_type: str) -> int:
        """Seconds the client may cache this file: ``CACHE_MAX_AGE`` for versioned (``?v=``) URLs."""
        return self.CACHE_MAX_AGE if "v" in self.request.arguments else 0

    def set_extra_headers(self, path: str) -> None:
        """Hook for subclasses to add headers to every file response."""

    def compute_etag(self) -> str | None:
        """The file's ETag: its size and modification time, or the content version.

        Content read by the default `get_content` (a file) gets
        ``"<size>-<mtime ns>"`` in hex, which changes as soon as the file
        does and costs no hashing. Other content (a subclass serving from a
        database) gets Tornado's: the cached `get_content_version`.
        """
        if _reads_files(type(self)):
            stat_result = self._stat()
            return f'"{stat_result.st_size:x}-{stat_result.st_mtime_ns:x}"'
        assert self.absolute_path is not None
        version = self._version_of(self.settings, self.absolute_path)
        return f'"{version}"' if version else None

    def should_return_304(self) -> bool:
        """If-None-Match, else If-Modified-Since, says the client's copy is current.

        RFC 9110 §13.1.3, §13.2.2: a date that is not one, or that lies in the
        future, is ignored (it cannot be a Last-Modified this server sent).
        """
        if self.request.headers.get("If-None-Match"):
            return self.check_etag_header()
        since = self.request.headers.get("If-Modified-Since")
        if since and self.modified is not None:
            timestamp = parse_http_date(since)
            if timestamp is not None and self.modified.timestamp() <= timestamp <= time.time():
                return True
        return False

    def _range_applies(self) -> bool:
        """If-Range (RFC 9110 §13.1.5): serve the range only if the validator still matches."""
        if_range = self.request.headers.get("If-Range")
        if not if_range:
            return True
        if if_range.startswith('"') or if_range.startswith("W/"):
            return if_range == self._headers.get("Etag")
        timestamp = parse_http_date(if_range)
        return (
            timestamp is not None
            and self.modified is not None
            and int(timestamp) == int(self.modified.timestamp())
        )

    def _stat(self) -> os.stat_result:
        """The stat of ``self.absolute_path``, kept from `validate_absolute_path` if it made one."""
        stat_result = self.__dict__.get("_stat_result")
        if stat_result is None:
            assert self.absolute_path is not None
            stat_result = self._stat_result = os.stat(self.absolute_path)
        return stat_result

    # -- Tornado's hooks, without a request (static URLs) ------------------------------

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        """The absolute location of ``path`` below ``root``; 403 if it leads outside.

        Any string unique per file will do for a subclass whose `get_content`
        understands it (a database key). Symbolic links are checked later, by
        `validate_absolute_path`.
        """
        absolute_path = os.path.abspath(os.path.join(root, path))
        _check_in_root(root, absolute_path, path)
        return absolute_path

    @classmethod
    def get_content(
        cls, abspath: str, start: int | None = None, end: int | None = None
    ) -> bytes | Iterator[bytes]:
        """The content at ``abspath`` from ``start`` to ``end`` (exclusive), in chunks.

        Returns bytes or an iterator of bytes; the default reads the file
        ``CHUNK_SIZE`` bytes at a time. A classmethod, as in Tornado, so that
        ``abspath`` alone identifies the content (it is the cache key of
        versions).
        """
        _stat_regular_file(abspath, abspath)
        return _read_chunks(abspath, start, end)

    @classmethod
    def get_content_version(cls, abspath: str) -> str:
        """The version string of the content at ``abspath``: 32 hex digits of its SHA-256.

        Hashes what `get_content` gives, so subclasses serving from elsewhere
        get versions too. Content larger than ``MAX_VERSION_CONTENT_SIZE``
        raises ValueError (and so gets no version).
        """
        content = cls.get_content(abspath)
        chunks: Iterable[bytes] = [content] if isinstance(content, bytes) else content
        hasher = hashlib.sha256()
        size = 0
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > cls.MAX_VERSION_CONTENT_SIZE:
                    raise ValueError(
                        f"{abspath} is larger than MAX_VERSION_CONTENT_SIZE "
                        f"({cls.MAX_VERSION_CONTENT_SIZE} bytes): no version"
                    )
                hasher.update(chunk)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return hasher.hexdigest()[:32]

    @classmethod
    def make_static_url(cls, settings: Any, path: str, include_version: bool = True) -> str:
        """``static_url_prefix + path``, with ``?v=<version>`` when the content has one.

        The path is percent-encoded (``/`` kept). Override with
        `parse_url_path` to change how static URLs look (for a CDN).
        """
        url = settings.get("static_url_prefix", "/static/") + escape.url_escape(
            path, plus=False
        ).replace("%2F", "/")
        if not include_version:
            return url
        version = cls.get_version(settings, path)
        return f"{url}?v={version}" if version else url

    @classmethod
    def get_version(cls, settings: Any, path: str) -> str | None:
        """The version of static file ``path`` for its URL, or None.

        Cached per absolute path until `reset` (recomputed every time when the
        ``static_hash_cache`` setting is false, which ``debug`` implies).
        ``path`` should name a known file, not come from the request.
        """
        return cls._version_of(settings, cls.get_absolute_path(settings["static_path"], path))

    @classmethod
    def reset(cls) -> None:
        """Forget the cached versions of this class and its subclasses."""
        with cls._lock:
            pending = [cls]
            while pending:
                klass = pending.pop()
                klass.__dict__.get("_static_hashes", {}).clear()
                pending.extend(klass.__subclasses__())

    @classmethod
    def _version_of(cls, settings: Any, abspath: str) -> str | None:
        if not settings.get("static_hash_cache", not settings.get("debug", False)):
            return cls._compute_version(abspath)
        return cls._get_cached_version(abspath)

    @classmethod
    def _get_cached_version(cls, abspath: str) -> str | None:
        with cls._lock:
            hashes = cls.__dict__.get("_static_hashes")
            if hashes is None:
                hashes = {}
                cls._static_hashes = hashes
            if abspath in hashes:
                version = hashes[abspath] = hashes.pop(abspath)
                return version
        version = cls._compute_version(abspath)
        with cls._lock:
            while hashes and len(hashes) >= cls.MAX_CACHED_VERSIONS:
                del hashes[next(iter(hashes))]
            hashes[abspath] = version
        return version

    @classmethod
    def _compute_version(cls, abspath: str) -> str | None:
        try:
            return cls.get_content_version(abspath) or None
        except (OSError, ValueError, HTTPError) as error:
            log.info("no version for static file {path}: {error}", path=abspath, error=error)
            return None


def _reads_files(cls: type[StaticFileHandler]) -> bool:
    """True unless ``cls`` overrides `StaticFileHandler.get_content` (serves other content)."""
    for klass in cls.__mro__:
        if "get_content" in klass.__dict__:
            return klass is StaticFileHandler
    return False


#: Absolute roots, normalised with a trailing separator (a relative root depends
#: on the current directory, so it is normalised every time).
_NORMALISED_ROOTS: dict[str, str] = {}


def _check_in_root(root: str, absolute_path: str, path: str) -> None:
    """403 unless ``absolute_path`` (as written, links not followed) is ``root`` or below it."""
    prefix = _NORMALISED_ROOTS.get(root)
    if prefix is None:
        prefix = os.path.abspath(root)
        if not prefix.endswith(os.path.sep):
            prefix += os.path.sep
        if os.path.isabs(root) and len(_NORMALISED_ROOTS) < 1000:
            _NORMALISED_ROOTS[root] = prefix
    if not (absolute_path + os.path.sep).startswith(prefix):
        raise HTTPError(403, "%s is not in the root static directory", path)


def _resolve_inside(absolute_path: str, directories: list[str], path: str) -> str:
    """``absolute_path`` with its symbolic links resolved; 403 unless it stays in ``directories``."""
    resolved = os.path.realpath(absolute_path)
    for directory in directories:
        allowed = os.path.realpath(directory)
        if not allowed.endswith(os.path.sep):
            allowed += os.path.sep
        if (resolved + os.path.sep).startswith(allowed):
            return resolved
    raise HTTPError(403, "%s is not in the root static directory", path)


def _stat_or_404(absolute_path: str) -> os.stat_result:
    try:
        return os.stat(absolute_path)
    except (OSError, ValueError):
        raise HTTPError(404)


def _stat_regular_file(absolute_path: str, path: str) -> os.stat_result:
    """The stat of a regular file; 404 if there is none, 403 for a directory, device or FIFO."""
    stat_result = _stat_or_404(absolute_path)
    if not stat.S_ISREG(stat_result.st_mode):
        raise HTTPError(403, "%s is not a file", path)
    return stat_result


def _read_chunks(abspath: str, start: int | None, end: int | None) -> Iterator[bytes]:
    with open(abspath, "rb") as file:
        if start is not None:
            file.seek(start)
        remaining = None if end is None else end - (start or 0)
        while remaining is None or remaining > 0:
            chunk = file.read(CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


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
