"""The performance targets bench/run.py judges, and how a run's numbers meet them.

    >>> [target.text for target in ISSUE_20 if target.scenario == "template"]
    ['cyclone.web template page ≥ 4.5× Tornado']

Issue 20 sets each goal as a comparison inside one interleaved run: a throughput
ratio (judged twice, on req/s and on server CPU µs per request, so that a busy
machine cannot hide or fake a result), or a "no more than" comparison of p99
latency, peak memory or memory per idle connection. Issue 2/3's goals were met
and stay as a cheap regression check. `evaluate` works on any mapping
``results[scenario][server]`` of objects with the attributes a target reads
(``requests_per_second``, ``cpu_us_per_request``, ``p99_ms``, ``peak_rss_mib``,
``kib_per_connection``) and a ``failure`` or ``not_applicable`` reason when there is
no number.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

#: What a target compares: higher-is-better throughput, or lower-is-better amounts.
RATE = "rate"
P99 = "p99"
PEAK_RSS = "peak_rss"
IDLE_MEMORY = "idle_memory"

UNITS = {P99: "ms", PEAK_RSS: "MiB", IDLE_MEMORY: "KiB/conn"}
ATTRIBUTES = {P99: "p99_ms", PEAK_RSS: "peak_rss_mib", IDLE_MEMORY: "kib_per_connection"}


@dataclasses.dataclass(frozen=True)
class Target:
    """One goal: ``server`` against ``reference`` in ``scenario``.

    A RATE target passes when the server does at least ``factor`` times the
    reference's work (requests or messages); the other kinds pass when the server's
    amount is at most the reference's.
    """

    text: str
    scenario: str
    server: str
    reference: str
    kind: str = RATE
    factor: float = 1.0
    moonshot: bool = False


def _rate(text: str, scenario: str, server: str, reference: str, factor: float) -> Target:
    return Target(text, scenario, server, reference, RATE, factor)


ISSUE_20 = [
    _rate("cyclone.web hello ≥ 4× Tornado", "hello", "cyclone_web", "tornado", 4.0),
    _rate("cyclone.web hello ≥ 1.2× twisted.web", "hello", "cyclone_web", "twisted_web", 1.2),
    Target(
        "cyclone.web hello level with aiohttp (moonshot)",
        "hello",
        "cyclone_web",
        "aiohttp",
        RATE,
        1.0,
        moonshot=True,
    ),
    _rate(
        "cyclone.web hello, Connection: close ≥ 2.7× Tornado",
        "hello-close",
        "cyclone_web",
        "tornado",
        2.7,
    ),
    _rate("cyclone.web JSON 1 KB ≥ 3× Tornado", "json", "cyclone_web", "tornado", 3.0),
    _rate("cyclone.web JSON 1 KB ahead of aiohttp", "json", "cyclone_web", "aiohttp", 1.0),
    _rate("cyclone.web 20-field form ≥ 3.2× Tornado", "form", "cyclone_web", "tornado", 3.2),
    _rate("cyclone.web 20-field form ahead of aiohttp", "form", "cyclone_web", "aiohttp", 1.0),
    _rate("cyclone.web 256 KiB body ≥ 4× Tornado", "big", "cyclone_web", "tornado", 4.0),
    _rate("cyclone.web 256 KiB body ahead of aiohttp", "big", "cyclone_web", "aiohttp", 1.0),
    _rate("cyclone.web template page ≥ 4.5× Tornado", "template", "cyclone_web", "tornado", 4.5),
    Target("cyclone.web hello p99 ≤ aiohttp's", "hello", "cyclone_web", "aiohttp", P99),
    Target("cyclone.web hello peak RSS ≤ Tornado's", "hello", "cyclone_web", "tornado", PEAK_RSS),
]
for _scenario, _shape in (("ws-echo", "16 in flight"), ("ws-pingpong", "1 in flight")):
    ISSUE_20 += [
        _rate(
            f"cyclone.websocket echo ({_shape}) ≥ 3× Tornado",
            _scenario,
            "cyclone_websocket",
            "tornado_websocket",
            3.0,
        ),
        _rate(
            f"cyclone.websocket echo ({_shape}) ahead of aiohttp",
            _scenario,
            "cyclone_websocket",
            "aiohttp_websocket",
            1.0,
        ),
    ]
ISSUE_20 += [
    Target(
        "cyclone.websocket memory per idle connection ≤ Tornado's",
        "idle-ws",
        "cyclone_websocket",
        "tornado_websocket",
        IDLE_MEMORY,
    ),
    Target(
        "cyclone.websocket memory per idle connection ≤ Autobahn|Python's",
        "idle-ws",
        "cyclone_websocket",
        "autobahn",
        IDLE_MEMORY,
    ),
    Target(
        "cyclone.web memory per idle keep-alive connection ≤ Tornado's",
        "idle-http",
        "cyclone_web",
        "tornado",
        IDLE_MEMORY,
    ),
]

#: Issue 2/3's targets, all met on 2026-12-06: kept to catch a regression.
ISSUE_2_3 = [
    _rate("callback hello ≥ 0.5× raw Twisted", "hello", "cyclone_callback", "raw_twisted", 0.5),
    _rate("callback 256 KiB body ≥ 2× Tornado", "big", "cyclone_callback", "tornado", 2.0),
    _rate("cyclone.web hello ≥ 1.3× cyclone 1.3", "hello", "cyclone_web", "cyclone13", 1.3),
    _rate("cyclone.web hello ≥ 2.5× Tornado", "hello", "cyclone_web", "tornado", 2.5),
    _rate("cyclone.web JSON ≥ 2× Tornado", "json", "cyclone_web", "tornado", 2.0),
    _rate("cyclone.web form ≥ 2× Tornado", "form", "cyclone_web", "tornado", 2.0),
    _rate("cyclone.web 256 KiB body ≥ 2× Tornado", "big", "cyclone_web", "tornado", 2.0),
]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A target judged: the measured comparison and PASS, MISS or N/A with the reason."""

    target: Target
    measured: str
    verdict: str
    by_cpu: str = "—"
    cpu_verdict: str = ""


