"""cyclone.httpclient against cyclone servers on loopback, over HTTP and verified HTTPS."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import proxies
import pytest
import pytest_twisted
from twisted.internet import defer, reactor, ssl, task
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import formatEvent, globalLogPublisher
from twisted.web.client import HTTPConnectionPool, ResponseFailed

from cyclone import httpclient
from cyclone.web import Application, HTTPError, RequestHandler


class Hello(RequestHandler):
    def get(self) -> None:
        self.set_header("X-Seen", self.request.headers.get("X-Test", "none"))
        self.write("Hello, world")


class Echo(RequestHandler):
    def get(self) -> None:
        self.write(
            {name: self.request.headers.get(name) for name in ("Authorization", "User-Agent")}
        )

    def post(self) -> None:
        self.write(
            {
                "method": self.request.method,
                "body": self.request.body.decode(),
                "content_type": self.request.headers.get("Content-Type"),
                "arguments": {k: self.get_argument(k) for k in self.request.body_arguments},
            }
        )

    put = post


class Redirect(RequestHandler):
    def get(self, remaining: str) -> None:
        count = int(remaining)
        if count:
            self.redirect(f"/redirect/{count - 1}")
        else:
            self.write("arrived")


class Status(RequestHandler):
    def get(self, code: str) -> None:
        raise HTTPError(int(code))


class Big(RequestHandler):
    CHUNK = b"x" * 65536
    COUNT = 32

    async def get(self) -> None:
        for _ in range(self.COUNT):
            self.write(self.CHUNK)
            await self.flush()


class Stall(RequestHandler):
    async def get(self) -> None:
        await self.settings.stall


class JsonRPCHandler(RequestHandler):
    def post(self) -> None:
        call = json.loads(self.request.body)
        reply = {"id": call["id"]}
        if "jsonrpc" in call:
            reply["jsonrpc"] = call["jsonrpc"]
        params = call["params"]
        if call["method"] == "add":
            reply["result"] = (
                sum(params) if isinstance(params, list) else params["a"] + params["b"]
            )
        elif call["method"] == "echo":
            reply["result"] = params
        else:
            reply["error"] = {
                "code": -32601,
                "message": "Method not found",
                "data": call["method"],
            }
        self.write(reply)


def make_app(**settings) -> Application:
    return Application(
        [
            (r"/", Hello),
            (r"/echo", Echo),
            (r"/redirect/(\d+)", Redirect),
            (r"/status/(\d+)", Status),
            (r"/big", Big),
            (r"/stall", Stall),
            (r"/jsonrpc", JsonRPCHandler),
        ],
        access_log=False,
        **settings,
    )


@pytest.fixture
def stall() -> Iterator[defer.Deferred[None]]:
    waiting: defer.Deferred[None] = defer.Deferred()
    yield waiting
    if not waiting.called:
        waiting.callback(None)


@pytest.fixture
def base_url(stall) -> Iterator[str]:
    port = reactor.listenTCP(0, make_app(stall=stall), interface="127.0.0.1")
    yield f"http://127.0.0.1:{port.getHost().port}"
    port.stopListening()


# -- plain HTTP -------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_async_http_client_follows_redirects_and_raises_for_errors_as_tornado(
    base_url: str,
) -> None:
    client = httpclient.AsyncHTTPClient()
    response = await client.fetch(base_url + "/redirect/2")
    assert (response.code, response.body) == (200, b"arrived")
    assert response.effective_url == base_url + "/redirect/0"
    with pytest.raises(httpclient.HTTPClientError, match="HTTP 404: Not Found") as caught:
        await client.fetch(base_url + "/status/404")
    assert caught.value.code == 404 and caught.value.response.code == 404
    with pytest.raises(httpclient.HTTPClientError, match="HTTP 302"):
        await client.fetch(base_url + "/redirect/1", follow_redirects=False)
    kept = await client.fetch(base_url + "/status/503", raise_error=False)
    assert kept.code == 503
    with pytest.raises(httpclient.TooManyRedirects):
        await client.fetch(base_url + "/redirect/3", max_redirects=1, raise_error=False)


@pytest_twisted.ensureDeferred
async def test_async_http_client_sends_an_http_request_and_its_defaults(base_url: str) -> None:
    client = httpclient.AsyncHTTPClient(defaults={"user_agent": "guide/1.0"})
    seen = json.loads((await client.fetch(base_url + "/echo")).body)
    assert seen == {"Authorization": None, "User-Agent": "guide/1.0"}
    request = httpclient.HTTPRequest(
        base_url + "/echo", auth_username="ann", auth_password="s3cret", user_agent="x/2"
    )
    seen = json.loads((await client.fetch(request)).body)
    assert seen["Authorization"] == "Basic " + base64.b64encode(b"ann:s3cret").decode()
    assert seen["User-Agent"] == "x/2"
    posted = await client.fetch(base_url + "/echo", method="POST", body="a=1")
    assert json.loads(posted.body)["arguments"] == {"a": "1"}
    client.close()


def test_async_http_client_refuses_what_it_does_not_implement() -> None:
    client = httpclient.AsyncHTTPClient()
    with pytest.raises(TypeError, match="prepare_curl_callback"):
        client.fetch("http://127.0.0.1:1/", prepare_curl_callback=print)
    with pytest.raises(ValueError, match="auth_mode 'digest'"):
        httpclient.HTTPRequest("http://127.0.0.1:1/", auth_mode="digest")
    with pytest.raises(ValueError, match="HTTPRequest object"):
        client.fetch(httpclient.HTTPRequest("http://127.0.0.1:1/"), method="POST")


@pytest_twisted.ensureDeferred
async def test_get_returns_code_headers_and_body(base_url: str) -> None:
    response = await httpclient.fetch(base_url + "/", headers={"X-Test": "yes"})
    assert response.code == 200
    assert response.reason == "OK"
    assert response.headers["X-Seen"] == "yes"
    assert response.headers["content-type"] == "text/html; charset=UTF-8"
    assert response.body == b"Hello, world"
    assert response.text == "Hello, world"


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """Every log message emitted while the test runs, formatted."""
    messages: list[str] = []

    def observe(event: dict) -> None:
        messages.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    yield messages
    globalLogPublisher.removeObserver(observe)


def _client_lines(messages: list[str]) -> list[str]:
    """The lines Twisted logs for client connections ("Starting factory _HTTP11ClientFactory(...)")."""
    return [line for line in messages if "ClientFactory" in line or "TLSMemoryBIO" in line]


@pytest_twisted.ensureDeferred
async def test_a_fetch_logs_nothing_by_itself(base_url: str, logged: list[str]) -> None:
    response = await httpclient.fetch(base_url + "/")
    # Let the non-persistent connection close, which is when "Stopping factory" was logged.
    await task.deferLater(reactor, 0.05, lambda: None)
    assert response.code == 200
    assert _client_lines(logged) == []


@pytest_twisted.ensureDeferred
async def test_a_pool_passed_by_the_caller_keeps_its_own_logging(
    base_url: str, logged: list[str]
) -> None:
    pool = HTTPConnectionPool(reactor, persistent=False)
    await httpclient.fetch(base_url + "/", pool=pool)
    await task.deferLater(reactor, 0.05, lambda: None)
    assert any("Starting factory" in line for line in _client_lines(logged)), logged


@pytest_twisted.ensureDeferred
async def test_postdata_makes_a_post_and_json_helpers_decode(base_url: str) -> None:
    response = await httpclient.fetch(
        base_url + "/echo", postdata="ünï", headers={"Content-Type": "text/plain"}
    )
    assert response.json() == {
        "method": "POST",
        "body": "ünï",
        "content_type": "text/plain",
        "arguments": {},
    }


@pytest_twisted.ensureDeferred
async def test_a_mapping_is_form_encoded_and_json_body_is_json(base_url: str) -> None:
    form = await httpclient.fetch(base_url + "/echo", method="PUT", postdata={"a": "1 2"})
    assert form.json()["arguments"] == {"a": "1 2"}
    assert form.json()["method"] == "PUT"
    sent = await httpclient.fetch(base_url + "/echo", json_body={"k": [1, 2]})
    assert json.loads(sent.json()["body"]) == {"k": [1, 2]}
    assert sent.json()["content_type"] == "application/json"


@pytest_twisted.ensureDeferred
async def test_error_statuses_are_responses_until_raise_for_status(base_url: str) -> None:
    response = await httpclient.fetch(base_url + "/status/404")
    assert response.code == 404
    with pytest.raises(httpclient.HTTPClientError, match="HTTP 404") as caught:
        response.raise_for_status()
    assert caught.value.code == 404


@pytest_twisted.ensureDeferred
async def test_redirects_are_followed_up_to_the_limit_when_asked(base_url: str) -> None:
    response = await httpclient.fetch(base_url + "/redirect/3", follow_redirects=True)
    assert response.body == b"arrived"
    assert response.effective_url == base_url + "/redirect/0"
    assert response.request_url == base_url + "/redirect/3"
    with pytest.raises(httpclient.TooManyRedirects, match="more than 2 redirects"):
        await httpclient.fetch(base_url + "/redirect/3", follow_redirects=True, max_redirects=2)
    legacy = await httpclient.fetch(base_url + "/redirect/2", followRedirect=True)
    assert legacy.body == b"arrived"
    with pytest.raises(httpclient.TooManyRedirects, match="more than 1 redirects"):
        await httpclient.fetch(base_url + "/redirect/2", followRedirect=1, maxRedirects=1)


@pytest_twisted.ensureDeferred
async def test_redirects_are_returned_by_default_as_in_cyclone_1x(base_url: str) -> None:
    response = await httpclient.fetch(base_url + "/redirect/1")
    assert response.code == 302
    assert response.headers["Location"] == "/redirect/0"
    legacy = await httpclient.fetch(base_url + "/redirect/1", followRedirect=False)
    assert legacy.code == 302


@pytest_twisted.ensureDeferred
async def test_large_bodies_stream_to_the_callback(base_url: str) -> None:
    chunks: list[bytes] = []
    response = await httpclient.fetch(base_url + "/big", streaming_callback=chunks.append)
    assert response.body == b""
    assert b"".join(chunks) == Big.CHUNK * Big.COUNT
    assert len(chunks) > 1


@pytest_twisted.ensureDeferred
async def test_a_buffered_body_over_max_body_size_is_refused(base_url: str) -> None:
    with pytest.raises(httpclient.HTTPClientError, match="exceeds max_body_size"):
        await httpclient.fetch(base_url + "/big", max_body_size=100_000)


@pytest_twisted.ensureDeferred
async def test_timeout_bounds_the_whole_exchange(base_url: str) -> None:
    with pytest.raises(httpclient.HTTPTimeoutError, match="took longer than 0.2s"):
        await httpclient.fetch(base_url + "/stall", timeout=0.2)


@pytest_twisted.ensureDeferred
async def test_a_persistent_pool_reuses_connections(base_url: str) -> None:
    pool = HTTPConnectionPool(reactor, persistent=True)
    try:
        first = await httpclient.fetch(base_url + "/", pool=pool)
        second = await httpclient.fetch(base_url + "/", pool=pool)
    finally:
        await pool.closeCachedConnections()
    assert first.body == second.body == b"Hello, world"


def test_only_http_urls_are_fetched() -> None:
    with pytest.raises(ValueError, match="ftp://x"):
        httpclient.fetch("ftp://x/")


# -- JSON-RPC ------------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_json_rpc_call_remote_returns_the_result(base_url: str) -> None:
    proxy = httpclient.JsonRPC(base_url + "/jsonrpc")
    assert await proxy.callRemote("add", 1, 2, 3) == 6
    assert await proxy.callRemote("add", a=2, b=5) == 7
    assert await proxy.echo("old style") == ["old style"]


@pytest_twisted.ensureDeferred
async def test_json_rpc_errors_raise_with_code_and_data(base_url: str) -> None:
    proxy = httpclient.JsonRPC(base_url + "/jsonrpc", version="1.0")
    with pytest.raises(httpclient.JsonRPCError) as caught:
        await proxy.callRemote("nope")
    assert caught.value.code == -32601
    assert caught.value.data == "nope"


@pytest_twisted.ensureDeferred
async def test_json_rpc_against_something_else_says_so(base_url: str) -> None:
    with pytest.raises(httpclient.JsonRPCError, match="is not JSON-RPC"):
        await httpclient.JsonRPC(base_url + "/").callRemote("x")


# -- HTTPS with verification ---------------------------------------------------------------------


def _certificates(directory: Path) -> tuple[Path, bytes]:
    """A CA file and the PEM (cert + key) of a 'localhost' server certificate it signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "httpclient test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    server_pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca_path, server_pem


