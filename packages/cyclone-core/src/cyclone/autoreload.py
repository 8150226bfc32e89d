"""Restart the server when the source of an imported module changes (``debug=True``).

    app = cyclone.web.Application(handlers, debug=True)     # or autoreload=True
    app.listen(8888)                                         # or reactor.listenTCP(8888, app)

    $ twistd -n cyclone --app=myapp.Application --reload     # under twistd

A `Router` or `Application` with the ``autoreload`` setting (``debug=True``
implies it, ``autoreload=False`` turns it back off) calls `start` when it
begins listening. Every ``check_time`` seconds (half a second by default) the
modification times of every imported module's source file, and of the files
given to `watch`, are compared with the last ones seen.

When something changed, each changed ``.py`` file is compiled first. If one
does not compile, the error (file, line, message) is logged and the server
keeps running the code it has, waiting for the next change; once every
changed file compiles, the process restarts:

- in a ``reactor.run()`` script or under ``asyncio.run`` + ``listen()``, the
  process re-executes itself with the same interpreter and arguments
  (``os.execv``; ``python -m module`` is kept), after running the hooks given
  to `add_reload_hook`. Listening sockets close on exec and are opened again
  by the new process. An error the new code raises while starting (not a
  syntax error: a NameError at import, a failing database connection...)
  ends that process, as in Tornado.
- under ``twistd cyclone --reload`` the application runs in a worker process
  that the twistd process supervises (see `cyclone.workers`); the worker
  exits with `RELOAD_EXIT_CODE` and is started again at once. The twistd
  process keeps the listening sockets, so nothing is refused meanwhile, and a
  worker whose application fails to load for any reason logs the traceback,
  answers every request with a 500 showing it, and waits for the next change.

``twistd`` without ``--reload`` never restarts itself (its pid file and
daemonisation are not made for ``exec``): `ServerService` turns the setting
off there and says to use ``--reload``.

Templates and static-file hashes do not need this: with ``debug=True`` they
are re-read when they change.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from twisted.internet import task
from twisted.logger import Logger

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

__all__ = [
    "DEFAULT_CHECK_TIME",
    "RELOAD_EXIT_CODE",
    "add_reload_hook",
    "disable",
    "start",
    "watch",
]

log = Logger(namespace="cyclone.autoreload")

#: Seconds between two looks at the watched files (Tornado's default too).
DEFAULT_CHECK_TIME = 0.5
#: The exit status of a ``--reload`` worker that stopped because a file changed.
RELOAD_EXIT_CODE = 75

_extra_files: set[str] = set()
_reload_hooks: list[Callable[[], None]] = []
_watcher: _Watcher | None = None
_disabled_because: str | None = None


def watch(filename: str) -> None:
    """Also restart when ``filename`` (a config file, a data file...) changes."""
    _extra_files.add(os.path.abspath(filename))


def add_reload_hook(hook: Callable[[], None]) -> None:
    """Call ``hook()`` just before the process re-executes itself (close what exec would leak)."""
    _reload_hooks.append(hook)


def disable(reason: str) -> None:
    """Make `start` log ``reason`` instead of watching (twistd without ``--reload`` does this)."""
    global _disabled_because
    _disabled_because = reason


def start(check_time: float = DEFAULT_CHECK_TIME) -> None:
    """Watch the imported modules and re-execute the process when one changes (idempotent)."""
    if _disabled_because is None and sys.argv[:1] == ["-c"]:
        disable("a python -c program cannot be started again")
    if _disabled_because is not None:
        if not _reported_disabled:
            _reported_disabled.append(True)
            log.info("autoreload is off: {reason}", reason=_disabled_because)
        return
    _start_watching(_restart_process, check_time)


_reported_disabled: list[bool] = []


def _start_watching(on_change: Callable[[list[str]], None], check_time: float) -> _Watcher:
    global _watcher
    if _watcher is None:
        _watcher = _Watcher(on_change)
        _watcher.start(check_time)
    return _watcher


def _stop_watching() -> None:
    global _watcher
    watcher, _watcher = _watcher, None
    if watcher is not None:
        watcher.stop()


class _Watcher:
    """Polls modification times; calls ``on_change(paths)`` once every changed file compiles."""

    def __init__(self, on_change: Callable[[list[str]], None], extra: Iterable[str] = ()) -> None:
        self.on_change = on_change
        self.extra = set(extra)
        self.times: dict[str, float] = {}
        #: Changed files that do not compile, with their error; nothing restarts while any remain.
        self.broken: dict[str, str] = {}
        self.changed: set[str] = set()
        self._loop: task.LoopingCall | None = None
        self.check()  # the first look records the current times

    def start(self, check_time: float) -> None:
        from twisted.internet import reactor

        self._loop = task.LoopingCall(self.check)
        self._loop.clock = reactor
        self._loop.start(check_time, now=False).addErrback(
            lambda failure: log.failure("the autoreload watcher stopped", failure)
        )

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and loop.running:
            loop.stop()

    def paths(self) -> Iterator[str]:
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str):
                if path.endswith((".pyc", ".pyo")):
                    path = path[:-1]
                yield path
        yield from _extra_files
        yield from self.extra

    def check(self) -> None:
        times = self.times
        for path in self.paths():
            try:
                modified = os.stat(path).st_mtime
            except OSError:
                continue
            previous = times.get(path)
            times[path] = modified
            if previous is not None and previous != modified:
                self.changed.add(path)
        if not self.changed:
            return
        for path in sorted(self.changed):
            error = _compile_error(path)
            if error is None:
                if self.broken.pop(path, None) is not None:
                    log.info("{path} compiles again", path=path)
            elif self.broken.get(path) != error:
                self.broken[path] = error
                _tell(
                    "{path} does not compile, so the server keeps its current code until the "
                    "next change: {error}",
                    path=path,
                    error=error,
                )
        if self.broken:
            return
        changed, self.changed = sorted(self.changed), set()
        self.on_change(changed)


def _compile_error(path: str) -> str | None:
    """The SyntaxError a Python source file would raise on import, as text; None if it compiles."""
    if not path.endswith(".py"):
        return None
    try:
        with open(path, "rb") as source:
            compile(source.read(), path, "exec", dont_inherit=True)
    except OSError:
        return None  # removed or unreadable: the import will tell
    except SyntaxError as error:
        return f"{type(error).__name__}: {error.msg} ({error.filename}, line {error.lineno})"
    except (ValueError, UnicodeDecodeError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def _tell(message: str, **fields: Any) -> None:
    """Log ``message``, on stderr too when nothing observes the log (a plain script)."""
    from cyclone.routing import _someone_is_listening

    if "error" in fields:
        log.error(message, **fields)
    else:
        log.info(message, **fields)
    if not _someone_is_listening():
        print("cyclone.autoreload: " + message.format(**fields), file=sys.stderr, flush=True)


def _restart_process(changed: list[str]) -> None:
    _tell("{paths} changed; restarting", paths=", ".join(changed))
    for hook in _reload_hooks:
        try:
            hook()
        except Exception:
            log.failure("reload hook {hook!r} failed", hook=hook)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    argv = _command_line()
    os.execv(sys.executable, [sys.executable, *argv])


def _command_line() -> list[str]:
    """The arguments that start this program again (``-m module`` kept, warnings kept)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    warnings = [f"-W{option}" for option in sys.warnoptions]
    if spec is not None and spec.name != "__main__":
        name = spec.name.removesuffix(".__main__")
        return [*warnings, "-m", name, *sys.argv[1:]]
    return [*warnings, *sys.argv]


def failure_files(error: BaseException) -> set[str]:
    """The source files behind an exception: every frame's, and a SyntaxError's own file."""
    files = {frame.filename for frame in traceback.extract_tb(error.__traceback__)}
    if isinstance(error, SyntaxError) and error.filename:
        files.add(error.filename)
    return {os.path.abspath(name) for name in files if os.path.exists(name)}


def watch_until_changed(
    on_change: Callable[[list[str]], None],
    extra: Iterable[str] = (),
    check_time: float = DEFAULT_CHECK_TIME,
) -> Any:
    """Watch the imported modules plus ``extra``; for a worker whose application failed to load."""
    global _watcher
    _stop_watching()
    _watcher = _Watcher(on_change, extra)
    _watcher.start(check_time)
    return _watcher
