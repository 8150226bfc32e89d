"""The bodies every benchmark server answers with, so all servers do the same work.

    >>> from payloads import HELLO, JSON_DOCUMENT, BIG, FORM_FIELDS, TEMPLATE_CONTEXT
    >>> HELLO, len(BIG), len(FORM_FIELDS), len(TEMPLATE_CONTEXT["items"])
    (b'Hello, world', 262144, 20, 50)

Each server script imports this module from its own directory (``bench/servers``),
so it must stay plain Python 3.7 without third-party imports: the old cyclone 1.3
server may run on an older interpreter than the rest.
"""

import html
import json
import os
import re

#: GET /hello
HELLO = b"Hello, world"

#: GET /json: a ~1 KB document the server serialises on every request.
JSON_DOCUMENT = {
    "id": 12345,
    "name": "cyclone benchmark",
    "active": True,
    "ratio": 0.875,
    "tags": ["http", "twisted", "tornado", "benchmark", "json"],
    "owner": {
        "login": "bench",
        "id": 42,
        "site_admin": False,
        "url": "https://example.invalid/u/bench",
    },
    "items": [
        {
            "id": index,
            "title": "item number %d" % index,
            "price": index * 1.25,
            "in_stock": index % 2 == 0,
        }
        for index in range(10)
    ],
    "description": "A small JSON document of about one kilobyte, encoded on every request.",
}

#: The JSON body as the runner expects to decode it (servers encode JSON_DOCUMENT themselves).
JSON_SIZE_HINT = len(json.dumps(JSON_DOCUMENT))

#: GET /big: 256 KiB of bytes.
BIG = (b"0123456789abcdef" * 16384)[: 256 * 1024]

#: POST /form: 20 urlencoded fields; servers answer with the number of arguments they parsed.
FORM_FIELDS = [
    ("field%02d" % index, "value %d &more=%d" % (index, index * 7)) for index in range(1, 21)
]

#: The response body of POST /form.
FORM_ANSWER = str(len(FORM_FIELDS)).encode("ascii")

#: GET /template: the directory of the page the handler-level servers render, one
#: subdirectory per template syntax (``tornado`` for cyclone 2, Tornado and cyclone 1.3,
#: ``jinja2`` for aiohttp). The same page: a base with blocks, a 50-row loop, escaping.
TEMPLATE_DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

#: The template every server renders for GET /template.
TEMPLATE_NAME = "page.html"


def make_template_context(count=50):
    """The render arguments: a user, a title and ``count`` rows whose text needs escaping."""
    items = [
        {
            "id": number,
            "name": "Widget #%d <%s>" % (number, "deluxe" if number % 3 else "basic"),
            "price": number * 1.25,
            "stock": number % 4,
            "description": 'Tom & Jerry\'s "favourite" widget, model %d' % number,
        }
        for number in range(count)
    ]
    return {
        "items": items,
        "title": "All <widgets>",
        "site_name": "Shop & Co",
        "user": {"name": "O'Brien"},
        "static": "/static",
        "year": 2026,
    }


#: The arguments of GET /template, built once per server as an application's data would be.
TEMPLATE_CONTEXT = make_template_context()


def reference_page(context=None):
    """The page GET /template must show, built with plain string formatting.

    The runner holds every server's answer against it after `normalize_page`, and
    raw_twisted serves it as its canned answer.
    """
    context = TEMPLATE_CONTEXT if context is None else context
    escape = html.escape
    rows = []
    for item in context["items"]:
        stock = (
            '<span class="stock">%d left</span>' % item["stock"]
            if item["stock"] > 0
            else '<span class="sold-out">sold out</span>'
        )
        rows.append(
            '<li id="item-%d" class="%s"><a href="/items/%d">%s</a>'
            '<span class="price">%.2f</span>%s<p>%s</p></li>'
            % (
                item["id"],
                "odd" if item["id"] % 2 else "even",
                item["id"],
                escape(item["name"]),
                item["price"],
                stock,
                escape(item["description"]),
            )
        )
    site = escape(context["site_name"])
    title = escape(context["title"])
    return (
        "<!DOCTYPE html><html><head><title>%s - %s</title>"
        '<link rel="stylesheet" href="%s/site.css"></head><body>'
        "<header><h1>%s</h1> <span>%s</span></header>"
        '<main><h2>%s</h2><ul class="items">%s</ul></main>'
        "<footer>&copy; %d %s</footer></body></html>\n"
        % (
            title,
            site,
            escape(context["static"]),
            site,
            escape(context["user"]["name"]),
            title,
            "".join(rows),
            context["year"],
            site,
        )
    )


def normalize_page(page):
    """The text of an HTML page with entities decoded and whitespace between tags dropped.

    Engines differ in how they spell an escape (``&#39;``, ``&#x27;``) and in the
    whitespace they keep around template tags; neither changes what a browser shows.
    """
    text = html.unescape(page.decode("utf-8") if isinstance(page, bytes) else page)
    text = re.sub(r"\s+", " ", text)
    return re.sub(r">\s+<", "><", text).strip()


def escapes_markup(page):
    """True if the page's user-supplied ``<``, ``&`` and quotes arrived escaped."""
    text = page.decode("utf-8") if isinstance(page, bytes) else page
    return (
        "<deluxe>" not in text
        and "<widgets>" not in text
        and "Tom & Jerry" not in text
        and "&lt;deluxe&gt;" in text
    )