@pytest.fixture
def https(tmp_path: Path, stall) -> Iterator[tuple[str, str]]:
    ca_path, server_pem = _certificates(tmp_path)
    options = ssl.PrivateCertificate.loadPEM(server_pem).options()
    port = reactor.listenSSL(0, make_app(stall=stall), options, interface="127.0.0.1")
    yield f"https://localhost:{port.getHost().port}", str(ca_path)
    port.stopListening()


@pytest_twisted.ensureDeferred
async def test_https_with_an_unknown_ca_fails_verification_by_default(https) -> None:
    url, _ = https
    with pytest.raises(Exception) as caught:
        await httpclient.fetch(url + "/", timeout=30)
    assert "certificate verify failed" in repr(caught.value)


@pytest_twisted.ensureDeferred
async def test_https_succeeds_once_the_ca_is_trusted(https, logged: list[str]) -> None:
    url, ca_path = https
    response = await httpclient.fetch(url + "/", ca_certs=ca_path, timeout=30)
    assert response.body == b"Hello, world"
    await task.deferLater(reactor, 0.05, lambda: None)
    assert _client_lines(logged) == []
    rpc = httpclient.JsonRPC(url + "/jsonrpc", ca_certs=ca_path, timeout=30)
    assert await rpc.callRemote("add", 2, 2) == 4


