#!/usr/bin/env python
"""HTTP Basic authentication against users kept in Redis, passwords hashed with scrypt.

    python redis_users.py --redis redis://127.0.0.1:6379/0 add alice   # asks for the password
    python redis_users.py --redis redis://127.0.0.1:6379/0 serve --port 8888
    curl -u alice:PASSWORD http://127.0.0.1:8888/

Users live in one Redis hash (``httpauth:users`` unless ``--key`` says otherwise):
user name -> salted scrypt hash, never the password. While Redis is down the
server answers 503 instead of 401, and recovers by itself when Redis is back.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import hmac
import os
import sys

from twisted.internet import defer, reactor, task, threads
from twisted.logger import globalLogBeginner, textFileLogObserver

import cyclone.redis
import cyclone.web
from cyclone import httpauth

# The scrypt paper's cost for interactive logins: about 16 MiB and 50 ms per check.
SCRYPT_COST = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex) with a fresh random salt."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **SCRYPT_COST)
    n, r, p = SCRYPT_COST.values()
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether *password* hashes to *stored* (compared in constant time)."""
    scheme, n, r, p, salt, digest = stored.split("$")
    if scheme != "scrypt":
        raise ValueError(f"unknown password hash scheme {scheme!r}")
    computed = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(computed, bytes.fromhex(digest))


# Checked for unknown users too, so that they take as long to refuse as wrong passwords.
NOBODY = hash_password("")


async def check_password(handler: cyclone.web.RequestHandler, name: str, password: str) -> bool:
    stored = await handler.settings["redis"].hget(handler.settings["users_key"], name)
    matches = await threads.deferToThread(verify_password, password, stored or NOBODY)
    return matches and stored is not None


class WhoAmIHandler(cyclone.web.RequestHandler):
    @cyclone.redis.unavailable_as_503
    @httpauth.basic_auth(check_password, realm="cyclone redis users")
    def get(self) -> None:
        self.write(f"Hello, {self.current_user}")


async def add_user(url: str, key: str, name: str, password: str) -> None:
    """Create the user, or give an existing one a new password."""
    redis = await cyclone.redis.connect(url, lazy=False, reconnect=False)
    try:
        await redis.hset(key, name, hash_password(password))
    finally:
        await redis.disconnect()
    print(f"user {name!r} saved in {url} ({key})")


def read_password() -> str:
    """Prompt on a terminal; otherwise read one line from stdin (for scripts)."""
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--key", default="httpauth:users", help="the Redis hash of users")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user or change their password")
    add.add_argument("name")
    run = commands.add_parser("serve", help="run the web server")
    run.add_argument("--port", type=int, default=8888, help="0 picks a free port")
    run.add_argument("--interface", default="127.0.0.1")
    args = parser.parse_args(argv)

    if args.command == "add":
        password = read_password()
        if not password:
            parser.error("empty password")
        coroutine = add_user(args.redis, args.key, args.name, password)
        task.react(lambda _: defer.ensureDeferred(coroutine))  # exits with 1 if it fails
        return

    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)], redirectStandardIO=False)
    redis = cyclone.redis.connect(args.redis, max_reconnect_delay=2)
    app = cyclone.web.Application([(r"/", WhoAmIHandler)], redis=redis, users_key=args.key)
    port = reactor.listenTCP(args.port, app, interface=args.interface).getHost().port
    print(f"users in {args.redis} ({args.key}); listening on http://{args.interface}:{port}/")
    reactor.run()


if __name__ == "__main__":
    main()
