"""Escaping and unescaping for HTML, URLs and JSON, and text/bytes conversion.

    >>> from cyclone import escape
    >>> escape.xhtml_escape('<a href="x">&</a>')
    '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;'
    >>> escape.url_escape("a b/c")
    'a+b%2Fc'

The functions keep the names and semantics Tornado and the old cyclone gave them,
so templates and handlers written for either keep working.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from collections.abc import Callable
from typing import Any, overload

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

__all__ = [
    "json_decode",
    "json_encode",
    "linkify",
    "native_str",
    "parse_qs_bytes",
    "recursive_unicode",
    "squeeze",
    "to_basestring",
    "to_unicode",
    "url_escape",
    "url_unescape",
    "utf8",
    "xhtml_escape",
    "xhtml_unescape",
]

_XHTML_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
)


def xhtml_escape(value: str | bytes | Any) -> str:
    """Escape ``& < > " '`` so the value is safe in HTML text and quoted attributes.

    ``'`` becomes ``&#39;`` as in cyclone 1.x (Tornado 6 writes the equivalent
    ``&#x27;``): browsers read both the same, and 1.x pages keep their bytes.
    """
    return to_unicode(value).translate(_XHTML_ESCAPES)


def xhtml_unescape(value: str | bytes) -> str:
    """Turn every HTML character reference (named, decimal, hex) back into its character."""
    return html.unescape(to_unicode(value))


def _bytes_as_text(value: Any) -> str:
    """The JSON encoder's fallback: bytes become text, as in cyclone 1.x.

    A 1.x application (a chat sending ``{"body": b"..."}``) wrote bytes values;
    they are decoded as UTF-8, and bytes that are not UTF-8 are refused rather
    than silently altered.
    """
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"cannot encode as JSON: bytes value {value[:40]!r} is not valid UTF-8 ({error})"
            ) from None
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable: {value!r}")


# Built once: json.dumps with keyword arguments builds a new encoder on every call.
# Without the circular-reference bookkeeping (a dict update per container) a
# cycle ends in RecursionError, reported below as the ValueError json.dumps gives.
_JSON_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), check_circular=False, default=_bytes_as_text
)


def json_encode(value: Any) -> str:
    """Encode ``value`` as JSON that is safe to embed in an HTML ``<script>`` block.

    ``</`` is written as ``<\\/`` so a string containing ``</script>`` cannot end
    the script element early. Bytes values and keys are decoded as UTF-8 (as
    cyclone 1.x did; Tornado refuses them), and bytes that are not UTF-8 raise
    ValueError.
    """
    try:
        text = _JSON_ENCODER.encode(value)
    except RecursionError:
        raise ValueError("cannot encode as JSON: circular reference or nesting too deep")
    except TypeError:
        # The encoder's fallback never sees dict keys: bytes keys need one walk first.
        if not _has_bytes_key(value):
            raise
        return json_encode(_text_keys(value))
    return text.replace("</", "<\\/")


def _has_bytes_key(value: Any, depth: int = 0) -> bool:
    if depth > 100:
        return False
    if isinstance(value, dict):
        return any(
            isinstance(key, bytes) or _has_bytes_key(item, depth + 1)
            for key, item in value.items()
        )
    if isinstance(value, (list, tuple)):
        return any(_has_bytes_key(item, depth + 1) for item in value)
    return False


def _text_keys(value: Any) -> Any:
    """A copy of ``value`` whose bytes dict keys are decoded (values are left to the encoder)."""
    if isinstance(value, dict):
        return {
            _bytes_as_text(key) if isinstance(key, bytes) else key: _text_keys(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_text_keys(item) for item in value]
    return value


def json_decode(value: str | bytes) -> Any:
    """Parse a JSON document given as text or UTF-8 bytes."""
    return json.loads(value)


def parse_qs_bytes(
    query: str | bytes, keep_blank_values: bool = False, strict_parsing: bool = False
) -> dict[str, list[bytes]]:
    """Parse a query string into ``{name: [bytes values]}`` (Tornado's and 1.x's name).

    The same parser as `cyclone.httputil.parse_qs_bytes`, with the defaults of
    ``urllib.parse.parse_qs`` that this name always had: blank values are dropped
    unless ``keep_blank_values``, and ``strict_parsing`` raises ValueError on a
    field without ``=``. Values are bytes, as in Tornado and in cyclone 1.x on
    Python 2 (1.3 on Python 3 returned text: decode with ``.decode()``).
    """
    from cyclone.httputil import parse_qs_bytes as parse

    raw = query.encode("utf-8") if isinstance(query, str) else query
    if strict_parsing and raw:
        for field in raw.split(b"&"):
            if b"=" not in field:
                raise ValueError(f"bad query field: {field!r}")
    return parse(raw, keep_blank_values)


def squeeze(value: str) -> str:
    """Collapse every run of whitespace into a single space."""
    return re.sub(r"[\x00-\x20]+", " ", value).strip()


def url_escape(value: str | bytes, plus: bool = True) -> str:
    """Percent-encode a value for use in a URL.

    With ``plus=True`` (the default, for query strings) spaces become ``+``;
    with ``plus=False`` (for path segments) they become ``%20``.
    """
    quote = urllib.parse.quote_plus if plus else urllib.parse.quote
    return quote(utf8(value), safe="")


@overload
def url_unescape(value: str | bytes, encoding: None, plus: bool = True) -> bytes: ...
@overload
def url_unescape(value: str | bytes, encoding: str = "utf-8", plus: bool = True) -> str: ...
def url_unescape(
    value: str | bytes, encoding: str | None = "utf-8", plus: bool = True
) -> str | bytes:
    """Decode a percent-encoded value; ``encoding=None`` returns bytes.

    With ``plus=True`` a ``+`` decodes to a space (query strings); path segments
    should use ``plus=False`` so a literal ``+`` survives. Bytes that are not
    valid in ``encoding`` become U+FFFD, as in Tornado: a malformed query must
    not raise from deep inside a handler.
    """
    raw = utf8(value)
    if plus:
        raw = raw.replace(b"+", b" ")
    unquoted = urllib.parse.unquote_to_bytes(raw)
    return unquoted if encoding is None else unquoted.decode(encoding, "replace")


_UTF8_TYPES = (bytes, type(None))


@overload
def utf8(value: bytes) -> bytes: ...
@overload
def utf8(value: str) -> bytes: ...
@overload
def utf8(value: None) -> None: ...
def utf8(value: str | bytes | None) -> bytes | None:
    """Encode text as UTF-8; bytes and None pass through unchanged."""
    if isinstance(value, _UTF8_TYPES):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected bytes, str or None; got {type(value).__name__}: {value!r}")
    return value.encode("utf-8")


_TO_UNICODE_TYPES = (str, type(None))


@overload
def to_unicode(value: str) -> str: ...
@overload
def to_unicode(value: bytes) -> str: ...
@overload
def to_unicode(value: None) -> None: ...
@overload
def to_unicode(value: Any) -> str: ...
def to_unicode(value: Any) -> str | None:
    """Decode UTF-8 bytes to text; text and None pass through, anything else is ``str()``-ed."""
    if isinstance(value, _TO_UNICODE_TYPES):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8")
    return str(value)


native_str = to_unicode
to_basestring = to_unicode
_unicode = to_unicode


def recursive_unicode(obj: Any) -> Any:
    """Decode every bytes value inside nested dicts, lists and tuples to text."""
    if isinstance(obj, dict):
        return {recursive_unicode(k): recursive_unicode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [recursive_unicode(item) for item in obj]
    if isinstance(obj, tuple):
        return tuple(recursive_unicode(item) for item in obj)
    if isinstance(obj, bytes):
        return to_unicode(obj)
    return obj


# Tornado's grammar, applied to the escaped text: a link starts with
# "scheme:/" (one to three slashes) or "www.", then is a run of pieces, each
# either characters ending on one that is not punctuation, or one balanced
# parenthesised group (Wikipedia's "Foo_(bar)"). A "(" that is not closed
# ends the link. The scheme's length is bounded so that text like
# "a-a-a-a..." costs linear, not quadratic, time.
_URL_CHAR = r"(?:[^\s&()]|&amp;|&quot;)"
_URL_LAST_CHAR = r"[^!\"#$%&'()*+,.:;<=>?@\[\]^`{|}~\s]"
_URL_RE = re.compile(
    r"\b((?:([\w-]{1,32}):(/{1,3})|www[.])"
    rf"(?:{_URL_CHAR}*{_URL_LAST_CHAR}|\({_URL_CHAR}*\))+)"
)


_SHORTENED_LINK_LENGTH = 30


def _shorten_link_text(url: str, protocol: str | None, slashes: str | None) -> str:
    """Tornado's link shortening: the host plus a hint of the path, at most ~30 characters.

    The full URL stays in the link's title. An HTML entity (``&amp;``) is never
    cut in half, and a "shortened" text that is not shorter is left alone.
    """
    if len(url) <= _SHORTENED_LINK_LENGTH:
        return url
    prefix_length = len(protocol) + 1 + len(slashes or "") if protocol else 0
    host, *path = url[prefix_length:].split("/")
    shown = url
    if path:
        hint = path[0][:8].split("?")[0].split(".")[0]
        shown = f"{url[:prefix_length]}{host}/{hint}"
    if len(shown) > _SHORTENED_LINK_LENGTH * 1.5:
        shown = shown[:_SHORTENED_LINK_LENGTH]
    if shown == url:
        return url
    entity_start = shown.rfind("&")
    if entity_start > _SHORTENED_LINK_LENGTH - 5:
        shown = shown[:entity_start]
    shown += "..."
    return url if len(shown) >= len(url) else shown


def linkify(
    text: str | bytes,
    shorten: bool = False,
    extra_params: str | Callable[[str], str] = "",
    require_protocol: bool = False,
    permitted_protocols: tuple[str, ...] | list[str] = ("http", "https"),
) -> str:
    """Escape ``text`` as HTML and turn the URLs in it into ``<a>`` links.

    ``shorten`` trims long link texts; ``extra_params`` adds attributes (a string,
    or a callable receiving the URL); ``require_protocol`` skips bare ``www.``
    hosts; only schemes in ``permitted_protocols`` are linked, so
    ``javascript:`` never is.
    """
    if extra_params and not callable(extra_params):
        extra_params = " " + extra_params.strip()

    def make_link(match: re.Match[str]) -> str:
        url = match.group(1)
        protocol = match.group(2)
        if require_protocol and not protocol:
            return url
        if protocol and protocol not in permitted_protocols:
            return url
        href = match.group(1)
        if not protocol:
            href = "http://" + href
        if callable(extra_params):
            params = " " + extra_params(href).strip()
        else:
            params = extra_params
        shown = _shorten_link_text(url, protocol, match.group(3)) if shorten else url
        if shown != url:
            params += f' title="{href}"'
        return f'<a href="{href}"{params}>{shown}</a>'

    escaped = xhtml_escape(text)
    return _URL_RE.sub(make_link, escaped)
