"""The request handler lifecycle and HTTP API, through the in-process client."""

from __future__ import annotations

import datetime
import re
import sys
import urllib.parse

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task
from twisted.internet.error import ConnectionLost

from cyclone.handler import (
    Finish,
    HTTPAuthenticationRequired,
    HTTPError,
    RequestHandler,
    addslash,
    asynchronous,
    authenticated,
    removeslash,
    stream_request_body,
)
from cyclone.routing import Router
from cyclone.testing import Client


def later(value=None, delay=0.0):
    d = defer.Deferred()
    reactor.callLater(delay, d.callback, value)
    return d


def client_for(*routes, **settings):
    return Client(Router(list(routes), **settings))


class Hello(RequestHandler):
    def get(self):
        self.write("Hello, world")


@pytest_twisted.ensureDeferred
async def test_plain_get_returns_body_with_content_length_and_etag():
    response = await client_for((r"/", Hello)).get("/")
    assert response.code == 200
    assert response.body == b"Hello, world"
    assert response.headers["Content-Length"] == "12"
    assert response.headers["Etag"].startswith('"')
    assert "Date" in response.headers


@pytest_twisted.ensureDeferred
async def test_if_none_match_gives_304_without_body():
    client = client_for((r"/", Hello))
    first = await client.get("/")
    second = await client.get("/", headers={"If-None-Match": first.headers["Etag"]})
    assert second.code == 304
    assert second.body == b""
    assert "Content-Length" not in second.headers


