"""Tests for cyclone.xmlrpc: the dispatcher (no sockets), the handler and interoperability."""

from __future__ import annotations

import datetime
import xmlrpc.client
from typing import Any

import pytest
import pytest_twisted
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import defer, task

from cyclone.handler import RequestHandler
from cyclone.routing import Router
from cyclone.testing import Client
from cyclone.xmlrpc import (
    FAILURE,
    NOT_FOUND,
    Fault,
    XmlrpcDispatcher,
    XmlRpcProxy,
    XmlrpcRequestHandler,
    parse_call,
    parse_response,
    signature,
)


def _reactor():
    from twisted.internet import reactor

    return reactor


class Counter:
    """A sub-handler: exposed as ``counter.*``; it nests ``counter.deep.*``."""

    def __init__(self) -> None:
        self.value = 0
        self.subHandlers = {"deep": Deep()}

    def xmlrpc_increment(self, by=1):
        """Add to the counter and return it."""
        self.value += by
        return self.value


class Deep:
    def xmlrpc_ping(self):
        return "pong"


class Methods:
    def __init__(self) -> None:
        self.counter = Counter()
        self.subHandlers = {"counter": self.counter}

    @signature(["int", "int", "int"], ["double", "double", "double"])
    def xmlrpc_add(self, a, b):
        """Add two numbers."""
        return a + b

    def xmlrpc_echo(self, value):
        return value

    def xmlrpc_none(self):
        return None

    def xmlrpc_fault(self):
        raise Fault(4, "too many parameters")

    def xmlrpc_crash(self):
        raise RuntimeError("secret database password")

    def xmlrpc_deferred(self, value):
        return task.deferLater(_reactor(), 0, lambda: value * 2)

    async def xmlrpc_coroutine(self, value):
        await task.deferLater(_reactor(), 0, lambda: None)
        return value + 1

    def xmlrpc_deferred_fault(self):
        return defer.fail(Fault(77, "asynchronous fault"))

    def xmlrpc_unmarshallable(self):
        return object()

    def xmlrpc_huge_int(self):
        return 2**40

    def xmlrpc_now(self):
        return datetime.datetime(2026, 1, 2, 3, 4, 5)

    def xmlrpc_type_of(self, value):
        return type(value).__name__

    xmlrpc_attribute = "not callable"


@pytest.fixture
def methods() -> Methods:
    return Methods()


@pytest.fixture
def dispatcher(methods: Methods) -> XmlrpcDispatcher:
    return XmlrpcDispatcher(methods)


async def _call(dispatcher: XmlrpcDispatcher, method: str, *params: Any, **dumps: Any) -> Any:
    """Send a call through the dispatcher and decode the answer like a client would."""
    body = xmlrpc.client.dumps(params, method, allow_none=True, **dumps).encode()
    answer = await dispatcher.dispatch(body)
    assert isinstance(answer, bytes)
    result, _ = xmlrpc.client.loads(answer, use_datetime=True)
    return result[0]


async def _fault(dispatcher: XmlrpcDispatcher, body: bytes) -> Fault:
    answer = await dispatcher.dispatch(body)
    with pytest.raises(Fault) as caught:
        xmlrpc.client.loads(answer)
    return caught.value


@pytest_twisted.ensureDeferred
async def test_method_result_is_a_method_response(dispatcher):
    assert await _call(dispatcher, "add", 2, 3) == 5
    assert await _call(dispatcher, "echo", {"a": [1, 2.5, "x", True]}) == {
        "a": [1, 2.5, "x", True]
    }


@pytest_twisted.ensureDeferred
async def test_sub_handlers_are_addressed_with_the_separator(dispatcher, methods):
    assert await _call(dispatcher, "counter.increment") == 1
    assert await _call(dispatcher, "counter.increment", 5) == 6
    assert await _call(dispatcher, "counter.deep.ping") == "pong"
    assert methods.counter.value == 6


