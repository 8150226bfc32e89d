"""Routes, hosts, reverse URLs and the Router as a Twisted server factory."""

from __future__ import annotations

import os

import pytest
import pytest_twisted
from twisted.internet import protocol, reactor

from cyclone.handler import RequestHandler
from cyclone.httpserver import HTTPServer
from cyclone.routing import (
    ReverseError,
    Router,
    UnknownRouteError,
    URLReverseError,
    URLSpec,
    url,
)
from cyclone.testing import Client


class Echo(RequestHandler):
    def get(self, *args, **kwargs):
        self.write({"args": list(args), "kwargs": kwargs, "host": self.request.host_name})


class Named(RequestHandler):
    def initialize(self, label):
        self.label = label

    def get(self):
        self.write(self.label)


def test_router_is_a_server_factory_and_calling_it_returns_itself():
    app = Router([(r"/", Echo)])
    assert isinstance(app, protocol.ServerFactory)
    assert app() is app


def test_settings_are_an_object_dict_of_the_keyword_arguments():
    app = Router([], debug=True, cookie_secret="s")
    assert app.settings == {"debug": True, "cookie_secret": "s"}
    assert app.settings.cookie_secret == "s"


def test_server_limits_come_from_settings():
    app = Router([], max_body_size=10, header_timeout=1.5, xheaders=True)
    assert (app.max_body_size, app.header_timeout, app.xheaders) == (10, 1.5, True)


@pytest_twisted.ensureDeferred
async def test_positional_groups_are_url_unescaped_arguments():
    client = Client(Router([(r"/a/([^/]+)/(\d+)", Echo)]))
    response = await client.get("/a/caf%C3%A9%2Fx/42")
    assert response.json()["args"] == ["café/x", "42"]


@pytest_twisted.ensureDeferred
async def test_named_groups_become_keyword_arguments():
    client = Client(Router([(r"/u/(?P<user>\w+)/(?P<item>\d+)", Echo)]))
    response = await client.get("/u/ann/7")
    assert response.json()["kwargs"] == {"user": "ann", "item": "7"}


def test_mixing_named_and_unnamed_groups_is_refused():
    with pytest.raises(ValueError):
        URLSpec(r"/(?P<a>\w+)/(\d+)", Echo)


@pytest_twisted.ensureDeferred
async def test_routes_are_anchored_at_the_end():
    client = Client(Router([(r"/exact", Echo)]))
    assert (await client.get("/exact")).code == 200
    assert (await client.get("/exact/more")).code == 404


@pytest_twisted.ensureDeferred
async def test_url_kwargs_reach_initialize_and_names_reverse():
    app = Router(
        [
            url(r"/named", Named, {"label": "hello"}, name="named"),
            (r"/item/(\d+)/(\w+)", Echo, {}, "item"),
        ]
    )
    assert (await Client(app).get("/named")).body == b"hello"
    assert app.reverse_url("named") == "/named"
    assert app.reverse_url("item", 5, "a b") == "/item/5/a%20b"
    with pytest.raises(KeyError):
        app.reverse_url("missing")
    with pytest.raises(ValueError):
        app.reverse_url("item", 1)


@pytest_twisted.ensureDeferred
async def test_virtual_hosts_select_handlers_by_host_header():
    app = Router([(r"/", Named, {"label": "default"})])
    app.add_handlers(r"api\.example\.com", [(r"/", Named, {"label": "api"})])
    client = Client(app, host="api.example.com:8080")
    assert (await client.get("/")).body == b"api"
    assert (await Client(app, host="www.example.com").get("/")).body == b"default"


@pytest_twisted.ensureDeferred
async def test_default_host_is_used_when_no_host_pattern_matches():
    app = Router(default_host="main.example")
    app.add_handlers(r"main\.example", [(r"/", Named, {"label": "main"})])
    assert (await Client(app, host="unknown.example").get("/")).body == b"main"


@pytest_twisted.ensureDeferred
async def test_default_handler_class_answers_unmatched_paths():
    app = Router([], default_handler_class=Named, default_handler_args={"label": "fallback"})
    assert (await Client(app).get("/anything")).body == b"fallback"


