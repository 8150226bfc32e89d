"""HTTP data types shared by the server, the handlers and the clients.

    >>> from cyclone.httputil import HTTPHeaders, url_concat
    >>> headers = HTTPHeaders({"content-type": "text/plain"})
    >>> headers.add("Set-Cookie", "a=1")
    >>> headers.add("set-cookie", "b=2")
    >>> headers["Content-Type"], headers.get_list("SET-COOKIE")
    ('text/plain', ['a=1', 'b=2'])
    >>> url_concat("/search?q=1", {"page": 2})
    '/search?q=1&page=2'

This module owns the request object (`HTTPServerRequest`), headers, body
argument parsing (urlencoded and multipart/form-data), cookies, HTTP dates and
the delegate interfaces that connect `cyclone.httpserver` to request handlers.
"""

from __future__ import annotations

import calendar
import codecs
import datetime
import email.utils
import http.cookies
import re
import time
import unicodedata
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, AnyStr, Final, Protocol

from cyclone.util import ObjectDict

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

__all__ = [
    "BufferedBodyDelegate",
    "DEFAULT_MAX_FORM_BODY_SIZE",
    "DEFAULT_MAX_FORM_FIELDS",
    "HTTPFile",
    "HTTPHeaders",
    "HTTPInputError",
    "HTTPMessageDelegate",
    "HTTPServerConnectionDelegate",
    "HTTPServerRequest",
    "encode_username_password",
    "format_timestamp",
    "parse_body_arguments",
    "parse_cookie",
    "parse_http_date",
    "parse_multipart_form_data",
    "parse_qs_bytes",
    "qs_to_qsl",
    "responses",
    "url_concat",
]

#: Reason phrases for every status code Python knows, e.g. ``responses[404]``.
responses: dict[int, str] = {status.value: status.phrase for status in HTTPStatus}


class HTTPInputError(ValueError):
    """The peer sent something that is not valid HTTP: the answer is a 400."""


_header_name_cache: dict[str, str] = {}


#: RFC 9110 §5.6.2 ``token = 1*tchar``: methods, header names, cookie names, transfer codings.
TOKEN_PATTERN: Final = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
#: `TOKEN_PATTERN` compiled: ``TOKEN_RE.fullmatch(name)`` checks a token.
TOKEN_RE: Final = re.compile(TOKEN_PATTERN)


def canonical_header_name(name: str) -> str:
    """Spell a header name the conventional way (``content-type`` → ``Content-Type``)."""
    try:
        return _header_name_cache[name]
    except KeyError:
        canonical = "-".join(word.capitalize() for word in name.split("-"))
        if len(_header_name_cache) < 2000:
            _header_name_cache[name] = canonical
        return canonical


_canonical_header_name = canonical_header_name  # the name other distributions may have used


