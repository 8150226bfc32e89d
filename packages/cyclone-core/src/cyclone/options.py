"""Command-line and config-file options that any module can define (Tornado's and cyclone 1.x's API).

    from cyclone.options import define, options, parse_command_line

    define("port", default=8888, help="port to listen on")
    define("debug", default=False, help="reload on changes, tracebacks in error pages")
    define("backends", type=int, multiple=True, help="backend ports, e.g. 8001:8004,9000")

    async def main():
        parse_command_line()                 # python app.py --port=9000 --debug
        app = Application(handlers, debug=options.debug)
        app.listen(options.port)
        ...

Each module defines the options it reads; the program's entry point parses the
command line (``--name=value``; ``--name`` alone for a bool; ``--`` ends the
options) and/or a config file, which is Python: its global names that match
options set them. ``options.name`` and ``options["name"]`` read a value;
``-`` and ``_`` are the same in names.

Types: ``str`` (the default without a ``default``), ``int``, ``float``,
``bool``, ``datetime.datetime`` (``2026-12-07 10:00``, ``20261207``,
``10:00``...), ``datetime.timedelta`` (``90s``, ``1h 30min``, ``2d``, ``500ms``;
units ``w d h m/min s/sec ms us``, a bare number is seconds) and any other
callable taking the text. With ``multiple=True`` the value is a list, given
comma-separated; an int list also takes inclusive ranges (``1:3`` is 1, 2, 3).

Defining a name twice, an unknown option, a missing value or one that does not
parse raises `Error`, which names the option and the value. Where this differs
from Tornado: a bool is ``true/false``, ``yes/no``, ``on/off``, ``t/f``,
``y/n`` or ``1/0`` (Tornado takes any other text as true), and an int may be
given for a float option.

The global `options` also has Tornado's ``--help`` (prints `print_help` and
exits) and ``--logging=debug|info|warning|error|critical|none`` (default
``info``): after the final parse, unless it is ``none``, log lines of that level
and above go to stderr, both cyclone's (twisted.logger, when nothing else has
started Twisted's logging, as twistd does) and the standard ``logging`` module's
(when its root logger has no handler yet).
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

__all__ = [
    "Error",
    "OptionParser",
    "add_parse_callback",
    "define",
    "options",
    "parse_command_line",
    "parse_config_file",
    "print_help",
]


class Error(Exception):
    """An option defined twice, unknown, missing its value, or given a value that does not parse."""


_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})

_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H:%M",
    "%Y%m%d",
    "%H:%M:%S",
    "%H:%M",
    "%a %b %d %H:%M:%S %Y",
)

_TIMEDELTA_UNITS = {
    "w": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "d": "days",
    "day": "days",
    "days": "days",
    "h": "hours",
    "hour": "hours",
    "hours": "hours",
    "m": "minutes",
    "min": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "s": "seconds",
    "sec": "seconds",
    "second": "seconds",
    "seconds": "seconds",
    "ms": "milliseconds",
    "millisecond": "milliseconds",
    "milliseconds": "milliseconds",
    "us": "microseconds",
    "microsecond": "microseconds",
    "microseconds": "microseconds",
}
_TIMEDELTA_PART = re.compile(
    r"\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)\s*,?"
)


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected true/false, yes/no, on/off or 1/0")


def _parse_datetime(text: str) -> datetime.datetime:
    for format in _DATETIME_FORMATS:
        try:
            return datetime.datetime.strptime(text.strip(), format)
        except ValueError:
            continue
    raise ValueError("not a date/time such as 2026-12-07 10:00, 20261207 or 10:00")


def _parse_timedelta(text: str) -> datetime.timedelta:
    total = datetime.timedelta()
    position = 0
    text = text.strip()
    if not text:
        raise ValueError("empty duration")
    while position < len(text):
        match = _TIMEDELTA_PART.match(text, position)
        if match is None or match.end() == position:
            raise ValueError("not a duration such as 90s, 1h 30min or 500ms")
        unit = _TIMEDELTA_UNITS.get(match.group(2).lower() or "s")
        if unit is None:
            raise ValueError(f"unknown unit {match.group(2)!r}")
        total += datetime.timedelta(**{unit: float(match.group(1))})
        position = match.end()
    return total


_PARSERS: dict[Any, Callable[[str], Any]] = {
    bool: _parse_bool,
    datetime.datetime: _parse_datetime,
    datetime.timedelta: _parse_timedelta,
    str: lambda text: text,
}


class _Option:
    """One defined option: its type, default, help and current value."""

    _UNSET: Any = object()

    def __init__(
        self,
        name: str,
        default: Any,
        type: Any,
        help: str | None,
        metavar: str | None,
        multiple: bool,
        file_name: str,
        group_name: str,
        callback: Callable[[Any], None] | None,
    ) -> None:
        self.name = name
        self.default = [] if default is None and multiple else default
        self.type = type
        self.help = help
        self.metavar = metavar
        self.multiple = multiple
        self.file_name = file_name
        self.group_name = group_name
        self.callback = callback
        self._value: Any = self._UNSET

    def value(self) -> Any:
        return self.default if self._value is self._UNSET else self._value

    def parse(self, text: str) -> Any:
        """Set the value from command-line text (comma-separated when ``multiple``)."""
        if self.multiple:
            value: Any = []
            for part in text.split(","):
                if not part.strip():
                    continue
                value.extend(self._parse_item(part))
        else:
            value = self._convert(text)
        self._store(value)
        return value

    def _parse_item(self, part: str) -> list[Any]:
        if self.type is int and ":" in part:
            low, _, high = part.partition(":")
            first, last = self._convert(low), self._convert(high)
            if last < first:
                raise Error(f"option {self.name!r}: range {part!r} ends before it starts")
            return list(range(first, last + 1))
        return [self._convert(part)]

    def _convert(self, text: str) -> Any:
        parser = _PARSERS.get(self.type, self.type)
        try:
            return parser(text.strip() if self.type is not str else text)
        except (ValueError, TypeError) as error:
            raise Error(
                f"option {self.name!r}: {text!r} is not a valid {self.type_name} ({error})"
            ) from error

    @property
    def type_name(self) -> str:
        return getattr(self.type, "__name__", repr(self.type))

    def set(self, value: Any) -> None:
        """Set the value from Python (a config file, ``options.name = ...``), checking its type."""
        if self.multiple:
            if isinstance(value, str):
                self.parse(value)
                return
            if not isinstance(value, (list, tuple)):
                raise Error(
                    f"option {self.name!r} takes a list of {self.type_name}, got {value!r}"
                )
            value = [self._check(item) for item in value]
        else:
            value = self._check(value)
        self._store(value)

    def _check(self, value: Any) -> Any:
        if value is None or not isinstance(self.type, type) or isinstance(value, self.type):
            return value
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        raise Error(
            f"option {self.name!r} takes a {self.type_name}, "
            f"got {value!r} ({type(value).__name__})"
        )

    def _store(self, value: Any) -> None:
        self._value = value
        if self.callback is not None:
            self.callback(value)


def _normalize(name: str) -> str:
    return name.replace("_", "-")


class OptionParser:
    """A set of options, read as attributes or items (``options.port``, ``options["port"]``)."""

    def __init__(self) -> None:
        # Attribute writes set option values, so internal state goes in __dict__ directly.
        self.__dict__["_options"] = {}
        self.__dict__["_parse_callbacks"] = []
        self.define("help", type=bool, help="show this help and exit", callback=self._help)
        self._options["help"].file_name = self._options["help"].group_name = ""

    # -- reading and writing values ------------------------------------------------------

    def _option(self, name: str) -> _Option:
        option = self._options.get(_normalize(name))
        if option is None:
            raise AttributeError(f"no option {name!r} is defined")
        return option

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._option(name).value()

    def __setattr__(self, name: str, value: Any) -> None:
        self._option(name).set(value)

    def __getitem__(self, name: str) -> Any:
        try:
            return self._option(name).value()
        except AttributeError as error:
            raise KeyError(name) from error

    def __setitem__(self, name: str, value: Any) -> None:
        try:
            option = self._option(name)
        except AttributeError as error:
            raise KeyError(name) from error
        option.set(value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _normalize(name) in self._options

    def __iter__(self) -> Iterator[str]:
        return iter([option.name for option in self._options.values()])

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` of every option."""
        return [(option.name, option.value()) for option in self._options.values()]

    def groups(self) -> set[str]:
        """The group names (by default, the file each option was defined in)."""
        return {option.group_name for option in self._options.values()}

    def group_dict(self, group: str) -> dict[str, Any]:
        """Names and values of one group's options (every option when ``group`` is empty).

        Handy for application settings: ``Application(handlers, **options.group_dict("app"))``.
        """
        return {
            option.name: option.value()
            for option in self._options.values()
            if not group or option.group_name == group
        }

    def as_dict(self) -> dict[str, Any]:
        """Names and values of every option."""
        return {option.name: option.value() for option in self._options.values()}

    # -- defining ----------------------------------------------------------------------

    def define(
        self,
        name: str,
        default: Any = None,
        type: Any = None,
        help: str | None = None,
        metavar: str | None = None,
        multiple: bool = False,
        group: str | None = None,
        callback: Callable[[Any], None] | None = None,
    ) -> None:
        """Define an option; ``type`` defaults to the default's type, else ``str``.

        ``callback(value)`` runs whenever the option is set (parsed or assigned):
        ``define("config", callback=lambda path: parse_config_file(path, final=False))``
        reads a config file named on the command line.
        """
        key = _normalize(name)
        if key in self._options:
            raise Error(
                f"option {name!r} is already defined in {self._options[key].file_name or '?'}"
            )
        if type is None:
            type = default.__class__ if default is not None and not multiple else str
            if multiple and default:
                type = default[0].__class__
        file_name = _caller_file()
        self._options[key] = _Option(
            name,
            default,
            type,
            help,
            metavar,
            multiple,
            file_name,
            group or file_name,
            callback,
        )

    # -- parsing -----------------------------------------------------------------------

    def parse_command_line(self, args: list[str] | None = None, final: bool = True) -> list[str]:
        """Set options from ``args`` (``sys.argv`` by default; ``args[0]`` is the program).

        Returns the arguments after the options: the first one not starting
        with ``-``, or everything after ``--``. ``final=False`` leaves the
        parse callbacks for a later call (to combine sources).
        """
        if args is None:
            args = sys.argv
        remaining: list[str] = []
        for index in range(1, len(args)):
            argument = args[index]
            if argument == "--":
                remaining = list(args[index + 1 :])
                break
            if not argument.startswith("-"):
                remaining = list(args[index:])
                break
            name, equals, text = argument.lstrip("-").partition("=")
            option = self._options.get(_normalize(name))
            if option is None:
                raise Error(f"unknown option --{name} (see --help)")
            if not equals:
                if option.type is not bool or option.multiple:
                    raise Error(f"option --{name} needs a value: --{name}=...")
                text = "true"
            option.parse(text)
        if final:
            self.run_parse_callbacks()
        return remaining

    def parse_config_file(self, path: str | os.PathLike[str], final: bool = True) -> None:
        """Set options from a Python file: its global names that match options.

        The file is executed (never read an untrusted one). ``__file__`` is
        its absolute path. Values are of the option's type, or text parsed as
        on the command line (a list, or comma-separated text, for ``multiple``).
        """
        path = os.fspath(path)
        namespace: dict[str, Any] = {"__file__": os.path.abspath(path)}
        with open(path, "rb") as source:
            code = compile(source.read(), path, "exec")
        exec(code, namespace)
        for name, value in namespace.items():
            option = self._options.get(_normalize(name))
            if option is None:
                continue
            if isinstance(value, str) and (option.type is not str or option.multiple):
                option.parse(value)
            else:
                option.set(value)
        if final:
            self.run_parse_callbacks()

    def add_parse_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every final parse (command line or config file)."""
        self._parse_callbacks.append(callback)

    def run_parse_callbacks(self) -> None:
        for callback in list(self._parse_callbacks):
            callback()

    # -- help --------------------------------------------------------------------------

    def print_help(self, file: TextIO | None = None) -> None:
        """Print every option, by group, with its help and default (to stderr by default)."""
        out = file if file is not None else sys.stderr
        print(
            f"Usage: {os.path.basename(sys.argv[0]) if sys.argv else 'program'} [OPTIONS]",
            file=out,
        )
        by_group: dict[str, list[_Option]] = {}
        for option in self._options.values():
            by_group.setdefault(option.group_name, []).append(option)
        for group in sorted(by_group):
            title = os.path.normpath(group) if group else "general"
            print(f"\n{title} options:\n", file=out)
            for option in sorted(by_group[group], key=lambda item: item.name):
                flag = "--" + _normalize(option.name)
                if option.metavar:
                    flag += "=" + option.metavar
                description = option.help or ""
                if option.default not in (None, "", []):
                    description += f" (default {option.default})"
                lines = textwrap.wrap(description, 48) or [""]
                if len(flag) > 28:
                    print(f"  {flag}", file=out)
                    lines_to_print: Iterable[str] = lines
                else:
                    print(f"  {flag:<28} {lines[0]}".rstrip(), file=out)
                    lines_to_print = lines[1:]
                for line in lines_to_print:
                    print(f"  {'':<28} {line}", file=out)
        print(file=out)

    def _help(self, value: bool) -> None:
        if value:
            self.print_help(sys.stdout)
            sys.exit(0)

    def mockable(self) -> _Mockable:
        """A wrapper ``unittest.mock.patch.object`` can patch option values through."""
        return _Mockable(self)


class _Mockable:
    """Lets ``mock.patch.object(options.mockable(), "port", 1)`` set and restore a value."""

    def __init__(self, parser: OptionParser) -> None:
        self.__dict__["_parser"] = parser
        self.__dict__["_saved"] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._saved.setdefault(name, getattr(self._parser, name))
        setattr(self._parser, name, value)

    def __delattr__(self, name: str) -> None:
        setattr(self._parser, name, self._saved.pop(name))


def _caller_file() -> str:
    """The file of the code that called ``define`` (skipping this module)."""
    frame = sys._getframe(1)
    here = __file__
    while frame is not None and frame.f_code.co_filename == here:
        frame = frame.f_back  # type: ignore[assignment]
    return frame.f_code.co_filename if frame is not None else ""


# -- the global options ----------------------------------------------------------------

options = OptionParser()
"""The options every module defines with `define` and the program parses."""

_LOG_LEVELS = ("debug", "info", "warning", "error", "critical", "none")


def _check_log_level(level: str) -> None:
    if level.lower() not in _LOG_LEVELS:
        raise Error(f"option 'logging': {level!r} is not one of {', '.join(_LOG_LEVELS)}")


def _start_logging() -> None:
    """After the final parse: send log lines of ``--logging`` level and above to stderr."""
    level = str(options.logging).lower()
    if level == "none":
        return
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=level.upper(), format="%(asctime)s [%(name)s#%(levelname)s] %(message)s"
        )
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    if getattr(globalLogBeginner, "_temporaryObserver", None) is None:
        return  # twistd (or the program) already started Twisted's logging
    twisted_level = LogLevel.levelWithName("warn" if level == "warning" else level)
    # zope.interface declarations that mypy cannot follow, hence Any.
    text: Any = textFileLogObserver(sys.stderr)
    predicate: Any = LogLevelFilterPredicate(defaultLogLevel=twisted_level)
    observer: Any = FilteringLogObserver(text, [predicate])
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)


options.define(
    "logging",
    default="info",
    help="log level shown on stderr: debug, info, warning, error, critical, or none to "
    "leave logging alone",
    metavar="LEVEL",
    group="logging",
    callback=_check_log_level,
)
options.add_parse_callback(_start_logging)


def define(
    name: str,
    default: Any = None,
    type: Any = None,
    help: str | None = None,
    metavar: str | None = None,
    multiple: bool = False,
    group: str | None = None,
    callback: Callable[[Any], None] | None = None,
) -> None:
    """Define an option of the global `options` (see `OptionParser.define`)."""
    options.define(name, default, type, help, metavar, multiple, group, callback)


def parse_command_line(args: list[str] | None = None, final: bool = True) -> list[str]:
    """Set the global `options` from the command line (see `OptionParser.parse_command_line`)."""
    return options.parse_command_line(args, final)


def parse_config_file(path: str | os.PathLike[str], final: bool = True) -> None:
    """Set the global `options` from a Python file (see `OptionParser.parse_config_file`)."""
    options.parse_config_file(path, final)


def print_help(file: TextIO | None = None) -> None:
    """Print the global `options` and their help."""
    options.print_help(file)


def add_parse_callback(callback: Callable[[], None]) -> None:
    """Call ``callback()`` after each final parse of the global `options`."""
    options.add_parse_callback(callback)
