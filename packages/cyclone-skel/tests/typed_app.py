"""A typed use of cyclone-skel, checked by ``mypy --strict`` (nox -s typing).

Each ``# type: ignore[...]`` marks a deliberate mistake: mypy must see cyclone's
types to flag it, and --strict reports an ignore that flags nothing, so the
check fails if cyclone's types stop reaching users.
"""

from __future__ import annotations

import cyclone.skel


def new_project(target: str) -> str:
    path: str = cyclone.skel.generate("foobar", modname="foobar", target=target)
    cyclone.skel.generate("foobar", version=2)  # type: ignore[arg-type]
    return path
