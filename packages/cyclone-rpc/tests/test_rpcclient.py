"""Tests for cyclone._rpcclient: the bounded Agent POST both RPC proxies share."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.web.error import Error

from cyclone._rpcclient import RPCClient
from cyclone.handler import RequestHandler
from cyclone.routing import Router


class Echo(RequestHandler):
    """Answers with the request's content type, one custom header and body."""

    def post(self):
        self.set_header("Content-Type", "text/plain")
        self.write(
            f"{self.request.headers.get('Content-Type')}|{self.request.headers.get('X-Token')}|".encode()
            + self.request.body
        )


class Refuse(RequestHandler):
    def post(self):
        self.set_status(503)
        self.write("down for maintenance")


class Never(RequestHandler):
    def post(self):
        return defer.Deferred()


class Big(RequestHandler):
    def post(self):
        self.write(b"x" * 10_000)


class Plain(RPCClient):
    content_type = b"text/plain"

    def send(self, body: bytes) -> defer.Deferred:
        return self._start(self._post(body))


@pytest_twisted.async_yield_fixture
async def base_url():
    from twisted.internet import reactor

    app = Router([(r"/echo", Echo), (r"/refuse", Refuse), (r"/never", Never), (r"/big", Big)])
    port = reactor.listenTCP(0, app, interface="127.0.0.1")
    try:
        yield f"http://127.0.0.1:{port.getHost().port}"
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_posts_the_body_with_its_content_type_and_extra_headers(base_url):
    client = Plain(f"{base_url}/echo", headers={"X-Token": "secret"})
    code, body = await client.send(b"payload")
    assert code == 200
    assert body == b"text/plain|secret|payload"


@pytest_twisted.ensureDeferred
async def test_a_status_outside_2xx_fails_with_the_status_and_body(base_url):
    with pytest.raises(Error) as caught:
        await Plain(f"{base_url}/refuse").send(b"x")
    assert caught.value.status == b"503"
    assert caught.value.response == b"down for maintenance"


@pytest_twisted.ensureDeferred
async def test_an_answer_beyond_max_response_size_fails(base_url):
    assert len((await Plain(f"{base_url}/big").send(b""))[1]) == 10_000
    with pytest.raises(ValueError, match="max_response_size"):
        await Plain(f"{base_url}/big", max_response_size=1000).send(b"")


@pytest_twisted.ensureDeferred
async def test_timeout_fails_with_timeout_error(base_url):
    with pytest.raises(defer.TimeoutError):
        await Plain(f"{base_url}/never", timeout=0.2).send(b"")


@pytest_twisted.ensureDeferred
async def test_connection_errors_reach_the_caller():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        await Plain(f"http://127.0.0.1:{free_port}/").send(b"")


def test_importing_the_rpc_servers_loads_neither_the_http_client_nor_tls():
    import subprocess
    import sys

    probe = (
        "import sys, cyclone.xmlrpc, cyclone.jsonrpc\n"
        "loaded = [m for m in ('twisted.web.client', 'OpenSSL', 'cryptography') if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
