#!/usr/bin/env python
"""Send one e-mail from the command line with cyclone.mail: plain text, HTML, attachments.

    python send.py --host smtp.example.com --port 587 --tls required \\
        --username ana --password secret \\
        --from "Ana <ana@example.com>" --to bob@example.com --subject "Olá" \\
        --message "Hi Bob" --html "<p>Hi <b>Bob</b></p>" --attach report.pdf

Prints ``sent <Message-ID> to <addresses>`` or ``failed: <reason>`` (exit status 1).
"""

from __future__ import annotations

import argparse
import sys

from twisted.internet import defer, task

import cyclone.mail


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    server = parser.add_argument_group("SMTP server")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=None)
    server.add_argument("--tls", choices=["required", "opportunistic", "off"], default="off")
    server.add_argument("--ssl", action="store_true", help="implicit TLS (SMTPS, port 465)")
    server.add_argument("--ca-file", help="PEM file of the CAs to trust")
    server.add_argument("--no-verify", action="store_true", help="accept any certificate")
    server.add_argument("--username")
    server.add_argument("--password")
    server.add_argument("--timeout", type=float, default=30)
    mail = parser.add_argument_group("message")
    mail.add_argument("--from", dest="from_addr", required=True)
    mail.add_argument("--to", action="append", required=True, help="repeat for more")
    mail.add_argument("--cc", action="append", default=[])
    mail.add_argument("--bcc", action="append", default=[])
    mail.add_argument("--subject", required=True)
    mail.add_argument("--message", required=True, help="the plain text body")
    mail.add_argument("--html", help="an HTML version of the body")
    mail.add_argument("--attach", action="append", default=[], metavar="PATH")
    return parser.parse_args(argv)


def mailconf_from(arguments: argparse.Namespace) -> dict[str, object]:
    """The ``mailconf`` dict that cyclone.mail.sendmail takes."""
    return {
        "host": arguments.host,
        "port": arguments.port,
        "tls": False if arguments.tls == "off" else arguments.tls,
        "ssl": arguments.ssl,
        "tls_ca_file": arguments.ca_file,
        "tls_verify": not arguments.no_verify,
        "username": arguments.username,
        "password": arguments.password,
        "timeout": arguments.timeout,
    }


def message_from(arguments: argparse.Namespace) -> cyclone.mail.Message:
    message = cyclone.mail.Message(
        arguments.from_addr,
        arguments.to,
        arguments.subject,
        arguments.message,
        html=arguments.html,
        cc=arguments.cc,
        bcc=arguments.bcc,
    )
    for path in arguments.attach:
        message.attach(path)
    message.add_header("X-Mailer", "cyclone.mail example")
    return message


async def main(reactor: object, argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    message = message_from(arguments)
    try:
        sent = await cyclone.mail.sendmail(mailconf_from(arguments), message)
    except cyclone.mail.MailError as error:
        print(f"failed: {type(error).__name__}: {error}")
        return 1
    print(f"sent {message.message_id} to {', '.join(sent.accepted)}")
    for address, (code, text) in sent.refused.items():
        print(f"refused {address}: {code} {text}")
    return 0


def run(argv: list[str]) -> None:
    def start(reactor: object) -> defer.Deferred[None]:
        async def go() -> None:
            status = await main(reactor, argv)
            if status:
                raise SystemExit(status)

        return defer.ensureDeferred(go())

    task.react(start)


if __name__ == "__main__":
    run(sys.argv[1:])
