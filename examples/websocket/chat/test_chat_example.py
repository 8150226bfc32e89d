"""The chat example in headless Chromium: two users in separate browser contexts see each
other's messages and the stats change; HTML typed by a user is shown as text, never run."""

from __future__ import annotations

import pathlib
from typing import Any

HERE = pathlib.Path(__file__).parent

ATTACK = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">'


def post(page: Any, name: str, body: str) -> None:
    page.fill("#name", name)
    page.fill("#body", body)
    page.press("#body", "Enter")


def messages(page: Any) -> Any:
    return page.locator("#inbox .message")


def test_two_users_chat_see_stats_and_user_html_stays_text(browser: Any, run_example: Any) -> None:
    from playwright.sync_api import expect

    url = run_example(HERE / "app.py")
    alice_context, bob_context = browser.new_context(), browser.new_context()
    try:
        alice = alice_context.new_page()
        alice.goto(url + "/")
        expect(alice.locator("#status")).to_have_text("open")
        expect(alice.locator("#online")).to_have_text("1")

        bob = bob_context.new_page()
        bob.goto(url + "/")
        expect(bob.locator("#status")).to_have_text("open")
        for page in (alice, bob):
            expect(page.locator("#online")).to_have_text("2")
            expect(page.locator("#messages")).to_have_text("0")

        post(alice, "alice", "hi bob")
        for page in (alice, bob):
            expect(messages(page)).to_have_text(["alice: hi bob"])
            expect(page.locator("#messages")).to_have_text("1")

        post(bob, "<b>bob</b>", ATTACK)
        for page in (alice, bob):
            expect(messages(page)).to_have_text(["alice: hi bob", f"<b>bob</b>: {ATTACK}"])
            expect(page.locator("#messages")).to_have_text("2")
            assert page.locator("#inbox script, #inbox img, #inbox .name b").count() == 0
            assert page.evaluate("window.pwned") is None

        bob.close()
        expect(alice.locator("#online")).to_have_text("1")
        expect(alice.locator("#chatters")).to_have_text("2")

        # A newcomer gets the history rendered into the page by the server, still escaped.
        carol = alice_context.new_page()
        carol.goto(url + "/")
        expect(messages(carol)).to_have_text(["alice: hi bob", f"<b>bob</b>: {ATTACK}"])
        assert carol.locator("#inbox script, #inbox img").count() == 0
        expect(carol.locator("#online")).to_have_text("2")
        assert carol.evaluate("window.pwned") is None
    finally:
        alice_context.close()
        bob_context.close()
