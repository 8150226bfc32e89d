"""Tests for cyclone.jsonrpc: the dispatcher (no sockets), the handler and the client."""

from __future__ import annotations

import json
from typing import Any

import pytest
import pytest_twisted
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import defer, task
from twisted.python.failure import Failure

from cyclone.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    JsonrpcDispatcher,
    JsonRpcError,
    JsonRpcProxy,
    JsonrpcRequestHandler,
)
from cyclone.routing import Router
from cyclone.testing import Client


class SpecMethods:
    """The methods the JSON-RPC 2.0 specification's examples (section 7) call."""

    def __init__(self) -> None:
        self.notified: list[tuple[str, tuple[Any, ...]]] = []

    def jsonrpc_subtract(self, minuend, subtrahend):
        return minuend - subtrahend

    def jsonrpc_sum(self, *numbers):
        return sum(numbers)

    def jsonrpc_update(self, *values):
        self.notified.append(("update", values))

    def jsonrpc_notify_hello(self, value):
        self.notified.append(("notify_hello", (value,)))

    def jsonrpc_notify_sum(self, *values):
        self.notified.append(("notify_sum", values))

    def jsonrpc_get_data(self):
        return ["hello", 5]


@pytest.fixture
def methods() -> SpecMethods:
    return SpecMethods()


class SpecHandler(JsonrpcRequestHandler):
    """Serves one SpecMethods' methods over HTTP (handlers are made per request)."""

    def initialize(self, methods: SpecMethods) -> None:
        for name in dir(methods):
            if name.startswith("jsonrpc_"):
                setattr(self, name, getattr(methods, name))


class _OverHTTP:
    """Same ``dispatch`` contract as the dispatcher, through the handler and real HTTP.

    Checks the HTTP side of each answer: 200 with ``application/json`` when there
    is a response, 204 with an empty body when the server must not reply.
    """

    def __init__(self, methods: SpecMethods) -> None:
        self.client = Client(Router([(r"/rpc", SpecHandler, {"methods": methods})]))

    async def dispatch(self, body: str | bytes) -> bytes | None:
        response = await self.client.post("/rpc", body=body)
        if response.code == 204:
            assert response.body == b""
            return None
        assert response.code == 200
        assert response.headers["Content-Type"] == "application/json"
        return response.body


@pytest.fixture(params=["dispatcher", "http"])
def dispatcher(request, methods: SpecMethods) -> Any:
    """The spec examples run twice: sans-IO through the dispatcher, and over HTTP."""
    if request.param == "dispatcher":
        return JsonrpcDispatcher(methods)
    return _OverHTTP(methods)


def _strip_data(response: Any) -> Any:
    """Drop the optional ``data`` member of error objects, checking it is a string.

    The specification's examples omit ``data``; we send it to say what was wrong.
    """
    if isinstance(response, list):
        return [_strip_data(item) for item in response]
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        error = dict(response["error"])
        if "data" in error:
            assert isinstance(error.pop("data"), str)
        return {**response, "error": error}
    return response


async def _exchange(dispatcher: Any, body: str | bytes) -> Any:
    """Dispatch ``body``; return the decoded response, or None when nothing is sent."""
    answer = await dispatcher.dispatch(body)
    if answer is None:
        return None
    assert isinstance(answer, bytes)
    return _strip_data(json.loads(answer))


# --- Every example of the JSON-RPC 2.0 specification, section 7 -----------------------------


@pytest_twisted.ensureDeferred
async def test_spec_rpc_call_with_positional_parameters(dispatcher):
    assert await _exchange(
        dispatcher, '{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}'
    ) == {"jsonrpc": "2.0", "result": 19, "id": 1}
    assert await _exchange(
        dispatcher, '{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}'
    ) == {"jsonrpc": "2.0", "result": -19, "id": 2}


@pytest_twisted.ensureDeferred
async def test_spec_rpc_call_with_named_parameters(dispatcher):
    assert await _exchange(
        dispatcher,
        '{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}',
    ) == {"jsonrpc": "2.0", "result": 19, "id": 3}
    assert await _exchange(
        dispatcher,
        '{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}',
    ) == {"jsonrpc": "2.0", "result": 19, "id": 4}


