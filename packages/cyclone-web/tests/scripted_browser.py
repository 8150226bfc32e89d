"""A browser-less user agent for sign-in tests: cookies, redirects and form posts.

It keeps cookies per host (as browsers do, across ports: RFC 6265 §8.5),
follows redirects one by one so a test can stop at any of them, and fills
and submits the first form of a page — enough to go through a provider's
consent page the way a person would, over real HTTP.
"""

from __future__ import annotations

import http.cookies
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from cyclone.httpclient import HTTPResponse, fetch

#: Redirects followed before giving up.
MAX_REDIRECTS = 10


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(
                Form(values.get("action", ""), values.get("method", "get").upper(), {})
            )
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1].fields[values["name"]] = values.get("value", "")


class ScriptedBrowser:
    def __init__(self) -> None:
        self.cookies: dict[str, dict[str, str]] = {}
        #: Every URL requested, in order.
        self.history: list[str] = []
        #: Every Set-Cookie header received, in order.
        self.set_cookie_headers: list[str] = []

    def _cookie_header(self, url: str) -> dict[str, str]:
        jar = self.cookies.get(urllib.parse.urlsplit(url).hostname or "", {})
        if not jar:
            return {}
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in jar.items())}

    def _store_cookies(self, url: str, response: HTTPResponse) -> None:
        jar = self.cookies.setdefault(urllib.parse.urlsplit(url).hostname or "", {})
        for header in response.headers.get_list("Set-Cookie"):
            self.set_cookie_headers.append(header)
            parsed = http.cookies.SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    jar.pop(name, None)
                else:
                    jar[name] = morsel.value

    async def request(
        self, url: str, method: str = "GET", form: dict[str, str] | None = None
    ) -> HTTPResponse:
        """One request, no redirect followed."""
        self.history.append(url)
        headers = self._cookie_header(url)
        kwargs: dict[str, Any] = {}
        if form is not None:
            kwargs["postdata"] = form
        response = await fetch(
            url, method=method, headers=headers, follow_redirects=False, timeout=30, **kwargs
        )
        self._store_cookies(url, response)
        return response

    async def follow(
        self, response: HTTPResponse, stop_at: str | None = None
    ) -> tuple[str, HTTPResponse | None]:
        """Follow ``response``'s redirects; stop before requesting a URL starting ``stop_at``.

        Returns the last URL and its response (None when stopped before it).
        """
        url = response.request_url
        for _ in range(MAX_REDIRECTS):
            if response.code not in (301, 302, 303, 307, 308):
                return url, response
            url = urllib.parse.urljoin(url, response.headers["Location"])
            if stop_at is not None and url.startswith(stop_at):
                return url, None
            response = await self.request(url)
        raise AssertionError(f"more than {MAX_REDIRECTS} redirects, last {url}")

    async def open(self, url: str, stop_at: str | None = None) -> tuple[str, HTTPResponse | None]:
        """GET ``url`` and follow its redirects."""
        return await self.follow(await self.request(url), stop_at)

    async def submit(
        self, url: str, page: HTTPResponse, stop_at: str | None = None, **values: str
    ) -> tuple[str, HTTPResponse | None]:
        """Fill the page's first form with ``values``, submit it, follow the redirects."""
        parser = _FormParser()
        parser.feed(page.text)
        assert parser.forms, f"no form on {url}: {page.text[:200]!r}"
        form = parser.forms[0]
        fields = {**form.fields, **values}
        action = urllib.parse.urljoin(url, form.action)
        return await self.follow(await self.request(action, form.method, fields), stop_at)
