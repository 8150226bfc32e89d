"""Generate a new cyclone project: a package, a twistd plugin, tests and systemd units.

    python -m cyclone.skel -p foobar
    cd foobar
    python3 -m venv .venv && . .venv/bin/activate
    pip install -e ".[test]" ...   # the line printed, and written in foobar/README.rst
    twistd -n foobar            # http://127.0.0.1:8888/, settings from ./foobar.conf

or from Python::

    from cyclone.skel import generate
    path = generate("foobar", target="/tmp", version="0.1")

The options are the old ``python -m cyclone.app`` ones (which still works):
``-p/--project``, ``-m/--modname``, ``-v/--version``, ``-s/--set-pkg-version``,
``-t/--target`` and ``-g/--git``, plus ``--cyclone-from``: where the project
installs cyclone-core and cyclone-web from (a checkout of the cyclone
repository, a directory of wheels, or ``pypi``; by default where cyclone-skel
itself was installed from, see `cyclone.skel.source`). The project is written from the files in
``cyclone/skel/template``: a path component ``__project__`` or ``__modname__``
is renamed, a file ending in ``.tmpl`` is rendered with `string.Template`
(``$modname``, ``$project``, ...; ``$$`` is a literal dollar sign) and loses
that suffix, any other file is copied byte for byte.
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import re
import secrets
import shutil
import string
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)
from cyclone.skel.source import PYPI, CycloneSource, SourceError, detect

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

__all__ = [
    "DEFAULT_VERSION",
    "CycloneSource",
    "ProjectSpec",
    "SkelError",
    "generate",
    "git_identity",
    "main",
    "next_steps",
    "render_tree",
]

DEFAULT_VERSION = "0.1"
DEFAULT_AUTHOR = "Foo Bar"
DEFAULT_EMAIL = "root@localhost"

# The old generator's rule: a letter or digit, then letters, digits, "_" or "-".
_PROJECT_NAME = re.compile(r"^[0-9a-z][0-9a-z_-]+$", re.IGNORECASE)
# Module names must be importable, and must not shadow what the project ships
# beside them (twisted/plugins, tests) or the framework itself.
_RESERVED_MODULE_NAMES = frozenset({"cyclone", "twisted", "tests", "test", "scripts"})
# PEP 440 public versions, loosely: "0.1", "1.0.0", "2.0rc1", "1.0.post2.dev3".
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?$")
_TEMPLATE_SUFFIX = ".tmpl"
_RENAMED_FILES = {"gitignore": ".gitignore"}


class SkelError(Exception):
    """The options cannot produce a project (bad name, existing directory, ...)."""


@dataclass
class ProjectSpec:
    """Everything the templates are rendered with."""

    project: str
    modname: str
    version: str = DEFAULT_VERSION
    author: str = DEFAULT_AUTHOR
    email: str = DEFAULT_EMAIL
    cookie_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    cyclone_source: CycloneSource = field(default_factory=lambda: CycloneSource(PYPI))

    def __post_init__(self) -> None:
        if not _PROJECT_NAME.match(self.project):
            raise SkelError(
                f"invalid project name {self.project!r}: use letters, digits, '_' and '-', "
                "at least two characters"
            )
        if not self.modname.isidentifier() or keyword.iskeyword(self.modname):
            raise SkelError(
                f"invalid module name {self.modname!r}: it must be a Python identifier "
                "(choose one with -m/--modname)"
            )
        if self.modname.lower() in _RESERVED_MODULE_NAMES:
            raise SkelError(
                f"module name {self.modname!r} is reserved: choose another with -m/--modname"
            )
        if not _VERSION.match(self.version):
            raise SkelError(f"invalid version {self.version!r}: use a PEP 440 version like 0.1")

    def substitutions(self) -> dict[str, str]:
        """The ``$names`` a template may use (``*_toml``: quoted as TOML strings)."""
        return {
            "author_toml": json.dumps(self.author, ensure_ascii=False),
            "email_toml": json.dumps(self.email, ensure_ascii=False),
            "project": self.project,
            "project_underline": "=" * len(self.project),
            "modname": self.modname,
            "version": self.version,
            "author": self.author,
            "email": self.email,
            "cookie_secret": self.cookie_secret,
            "install_command": self.cyclone_source.install_command(),
            "cyclone_source": self.cyclone_source.describe(),
        }


def _template_root() -> Traversable:
    return resources.files(__name__).joinpath("template")


def _target_name(name: str, spec: ProjectSpec) -> str:
    name = _RENAMED_FILES.get(name, name)
    name = name.replace("__project__", spec.project).replace("__modname__", spec.modname)
    if name.endswith(_TEMPLATE_SUFFIX):
        name = name[: -len(_TEMPLATE_SUFFIX)]
    return name


def render_tree(spec: ProjectSpec, destination: str) -> list[str]:
    """Write the rendered template tree into ``destination`` (which must not exist).

    Returns the written files' paths relative to ``destination``, sorted.
    """
    written: list[str] = []
    values = spec.substitutions()

    def walk(node: Traversable, directory: str, relative: str) -> None:
        os.makedirs(directory, exist_ok=True)
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name == "__pycache__":
                continue
            name = _target_name(child.name, spec)
            path = os.path.join(directory, name)
            rel = f"{relative}/{name}" if relative else name
            if child.is_dir():
                walk(child, path, rel)
            elif child.name.endswith(_TEMPLATE_SUFFIX):
                text = child.read_text(encoding="utf-8")
                try:
                    rendered = string.Template(text).substitute(values)
                except (KeyError, ValueError) as exc:
                    raise SkelError(f"template {child.name!r} is broken: {exc!r}") from exc
                with open(path, "w", encoding="utf-8", newline="\n") as out:
                    out.write(rendered)
                written.append(rel)
            else:
                with open(path, "wb") as out:
                    out.write(child.read_bytes())
                written.append(rel)

    walk(_template_root(), destination, "")
    return sorted(written)


def git_identity() -> tuple[str | None, str | None]:
    """Return git's ``user.name`` and ``user.email`` (None for an unset one)."""
    git = shutil.which("git")
    if git is None:
        raise SkelError("-g/--git needs git, and git is not on PATH")

    def read(key: str) -> str | None:
        result = subprocess.run(
            [git, "config", "--get", key], capture_output=True, text=True, check=False
        )
        value = result.stdout.strip()
        return value or None

    return read("user.name"), read("user.email")