@pytest_twisted.ensureDeferred
async def test_https_checks_the_host_name_too(https) -> None:
    url, ca_path = https
    wrong_name = url.replace("localhost", "127.0.0.1")
    with pytest.raises(Exception) as caught:
        await httpclient.fetch(wrong_name + "/", ca_certs=ca_path, timeout=30)
    assert "VerificationError" in repr(caught.value) or "hostname" in repr(caught.value).lower()


@pytest_twisted.ensureDeferred
async def test_validate_cert_false_skips_verification(https) -> None:
    url, _ = https
    response = await httpclient.fetch(url + "/", validate_cert=False, timeout=30)
    assert response.code == 200


# -- cyclone 1.x: what 1.3 code passed and read -------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_cyclone_1x_style_fetch_runs_unchanged(base_url: str) -> None:
    # 1.3 on Python 3: bytes URL and method, list-valued headers, a urlencoded bytes body.
    response = await httpclient.fetch(
        (base_url + "/echo").encode(),
        method=b"POST",
        postdata=b"name=ana&lang=pt",
        headers={"X-Test": ["yes"]},
    )
    assert response.code == 200 and response.phrase == "OK"
    assert not response.error
    assert response.length == len(response.body)
    echoed = json.loads(response.body)
    assert echoed["content_type"] == "application/x-www-form-urlencoded"
    assert echoed["arguments"] == {"name": "ana", "lang": "pt"}
    missing = await httpclient.fetch(base_url + "/status/404")
    assert missing.error and missing.error.code == 404