def _number(results: dict, scenario: str, server: str, attribute: str) -> tuple[Any, str]:
    """(value, "") when the server has a finite number there, else (None, why not)."""
    measurement = results.get(scenario, {}).get(server)
    if measurement is None:
        return None, f"{server} not selected in this run"
    reason = getattr(measurement, "failure", None) or getattr(measurement, "not_applicable", None)
    if reason:
        return None, f"{server}: {reason}".replace("|", "/")[:160]
    value = getattr(measurement, attribute, None)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None, f"{server} has no {attribute}"
    return value, ""


def _pass(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def judge(results: dict, target: Target) -> Verdict:
    """The verdict of one target on this run's results."""
    if target.kind == RATE:
        mine, why = _number(results, target.scenario, target.server, "requests_per_second")
        theirs, why_theirs = _number(
            results, target.scenario, target.reference, "requests_per_second"
        )
        if mine is None or theirs is None:
            return Verdict(target, "—", f"N/A ({why or why_theirs})")
        ratio = mine / theirs
        verdict = _pass(ratio >= target.factor)
        my_cpu, _ = _number(results, target.scenario, target.server, "cpu_us_per_request")
        their_cpu, _ = _number(results, target.scenario, target.reference, "cpu_us_per_request")
        if my_cpu and their_cpu:
            cpu_ratio = their_cpu / my_cpu
            by_cpu, cpu_verdict = f"{cpu_ratio:.2f}×", _pass(cpu_ratio >= target.factor)
        else:
            by_cpu, cpu_verdict = "—", "N/A (no CPU time)"
        for name in (target.server, target.reference):
            measurement = results[target.scenario][name]
            if getattr(measurement, "answer_errors", 0):
                verdict += f" ({name} had error answers or timeouts: see its table)"
        return Verdict(target, f"{ratio:.2f}×", verdict, by_cpu, cpu_verdict)
    attribute = ATTRIBUTES[target.kind]
    mine, why = _number(results, target.scenario, target.server, attribute)
    theirs, why_theirs = _number(results, target.scenario, target.reference, attribute)
    if mine is None or theirs is None:
        return Verdict(target, "—", f"N/A ({why or why_theirs})")
    unit = UNITS[target.kind]
    digits = 2 if target.kind == IDLE_MEMORY else 1
    measured = f"{mine:.{digits}f} vs {theirs:.{digits}f} {unit}"
    if theirs > 0:
        measured += f" ({mine / theirs:.2f}×)"
    return Verdict(target, measured, _pass(mine <= theirs))


def evaluate(results: dict, targets: list[Target]) -> list[Verdict]:
    """Every target whose scenario was run, judged; targets of scenarios not run are left out."""
    return [judge(results, target) for target in targets if target.scenario in results]