@pytest_twisted.ensureDeferred
async def test_unmatched_path_is_404():
    assert (await Client(Router([])).get("/nothing")).code == 404


def test_handler_given_as_dotted_name_is_imported():
    spec = URLSpec(r"/", "cyclone.handler.ErrorHandler")
    from cyclone.handler import ErrorHandler

    assert spec.handler_class is ErrorHandler


def test_a_route_must_be_a_spec_or_a_tuple():
    with pytest.raises(ValueError):
        Router([(r"/only-pattern",)])


@pytest_twisted.ensureDeferred
async def test_log_function_setting_replaces_the_access_log():
    seen = []
    app = Router(
        [(r"/", Named, {"label": "x"})],
        log_function=lambda handler: seen.append(handler.get_status()),
    )
    await Client(app).get("/")
    assert seen == [200]


# -- form bodies: parsed only for a handler that reads them, within their own limits ----------

_MALFORMED_MULTIPART = {
    "body": b"--nope\r\n",
    "headers": {"Content-Type": "multipart/form-data; boundary=xyz"},
}


class FormReader(RequestHandler):
    SUPPORTED_METHODS = ("GET", "POST")

    def post(self):
        self.write({"fields": len(self.request.arguments), "bytes": len(self.request.body)})


class LargeFormReader(FormReader):
    max_body_size = 4096


@pytest_twisted.ensureDeferred
async def test_malformed_form_body_to_an_unmatched_path_is_404_not_400():
    response = await Client(Router([])).post("/nothing", **_MALFORMED_MULTIPART)
    assert response.code == 404


@pytest_twisted.ensureDeferred
async def test_malformed_form_body_with_an_unsupported_method_is_405_not_400():
    response = await Client(Router([(r"/", FormReader)])).put("/", **_MALFORMED_MULTIPART)
    assert response.code == 405


@pytest_twisted.ensureDeferred
async def test_form_body_over_max_form_body_size_is_413():
    client = Client(Router([(r"/", FormReader)], max_form_body_size=1024))
    assert (await client.post("/", data={"a": "x" * 1000})).json() == {
        "fields": 1,
        "bytes": 1002,
    }
    assert (await client.post("/", data={"a": "x" * 1100})).code == 413
    files = {"f": ("a.bin", b"x" * 1100, "application/octet-stream")}
    assert (await client.post("/", files=files)).code == 413


@pytest_twisted.ensureDeferred
async def test_other_bodies_are_limited_by_max_body_size_only():
    client = Client(Router([(r"/", FormReader)], max_form_body_size=1024))
    response = await client.post(
        "/", body=b"x" * 2000, headers={"Content-Type": "application/octet-stream"}
    )
    assert response.json() == {"fields": 0, "bytes": 2000}


@pytest_twisted.ensureDeferred
async def test_form_limit_never_raises_max_body_size():
    client = Client(Router([(r"/", FormReader)], max_body_size=1024))
    assert (await client.post("/", data={"a": "x" * 1100})).code == 413


@pytest_twisted.ensureDeferred
async def test_handler_max_body_size_replaces_max_form_body_size():
    client = Client(Router([(r"/", LargeFormReader)], max_form_body_size=1024))
    assert (await client.post("/", data={"a": "x" * 3000})).json()["bytes"] == 3002


@pytest_twisted.ensureDeferred
async def test_max_form_body_size_none_leaves_forms_to_max_body_size():
    client = Client(Router([(r"/", FormReader)], max_form_body_size=None))
    assert (await client.post("/", data={"a": "x" * 20_000})).json()["bytes"] == 20_002


@pytest_twisted.ensureDeferred
async def test_unmatched_path_answers_404_to_a_form_over_max_form_body_size():
    client = Client(Router([], max_form_body_size=1024))
    assert (await client.post("/nothing", data={"a": "x" * 2000})).code == 404


