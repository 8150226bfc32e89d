"""A typed user application on cyclone-redis, checked by ``mypy --strict`` (nox -s typing).

Each ``# type: ignore[...]`` marks a deliberate mistake: mypy must see cyclone's
types to flag it, and --strict reports an ignore that flags nothing, so the
check fails if cyclone's types stop reaching users.
"""

from __future__ import annotations

import cyclone.redis
from cyclone.handler import RequestHandler
from cyclone.routing import Router

redis = cyclone.redis.connect("redis://127.0.0.1:6379/0")


class Counter(RequestHandler):
    @cyclone.redis.unavailable_as_503
    async def post(self, name: str) -> None:
        self.write({"count": await redis.incr(name)})


def make_app() -> Router:
    cyclone.redis.connect(6379)  # type: ignore[call-overload]
    return Router([(r"/count/(\w+)", Counter)])