@pytest_twisted.ensureDeferred
async def test_spec_notifications_are_run_and_never_answered(dispatcher, methods):
    assert (
        await _exchange(
            dispatcher, '{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}'
        )
        is None
    )
    assert await _exchange(dispatcher, '{"jsonrpc": "2.0", "method": "foobar"}') is None
    assert methods.notified == [("update", (1, 2, 3, 4, 5))]


@pytest_twisted.ensureDeferred
async def test_spec_rpc_call_of_non_existent_method(dispatcher):
    assert await _exchange(dispatcher, '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}') == {
        "jsonrpc": "2.0",
        "error": {"code": -32601, "message": "Method not found"},
        "id": "1",
    }


@pytest_twisted.ensureDeferred
async def test_spec_rpc_call_with_invalid_json(dispatcher):
    assert await _exchange(
        dispatcher, '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]'
    ) == {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}


@pytest_twisted.ensureDeferred
async def test_spec_rpc_call_with_invalid_request_object(dispatcher):
    assert await _exchange(dispatcher, '{"jsonrpc": "2.0", "method": 1, "params": "bar"}') == {
        "jsonrpc": "2.0",
        "error": {"code": -32600, "message": "Invalid Request"},
        "id": None,
    }


@pytest_twisted.ensureDeferred
async def test_spec_rpc_call_batch_with_invalid_json(dispatcher):
    body = """[
      {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
      {"jsonrpc": "2.0", "method"
    ]"""
    assert await _exchange(dispatcher, body) == {
        "jsonrpc": "2.0",
        "error": {"code": -32700, "message": "Parse error"},
        "id": None,
    }


@pytest_twisted.ensureDeferred
async def test_spec_rpc_call_with_empty_array(dispatcher):
    assert await _exchange(dispatcher, "[]") == {
        "jsonrpc": "2.0",
        "error": {"code": -32600, "message": "Invalid Request"},
        "id": None,
    }


