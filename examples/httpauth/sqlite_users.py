#!/usr/bin/env python
"""HTTP Basic authentication against users kept in SQLite, passwords hashed with scrypt.

    python sqlite_users.py --db users.db add alice        # asks for alice's password
    python sqlite_users.py --db users.db serve --port 8888
    curl -u alice:PASSWORD http://127.0.0.1:8888/

The database stores a salted scrypt hash per user, never the password. Checking a
password costs tens of milliseconds of CPU on purpose, so it runs in a thread.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import hmac
import os
import sys

from twisted.internet import defer, reactor, threads
from twisted.logger import globalLogBeginner, textFileLogObserver

import cyclone.sqlite
import cyclone.web
from cyclone import httpauth

# The scrypt paper's cost for interactive logins: about 16 MiB and 50 ms per check.
SCRYPT_COST = {"n": 2**14, "r": 8, "p": 1}

SCHEMA = "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL)"


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
    db = handler.settings["users_db"]
    rows = await db.runQuery("SELECT password_hash FROM users WHERE name = ?", (name,))
    stored = rows[0][0] if rows else NOBODY
    matches = await threads.deferToThread(verify_password, password, stored)
    return matches and bool(rows)


class WhoAmIHandler(cyclone.web.RequestHandler):
    @httpauth.basic_auth(check_password, realm="cyclone sqlite users")
    def get(self) -> None:
        self.write(f"Hello, {self.current_user}")


def add_user(db_path: str, name: str, password: str) -> None:
    """Create the user, or give an existing one a new password."""
    with cyclone.sqlite.InlineSQLite(db_path) as db:
        db.runOperation(SCHEMA)
        db.runOperation(
            "INSERT INTO users (name, password_hash) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash",
            (name, hash_password(password)),
        )


async def serve(args: argparse.Namespace) -> None:
    db = cyclone.sqlite.AsyncSQLite(args.db)
    await db.runOperation(SCHEMA)
    app = cyclone.web.Application([(r"/", WhoAmIHandler)], users_db=db)
    port = reactor.listenTCP(args.port, app, interface=args.interface).getHost().port
    print(f"users in {args.db}; listening on http://{args.interface}:{port}/")


def read_password() -> str:
    """Prompt on a terminal; otherwise read one line from stdin (for scripts)."""
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("USERS_DB", "users.db"))
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
        add_user(args.db, args.name, password)
        print(f"user {args.name!r} saved in {args.db}")
        return

    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)], redirectStandardIO=False)

    failures = []

    def failed(failure):
        failures.append(failure)
        print(f"could not start: {failure.value}", file=sys.stderr)
        reactor.stop()

    reactor.callWhenRunning(lambda: defer.ensureDeferred(serve(args)).addErrback(failed))
    reactor.run()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