@pytest_twisted.ensureDeferred
async def test_twisted_style_sub_handler_accessors_are_honoured():
    class Root:
        def __init__(self) -> None:
            self._subs = {"x": Deep()}

        def getSubHandler(self, prefix):
            return self._subs.get(prefix)

        def getSubHandlerPrefixes(self):
            return list(self._subs)

    dispatcher = XmlrpcDispatcher(Root())
    assert await _call(dispatcher, "x.ping") == "pong"
    assert "x.ping" in await _call(dispatcher, "system.listMethods")


@pytest.mark.parametrize(
    "method", ["nope", "counter.nope", "nosuch.ping", "attribute", "counter.", "."]
)
@pytest_twisted.ensureDeferred
async def test_unknown_methods_are_fault_not_found(dispatcher, method):
    fault = await _fault(dispatcher, xmlrpc.client.dumps((), method).encode())
    assert fault.faultCode == NOT_FOUND
    assert repr(method.split(".")[0]) in fault.faultString or method in fault.faultString


@pytest_twisted.ensureDeferred
async def test_raised_fault_reaches_the_client_unchanged(dispatcher):
    fault = await _fault(dispatcher, xmlrpc.client.dumps((), "fault").encode())
    assert (fault.faultCode, fault.faultString) == (4, "too many parameters")
    fault = await _fault(dispatcher, xmlrpc.client.dumps((), "deferred_fault").encode())
    assert (fault.faultCode, fault.faultString) == (77, "asynchronous fault")


@pytest_twisted.ensureDeferred
async def test_internal_error_is_a_fault_without_details_and_is_logged(dispatcher):
    from twisted.logger import globalLogPublisher

    events: list[dict] = []
    globalLogPublisher.addObserver(events.append)
    try:
        fault = await _fault(dispatcher, xmlrpc.client.dumps((), "crash").encode())
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert fault.faultCode == FAILURE
    assert fault.faultString == "internal error"
    assert any(event.get("log_failure") is not None for event in events)


@pytest_twisted.ensureDeferred
async def test_wrong_argument_count_is_a_failure_fault_naming_the_method(dispatcher):
    fault = await _fault(dispatcher, xmlrpc.client.dumps((1,), "add").encode())
    assert fault.faultCode == FAILURE
    assert "'add'" in fault.faultString


@pytest_twisted.ensureDeferred
async def test_deferred_and_coroutine_methods(dispatcher):
    assert await _call(dispatcher, "deferred", 21) == 42
    assert await _call(dispatcher, "coroutine", 41) == 42


@pytest_twisted.ensureDeferred
async def test_none_needs_allow_none(methods):
    fault = await _fault(XmlrpcDispatcher(methods), xmlrpc.client.dumps((), "none").encode())
    assert fault.faultCode == FAILURE
    assert "can't serialize output" in fault.faultString
    assert await _call(XmlrpcDispatcher(methods, allow_none=True), "none") is None


@pytest_twisted.ensureDeferred
async def test_unmarshallable_results_are_failure_faults(dispatcher):
    for method in ("unmarshallable", "huge_int"):
        fault = await _fault(dispatcher, xmlrpc.client.dumps((), method).encode())
        assert fault.faultCode == FAILURE


@pytest_twisted.ensureDeferred
async def test_use_datetime_decides_what_methods_receive(methods):
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    assert await _call(XmlrpcDispatcher(methods), "type_of", when) == "DateTime"
    assert await _call(XmlrpcDispatcher(methods, use_datetime=True), "type_of", when) == "datetime"
    assert await _call(XmlrpcDispatcher(methods), "now") == when


@pytest_twisted.ensureDeferred
async def test_binary_round_trips(dispatcher):
    blob = xmlrpc.client.Binary(bytes(range(256)))
    assert (await _call(dispatcher, "echo", blob)).data == bytes(range(256))


@pytest_twisted.ensureDeferred
async def test_unicode_round_trips(dispatcher):
    assert await _call(dispatcher, "echo", "café 😀 <&>") == "café 😀 <&>"


