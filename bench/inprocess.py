"""The Python cost of one request, measured in-process: no sockets, no wrk, no reactor.

    python bench/inprocess.py                         # every level x scenario, µs per request
    python bench/inprocess.py callback:hello web:json # just these
    python bench/inprocess.py web:hello --lines       # which functions run how many lines

It feeds the same request bytes the wrk scenarios send to one `HTTPConnection`
over Twisted's `StringTransport`, again and again, and reports the best of
several repeats. That leaves out what every Twisted server pays (epoll, recv,
send), so the numbers move with our code alone and are steady enough to compare
a change in seconds; `bench/run.py` remains the judge. ``--lines`` traces one
request and counts executed lines per function: on CPython each line costs
tens of nanoseconds, so the count is a map of where a request's time goes.

Runs in any environment with cyclone-core (and cyclone-web for ``web:``) installed.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import sys
import time
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "servers"))

from payloads import FORM_FIELDS
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

LEVELS = ("callback", "router", "web")
SCENARIOS = ("hello", "json", "big", "form", "template")


def _factory(level: str):
    if level == "callback":
        import cyclone_callback

        from cyclone.httpserver import HTTPServer

        return HTTPServer(cyclone_callback.answer)
    return _routes(__import__("cyclone_router" if level == "router" else "cyclone_web"))


def _routes(module):
    """The benchmark server's application, built as its main() builds it."""
    routes = [
        (r"/hello", module.HelloHandler),
        (r"/json", module.JsonHandler),
        (r"/big", module.BigHandler),
        (r"/form", module.FormHandler),
    ]
    if not hasattr(module, "Application"):
        return module.Router(routes, log_function=lambda handler: None)
    import os

    from payloads import TEMPLATE_DIRECTORY

    return module.Application(
        routes + [(r"/template", module.TemplateHandler)],
        log_function=lambda handler: None,
        template_path=os.path.join(TEMPLATE_DIRECTORY, "tornado"),
    )


def _request(scenario: str) -> bytes:
    if scenario == "form":
        body = urllib.parse.urlencode(FORM_FIELDS).encode("ascii")
        return (
            b"POST /form HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        ) + body
    return b"GET /%s HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n" % scenario.encode("ascii")


def _connection(level: str):
    peer = IPv4Address("TCP", "127.0.0.1", 50000)
    protocol = _factory(level).buildProtocol(peer)
    transport = StringTransport(
        peerAddress=peer, hostAddress=IPv4Address("TCP", "127.0.0.1", 8080)
    )
    protocol.makeConnection(transport)
    return protocol, transport


def microseconds_per_request(level: str, scenario: str, count: int, repeats: int) -> float:
    """The best of ``repeats`` runs of ``count`` keep-alive requests, in µs per request."""
    protocol, transport = _connection(level)
    data = _request(scenario)
    if not _answered(protocol, transport, data):
        raise SystemExit(f"{level}:{scenario} did not answer 200")
    buffer = transport.io  # after _answered(): clear() replaces it
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(count):
            protocol.dataReceived(data)
            buffer.seek(0)
            buffer.truncate()
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


def _answered(protocol, transport, data: bytes) -> bool:
    protocol.dataReceived(data)
    answer = transport.value()
    transport.clear()
    return answer.startswith(b"HTTP/1.1 200 ")


def lines_per_function(level: str, scenario: str) -> collections.Counter:
    """Trace one warm request and count the lines each function executed."""
    protocol, transport = _connection(level)
    data = _request(scenario)
    for _ in range(3):
        _answered(protocol, transport, data)
    counts: collections.Counter = collections.Counter()

    def trace(frame, event, argument):
        if event == "line":
            code = frame.f_code
            counts[f"{pathlib.Path(code.co_filename).name}:{code.co_name}"] += 1
        return trace

    sys.settrace(trace)
    try:
        protocol.dataReceived(data)
    finally:
        sys.settrace(None)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help="level:scenario, e.g. callback:hello")
    parser.add_argument("--count", type=int, default=5000, help="requests per repeat")
    parser.add_argument("--repeats", type=int, default=7, help="repeats; the best is kept")
    parser.add_argument("--lines", action="store_true", help="count executed lines instead")
    options = parser.parse_args()
    cases = options.cases or [
        f"{level}:{name}"
        for level in LEVELS
        for name in SCENARIOS
        if name != "template" or level == "web"
    ]
    for case in cases:
        level, _, scenario = case.partition(":")
        if level not in LEVELS or scenario not in SCENARIOS:
            parser.error(f"unknown case {case!r}: levels {LEVELS}, scenarios {SCENARIOS}")
        if scenario == "template" and level != "web":
            parser.error(f"{case!r}: only the web level has render(), use web:template")
        if options.lines:
            counts = lines_per_function(level, scenario)
            print(f"{case}: {sum(counts.values())} lines")
            for name, lines in counts.most_common(25):
                print(f"  {lines:5d}  {name}")
            continue
        cost = microseconds_per_request(level, scenario, options.count, options.repeats)
        print(f"{case:16s} {cost:8.2f} µs/request")


if __name__ == "__main__":
    main()
