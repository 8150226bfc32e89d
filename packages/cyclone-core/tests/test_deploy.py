"""The twistd plugin's options, application loading, graceful shutdown, and twistd itself."""

from __future__ import annotations

import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.task import deferLater
from twisted.python import usage

sys.path.insert(0, str(Path(__file__).parent))

from deploy_helpers import (
    PROCESS_TIMEOUT,
    TEST_APP,
    ServerProcess,
    make_certificates,
    twistd,
)

from cyclone import deploy
from cyclone.handler import RequestHandler
from cyclone.httpserver import HTTPServer
from cyclone.httputil import HTTPHeaders
from cyclone.routing import Router


def parse(*argv: str) -> deploy.Options:
    options = deploy.Options()
    options.parseOptions(list(argv))
    return options


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory holding ``testapp.py``, importable as ``testapp``."""
    (tmp_path / "testapp.py").write_text(TEST_APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    sys.modules.pop("testapp", None)


# -- options ---------------------------------------------------------------------------


def test_without_listening_options_it_listens_on_localhost_8888() -> None:
    options = parse("--app=x.Y")
    assert options["listeners"] == [deploy.Listener("tcp:8888:interface=127.0.0.1")]


def test_old_style_listen_address_sets_the_interface() -> None:
    options = parse("--app=x.Y", "-p", "9000", "-l", "0.0.0.0")
    assert options["listeners"] == [deploy.Listener("tcp:9000:interface=0.0.0.0")]


def test_ipv6_interface_uses_a_tcp6_endpoint() -> None:
    options = parse("--app=x.Y", "--interface=::1", "--port=9000")
    assert options["listeners"] == [deploy.Listener("tcp6:9000:interface=\\:\\:1")]


def test_listen_endpoints_and_unix_replace_the_default_port() -> None:
    options = parse("--app=x.Y", "--listen=tcp:8001", "--listen=tcp6:8002", "--unix=/tmp/a.sock")
    assert [item.description for item in options["listeners"]] == [
        "tcp:8001",
        "tcp6:8002",
        "unix:/tmp/a.sock",
    ]


def test_ssl_port_adds_a_tls_listener() -> None:
    options = parse("--app=x.Y", "--ssl-port=8443", "--ssl-cert=c.pem")
    assert options["listeners"] == [deploy.Listener("tcp:8443:interface=127.0.0.1", tls=True)]


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "--app is required"),
        (["--app=x.Y", "--ssl-port=8443"], "--ssl-port needs"),
        (["--app=x.Y", "--ssl-cert=c.pem"], "need --ssl-port"),
        (["--app=x.Y", "--access-log-format=apache"], "'apache'"),
        (["--app=x.Y", "--workers=-1"], "--workers"),
        (["--app=x.Y", "--sni=onlyname"], "hostname:cert.pem"),
        (["--app=x.Y", "--workers=2", "--listen=ssl:8443:privateKey=k.pem"], "--ssl-port"),
    ],
)
def test_invalid_options_are_usage_errors(argv: list[str], message: str) -> None:
    with pytest.raises(usage.UsageError, match=message.replace("-", r"\-").replace(".", r"\.")):
        parse(*argv)


def test_1x_positional_application_is_the_app() -> None:
    assert parse("--port=9000", "myapp.Application")["app"] == "myapp.Application"
    assert parse("--app=myapp.Application", "myapp.Application")["app"] == "myapp.Application"


def test_1x_positional_file_names_the_application_class_it_defines(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "site.py").write_text(
        "from cyclone.routing import Router\n\nclass Site(Router):\n    pass\n"
    )
    assert parse("site.py")["app"] == "site.py:Site"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--app=a.App", "b.App"], "give the application once: --app=a.App or 'b.App'"),
        (["a.App", "--port=1"], "one application at most, got ['a.App', '--port=1'] (options go"),
        (["missing.py"], "no such application file 'missing.py'"),
        (["--ssl-app=a.App", "--app=b.App", "--workers=2"], "--ssl-app with another --app"),
        (["--app=a.App", "-l", "myhost.example"], "--listen 'myhost.example' is neither an IP"),
    ],
)
def test_1x_forms_that_cannot_run_are_one_line_usage_errors(argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(usage.UsageError) as caught:
        parse(*argv)
    assert str(caught.value).startswith(message)


def test_1x_ssl_app_alone_is_the_app_on_1xs_tls_port_and_files() -> None:
    options = parse("--ssl-app=a.App", "--ssl-appopts=x=1", "--ssl-listen=0.0.0.0")
    assert (options["app"], options["appopts"], options["ssl-app"]) == ("a.App", ["x=1"], None)
    assert (options["ssl-cert"], options["ssl-key"]) == ("server.crt", "server.key")
    assert options["listeners"] == [deploy.Listener("tcp:8443:interface=0.0.0.0", tls=True)]


def test_1x_ssl_app_beside_another_app_keeps_both_and_the_plain_port() -> None:
    options = parse("--app=a.App", "--ssl-app=b.App", "--ssl-port=9443", "--ssl-cert=c.pem")
    assert (options["app"], options["ssl-app"]) == ("a.App", "b.App")
    assert options["listeners"] == [
        deploy.Listener("tcp:8888:interface=127.0.0.1"),
        deploy.Listener("tcp:9443:interface=127.0.0.1", tls=True),
    ]
    assert options.worker_config()["ssl_app"] == "b.App"


def test_workers_zero_means_one_per_cpu() -> None:
    assert parse("--app=x.Y", "--workers=0")["workers"] == (os.cpu_count() or 1)


def test_sni_entries_take_an_optional_key() -> None:
    options = parse("--app=x.Y", "--ssl-port=1", "--sni=a.test:a.crt:a.key", "--sni=b.test:b.pem")
    assert options["sni"] == {"a.test": ("a.crt", "a.key"), "b.test": ("b.pem", None)}


def test_appopts_values_are_read_as_json_when_they_can_be() -> None:
    args, kwargs = deploy.parse_appopts(
        ["debug=true", "port=8080", "name=site", "ratio=0.5", "tags=[1, 2]", "legacy.conf"]
    )
    assert kwargs == {"debug": True, "port": 8080, "name": "site", "ratio": 0.5, "tags": [1, 2]}
    assert args == ["legacy.conf"]


# -- loading the application ---------------------------------------------------------------


def test_a_class_is_instantiated_with_the_appopts(app_dir: Path) -> None:
    app = deploy.load_application("testapp.Application", (), {"greeting": "hello"})
    assert type(app).__name__ == "Application"
    assert app.settings["greeting"] == "hello"


def test_a_module_colon_factory_is_called(app_dir: Path) -> None:
    app = deploy.load_application("testapp:make_app", (), {"debug": False})
    assert app.settings["greeting"] == "factory"
    assert app.settings["debug"] is False


def test_an_instance_is_used_as_is_and_appopts_update_its_settings(app_dir: Path) -> None:
    app = deploy.load_application("testapp.instance", (), {"extra": 1})
    assert app.settings["greeting"] == "instance"
    assert app.settings["extra"] == 1


def test_server_settings_in_appopts_reach_an_instances_server(app_dir: Path) -> None:
    app = deploy.load_application(
        "testapp.instance", (), {"write_timeout": 5, "max_connections": 7}
    )
    assert (app.write_timeout, app.max_connections) == (5, 7)
    assert app.settings["max_connections"] == 7


def test_a_file_path_is_imported_and_its_application_found(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "site_app.py").write_text(TEST_APP)
    try:
        default = deploy.load_application(str(other / "site_app.py"))
        named = deploy.load_application(f"{other / 'site_app.py'}:instance")
    finally:
        sys.modules.pop("site_app", None)
    assert type(default).__name__ == "Application"
    assert named.settings["greeting"] == "instance"


def test_something_that_is_not_a_server_factory_is_refused(app_dir: Path) -> None:
    with pytest.raises(usage.UsageError, match="not a server factory"):
        deploy.load_application("os.getcwd")


def test_a_missing_module_is_a_usage_error() -> None:
    with pytest.raises(usage.UsageError, match="no module named 'no_such_module_here'"):
        deploy.load_application("no_such_module_here.App")


def test_a_missing_attribute_names_the_module_it_is_missing_from(app_dir: Path) -> None:
    with pytest.raises(usage.UsageError, match="module 'testapp' has no 'Nope'"):
        deploy.load_application("testapp.Nope")
    with pytest.raises(usage.UsageError, match="module 'testapp' has no 'nope'"):
        deploy.load_application("testapp:nope")


def test_a_module_without_an_attribute_asks_for_the_application_in_it(app_dir: Path) -> None:
    with pytest.raises(usage.UsageError, match="'testapp' is a module; name the application"):
        deploy.load_application("testapp")


def test_a_dependency_missing_from_the_app_module_is_named(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "needs_dependency.py").write_text("import no_such_dependency_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        usage.UsageError,
        match="importing 'needs_dependency' failed: No module named 'no_such_dependency_here'",
    ):
        deploy.load_application("needs_dependency.Application")


def test_an_error_raised_by_the_app_module_itself_keeps_its_traceback(
    tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "broken_app_module.py").write_text("raise RuntimeError('bug in the app')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(RuntimeError, match="bug in the app"):
            deploy.load_application("broken_app_module.Application")
    finally:
        sys.modules.pop("broken_app_module", None)


def test_access_log_format_option_lands_in_the_settings(app_dir: Path) -> None:
    config = parse("--app=testapp.Application", "--access-log-format=json").worker_config()
    app = deploy.build_application(config)
    assert app.settings["access_log_format"] == "json"


# -- graceful shutdown, in process ------------------------------------------------------------


class _Gate(RequestHandler):
    """Answers once the test fires ``release``."""

    def initialize(self, release: defer.Deferred[None], entered: defer.Deferred[None]) -> None:
        self.release = release
        self.entered = entered

    async def get(self) -> None:
        self.entered.callback(None)
        await self.release
        self.write("done")


def _gated_router() -> tuple[Router, defer.Deferred[None], defer.Deferred[None]]:
    release: defer.Deferred[None] = defer.Deferred()
    entered: defer.Deferred[None] = defer.Deferred()
    app = Router([(r"/gate", _Gate, {"release": release, "entered": entered})], access_log=False)
    return app, release, entered


@pytest_twisted.ensureDeferred
async def test_shutdown_closes_idle_keep_alive_connections(listener) -> None:
    app = Router([(r"/", _Gate)], access_log=False)
    port = reactor.listenTCP(0, app, interface="127.0.0.1")
    client = await listener.connect(port.getHost().port)
    await deploy.graceful_shutdown([port], [app], timeout=PROCESS_TIMEOUT)
    await client.wait_closed()
    assert client.data == b""
    assert not app.connections


@pytest_twisted.ensureDeferred
async def test_shutdown_lets_the_request_in_flight_finish_with_connection_close(listener) -> None:
    app, release, entered = _gated_router()
    port = reactor.listenTCP(0, app, interface="127.0.0.1")
    client = await listener.connect(port.getHost().port)
    client.send(b"GET /gate HTTP/1.1\r\nHost: x\r\n\r\n")
    await entered
    await port.stopListening()
    stopped = deploy.graceful_shutdown([], [app], timeout=PROCESS_TIMEOUT)
    assert not stopped.called
    release.callback(None)
    [response] = await client.wait_responses(1)
    await client.wait_closed()
    await stopped
    assert response.status == 200
    assert response.body == b"done"
    assert response.headers["Connection"] == "close"


@pytest_twisted.ensureDeferred
async def test_a_request_head_arriving_during_shutdown_is_answered_then_closed(listener) -> None:
    app = Router([(r"/", _Hello)], access_log=False)
    port = reactor.listenTCP(0, app, interface="127.0.0.1")
    client = await listener.connect(port.getHost().port)
    client.send(b"GET / HTTP/1.1\r\nHo")
    [connection] = await _wait_for_connections(app, 1)
    await _wait_until(lambda: connection._parser.buffered > 0)
    await port.stopListening()
    stopped = deploy.graceful_shutdown([], [app], timeout=PROCESS_TIMEOUT)
    client.send(b"st: x\r\n\r\n")
    [response] = await client.wait_responses(1)
    await client.wait_closed()
    await stopped
    assert response.body == b"hello"
    assert response.headers["Connection"] == "close"


@pytest_twisted.ensureDeferred
async def test_detached_connections_do_not_hold_up_shutdown(listener) -> None:
    from twisted.internet import protocol

    class Upgraded(protocol.Protocol):
        def connectionMade(self) -> None:
            self.transport.write(b"upgraded\n")

    def upgrade(request) -> None:
        request.connection.write_headers(101, "Switching Protocols", HTTPHeaders())
        request.connection.detach(Upgraded())

    server = HTTPServer(upgrade)
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    client = await listener.connect(port.getHost().port)
    client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await client.wait_until(lambda: b"upgraded" in client.data)
    await deploy.graceful_shutdown([port], [server], timeout=PROCESS_TIMEOUT)
    assert not client.is_closed  # the upgraded protocol closes it (an on_shutdown hook)


class _Hello(RequestHandler):
    def get(self) -> None:
        self.write("hello")


async def _wait_until(predicate) -> None:
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        await deferLater(reactor, 0.01, lambda: None)


async def _wait_for_connections(app, count: int) -> list:
    await _wait_until(lambda: len(app.connections) >= count)
    return list(app.connections)


@pytest_twisted.ensureDeferred
async def test_shutdown_aborts_what_is_still_open_after_the_timeout(listener) -> None:
    app, release, entered = _gated_router()
    port = reactor.listenTCP(0, app, interface="127.0.0.1")
    client = await listener.connect(port.getHost().port)
    client.send(b"GET /gate HTTP/1.1\r\nHost: x\r\n\r\n")
    await entered
    await deploy.graceful_shutdown([port], [app], timeout=0.05)
    await client.wait_closed()
    assert client.responses() == []
    release.callback(None)  # the handler finishing late must not raise


@pytest_twisted.ensureDeferred
async def test_shutdown_hooks_get_the_timeout_and_a_failing_hook_does_not_block() -> None:
    seen: list[float] = []

    async def closer(timeout: float) -> None:
        seen.append(timeout)

    def broken(timeout: float) -> None:
        raise RuntimeError("hook bug")

    before = list(deploy.shutdown_hooks)
    with deploy.shutdown_hooks.scoped():
        deploy.on_shutdown(closer)
        deploy.on_shutdown(broken)
        await deploy.graceful_shutdown([], [], timeout=7.0)
        deploy.remove_shutdown_hook(closer)
    assert seen == [7.0]
    assert list(deploy.shutdown_hooks) == before


@pytest_twisted.ensureDeferred
async def test_a_hook_still_running_after_the_timeout_is_cancelled() -> None:
    stuck: defer.Deferred[None] = defer.Deferred()
    with deploy.shutdown_hooks.scoped():
        deploy.on_shutdown(lambda timeout: stuck)
        await deploy.run_shutdown_hooks(0.01)
    assert stuck.called


def test_scoped_hooks_keep_the_hooks_registered_before_and_drop_the_new_ones() -> None:
    def earlier(timeout: float) -> None:
        pass

    def later(timeout: float) -> None:
        pass

    hooks = deploy.ShutdownHooks()
    hooks.add(earlier)
    with hooks.scoped():
        hooks.add(later)
        hooks.remove(earlier)
        assert list(hooks) == [later]
    assert list(hooks) == [earlier]


# -- twistd, for real -------------------------------------------------------------------------


def get(address, path: str, **kwargs) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(
        address.host, address.port, timeout=PROCESS_TIMEOUT, **kwargs
    )
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def assert_stops_cleanly(server: ServerProcess, already_signalled: bool = False) -> None:
    """SIGTERM, then twistd's clean exit: it re-raises the signal after shutting down."""
    if not already_signalled:
        server.signal(signal.SIGTERM)
    assert server.wait_exit() in (0, -signal.SIGTERM)
    assert "Server Shut Down." in server.output


