"""Hostile RPC requests against a real listening socket.

Each test POSTs what an attacker would (a batch as long as the body limit allows, a
multicall of thousands of calls, values nested thousands deep, out-of-range integers)
and asserts on the answer, on which methods ran, and on whether the reactor got to run
other work while a long batch was processed (counted in reactor turns, not seconds).
"""

from __future__ import annotations

import json
import xmlrpc.client
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor
from twisted.web.client import Agent, FileBodyProducer
from twisted.web.http_headers import Headers

from cyclone.jsonrpc import DEFAULT_MAX_BATCH_SIZE, INVALID_REQUEST, JsonrpcRequestHandler
from cyclone.routing import Router
from cyclone.xmlrpc import FAILURE, XmlrpcRequestHandler

HANG_GUARD_SECONDS = 120


class ReactorTurns:
    """Counts reactor turns while it runs: each turn reschedules it with callLater(0)."""

    def __init__(self) -> None:
        self.count = 0
        self._call: Any = None

    def start(self) -> None:
        self._call = reactor.callLater(0, self._tick)

    def _tick(self) -> None:
        self.count += 1
        self._call = reactor.callLater(0, self._tick)

    def stop(self) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()


class Calls:
    """What the methods saw: how many calls, and the reactor turn each ran in."""

    def __init__(self) -> None:
        self.turns: list[int] = []
        self.clock = ReactorTurns()


class JsonRpc(JsonrpcRequestHandler):
    def initialize(self, calls: Calls) -> None:
        self.calls = calls

    def jsonrpc_turn(self) -> int:
        self.calls.turns.append(self.calls.clock.count)
        return self.calls.clock.count


class XmlRpc(XmlrpcRequestHandler):
    def initialize(self, calls: Calls) -> None:
        self.calls = calls

    def xmlrpc_turn(self) -> int:
        self.calls.turns.append(self.calls.clock.count)
        return self.calls.clock.count

    def xmlrpc_echo(self, value: Any) -> Any:
        self.calls.turns.append(self.calls.clock.count)
        return value

    def xmlrpc_show(self, value: Any) -> str:
        self.calls.turns.append(self.calls.clock.count)
        return repr(value)


@pytest.fixture
def calls() -> Iterator[Calls]:
    calls = Calls()
    calls.clock.start()
    yield calls
    calls.clock.stop()


@pytest.fixture
def serve(calls: Calls) -> Iterator[Callable[..., str]]:
    ports = []

    def start(**settings: Any) -> str:
        application = Router(
            [(r"/json", JsonRpc, {"calls": calls}), (r"/xml", XmlRpc, {"calls": calls})],
            **settings,
        )
        port = reactor.listenTCP(0, application, interface="127.0.0.1")
        ports.append(port)
        return f"http://127.0.0.1:{port.getHost().port}"

    yield start
    for port in ports:
        port.stopListening()


class _Body(protocol.Protocol):
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.done: defer.Deferred[bytes] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.chunks.append(data)

    def connectionLost(self, reason: Any = None) -> None:
        self.done.callback(b"".join(self.chunks))


async def post(url: str, body: bytes, content_type: bytes) -> tuple[int, bytes]:
    response = await (
        Agent(reactor)
        .request(
            b"POST",
            url.encode(),
            Headers({b"Content-Type": [content_type]}),
            FileBodyProducer(BytesIO(body)),
        )
        .addTimeout(HANG_GUARD_SECONDS, reactor)
    )
    collector = _Body()
    response.deliverBody(collector)
    return response.code, await collector.done


async def post_json(url: str, payload: Any) -> tuple[int, bytes]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await post(url, body, b"application/json")


def call(method: str, request_id: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "id": request_id}


