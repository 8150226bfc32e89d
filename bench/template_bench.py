"""Render the same 50-item page with cyclone.template and tornado.template.

    python bench/template_bench.py

The page is the one bench/run.py's ``template`` scenario serves over HTTP
(bench/servers/templates/tornado/): a base template with blocks, extended by a page
whose content block loops over 50 items, each with a few escaped fields and an
``{% if %}``; here it is rendered in-process, without HTTP or a handler. The
script checks both engines produce the same bytes (Tornado writes ``'`` as
``&#x27;`` where cyclone writes ``&#39;``; that is normalised), then prints
renders per second for each and the ratio; a one-line page shows the fixed
cost of a render. `run()` returns the numbers as a dict for bench/run.py.
"""

from __future__ import annotations

import os
import pathlib
import sys
import time
from typing import Any

from tornado import template as tornado_template

from cyclone import template as cyclone_template

SERVERS_DIRECTORY = pathlib.Path(__file__).resolve().parent / "servers"
TEMPLATE_SOURCES = SERVERS_DIRECTORY / "templates" / "tornado"
sys.path.insert(0, str(SERVERS_DIRECTORY))
import payloads  # noqa: E402  (bench/servers/payloads.py: the same rows as GET /template)

#: The page GET /template renders in bench/run.py: bench/servers/templates/tornado/.
TEMPLATES = {
    name: (TEMPLATE_SOURCES / name).read_text(encoding="utf-8")
    for name in ("base.html", "page.html")
}


def make_context(count: int = 50) -> dict[str, Any]:
    """The render arguments: a user, a title and ``count`` items needing escaping."""
    return payloads.make_template_context(count)


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