@pytest_twisted.ensureDeferred
async def test_a_post_body_without_content_type_is_sent_as_a_form(base_url: str) -> None:
    implicit = await httpclient.fetch(base_url + "/echo", postdata="a=1")
    assert implicit.json()["method"] == "POST"
    assert implicit.json()["arguments"] == {"a": "1"}
    put = await httpclient.fetch(base_url + "/echo", method="PUT", body=b"raw")
    assert put.json()["content_type"] is None


@pytest_twisted.ensureDeferred
async def test_string_producer_and_receiver_drive_twisteds_agent(base_url: str) -> None:
    from twisted.web.http_headers import Headers

    response = await httpclient.agent.request(
        b"POST",
        (base_url + "/echo").encode(),
        Headers({"Content-Type": ["application/x-www-form-urlencoded"]}),
        httpclient.StringProducer(b"q=caf%C3%A9"),
    )
    finished: defer.Deferred[bytes] = defer.Deferred()
    response.deliverBody(httpclient.Receiver(finished))
    assert json.loads(await finished)["arguments"] == {"q": "caf\u00e9"}


class _ShortBody(Protocol):
    """Promises ten bytes of body, sends three and hangs up."""

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        self.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_receiver_fails_on_a_body_cut_short_instead_of_passing_it_on() -> None:
    port = reactor.listenTCP(0, Factory.forProtocol(_ShortBody), interface="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{port.getHost().port}/".encode()
        response = await httpclient.agent.request(b"GET", url)
        finished: defer.Deferred[bytes] = defer.Deferred()
        response.deliverBody(httpclient.Receiver(finished))
        with pytest.raises(ResponseFailed):
            await finished
    finally:
        await port.stopListening()


def test_module_agents_are_made_on_first_use() -> None:
    from twisted.web.client import Agent, ProxyAgent

    assert isinstance(httpclient.agent, Agent)
    assert isinstance(httpclient.proxy_agent, ProxyAgent)
    assert httpclient.agent is httpclient.agent


# -- proxies ------------------------------------------------------------------------------------


@pytest.fixture
def http_proxy() -> Iterator[proxies.HTTPProxy]:
    running = proxies.HTTPProxy()
    yield running
    running.stop()


@pytest_twisted.ensureDeferred
async def test_fetch_through_an_http_proxy_given_as_1x_host_port_tuple(
    base_url: str, http_proxy: proxies.HTTPProxy
) -> None:
    host, port = http_proxy.address
    response = await httpclient.fetch(base_url + "/?x=1", proxy=(host, str(port)))
    assert response.body == b"Hello, world"
    assert http_proxy.requests == [(b"GET", (base_url + "/?x=1").encode(), None)]


@pytest_twisted.ensureDeferred
async def test_fetch_through_an_http_proxy_url_with_credentials(
    base_url: str, http_proxy: proxies.HTTPProxy
) -> None:
    host, port = http_proxy.address
    response = await httpclient.fetch(
        base_url + "/echo", postdata={"a": "b"}, proxy=f"http://ana:s%40cret@{host}:{port}"
    )
    assert response.json()["arguments"] == {"a": "b"}
    method, uri, authorization = http_proxy.requests[0]
    assert (method, uri) == (b"POST", (base_url + "/echo").encode())
    assert authorization == b"Basic " + base64.b64encode(b"ana:s@cret")


@pytest_twisted.ensureDeferred
async def test_redirects_followed_through_a_proxy_go_through_it_too(
    base_url: str, http_proxy: proxies.HTTPProxy
) -> None:
    host, port = http_proxy.address
    response = await httpclient.fetch(
        base_url + "/redirect/1", proxy=f"{host}:{port}", follow_redirects=True
    )
    assert response.body == b"arrived"
    assert [uri for _, uri, _ in http_proxy.requests] == [
        (base_url + "/redirect/1").encode(),
        (base_url + "/redirect/0").encode(),
    ]


@pytest_twisted.ensureDeferred
async def test_https_goes_through_a_connect_tunnel_with_the_certificate_checked(https) -> None:
    url, ca_path = https
    tunnel = proxies.ConnectProxy()
    try:
        response = await httpclient.fetch(
            url + "/", ca_certs=ca_path, proxy=tunnel.url, timeout=30
        )
        assert response.body == b"Hello, world"
        authority = url.removeprefix("https://")
        assert tunnel.requests == [f"CONNECT {authority} HTTP/1.1".encode()]
        with pytest.raises(Exception) as caught:
            await httpclient.fetch(url + "/", proxy=tunnel.url, timeout=30)
        assert "certificate verify failed" in repr(caught.value)
    finally:
        await tunnel.stop()


@pytest_twisted.ensureDeferred
async def test_a_proxy_refusing_connect_fails_with_its_status_line(https) -> None:
    url, ca_path = https
    tunnel = proxies.ConnectProxy(refuse=True)
    try:
        with pytest.raises(Exception) as caught:
            await httpclient.fetch(url + "/", ca_certs=ca_path, proxy=tunnel.url, timeout=30)
        assert "refused CONNECT: 'HTTP/1.1 403 Forbidden'" in repr(caught.value)
    finally:
        await tunnel.stop()


@pytest.mark.parametrize(
    "proxy", [("host",), ("h", "port"), "ftp://h:21", "http://h:99999", ("h", 0)]
)
def test_malformed_proxies_are_refused_at_once(proxy) -> None:
    with pytest.raises(ValueError, match="proxy"):
        httpclient.fetch("http://127.0.0.1:1/", proxy=proxy)