# -- listen() -----------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_listen_serves_on_the_running_reactor_and_returns_the_port(listener):
    app = Router([(r"/(\w+)", Echo)], max_body_size=10)
    port = app.listen(0, "127.0.0.1", xheaders=True)
    listener.track(port)
    assert port.getHost().host == "127.0.0.1" and port.getHost().port > 0
    assert app.xheaders is True and app.settings["xheaders"] is True
    client = await listener.connect(port.getHost().port)
    client.send(b"GET /there HTTP/1.1\r\nHost: h\r\nX-Real-Ip: 10.0.0.9\r\n\r\n")
    (response,) = await client.wait_responses(1)
    assert response.status == 200 and b'"args":["there"]' in response.body
    client.send(b"POST /there HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n")
    (_, too_big) = await client.wait_responses(2)
    assert too_big.status == 413


def test_listen_refuses_what_it_cannot_honour():
    app = Router([])
    with pytest.raises(TypeError, match=r"unexpected server settings \['flags'\]"):
        app.listen(0, "127.0.0.1", flags=1)
    with pytest.raises(ValueError, match="twistd cyclone --workers"):
        app.listen(0, "127.0.0.1", reuse_port=True)
    import ssl

    with pytest.raises(TypeError, match="Twisted uses pyOpenSSL"):
        app.listen(0, "127.0.0.1", ssl_options=ssl.create_default_context())


@pytest_twisted.ensureDeferred
async def test_server_settings_cannot_change_once_connections_are_served(listener):
    app = Router([(r"/(\w+)", Echo)])
    port = app.listen(0, "127.0.0.1")
    listener.track(port)
    client = await listener.connect(port.getHost().port)
    client.send(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
    await client.wait_responses(1)
    with pytest.raises(RuntimeError, match="give them to the application instead"):
        app.listen(0, "127.0.0.1", max_body_size=1)


@pytest_twisted.ensureDeferred
async def test_listen_and_stop_log_no_starting_or_stopping_factory_lines():
    from twisted.logger import formatEvent, globalLogPublisher

    lines: list[str] = []

    def observer(event):
        lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observer)
    try:
        port = Router([(r"/(\w+)", Echo)]).listen(0, "127.0.0.1")
        await port.stopListening()
        plain = HTTPServer(lambda request: None)
        port = reactor.listenTCP(0, plain, interface="127.0.0.1")
        await port.stopListening()
    finally:
        globalLogPublisher.removeObserver(observer)
    assert not [line for line in lines if "factory" in line.lower()], lines


def test_listen_with_ipv6_family_and_no_address_binds_the_ipv6_wildcard():
    import socket

    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("no IPv6 loopback: the IPv6 listen test must run under CI=true")
        pytest.skip("no IPv6 on this machine")
    port = Router([]).listen(0, family=socket.AF_INET6)
    try:
        assert port.getHost().host == "::"
    finally:
        port.stopListening()


# -- the access log's "is anyone listening" shortcut ------------------------------------------


def test_twisted_still_has_the_logging_fields_the_access_log_shortcut_reads():
    """Fails loudly if a Twisted release renames them (the shortcut would log always)."""
    from twisted.logger import globalLogBeginner, globalLogPublisher

    assert hasattr(globalLogBeginner, "_temporaryObserver")
    assert isinstance(globalLogPublisher._observers, list)


def test_access_lines_are_skipped_while_only_twisteds_start_up_buffer_listens(monkeypatch):
    from types import SimpleNamespace

    from cyclone import routing

    buffer, observer = object(), object()
    monkeypatch.setattr(routing, "globalLogBeginner", SimpleNamespace(_temporaryObserver=buffer))
    monkeypatch.setattr(routing, "globalLogPublisher", SimpleNamespace(_observers=[buffer]))
    assert routing._someone_is_listening() is False
    routing.globalLogPublisher._observers.append(observer)
    assert routing._someone_is_listening() is True
    routing.globalLogBeginner._temporaryObserver = None  # logging has begun
    routing.globalLogPublisher._observers.remove(observer)
    assert routing._someone_is_listening() is True


def test_access_lines_are_written_when_twisteds_logging_fields_are_gone(monkeypatch):
    from types import SimpleNamespace

    from cyclone import routing

    monkeypatch.setattr(routing, "globalLogBeginner", SimpleNamespace())
    assert routing._someone_is_listening() is True


# -- reversing a route from its own pattern ---------------------------------------------------


