"""Access-log lines in every format, as an observer of twisted.logger sees them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import pytest_twisted
from twisted.logger import formatEvent, globalLogPublisher

from cyclone import accesslog
from cyclone.handler import HTTPError, RequestHandler
from cyclone.routing import Router
from cyclone.testing import Client


class Hello(RequestHandler):
    def get(self) -> None:
        self.write("Hello, world")


class Broken(RequestHandler):
    def get(self) -> None:
        raise HTTPError(503)


@pytest.fixture
def access_events() -> Iterator[list[dict]]:
    events: list[dict] = []

    def observer(event: dict) -> None:
        if event.get("log_namespace") == "cyclone.access":
            events.append(event)

    globalLogPublisher.addObserver(observer)
    try:
        yield events
    finally:
        globalLogPublisher.removeObserver(observer)


async def fetch(path: str = "/", headers: dict | None = None, **settings) -> None:
    app = Router([(r"/", Hello), (r"/broken", Broken)], **settings)
    await Client(app).get(path, headers=headers or {})


@pytest_twisted.ensureDeferred
async def test_default_format_is_the_short_cyclone_line(access_events) -> None:
    await fetch("/?q=1")
    [event] = access_events
    assert re.fullmatch(r"200 GET /\?q=1 \(127\.0\.0\.1\) \d+\.\d\dms", formatEvent(event))
    assert event["status"] == 200
    assert event["log_level_hint"] == "info"


@pytest_twisted.ensureDeferred
async def test_common_format_is_ncsa_common_log_format(access_events) -> None:
    await fetch("/", access_log_format="common")
    [event] = access_events
    line = formatEvent(event)
    assert re.fullmatch(
        r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET / HTTP/1\.1" 200 12',
        line,
    ), line


@pytest_twisted.ensureDeferred
async def test_combined_format_adds_quoted_referer_and_user_agent(access_events) -> None:
    await fetch(
        "/",
        headers={"Referer": "http://example.com/", "User-Agent": 'evil"\\agent'},
        access_log_format="combined",
    )
    line = formatEvent(access_events[0])
    assert line.endswith(' 200 12 "http://example.com/" "evil\\"\\\\agent"'), line


@pytest_twisted.ensureDeferred
async def test_json_format_is_one_parseable_object_with_named_fields(access_events) -> None:
    await fetch("/broken", access_log_format="json")
    [event] = access_events
    record = json.loads(formatEvent(event))
    assert record["status"] == 503
    assert record["method"] == "GET"
    assert record["uri"] == "/broken"
    assert record["remote_ip"] == "127.0.0.1"
    assert record["time"].endswith("Z")
    assert event["log_level_hint"] == "error"
    assert event["access"]["status"] == 503


@pytest_twisted.ensureDeferred
async def test_access_log_false_turns_it_off(access_events) -> None:
    await fetch("/", access_log=False, access_log_format="json")
    assert access_events == []


def test_control_characters_cannot_forge_a_second_line() -> None:
    assert accesslog._quoted("a\r\nb\x7f") == "a\\x0d\\x0ab\\x7f"


def test_an_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'xml'.*common"):
        accesslog.format_line(object(), "xml")


# -- credentials in the query string --------------------------------------------------

CALLBACK = "/?code=4%2F0AbSecretCode&state=s3cretState&next=%2Fhome&access_token=tok&id_token=jwt"
REDACTED = (
    "/?code=[redacted]&state=[redacted]&next=%2Fhome&access_token=[redacted]&id_token=[redacted]"
)


@pytest.mark.parametrize("format", ["default", "common", "combined", "json"])
@pytest_twisted.ensureDeferred
async def test_oauth_codes_states_and_tokens_are_not_written_to_the_access_log(
    access_events, format
) -> None:
    await fetch(CALLBACK, access_log_format=format)
    [event] = access_events
    line = formatEvent(event)
    assert REDACTED in line, line
    for secret in ("SecretCode", "s3cretState", "tok&", "jwt"):
        assert secret not in line
        assert secret not in repr(event)


@pytest_twisted.ensureDeferred
async def test_the_error_log_of_a_failing_callback_does_not_show_the_code() -> None:
    class Failing(RequestHandler):
        def get(self) -> None:
            raise RuntimeError("token exchange failed")

    events: list[dict] = []
    globalLogPublisher.addObserver(events.append)
    try:
        await Client(Router([(r"/cb", Failing)])).get("/cb?code=SecretCode&state=xyz")
    finally:
        globalLogPublisher.removeObserver(events.append)
    [failure] = [event for event in events if "log_failure" in event]
    assert "GET /cb?code=[redacted]&state=[redacted]" in formatEvent(failure)
    assert "SecretCode" not in repr(events)


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("/plain", "/plain"),
        ("/?encode=1&postcode=2&code=3", "/?encode=1&postcode=2&code=[redacted]"),
        ("/?code=&state", "/?code=[redacted]&state"),
        ("/a&code=in-the-path?x=1", "/a&code=in-the-path?x=1"),
        ("/?x=1;refresh_token=r", "/?x=1;refresh_token=[redacted]"),
    ],
)
def test_redact_uri_only_touches_the_named_query_parameters(uri, expected) -> None:
    assert accesslog.redact_uri(uri) == expected