def _init_git_repository(path: str) -> None:
    git = shutil.which("git")
    if git is None:
        raise SkelError("-g/--git needs git, and git is not on PATH")
    for command in (["init", "-q"], ["add", "."]):
        result = subprocess.run([git, *command], cwd=path, capture_output=True, text=True)
        if result.returncode:
            raise SkelError(f"git {' '.join(command)} failed in {path}: {result.stderr.strip()}")


def _source(cyclone_from: CycloneSource | str | None) -> CycloneSource:
    if cyclone_from is None:
        return detect()
    if isinstance(cyclone_from, CycloneSource):
        return cyclone_from
    try:
        return CycloneSource.from_path(cyclone_from)
    except SourceError as error:
        raise SkelError(str(error)) from None


def generate(
    project: str,
    *,
    modname: str | None = None,
    version: str = DEFAULT_VERSION,
    target: str = ".",
    set_pkg_version: bool = False,
    use_git: bool = False,
    cyclone_from: CycloneSource | str | None = None,
) -> str:
    """Create the project and return its directory.

    The directory is ``target/project`` (``target/project-version`` with
    ``set_pkg_version``). ``modname`` defaults to the project name with "-"
    turned into "_". ``use_git`` puts git's user.name and user.email in the
    project metadata and runs ``git init`` and ``git add .`` in it (no commit:
    that is yours to make). ``cyclone_from`` is where the project's README
    installs cyclone-core and cyclone-web from: a checkout of the cyclone
    repository, a directory of wheels, ``"pypi"``, or by default where
    cyclone-skel itself came from (`cyclone.skel.source.detect`).
    """
    if modname is None:
        modname = project.replace("-", "_")
    spec = ProjectSpec(project, modname, version, cyclone_source=_source(cyclone_from))
    if not os.path.isdir(target):
        raise SkelError(f"target directory {target!r} does not exist")
    if not os.access(target, os.W_OK | os.X_OK):
        raise SkelError(f"cannot create a project in {target!r}: permission denied")
    directory = f"{project}-{version}" if set_pkg_version else project
    path = os.path.join(target, directory)
    if os.path.lexists(path):
        raise SkelError(f"{path!r} already exists: remove it or choose another -t/--target")
    if use_git:
        git_name, git_email = git_identity()
        spec.author = git_name or spec.author
        spec.email = git_email or spec.email
    try:
        render_tree(spec, path)
        if use_git:
            _init_git_repository(path)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return path


