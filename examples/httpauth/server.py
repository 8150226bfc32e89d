#!/usr/bin/env python
"""HTTP Basic and Digest authentication (the old cyclone authentication demo).

    python server.py              # http://127.0.0.1:8888/
    curl -u admin:secret http://127.0.0.1:8888/basic
    curl --digest -u admin:secret http://127.0.0.1:8888/digest

Users are kept in a dict here; `check_password` and `get_password` may as well
query a database and return a Deferred.
"""

import os
import sys

from twisted.internet import reactor
from twisted.python import log

import cyclone.web
from cyclone import httpauth

USERS = {"admin": "secret", "guest": "guest"}


def check_password(handler, username, password):
    """Basic: is this the user's password?"""
    return USERS.get(username) == password


def get_password(handler, username):
    """Digest: the server needs the password itself (or None) to check the digest."""
    return USERS.get(username)


class IndexHandler(cyclone.web.RequestHandler):
    def get(self):
        self.write(
            "<ul>"
            '<li><a href="/basic">Basic</a></li>'
            '<li><a href="/digest">Digest (SHA-256 and MD5)</a></li>'
            '<li><a href="/digest-md5">Digest (MD5 only)</a></li>'
            '<li><a href="/legacy">Basic, checked by hand</a></li>'
            "</ul>"
        )


class BasicHandler(cyclone.web.RequestHandler):
    @httpauth.basic_auth(check_password, realm="cyclone basic demo")
    def get(self):
        self.write(f"Hello, {self.current_user} (Basic)")


class DigestHandler(cyclone.web.RequestHandler):
    @httpauth.digest_auth(get_password, realm="cyclone digest demo")
    def get(self):
        self.write(f"Hello, {self.current_user} (Digest)")


class DigestMD5Handler(cyclone.web.RequestHandler):
    # For clients that read only the first challenge and know only MD5
    # (Python's urllib up to 3.13).
    @httpauth.digest_auth(get_password, realm="cyclone digest demo", algorithms=("MD5",))
    def get(self):
        self.write(f"Hello, {self.current_user} (Digest MD5)")


class LegacyHandler(cyclone.web.RequestHandler):
    """The old cyclone way: parse the header yourself, raise HTTPAuthenticationRequired."""

    def get(self):
        credentials = httpauth.parse_basic_authorization(self.request.headers.get("Authorization"))
        if credentials is None or not check_password(self, *credentials):
            raise cyclone.web.HTTPAuthenticationRequired(
                log_message="authentication required", auth_type="Basic", realm="legacy"
            )
        self.write(f"Hello, {credentials[0]} (legacy Basic)")


def make_app():
    return cyclone.web.Application(
        [
            (r"/", IndexHandler),
            (r"/basic", BasicHandler),
            (r"/digest", DigestHandler),
            (r"/digest-md5", DigestMD5Handler),
            (r"/legacy", LegacyHandler),
        ],
        # Signs the Digest nonces; a fixed secret lets several processes share them.
        cookie_secret=os.environ.get("COOKIE_SECRET", "change me"),
    )


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", 8888))
    log.startLogging(sys.stdout)
    reactor.listenTCP(port, make_app(), interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
