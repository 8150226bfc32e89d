"""Hostile form bodies against a real server process: what they cost it, read from /proc.

A 20 MiB body of ``&a&a&a...`` used to be parsed for every request, a 404
included, at about 43 times its size (+810 MB) before any handler ran. Each
test here starts a fresh server process on loopback, sends the attack over a
socket, checks the answer and compares the process's peak resident memory
(VmHWM) before and after. The bounds are generous multiples of the body size:
they hold for the fixed code and fail by an order of magnitude on the old one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from cyclone.httputil import DEFAULT_MAX_FORM_BODY_SIZE

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/self/status") and os.environ.get("CI") != "true",
    reason="reads the server's peak memory from /proc (Linux only)",
)

#: Seconds to wait for the server to start or answer before failing.
TIMEOUT = 60.0

ATTACK_SIZE = 20 * 1024 * 1024
AMPERSANDS = b"&a" * (ATTACK_SIZE // 2)

SERVER = """
import json, sys
from twisted.internet import reactor
from cyclone.handler import RequestHandler
from cyclone.routing import Router


class ReadsArguments(RequestHandler):
    no_xsrf = True

    def post(self):
        self.write({"fields": sum(map(len, self.request.arguments.values())),
                    "files": sum(map(len, self.request.files.values()))})


class NeverReads(RequestHandler):
    def post(self):
        self.write("accepted")


settings = json.loads(sys.argv[1])
application = Router(
    [(r"/read", ReadsArguments), (r"/quiet", NeverReads)],
    log_function=lambda handler: None,
    **settings,
)
port = reactor.listenTCP(0, application, interface="127.0.0.1")
print(port.getHost().port, flush=True)
reactor.run()
"""


@dataclass
class Answer:
    status: int
    body: bytes


class ServerProcess:
    """A cyclone server in its own process, so its memory is its own."""

    def __init__(self, **settings: object) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, json.dumps(settings)],
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"the server did not start (exit {self.process.wait()})")
        self.port = int(line)

    def peak_memory(self) -> int:
        """The process's peak resident set size so far, in bytes (VmHWM)."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM line in /proc/PID/status")

    def post(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/x-www-form-urlencoded",
        send_body: bool = True,
    ) -> Answer:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("ascii")
        with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT) as client:
            if send_body:
                client.sendall(head + body)
                client.shutdown(socket.SHUT_WR)
            else:
                client.sendall(head)  # and wait: a client that hangs up abandons its request
            received = bytearray()
            while chunk := client.recv(65536):
                received += chunk
        status_line, _, rest = bytes(received).partition(b"\r\n")
        return Answer(int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2])

    def warm_up(self) -> int:
        """Serve one small form (imports and first-use allocations), then return the peak."""
        assert self.post("/read", b"a=1").status == 200
        return self.peak_memory()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def start_server() -> Iterator:
    servers: list[ServerProcess] = []

    def start(**settings: object) -> ServerProcess:
        server = ServerProcess(**settings)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_ampersand_flood_to_a_404_is_answered_without_buffering_or_parsing(start_server):
    server = start_server()
    before = server.warm_up()
    answer = server.post("/nowhere", AMPERSANDS)
    growth = server.peak_memory() - before
    assert answer.status == 404
    assert growth < ATTACK_SIZE // 2, f"a 404 cost {growth} bytes for a {ATTACK_SIZE}-byte body"


def test_ampersand_flood_without_an_xsrf_cookie_is_403_without_parsing(start_server):
    server = start_server(xsrf_cookies=True, max_form_body_size=64 * 1024 * 1024)
    before = server.warm_up()
    answer = server.post("/quiet", AMPERSANDS)
    growth = server.peak_memory() - before
    assert answer.status == 403
    assert growth < 4 * ATTACK_SIZE, f"a 403 cost {growth} bytes for a {ATTACK_SIZE}-byte body"


def test_ampersand_flood_to_a_handler_reading_arguments_is_400_past_the_field_cap(
    start_server,
):
    server = start_server(max_form_body_size=64 * 1024 * 1024)
    before = server.warm_up()
    answer = server.post("/read", AMPERSANDS)
    growth = server.peak_memory() - before
    assert answer.status == 400
    assert growth < 4 * ATTACK_SIZE, f"parsing cost {growth} bytes for a {ATTACK_SIZE}-byte body"


def test_multipart_flood_of_tiny_parts_is_400_past_the_field_cap(start_server):
    server = start_server(max_form_body_size=64 * 1024 * 1024)
    part = b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n\r\n'
    body = part * (ATTACK_SIZE // len(part)) + b"--B--\r\n"
    before = server.warm_up()
    answer = server.post("/read", body, "multipart/form-data; boundary=B")
    growth = server.peak_memory() - before
    assert answer.status == 400
    assert growth < 4 * len(body), f"parsing cost {growth} bytes for a {len(body)}-byte body"


def test_a_large_form_under_the_field_cap_is_parsed_in_a_small_multiple_of_its_size(
    start_server,
):
    server = start_server(max_form_body_size=64 * 1024 * 1024)
    fields = b"&".join(b"f%d=%%41%%42" % number for number in range(9_999))
    body = fields + b"&big=" + b"%41" * ((ATTACK_SIZE - len(fields)) // 3)
    before = server.warm_up()
    answer = server.post("/read", body)
    growth = server.peak_memory() - before
    assert answer.status == 200
    assert json.loads(answer.body) == {"fields": 10_000, "files": 0}
    assert growth < 8 * len(body), f"parsing cost {growth} bytes for a {len(body)}-byte body"


def test_form_larger_than_max_form_body_size_is_413_before_its_body_is_sent(start_server):
    server = start_server()
    answer = server.post("/read", b"a" * (DEFAULT_MAX_FORM_BODY_SIZE + 1), send_body=False)
    assert answer.status == 413


def test_other_bodies_keep_the_larger_max_body_size(start_server):
    server = start_server(max_body_size=32 * 1024 * 1024)
    body = b"x" * (DEFAULT_MAX_FORM_BODY_SIZE + 1)
    assert server.post("/quiet", body, "application/octet-stream").status == 200
