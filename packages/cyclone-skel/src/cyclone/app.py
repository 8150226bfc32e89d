"""``python -m cyclone.app -p foobar``: the old cyclone name of the project generator.

    python -m cyclone.app -p foobar
    cd foobar
    twistd -n foobar

Same options as ``python -m cyclone.skel``, which is the new name. cyclone
1.x's functions `new_project` and `usage` are kept for scripts that called them.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

from cyclone.skel import DEFAULT_VERSION, _parser, generate, main

__all__ = ["main", "new_project", "usage"]


def new_project(**kwargs: Any) -> str:
    """Create a project from cyclone 1.x's arguments; returns its directory.

    ``project`` and ``project_path`` (``target/project`` or
    ``target/project-version``) are needed; ``modname``, ``version`` and
    ``use_git`` are honoured. 1.x's ``skel`` (a zip of the skeleton), ``name``,
    ``email``, ``license`` and ``cookie_secret`` are ignored: the skeleton is
    cyclone-skel's, the author comes from git with ``use_git``, and a cookie
    secret is generated when the project first runs.
    """
    project = kwargs["project"]
    project_path = os.path.normpath(kwargs["project_path"])
    version = kwargs.get("version") or DEFAULT_VERSION
    directory = os.path.basename(project_path)
    if directory not in (project, f"{project}-{version}"):
        raise ValueError(
            f"project_path must end in {project!r} or {project}-{version!r}, "
            f"got {kwargs['project_path']!r}"
        )
    return generate(
        project,
        modname=kwargs.get("modname"),
        version=version,
        target=os.path.dirname(project_path) or ".",
        set_pkg_version=directory != project,
        use_git=bool(kwargs.get("use_git")),
    )


def usage(version: str = DEFAULT_VERSION) -> NoReturn:
    """Print the generator's options and exit with status 0, as cyclone 1.x's did."""
    _parser("cyclone app").print_help(sys.stdout)
    sys.exit(0)


if __name__ == "__main__":
    sys.exit(main(prog="python -m cyclone.app"))
