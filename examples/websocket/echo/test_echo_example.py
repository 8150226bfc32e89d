"""The echo example in headless Chromium: text and binary messages come back unchanged."""

from __future__ import annotations

import pathlib
from typing import Any

HERE = pathlib.Path(__file__).parent


def test_the_page_shows_each_message_echoed_as_text_or_binary(
    context: Any, run_example: Any
) -> None:
    from playwright.sync_api import expect

    url = run_example(HERE / "app.py")
    page = context.new_page()
    page.goto(url + "/")
    expect(page.locator("#status")).to_have_text("open")

    for message in ("hello", "olá, mundo ✓", "<i>not italic</i>"):
        page.fill("#message", message)
        page.press("#message", "Enter")
    page.check("#binary")
    page.fill("#message", "bytes too")
    page.click("#send button")

    echoes = page.locator("#echoes li")
    expect(echoes).to_have_text(["hello", "olá, mundo ✓", "<i>not italic</i>", "bytes too"])
    assert [item.get_attribute("class") for item in echoes.all()] == [
        "text",
        "text",
        "text",
        "binary",
    ]
    assert page.locator("#echoes i").count() == 0
