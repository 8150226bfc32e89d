"""Send a report by e-mail: python mail_example.py SMTP_HOST SMTP_PORT"""

import sys

from twisted.internet import defer, task

import cyclone.mail


async def main(reactor, host, port):
    message = cyclone.mail.Message(
        "Ana <ana@example.com>",
        ["bob@example.com"],
        "Report",
        "Hi Bob, the report is attached.",
        html="<p>Hi Bob, the report is <b>attached</b>.</p>",
    )
    message.attach("report.csv", content=b"day,visits\nmonday,12\n", mime="text/csv")
    # In production: "tls": "required" (STARTTLS) and "username"/"password".
    mailconf = {"host": host, "port": int(port), "tls": False, "timeout": 30}
    sent = await cyclone.mail.sendmail(mailconf, message)
    print("accepted:", sent.accepted)


task.react(lambda reactor: defer.ensureDeferred(main(reactor, *sys.argv[1:3])))
