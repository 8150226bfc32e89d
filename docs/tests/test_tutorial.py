"""The tutorial's guestbook, tested the way the tutorial's testing step shows."""

from __future__ import annotations

import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import pytest_twisted
from guestbook.app import Guestbook, make_app
from twisted.internet import defer, reactor, threads

from cyclone.testing import Client

TUTORIAL = pathlib.Path(__file__).resolve().parent.parent / "tutorial"
SECRET = "a test secret"


# step: tests
async def signed_in_client(name: str = "ana") -> Client:
    """A client holding the sign-in cookie and the XSRF cookie, as a browser would."""
    client = Client(make_app(cookie_secret=SECRET))
    await client.get("/sign-in")
    response = await client.post("/sign-in", data={"name": name, "_xsrf": client.cookies["_xsrf"]})
    assert response.code == 302
    return client


@pytest_twisted.ensureDeferred
async def test_signing_in_then_posting_shows_the_message():
    client = await signed_in_client()
    assert client.cookies.get_secure_cookie("user") == b"ana"
    response = await client.post("/post", data={"text": "hello", "_xsrf": client.cookies["_xsrf"]})
    assert (response.code, response.headers["Location"]) == (302, "/")
    home = await client.get("/")
    assert "<b>ana</b>: hello" in home.text


@pytest_twisted.ensureDeferred
async def test_a_post_without_the_xsrf_field_is_refused():
    client = await signed_in_client()
    response = await client.post("/post", data={"text": "hello"})
    assert response.code == 403


# step: end


@pytest_twisted.ensureDeferred
async def test_posting_needs_a_signed_in_user():
    client = Client(make_app(cookie_secret=SECRET))
    await client.get("/sign-in")
    response = await client.post("/post", data={"text": "x", "_xsrf": client.cookies["_xsrf"]})
    assert response.code == 403


@pytest_twisted.ensureDeferred
async def test_a_forged_user_cookie_is_ignored():
    client = Client(make_app(cookie_secret=SECRET))
    client.cookies["user"] = "admin"
    home = await client.get("/")
    assert "Signed in as" not in home.text and "Sign in</a>" in home.text


@pytest_twisted.ensureDeferred
async def test_names_that_are_not_letters_or_digits_are_refused():
    client = Client(make_app(cookie_secret=SECRET))
    await client.get("/sign-in")
    response = await client.post(
        "/sign-in", data={"name": "<script>", "_xsrf": client.cookies["_xsrf"]}
    )
    assert response.code == 400 and "1 to 30 letters" in response.text
    assert "user" not in client.cookies


@pytest_twisted.ensureDeferred
async def test_messages_are_escaped_in_the_page_and_served_as_json():
    client = await signed_in_client()
    xsrf = client.cookies["_xsrf"]
    await client.post("/post", data={"text": "<b>bold</b>", "_xsrf": xsrf})
    home = await client.get("/")
    assert "&lt;b&gt;bold&lt;/b&gt;" in home.text
    one = await client.get("/messages/1")
    assert one.json() == {"id": 1, "author": "ana", "text": "<b>bold</b>"}
    missing = await client.get("/messages/2")
    assert missing.code == 404


@pytest_twisted.ensureDeferred
async def test_signing_out_forgets_the_user():
    client = await signed_in_client()
    await client.post("/sign-out", data={"_xsrf": client.cookies["_xsrf"]})
    assert "user" not in client.cookies


def read_until(sock: socket.socket, marker: bytes, limit: float = 10.0) -> bytes:
    sock.settimeout(limit)
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest_twisted.ensureDeferred
async def test_a_new_message_reaches_a_live_stream_over_a_real_socket():
    guestbook = Guestbook()
    port = reactor.listenTCP(
        0, make_app(cookie_secret=SECRET, guestbook=guestbook), interface="127.0.0.1"
    )
    try:
        sock = socket.create_connection(("127.0.0.1", port.getHost().port))
        sock.sendall(b"GET /live HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        head = await threads.deferToThread(read_until, sock, b"\r\n\r\n")
        assert b"text/event-stream" in head
        while not guestbook.listeners:
            await deferLater(0.01)
        guestbook.add("ana", "live!")
        event = await threads.deferToThread(read_until, sock, b"live!")
        assert re.search(rb"id: ?1\r?\nevent: ?message\r?\ndata: ?\{.*\"live!\"", event), event
        sock.close()
    finally:
        await port.stopListening()


def deferLater(seconds: float) -> defer.Deferred[None]:
    from twisted.internet import task

    return task.deferLater(reactor, seconds, lambda: None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_deployment_command_serves_the_guestbook(tmp_path):
    port = free_port()
    command = [
        str(pathlib.Path(sys.executable).parent / "twistd"),
        "-n",
        "--pidfile=",
        "cyclone",
        "--app=guestbook.app:make_app",
        f"--port={port}",
        "--interface=127.0.0.1",
    ]
    env = {**os.environ, "PYTHONPATH": str(TUTORIAL), "GUESTBOOK_SECRET": SECRET}
    server = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    assert page.status == 200
                    assert "<h1>Guestbook</h1>" in page.read().decode()
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read().decode() if server.stdout else ""
                    pytest.fail(f"twistd did not serve the guestbook:\n{output}")
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