# -- JSON-RPC batches (fault 5) -----------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_batch_of_half_a_million_elements_is_one_invalid_request_error(serve) -> None:
    # Under the 1 MiB body limit: before the fix 10 s of CPU, +420 MB and a 57 MiB array
    # of errors, with every other connection waiting.
    base = serve()
    body = b"[" + b",".join([b"1"] * 500_000) + b"]"
    assert len(body) < 1024 * 1024
    status, content = await post_json(f"{base}/json", body)
    assert status == 200
    assert len(content) < 1024
    answer = json.loads(content)
    assert answer["error"]["code"] == INVALID_REQUEST
    assert answer["id"] is None
    assert "500000" in answer["error"]["data"]


@pytest_twisted.ensureDeferred
async def test_batch_one_over_the_limit_runs_none_of_its_calls(serve, calls) -> None:
    base = serve()
    batch = [call("turn", index) for index in range(DEFAULT_MAX_BATCH_SIZE + 1)]
    status, content = await post_json(f"{base}/json", batch)
    assert json.loads(content)["error"]["code"] == INVALID_REQUEST
    assert calls.turns == []


@pytest_twisted.ensureDeferred
async def test_batch_at_the_limit_lets_the_reactor_run_between_slices(serve, calls) -> None:
    # Before the fix a batch ran in one reactor turn however long it was.
    base = serve()
    batch = [call("turn", index) for index in range(DEFAULT_MAX_BATCH_SIZE)]
    status, content = await post_json(f"{base}/json", batch)
    answers = json.loads(content)
    assert [answer["id"] for answer in answers] == list(range(DEFAULT_MAX_BATCH_SIZE))
    assert len(calls.turns) == DEFAULT_MAX_BATCH_SIZE
    # At most BATCH_SLICE calls per turn: other connections are served in between.
    assert len(set(calls.turns)) >= DEFAULT_MAX_BATCH_SIZE // 100


@pytest_twisted.ensureDeferred
async def test_batch_limit_is_the_rpc_max_batch_size_setting(serve, calls) -> None:
    base = serve(rpc_max_batch_size=10)
    _, content = await post_json(f"{base}/json", [call("turn", index) for index in range(10)])
    assert len(json.loads(content)) == 10
    _, content = await post_json(f"{base}/json", [call("turn", index) for index in range(11)])
    assert json.loads(content)["error"]["code"] == INVALID_REQUEST
    assert len(calls.turns) == 10


@pytest_twisted.ensureDeferred
async def test_huge_and_deeply_nested_json_numbers_are_parse_errors(serve, calls) -> None:
    base = serve()
    for body in (
        b'{"jsonrpc":"2.0","method":"turn","id":' + b"9" * 100_000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
    ):
        status, content = await post_json(f"{base}/json", body)
        assert status == 200
        assert json.loads(content)["error"]["code"] == -32700
    assert calls.turns == []


# -- XML-RPC: system.multicall, nesting, integers -------------------------------------------


def xml_call(method: str, *params: Any) -> bytes:
    return xmlrpc.client.dumps(params, method).encode()


async def post_xml(url: str, body: bytes) -> Any:
    status, content = await post(url, body, b"text/xml")
    assert status == 200
    try:
        return xmlrpc.client.loads(content)[0][0]
    except xmlrpc.client.Fault as fault:
        return fault


@pytest_twisted.ensureDeferred
async def test_multicall_over_the_limit_is_one_fault_and_runs_nothing(serve, calls) -> None:
    base = serve()
    multicall = [{"methodName": "turn", "params": []}] * 5000
    body = xml_call("system.multicall", multicall)
    assert len(body) < 1024 * 1024
    answer = await post_xml(f"{base}/xml", body)
    assert isinstance(answer, xmlrpc.client.Fault)
    assert answer.faultCode == FAILURE
    assert "5000 calls exceeds the limit of 1000" in answer.faultString
    assert calls.turns == []


@pytest_twisted.ensureDeferred
async def test_multicall_at_the_limit_lets_the_reactor_run_between_slices(serve, calls) -> None:
    base = serve()
    multicall = [{"methodName": "turn", "params": []}] * DEFAULT_MAX_BATCH_SIZE
    answer = await post_xml(f"{base}/xml", xml_call("system.multicall", multicall))
    assert len(answer) == DEFAULT_MAX_BATCH_SIZE
    assert len(calls.turns) == DEFAULT_MAX_BATCH_SIZE
    assert len(set(calls.turns)) >= DEFAULT_MAX_BATCH_SIZE // 100


