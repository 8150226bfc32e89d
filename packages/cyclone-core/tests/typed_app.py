"""A typed user application on cyclone-core alone, checked by ``mypy --strict`` (nox -s typing).

Each ``# type: ignore[...]`` marks a deliberate mistake: mypy must see cyclone's
types to flag it, and --strict reports an ignore that flags nothing, so the
check fails if cyclone's types stop reaching users.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred

from cyclone.handler import HTTPError, RequestHandler
from cyclone.httpserver import HTTPServer
from cyclone.inmemory import Response
from cyclone.routing import Router
from cyclone.testing import Client


class Hello(RequestHandler):
    def get(self, name: str) -> None:
        if name == "nobody":
            raise HTTPError(404, "no such person: %s", name)
        self.set_header("X-Name", name)
        self.write({"hello": name})


def make_app() -> Router:
    return Router([(r"/hello/(\w+)", Hello)], max_body_size=1 << 20)


def serve() -> HTTPServer:
    return HTTPServer(make_app(), max_header_size=16 * 1024)


async def check() -> bytes:
    response: Response = await Client(make_app()).get("/hello/ana")
    code: int = response.code
    assert code == 200
    Client(make_app()).get(b"/hello/ana")  # type: ignore[arg-type]
    pending: Deferred[Response] = Client(make_app()).post("/hello/ana", data={"a": "1"})
    await pending
    return response.body