@pytest_twisted.ensureDeferred
async def test_spec_rpc_call_with_invalid_batch_but_not_empty(dispatcher):
    assert await _exchange(dispatcher, "[1]") == [
        {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": None}
    ]


@pytest_twisted.ensureDeferred
async def test_spec_rpc_call_with_invalid_batch(dispatcher):
    invalid = {
        "jsonrpc": "2.0",
        "error": {"code": -32600, "message": "Invalid Request"},
        "id": None,
    }
    assert await _exchange(dispatcher, "[1,2,3]") == [invalid, invalid, invalid]


@pytest_twisted.ensureDeferred
async def test_spec_rpc_call_batch(dispatcher, methods):
    body = """[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]"""
    assert await _exchange(dispatcher, body) == [
        {"jsonrpc": "2.0", "result": 7, "id": "1"},
        {"jsonrpc": "2.0", "result": 19, "id": "2"},
        {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": None},
        {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
        {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"},
    ]
    assert methods.notified == [("notify_hello", (7,))]


@pytest_twisted.ensureDeferred
async def test_spec_rpc_call_batch_of_only_notifications_returns_nothing(dispatcher, methods):
    body = """[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]"""
    assert await _exchange(dispatcher, body) is None
    assert methods.notified == [("notify_sum", (1, 2, 4)), ("notify_hello", (7,))]


# --- Beyond the examples -------------------------------------------------------------------


class AppMethods:
    def jsonrpc_echo(self, value):
        return value

    def jsonrpc_greet(self, name, greeting="hello"):
        return f"{greeting} {name}"

    def jsonrpc_fail_with_code(self):
        raise JsonRpcError(-32001, "quota exceeded", {"limit": 10})

    def jsonrpc_crash(self):
        raise RuntimeError("secret database password in this message")

    def jsonrpc_deferred(self, value):
        return task.deferLater(_reactor(), 0, lambda: value * 2)

    async def jsonrpc_coroutine(self, value):
        await task.deferLater(_reactor(), 0, lambda: None)
        return value + 1

    @defer.inlineCallbacks
    def jsonrpc_inline(self, value):
        doubled = yield defer.succeed(value * 2)
        return doubled

    def jsonrpc_failing_deferred(self):
        return defer.fail(JsonRpcError(42, "async application error"))

    def jsonrpc_unencodable(self):
        return object()

    def jsonrpc_not_a_number(self):
        return float("nan")

    def jsonrpc_error_with_unencodable_data(self):
        raise JsonRpcError(-32001, "oops", data=object())

    def jsonrpc_path(self, first, value):
        return [first, value]

    not_callable = 1
    jsonrpc_attribute = "not a method"


def _reactor():
    from twisted.internet import reactor

    return reactor


@pytest.fixture
def app() -> JsonrpcDispatcher:
    return JsonrpcDispatcher(AppMethods())


async def _call(dispatcher: JsonrpcDispatcher, method: str, params: Any = None, **extra: Any):
    request = {"jsonrpc": "2.0", "method": method, "id": 7, **extra}
    if params is not None:
        request["params"] = params
    answer = await dispatcher.dispatch(json.dumps(request).encode())
    return json.loads(answer)


@pytest_twisted.ensureDeferred
async def test_named_params_use_defaults(app):
    assert (await _call(app, "greet", {"name": "ann"}))["result"] == "hello ann"
    assert (await _call(app, "greet", ["bob", "hi"]))["result"] == "hi bob"


@pytest_twisted.ensureDeferred
async def test_wrong_number_of_params_is_invalid_params_with_a_reason(app):
    answer = await _call(app, "greet", [])
    assert answer["error"]["code"] == INVALID_PARAMS
    assert answer["error"]["message"] == "Invalid params"
    assert "name" in answer["error"]["data"]
    answer = await _call(app, "greet", ["a", "b", "c"])
    assert answer["error"]["code"] == INVALID_PARAMS
    answer = await _call(app, "greet", {"nom": "x"})
    assert answer["error"]["code"] == INVALID_PARAMS
    assert answer["id"] == 7


@pytest_twisted.ensureDeferred
async def test_application_error_keeps_its_code_message_and_data(app):
    answer = await _call(app, "fail_with_code")
    assert answer == {
        "jsonrpc": "2.0",
        "error": {"code": -32001, "message": "quota exceeded", "data": {"limit": 10}},
        "id": 7,
    }


@pytest_twisted.ensureDeferred
async def test_application_error_from_a_failed_deferred(app):
    answer = await _call(app, "failing_deferred")
    assert answer["error"] == {"code": 42, "message": "async application error"}


@pytest_twisted.ensureDeferred
async def test_internal_error_is_logged_and_leaks_nothing(app):
    from twisted.logger import globalLogPublisher

    events: list[dict] = []
    globalLogPublisher.addObserver(events.append)
    try:
        answer = await _call(app, "crash")
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert answer["error"] == {"code": INTERNAL_ERROR, "message": "Internal error"}
    assert "secret" not in json.dumps(answer)
    assert any(event.get("log_failure") is not None for event in events)


@pytest_twisted.ensureDeferred
async def test_internal_error_details_are_sent_when_exposed():
    dispatcher = JsonrpcDispatcher(AppMethods(), expose_internal_errors=True)
    answer = await _call(dispatcher, "crash")
    assert answer["error"]["code"] == INTERNAL_ERROR
    assert answer["error"]["data"].startswith("RuntimeError:")


@pytest_twisted.ensureDeferred
async def test_deferred_inline_callbacks_and_coroutine_methods(app):
    assert (await _call(app, "deferred", [21]))["result"] == 42
    assert (await _call(app, "coroutine", [41]))["result"] == 42
    assert (await _call(app, "inline", [21]))["result"] == 42


@pytest.mark.parametrize("method", ["unencodable", "not_a_number", "error_with_unencodable_data"])
@pytest_twisted.ensureDeferred
async def test_response_json_cannot_encode_is_internal_error(app, method):
    answer = await _call(app, method)
    assert answer["error"]["code"] == INTERNAL_ERROR
    assert "JSON serializable" in answer["error"]["data"]
    assert answer["id"] == 7


@pytest_twisted.ensureDeferred
async def test_unencodable_result_in_a_batch_spoils_only_its_own_answer(app):
    answer = json.loads(
        await app.dispatch(
            '[{"jsonrpc":"2.0","method":"unencodable","id":1},'
            '{"jsonrpc":"2.0","method":"echo","params":[2],"id":2}]'
        )
    )
    assert answer[0]["error"]["code"] == INTERNAL_ERROR
    assert answer[1] == {"jsonrpc": "2.0", "result": 2, "id": 2}


@pytest_twisted.ensureDeferred
async def test_lone_surrogates_still_give_valid_json(app):
    raw = await app.dispatch('{"jsonrpc":"2.0","method":"echo","params":["\\ud800"],"id":1}')
    assert raw.isascii()
    assert json.loads(raw)["result"] == "\ud800"


@pytest_twisted.ensureDeferred
async def test_non_callable_attribute_and_rpc_prefix_are_method_not_found(app):
    assert (await _call(app, "attribute"))["error"]["code"] == METHOD_NOT_FOUND
    assert (await _call(app, "rpc.discover"))["error"]["code"] == METHOD_NOT_FOUND
    assert (await _call(app, "__class__"))["error"]["code"] == METHOD_NOT_FOUND


@pytest.mark.parametrize(
    "request_object",
    [
        {"jsonrpc": "1.9", "method": "echo", "id": 1},
        {"jsonrpc": "2.0", "method": "echo", "params": 5, "id": 1},
        {"jsonrpc": "2.0", "method": "echo", "params": "text", "id": 1},
        {"jsonrpc": "2.0", "params": [1], "id": 1},
        {"jsonrpc": 2.0, "method": "echo", "id": 1},
    ],
)
@pytest_twisted.ensureDeferred
async def test_malformed_request_objects_are_invalid_request(app, request_object):
    answer = json.loads(await app.dispatch(json.dumps(request_object)))
    assert answer["jsonrpc"] == "2.0"
    assert answer["error"]["code"] == INVALID_REQUEST
    assert answer["id"] == 1


@pytest.mark.parametrize("bad_id", [{"a": 1}, [1], True])
@pytest_twisted.ensureDeferred
async def test_invalid_id_type_is_invalid_request_answered_with_null_id(app, bad_id):
    body = json.dumps({"jsonrpc": "2.0", "method": "echo", "params": [1], "id": bad_id})
    answer = json.loads(await app.dispatch(body))
    assert answer["error"]["code"] == INVALID_REQUEST
    assert answer["id"] is None


@pytest_twisted.ensureDeferred
async def test_null_id_is_a_call_not_a_notification_in_2_0(app):
    answer = json.loads(
        await app.dispatch('{"jsonrpc":"2.0","method":"echo","params":["x"],"id":null}')
    )
    assert answer == {"jsonrpc": "2.0", "result": "x", "id": None}


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"\xff\xfe\x00garbage", b"{", b"nul", "[" * 100_000]
)
@pytest_twisted.ensureDeferred
async def test_unparseable_bodies_are_parse_errors(app, body):
    answer = json.loads(await app.dispatch(body))
    assert answer["error"]["code"] == PARSE_ERROR
    assert answer["id"] is None


@pytest_twisted.ensureDeferred
async def test_scalar_json_body_is_invalid_request(app):
    answer = json.loads(await app.dispatch(b"42"))
    assert answer["error"]["code"] == INVALID_REQUEST


@pytest_twisted.ensureDeferred
async def test_notification_errors_are_not_answered(app):
    assert await app.dispatch('{"jsonrpc":"2.0","method":"crash"}') is None
    assert await app.dispatch('{"jsonrpc":"2.0","method":"nope"}') is None
    assert await app.dispatch('{"jsonrpc":"2.0","method":"greet","params":[]}') is None


@pytest_twisted.ensureDeferred
async def test_leading_args_from_the_route_come_first(app):
    answer = json.loads(
        await app.dispatch('{"jsonrpc":"2.0","method":"path","params":[2],"id":1}', "users")
    )
    assert answer["result"] == ["users", 2]
    answer = json.loads(
        await app.dispatch('{"jsonrpc":"2.0","method":"path","params":{"value":3},"id":1}', "u")
    )
    assert answer["result"] == ["u", 3]


@pytest_twisted.ensureDeferred
async def test_unicode_round_trips(app):
    answer = json.loads(
        await app.dispatch(
            '{"jsonrpc":"2.0","method":"echo","params":["café \\ud83d\\ude00"],"id":1}'.encode()
        )
    )
    assert answer["result"] == "café 😀"


# --- JSON-RPC 1.0 ---------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_version_1_request_is_answered_in_version_1_form(app):
    answer = json.loads(await app.dispatch('{"method": "echo", "params": ["hi"], "id": 3}'))
    assert answer == {"result": "hi", "error": None, "id": 3}


@pytest_twisted.ensureDeferred
async def test_version_1_errors_use_the_error_member(app):
    answer = json.loads(await app.dispatch('{"method": "nope", "params": [], "id": "a"}'))
    assert answer["result"] is None
    assert answer["error"]["code"] == METHOD_NOT_FOUND
    assert answer["id"] == "a"
    assert "jsonrpc" not in answer
    answer = json.loads(await app.dispatch('{"method": 5, "params": [], "id": "b"}'))
    assert answer["error"]["code"] == INVALID_REQUEST
    assert "jsonrpc" not in answer


@pytest_twisted.ensureDeferred
async def test_version_1_null_id_is_a_notification(app):
    assert await app.dispatch('{"method": "echo", "params": ["x"], "id": null}') is None


@pytest_twisted.ensureDeferred
async def test_objects_without_version_inside_a_batch_are_invalid(app):
    answer = json.loads(await app.dispatch('[{"method": "echo", "params": ["x"], "id": 1}]'))
    assert answer[0]["jsonrpc"] == "2.0"
    assert answer[0]["error"]["code"] == INVALID_REQUEST


@pytest_twisted.ensureDeferred
async def test_batch_answers_keep_request_order_even_when_methods_finish_out_of_order():
    release = defer.Deferred()

    class Slow:
        def jsonrpc_slow(self):
            return release

        def jsonrpc_fast(self):
            return "fast"

    dispatcher = JsonrpcDispatcher(Slow())
    pending = dispatcher.dispatch(
        '[{"jsonrpc":"2.0","method":"slow","id":1},{"jsonrpc":"2.0","method":"fast","id":2}]'
    )
    assert not pending.called
    release.callback("slow")
    answer = json.loads(await pending)
    assert [item["result"] for item in answer] == ["slow", "fast"]


def test_json_rpc_error_requires_an_integer_code():
    with pytest.raises(TypeError, match="'x'"):
        JsonRpcError("x", "message")
    with pytest.raises(TypeError):
        JsonRpcError(True, "message")


def test_json_rpc_error_defaults_its_message_from_the_code():
    assert JsonRpcError(-32601).message == "Method not found"
    assert JsonRpcError(-32601).to_dict() == {"code": -32601, "message": "Method not found"}
    assert JsonRpcError(1, "m", None).to_dict() == {"code": 1, "message": "m", "data": None}


# --- the request handler --------------------------------------------------------------------


class RPC(JsonrpcRequestHandler):
    def jsonrpc_subtract(self, minuend, subtrahend):
        return minuend - subtrahend

    def jsonrpc_echo(self, value):
        return value

    async def jsonrpc_later(self, value):
        await task.deferLater(_reactor(), 0, lambda: None)
        return value

    def jsonrpc_fail(self):
        raise JsonRpcError(-32001, "quota exceeded", {"limit": 10})

    def jsonrpc_crash(self):
        raise RuntimeError("secret")

    def jsonrpc_who(self, room, name):
        return f"{name} in {room}"

    def jsonrpc_client_ip(self):
        return self.request.remote_ip

    def jsonrpc_record(self, value):
        RECORDED.append(value)

    def jsonrpc_never(self):
        return defer.Deferred()


RECORDED: list[Any] = []


class SmallRPC(RPC):
    max_body_size = 100


def _app(**settings: Any) -> Router:
    return Router(
        [
            (r"/rpc", RPC),
            (r"/small", SmallRPC),
            (r"/rooms/(\w+)", RPC),
            (r"/named/(?P<room>\w+)", RPC),
        ],
        **settings,
    )


@pytest_twisted.ensureDeferred
async def test_handler_answers_with_application_json():
    response = await Client(_app()).post(
        "/rpc", body='{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}'
    )
    assert response.code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"jsonrpc": "2.0", "result": 19, "id": 1}


@pytest_twisted.ensureDeferred
async def test_handler_notification_gets_204_and_no_body():
    RECORDED.clear()
    response = await Client(_app()).post(
        "/rpc", body='{"jsonrpc":"2.0","method":"record","params":["x"]}'
    )
    assert response.code == 204
    assert response.body == b""
    assert RECORDED == ["x"]


@pytest_twisted.ensureDeferred
async def test_handler_batch_of_only_notifications_gets_204():
    response = await Client(_app()).post(
        "/rpc",
        body='[{"jsonrpc":"2.0","method":"record","params":[1]},'
        '{"jsonrpc":"2.0","method":"record","params":[2]}]',
    )
    assert response.code == 204
    assert response.body == b""


@pytest_twisted.ensureDeferred
async def test_handler_parse_error_is_a_json_rpc_answer_not_an_http_error():
    response = await Client(_app()).post("/rpc", body="{not json")
    assert response.code == 200
    assert response.json()["error"]["code"] == PARSE_ERROR


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest_twisted.ensureDeferred
async def test_handler_accepts_only_post(method):
    assert (await Client(_app()).request(method, "/rpc")).code == 405


@pytest_twisted.ensureDeferred
async def test_handler_body_over_the_limit_is_413():
    client = Client(_app())
    small = '{"jsonrpc":"2.0","method":"echo","params":[1],"id":1}'
    assert (await client.post("/small", body=small)).code == 200
    big = json.dumps({"jsonrpc": "2.0", "method": "echo", "params": ["x" * 200], "id": 1})
    assert (await client.post("/small", body=big)).code == 413
    assert (await Client(_app(rpc_max_body_size=50)).post("/rpc", body=small)).code == 413


@pytest_twisted.ensureDeferred
async def test_handler_path_arguments_come_before_params():
    response = await Client(_app()).post(
        "/rooms/lobby", body='{"jsonrpc":"2.0","method":"who","params":["ann"],"id":1}'
    )
    assert response.json()["result"] == "ann in lobby"


@pytest_twisted.ensureDeferred
async def test_handler_named_path_arguments_are_keyword_arguments():
    client = Client(_app())
    response = await client.post(
        "/named/hall", body='{"jsonrpc":"2.0","method":"who","params":{"name":"bo"},"id":1}'
    )
    assert response.json()["result"] == "bo in hall"
    response = await client.post(
        "/named/hall", body='{"jsonrpc":"2.0","method":"who","params":["bo"],"id":1}'
    )
    assert response.json()["error"]["code"] == INVALID_PARAMS
    response = await client.post(
        "/named/hall",
        body='{"jsonrpc":"2.0","method":"who","params":{"name":"bo","room":"x"},"id":1}',
    )
    assert response.json()["error"]["code"] == INVALID_PARAMS
    assert "room" in response.json()["error"]["data"]


@pytest_twisted.ensureDeferred
async def test_handler_internal_error_detail_only_in_debug():
    body = '{"jsonrpc":"2.0","method":"crash","id":1}'
    quiet = (await Client(_app()).post("/rpc", body=body)).json()
    assert quiet["error"] == {"code": INTERNAL_ERROR, "message": "Internal error"}
    loud = (await Client(_app(debug=True)).post("/rpc", body=body)).json()
    assert loud["error"]["data"] == "RuntimeError: secret"


@pytest_twisted.ensureDeferred
async def test_handler_is_exempt_from_xsrf_checks():
    app = _app(xsrf_cookies=True, cookie_secret="s" * 32)
    response = await Client(app).post(
        "/rpc", body='{"jsonrpc":"2.0","method":"echo","params":[1],"id":1}'
    )
    assert response.json()["result"] == 1


# --- the client and interoperability over a real socket -------------------------------------


@pytest_twisted.async_yield_fixture
async def server_url():
    from twisted.internet import reactor

    port = reactor.listenTCP(0, _app(), interface="127.0.0.1")
    try:
        yield f"http://127.0.0.1:{port.getHost().port}"
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_proxy_calls_with_positional_and_named_params(server_url):
    proxy = JsonRpcProxy(f"{server_url}/rpc")
    assert await proxy.callRemote("subtract", 42, 23) == 19
    assert await proxy.callRemote("subtract", subtrahend=23, minuend=42) == 19
    assert await proxy.callRemote("later", {"nested": [1, None]}) == {"nested": [1, None]}
    assert await proxy.callRemote("client_ip") == "127.0.0.1"


@pytest_twisted.ensureDeferred
async def test_proxy_raises_json_rpc_errors_with_code_message_and_data(server_url):
    proxy = JsonRpcProxy(f"{server_url}/rpc")
    with pytest.raises(JsonRpcError) as caught:
        await proxy.callRemote("fail")
    assert (caught.value.code, caught.value.message, caught.value.data) == (
        -32001,
        "quota exceeded",
        {"limit": 10},
    )
    with pytest.raises(JsonRpcError) as caught:
        await proxy.callRemote("nope")
    assert caught.value.code == METHOD_NOT_FOUND
    with pytest.raises(JsonRpcError) as caught:
        await proxy.callRemote("subtract", 1)
    assert caught.value.code == INVALID_PARAMS


@pytest_twisted.ensureDeferred
async def test_proxy_calls_log_no_starting_or_stopping_factory_lines(server_url):
    from twisted.logger import formatEvent, globalLogPublisher

    lines = []

    def observer(event):
        lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observer)
    try:
        assert await JsonRpcProxy(f"{server_url}/rpc").callRemote("subtract", 3, 1) == 2
    finally:
        globalLogPublisher.removeObserver(observer)
    assert not [line for line in lines if "factory" in line.lower()], lines


