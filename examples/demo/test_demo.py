"""The demo site in headless Chromium, started as ``python app.py --port N``."""

from __future__ import annotations

import pathlib
import re
from typing import Any

HERE = pathlib.Path(__file__).parent


def test_the_live_page_echoes_over_websocket_and_ticks_over_sse_uncompressed(
    context: Any, run_example: Any
) -> None:
    from playwright.sync_api import expect

    url = run_example(HERE / "app.py", port=None)
    page = context.new_page()
    page.goto(url + "/")
    with page.expect_response(re.compile(r"/live/events$")) as events_response:
        page.click("a[href='/live']")
    expect(page).to_have_url(url + "/live")

    headers = events_response.value.all_headers()
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert "content-encoding" not in headers  # the demo gzips pages, never the stream

    expect(page.locator("#ws-status")).to_have_text("open")
    for message in ("hello", "<b>still text</b>"):
        page.fill("#echo-input", message)
        page.press("#echo-input", "Enter")
    expect(page.locator("#echoes li")).to_have_text(["hello", "<b>still text</b>"])

    expect(page.locator("#clock")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    expect(page.locator("#ticks")).to_have_text(re.compile(r"^([2-9]|\d\d+)$"))
