"""A Tornado 6 service that signs users in with a signed cookie (for test_handler_compat.py).

    python tornado_service.py SECRET_JSON [KEY_VERSION]

``SECRET_JSON`` is the ``cookie_secret``: a JSON string, or an object of key
versions (``{"1": "old", "2": "new"}``). The service listens on a free port of
127.0.0.1, prints the port on a line of its own, and serves until it is killed:
``/signin?name=ana`` sets the signed ``user`` cookie, ``/whoami`` answers
``{"user": ..., "key_version": ...}`` read from it.
"""

from __future__ import annotations

import asyncio
import json
import sys

import tornado.httpserver
import tornado.netutil
import tornado.web


class SignIn(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_signed_cookie("user", self.get_argument("name"))


class WhoAmI(tornado.web.RequestHandler):
    def get(self) -> None:
        user = self.get_signed_cookie("user")
        self.write(
            {
                "user": user.decode() if user else None,
                "key_version": self.get_signed_cookie_key_version("user"),
            }
        )


async def main() -> None:
    secret = json.loads(sys.argv[1])
    settings: dict = {"cookie_secret": secret}
    if isinstance(secret, dict):
        settings["cookie_secret"] = {int(version): key for version, key in secret.items()}
    if len(sys.argv) > 2:
        settings["key_version"] = int(sys.argv[2])
    application = tornado.web.Application([("/signin", SignIn), ("/whoami", WhoAmI)], **settings)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    tornado.httpserver.HTTPServer(application).add_sockets(sockets)
    print(sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
