"""The home page (a tour naming every part), the templates page and the static files page."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

from demosite.base import N_, BaseHandler

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(os.path.dirname(HERE), "templates")

#: The distributions the demo uses, in the order the home page lists them.
DISTRIBUTIONS = [
    "cyclone-core",
    "cyclone-web",
    "cyclone-websocket",
    "cyclone-rpc",
    "cyclone-redis",
    "cyclone-mail",
    "cyclone-sqlite",
    "cyclone-skel",
]

#: The tour: one card per part of the framework, each a page of this site.
TOUR = [
    {
        "title": N_("Templates and UI modules"),
        "href": "/templates",
        "text": N_(
            "Inheritance, loops, auto-escaping and reusable components with their own CSS."
        ),
        "modules": ["cyclone.template", "cyclone.uimodules"],
    },
    {
        "title": N_("Forms"),
        "href": "/form",
        "text": N_(
            "A form protected against cross-site request forgery, validated on the server."
        ),
        "modules": ["cyclone.web", "xsrf_cookies"],
    },
    {
        "title": N_("Sign in"),
        "href": "/signin",
        "text": N_("A signed session cookie, @authenticated pages, HTTP Basic and Digest."),
        "modules": ["set_secure_cookie", "cyclone.httpauth", "cyclone.auth"],
    },
    {
        "title": N_("File upload"),
        "href": "/upload",
        "text": N_("The body streamed to the handler as it arrives, with a size limit."),
        "modules": ["@stream_request_body"],
    },
    {
        "title": N_("Languages"),
        "href": "/locale",
        "text": N_("English, Portuguese and Spanish from gettext catalogs, plurals included."),
        "modules": ["cyclone.locale"],
    },
    {
        "title": N_("Chat"),
        "href": "/chat",
        "text": N_("A chat room over WebSocket: open it in two tabs."),
        "modules": ["cyclone.websocket"],
    },
    {
        "title": N_("Live feed"),
        "href": "/feed",
        "text": N_("Server-Sent Events: a clock and notes pushed to every open page."),
        "modules": ["cyclone.sse"],
    },
    {
        "title": N_("XML-RPC and JSON-RPC"),
        "href": "/rpc",
        "text": N_("Two RPC endpoints and a client in the page to call them."),
        "modules": ["cyclone.xmlrpc", "cyclone.jsonrpc"],
    },
    {
        "title": N_("Static files"),
        "href": "/static-files",
        "text": N_("Versioned URLs cached for a year, ETags, 304 and byte ranges."),
        "modules": ["cyclone.staticfiles"],
    },
    {
        "title": N_("Redis pub/sub"),
        "href": "/redis",
        "text": N_("Messages published to Redis, fanned out to browsers as events."),
        "modules": ["cyclone.redis"],
    },
    {
        "title": N_("Deploy with twistd"),
        "href": "#deploy",
        "text": N_("One process or one per core, TLS with SNI, graceful stops, systemd units."),
        "modules": ["cyclone.deploy", "cyclone.workers"],
    },
    {
        "title": N_("And more"),
        "href": "#more",
        "text": N_("E-mail, SQLite, an HTTP client, Bottle-style apps and a project generator."),
        "modules": ["cyclone.mail", "cyclone.sqlite", "cyclone.skel"],
    },
]


def installed_distributions() -> list[dict[str, str]]:
    """Name, version and summary of each cyclone distribution installed here."""
    found = []
    for name in DISTRIBUTIONS:
        try:
            info = metadata.metadata(name)
        except metadata.PackageNotFoundError:
            found.append({"name": name, "version": "", "summary": ""})
            continue
        found.append({"name": name, "version": info["Version"], "summary": info["Summary"]})
    return found


class HomePage(BaseHandler):
    """The tour: every part of the framework, each linking to the page that shows it."""

    def get(self) -> None:
        redis = self.settings.redis_link
        statuses: dict[str, tuple[str, bool]] = {
            "/redis": (
                (self.locale.translate("server reachable"), True)
                if redis.available
                else (self.locale.translate("no server: see the page"), False)
            ),
        }
        self.render(
            "index.html",
            tour=TOUR,
            statuses=statuses,
            distributions=installed_distributions(),
            python=f"{platform.python_implementation()} {sys.version.split()[0]}",
            twisted=metadata.version("twisted"),
        )


class TemplatesPage(BaseHandler):
    """A template shown beside what it renders, and the UI modules of this site."""

    page = "templates"

    def get(self) -> None:
        with open(os.path.join(TEMPLATES, "showcase", "packages.html"), encoding="utf-8") as f:
            partial_source = f.read()
        self.render(
            "templates.html",
            distributions=installed_distributions(),
            partial_source=partial_source,
            note='<script>alert("not run")</script> & <b>not bold</b>',
        )


class StaticFilesPage(BaseHandler):
    """Versioned static URLs, and buttons that fetch them to show the caching headers."""

    page = "static"

    FILES = ["demo.css", "js/chat.js", "favicon.svg"]

    def get(self) -> None:
        static_path = self.settings.static_path
        files: list[dict[str, Any]] = []
        for name in self.FILES:
            files.append(
                {
                    "name": name,
                    "url": self.static_url(name),
                    "size": os.path.getsize(os.path.join(static_path, name)),
                }
            )
        self.render("static.html", files=files)