def test_proxy_refuses_mixing_positional_and_named_params():
    proxy = JsonRpcProxy("http://127.0.0.1:1/rpc")
    with pytest.raises(TypeError, match="'subtract'"):
        proxy.callRemote("subtract", 1, subtrahend=2)
    with pytest.raises(ValueError, match="'3.0'"):
        JsonRpcProxy("http://127.0.0.1:1/rpc", version="3.0")


@pytest_twisted.ensureDeferred
async def test_proxy_notify_gets_no_answer_and_the_method_runs(server_url):
    RECORDED.clear()
    proxy = JsonRpcProxy(f"{server_url}/rpc")
    assert await proxy.notify("record", "note") is None
    assert RECORDED == ["note"]


@pytest_twisted.ensureDeferred
async def test_proxy_batch_returns_results_and_errors_in_order(server_url):
    proxy = JsonRpcProxy(f"{server_url}/rpc")
    results = await proxy.callBatch(
        [("subtract", [5, 3]), ("nope", []), ("subtract", {"minuend": 1, "subtrahend": 1})]
    )
    assert results[0] == 2
    assert isinstance(results[1], JsonRpcError) and results[1].code == METHOD_NOT_FOUND
    assert results[2] == 0


@pytest_twisted.ensureDeferred
async def test_proxy_speaks_version_1(server_url):
    proxy = JsonRpcProxy(f"{server_url}/rpc", version="1.0")
    assert await proxy.callRemote("echo", "old") == "old"
    with pytest.raises(JsonRpcError):
        await proxy.callRemote("nope")