@pytest_twisted.ensureDeferred
async def test_multicall_limit_is_the_rpc_max_batch_size_setting(serve, calls) -> None:
    base = serve(rpc_max_batch_size=3)
    multicall = [{"methodName": "turn", "params": []}] * 4
    answer = await post_xml(f"{base}/xml", xml_call("system.multicall", multicall))
    assert isinstance(answer, xmlrpc.client.Fault)
    assert calls.turns == []


def nested_array(depth: int) -> bytes:
    return (
        b"<?xml version='1.0'?><methodCall><methodName>echo</methodName><params><param>"
        + b"<value><array><data>" * depth
        + b"</data></array></value>" * depth
        + b"</param></params></methodCall>"
    )


@pytest_twisted.ensureDeferred
async def test_values_nested_thousands_deep_are_refused_before_the_method_runs(
    serve, calls
) -> None:
    base = serve()
    body = nested_array(20_000)
    assert len(body) < 1024 * 1024
    answer = await post_xml(f"{base}/xml", body)
    assert isinstance(answer, xmlrpc.client.Fault)
    assert answer.faultCode == FAILURE
    assert "nested deeper than 64" in answer.faultString
    assert calls.turns == []


@pytest_twisted.ensureDeferred
async def test_nesting_at_the_limit_is_accepted_and_the_limit_is_a_setting(serve, calls) -> None:
    base = serve()
    answer = await post_xml(f"{base}/xml", nested_array(64))
    assert not isinstance(answer, xmlrpc.client.Fault)
    base = serve(rpc_max_nesting_depth=3)
    answer = await post_xml(f"{base}/xml", nested_array(4))
    assert isinstance(answer, xmlrpc.client.Fault)
    assert len(calls.turns) == 1


def one_value(element: str, text: str, method: str = "echo") -> bytes:
    return (
        f"<?xml version='1.0'?><methodCall><methodName>{method}</methodName><params><param>".encode()
        + f"<value><{element}>{text}</{element}></value>".encode()
        + b"</param></params></methodCall>"
    )


@pytest.mark.parametrize(
    ("element", "text"),
    [
        ("int", str(2**31)),
        ("i4", str(-(2**31) - 1)),
        ("i8", str(2**63)),
        ("i8", "9" * 1_000_000),
        ("int", "9" * 1_000_000),
        ("biginteger", "9" * 5000),
        ("int", "1_000"),
        ("int", "0x10"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_integers_out_of_their_range_are_refused(serve, calls, element, text) -> None:
    base = serve()
    answer = await post_xml(f"{base}/xml", one_value(element, text))
    assert isinstance(answer, xmlrpc.client.Fault)
    assert answer.faultCode == FAILURE
    assert calls.turns == []


@pytest.mark.parametrize(
    ("element", "text", "value"),
    [
        ("int", str(2**31 - 1), 2**31 - 1),
        ("i4", str(-(2**31)), -(2**31)),
        ("i8", str(-(2**63)), -(2**63)),
        ("int", " +42 ", 42),
        ("i4", "0" * 100 + "7", 7),
    ],
)
@pytest_twisted.ensureDeferred
async def test_integers_within_their_range_are_accepted(serve, element, text, value) -> None:
    base = serve()
    answer = await post_xml(f"{base}/xml", one_value(element, text, method="show"))
    assert answer == repr(value)


@pytest_twisted.ensureDeferred
async def test_a_megabyte_of_digits_in_a_double_costs_a_parse(serve, calls) -> None:
    # float() reads long digit strings in linear time; only the body limit bounds them.
    base = serve()
    answer = await post_xml(f"{base}/xml", one_value("double", "1" * 1_000_000 + ".5"))
    assert answer == float("inf")
    assert len(calls.turns) == 1
