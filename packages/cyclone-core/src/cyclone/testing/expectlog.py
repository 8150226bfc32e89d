"""Tornado's `ExpectLog`: assert that a log message was emitted, through Twisted or stdlib logging.

    from cyclone.testing import ExpectLog

    with ExpectLog("cyclone", "Uncaught exception"):
        response = self.fetch("/fails")
    self.assertEqual(response.code, 500)

cyclone logs through ``twisted.logger`` (namespaces are module names, such as
``cyclone.handler``), other code through `logging`; `ExpectLog` watches both
for the logger name and its children. A matching stdlib record of that
logger itself is kept from its handlers, as Tornado's is. A Twisted event cannot be taken
back from the other observers, so it is still printed where logs go (under
``trial`` a matched traceback is taken out of trial's error record, as its
``flushLoggedErrors`` does).
"""

from __future__ import annotations

import logging
import re
import sys
from types import TracebackType
from typing import Any, cast

from twisted.logger import ILogObserver, LogLevel, formatEvent, globalLogPublisher

__all__ = ["ExpectLog"]

#: The stdlib level of each Twisted log level, for ``level=``.
_LEVELS = {
    LogLevel.debug: logging.DEBUG,
    LogLevel.info: logging.INFO,
    LogLevel.warn: logging.WARNING,
    LogLevel.error: logging.ERROR,
    LogLevel.critical: logging.CRITICAL,
}


class ExpectLog(logging.Filter):
    """Context manager that checks a message matching ``regex`` is logged under ``logger``.

    ``logger`` is a name (``""`` for everything), a `logging.Logger` or a
    ``twisted.logger.Logger``. With ``required`` (the default) leaving the
    block without a match raises `AssertionError`; ``level`` (a `logging`
    level) only counts messages at that level. ``matched`` counts matches and
    ``logged_stack`` says whether any matching message carried a traceback.
    """

    def __init__(
        self, logger: Any, regex: str, required: bool = True, level: int | None = None
    ) -> None:
        super().__init__()
        if isinstance(logger, logging.Logger):
            self.logger_name = "" if logger is logging.getLogger() else logger.name
        elif isinstance(logger, str):
            self.logger_name = logger
        else:
            self.logger_name = logger.namespace
        self.logger = logging.getLogger(self.logger_name or None)
        self.regex = re.compile(regex)
        self.required = required
        self.level = level
        self.matched = 0
        self.logged_stack = False
        self._original_level: int | None = None
        self._children = _ChildRecords(self)
        self._failure_types: set[type[BaseException]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        """Count a matching record of the logger itself and keep it from the handlers."""
        return not self._count(record)

    def _count(self, record: logging.LogRecord) -> bool:
        if self.level is not None and record.levelno != self.level:
            return False
        if not self.regex.match(record.getMessage()):
            return False
        self.matched += 1
        self.logged_stack = self.logged_stack or bool(record.exc_info)
        return True

    def _observe(self, event: dict[str, Any]) -> None:
        namespace = event.get("log_namespace") or ""
        name = self.logger_name
        if name and namespace != name and not namespace.startswith(name + "."):
            return
        if self.level is not None and _LEVELS.get(event.get("log_level")) != self.level:
            return
        if not self.regex.match(formatEvent(event)):
            return
        self.matched += 1
        if "log_failure" in event:
            self.logged_stack = True
            self._failure_types.add(event["log_failure"].type)

    def __enter__(self) -> ExpectLog:
        if self.level is not None and self.level < self.logger.getEffectiveLevel():
            self._original_level = self.logger.level
            self.logger.setLevel(self.level)
        self.logger.addFilter(self)
        self.logger.addHandler(self._children)
        globalLogPublisher.addObserver(cast(ILogObserver, self._observe))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        globalLogPublisher.removeObserver(cast(ILogObserver, self._observe))
        self.logger.removeHandler(self._children)
        self.logger.removeFilter(self)
        if self._original_level is not None:
            self.logger.setLevel(self._original_level)
        if self._failure_types:
            _forget_in_trial(self._failure_types)
        if kind is None and self.required and not self.matched:
            raise AssertionError(
                f"did not get expected log message matching {self.regex.pattern!r}"
                f" under {self.logger_name or 'the root logger'!r}"
            )


def _forget_in_trial(failure_types: set[type[BaseException]]) -> None:
    """Take expected tracebacks out of trial's record, which would fail the run with them.

    trial keeps every logged failure and reports it as an error; for its own
    TestCases ``flushLoggedErrors`` does this, and this does it for the plain
    `unittest` cases of `cyclone.testing` (through trial's private observer,
    present only when trial runs).
    """
    trial = sys.modules.get("twisted.trial._synctest")
    observer = getattr(trial, "_logObserver", None)
    flush = getattr(observer, "flushErrors", None)
    if flush is not None:
        flush(*failure_types)


class _ChildRecords(logging.Handler):
    """Counts the records child loggers propagate (the logger's filter only sees its own)."""

    def __init__(self, expectation: ExpectLog) -> None:
        super().__init__()
        self.expectation = expectation

    def emit(self, record: logging.LogRecord) -> None:
        self.expectation._count(record)