class HTTPHeaders(MutableMapping[str, str]):
    """Case-insensitive HTTP headers that may hold several values per name.

    ``headers[name]`` joins repeated values with a comma (RFC 9110 §5.3);
    ``get_list(name)`` returns them separately, as Set-Cookie needs.
    """

    __slots__ = ("table",)

    #: The ``{lower name: (canonical name, [values])}`` table itself, not a copy:
    #: for the protocol layer (the parser builds it, the response writer reads
    #: it) and lookups by a name already lower-cased. Read it; change headers
    #: through the mapping methods or `set_canonical`.
    table: dict[str, tuple[str, list[str]]]

    def __init__(self, *args: Any, **kwargs: str) -> None:
        self.table = {}
        if not args and not kwargs:
            return
        if len(args) == 1 and not kwargs and isinstance(args[0], HTTPHeaders):
            for key, (name, values) in args[0].table.items():
                self.table[key] = (name, list(values))
        else:
            self.update(*args, **kwargs)

    @classmethod
    def from_table(cls, values: dict[str, tuple[str, list[str]]]) -> HTTPHeaders:
        """Wrap an already-built ``{lower name: (canonical name, [values])}`` table (the parser's)."""
        headers = cls.__new__(cls)
        headers.table = values
        return headers

    _from_values = from_table

    @property
    def _values(self) -> dict[str, tuple[str, list[str]]]:
        """The table's name before it was public (`table`)."""
        return self.table

    def set_canonical(self, key: str, name: str, value: str) -> None:
        """Set ``name`` to the one ``value``, ``name`` already canonical and ``key`` its lower case.

        ``headers["Content-Length"] = value`` without normalising the name
        again, for names the caller spells as constants.
        """
        self.table[key] = (name, [value])

    def add(self, name: str, value: str) -> None:
        """Add one more value for ``name``, keeping the ones already there."""
        key = name.lower()
        entry = self.table.get(key)
        if entry is None:
            self.table[key] = (canonical_header_name(name), [value])
        else:
            entry[1].append(value)

    def get_list(self, name: str) -> list[str]:
        """All values of ``name`` in the order they were received (empty if none)."""
        entry = self.table.get(name.lower())
        return list(entry[1]) if entry else []

    getlist = get_list

    def get_all(self) -> Iterator[tuple[str, str]]:
        """Every (name, value) pair, repeated names included."""
        for name, values in self.table.values():
            for value in values:
                yield name, value

    def __getitem__(self, name: str) -> str:
        values = self.table[name.lower()][1]
        return values[0] if len(values) == 1 else ",".join(values)

    def __setitem__(self, name: str, value: str) -> None:
        self.table[name.lower()] = (canonical_header_name(name), [value])

    def __delitem__(self, name: str) -> None:
        del self.table[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:
        """The (comma-joined) value of ``name``, or ``default``; faster than Mapping.get."""
        entry = self.table.get(name.lower())
        if entry is None:
            return default
        values = entry[1]
        return values[0] if len(values) == 1 else ",".join(values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.table

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self.table.values())

    def __len__(self) -> int:
        return len(self.table)

    def copy(self) -> HTTPHeaders:
        return HTTPHeaders(self)

    __copy__ = copy

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.get_all())!r})"

    def __str__(self) -> str:
        return "".join(f"{name}: {value}\r\n" for name, value in self.get_all())

    @classmethod
    def from_canonical(cls, pairs: dict[str, str]) -> HTTPHeaders:
        """Build headers from ``{Canonical-Name: value}`` without normalising again (hot path)."""
        return cls.from_table({name.lower(): (name, [value]) for name, value in pairs.items()})

    @classmethod
    def parse(cls, text: str) -> HTTPHeaders:
        """Parse a header block (``Name: value`` lines); a malformed line raises HTTPInputError.

        Lines are cut out one at a time rather than split into a list first,
        so parsing costs the headers kept plus one line: 10,000 short lines
        do not make 10,000 temporary strings.
        """
        headers = cls()
        start = 0
        length = len(text)
        while start < length:
            end = text.find("\n", start)
            if end == -1:
                end = length
            line = text[start:end].rstrip("\r")
            start = end + 1
            if not line:
                continue
            if line[0] in " \t":
                raise HTTPInputError(f"obsolete line folding is not accepted: {line!r}")
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise HTTPInputError(f"malformed header line: {line!r}")
            headers.add(name, value.strip(" \t"))
        return headers


class HTTPFile(ObjectDict):
    """One uploaded file from a multipart/form-data body: ``filename``, ``body``, ``content_type``."""


#: Most fields accepted in one query string or one form body (urlencoded
#: fields or multipart parts); the ``max_form_fields`` setting. Each field
#: costs a few hundred bytes of Python objects and about a microsecond to
#: parse, so 10,000 bound a form to a few MB and a few ms; real forms
#: (Django, PHP and Starlette refuse past 1,000) stay well below it.
DEFAULT_MAX_FORM_FIELDS = 10_000

#: Largest form body (urlencoded or multipart/form-data) buffered and parsed
#: in memory; the ``max_form_body_size`` setting. Larger: 413 before the body
#: is read. Streamed uploads (``@stream_request_body``) and other content
#: types keep ``max_body_size`` (100 MiB).
DEFAULT_MAX_FORM_BODY_SIZE = 10 * 1024 * 1024

#: Largest header block of one multipart part (Tornado 6.5 uses the same
#: 10 KiB): a name, a filename and a Content-Type fit many times over.
MAX_MULTIPART_HEADER_SIZE = 10 * 1024

#: Most header lines in one multipart part (browsers send one to three), and
#: most quotes, backslashes and semicolons in its Content-Disposition (a name
#: and a filename need a handful). Those are what cost Python-level steps, so
#: these two keep each part's cost constant whatever its bytes hold.
MAX_MULTIPART_HEADER_LINES = 8
MAX_MULTIPART_DISPOSITION_DELIMITERS = 64


def _check_field_count(raw: bytes, max_fields: int) -> None:
    """Refuse urlencoded data with more than ``max_fields`` fields.

    Counts separators in C before anything is split, so a body of a million
    one-byte fields is refused without building an object per field. Empty
    fields count, as with ``urllib.parse.parse_qs(max_num_fields=...)``.
    """
    count = raw.count(b"&") + 1
    if count > max_fields:
        raise HTTPInputError(
            f"urlencoded data has {count} fields, more than the limit of {max_fields} "
            "(the max_form_fields setting)"
        )