def next_steps(directory: str, modname: str, source: CycloneSource) -> list[str]:
    """The shell lines that install, test and run a generated project (as its README says)."""
    return [
        f"cd {directory}",
        "python3 -m venv .venv && . .venv/bin/activate",
        source.install_command(),
        "pytest",
        f"twistd -n {modname}          # http://127.0.0.1:8888/, settings from {modname}.conf",
    ]


def _parser(prog: str, source: CycloneSource | None = None) -> argparse.ArgumentParser:
    """The command line; its example shows the install line for ``source`` (default: detected)."""
    if source is None:
        source = detect()
    steps = "\n".join("  " + line for line in next_steps("foobar", "foobar", source))
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Create a new cyclone project: a package with a web application, "
        "a twistd plugin, tests, and systemd units for deployment.",
        epilog=f"example:\n  %(prog)s -p foobar\n{steps}\n\n"
        f"cyclone-core and cyclone-web come from {source.describe()} (see --cyclone-from).\n"
        "On Debian and Ubuntu, python3 -m venv needs: sudo apt install python3-venv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-g",
        "--git",
        action="store_true",
        help="use git's name and email settings, and create a git repo on target",
    )
    parser.add_argument("-p", "--project", metavar="NAME", help="create new cyclone project")
    parser.add_argument(
        "-m",
        "--modname",
        metavar="NAME",
        help="use another name for the module [default: project name, '-' as '_']",
    )
    parser.add_argument(
        "-v",
        "--version",
        default=DEFAULT_VERSION,
        metavar="VERSION",
        help=f"set project version [default: {DEFAULT_VERSION}]",
    )
    parser.add_argument(
        "-s",
        "--set-pkg-version",
        action="store_true",
        help="set version on package (directory) name: NAME-VERSION [default: False]",
    )
    parser.add_argument(
        "-t",
        "--target",
        default=".",
        metavar="PATH",
        help="set path where project is created [default: ./]",
    )
    parser.add_argument(
        "--cyclone-from",
        metavar="PATH",
        help="where the project installs cyclone-core and cyclone-web from: a checkout of "
        "the cyclone repository, a directory of their wheels, or 'pypi' "
        "[default: where cyclone-skel came from, here: "
        f"{source.path if source.path else PYPI}]",
    )
    return parser


def _source_option(argv: Sequence[str] | None) -> str | None:
    """``--cyclone-from`` read ahead of the full parse, so ``--help`` shows its effect."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--cyclone-from")
    known, _ = early.parse_known_args(argv)
    return known.cyclone_from


def main(argv: Sequence[str] | None = None, prog: str = "python -m cyclone.skel") -> int:
    """Run the command line; returns the exit status (2 for usage errors, 1 for failures)."""
    try:
        source = _source(_source_option(argv))
    except SkelError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    parser = _parser(prog, source)
    options = parser.parse_args(argv)
    if options.project is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        path = generate(
            options.project,
            modname=options.modname,
            version=options.version,
            target=options.target,
            set_pkg_version=options.set_pkg_version,
            use_git=options.git,
            cyclone_from=source,
        )
    except SkelError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    modname = options.modname or options.project.replace("-", "_")
    print(f"Created {path}")
    for line in next_steps(path, modname, source):
        print("  " + line)
    return 0
