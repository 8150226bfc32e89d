"""Access-log lines, one per request, in a chosen format, through twisted.logger.

    from cyclone.routing import Router

    app = Router([(r"/", MainHandler)], access_log_format="combined")
    # 127.0.0.1 - - [26/Nov/2026:00:13:57 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8.5.0"

Formats (the ``access_log_format`` setting, or ``twistd cyclone --access-log-format``):

``default``
    cyclone's own short line: ``200 GET /path (127.0.0.1) 1.23ms``.
``common``
    the NCSA Common Log Format that Apache and nginx write, so log analysers
    read it: host, identity, user, time, request line, status, bytes.
``combined``
    ``common`` plus the quoted Referer and User-Agent.
``json``
    one JSON object per line (for log shippers): the same fields, named.

Every event is emitted on the ``cyclone.access`` logger namespace with the
fields as event keys too, so a structured observer (``jsonFileLogObserver``)
gets them without parsing text. Setting ``access_log=False`` turns the log
off; ``log_function`` replaces it entirely.

Credentials that arrive in a query string are not written: the values of
`REDACTED_QUERY_NAMES` (an OAuth callback's ``code`` and ``state``, tokens)
read ``[redacted]`` in every format, as they do in the request summary of
error logs (see `redact_uri`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from twisted.logger import Logger

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

__all__ = [
    "FORMATS",
    "REDACTED_QUERY_NAMES",
    "format_line",
    "log_request",
    "redact_uri",
    "request_fields",
]

log = Logger(namespace="cyclone.access")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


#: Query parameters whose values are credentials: OAuth 2.0's authorization
#: ``code`` and ``state`` (RFC 6749 §4.1.2), tokens of the implicit flow
#: (§4.2.2, and ``refresh_token``), OpenID Connect's ``id_token`` (Core §3.2.2.5).
REDACTED_QUERY_NAMES = ("code", "state", "access_token", "id_token", "refresh_token")
_SECRET_PARAMETER = re.compile(r"(?:^|(?<=[&;]))(" + "|".join(REDACTED_QUERY_NAMES) + r")=[^&;]*")


def redact_uri(uri: str) -> str:
    """``uri`` with the values of `REDACTED_QUERY_NAMES` in its query replaced by ``[redacted]``.

    ``/auth?code=4/0Ab&state=xyz&next=/`` becomes
    ``/auth?code=[redacted]&state=[redacted]&next=/``: whoever reads the logs
    must not be able to finish a sign-in, or use a token, with what they read.
    """
    if "?" not in uri:
        return uri
    path, _, query = uri.partition("?")
    return path + "?" + _SECRET_PARAMETER.sub(r"\1=[redacted]", query)


def request_fields(handler: Any) -> dict[str, Any]:
    """The facts an access-log line is made of, read from a finished handler."""
    request = handler.request
    connection = getattr(request, "connection", None)
    size = getattr(connection, "bytes_written", None)
    headers = request.headers
    return {
        "remote_ip": request.remote_ip,
        "time": getattr(request, "_start_time", None) or time.time(),
        "method": request.method,
        "uri": redact_uri(request.uri),
        "version": request.version,
        "status": handler.get_status(),
        "bytes": size,
        "referer": headers.get("Referer"),
        "user_agent": headers.get("User-Agent"),
        "duration_ms": 1000.0 * request.request_time(),
        "host": request.host,
    }


def _clf_time(timestamp: float) -> str:
    """``10/Oct/2000:13:55:36 +0000`` in local time with its offset, as Apache writes it."""
    local = time.localtime(timestamp)
    offset = local.tm_gmtoff or 0
    sign = "-" if offset < 0 else "+"
    offset = abs(offset) // 60
    return (
        f"{local.tm_mday:02d}/{_MONTHS[local.tm_mon - 1]}/{local.tm_year}:"
        f"{local.tm_hour:02d}:{local.tm_min:02d}:{local.tm_sec:02d} "
        f"{sign}{offset // 60:02d}{offset % 60:02d}"
    )


def _quoted(value: str | None) -> str:
    """A field inside double quotes, with quotes, backslashes and control bytes escaped.

    Client-controlled text (the URI, User-Agent) must not be able to forge a
    second log line or break the quoting, so it is escaped as Apache does.
    """
    if value is None:
        return "-"
    out = []
    for char in value:
        code = ord(char)
        if char == '"' or char == "\\":
            out.append("\\" + char)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(char)
    return "".join(out)


def _format_default(fields: dict[str, Any]) -> str:
    return (
        f"{fields['status']} {fields['method']} {fields['uri']} "
        f"({fields['remote_ip']}) {fields['duration_ms']:.2f}ms"
    )


def _format_common(fields: dict[str, Any]) -> str:
    size = fields["bytes"]
    request_line = f"{fields['method']} {fields['uri']} {fields['version']}"
    return (
        f"{fields['remote_ip'] or '-'} - - [{_clf_time(fields['time'])}] "
        f'"{_quoted(request_line)}" {fields["status"]} {size if size is not None else "-"}'
    )


def _format_combined(fields: dict[str, Any]) -> str:
    return (
        f'{_format_common(fields)} "{_quoted(fields["referer"])}" '
        f'"{_quoted(fields["user_agent"])}"'
    )


def _format_json(fields: dict[str, Any]) -> str:
    record = dict(fields)
    record["duration_ms"] = round(fields["duration_ms"], 3)
    record["time"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(fields["time"])) + (
        f".{int(fields['time'] * 1000) % 1000:03d}Z"
    )
    return json.dumps(record, ensure_ascii=True, separators=(",", ":"))


#: The known formats, by the name the setting and the command line use.
FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {
    "default": _format_default,
    "common": _format_common,
    "combined": _format_combined,
    "json": _format_json,
}


def format_line(handler: Any, format: str = "default") -> str:
    """One access-log line for ``handler``'s request in ``format``."""
    try:
        formatter = FORMATS[format]
    except KeyError:
        raise ValueError(
            f"unknown access_log_format {format!r}; choose one of {', '.join(FORMATS)}"
        ) from None
    return formatter(request_fields(handler))


def log_request(handler: Any, format: str | None = None) -> None:
    """Emit the access-log event for ``handler``'s finished request (info level).

    ``log_level_hint`` says error for 5xx and warn for 4xx, so an observer can
    pick out failures without parsing the line.
    """
    fields = request_fields(handler)
    status = fields["status"]
    hint = "error" if status >= 500 else "warn" if status >= 400 else "info"
    if format is None or format == "default":
        # The historical event: its format string keeps the fields structured.
        log.info(
            "{status} {method} {uri} ({remote_ip}) {duration_ms:.2f}ms",
            status=status,
            method=fields["method"],
            uri=fields["uri"],
            remote_ip=fields["remote_ip"],
            # Rounded so the line reads the same after a JSON round trip (worker logs
            # relayed by cyclone.workers), where the format spec is not applied.
            duration_ms=round(fields["duration_ms"], 2),
            log_level_hint=hint,
        )
        return
    try:
        formatter = FORMATS[format]
    except KeyError:
        raise ValueError(
            f"unknown access_log_format {format!r}; choose one of {', '.join(FORMATS)}"
        ) from None
    log.info("{access_line}", access_line=formatter(fields), access=fields, log_level_hint=hint)
