"""The ``cyclone`` console command, as cyclone 1.x had it.

    cyclone run app.py                   # twistd -n cyclone --app=app.py
    cyclone run --port 9000 app.py
    cyclone run -r myapp.web.Application -c settings.conf
    cyclone app -p foobar                # the project generator (cyclone-skel)

``cyclone run`` is ``twistd -n cyclone`` (see `cyclone.deploy` for every
option) and also takes cyclone 1.x's spellings: the application as a file
given without ``--app`` (its ``Application``, ``application`` or ``app``, else
the first class deriving from an ``Application`` or ``Router``), and
``-c`` for ``--appopts``. 1.x's ``--ssl-app``, ``--ssl-appopts`` and
``--ssl-listen`` go to twistd, which serves ``--ssl-app`` on the TLS port.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Sequence
from typing import Any

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

__all__ = ["main", "run_arguments"]

USAGE = """\
usage: cyclone run [options] [app.py]     run an application (twistd -n cyclone)
       cyclone app [options]              create a project (needs cyclone-skel)

cyclone run --help lists the options; 1.x's `cyclone run server.py` still works."""


class CommandLineError(Exception):
    """A ``cyclone`` command line that cannot be run; the message says what to change."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``cyclone run ...`` or ``cyclone app ...``; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    try:
        if command == "run":
            return _run(rest)
        if command == "app":
            return _generate(rest)
        raise CommandLineError(f"unknown command {command!r}: use run or app")
    except CommandLineError as error:
        print(f"cyclone {command}: {error}", file=sys.stderr)
        return 2


def _run(args: list[str]) -> int:
    from twisted.scripts.twistd import run as twistd

    sys.argv = ["twistd", "-n", "cyclone", *run_arguments(args)]
    twistd()
    return 0


def _generate(args: list[str]) -> int:
    try:
        from cyclone.skel import main as skel_main
    except ImportError:
        raise CommandLineError(
            "the project generator is in cyclone-skel: pip install cyclone-skel"
        ) from None
    return skel_main(args, prog="cyclone app")


def run_arguments(args: Sequence[str]) -> list[str]:
    """``twistd cyclone`` arguments for a ``cyclone run`` command line (1.x spellings too)."""
    long_values, short_values = _options_with_values()
    translated: list[str] = []
    positional: list[str] = []
    has_app = False
    index = 0
    while index < len(args):
        argument = args[index]
        index += 1
        if argument == "--":
            positional.extend(args[index:])
            break
        if argument.startswith("--"):
            name, equals, value = argument[2:].partition("=")
            has_app = has_app or name == "app"
            translated.append(argument)
            if name in long_values and not equals:
                translated.extend(args[index : index + 1])
                index += 1
        elif argument.startswith("-") and len(argument) > 1:
            letter, attached = argument[1], argument[2:]
            if letter == "c":  # 1.x's short option for --appopts
                value = attached or _next(args, index, "-c")
                index += 0 if attached else 1
                translated.append(f"--appopts={value}")
                continue
            has_app = has_app or letter == "r"
            translated.append(argument)
            if letter in short_values and not attached:
                translated.extend(args[index : index + 1])
                index += 1
        else:
            positional.append(argument)
    if len(positional) > 1:
        raise CommandLineError(f"one application file at most, got {positional}")
    if positional:
        if has_app:
            raise CommandLineError(f"give the application once: --app or {positional[0]!r}")
        translated.append(f"--app={application_in_file(positional[0])}")
    return translated


def _next(args: Sequence[str], index: int, option: str) -> str:
    if index >= len(args):
        raise CommandLineError(f"{option} needs a value")
    return args[index]


def _options_with_values() -> tuple[set[str], set[str]]:
    """The long and short ``twistd cyclone`` options that take a value."""
    from cyclone.deploy import Options

    long_names: set[str] = set()
    short_names: set[str] = set()
    parameters: list[Any] = list(Options.optParameters)
    for long_name, short_name, *_ in parameters:
        long_names.add(long_name)
        if short_name:
            short_names.add(short_name)
    for attribute in dir(Options):
        method = getattr(Options, attribute)
        if attribute.startswith("opt_") and method.__code__.co_argcount == 2:
            name = attribute[4:].replace("_", "-")
            (short_names if len(name) == 1 else long_names).add(name)
    return long_names, short_names


_DEFAULT_NAMES = ("Application", "application", "app")
_APPLICATION_BASES = ("Application", "Router")


def application_in_file(path: str) -> str:
    """``path``, or ``path:Name`` when the file's application has another name (as 1.x found it).

    The file is read, not run: it runs once, when twistd loads it. A name
    imported into the file (``from cyclone.web import Application``) is not its
    application; a class defined there deriving from one is.
    """
    if not os.path.isfile(path):
        raise CommandLineError(f"no such application file {path!r}")
    with open(path, "rb") as file:
        try:
            tree = ast.parse(file.read(), path)
        except SyntaxError as error:
            raise CommandLineError(f"{path!r} is not Python: {error}") from None
    defined: list[str] = []
    derived: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            defined.append(node.name)
            if any(_base_name(base).endswith(_APPLICATION_BASES) for base in node.bases):
                derived.append(node.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defined.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined.extend(target.id for target in targets if isinstance(target, ast.Name))
    if any(name in defined for name in _DEFAULT_NAMES) or not derived:
        return path
    return f"{path}:{derived[0]}"


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


if __name__ == "__main__":
    sys.exit(main())
