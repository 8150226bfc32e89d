"""N worker processes serving one application on sockets the parent opened.

    $ twistd -n cyclone --app=myapp.Application --port=8888 --workers=4

The parent (`WorkerPool`) binds every listening socket once, then starts
each worker with ``spawnProcess``, handing the sockets down as inherited file
descriptors (``childFDs``); a worker adopts them with
``reactor.adoptStreamPort`` and the kernel spreads new connections over the
processes accepting on the same socket. The parent never accepts itself.

- A worker that exits while the pool is running is started again (after a
  delay that grows while workers keep dying right after starting).
- Stopping the parent (SIGTERM, SIGINT) stops the pool gracefully: the parent
  closes its copies of the sockets and sends SIGTERM to each worker, which
  stops accepting, lets its requests in flight finish (``--shutdown-timeout``)
  and runs the `cyclone.deploy.on_shutdown` hooks. A worker still alive a few
  seconds after the timeout is killed.
- Workers log to their stdout as JSON records; the parent re-emits every
  event into its own log (``twistd --logfile``) with ``log_system`` set to
  ``worker <pid>``, so one log shows every process.
- A worker whose parent disappeared (its stdin pipe closed) stops gracefully
  too, so no orphan keeps serving.
- With ``--reload`` (any number of workers, one by default) each worker
  watches the source files it imported (`cyclone.autoreload`) and exits with
  `cyclone.autoreload.RELOAD_EXIT_CODE` when one changes and compiles; the
  pool starts a new one at once. A worker whose application fails to load
  answers 500 with the traceback until the next change.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

from twisted.application import service
from twisted.internet import abstract, defer, endpoints, fdesc, protocol
from twisted.logger import (
    Logger,
    eventFromJSON,
    globalLogBeginner,
    globalLogPublisher,
    jsonFileLogObserver,
)
from twisted.python.failure import Failure

from cyclone import autoreload, deploy

__all__ = ["WorkerPool", "worker_main"]

log = Logger(namespace="cyclone.workers")

#: Seconds a worker gets beyond --shutdown-timeout before it is killed.
KILL_GRACE_SECONDS = 5.0
#: A worker that dies before serving, or this soon after, counts as crash-looping.
QUICK_DEATH_SECONDS = 2.0
#: The longest wait before restarting a crash-looping worker.
MAX_RESTART_DELAY = 30.0
#: Seconds a ``--reload`` worker gives requests in flight when it stops to reload.
RELOAD_SHUTDOWN_TIMEOUT = 2.0
#: First child file descriptor used for the inherited listening sockets.
FIRST_SOCKET_FD = 3

_BOOTSTRAP = "import sys; from cyclone.workers import worker_main; worker_main(sys.argv[1:])"


class _NeverAccepts(protocol.ServerFactory):
    """The parent's factory for the shared ports: it stops reading them, so never accepts."""

    def buildProtocol(self, addr: Any) -> None:  # pragma: no cover - never reading
        return None


class _WorkerProcess(protocol.ProcessProtocol):
    """One worker: relays its log records and tells the pool when it exits."""

    def __init__(self, pool: WorkerPool, slot: int) -> None:
        self.pool = pool
        self.slot = slot
        self.pid: int | None = None
        #: When the worker said it serves (None until then).
        self.ready_at: float | None = None
        self._records = b""
        self._stderr = b""
        self.ended: defer.Deferred[None] = defer.Deferred()

    def connectionMade(self) -> None:
        transport: Any = self.transport
        self.pid = transport.pid

    def outReceived(self, data: bytes) -> None:
        # jsonFileLogObserver writes "\x1e<json>\n"; JSON text never holds a raw newline.
        *records, self._records = (self._records + data).split(b"\n")
        for record in records:
            self._relay(record.lstrip(b"\x1e"))

    def errReceived(self, data: bytes) -> None:
        *lines, self._stderr = (self._stderr + data).split(b"\n")
        for line in lines:
            if line.strip():
                log.error(
                    "worker {pid}: {line}", pid=self.pid, line=line.decode("utf-8", "replace")
                )

    def _relay(self, record: bytes) -> None:
        text = record.strip()
        if not text:
            return
        try:
            event = eventFromJSON(text.decode("utf-8", "replace"))
        except ValueError:
            log.warn(
                "worker {pid} wrote a malformed log record: {record!r}", pid=self.pid, record=text
            )
            return
        if event.get("cyclone_worker_ready"):
            self.ready_at = time.monotonic()
        event["log_system"] = f"worker {self.pid}"
        event["cyclone_worker_pid"] = self.pid
        globalLogPublisher(event)

    def processEnded(self, reason: Failure) -> None:
        if self._records.strip():
            self._relay(self._records.lstrip(b"\x1e"))
        self._records = b""
        self.pool._worker_ended(self, reason)
        self.ended.callback(None)