# --- hostile or broken input ----------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<methodCall><methodName>echo</methodName>
<params><param><value><string>&lol9;</string></value></param></params></methodCall>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE call [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>echo</methodName>
<params><param><value><string>&xxe;</string></value></param></params></methodCall>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE call [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote;]>
<methodCall><methodName>echo</methodName><params/></methodCall>"""

BARE_DOCTYPE = b"""<?xml version="1.0"?><!DOCTYPE methodCall>
<methodCall><methodName>echo</methodName><params/></methodCall>"""


@pytest.mark.parametrize(
    "body", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY, BARE_DOCTYPE], ids=str
)
@pytest_twisted.ensureDeferred
async def test_documents_with_a_doctype_are_refused_before_any_entity_is_expanded(
    dispatcher, body
):
    fault = await _fault(dispatcher, body)
    assert fault.faultCode == FAILURE
    assert "DOCTYPE" in fault.faultString or "entity" in fault.faultString
    assert "root:" not in fault.faultString


def test_parse_call_refuses_entity_declarations_even_without_references():
    with pytest.raises(Fault, match="DOCTYPE"):
        parse_call(EXTERNAL_ENTITY.replace(b"&xxe;", b"x"))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all",
        b"<methodCall><methodName>echo</methodName>",
        b"<methodCall><params/></methodCall>",
        b"<?xml version='1.0'?><methodResponse><params><param><value>1</value></param></params></methodResponse>",
        b"<methodCall><methodName>echo</methodName><params><param><value><int>x</int></value></param></params></methodCall>",
        b"<methodCall><methodName>echo</methodName><params><param><value><struct><member><value>1</value></member></struct></value></param></params></methodCall>",
        b"<methodCall><methodName>echo</methodName><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member><member><name>faultString</name><value>x</value></member></struct></value></fault></methodCall>",
        b"\xff\xfe<\x00m\x00",
    ],
)
@pytest_twisted.ensureDeferred
async def test_malformed_bodies_are_answered_with_a_fault(dispatcher, body):
    fault = await _fault(dispatcher, body)
    assert fault.faultCode == FAILURE
    assert fault.faultString.startswith("can't deserialize input")
    assert "Traceback" not in fault.faultString


@pytest_twisted.ensureDeferred
async def test_bad_date_is_a_fault_when_dates_are_parsed(methods):
    body = (
        b"<methodCall><methodName>echo</methodName><params><param><value>"
        b"<dateTime.iso8601>nope</dateTime.iso8601></value></param></params></methodCall>"
    )
    fault = await _fault(XmlrpcDispatcher(methods, use_datetime=True), body)
    assert fault.faultCode == FAILURE


# --- introspection and multicall ------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_list_methods_names_every_method_sub_handler_and_system_method(dispatcher):
    names = await _call(dispatcher, "system.listMethods")
    assert names == sorted(names)
    for expected in (
        "add",
        "echo",
        "counter.increment",
        "counter.deep.ping",
        "system.listMethods",
        "system.methodHelp",
        "system.methodSignature",
        "system.multicall",
    ):
        assert expected in names
    assert "attribute" not in names


@pytest_twisted.ensureDeferred
async def test_method_help_returns_the_docstring(dispatcher):
    assert await _call(dispatcher, "system.methodHelp", "add") == "Add two numbers."
    assert await _call(dispatcher, "system.methodHelp", "counter.increment") == (
        "Add to the counter and return it."
    )
    assert await _call(dispatcher, "system.methodHelp", "echo") == ""
    fault = await _fault(dispatcher, xmlrpc.client.dumps(("nope",), "system.methodHelp").encode())
    assert fault.faultCode == NOT_FOUND


@pytest_twisted.ensureDeferred
async def test_method_signature_comes_from_the_decorator(dispatcher):
    assert await _call(dispatcher, "system.methodSignature", "add") == [
        ["int", "int", "int"],
        ["double", "double", "double"],
    ]
    assert await _call(dispatcher, "system.methodSignature", "echo") == "undef"


def test_signature_decorator_rejects_malformed_signatures():
    with pytest.raises(TypeError, match="'int'"):
        signature("int")


@pytest_twisted.ensureDeferred
async def test_multicall_runs_each_call_in_order_and_reports_faults_per_call(dispatcher):
    calls = [
        {"methodName": "add", "params": [1, 2]},
        {"methodName": "nope", "params": []},
        {"methodName": "counter.increment", "params": [10]},
        {"methodName": "fault", "params": []},
        {"methodName": "unmarshallable", "params": []},
        {"methodName": "system.multicall", "params": [[]]},
        {"params": []},
        "not a struct",
    ]
    answers = await _call(dispatcher, "system.multicall", calls)
    assert answers[0] == [3]
    assert answers[1]["faultCode"] == NOT_FOUND
    assert answers[2] == [10]
    assert answers[3] == {"faultCode": 4, "faultString": "too many parameters"}
    assert answers[4]["faultCode"] == FAILURE
    assert answers[5]["faultCode"] == FAILURE
    assert answers[6]["faultCode"] == FAILURE
    assert answers[7]["faultCode"] == FAILURE


@pytest_twisted.ensureDeferred
async def test_multicall_works_with_the_standard_library_client(dispatcher):
    # xmlrpc.client.MultiCall builds the request; we feed it through the dispatcher.
    calls = [{"methodName": "add", "params": [2, 2]}, {"methodName": "echo", "params": ["x"]}]
    answers = await _call(dispatcher, "system.multicall", calls)
    results = list(xmlrpc.client.MultiCallIterator(answers))
    assert results == [4, "x"]


@pytest_twisted.ensureDeferred
async def test_introspection_and_multicall_can_be_switched_off(methods):
    dispatcher = XmlrpcDispatcher(methods, introspection=False, multicall=False)
    for method in ("system.listMethods", "system.multicall"):
        fault = await _fault(dispatcher, xmlrpc.client.dumps(([],), method).encode())
        assert fault.faultCode == NOT_FOUND


@pytest_twisted.ensureDeferred
async def test_a_user_system_sub_handler_wins_over_the_built_in_one():
    class MySystem:
        def xmlrpc_listMethods(self):
            return ["mine"]

    class Root:
        subHandlers = {"system": MySystem()}

    assert await _call(XmlrpcDispatcher(Root()), "system.listMethods") == ["mine"]


@pytest_twisted.ensureDeferred
async def test_custom_separator():
    class Root:
        subHandlers = {"counter": Counter()}

    dispatcher = XmlrpcDispatcher(Root(), separator="/")
    assert await _call(dispatcher, "counter/increment") == 1


# --- the request handler --------------------------------------------------------------------


class RPC(XmlrpcRequestHandler):
    allowNone = True
    subHandlers = {"counter": Counter()}

    def initialize(self, extra=None):
        if extra is not None:
            self.putSubHandler("extra", extra)

    @signature(["int", "int", "int"])
    def xmlrpc_add(self, a, b):
        """Add two integers."""
        return a + b

    def xmlrpc_echo(self, value):
        return value

    def xmlrpc_client_ip(self):
        return self.request.remote_ip

    async def xmlrpc_later(self, value):
        await task.deferLater(_reactor(), 0, lambda: None)
        return value

    def xmlrpc_fault(self):
        raise Fault(4, "too many parameters")

    def xmlrpc_crash(self):
        raise RuntimeError("secret")


class SmallRPC(RPC):
    max_body_size = 200


class NotRPC(RequestHandler):
    """Answers POSTs with whatever body the route's kwargs say: a broken XML-RPC server."""

    def initialize(self, answer=b"hello"):
        self.answer = answer

    def post(self):
        self.set_header("Content-Type", "text/xml")
        self.write(self.answer)


def _app(**settings: Any) -> Router:
    return Router(
        [
            (r"/RPC2", RPC),
            (r"/small", SmallRPC),
            (r"/extra", RPC, {"extra": Deep()}),
            (r"/garbage", NotRPC),
            (
                r"/bomb",
                NotRPC,
                {"answer": BILLION_LAUGHS.replace(b"methodCall", b"methodResponse")},
            ),
            (r"/two", NotRPC, {"answer": xmlrpc.client.dumps((1, 2), methodresponse=None)}),
        ],
        **settings,
    )


def _body(method: str, *params: Any) -> bytes:
    return xmlrpc.client.dumps(params, method, allow_none=True).encode()


@pytest_twisted.ensureDeferred
async def test_handler_answers_a_call_with_text_xml():
    response = await Client(_app()).post("/RPC2", body=_body("add", 1, 2))
    assert response.code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert xmlrpc.client.loads(response.body) == ((3,), None)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS"])
@pytest_twisted.ensureDeferred
async def test_handler_accepts_only_post(method):
    response = await Client(_app()).request(method, "/RPC2")
    assert response.code == 405


@pytest_twisted.ensureDeferred
async def test_handler_malformed_xml_is_a_fault_not_a_server_error():
    response = await Client(_app()).post("/RPC2", body=b"<methodCall><oops")
    assert response.code == 200
    with pytest.raises(Fault) as caught:
        xmlrpc.client.loads(response.body)
    assert caught.value.faultCode == FAILURE
    assert b"Traceback" not in response.body


@pytest_twisted.ensureDeferred
async def test_handler_internal_error_is_a_fault_without_the_exception():
    response = await Client(_app()).post("/RPC2", body=_body("crash"))
    assert response.code == 200
    assert b"secret" not in response.body
    with pytest.raises(Fault, match="internal error"):
        xmlrpc.client.loads(response.body)


@pytest_twisted.ensureDeferred
async def test_handler_body_over_the_limit_is_413():
    client = Client(_app())
    assert (await client.post("/small", body=_body("add", 1, 2))).code == 200
    response = await client.post("/small", body=_body("echo", "x" * 500))
    assert response.code == 413


@pytest_twisted.ensureDeferred
async def test_handler_body_limit_setting_overrides_the_class_default():
    client = Client(_app(rpc_max_body_size=100))
    response = await client.post("/RPC2", body=_body("echo", "x" * 200))
    assert response.code == 413


@pytest_twisted.ensureDeferred
async def test_handler_sub_handlers_from_class_and_initialize():
    client = Client(_app())
    response = await client.post("/extra", body=_body("extra.ping"))
    assert xmlrpc.client.loads(response.body)[0] == ("pong",)
    response = await client.post("/extra", body=_body("counter.deep.ping"))
    assert xmlrpc.client.loads(response.body)[0] == ("pong",)
    # putSubHandler on one request's handler does not leak into the class or other routes.
    response = await client.post("/RPC2", body=_body("extra.ping"))
    with pytest.raises(Fault):
        xmlrpc.client.loads(response.body)
    assert "extra" not in RPC.subHandlers


@pytest_twisted.ensureDeferred
async def test_handler_list_methods_shows_only_rpc_methods():
    response = await Client(_app()).post("/RPC2", body=_body("system.listMethods"))
    (names,), _ = xmlrpc.client.loads(response.body)
    assert "add" in names and "counter.increment" in names and "system.multicall" in names
    assert not any(name in ("post", "get_argument", "finish") for name in names)


@pytest_twisted.ensureDeferred
async def test_handler_methods_can_use_the_request():
    response = await Client(_app()).post("/RPC2", body=_body("client_ip"))
    assert xmlrpc.client.loads(response.body)[0] == ("127.0.0.1",)


@pytest_twisted.ensureDeferred
async def test_handler_is_exempt_from_xsrf_checks():
    app = _app(xsrf_cookies=True, cookie_secret="s" * 32)
    response = await Client(app).post("/RPC2", body=_body("add", 2, 2))
    assert response.code == 200


# --- interoperability over a real socket ----------------------------------------------------


@pytest_twisted.async_yield_fixture
async def server_url():
    from twisted.internet import reactor

    port = reactor.listenTCP(0, _app(), interface="127.0.0.1")
    try:
        yield f"http://127.0.0.1:{port.getHost().port}"
    finally:
        await port.stopListening()


def _with_server_proxy(url: str, action):
    with xmlrpc.client.ServerProxy(url, allow_none=True) as proxy:
        return action(proxy)


@pytest_twisted.ensureDeferred
async def test_standard_library_server_proxy_interoperates(server_url):
    from twisted.internet.threads import deferToThread

    url = f"{server_url}/RPC2"
    assert await deferToThread(_with_server_proxy, url, lambda p: p.add(2, 3)) == 5
    assert await deferToThread(_with_server_proxy, url, lambda p: p.counter.deep.ping()) == "pong"
    assert await deferToThread(_with_server_proxy, url, lambda p: p.later([1, None])) == [1, None]
    assert await deferToThread(_with_server_proxy, url, lambda p: p.system.methodHelp("add")) == (
        "Add two integers."
    )

    def fault(proxy):
        with pytest.raises(Fault) as caught:
            proxy.fault()
        return caught.value.faultCode, caught.value.faultString

    assert await deferToThread(_with_server_proxy, url, fault) == (4, "too many parameters")

    def multicall(proxy):
        calls = xmlrpc.client.MultiCall(proxy)
        calls.add(1, 2)
        calls.echo("x")
        return list(calls())

    assert await deferToThread(_with_server_proxy, url, multicall) == [3, "x"]


@pytest_twisted.ensureDeferred
async def test_standard_library_client_sees_413_as_a_protocol_error(server_url):
    from twisted.internet.threads import deferToThread

    def too_big(proxy):
        with pytest.raises(xmlrpc.client.ProtocolError) as caught:
            proxy.echo("x" * 1000)
        return caught.value.errcode

    assert await deferToThread(_with_server_proxy, f"{server_url}/small", too_big) == 413


# twisted.web.xmlrpc.Proxy still runs on the deprecated twisted.web.http.HTTPClient.
@pytest.mark.filterwarnings("ignore:twisted.web.http.HTTPClient was deprecated")
@pytest_twisted.ensureDeferred
async def test_twisted_xmlrpc_proxy_interoperates(server_url):
    from twisted.web.xmlrpc import Proxy

    proxy = Proxy(f"{server_url}/RPC2".encode(), allowNone=True)
    assert await proxy.callRemote("add", 40, 2) == 42
    assert await proxy.callRemote("counter.deep.ping") == "pong"
    assert await proxy.callRemote("echo", None) is None
    assert await proxy.callRemote("system.methodSignature", "add") == [["int", "int", "int"]]
    with pytest.raises(Fault) as caught:
        await proxy.callRemote("nope")
    assert caught.value.faultCode == NOT_FOUND


@pytest_twisted.ensureDeferred
async def test_xml_rpc_proxy_calls_methods_and_sub_handlers(server_url):
    proxy = XmlRpcProxy(f"{server_url}/RPC2", allowNone=True)
    assert await proxy.callRemote("add", 40, 2) == 42
    assert await proxy.callRemote("counter.deep.ping") == "pong"
    assert await proxy.callRemote("later", [None, "x"]) == [None, "x"]
    assert await proxy.callRemote("system.methodHelp", "add") == "Add two integers."


@pytest_twisted.ensureDeferred
async def test_xml_rpc_proxy_raises_server_faults(server_url):
    proxy = XmlRpcProxy(f"{server_url}/RPC2")
    with pytest.raises(Fault) as caught:
        await proxy.callRemote("fault")
    assert (caught.value.faultCode, caught.value.faultString) == (4, "too many parameters")
    with pytest.raises(Fault) as caught:
        await proxy.callRemote("nope")
    assert caught.value.faultCode == NOT_FOUND


@pytest_twisted.ensureDeferred
async def test_xml_rpc_proxy_use_datetime(server_url):
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    assert (
        await XmlRpcProxy(f"{server_url}/RPC2", useDateTime=True).callRemote("echo", when) == when
    )
    assert isinstance(
        await XmlRpcProxy(f"{server_url}/RPC2").callRemote("echo", when), xmlrpc.client.DateTime
    )


@pytest_twisted.ensureDeferred
async def test_xml_rpc_proxy_reports_http_errors(server_url):
    from twisted.web.error import Error

    with pytest.raises(Error) as caught:
        await XmlRpcProxy(f"{server_url}/small").callRemote("echo", "x" * 500)
    assert caught.value.status == b"413"


@pytest.mark.parametrize("path", ["/garbage", "/bomb", "/two"])
@pytest_twisted.ensureDeferred
async def test_xml_rpc_proxy_refuses_malformed_or_hostile_answers(server_url, path):
    with pytest.raises(xmlrpc.client.ResponseError):
        await XmlRpcProxy(f"{server_url}{path}").callRemote("anything")


@pytest_twisted.ensureDeferred
async def test_xml_rpc_proxy_bounds_the_answer_size(server_url):
    proxy = XmlRpcProxy(f"{server_url}/RPC2", max_response_size=300)
    assert await proxy.callRemote("echo", "short") == "short"
    with pytest.raises(ValueError, match="max_response_size"):
        await proxy.callRemote("echo", "x" * 1000)


def test_parse_response_returns_the_value_or_raises_the_fault():
    assert parse_response(xmlrpc.client.dumps(([1, "a"],), methodresponse=True).encode()) == [
        1,
        "a",
    ]
    with pytest.raises(Fault, match="nope"):
        parse_response(xmlrpc.client.dumps(Fault(3, "nope"), methodresponse=True).encode())
    with pytest.raises(xmlrpc.client.ResponseError):
        parse_response(xmlrpc.client.dumps((1,), "a_call").encode())


@pytest_twisted.ensureDeferred
async def test_request_in_a_declared_non_utf8_encoding(dispatcher):
    body = xmlrpc.client.dumps(("café",), "echo", encoding="iso-8859-1").encode("iso-8859-1")
    assert b"iso-8859-1" in body
    response = await dispatcher.dispatch(body)
    assert xmlrpc.client.loads(response)[0] == ("café",)


# --- properties: whatever arrives, the answer is a well-formed methodResponse ---------------

_xml_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**31), max_value=2**31 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"])),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet="abcxyz", max_size=5), children, max_size=4)
    ),
    max_leaves=10,
)