@pytest.mark.parametrize(
    "pattern,args,kwargs,expected",
    [
        (r"/item/(\d+)/(\w+)", (5, "a b"), {}, "/item/5/a%20b"),
        (r"^/a\.b/(?P<slug>[^/)]+)/c$", ("x/y",), {}, "/a.b/x%2Fy/c"),
        (r"/user/(?P<name>[^/]+)/(?P<page>\d+)", (), {"page": 2, "name": "ann"}, "/user/ann/2"),
        (r"/user/(?P<name>[^/]+)/(?P<page>\d+)", ("ann",), {"page": 2}, "/user/ann/2"),
        (r"/v/(\d+(?:\.\d+)?)/raw", ("1.5",), {}, "/v/1.5/raw"),
        (r"/files/([^/]+)\.txt", ("report",), {}, "/files/report.txt"),
        (r"/price/\$(\d+)", (10,), {}, "/price/$10"),
        (r"/plain", (), {}, "/plain"),
    ],
)
def test_routes_reverse_from_their_own_pattern(pattern, args, kwargs, expected):
    spec = URLSpec(pattern, RequestHandler, name="r")
    assert spec.reverse(*args, **kwargs) == expected


@pytest.mark.parametrize(
    "pattern,problem",
    [
        (r"/(a|b)/x|/y", "'|' at"),
        (r"/a.b", "'.' at 2 is regex syntax outside a group"),
        (r"/items/?", "'?' at"),
        (r"/(?:en|pt)/page", "'(?:' at 1 is not a capturing group"),
        (r"/(a(b))", "nested capturing group"),
        (r"/[ab]/c", "'[' at 1"),
        (r"/\d+/(\w+)", r"'\\d' at 1 is not a literal"),
    ],
)
def test_patterns_that_cannot_be_reversed_say_why_when_reversed(pattern, problem):
    spec = URLSpec(pattern, RequestHandler, name="r")  # routing them still works
    with pytest.raises(ReverseError, match="cannot reverse the route 'r'") as raised:
        spec.reverse("a")
    assert problem in str(raised.value)


def test_reversing_with_the_wrong_values_is_an_error():
    spec = URLSpec(r"/u/(?P<name>\w+)/(?P<page>\d+)", RequestHandler, name="u")
    with pytest.raises(ReverseError, match="takes 2 arguments, got 1"):
        spec.reverse("ann")
    with pytest.raises(ReverseError, match="takes 2 arguments, got 3"):
        spec.reverse("ann", 1, extra=2)
    with pytest.raises(ValueError):  # ReverseError is a ValueError, as the error was before
        Router([spec]).reverse_url("u", "ann", 1, 2)
    assert Router([spec]).reverse_url("u", name="bo", page=3) == "/u/bo/3"


def test_every_reverse_url_failure_is_a_url_reverse_error_and_still_its_old_type():
    router = Router([URLSpec(r"/u/(\w+)", RequestHandler, name="u"), (r"/[ab]", RequestHandler)])
    router.add_handlers(".*$", [URLSpec(r"/[ab]", RequestHandler, name="class")])
    with pytest.raises(UnknownRouteError) as unknown:
        router.reverse_url("nope")
    assert isinstance(unknown.value, KeyError)  # Tornado's and 1.3's type
    assert isinstance(unknown.value, URLReverseError)
    for args in [("class",), ("u",), ("u", "a", "b")]:
        with pytest.raises(URLReverseError) as raised:
            router.reverse_url(*args)
        assert isinstance(raised.value, ReverseError)
        assert isinstance(raised.value, ValueError)


@pytest_twisted.ensureDeferred
async def test_add_transform_on_a_plain_router_changes_later_responses():
    class Hello(RequestHandler):
        def get(self):
            self.write("hello")

    class Tagged:
        def __init__(self, request):
            self.path = request.path

        def transform_first_chunk(self, status_code, headers, chunk, finishing):
            headers["X-Path"] = self.path
            return status_code, headers, chunk

        def transform_chunk(self, chunk, finishing):
            return chunk

    router = Router([(r"/.*", Hello)])
    client = Client(router)
    assert "X-Path" not in (await client.get("/a")).headers
    router.add_transform(Tagged)
    response = await client.get("/b")
    assert (response.body, response.headers["X-Path"]) == (b"hello", "/b")