class WorkerPool(service.Service):
    """Binds the sockets, keeps ``count`` workers running, stops them gracefully."""

    def __init__(
        self,
        config: dict[str, Any],
        listeners: Sequence[deploy.Listener],
        count: int,
        shutdown_timeout: float = deploy.DEFAULT_SHUTDOWN_TIMEOUT,
        reactor: Any = None,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.config = dict(config)
        # Workers run the reactor the parent runs (twistd --reactor=...).
        self.config.setdefault("reactor", type(reactor).__module__)
        self.listeners = list(listeners)
        self.count = count
        self.shutdown_timeout = shutdown_timeout
        self.ports: list[Any] = []
        self.workers: dict[int, _WorkerProcess] = {}
        self._restart_calls: dict[int, Any] = {}
        self._quick_deaths: dict[int, int] = {}
        self._stopping = False

    # -- sockets ---------------------------------------------------------------------

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        if self.ports:
            return
        for listener in self.listeners:
            endpoint = endpoints.serverFromString(self.reactor, listener.description)
            port = deploy._listen_now(endpoint, _NeverAccepts(), listener.description)
            port.stopReading()
            self.ports.append(port)
            log.info(
                "cyclone serving {app} on {scheme}://{address} with {count} workers",
                app=self.config["app"],
                scheme="https" if listener.tls else "http",
                address=deploy.describe_address(port.getHost()),
                count=self.count,
            )

    def startService(self) -> None:
        if not self.ports:
            self.privilegedStartService()
        super().startService()
        for slot in range(self.count):
            self._spawn(slot)

    # -- workers ---------------------------------------------------------------------

    def _spawn(self, slot: int) -> None:
        self._restart_calls.pop(slot, None)
        if self._stopping:
            return
        config = dict(self.config)
        child_fds: dict[int, Any] = {0: "w", 1: "r", 2: "r"}
        sockets = []
        for index, (port, listener) in enumerate(zip(self.ports, self.listeners)):
            fd = FIRST_SOCKET_FD + index
            child_fds[fd] = port.fileno()
            sockets.append({"fd": fd, "family": int(port.addressFamily), "tls": listener.tls})
        config["sockets"] = sockets
        worker = _WorkerProcess(self, slot)
        self.reactor.spawnProcess(
            worker,
            sys.executable,
            [sys.executable, "-c", _BOOTSTRAP, json.dumps(config)],
            env=dict(os.environ),
            childFDs=child_fds,
        )
        self.workers[slot] = worker
        log.info("worker {pid} started (slot {slot})", pid=worker.pid, slot=slot)

    def _worker_ended(self, worker: _WorkerProcess, reason: Failure) -> None:
        if self.workers.get(worker.slot) is worker:
            del self.workers[worker.slot]
        status = getattr(reason.value, "exitCode", None)
        signal_number = getattr(reason.value, "signal", None)
        if self._stopping:
            log.info(
                "worker {pid} stopped (exit {status}, signal {signal})",
                pid=worker.pid,
                status=status,
                signal=signal_number,
            )
            return
        if status == autoreload.RELOAD_EXIT_CODE and self.config.get("reload"):
            log.info("worker {pid} stopped to reload; starting a new one", pid=worker.pid)
            self._restart_calls[worker.slot] = self.reactor.callLater(0, self._spawn, worker.slot)
            return
        ready_at = worker.ready_at
        if ready_at is None or time.monotonic() - ready_at < QUICK_DEATH_SECONDS:
            self._quick_deaths[worker.slot] = self._quick_deaths.get(worker.slot, 0) + 1
        else:
            self._quick_deaths[worker.slot] = 0
        deaths = self._quick_deaths[worker.slot]
        delay = 0.0 if deaths == 0 else min(MAX_RESTART_DELAY, 0.5 * 2 ** (deaths - 1))
        log.warn(
            "worker {pid} died (exit {status}, signal {signal}); restarting in {delay}s",
            pid=worker.pid,
            status=status,
            signal=signal_number,
            delay=delay,
        )
        self._restart_calls[worker.slot] = self.reactor.callLater(delay, self._spawn, worker.slot)

    @property
    def pids(self) -> list[int]:
        """The process ids of the running workers."""
        return [w.pid for w in self.workers.values() if w.pid is not None]

    # -- stopping ----------------------------------------------------------------------

    def stopService(self) -> defer.Deferred[None]:
        super().stopService()
        self._stopping = True
        for call in self._restart_calls.values():
            if call.active():
                call.cancel()
        self._restart_calls.clear()
        ports, self.ports = self.ports, []
        for port in ports:
            port.stopListening()
        workers = list(self.workers.values())
        log.info(
            "stopping {count} workers (up to {timeout}s for requests in flight)",
            count=len(workers),
            timeout=self.shutdown_timeout,
        )
        for worker in workers:
            _signal(worker, "TERM")
        if not workers:
            return defer.succeed(None)
        kill = self.reactor.callLater(
            self.shutdown_timeout + KILL_GRACE_SECONDS, self._kill_remaining, workers
        )
        done = defer.DeferredList([w.ended for w in workers])

        def cancel_kill(result: Any) -> None:
            if kill.active():
                kill.cancel()

        return done.addCallback(cancel_kill)

    def _kill_remaining(self, workers: list[_WorkerProcess]) -> None:
        for worker in workers:
            if not worker.ended.called:
                log.warn("worker {pid} did not stop in time; killing it", pid=worker.pid)
                _signal(worker, "KILL")


def _signal(worker: _WorkerProcess, name: str) -> None:
    transport: Any = worker.transport
    try:
        transport.signalProcess(name)
    except Exception:  # the process already exited (ProcessExitedAlready) or never started
        log.debug("could not send SIG{name} to worker {pid}", name=name, pid=worker.pid)


# -- inside a worker ----------------------------------------------------------------------


class _ParentWatcher(abstract.FileDescriptor):
    """Reads the stdin pipe from the parent; its end means the parent is gone."""

    def __init__(self, fd: int, on_lost: Any, reactor: Any) -> None:
        super().__init__(reactor)
        self._fd = fd
        self._on_lost = on_lost
        fdesc.setNonBlocking(fd)

    def fileno(self) -> int:
        return self._fd

    def doRead(self) -> Any:
        return fdesc.readFromFD(self._fd, lambda data: None)

    def connectionLost(self, reason: Failure) -> None:
        super().connectionLost(reason)
        self._on_lost()


def _install_reactor(module_name: str | None) -> None:
    """Install the reactor whose module the parent named (epollreactor, pollreactor...)."""
    if not module_name or "twisted.internet.reactor" in sys.modules:
        return
    try:
        module = importlib.import_module(module_name)
        install = getattr(module, "install", None)
        if install is not None:
            install()
    except Exception:
        # The default reactor still serves; say why it is not the parent's.
        print(f"cannot install the reactor from {module_name!r}", file=sys.stderr)
        traceback.print_exc()


def worker_main(argv: Sequence[str]) -> None:
    """Run one worker from the JSON configuration the pool passed as ``argv[0]``."""
    config = json.loads(argv[0])
    for path in reversed(config.get("sys_path", [])):
        if path not in sys.path:
            sys.path.insert(0, path)
    _install_reactor(config.get("reactor"))
    from twisted.internet import reactor as installed_reactor

    reactor: Any = installed_reactor
    observers: list[Any] = [jsonFileLogObserver(sys.stdout)]
    globalLogBeginner.beginLoggingTo(observers, redirectStandardIO=False)
    reloading = bool(config.get("reload"))
    if reloading:
        app = _build_for_reload(config, reactor)
    else:
        autoreload.disable("twistd restarts the application only with --reload")
        app = deploy.build_application(config)
    sockets = config["sockets"]
    tls_context: Any = deploy.build_tls(config) if any(s["tls"] for s in sockets) else None
    ports = []
    for item in sockets:
        factory = app
        if item["tls"]:
            from twisted.protocols.tls import TLSMemoryBIOFactory

            factory = TLSMemoryBIOFactory(tls_context, False, app)
        ports.append(reactor.adoptStreamPort(item["fd"], item["family"], factory))
        os.close(item["fd"])
    timeout = config.get("shutdown_timeout", deploy.DEFAULT_SHUTDOWN_TIMEOUT)
    if reloading:
        timeout = min(timeout, RELOAD_SHUTDOWN_TIMEOUT)
    deploy.install_graceful_shutdown(ports, [app], timeout, reactor)

    def parent_gone() -> None:
        if reactor.running:
            log.warn("the worker pool's parent went away; stopping")
            reactor.stop()

    _ParentWatcher(0, parent_gone, reactor).startReading()

    def ready() -> None:
        # The parent turns Ctrl-C into SIGTERM for us; the terminal's SIGINT reaches
        # the whole process group, so ignore it here rather than stop twice.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log.info(
            "worker {pid} serving {app} ({reactor})",
            pid=os.getpid(),
            app=config["app"],
            reactor=type(reactor).__name__,
            cyclone_worker_ready=True,
        )

    reactor.callWhenRunning(ready)
    reactor.run()
    if _reload_requested:
        sys.exit(autoreload.RELOAD_EXIT_CODE)


