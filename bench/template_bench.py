"""Render the same 50-item page with cyclone.template and tornado.template.

    python bench/template_bench.py

The page is a base template with blocks, extended by a page whose content block
loops over 50 items, each with a few escaped fields and an ``{% if %}``. The
script checks both engines produce the same bytes (Tornado writes ``'`` as
``&#x27;`` where cyclone writes ``&#39;``; that is normalised), then prints
renders per second for each and the ratio; a one-line page shows the fixed
cost of a render. `run()` returns the numbers as a dict for bench/run.py.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from typing import Any

from tornado import template as tornado_template

from cyclone import template as cyclone_template

TEMPLATES = {
    "base.html": """<!DOCTYPE html>
<html>
  <head>
    <title>{% block title %}Shop{% end %}</title>
    {% block head %}<link rel="stylesheet" href="{{ static }}/site.css">{% end %}
  </head>
  <body>
    <header><h1>{{ site_name }}</h1> <span>{{ user["name"] }}</span></header>
    <main>{% block content %}{% end %}</main>
    <footer>{% block footer %}&copy; {{ year }} {{ site_name }}{% end %}</footer>
  </body>
</html>
""",
    "page.html": """{% extends "base.html" %}
{% block title %}{{ title }} - {{ site_name }}{% end %}
{% block content %}
  <h2>{{ title }}</h2>
  <ul class="items">
  {% for item in items %}
    <li id="item-{{ item["id"] }}" class="{{ "odd" if item["id"] % 2 else "even" }}">
      <a href="/items/{{ item["id"] }}">{{ item["name"] }}</a>
      <span class="price">{{ "%.2f" % item["price"] }}</span>
      {% if item["stock"] > 0 %}
        <span class="stock">{{ item["stock"] }} left</span>
      {% else %}
        <span class="sold-out">sold out</span>
      {% end %}
      <p>{{ item["description"] }}</p>
    </li>
  {% end %}
  </ul>
{% end %}
""",
}


def make_context(count: int = 50) -> dict[str, Any]:
    """The render arguments: a user, a title and ``count`` items needing escaping."""
    items = [
        {
            "id": number,
            "name": f"Widget #{number} <{'deluxe' if number % 3 else 'basic'}>",
            "price": number * 1.25,
            "stock": number % 4,
            "description": f'Tom & Jerry\'s "favourite" widget, model {number}',
        }
        for number in range(count)
    ]
    return {
        "items": items,
        "title": "All <widgets>",
        "site_name": "Shop & Co",
        "user": {"name": "O'Brien"},
        "static": "/static",
        "year": datetime.date(2026, 1, 1).year,
    }


SMALL_TEMPLATES = {"hello.html": "<p>Hello {{ name }}, you have {{ count }} messages.</p>"}


def _loaders(templates: dict[str, str]) -> tuple[Any, Any]:
    return cyclone_template.DictLoader(templates), tornado_template.DictLoader(templates)


def _renderers(templates: dict[str, str] = TEMPLATES, name: str = "page.html") -> tuple[Any, Any]:
    ours, theirs = _loaders(templates)
    return ours.load(name).generate, theirs.load(name).generate


def _calibrate(render: Any, context: dict[str, Any]) -> float:
    """Seconds one render takes, measured over at least 50 ms."""
    number = 1
    while True:
        started = time.perf_counter()
        for _ in range(number):
            render(**context)
        elapsed = time.perf_counter() - started
        if elapsed > 0.05:
            return elapsed / number
        number *= 2


def _best_rates(
    renders: dict[str, Any], context: dict[str, Any], seconds: float
) -> dict[str, float]:
    """Best renders/s of each engine over rounds that alternate between engines.

    Alternating keeps a burst of load on a shared machine from favouring one side.
    """
    rounds = 7
    counts = {
        name: max(1, int(seconds / (2 * rounds) / _calibrate(render, context)))
        for name, render in renders.items()
    }
    best = dict.fromkeys(renders, float("inf"))
    for _ in range(rounds):
        for name, render in renders.items():
            started = time.perf_counter()
            for _ in range(counts[name]):
                render(**context)
            best[name] = min(best[name], (time.perf_counter() - started) / counts[name])
    return {name: 1 / per_render for name, per_render in best.items()}


def check_equivalent(
    templates: dict[str, str] = TEMPLATES, name: str = "page.html", context: dict | None = None
) -> bytes:
    """Render with both engines and raise AssertionError if the pages differ."""
    cyclone_render, tornado_render = _renderers(templates, name)
    context = make_context() if context is None else context
    ours = cyclone_render(**context)
    theirs = tornado_render(**context).replace(b"&#x27;", b"&#39;")
    if ours != theirs:
        raise AssertionError(f"outputs differ:\n{ours.decode()}\n----\n{theirs.decode()}")
    return ours


def _measure(templates: dict[str, str], name: str, context: dict, seconds: float) -> dict:
    page = check_equivalent(templates, name, context)
    cyclone_render, tornado_render = _renderers(templates, name)
    rates = _best_rates({"cyclone": cyclone_render, "tornado": tornado_render}, context, seconds)
    return {
        "page_bytes": len(page),
        "cyclone_renders_per_second": round(rates["cyclone"], 1),
        "tornado_renders_per_second": round(rates["tornado"], 1),
        "ratio": round(rates["cyclone"] / rates["tornado"], 3),
    }


def run(seconds: float | None = None) -> dict[str, Any]:
    """Measure both engines; returns renders/s and the cyclone/tornado ratio per page.

    ``seconds`` is the time spent per page (default 3, or 0.5 when the bench
    runner sets ``BENCH_QUICK=1``). The headline ``ratio`` is the 50-item page.
    """
    if seconds is None:
        seconds = 0.5 if os.environ.get("BENCH_QUICK") == "1" else 3.0
    page = _measure(TEMPLATES, "page.html", make_context(), seconds)
    hello = _measure(SMALL_TEMPLATES, "hello.html", {"name": "<Ann>", "count": 3}, seconds)
    return {
        "name": "template",
        "ratio": page["ratio"],
        "outputs": "equivalent",
        "python": sys.version.split()[0],
        "page with 50 items (base + blocks + loop)": page,
        "one-line hello": hello,
    }


def main() -> None:
    result = run()
    print(f"cyclone.template vs tornado.template, Python {result['python']} (outputs equivalent)")
    for case, numbers in result.items():
        if isinstance(numbers, dict):
            print(
                f"{case}: cyclone {numbers['cyclone_renders_per_second']:,.0f}/s, "
                f"tornado {numbers['tornado_renders_per_second']:,.0f}/s, "
                f"ratio {numbers['ratio']:.2f}x"
            )


if __name__ == "__main__":
    main()