@pytest_twisted.ensureDeferred
async def test_proxy_reports_http_errors(server_url):
    from twisted.web.error import Error

    proxy = JsonRpcProxy(f"{server_url}/small")
    with pytest.raises(Error) as caught:
        await proxy.callRemote("echo", "x" * 500)
    assert caught.value.status == b"413"


@pytest_twisted.ensureDeferred
async def test_third_party_jsonrpcclient_interoperates(server_url):
    """jsonrpcclient builds the requests and parses the answers; urllib carries them."""
    import urllib.request

    from jsonrpcclient import Error as ClientError
    from jsonrpcclient import Ok, notification_json, parse_json, request_json
    from twisted.internet.threads import deferToThread

    def post(body: str) -> tuple[int, str]:
        request = urllib.request.Request(
            f"{server_url}/rpc",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()

    status, text = await deferToThread(post, request_json("subtract", params=[42, 23]))
    parsed = parse_json(text)
    assert status == 200 and isinstance(parsed, Ok) and parsed.result == 19

    status, text = await deferToThread(
        post, request_json("subtract", params={"minuend": 10, "subtrahend": 4})
    )
    assert parse_json(text).result == 6

    status, text = await deferToThread(post, request_json("fail"))
    parsed = parse_json(text)
    assert isinstance(parsed, ClientError)
    assert (parsed.code, parsed.message, parsed.data) == (-32001, "quota exceeded", {"limit": 10})

    status, text = await deferToThread(post, notification_json("record", params=["n"]))
    assert (status, text) == (204, "")


@pytest_twisted.ensureDeferred
async def test_proxy_refuses_a_response_larger_than_its_limit(server_url):
    proxy = JsonRpcProxy(f"{server_url}/rpc", max_response_size=100)
    assert await proxy.callRemote("echo", "short") == "short"
    with pytest.raises(ValueError, match="max_response_size"):
        await proxy.callRemote("echo", "x" * 1000)


@pytest_twisted.ensureDeferred
async def test_proxy_timeout_cancels_a_call_that_never_answers(server_url):
    proxy = JsonRpcProxy(f"{server_url}/rpc", timeout=0.2)
    with pytest.raises(defer.TimeoutError):
        await proxy.callRemote("never")


# --- properties: whatever arrives, the answer is valid JSON-RPC or nothing ------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_request_like = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2]) | _json_values,
        "method": st.sampled_from(["echo", "greet", "crash", "nope", "rpc.x"]) | _json_values,
        "params": _json_values,
        "id": _json_values,
    },
)


