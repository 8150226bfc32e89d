"""A typed user application on cyclone-mail, checked by ``mypy --strict`` (nox -s typing).

Each ``# type: ignore[...]`` marks a deliberate mistake: mypy must see cyclone's
types to flag it, and --strict reports an ignore that flags nothing, so the
check fails if cyclone's types stop reaching users.
"""

from __future__ import annotations

import cyclone.mail


async def send_report(host: str) -> int:
    message = cyclone.mail.Message(
        "Ana <ana@example.com>", ["bob@example.com"], "Report", "Hi Bob.", html="<p>Hi Bob.</p>"
    )
    message.attach("report.txt", content=b"numbers", mime="text/plain")
    sent = await cyclone.mail.sendmail({"host": host, "port": 587, "tls": "required"}, message)
    message.attach(42)  # type: ignore[arg-type]
    return sent.accepted_count
