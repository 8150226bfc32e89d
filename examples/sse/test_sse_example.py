"""The SSE feed in a real browser: publish from the page, see the broadcast in two tabs,
and resume after the server closes the stream (EventSource sends Last-Event-ID, the
server replays what the page missed, every message shows exactly once)."""

from __future__ import annotations

import pathlib
import re
from typing import Any

HERE = pathlib.Path(__file__).parent


def texts(page: Any) -> list[str]:
    return page.locator("#messages li .text").all_text_contents()


def publish_from(page: Any, message: str) -> None:
    page.fill("#message", message)
    page.click("button[type=submit]")


def test_published_messages_reach_every_tab_and_the_clock_ticks(
    context: Any, run_example: Any
) -> None:
    from playwright.sync_api import expect

    url = run_example(HERE / "app.py")
    alice, bob = context.new_page(), context.new_page()
    for page in (alice, bob):
        page.goto(url + "/")
        expect(page.locator("#status")).to_have_text("connected")

    publish_from(alice, "hello from alice")
    publish_from(bob, "<b>not bold</b>")
    for page in (alice, bob):
        expect(page.locator("#messages li .text")).to_have_text(
            ["hello from alice", "<b>not bold</b>"]
        )
        assert page.locator("#messages b").count() == 0
        expect(page.locator("#clock")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))


def test_a_reconnecting_page_gets_the_missed_events_once_via_last_event_id(
    context: Any, run_example: Any
) -> None:
    from playwright.sync_api import expect

    url = run_example(HERE / "app.py", "--reconnect-ms", "200")
    page = context.new_page()
    held: list[Any] = []
    hold = {"reconnects": False}

    def on_events_request(route: Any) -> None:
        if hold["reconnects"]:
            held.append(route)  # answered below, after the missed messages exist
        else:
            route.continue_()

    page.route("**/events", on_events_request)
    page.goto(url + "/")
    expect(page.locator("#status")).to_have_text("connected")
    publish_from(page, "one")
    publish_from(page, "two")
    expect(page.locator("#messages li .text")).to_have_text(["one", "two"])

    hold["reconnects"] = True
    closed = context.request.post(url + "/streams/close")
    assert closed.json() == {"closed": 1}
    expect(page.locator("#status")).to_have_text("reconnecting")
    for message in ("three", "four"):  # published while the page is away
        assert context.request.post(url + "/publish", form={"message": message}).ok
    for _ in range(750):  # up to 15 s, as long as any expect() here may wait
        if held:
            break
        page.wait_for_timeout(20)  # lets Playwright dispatch the held request to us
    assert len(held) == 1, "the page did not try to reconnect"
    assert texts(page) == ["one", "two"]

    hold["reconnects"] = False
    held[0].continue_()
    expect(page.locator("#status")).to_have_text("connected")
    # The server names the Last-Event-ID the browser sent (Playwright cannot see that
    # header: Chromium adds it below the interception layer).
    expect(page.locator("#resumed")).to_have_text("Resumed after #2: 2 missed")
    expect(page.locator("#messages li .text")).to_have_text(["one", "two", "three", "four"])
    publish_from(page, "five")
    expect(page.locator("#messages li .text")).to_have_text(
        ["one", "two", "three", "four", "five"]
    )
    ids = [item.get_attribute("data-id") for item in page.locator("#messages li").all()]
    assert ids == ["1", "2", "3", "4", "5"]