class SyncMethods:
    """Only synchronous methods, so property tests need no reactor turn."""

    def jsonrpc_echo(self, value):
        return value

    def jsonrpc_greet(self, name, greeting="hello"):
        return f"{greeting} {name}"

    def jsonrpc_crash(self):
        raise RuntimeError("boom")


def _assert_valid_response(item: Any) -> None:
    assert isinstance(item, dict)
    if "jsonrpc" in item:
        assert item["jsonrpc"] == "2.0"
        assert ("result" in item) != ("error" in item)
    else:
        assert set(item) == {"result", "error", "id"}
    if item.get("error") is not None:
        assert isinstance(item["error"]["code"], int)
        assert isinstance(item["error"]["message"], str)


@settings(max_examples=100, deadline=None)
@given(payload=_request_like | st.lists(_request_like | _json_values, max_size=5) | _json_values)
def test_any_json_payload_gets_a_well_formed_answer_or_none(payload):
    answer = _run(JsonrpcDispatcher(SyncMethods()).dispatch(json.dumps(payload)))
    if answer is None:
        return
    decoded = json.loads(answer)
    for item in decoded if isinstance(decoded, list) else [decoded]:
        _assert_valid_response(item)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=200))
def test_any_bytes_get_a_well_formed_answer_or_none(body):
    answer = _run(JsonrpcDispatcher(SyncMethods()).dispatch(body))
    if answer is not None:
        decoded = json.loads(answer)
        for item in decoded if isinstance(decoded, list) else [decoded]:
            _assert_valid_response(item)


def _run(deferred: defer.Deferred) -> Any:
    """The result of a Deferred that fires synchronously (AppMethods' sync methods do)."""
    results: list[Any] = []
    deferred.addBoth(results.append)
    assert results, "dispatch did not complete synchronously"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


def test_an_async_method_awaits_asyncio_and_a_deferred_on_the_asyncio_reactor(tmp_path) -> None:
    import sys
    import urllib.request
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from rpc_asyncio_server import TIMEOUT, asyncio_server

    with asyncio_server(tmp_path) as port:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/json",
            data=json.dumps(
                {"jsonrpc": "2.0", "method": "add", "params": [2, 3], "id": 1}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            reply = json.loads(answer.read())
    assert reply == {"jsonrpc": "2.0", "result": {"sum": 5, "task": True}, "id": 1}
