"""Which reactor serves: Twisted's asyncio reactor on a running asyncio loop, or the installed one.

    async def main():
        app = cyclone.web.Application([(r"/", MainHandler)])
        app.listen(8888)                  # calls serving_reactor()
        await asyncio.Event().wait()

    asyncio.run(main())

`serving_reactor` is what ``Router.listen`` (and the in-process test client)
use to find a reactor. Outside a running asyncio loop it is simply
``twisted.internet.reactor``. Inside one (``asyncio.run``,
``IsolatedAsyncioTestCase``...) it is Twisted's asyncio reactor on that loop:

- no reactor installed yet: an `AsyncioSelectorReactor` is installed on the
  running loop and started (without signal handlers: the loop's owner has
  its own);
- the asyncio reactor already runs that loop (``reactor.run()``,
  ``twistd -r asyncio``): it is used as it is;
- ``asyncioreactor.install()`` ran before ``asyncio.run`` made its own loop
  (the usual way to install it before importing modules that import the
  reactor): the reactor, not started yet, moves onto the running loop with
  everything registered on it so far;
- any other reactor is installed (something imported
  ``twisted.internet.reactor`` first): `ReactorMismatch`, which says how to
  install the asyncio reactor early enough.

A reactor started here stops with the loop: when ``asyncio.run`` ends (the
main coroutine returned or Ctrl-C cancelled it), a watcher task it cancels
fires Twisted's shutdown (graceful-shutdown triggers, thread pools, open
connections) before the loop closes. The loop belongs to its owner, so
Twisted's shutdown never stops it; and a reactor cannot start twice, so one
process runs one such ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

__all__ = ["ReactorMismatch", "serving_reactor"]

log = Logger(namespace="cyclone.eventloop")

_INSTALL_EARLY = (
    "install the asyncio reactor before anything imports twisted.internet.reactor "
    "(twisted.mail, txredisapi, cyclone.mail and cyclone.redis do): put "
    "`from twisted.internet import asyncioreactor; asyncioreactor.install()` at the "
    "top of the program"
)


class ReactorMismatch(RuntimeError):
    """The installed reactor cannot serve the running asyncio loop."""


class _LoopOwnedElsewhere:
    """The running loop as the asyncio reactor sees it, minus ``stop()``.

    Twisted's shutdown stops the reactor's loop (its "crash" trigger); a loop
    that ``asyncio.run`` owns must keep running until its owner is done, or
    asyncio.run fails with "Event loop stopped before Future completed".
    Everything else goes to the loop itself.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.wrapped_loop = loop
        # The calls the reactor makes for every socket and timer, bound once.
        self.add_reader = loop.add_reader
        self.remove_reader = loop.remove_reader
        self.add_writer = loop.add_writer
        self.remove_writer = loop.remove_writer
        self.call_at = loop.call_at
        self.call_later = loop.call_later
        self.time = loop.time

    def stop(self) -> None:
        log.debug("Twisted's shutdown leaves the asyncio loop to its owner")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped_loop, name)


def serving_reactor() -> Any:
    """The reactor to listen with: the asyncio reactor on the running loop if there is one."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        from twisted.internet import reactor

        return reactor
    return _reactor_on(loop)


def _reactor_on(loop: asyncio.AbstractEventLoop) -> Any:
    installed = sys.modules.get("twisted.internet.reactor")
    if installed is None:
        from twisted.internet.asyncioreactor import AsyncioSelectorReactor
        from twisted.internet.main import installReactor

        reactor = AsyncioSelectorReactor(_LoopOwnedElsewhere(loop))  # type: ignore[arg-type]
        installReactor(reactor)
        _start(reactor, loop)
        return reactor
    current = getattr(installed, "_asyncioEventloop", None)
    if current is None:
        raise ReactorMismatch(
            f"cyclone is serving inside a running asyncio loop, but {type(installed).__name__} "
            f"is installed, not Twisted's asyncio reactor: {_INSTALL_EARLY}"
        )
    real = getattr(current, "wrapped_loop", current)
    if real is loop:
        if not installed.running:
            _own(installed, loop)
            _start(installed, loop)
        return installed
    if installed.running or real.is_running():
        raise ReactorMismatch(
            "Twisted's asyncio reactor runs another asyncio loop than the one serving "
            "here; a process has one reactor and one loop for it"
        )
    if getattr(installed, "_startedBefore", False):
        raise ReactorMismatch(
            "Twisted's reactor already ran and stopped (with an earlier asyncio.run() or "
            "reactor.run()); it cannot start again: serve from a single asyncio.run() per process"
        )
    _move(installed, real, loop)
    _start(installed, loop)
    return installed


def _own(reactor: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Make the reactor leave ``loop`` running when Twisted shuts down."""
    if not isinstance(reactor._asyncioEventloop, _LoopOwnedElsewhere):
        reactor._asyncioEventloop = _LoopOwnedElsewhere(loop)


def _move(reactor: Any, old: asyncio.AbstractEventLoop, new: asyncio.AbstractEventLoop) -> None:
    """Move a reactor that never ran from ``old`` (its own, idle loop) onto ``new``.

    ``asyncioreactor.install()`` outside a running loop makes a loop of its
    own, and ``asyncio.run`` then makes another: the reactor's file
    descriptors (its waker, anything listened on before) and its timer are
    re-registered on the new loop, and the old loop, which nothing else uses,
    is closed.
    """
    readers = list(reactor.getReaders())
    writers = list(reactor.getWriters())
    for reader in readers:
        reactor.removeReader(reader)
    for writer in writers:
        reactor.removeWriter(writer)
    handle = reactor._timerHandle
    if handle is not None:
        handle.cancel()
    reactor._timerHandle = None
    reactor._scheduledAt = None
    reactor._asyncioEventloop = _LoopOwnedElsewhere(new)
    for reader in readers:
        reactor.addReader(reader)
    for writer in writers:
        reactor.addWriter(writer)
    reactor._reschedule()
    if not old.is_closed():
        old.close()


def _start(reactor: Any, loop: asyncio.AbstractEventLoop) -> None:
    reactor.startRunning(installSignalHandlers=False)
    watcher = loop.create_task(_stop_with_loop(reactor, loop))
    _watchers.add(watcher)
    watcher.add_done_callback(_watchers.discard)


#: Keeps the watcher tasks alive (asyncio holds tasks only weakly).
_watchers: set[asyncio.Task[None]] = set()


async def _stop_with_loop(reactor: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Wait until the loop's owner cancels every task (asyncio.run ending), then stop Twisted."""
    try:
        await loop.create_future()
    except asyncio.CancelledError:
        if reactor.running:
            stopped: defer.Deferred[None] = defer.Deferred()
            reactor.addSystemEventTrigger("after", "shutdown", stopped.callback, None)
            reactor.stop()
            await stopped.asFuture(loop)
        raise
