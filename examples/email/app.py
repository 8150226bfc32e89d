#!/usr/bin/env python
"""The cyclone e-mail demo: a web form that sends plain text, HTML and attachments.

    python app.py --smtp-host smtp.example.com --smtp-port 587 --smtp-tls required \\
        --smtp-username ana --smtp-password secret --from "Ana <ana@example.com>"

then open http://127.0.0.1:8888/ . The SMTP settings live in the application
settings as ``email_settings`` (an ObjectDict), read by the handler as
``self.settings.email_settings``, as in the old cyclone demo.
"""

from __future__ import annotations

import argparse
import os
import sys

from twisted.internet import defer, reactor
from twisted.python import log

import cyclone.mail
import cyclone.web
from cyclone.util import ObjectDict

HERE = os.path.dirname(os.path.abspath(__file__))


class IndexHandler(cyclone.web.RequestHandler):
    def get(self):
        self.render("index.html")


class SendmailHandler(cyclone.web.RequestHandler):
    @defer.inlineCallbacks
    def post(self):
        to_addrs = [a.strip() for a in self.get_argument("to_addrs").split(",") if a.strip()]
        subject = self.get_argument("subject")
        message = self.get_argument("message")
        content_type = self.get_argument("content_type", "text/plain")
        html = self.get_argument("html", "")

        try:
            msg = cyclone.mail.Message(
                from_addr=self.settings.email_from,
                to_addrs=to_addrs,
                subject=subject,
                message=message,  # may also come from a template: self.render_string(...)
                mime=content_type,  # optional, default text/plain
                charset="utf-8",  # optional, default utf-8
                # A plain text message plus an HTML version: multipart/alternative.
                html=html if html and content_type == "text/plain" else None,
            )
            for upload in self.request.files.get("attachment", []):
                if not upload.filename:
                    continue
                mime = upload.content_type
                if not mime or mime == "application/octet-stream":
                    mime = None  # guess from the file name
                msg.attach(upload.filename, mime=mime, content=upload.body)
            msg.attach(
                "fake.txt", mime="text/plain", charset="utf-8", content="this file is fake!"
            )
            msg.add_header("X-MailTag", "sampleUpload")  # a custom header
        except ValueError as error:
            self.set_status(400)
            self.render("response.html", title="Invalid message", response=str(error))
            return

        try:
            sent = yield cyclone.mail.sendmail(self.settings.email_settings, msg)
        except cyclone.mail.MailError as error:
            self.set_status(502)
            self.render("response.html", title="Failure", response=str(error))
            return
        response = "accepted for " + ", ".join(sent.accepted)
        if sent.refused:
            response += "; refused: " + ", ".join(sent.refused)
        self.render("response.html", title="Success", response=response)


class Application(cyclone.web.Application):
    def __init__(self, email_settings, email_from="cyclone demo <demo@example.com>"):
        handlers = [
            (r"/", IndexHandler),
            (r"/sendmail", SendmailHandler),
        ]
        settings = dict(
            template_path=os.path.join(HERE, "template"),
            email_from=email_from,
            email_settings=ObjectDict(email_settings),
        )
        cyclone.web.Application.__init__(self, handlers, **settings)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--from", dest="email_from", default="cyclone demo <demo@example.com>")
    parser.add_argument("--smtp-host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=None)
    parser.add_argument("--smtp-tls", choices=["required", "opportunistic", "off"], default="off")
    parser.add_argument("--smtp-ssl", action="store_true", help="implicit TLS (SMTPS)")
    parser.add_argument("--smtp-ca-file", help="PEM file of the CAs to trust")
    parser.add_argument("--smtp-username")
    parser.add_argument("--smtp-password")
    return parser.parse_args(argv)


def main(argv):
    arguments = parse_arguments(argv)
    email_settings = dict(
        host=arguments.smtp_host,  # mandatory
        port=arguments.smtp_port,  # optional: 25, 587 with tls="required", 465 with ssl
        tls=False if arguments.smtp_tls == "off" else arguments.smtp_tls,
        ssl=arguments.smtp_ssl,
        tls_ca_file=arguments.smtp_ca_file,  # optional: default the system's CAs
        username=arguments.smtp_username,  # optional
        password=arguments.smtp_password,  # optional
        timeout=30,
    )
    log.startLogging(sys.stderr, setStdout=False)
    application = Application(email_settings, arguments.email_from)
    port = reactor.listenTCP(arguments.port, application, interface="127.0.0.1")
    print(f"listening on http://127.0.0.1:{port.getHost().port}/", flush=True)
    reactor.run()


if __name__ == "__main__":
    main(sys.argv[1:])