def parse_qs_bytes(
    query: str | bytes, keep_blank_values: bool = True, max_fields: int | None = None
) -> dict[str, list[bytes]]:
    """Parse a query string into ``{name: [raw bytes values]}``.

    Values stay bytes (as in Tornado) so the handler decides how to decode
    them; names are decoded as UTF-8 with replacement. Decoding agrees with
    ``urllib.parse.unquote_to_bytes`` (malformed escapes such as ``%zz`` stay
    as sent) but runs in C: the whole query is rewritten once so that every
    ``%XX`` reads ``\\xXX`` (backslashes doubled first), and each field that
    holds an escape goes through the C-level escape decoder. More than
    ``max_fields`` non-empty fields raise HTTPInputError before any is built.
    """
    raw = query.encode("utf-8") if isinstance(query, str) else query
    if max_fields is not None:
        _check_field_count(raw, max_fields)
    if b"+" in raw:
        raw = raw.replace(b"+", b" ")  # an encoded plus is %2B, so this is safe everywhere
    escaped = b"%" in raw
    if escaped:
        raw = raw.replace(b"\\", b"\\\\").replace(b"%", b"\\x")
    fields = [field.partition(b"=") for field in raw.split(b"&") if field]
    if not keep_blank_values:
        fields = [field for field in fields if field[2]]
    result: dict[str, list[bytes]] = {}
    if escaped:
        for name, _, value in fields:
            key = (_unescape(name) if b"\\" in name else name).decode("utf-8", "replace")
            if b"\\" in value:
                value = _unescape(value)
            values = result.get(key)
            if values is None:
                result[key] = [value]
            else:
                values.append(value)
        return result
    for name, _, value in fields:
        key = name.decode("utf-8", "replace")
        values = result.get(key)
        if values is None:
            result[key] = [value]
        else:
            values.append(value)
    return result


_ESCAPED_QUERY_TOKEN = re.compile(rb"\\\\|\\x")
_escape_decode = codecs.escape_decode


def _unescape(field: bytes) -> bytes:
    """Decode one field that `parse_qs_bytes` rewrote to backslash escapes."""
    try:
        return _escape_decode(field)[0]
    except ValueError:
        # A malformed escape: undo the rewrite and let the standard function keep it.
        original = _ESCAPED_QUERY_TOKEN.sub(
            lambda match: b"\\" if match.group() == b"\\\\" else b"%", field
        )
        return urllib.parse.unquote_to_bytes(original)


def qs_to_qsl(qs: Mapping[str, Iterable[AnyStr]]) -> Iterator[tuple[str, AnyStr]]:
    """The ``(name, value)`` pairs of a parsed query, ``{name: [values]}``, in order (Tornado's).

    Turns `parse_qs_bytes`'s result back into what ``urlencode`` takes.
    """
    for name, values in qs.items():
        for value in values:
            yield name, value


def encode_username_password(username: str | bytes, password: str | bytes) -> bytes:
    """``username:password`` as UTF-8 bytes, for HTTP Basic credentials (Tornado's).

    Text is NFC-normalised first (RFC 7617 §2.1), so the same name typed on
    two systems gives the same bytes.
    """
    if isinstance(username, str):
        username = unicodedata.normalize("NFC", username).encode("utf-8")
    if isinstance(password, str):
        password = unicodedata.normalize("NFC", password).encode("utf-8")
    return username + b":" + password