#: Set when a --reload worker stops because a source file changed.
_reload_requested: list[str] = []


def _build_for_reload(config: dict[str, Any], reactor: Any) -> Any:
    """Build the application of a ``--reload`` worker, which exits when a source file changes.

    If building fails (a syntax error, an exception at import...), the worker
    logs it, answers every request with a 500 showing it, and waits for a
    change to one of the imported files or the files in the traceback.
    """

    def stop_for_reload(changed: list[str]) -> None:
        log.info("{paths} changed; reloading", paths=", ".join(changed))
        _reload_requested.extend(changed)
        if reactor.running:
            reactor.stop()

    try:
        app = deploy.build_application(config)
    except Exception as error:
        log.failure("the application failed to load; waiting for a change to reload it")
        autoreload.watch_until_changed(stop_for_reload, autoreload.failure_files(error))
        return _load_failure_application("".join(traceback.format_exception(error)))
    autoreload._start_watching(stop_for_reload, autoreload.DEFAULT_CHECK_TIME)
    return app


def _load_failure_application(text: str) -> Any:
    """A Router answering 500 with ``text`` (the traceback) while ``--reload`` waits for a fix."""
    from cyclone.handler import RequestHandler
    from cyclone.routing import Router

    class LoadFailed(RequestHandler):
        def prepare(self) -> None:
            self.set_status(500)
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.finish(
                "The application failed to load; it reloads when a file changes.\n\n" + text
            )

    return Router([], default_handler_class=LoadFailed)