class SyncMethods:
    def xmlrpc_echo(self, value):
        return value

    def xmlrpc_crash(self, *args):
        raise RuntimeError("boom")


def _answer_of(body: bytes) -> bytes:
    results: list[Any] = []
    XmlrpcDispatcher(SyncMethods(), allow_none=True).dispatch(body).addBoth(results.append)
    assert results and isinstance(results[0], bytes), results
    return results[0]


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=300))
def test_any_bytes_are_answered_with_a_fault_document(body):
    with pytest.raises(Fault):
        xmlrpc.client.loads(_answer_of(body))


@settings(max_examples=100, deadline=None)
@given(value=_xml_values, method=st.sampled_from(["echo", "crash", "nope", "system.listMethods"]))
def test_any_call_is_answered_with_a_parseable_method_response(value, method):
    answer = _answer_of(xmlrpc.client.dumps((value,), method, allow_none=True).encode())
    try:
        (result,), _ = xmlrpc.client.loads(answer)
    except Fault as fault:
        assert isinstance(fault.faultCode, int)
    else:
        if method == "echo":
            assert result == value


def test_an_async_method_awaits_asyncio_and_a_deferred_on_the_asyncio_reactor(tmp_path) -> None:
    import sys
    import xmlrpc.client as client
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from rpc_asyncio_server import asyncio_server

    with asyncio_server(tmp_path) as port:
        proxy = client.ServerProxy(f"http://127.0.0.1:{port}/xml")
        assert proxy.add(2, 3) == {"sum": 5, "task": True}