def url_concat(url: str, args: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> str:
    """Append query arguments to ``url``, keeping any it already has.

    ``args`` is a dict (a list value repeats the name) or a list of pairs.
    """
    if not args:
        return url
    parts = urllib.parse.urlsplit(url)
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    items = args.items() if isinstance(args, Mapping) else args
    for name, value in items:
        if isinstance(value, (list, tuple)):
            pairs.extend((name, item) for item in value)
        else:
            pairs.append((name, value))
    query = urllib.parse.urlencode(pairs)
    return urllib.parse.urlunsplit(parts._replace(query=query))


def format_timestamp(ts: float | int | tuple | time.struct_time | Any) -> str:
    """Format a time as an HTTP date (RFC 9110 §5.6.7 IMF-fixdate), always in GMT.

    Accepts a Unix timestamp, a time tuple/struct_time (UTC) or a datetime
    (naive datetimes are taken as UTC).
    """
    if isinstance(ts, (int, float)):
        seconds = float(ts)
    elif isinstance(ts, (tuple, time.struct_time)):
        seconds = calendar.timegm(ts)
    elif hasattr(ts, "utctimetuple"):
        seconds = calendar.timegm(ts.utctimetuple())
    else:
        raise TypeError(f"unknown timestamp type: {ts!r}")
    return email.utils.formatdate(seconds, usegmt=True)


def parse_http_date(value: str) -> float | None:
    """Parse any of the three HTTP date formats (RFC 9110 §5.6.7); None when it is not a date.

    A field out of range (the year 99999999999 or 10000, hour 25, an offset of
    more than a day) is not a date either: the header is then ignored, as a
    client may send anything there.
    """
    try:
        parsed = email.utils.parsedate_tz(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    offset = parsed[9] or 0
    if abs(offset) > 86400:
        return None
    try:
        moment = datetime.datetime(
            year, month, day, hour, minute, min(second, 59), tzinfo=datetime.timezone.utc
        )
    except (ValueError, OverflowError):
        return None
    return moment.timestamp() - offset


def parse_cookie(header: str) -> dict[str, str]:
    """Parse a Cookie request header leniently, as browsers send it.

    Pairs without ``=`` are kept under the empty name as browsers do; quoted
    values are unquoted. Invalid pairs are skipped rather than failing the
    whole header, because one bad cookie set by another site on the same
    domain must not lock a user out.
    """
    cookies: dict[str, str] = {}
    for chunk in header.split(";"):
        if "=" in chunk:
            name, value = chunk.split("=", 1)
        else:
            name, value = "", chunk
        name, value = name.strip(), value.strip()
        if name or value:
            cookies[name] = _unquote_cookie_value(value)
    return cookies


def _unquote_cookie_value(value: str) -> str:
    """Undo the quoting of a cookie value: surrounding quotes, ``\\x`` and ``\\ooo`` escapes."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    return re.sub(
        r"\\(?:([0-3][0-7][0-7])|(.))",
        lambda m: chr(int(m.group(1), 8)) if m.group(1) else m.group(2),
        value[1:-1],
    )


_MULTIPART_BOUNDARY = re.compile(r'boundary=(?:"([^"]{1,200})"|([^\s;,]{1,200}))', re.IGNORECASE)


_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
# One ``;``-separated item of a header value: plain characters, or a quoted
# string whose backslash escapes may hide ``"`` and ``;`` (unterminated: to the end).
_HEADER_PARAMETER_ITEM = re.compile(r'(?:[^;"]+|"(?:[^"\\]+|\\.)*(?:"|\\?\Z))*', re.DOTALL)


def _parse_header_parameters(value: str) -> tuple[str, dict[str, str]]:
    """Split ``form-data; name="a"; filename*=UTF-8''b.txt`` into its value and parameters.

    Quoted strings may contain ``;`` and backslash escapes; RFC 2231/5987
    extended parameters (``name*=charset'lang'value``) are decoded and win over
    the plain form. Items are cut by a regular expression (C speed), since a
    multipart body can carry thousands of these headers.
    """
    items: list[str] = []
    position = 0
    length = len(value)
    match_item = _HEADER_PARAMETER_ITEM.match
    while True:
        match = match_item(value, position)
        assert match is not None  # the pattern matches the empty string
        items.append(match.group())
        position = match.end() + 1  # past the ";" that ended the item
        if position > length:
            break
    main = items[0].strip().lower()
    params: dict[str, str] = {}
    extended: dict[str, str] = {}
    for item in items[1:]:
        name, sep, raw = item.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            continue
        raw = raw.strip()
        if name.endswith("*"):
            charset, _, rest = raw.partition("'")
            _, _, encoded = rest.partition("'")
            try:
                extended[name[:-1]] = urllib.parse.unquote(encoded, encoding=charset or "utf-8")
            except LookupError:
                continue
        elif len(raw) >= 2 and raw[0] == raw[-1] == '"':
            quoted = raw[1:-1]
            params[name] = _QUOTED_PAIR.sub(r"\1", quoted) if "\\" in quoted else quoted
        else:
            params[name] = raw
    params.update(extended)
    return main, params


def _parse_multipart(
    boundary: bytes,
    body: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    max_fields: int | None = None,
) -> None:
    """Parse a multipart/form-data body (RFC 7578), raising HTTPInputError when malformed.

    Parts are located with ``find`` in the body itself, so the only copies are
    the values: memory stays about twice the body. More than ``max_fields``
    parts are refused before any is parsed; a part's header block is limited
    to `MAX_MULTIPART_HEADER_SIZE`.
    """
    delimiter = b"--" + boundary
    start = body.find(delimiter)
    if start == -1:
        raise HTTPInputError("multipart body does not contain its boundary")
    # The CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    separator = b"\r\n" + delimiter
    end = body.rfind(separator + b"--")
    if end == -1 or end < start:
        if body.startswith(b"--", start + len(delimiter)):
            return  # a form without fields: the first delimiter is the closing one
        raise HTTPInputError("multipart body has no closing boundary")
    if max_fields is not None:
        count = body.count(separator, start, end) + 1
        if count > max_fields:
            raise HTTPInputError(
                f"multipart body has {count} parts, more than the limit of {max_fields} "
                "(the max_form_fields setting)"
            )
    position = start + len(delimiter)
    while True:
        part_end = body.find(separator, position, end)
        if part_end == -1:
            part_end = end
        if body[position : position + 2] != b"\r\n":
            raise HTTPInputError("multipart boundary is not followed by CRLF")
        _add_multipart_part(body, position + 2, part_end, arguments, files)
        if part_end == end:
            return
        position = part_end + len(separator)


def parse_multipart_form_data(
    boundary: bytes,
    data: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
) -> None:
    """Parse a multipart/form-data body into ``arguments`` and ``files`` (Tornado's and 1.3's call).

    ``boundary`` is the Content-Type's parameter, quoted or not. The parser
    is the one request bodies go through: a preamble and whatever follows the
    final boundary are ignored, ``filename*=`` (RFC 5987) wins over
    ``filename``, raw UTF-8 file names are read as such, and a malformed body,
    or one of more than `DEFAULT_MAX_FORM_FIELDS` parts, raises HTTPInputError
    as Tornado 6 does.
    """
    if len(boundary) >= 2 and boundary.startswith(b'"') and boundary.endswith(b'"'):
        boundary = boundary[1:-1]
    _parse_multipart(boundary, data, arguments, files, DEFAULT_MAX_FORM_FIELDS)


def _add_multipart_part(
    body: bytes,
    head_start: int,
    part_end: int,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
) -> None:
    """Read the part at ``body[head_start:part_end]`` (headers, blank line, value) into a field."""
    header_limit = MAX_MULTIPART_HEADER_SIZE
    head_end = body.find(b"\r\n\r\n", head_start, min(part_end, head_start + header_limit + 4))
    if head_end == -1:
        if part_end - head_start > header_limit + 4:
            raise HTTPInputError(
                f"multipart part header block is larger than {header_limit} bytes"
            )
        raise HTTPInputError("multipart part has no header block")
    head = body[head_start:head_end]
    if head.count(b"\n") >= MAX_MULTIPART_HEADER_LINES:
        raise HTTPInputError(
            f"multipart part has more than {MAX_MULTIPART_HEADER_LINES} header lines"
        )
    try:
        part_headers = HTTPHeaders.parse(head.decode("utf-8"))
    except UnicodeDecodeError:
        raise HTTPInputError("multipart part headers are not UTF-8")
    name, filename = _form_data_disposition(part_headers.get("Content-Disposition", ""))
    value = body[head_end + 4 : part_end]
    # An empty file name is a file input left empty: a plain field, as in Tornado and 1.x.
    if filename:
        content_type = part_headers.get("Content-Type", "application/octet-stream")
        files.setdefault(name, []).append(
            HTTPFile(filename=filename, body=value, content_type=content_type)
        )
    else:
        arguments.setdefault(name, []).append(value)


def _form_data_disposition(disposition: str) -> tuple[str, str | None]:
    """The field name and file name (None for a plain field) of a part's Content-Disposition."""
    delimiters = disposition.count('"') + disposition.count("\\") + disposition.count(";")
    if delimiters > MAX_MULTIPART_DISPOSITION_DELIMITERS:
        raise HTTPInputError(
            f"multipart Content-Disposition has {delimiters} quotes, backslashes and "
            f"semicolons; at most {MAX_MULTIPART_DISPOSITION_DELIMITERS} are accepted"
        )
    kind, params = _parse_header_parameters(disposition)
    if kind != "form-data" or "name" not in params:
        raise HTTPInputError(f"invalid multipart Content-Disposition: {disposition!r}")
    return params["name"], params.get("filename")


def parse_body_arguments(
    content_type: str,
    body: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    headers: HTTPHeaders | None = None,
    *,
    max_fields: int | None = DEFAULT_MAX_FORM_FIELDS,
) -> None:
    """Parse a form body into ``arguments`` and ``files`` (both updated in place).

    Handles ``application/x-www-form-urlencoded`` and ``multipart/form-data``;
    other types are left for the handler to read from ``request.body``. A body
    with a Content-Encoding we did not undo, that is malformed, or that has
    more than ``max_fields`` fields or parts (None: no limit) raises
    HTTPInputError so the client gets a 400 that says why.
    """
    if headers is not None and headers.get("Content-Encoding", "identity").lower() != "identity":
        raise HTTPInputError(
            f"unsupported Content-Encoding for a form body: {headers['Content-Encoding']!r}"
        )
    main_type = content_type.split(";", 1)[0].strip().lower()
    if main_type == "application/x-www-form-urlencoded":
        try:
            parsed = parse_qs_bytes(body, keep_blank_values=True, max_fields=max_fields)
        except (UnicodeError, ValueError) as error:
            if isinstance(error, HTTPInputError):
                raise
            raise HTTPInputError(f"invalid urlencoded body: {error}")
        if not arguments:
            arguments.update(parsed)
        else:
            for name, values in parsed.items():
                arguments.setdefault(name, []).extend(values)
    elif main_type == "multipart/form-data":
        match = _MULTIPART_BOUNDARY.search(content_type)
        if not match:
            raise HTTPInputError("multipart/form-data without a boundary parameter")
        boundary = (match.group(1) or match.group(2)).encode("latin-1")
        _parse_multipart(boundary, body, arguments, files, max_fields)


_FORM_CONTENT_TYPES = frozenset(("application/x-www-form-urlencoded", "multipart/form-data"))


def _is_form_content_type(content_type: str) -> bool:
    """True for the body types `parse_body_arguments` reads whole into memory."""
    return content_type.partition(";")[0].strip().lower() in _FORM_CONTENT_TYPES


class HTTPMessageDelegate(Protocol):
    """Receives one request from the HTTP connection (the core seam).

    Any method may return a Deferred: the connection stops reading from the
    socket until it fires, which is how a streaming handler applies
    backpressure to an upload.
    """

    def headers_received(self, request: HTTPServerRequest) -> Deferred[Any] | None: ...

    def data_received(self, chunk: bytes) -> Deferred[Any] | None: ...

    def finish(self) -> None: ...

    def on_connection_close(self) -> None: ...


class BufferedBodyDelegate:
    """A base for message delegates that read the whole request body before acting.

    `data_received` keeps the body in memory: the first piece as it came,
    then one bytearray growing in place, so a body arriving in many small
    pieces costs about its size, not an object per piece. `take_body`
    hands it over. The server's plain-callback adapter and the router's
    handler delegate build on it.
    """

    __slots__ = ("_body",)

    def __init__(self) -> None:
        # Subclasses on a hot path set this slot themselves instead of calling up.
        self._body: bytes | bytearray = b""

    def data_received(self, chunk: bytes) -> Deferred[Any] | None:
        """Keep ``chunk`` (never pauses reading: the body limit bounds the memory)."""
        body = self._body
        if not body:
            self._body = chunk
        elif type(body) is bytes:
            self._body = bytearray(body) + chunk
        else:
            body += chunk
        return None

    def take_body(self) -> bytes:
        """The body received so far (and forget it); empty when none came."""
        body, self._body = self._body, b""
        return body if type(body) is bytes else bytes(body)


class HTTPServerConnectionDelegate(Protocol):
    """Creates a message delegate for each request (a router or an application)."""

    def start_request(self, request: HTTPServerRequest) -> HTTPMessageDelegate: ...


class HTTPServerRequest:
    """One HTTP request as the application sees it.

    ``arguments`` merges ``query_arguments`` and ``body_arguments``; values are
    lists of bytes. ``body`` is the whole body once it has been read (empty for
    streamed bodies). ``connection`` writes the response.

    The query string and a form body are parsed when one of ``arguments``,
    ``query_arguments``, ``body_arguments`` or ``files`` is first read, so a
    request whose handler never looks (a 404, a 403 from the XSRF check) never
    pays for it. A malformed form body, or one with more fields than the
    ``max_form_fields`` setting, raises HTTPInputError from that first read
    (a handler answers 400) and again from every later one.
    """

    __slots__ = (
        "method",
        "uri",
        "version",
        "headers",
        "body",
        "remote_ip",
        "protocol",
        "host",
        "host_name",
        "path",
        "query",
        "connection",
        "server_connection",
        "_arguments",
        "_query_arguments",
        "_body_arguments",
        "_files",
        "_form_pending",
        "_form_error",
        "max_form_fields",
        "_start_time",
        "_finish_time",
        "_cookies",
        "__dict__",
    )

    def __init__(
        self,
        method: str = "GET",
        uri: str = "/",
        version: str = "HTTP/1.0",
        headers: HTTPHeaders | None = None,
        body: bytes | None = None,
        host: str | None = None,
        files: dict[str, list[HTTPFile]] | None = None,
        connection: Any = None,
        remote_ip: str | None = None,
        protocol: str = "http",
        start_time: float | None = None,
    ) -> None:
        self.method = method
        self.uri = uri
        self.version = version
        if headers is None:
            headers = HTTPHeaders()
        self.headers = headers
        self.body = body or b""
        self.remote_ip = remote_ip
        self.protocol = protocol
        if not host:
            host = headers.get("Host") or "127.0.0.1"
        self.host = host
        self.host_name = _host_name(host)
        self.connection = self.server_connection = connection
        self._start_time = time.time() if start_time is None else start_time
        self._finish_time: float | None = None
        self._cookies: dict[str, http.cookies.Morsel[str]] | None = None
        self._arguments: dict[str, list[bytes]] | None = None
        self._query_arguments: dict[str, list[bytes]] | None = None
        self._body_arguments: dict[str, list[bytes]] | None = None
        self._files = files
        self._form_pending = False
        self._form_error: HTTPInputError | None = None
        #: Fields a query string or form body may have (the ``max_form_fields`` setting).
        self.max_form_fields: int | None = DEFAULT_MAX_FORM_FIELDS
        if "?" in uri:
            self.path, _, self.query = uri.partition("?")
        else:
            self.path = uri
            self.query = ""

    @property
    def query_arguments(self) -> dict[str, list[bytes]]:
        """The query string's arguments, ``{name: [bytes values]}``, parsed on first use."""
        arguments = self._query_arguments
        if arguments is None:
            query = self.query
            arguments = self._query_arguments = (
                parse_qs_bytes(query, keep_blank_values=True, max_fields=self.max_form_fields)
                if query
                else {}
            )
        return arguments

    @query_arguments.setter
    def query_arguments(self, value: dict[str, list[bytes]]) -> None:
        self._query_arguments = value

    @property
    def body_arguments(self) -> dict[str, list[bytes]]:
        """The form body's fields, ``{name: [bytes values]}``, parsed on first use."""
        if self._form_pending or self._form_error is not None:
            self._parse_pending_body()
        arguments = self._body_arguments
        if arguments is None:
            arguments = self._body_arguments = {}
        return arguments

    @body_arguments.setter
    def body_arguments(self, value: dict[str, list[bytes]]) -> None:
        if self._form_pending:
            self.parse_form_body()  # so that it does not land in the value set later
        self._body_arguments = value

    @property
    def files(self) -> dict[str, list[HTTPFile]]:
        """The uploaded files of a multipart/form-data body, ``{name: [HTTPFile]}``."""
        if self._form_pending or self._form_error is not None:
            self._parse_pending_body()
        files = self._files
        if files is None:
            files = self._files = {}
        return files

    @files.setter
    def files(self, value: dict[str, list[HTTPFile]]) -> None:
        if self._form_pending:
            self.parse_form_body()  # so that it does not land in the value set later
        self._files = value

    @property
    def arguments(self) -> dict[str, list[bytes]]:
        """Query and body arguments together (query values first), built on first use."""
        if self._form_pending or self._form_error is not None:
            self._parse_pending_body()
        arguments = self._arguments
        if arguments is None:
            body_arguments = self._body_arguments
            if self.query:
                arguments = {name: list(values) for name, values in self.query_arguments.items()}
                if body_arguments:
                    _merge_arguments(arguments, body_arguments)
            elif body_arguments:
                arguments = {name: list(values) for name, values in body_arguments.items()}
            else:
                arguments = {}
            self._arguments = arguments
        return arguments

    @arguments.setter
    def arguments(self, value: dict[str, list[bytes]]) -> None:
        if self._form_pending:
            self.parse_form_body()  # so that it does not land in the value set later
        self._arguments = value

    @property
    def cookies(self) -> dict[str, http.cookies.Morsel[str]]:
        """The request's cookies as ``{name: Morsel}`` (``.value`` holds the value)."""
        if self._cookies is None:
            self._cookies = {}
            header = self.headers.get("Cookie")
            if header:
                for name, value in parse_cookie(header).items():
                    morsel: http.cookies.Morsel[str] = http.cookies.Morsel()
                    try:
                        morsel.set(name, value, value)
                    except http.cookies.CookieError:
                        continue
                    self._cookies[name] = morsel
        return self._cookies

    def supports_http_1_1(self) -> bool:
        """True when the client spoke HTTP/1.1 (keep-alive by default, chunked allowed)."""
        return self.version == "HTTP/1.1"

    def full_url(self) -> str:
        """The URL the client asked for: ``protocol://host/uri``."""
        return f"{self.protocol}://{self.host}{self.uri}"

    def request_time(self) -> float:
        """Seconds this request took to handle (so far, when it is not finished yet)."""
        end = self._finish_time if self._finish_time is not None else time.time()
        return end - self._start_time

    def write(self, chunk: bytes) -> None:
        """Send body bytes (for plain request callbacks; handlers use their own write())."""
        connection = self.connection
        # The server's connection can skip building a flow-control Deferred nobody reads.
        getattr(connection, "send_body", connection.write)(chunk)

    def finish(self) -> None:
        """End the response (for plain request callbacks)."""
        self.connection.finish()

    def notifyFinish(self) -> Deferred[None]:
        """A Deferred fired when the response finishes or the client disconnects first."""
        return self.connection.notifyFinish()

    def get_ssl_certificate(self, binary_form: bool = False) -> dict[str, Any] | bytes | None:
        """The client's TLS certificate, or None without TLS or without one (Tornado's method).

        A dict shaped as ``ssl.SSLSocket.getpeercert()`` returns it, or the
        DER bytes with ``binary_form``. Clients only send a certificate when
        the server asks: serve with TLS options that verify them, e.g.
        ``twisted.internet.ssl.CertificateOptions(..., verify=True,
        caCerts=[client_ca])``.
        """
        transport = getattr(self.connection, "transport", None)
        get_peer_certificate = getattr(transport, "getPeerCertificate", None)
        if get_peer_certificate is None:
            return None
        certificate = get_peer_certificate()
        if certificate is None:
            return None
        from cyclone import _peercert

        return _peercert.as_der(certificate) if binary_form else _peercert.as_dict(certificate)

    @property
    def form_pending(self) -> bool:
        """True while a form body given to `set_pending_form_body` waits to be parsed."""
        return self._form_pending

    def set_pending_form_body(self, body: bytes) -> None:
        """Keep ``body`` as the request body, to parse as a form when the arguments are first read.

        For the router: a 404, a 405 or a refused XSRF check then never
        pays for parsing, and a malformed body raises HTTPInputError (a 400)
        where the handler reads its arguments.
        """
        self.body = body
        self._form_pending = True

    def parse_form_body(self) -> None:
        """Parse a buffered form body now into ``body_arguments``/``files`` and ``arguments``.

        Raises HTTPInputError (kept for every later read of the arguments)
        when the body is malformed or has more than ``max_form_fields`` fields.
        """
        self._form_pending = False
        parsed: dict[str, list[bytes]] = {}
        files = self._files
        if files is None:
            files = self._files = {}
        try:
            parse_body_arguments(
                self.headers.get("Content-Type", ""),
                self.body,
                parsed,
                files,  # a part of them stays on error, hidden by the error kept
                self.headers,
                max_fields=self.max_form_fields,
            )
        except HTTPInputError as error:
            self._form_error = error
            raise
        if parsed:
            if self._body_arguments:
                _merge_arguments(self._body_arguments, parsed)
            else:
                self._body_arguments = parsed
            if self._arguments is not None:
                _merge_arguments(self._arguments, parsed)

    _parse_body = parse_form_body  # Tornado's name

    def _parse_pending_body(self) -> None:
        error = self._form_error
        if error is not None:
            raise HTTPInputError(*error.args)
        self.parse_form_body()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(protocol={self.protocol!r}, host={self.host!r}, "
            f"method={self.method!r}, uri={self.uri!r}, version={self.version!r}, "
            f"remote_ip={self.remote_ip!r})"
        )


def _merge_arguments(target: dict[str, list[Any]], extra: dict[str, list[Any]]) -> None:
    """Append each of ``extra``'s values to ``target``'s list of the same name."""
    for name, values in extra.items():
        existing = target.get(name)
        if existing is None:
            target[name] = list(values)
        else:
            existing.extend(values)


def _host_name(host: str) -> str:
    """The lower-cased host of a ``Host`` value, without its port."""
    if ":" not in host:
        return host.lower()
    name, _, port = host.rpartition(":")
    if port.isdigit() and port.isascii() and ":" not in name:
        return name.lower()
    return _split_host_and_port(host.lower())[0]


def _split_host_and_port(netloc: str) -> tuple[str, int | None]:
    """Split ``host[:port]`` (IPv6 literals in brackets) into host and port.

    A port of more than five digits is no TCP port: it is dropped (None)
    rather than parsed, as a Host header may carry thousands of digits.
    """
    if ":" not in netloc:
        return netloc, None
    match = re.match(r"^(.+):([0-9]+)$", netloc)
    if match:
        digits = match.group(2)
        host, port = match.group(1), int(digits) if len(digits) <= 5 else None
    else:
        host, port = netloc, None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


split_host_and_port = _split_host_and_port