class Sized(RequestHandler):
    def get(self, size):
        for _ in range(4):  # several writes: the limit counts the whole body
            self.write(b"x" * (int(size) // 4))


@pytest_twisted.ensureDeferred
async def test_etag_matches_sha1_of_the_whole_body_written_in_pieces():
    import hashlib

    response = await client_for((r"/(\d+)", Sized)).get("/4000")
    assert response.headers["Etag"] == '"%s"' % hashlib.sha1(b"x" * 4000).hexdigest()


@pytest_twisted.ensureDeferred
async def test_bodies_over_max_etag_body_size_get_no_automatic_etag():
    client = client_for((r"/(\d+)", Sized))
    at_limit = await client.get("/%d" % (64 * 1024))
    over = await client.get("/%d" % (64 * 1024 + 4))
    assert "Etag" in at_limit.headers
    assert over.code == 200 and len(over.body) == 64 * 1024 + 4
    assert "Etag" not in over.headers


@pytest_twisted.ensureDeferred
async def test_max_etag_body_size_setting_moves_or_removes_the_limit():
    small = client_for((r"/(\d+)", Sized), max_etag_body_size=100)
    assert "Etag" not in (await small.get("/200")).headers
    assert "Etag" in (await small.get("/100")).headers
    unlimited = client_for((r"/(\d+)", Sized), max_etag_body_size=None)
    big = await unlimited.get("/%d" % (1024 * 1024))
    assert "Etag" in big.headers
    revalidated = await unlimited.get(
        "/%d" % (1024 * 1024), headers={"If-None-Match": big.headers["Etag"]}
    )
    assert revalidated.code == 304


@pytest_twisted.ensureDeferred
async def test_head_without_head_method_answers_like_get_without_body():
    response = await client_for((r"/", Hello)).head("/")
    assert response.code == 200
    assert response.headers["Content-Length"] == "12"
    assert response.body == b""


@pytest_twisted.ensureDeferred
async def test_undefined_method_is_405_with_allow_header():
    response = await client_for((r"/", Hello)).request("DELETE", "/")
    assert response.code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND"])
@pytest_twisted.ensureDeferred
async def test_unsupported_methods_are_405_with_allow(method):
    response = await client_for((r"/", Hello)).request(method, "/")
    assert response.code == 405
    assert "GET" in response.headers["Allow"]


class Lifecycle(RequestHandler):
    events: list[str] = []

    def initialize(self, tag):
        self.tag = tag
        self.events.append(f"initialize:{tag}")

    async def prepare(self):
        await later()
        self.events.append("prepare")

    async def get(self, first, second):
        value = await later(f"{first}-{second}")
        self.events.append("get")
        self.write({"value": value, "tag": self.tag})

    def on_finish(self):
        self.events.append("on_finish")


@pytest_twisted.ensureDeferred
async def test_async_prepare_and_method_run_in_order_with_route_kwargs_and_path_args():
    Lifecycle.events = []
    client = client_for((r"/x/(\w+)/(\w+)", Lifecycle, {"tag": "t"}))
    response = await client.get("/x/a/b")
    assert response.json() == {"value": "a-b", "tag": "t"}
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert Lifecycle.events == ["initialize:t", "prepare", "get", "on_finish"]


class InlineCallbacksHandler(RequestHandler):
    @defer.inlineCallbacks
    def get(self):
        value = yield later("inline")
        self.write(value)


class DeferredReturning(RequestHandler):
    def get(self):
        return later().addCallback(lambda _: self.write("deferred"))


class AsynchronousHandler(RequestHandler):
    @asynchronous
    def get(self):
        self.write("async ")
        reactor.callLater(0.01, self._done)

    def _done(self):
        self.finish("finished")


@pytest.mark.parametrize(
    "handler, body",
    [
        (InlineCallbacksHandler, b"inline"),
        (DeferredReturning, b"deferred"),
        (AsynchronousHandler, b"async finished"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_every_style_of_asynchronous_method_finishes(handler, body):
    response = await client_for((r"/", handler)).get("/")
    assert response.code == 200
    assert response.body == body


class Broken(RequestHandler):
    def get(self):
        raise ZeroDivisionError("boom")


class BrokenLater(RequestHandler):
    async def get(self):
        await later()
        raise KeyError("late")


class Teapot(RequestHandler):
    def get(self):
        raise HTTPError(418, "log only %s", "detail", reason="I'm a teapot")


@pytest_twisted.ensureDeferred
async def test_unhandled_exception_is_500_without_traceback_outside_debug():
    response = await client_for((r"/", Broken)).get("/")
    assert response.code == 500
    assert b"ZeroDivisionError" not in response.body
    assert b"500: Internal Server Error" in response.body


@pytest_twisted.ensureDeferred
async def test_exception_after_await_is_500_and_traceback_shown_in_debug():
    response = await client_for((r"/", BrokenLater), debug=True).get("/")
    assert response.code == 500
    assert b"KeyError" in response.body
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest_twisted.ensureDeferred
async def test_http_error_sets_status_and_reason_but_hides_log_message():
    response = await client_for((r"/", Teapot)).get("/")
    assert response.code == 418
    assert response.reason == "I'm a teapot"
    assert b"detail" not in response.body


class FinishEarly(RequestHandler):
    def prepare(self):
        raise Finish("stopped in prepare")

    def get(self):
        self.write("never")


@pytest_twisted.ensureDeferred
async def test_finish_exception_ends_request_with_its_argument():
    response = await client_for((r"/", FinishEarly)).get("/")
    assert response.body == b"stopped in prepare"


class Headers(RequestHandler):
    def set_default_headers(self):
        self.set_header("X-Default", "yes")

    def get(self):
        self.set_status(201, "Made")
        self.add_header("X-Multi", "1")
        self.add_header("X-Multi", "2")
        self.set_header("X-Date", datetime.datetime(2020, 1, 2, 3, 4, 5))
        self.clear_header("Server")
        self.write("ok")


@pytest_twisted.ensureDeferred
async def test_status_reason_and_header_api():
    response = await client_for((r"/", Headers)).get("/")
    assert (response.code, response.reason) == (201, "Made")
    assert response.headers["X-Default"] == "yes"
    assert response.headers.get_list("X-Multi") == ["1", "2"]
    assert response.headers["X-Date"] == "Thu, 02 Jan 2020 03:04:05 GMT"
    assert "Server" not in response.headers


@pytest.mark.parametrize("value", ["a\r\nSet-Cookie: x=1", "a\nb", "a\x00b"])
def test_set_header_refuses_header_injection(value):
    handler = make_handler()
    with pytest.raises(ValueError):
        handler.set_header("X-Test", value)
    with pytest.raises(ValueError):
        handler.add_header("X-Test", value)


def test_set_header_refuses_invalid_name():
    with pytest.raises(ValueError):
        make_handler().set_header("Bad Name", "v")


def test_set_status_gives_unknown_codes_the_reason_unknown_and_refuses_non_three_digit_ones():
    handler = make_handler()
    handler.set_status(599)
    assert (handler.get_status(), handler._reason) == (599, "Unknown")
    handler.set_status(599, "Custom")
    assert (handler.get_status(), handler._reason) == (599, "Custom")
    for code in (99, 1000):
        with pytest.raises(ValueError, match=str(code)):
            handler.set_status(code)


def make_handler(settings=None, uri="/", method="GET", headers=None):
    from cyclone.httputil import HTTPHeaders, HTTPServerRequest

    request = HTTPServerRequest(method, uri, "HTTP/1.1", HTTPHeaders(headers or {"Host": "x"}))
    return RequestHandler(Router(**(settings or {})), request)


class Arguments(RequestHandler):
    def get(self):
        self.write(
            {
                "one": self.get_argument("one"),
                "many": self.get_arguments("many"),
                "default": self.get_argument("missing", "fallback"),
                "raw": self.get_argument("spaced", strip=False),
                "stripped": self.get_argument("spaced"),
                "query": self.get_query_argument("one"),
            }
        )

    def post(self):
        self.write(
            {
                "body": self.get_body_argument("b"),
                "body_all": self.get_body_arguments("b"),
                "merged": self.get_arguments("q"),
                "query_only": self.get_query_arguments("q"),
            }
        )


class Required(RequestHandler):
    def get(self):
        self.write(self.get_argument("needed"))


@pytest_twisted.ensureDeferred
async def test_query_arguments_with_strip_defaults_and_lists():
    client = client_for((r"/", Arguments))
    response = await client.get("/?one=1&many=a&many=b&spaced=%20x%20")
    assert response.json() == {
        "one": "1",
        "many": ["a", "b"],
        "default": "fallback",
        "raw": " x ",
        "stripped": "x",
        "query": "1",
    }


@pytest_twisted.ensureDeferred
async def test_body_arguments_are_separate_from_and_merged_with_query():
    client = client_for((r"/", Arguments))
    response = await client.post("/?q=fromquery", data={"b": ["1", "2"], "q": "frombody"})
    assert response.json() == {
        "body": "2",
        "body_all": ["1", "2"],
        "merged": ["fromquery", "frombody"],
        "query_only": ["fromquery"],
    }


@pytest_twisted.ensureDeferred
async def test_missing_argument_is_400():
    response = await client_for((r"/", Required)).get("/")
    assert response.code == 400


@pytest_twisted.ensureDeferred
async def test_invalid_utf8_argument_is_400():
    response = await client_for((r"/", Required)).get("/?needed=%ff")
    assert response.code == 400


@pytest_twisted.ensureDeferred
async def test_malformed_form_body_is_400():
    client = client_for((r"/", Arguments))
    response = await client.post(
        "/",
        body=b"--nope\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert response.code == 400


class Upload(RequestHandler):
    def post(self):
        uploaded = self.request.files["f"][0]
        self.write(
            {"name": uploaded.filename, "size": len(uploaded.body), "type": uploaded.content_type}
        )


@pytest_twisted.ensureDeferred
async def test_multipart_files_are_parsed_into_request_files():
    client = client_for((r"/", Upload))
    response = await client.post(
        "/", files={"f": ("a.bin", b"\x00\x01\x02", "application/x-demo")}
    )
    assert response.json() == {"name": "a.bin", "size": 3, "type": "application/x-demo"}


class Cookies(RequestHandler):
    def get(self):
        self.set_cookie("plain", "v1", httponly=True, secure=True, samesite="Strict", max_age=60)
        self.set_secure_cookie("signed", "secret-value")
        self.write(
            {
                "seen": self.get_cookie("plain"),
                "signed": (self.get_secure_cookie("signed") or b"").decode(),
            }
        )

    def delete(self):
        self.clear_cookie("plain")


@pytest_twisted.ensureDeferred
async def test_cookies_round_trip_with_attributes_and_signing():
    client = client_for((r"/", Cookies), cookie_secret="0" * 32)
    first = await client.get("/")
    set_cookies = first.headers.get_list("Set-Cookie")
    plain = next(c for c in set_cookies if c.startswith("plain="))
    for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Max-Age=60", "Path=/"):
        assert attribute in plain
    assert client.cookies.get_secure_cookie("signed") == b"secret-value"
    second = await client.get("/")
    assert second.json() == {"seen": "v1", "signed": "secret-value"}
    await client.delete("/")
    assert "plain" not in client.cookies


def test_tampered_or_foreign_secure_cookie_reads_as_none():
    signer = make_handler({"cookie_secret": "0" * 32})
    signed = signer.create_signed_value("signed", "secret-value").decode()
    prefix, _, payload_and_mac = signed.rpartition("|")
    tampered = prefix.replace(prefix.split("|")[3], "ZXZpbA==") + "|" + payload_and_mac
    for value, expected in [(signed, b"secret-value"), (tampered, None), ("garbage", None)]:
        reader = make_handler(
            {"cookie_secret": "0" * 32}, headers={"Host": "x", "Cookie": f"signed={value}"}
        )
        assert reader.get_secure_cookie("signed") == expected
    other_secret = make_handler(
        {"cookie_secret": "1" * 32}, headers={"Host": "x", "Cookie": f"signed={signed}"}
    )
    assert other_secret.get_secure_cookie("signed") is None


def test_secure_cookie_with_rotated_secrets():
    old = make_handler({"cookie_secret": {1: "old-secret"}})
    signed = old.create_signed_value("user", "alice").decode()
    rotated = make_handler(
        {"cookie_secret": {1: "old-secret", 2: "new-secret"}},
        headers={"Host": "x", "Cookie": f"user={signed}"},
    )
    assert rotated.get_secure_cookie("user") == b"alice"
    assert rotated.get_secure_cookie("user", min_version=2) == b"alice"
    assert rotated.get_secure_cookie("user", min_key_version=2) is None
    assert rotated.get_secure_cookie_key_version("user") == 1


@pytest.mark.parametrize(
    "name, value", [("bad name", "v"), ("ok", "semi;colon"), ("ok", 'quo"te')]
)
def test_set_cookie_refuses_separators(name, value):
    with pytest.raises(ValueError):
        make_handler().set_cookie(name, value)


@pytest.mark.parametrize(
    "attributes, offending",
    [
        ({"path": "/; Domain=evil.example"}, "Domain=evil.example"),
        ({"path": "/\r\nX-Injected: 1"}, "X-Injected"),
        ({"path": "/caf\u00e9"}, "caf"),
        ({"domain": "site.example; Secure"}, "site.example; Secure"),
        ({"domain": "site example"}, "site example"),
        ({"domain": "b\u00fccher.example"}, "cher.example"),
        ({"samesite": "Lax; Domain=evil.example"}, "Domain=evil.example"),
        ({"samesite": True}, "True"),
        ({"max_age": "60; Domain=evil.example"}, "Domain=evil.example"),
        ({"max_age": 1.5}, "1.5"),
        ({"max_age": True}, "True"),
        ({"expires": "tomorrow"}, "tomorrow"),
        ({"expires": float("inf")}, "inf"),
        ({"expires_days": float("nan")}, "nan"),
        ({"comment": "hi; Domain=evil.example"}, "Domain=evil.example"),
        ({"comment": True}, "comment"),
        ({"priority": "High"}, "priority"),
    ],
)
def test_set_cookie_refuses_attribute_values_that_would_add_attributes(attributes, offending):
    handler = make_handler()
    with pytest.raises(ValueError, match=re.escape(offending)):
        handler.set_cookie("session", "v", **attributes)
    assert handler._new_cookie is None


def test_set_cookie_refuses_non_ascii_values():
    with pytest.raises(ValueError, match="caf\u00e9"):
        make_handler().set_cookie("name", "caf\u00e9")


def test_set_cookie_accepts_every_kind_of_valid_attribute():
    handler = make_handler()
    handler.set_cookie(
        "session",
        "v1",
        domain=".site.example",
        path="/app",
        expires=datetime.datetime(2030, 1, 2, 3, 4, 5),
        max_age="3600",
        httponly=True,
        secure=True,
        samesite="strict",
        comment="kept",
    )
    header = handler._new_cookie["session"].OutputString()
    for part in (
        "session=v1",
        "Domain=.site.example",
        "Path=/app",
        "expires=Wed, 02 Jan 2030 03:04:05 GMT",
        "Max-Age=3600",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Comment=kept",
    ):
        assert part in header


@pytest.mark.parametrize(
    "next_url, expected",
    [
        (None, "/home"),
        ("/account", "/account"),
        ("//evil.example", "/home"),
        ("http://x/page", "http://x/page"),
        ("http://x:8080/page", "/home"),
        ("https://partner.example/", "https://partner.example/"),
        ("https://evil.example/", "/home"),
    ],
)
def test_get_safe_next_url_allows_this_host_and_the_allowed_redirect_hosts(next_url, expected):
    uri = "/login" if next_url is None else "/login?" + urllib.parse.urlencode({"next": next_url})
    handler = make_handler({"allowed_redirect_hosts": ["partner.example"]}, uri=uri)
    assert handler.get_safe_next_url("/home") == expected


class Redirecting(RequestHandler):
    def get(self):
        target = self.get_argument("to")
        self.redirect(target, permanent=self.get_argument("permanent", "") == "1")


@pytest_twisted.ensureDeferred
async def test_redirect_temporary_and_permanent():
    client = client_for((r"/", Redirecting))
    response = await client.get("/", params={"to": "/elsewhere"})
    assert (response.code, response.headers["Location"]) == (302, "/elsewhere")
    response = await client.get("/", params={"to": "/elsewhere", "permanent": "1"})
    assert response.code == 301


@pytest_twisted.ensureDeferred
async def test_redirect_refuses_crlf():
    response = await client_for((r"/", Redirecting)).get(
        "/", params={"to": "/x\r\nSet-Cookie: a=b"}
    )
    assert response.code == 500
    assert "Set-Cookie" not in response.headers


class Streaming(RequestHandler):
    async def get(self):
        for index in range(3):
            self.write(f"part{index};")
            await self.flush()


@pytest_twisted.ensureDeferred
async def test_flush_streams_with_chunked_encoding():
    response = await client_for((r"/", Streaming)).get("/")
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.body == b"part0;part1;part2;"


class Secret(RequestHandler):
    def get_current_user(self):
        return self.get_cookie("user")

    @authenticated
    @defer.inlineCallbacks
    def get(self):
        yield later()
        self.write(f"hello {self.current_user}")

    @authenticated
    def post(self):
        self.write("posted")


@pytest_twisted.ensureDeferred
async def test_authenticated_redirects_get_to_login_url_with_next():
    client = client_for((r"/secret", Secret), login_url="/login")
    response = await client.get("/secret?a=1")
    assert response.code == 302
    assert response.headers["Location"] == "/login?next=%2Fsecret%3Fa%3D1"


@pytest_twisted.ensureDeferred
async def test_authenticated_answers_403_to_post_and_lets_users_through():
    client = client_for((r"/secret", Secret), login_url="/login")
    assert (await client.post("/secret", data={})).code == 403
    client.cookies["user"] = "ann"
    assert (await client.get("/secret")).body == b"hello ann"
    assert (await client.post("/secret", data={})).body == b"posted"


class Slashes(RequestHandler):
    @addslash
    def get(self):
        self.write("added")

    @removeslash
    def put(self):
        self.write("removed")


@pytest_twisted.ensureDeferred
async def test_addslash_and_removeslash_redirect_gets_and_refuse_others():
    client = client_for((r"/dir/?", Slashes))
    response = await client.get("/dir?x=1")
    assert (response.code, response.headers["Location"]) == (301, "/dir/?x=1")
    assert (await client.get("/dir/")).body == b"added"
    assert (await client.put("/dir/", data={})).code == 404
    assert (await client.put("/dir", data={})).body == b"removed"


class AuthRequired(RequestHandler):
    def get(self):
        raise HTTPAuthenticationRequired("no credentials", "Basic", realm="Private Area")


@pytest_twisted.ensureDeferred
async def test_http_authentication_required_sends_challenge():
    response = await client_for((r"/", AuthRequired)).get("/")
    assert response.code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Private Area"'


class Xsrf(RequestHandler):
    def get(self):
        self.write(self.xsrf_form_html())

    def post(self):
        self.write("accepted")


class XsrfExempt(Xsrf):
    no_xsrf = True


@pytest_twisted.ensureDeferred
async def test_xsrf_post_without_token_is_403_and_with_token_passes():
    client = client_for((r"/", Xsrf), xsrf_cookies=True)
    assert (await client.post("/", data={})).code == 403
    page = await client.get("/")
    token = page.text.split('value="')[1].split('"')[0]
    assert (await client.post("/", data={"_xsrf": token})).body == b"accepted"
    assert (await client.post("/", data={}, headers={"X-XSRFToken": token})).code == 200
    assert (await client.post("/", data={}, headers={"X-CSRFToken": token})).code == 200


@pytest_twisted.ensureDeferred
async def test_xsrf_token_is_masked_differently_per_request_but_stays_valid():
    client = client_for((r"/", Xsrf), xsrf_cookies=True)
    first = (await client.get("/")).text.split('value="')[1].split('"')[0]
    second = (await client.get("/")).text.split('value="')[1].split('"')[0]
    assert first != second
    assert (await client.post("/", data={"_xsrf": first})).code == 200
    assert (await client.post("/", data={"_xsrf": second})).code == 200


@pytest_twisted.ensureDeferred
async def test_xsrf_wrong_token_is_403_and_no_xsrf_handler_is_exempt():
    client = client_for((r"/", Xsrf), (r"/exempt", XsrfExempt), xsrf_cookies=True)
    await client.get("/")
    assert (await client.post("/", data={"_xsrf": "2|00000000|00|0"})).code == 403
    assert (await client.post("/exempt", data={})).code == 200


_MALFORMED_MULTIPART = {
    "body": b"--nope\r\n",
    "headers": {"Content-Type": "multipart/form-data; boundary=xyz"},
}


class GetOnly(RequestHandler):
    def get(self):
        self.write(self.xsrf_form_html())


async def _xsrf_token(client, path="/"):
    page = await client.get(path)
    return page.text.split('value="')[1].split('"')[0]


@pytest_twisted.ensureDeferred
async def test_xsrf_without_a_cookie_is_403_before_the_body_is_parsed():
    client = client_for((r"/", Xsrf), xsrf_cookies=True)
    response = await client.post("/", **_MALFORMED_MULTIPART)
    assert response.code == 403  # not the 400 that parsing the body would give


@pytest_twisted.ensureDeferred
async def test_xsrf_header_token_is_enough_without_parsing_the_body():
    client = client_for((r"/", Xsrf), xsrf_cookies=True)
    token = await _xsrf_token(client)
    response = await client.post(
        "/",
        body=_MALFORMED_MULTIPART["body"],
        headers={**_MALFORMED_MULTIPART["headers"], "X-Xsrftoken": token},
    )
    assert response.code == 200
    assert response.body == b"accepted"


@pytest_twisted.ensureDeferred
async def test_xsrf_wrong_header_falls_back_to_the_form_token():
    client = client_for((r"/", Xsrf), xsrf_cookies=True)
    token = await _xsrf_token(client)
    wrong = "2|00000000|00|0"
    response = await client.post("/", data={"_xsrf": token}, headers={"X-Xsrftoken": wrong})
    assert response.code == 200
    response = await client.post("/", data={"_xsrf": wrong}, headers={"X-Xsrftoken": wrong})
    assert response.code == 403
    assert (await client.post("/", data={}, headers={"X-Xsrftoken": wrong})).code == 403


@pytest_twisted.ensureDeferred
async def test_xsrf_token_in_a_malformed_body_is_400():
    client = client_for((r"/", Xsrf), xsrf_cookies=True)
    await client.get("/")
    assert (await client.post("/", **_MALFORMED_MULTIPART)).code == 400


@pytest_twisted.ensureDeferred
async def test_xsrf_for_a_handler_without_the_method_reads_the_query_not_the_body():
    client = client_for((r"/", GetOnly), xsrf_cookies=True)
    token = await _xsrf_token(client)
    in_query = await client.post(f"/?_xsrf={token}", **_MALFORMED_MULTIPART)
    assert in_query.code == 405
    in_body = await client.post("/", data={"_xsrf": token})
    assert in_body.code == 403


class ReadsRequestArguments(RequestHandler):
    def post(self):
        self.write({"fields": len(self.request.arguments)})


class NeverReadsArguments(RequestHandler):
    def post(self):
        self.write({"body": len(self.request.body)})


class ReadsTwice(RequestHandler):
    def post(self):
        try:
            self.get_argument("a", None)
        except ValueError:
            pass
        self.write({"after_the_error": self.request.body_arguments})


@pytest_twisted.ensureDeferred
async def test_malformed_body_read_through_request_arguments_is_400():
    client = client_for((r"/", ReadsRequestArguments))
    assert (await client.post("/", **_MALFORMED_MULTIPART)).code == 400


@pytest_twisted.ensureDeferred
async def test_malformed_body_stays_an_error_after_a_handler_swallowed_it():
    client = client_for((r"/", ReadsTwice))
    assert (await client.post("/", **_MALFORMED_MULTIPART)).code == 400


@pytest_twisted.ensureDeferred
async def test_handler_that_never_reads_arguments_never_parses_its_body():
    client = client_for((r"/", NeverReadsArguments))
    response = await client.post("/", **_MALFORMED_MULTIPART)
    assert response.code == 200
    assert response.json() == {"body": len(_MALFORMED_MULTIPART["body"])}


@pytest_twisted.ensureDeferred
async def test_form_fields_past_max_form_fields_are_400():
    client = client_for((r"/", ReadsRequestArguments), max_form_fields=5)
    fields = {f"f{number}": "x" for number in range(5)}
    assert (await client.post("/", data=fields)).json() == {"fields": 5}
    assert (await client.post("/", data={**fields, "more": "x"})).code == 400


@pytest_twisted.ensureDeferred
async def test_query_fields_past_max_form_fields_are_400():
    client = client_for((r"/", Required), max_form_fields=2)
    assert (await client.get("/?needed=1&other=2")).body == b"1"
    assert (await client.get("/?needed=1&other=2&other=3")).code == 400


@pytest_twisted.ensureDeferred
async def test_multipart_parts_past_max_form_fields_are_400():
    client = client_for((r"/", ReadsRequestArguments), max_form_fields=2)
    files = {"f": ("a.txt", b"x", "text/plain")}
    assert (await client.post("/", data={"a": "1"}, files=files)).code == 200
    assert (await client.post("/", data={"a": "1", "b": "2"}, files=files)).code == 400


class KeepAliveOff(RequestHandler):
    no_keep_alive = True

    def get(self):
        self.write("bye")


@pytest_twisted.ensureDeferred
async def test_no_keep_alive_closes_the_connection():
    response = await client_for((r"/", KeepAliveOff)).get("/")
    assert response.headers["Connection"] == "close"


@stream_request_body
class StreamedUpload(RequestHandler):
    def prepare(self):
        self.chunks = []
        self.request.connection.set_max_body_size(10 * 1024 * 1024)

    def data_received(self, chunk):
        self.chunks.append(len(chunk))
        return task.deferLater(reactor, 0, lambda: None)

    def put(self):
        self.write({"total": sum(self.chunks), "buffered": len(self.request.body)})


@pytest_twisted.ensureDeferred
async def test_stream_request_body_delivers_chunks_without_buffering():
    client = Client(Router([(r"/", StreamedUpload)], max_body_size=1024))
    payload = b"x" * (2 * 1024 * 1024)
    response = await client.put("/", body=payload)
    assert response.json() == {"total": len(payload), "buffered": 0}


class NotifyFinish(RequestHandler):
    finished: list[str] = []

    def get(self):
        self.notifyFinish().addCallback(lambda _: self.finished.append("done"))
        self.write("x")


@pytest_twisted.ensureDeferred
async def test_notify_finish_fires_when_response_finishes():
    NotifyFinish.finished = []
    await client_for((r"/", NotifyFinish)).get("/")
    assert NotifyFinish.finished == ["done"]


class NoneReturnedValue(RequestHandler):
    def get(self):
        return "a string"


@pytest_twisted.ensureDeferred
async def test_method_returning_a_value_is_a_500():
    assert (await client_for((r"/", NoneReturnedValue)).get("/")).code == 500


class WritesDict(RequestHandler):
    def get(self):
        self.write({"a": "</script>"})


@pytest_twisted.ensureDeferred
async def test_write_dict_is_json_safe_in_html():
    response = await client_for((r"/", WritesDict)).get("/")
    assert response.body == b'{"a":"<\\/script>"}'


def test_write_after_finish_raises():
    handler = make_handler()
    from cyclone.httpparser import RequestParser

    assert RequestParser  # handler without connection: only check the guard
    handler._finished = True
    with pytest.raises(RuntimeError):
        handler.write("late")


def test_render_without_cyclone_web_would_say_how_to_install(monkeypatch):
    # A None entry in sys.modules makes importing that module fail, as when
    # cyclone-web is not installed.
    monkeypatch.setitem(sys.modules, "cyclone.web_features", None)
    with pytest.raises(RuntimeError, match="pip install cyclone-web"):
        make_handler().render_string("x.html")


class EndlessStream(RequestHandler):
    events: list[str] = []

    async def get(self):
        while True:
            self.write("x" * 1024)
            try:
                await self.flush()
            except Exception as error:
                self.events.append(type(error).__name__)
                raise
            await task.deferLater(reactor, 0.001, lambda: None)

    def on_connection_close(self):
        self.events.append("on_connection_close")

    def on_finish(self):
        self.events.append("on_finish")
        self.done.callback(None)


async def _stream_to_a_client_that_leaves(**settings):
    from twisted.internet.protocol import ClientCreator, Protocol
    from twisted.logger import globalLogPublisher

    EndlessStream.events = []
    EndlessStream.done = defer.Deferred()
    criticals = []

    def observer(event):
        if event.get("log_level") is not None and event["log_level"].name == "critical":
            criticals.append(event)

    class Reader(Protocol):
        def connectionMade(self):
            self.transport.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")

        def dataReceived(self, data):
            self.transport.loseConnection()

    port = reactor.listenTCP(0, Router([(r"/", EndlessStream)], **settings), interface="127.0.0.1")
    globalLogPublisher.addObserver(observer)
    try:
        await ClientCreator(reactor, Reader).connectTCP("127.0.0.1", port.getHost().port)
        await EndlessStream.done.addTimeout(10, reactor)
    finally:
        globalLogPublisher.removeObserver(observer)
        await port.stopListening()
    return EndlessStream.events, criticals


@pytest_twisted.ensureDeferred
async def test_streaming_loop_is_cancelled_quietly_when_the_client_disconnects():
    events, criticals = await _stream_to_a_client_that_leaves()
    # Cancelled at whichever await it was in: the flush (which it sees) or the pause.
    assert events in (
        ["on_connection_close", "on_finish"],
        ["on_connection_close", "CancelledError", "on_finish"],
    )
    assert criticals == []


@pytest_twisted.ensureDeferred
async def test_streaming_loop_ends_on_connection_lost_when_cancelling_is_off():
    events, criticals = await _stream_to_a_client_that_leaves(cancel_on_disconnect=False)
    assert events == ["on_connection_close", "ConnectionLost", "on_finish"]
    assert criticals == []


# -- cancellation when the client leaves ---------------------------------------------------


class Waits(RequestHandler):
    events: list[str] = []

    async def get(self):
        try:
            await defer.Deferred(lambda _: self.events.append("canceller"))
        except defer.CancelledError:
            self.events.append("CancelledError")
            raise

    def on_connection_close(self):
        self.events.append("on_connection_close")

    def on_finish(self):
        self.events.append("on_finish")
        self.done.callback(None)


class KeepsWaiting(Waits):
    cancel_on_disconnect = False


async def _leave_while_waiting(handler, listener, **settings):
    handler.events = []
    handler.done = defer.Deferred()
    port = listener.listen(Router([(r"/", handler)], **settings))
    client = await listener.connect(port)
    client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await task.deferLater(reactor, 0.05, lambda: None)
    client.transport.loseConnection()
    await task.deferLater(reactor, 0.1, lambda: None)
    return handler.events


@pytest_twisted.ensureDeferred
async def test_a_client_leaving_cancels_the_awaited_deferred_after_on_connection_close(listener):
    events = await _leave_while_waiting(Waits, listener)
    assert events == ["on_connection_close", "canceller", "CancelledError", "on_finish"]


@pytest_twisted.ensureDeferred
async def test_cancel_on_disconnect_off_leaves_the_handler_waiting(listener):
    assert await _leave_while_waiting(KeepsWaiting, listener) == ["on_connection_close"]
    assert await _leave_while_waiting(Waits, listener, cancel_on_disconnect=False) == [
        "on_connection_close"
    ]


@stream_request_body
class AsyncStream(RequestHandler):
    async def prepare(self):
        self.chunks = []

    async def data_received(self, chunk):
        await task.deferLater(reactor, 0, lambda: None)
        self.chunks.append(chunk)

    def put(self):
        self.write({"received": b"".join(self.chunks).decode()})


@pytest_twisted.ensureDeferred
async def test_data_received_may_be_a_coroutine():
    response = await client_for((r"/", AsyncStream)).put("/", body="streamed body")
    assert response.json() == {"received": "streamed body"}


class FireAndForgetFlush(RequestHandler):
    after_disconnect: list[str] = []
    cancel_on_disconnect = False  # it goes on writing after the client left, on purpose

    async def get(self):
        self.write("first")
        self.flush()
        await self.request.connection.notifyFinish()
        self.write("after the client left")
        self.flush()  # nobody waits: this must log nothing
        try:
            await self.flush()
        except ConnectionLost:
            self.after_disconnect.append("ConnectionLost")
        self.done.callback(None)


@pytest_twisted.ensureDeferred
async def test_a_flush_nobody_waits_on_after_the_client_left_logs_no_unhandled_error():
    import gc

    from twisted.internet.protocol import ClientCreator, Protocol
    from twisted.logger import globalLogPublisher

    FireAndForgetFlush.after_disconnect = []
    FireAndForgetFlush.done = defer.Deferred()
    errors = []

    def observer(event):
        if event.get("isError") or event.get("log_failure") is not None:
            errors.append(event)

    class Leaver(Protocol):
        def connectionMade(self):
            self.transport.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")

        def dataReceived(self, data):
            self.transport.loseConnection()

    port = reactor.listenTCP(0, Router([(r"/", FireAndForgetFlush)]), interface="127.0.0.1")
    globalLogPublisher.addObserver(observer)
    try:
        await ClientCreator(reactor, Leaver).connectTCP("127.0.0.1", port.getHost().port)
        await FireAndForgetFlush.done.addTimeout(10, reactor)
        await task.deferLater(reactor, 0.01, lambda: None)
        gc.collect()  # an unhandled failure is logged when its Deferred is collected
        await task.deferLater(reactor, 0, lambda: None)
    finally:
        globalLogPublisher.removeObserver(observer)
        await port.stopListening()
    assert FireAndForgetFlush.after_disconnect == ["ConnectionLost"]
    assert errors == []