@pytest.fixture
def servers():
    started: list[ServerProcess] = []

    def start(argv: list[str], cwd: Path) -> ServerProcess:
        process = ServerProcess(argv, cwd)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def test_twistd_help_lists_the_cyclone_plugin() -> None:
    result = subprocess.run(
        twistd("--help"), capture_output=True, text=True, timeout=PROCESS_TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    assert any(line.split()[:1] == ["cyclone"] for line in result.stdout.splitlines())
    plugin_help = subprocess.run(
        twistd("cyclone", "--help"), capture_output=True, text=True, timeout=PROCESS_TIMEOUT
    )
    for option in ("--app=", "--listen=", "--unix=", "--ssl-port=", "--sni=", "--workers="):
        assert option in plugin_help.stdout


_UNLOADABLE_APPS = [
    ("app1.nope", "--app=app1.nope: no module named 'app1'"),
    ("testapp.Nope", "--app=testapp.Nope: module 'testapp' has no 'Nope'"),
    ("testapp", "--app=testapp: 'testapp' is a module; name the application in it"),
    ("./no_such_file.py", "--app: no such file"),
]


@pytest.mark.parametrize(
    ("app", "message", "workers"),
    [(app, message, 1) for app, message in _UNLOADABLE_APPS]
    + [(app, message, 2) for app, message in _UNLOADABLE_APPS]
    # Only a single process calls the factory before serving; workers call it themselves.
    + [("os.getcwd", "--app=os.getcwd: calling it returned '", 1)],
)
def test_an_app_that_cannot_be_loaded_is_a_one_line_error(
    app_dir: Path, app: str, message: str, workers: int
) -> None:
    result = subprocess.run(
        twistd("-n", "cyclone", f"--app={app}", "--port=0", f"--workers={workers}"),
        cwd=app_dir,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"twistd cyclone: error: {message}"), lines[0]


def test_plugin_serves_a_class_with_appopts_and_writes_combined_access_lines(
    app_dir: Path, servers
) -> None:
    server = servers(
        twistd(
            "-n",
            "cyclone",
            "--app=testapp.Application",
            "--port=0",
            "--appopts=greeting=hi",
            "--access-log-format=combined",
        ),
        app_dir,
    )
    address = server.wait_serving()
    status, _, body = get(address, "/pid")
    assert status == 200
    assert json.loads(body)["greeting"] == "hi"
    line = server.wait_for(
        r'\[cyclone\.access#info\] 127\.0\.0\.1 - - \[.+\] "GET /pid HTTP/1\.1" 200'
    )
    assert line.string.endswith(f' 200 {len(body)} "-" "-"'), line.string
    assert_stops_cleanly(server)


def test_plugin_serves_a_factory_from_a_file_path_on_a_unix_socket(
    tmp_path: Path, servers
) -> None:
    (tmp_path / "site.py").write_text(TEST_APP)
    sock_path = tmp_path / "site.sock"
    server = servers(
        twistd("-n", "cyclone", f"--app={tmp_path / 'site.py'}:make_app", f"--unix={sock_path}"),
        tmp_path,
    )
    server.wait_for(r"cyclone serving \S+ on http://unix:")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(PROCESS_TIMEOUT)
        sock.connect(str(sock_path))
        sock.sendall(b"GET /pid HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 ")
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["greeting"] == "factory"
    assert_stops_cleanly(server)


def test_plugin_tls_serves_the_certificate_the_client_names(app_dir: Path, servers) -> None:
    certs = make_certificates(app_dir, ["alpha.test", "beta.test", "gamma.test"])
    sni_dir = app_dir / "sni"
    sni_dir.mkdir()
    (sni_dir / "gamma.test.pem").write_bytes(certs["gamma.test.pem"].read_bytes())
    server = servers(
        twistd(
            "-n",
            "cyclone",
            "--app=testapp.Application",
            "--ssl-port=0",
            f"--ssl-cert={certs['alpha.test.crt']}",
            f"--ssl-key={certs['alpha.test.key']}",
            f"--sni=beta.test:{certs['beta.test.crt']}:{certs['beta.test.key']}",
            f"--sni-dir={sni_dir}",
        ),
        app_dir,
    )
    address = server.wait_serving()
    assert address.scheme == "https"

    def peer_name(server_name: str | None) -> str:
        context = ssl.create_default_context(cafile=str(certs["ca"]))
        context.check_hostname = False
        with socket.create_connection((address.host, address.port), PROCESS_TIMEOUT) as raw:
            with context.wrap_socket(raw, server_hostname=server_name) as tls:
                subject = dict(item[0] for item in tls.getpeercert()["subject"])
                tls.sendall(b"GET /pid HTTP/1.0\r\n\r\n")
                assert tls.recv(12) == b"HTTP/1.1 200"
                return subject["commonName"]

    assert peer_name("beta.test") == "beta.test"
    assert peer_name("gamma.test") == "gamma.test"
    assert peer_name("alpha.test") == "alpha.test"
    assert peer_name("unknown.test") == "alpha.test"
    assert_stops_cleanly(server)


def _get_over_tls(address, ca: Path) -> dict:
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    with socket.create_connection((address.host, address.port), PROCESS_TIMEOUT) as raw:
        with context.wrap_socket(raw, server_hostname="alpha.test") as tls:
            tls.sendall(b"GET /pid HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    assert data.startswith(b"HTTP/1.1 200 "), data
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


def test_plugin_takes_1xs_positional_application(app_dir: Path, servers) -> None:
    server = servers(twistd("-n", "cyclone", "--port=0", "testapp.Application"), app_dir)
    status, _, body = get(server.wait_serving(), "/pid")
    assert status == 200 and json.loads(body)["greeting"] is None
    assert_stops_cleanly(server)


def test_plugin_serves_1xs_ssl_app_over_tls_beside_the_plain_app(app_dir: Path, servers) -> None:
    certs = make_certificates(app_dir, ["alpha.test"])
    server = servers(
        twistd(
            "-n",
            "cyclone",
            "--app=testapp.Application",
            "--appopts=greeting=plain",
            "--port=0",
            "--ssl-app=testapp:make_app",
            "--ssl-appopts=greeting=secure",
            "--ssl-port=0",
            f"--ssl-cert={certs['alpha.test.crt']}",
            f"--ssl-key={certs['alpha.test.key']}",
        ),
        app_dir,
    )
    first, second = server.wait_serving(), server.wait_serving()
    plain, secure = (first, second) if first.scheme == "http" else (second, first)
    assert (plain.scheme, secure.scheme) == ("http", "https")
    status, _, body = get(plain, "/pid")
    assert status == 200 and json.loads(body)["greeting"] == "plain"
    assert _get_over_tls(secure, certs["ca"])["greeting"] == "secure"
    assert_stops_cleanly(server)


def test_plugin_serves_1xs_ssl_app_alone_with_server_crt_and_key(app_dir: Path, servers) -> None:
    certs = make_certificates(app_dir, ["alpha.test"])
    shutil.copy(certs["alpha.test.crt"], app_dir / "server.crt")
    shutil.copy(certs["alpha.test.key"], app_dir / "server.key")
    server = servers(
        twistd("-n", "cyclone", "--ssl-port=0", "--ssl-app=testapp:make_app"), app_dir
    )
    address = server.wait_serving()
    assert address.scheme == "https"
    assert _get_over_tls(address, certs["ca"])["greeting"] == "factory"
    assert_stops_cleanly(server)


def test_a_request_in_flight_during_sigterm_completes(app_dir: Path, servers) -> None:
    server = servers(twistd("-n", "cyclone", "--app=testapp.Application", "--port=0"), app_dir)
    address = server.wait_serving()
    release = app_dir / "release"
    with socket.create_connection((address.host, address.port), PROCESS_TIMEOUT) as sock:
        sock.sendall(f"GET /slow?release={release} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        received = b""
        while b"started" not in received:
            received += sock.recv(65536)
        server.signal(signal.SIGTERM)
        server.wait_for("cyclone stopping")
        release.touch()
        while chunk := sock.recv(65536):
            received += chunk
    # The whole chunked response arrived, then the server closed the connection.
    assert received.endswith(b"9\r\nfinished\n\r\n0\r\n\r\n")
    assert_stops_cleanly(server, already_signalled=True)


# -- the seed's production flags, with a .tac ------------------------------------------------

TAC = textwrap.dedent(
    """
    import os

    from twisted.application import internet, service

    from cyclone.handler import RequestHandler
    from cyclone.routing import Router


    class IndexHandler(RequestHandler):
        def get(self):
            self.write({"hello": "world", "uid": os.getuid(), "gid": os.getgid()})


    foobar = Router([(r"/", IndexHandler)])
    application = service.Application("foobar")
    internet.TCPServer(
        int(os.environ["FOOBAR_PORT"]), foobar(), interface="127.0.0.1"
    ).setServiceParent(application)
    """
)


def _nobody() -> tuple[str, str] | None:
    import grp

    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        return None
    group = grp.getgrgid(user.pw_gid).gr_name
    return "nobody", group


@pytest.fixture
def shared_dir() -> Path:
    """A directory the daemon can still reach once it dropped root for nobody.

    pytest's tmp_path sits under a root-only directory; this one hangs off the
    system temp directory and is world-writable, so the daemon can remove its
    pidfile when it stops.
    """
    path = Path(tempfile.mkdtemp(prefix="cyclone-twistd-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_tac_runs_daemonized_with_pidfile_logfile_uid_gid_and_epoll(shared_dir: Path) -> None:
    pytest.importorskip("twisted.internet.epollreactor", reason="epoll is Linux-only")
    tmp_path = shared_dir
    (tmp_path / "foobar.tac").write_text(TAC)
    from deploy_helpers import free_port

    port = free_port()
    argv = [
        f"--pidfile={tmp_path / 'foobar.pid'}",
        f"--logfile={tmp_path / 'foobar.log'}",
        "--reactor=epoll",
    ]
    identity = _nobody() if os.getuid() == 0 else None
    if identity is not None:
        argv += [f"--uid={identity[0]}", f"--gid={identity[1]}"]
    argv.append(f"--python={tmp_path / 'foobar.tac'}")
    env = dict(os.environ, FOOBAR_PORT=str(port))
    result = subprocess.run(
        twistd(*argv),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pid_file = tmp_path / "foobar.pid"
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    try:
        connection = None
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROCESS_TIMEOUT)
                connection.request("GET", "/")
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        body = json.loads(connection.getresponse().read())
        connection.close()
        assert body["hello"] == "world"
        if identity is not None:
            assert body["uid"] == pwd.getpwnam("nobody").pw_uid
        log_text = (tmp_path / "foobar.log").read_text()
        assert "EPollReactor" in log_text
    finally:
        os.kill(pid, signal.SIGTERM)
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_file.exists()
    # twistd removes its pidfile before writing its last log line: wait for
    # the daemon itself to be gone before reading the log.
    while _process_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Server Shut Down" in (tmp_path / "foobar.log").read_text()


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("workers", [1, 2])
def test_plugin_runs_daemonized_with_pidfile_and_logfile(shared_dir: Path, workers: int) -> None:
    """The production form of the plugin; the one-process daemon also drops root for nobody.

    (Workers are new processes started after the privileges were dropped, so
    they need an interpreter nobody may run; this test's may live under /root.)
    """
    (shared_dir / "testapp.py").write_text(TEST_APP)
    from deploy_helpers import free_port

    port = free_port()
    pid_file, log_file = shared_dir / "app.pid", shared_dir / "app.log"
    argv = [f"--pidfile={pid_file}", f"--logfile={log_file}"]
    identity = _nobody() if os.getuid() == 0 and workers == 1 else None
    if identity is not None:
        argv += [f"--uid={identity[0]}", f"--gid={identity[1]}"]
    argv += ["cyclone", "--app=testapp.Application", f"--port={port}", f"--workers={workers}"]
    result = subprocess.run(
        twistd(*argv), cwd=shared_dir, capture_output=True, text=True, timeout=PROCESS_TIMEOUT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    deadline = time.monotonic() + PROCESS_TIMEOUT
    seen: set[int] = set()
    try:
        while len(seen) < workers:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROCESS_TIMEOUT)
                connection.request("GET", "/pid?block=0.2")
                seen.add(json.loads(connection.getresponse().read())["pid"])
                connection.close()
            except (ConnectionRefusedError, ConnectionResetError, http.client.HTTPException):
                pass
            assert time.monotonic() < deadline, f"saw pids {seen}; log:\n{log_file.read_text()}"
            time.sleep(0.05)
        daemon = int(pid_file.read_text())
        if workers == 1:
            assert seen == {daemon}
            if identity is not None:
                assert os.stat(f"/proc/{daemon}").st_uid == pwd.getpwnam("nobody").pw_uid
        else:
            assert daemon not in seen
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
    while pid_file.exists():
        assert time.monotonic() < deadline, "the daemon did not stop:\n" + log_file.read_text()
        time.sleep(0.05)
    log_text = log_file.read_text()
    assert "Server Shut Down." in log_text
    if workers > 1:
        assert log_text.count("stopped (exit 0") == workers


# -- twistd on the asyncio reactor ---------------------------------------------------------


def test_twistd_on_the_asyncio_reactor_serves_handlers_mixing_asyncio_and_deferreds(
    tmp_path: Path, servers
) -> None:
    from asyncio_helpers import ASYNCIO_APP, get_json, upstream_echo_server

    (tmp_path / "aioapp.py").write_text(ASYNCIO_APP)
    with upstream_echo_server() as upstream:
        server = ServerProcess(
            twistd("-n", "-r", "asyncio", "cyclone", "--app=aioapp:make_app", "--port=0"),
            tmp_path,
            env={"UPSTREAM_PORT": str(upstream)},
        )
        try:
            address = server.wait_serving()
            status, body = get_json(address, "/mixed")
            assert status == 200, server.output
            assert body["echoed"] == "ping" and body["deferred"] == "from a Deferred"
            assert body["task"] is True and body["reactor"] == "AsyncioSelectorReactor"
            assert_stops_cleanly(server)
        finally:
            server.kill()
