"""Where a generated project installs cyclone from: PyPI, a checkout, or a directory of wheels.

    >>> from cyclone.skel.source import CycloneSource
    >>> CycloneSource.from_path("/src/cyclone").install_command()  # doctest: +SKIP
    'pip install -e ".[test]" /src/cyclone/packages/cyclone-core /src/cyclone/packages/cyclone-web'

Until cyclone-core and cyclone-web are published, ``pip install -e ".[test]"``
in a generated project finds no distribution on the index. The project's
README therefore carries an install command naming where they are: the
checkout of the cyclone repository (its ``packages/cyclone-core`` and
``packages/cyclone-web`` directories) or a directory holding their wheels
(``--find-links``). By default that is where cyclone-skel itself came from:
the checkout it runs from, or the directory or wheel pip installed it from
(PEP 610's ``direct_url.json``).
"""

from __future__ import annotations

import json
import os
import shlex
import urllib.parse
import urllib.request
from dataclasses import dataclass
from importlib import metadata

__all__ = ["PYPI", "CycloneSource", "SourceError", "detect"]

#: The distributions a generated project depends on.
REQUIRED = ("cyclone-core", "cyclone-web")
#: The value of ``--cyclone-from`` that means "from the package index".
PYPI = "pypi"
_EDITABLE_PROJECT = '-e ".[test]"'


class SourceError(ValueError):
    """A path given as the cyclone source is neither a checkout nor a directory of wheels."""


@dataclass(frozen=True)
class CycloneSource:
    """``kind`` is ``"pypi"``, ``"checkout"`` (``path`` is the repository) or ``"wheels"``."""

    kind: str
    path: str | None = None

    @classmethod
    def from_path(cls, path: str) -> CycloneSource:
        """A checkout of the cyclone repository, or a directory of wheels; else `SourceError`."""
        if path == PYPI:
            return cls(PYPI)
        directory = os.path.abspath(os.path.expanduser(path))
        if not os.path.isdir(directory):
            raise SourceError(f"cyclone source {path!r} is not a directory")
        if _is_checkout(directory):
            return cls("checkout", directory)
        if _has_wheels(directory):
            return cls("wheels", directory)
        raise SourceError(
            f"cyclone source {path!r} is neither a checkout of the cyclone repository "
            "(with packages/cyclone-core) nor a directory holding cyclone_core and "
            "cyclone_web wheels"
        )

    def install_command(self) -> str:
        """The ``pip install`` line that installs the project, editable, with its test tools."""
        if self.kind == "checkout":
            assert self.path is not None
            paths = [os.path.join(self.path, "packages", name) for name in REQUIRED]
            return " ".join(["pip install", _EDITABLE_PROJECT, *map(shlex.quote, paths)])
        if self.kind == "wheels":
            assert self.path is not None
            return f"pip install --find-links {shlex.quote(self.path)} {_EDITABLE_PROJECT}"
        return f"pip install {_EDITABLE_PROJECT}"

    def describe(self) -> str:
        """A few words for the README: where cyclone-core and cyclone-web come from."""
        if self.kind == "checkout":
            return f"the cyclone checkout in {self.path}"
        if self.kind == "wheels":
            return f"the wheels in {self.path}"
        return "PyPI"


def _is_checkout(directory: str) -> bool:
    return all(
        os.path.isfile(os.path.join(directory, "packages", name, "pyproject.toml"))
        for name in REQUIRED
    )


def _has_wheels(directory: str) -> bool:
    names = os.listdir(directory)
    return all(
        any(n.startswith(name.replace("-", "_") + "-") and n.endswith(".whl") for n in names)
        for name in REQUIRED
    )


def _checkout_of(path: str) -> str | None:
    """The repository root when ``path`` is inside ``<root>/packages/cyclone-skel``."""
    parts = os.path.abspath(path).split(os.sep)
    for index in range(len(parts) - 1, 0, -1):
        if parts[index - 1] == "packages" and parts[index] == "cyclone-skel":
            root = os.sep.join(parts[: index - 1]) or os.sep
            return root if _is_checkout(root) else None
    return None


def _installed_from() -> str | None:
    """The local directory or wheel file pip installed cyclone-skel from (PEP 610), if any."""
    try:
        text = metadata.distribution("cyclone-skel").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    try:
        url = json.loads(text)["url"]
    except (ValueError, KeyError, TypeError):
        return None
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "file":
        return None
    return urllib.request.url2pathname(parsed.path)


def detect() -> CycloneSource:
    """Where this cyclone-skel came from: its checkout, its wheel directory, else PyPI."""
    root = _checkout_of(__file__)
    if root is not None:
        return CycloneSource("checkout", root)
    origin = _installed_from()
    if origin is not None:
        if os.path.isdir(origin):
            root = _checkout_of(origin)
            if root is not None:
                return CycloneSource("checkout", root)
        elif origin.endswith(".whl"):
            directory = os.path.dirname(origin)
            if os.path.isdir(directory) and _has_wheels(directory):
                return CycloneSource("wheels", directory)
    return CycloneSource(PYPI)
