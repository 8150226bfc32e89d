"""Every Python snippet of the old cyclone documentation, run unchanged.

The snippets live in ``tests/seed/`` exactly as the documentation prints them
(see the README there). Scripts and ``.tac`` files run as real processes on
the documented port 8888 (no other test uses that port); class snippets are
executed with the names the documentation assumes (``cyclone``, ``defer``)
and served by an Application. Three snippets cannot run as printed, and the
tests pin down what they do instead:

- the ``@asynchronous`` example calls ``self.process_download()`` without its
  argument (and returns an undefined ``d``): the request fails with a 500;
- the ``xheaders`` settings dict lacks a comma: it is a SyntaxError;
- the ``xgettext`` command line reads standard input without naming ``-``:
  GNU xgettext stops with "no input file given".

Each of them is then also run with the one-token fix, to show cyclone does
what the documentation meant.
"""

from __future__ import annotations

import http.client
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor, task, threads
from twisted.logger import globalLogPublisher

import cyclone.escape
import cyclone.web
from cyclone.testing import Client

SEED = pathlib.Path(__file__).parent / "seed"
WAIT = 20.0
SEED_PORT = 8888
TWISTD = pathlib.Path(sys.executable).with_name("twistd")


def snippet(name):
    return (SEED / name).read_text(encoding="utf-8")


def load_snippet(name, **names):
    """Execute a class snippet with the module names the documentation assumes."""
    namespace = {"cyclone": cyclone, "defer": defer, **names}
    exec(compile(snippet(name), str(SEED / name), "exec"), namespace)
    return namespace


def call_keeping_locals(function, *args):
    """Call ``function`` and return the local variables it ended with.

    The request snippets only assign what they read (``remote_ip = ...``);
    this lets a test see those values without changing the snippet.
    """
    captured = {}

    def tracer(frame, event, arg):
        if frame.f_code is function.__code__:
            if event == "return":
                captured.update(frame.f_locals)
            return tracer
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        function(*args)
    finally:
        sys.settrace(previous)
    captured.pop("self", None)
    return captured


# -- processes on port 8888 ----------------------------------------------------------------


class ServerProcess(protocol.ProcessProtocol):
    """A child process whose output is watched for the line saying it listens."""

    def __init__(self, ready_text):
        self.ready_text = ready_text
        self.output = b""
        self.ready = defer.Deferred()
        self.ended = defer.Deferred()

    def outReceived(self, data):
        self._received(data)

    def errReceived(self, data):
        self._received(data)

    def _received(self, data):
        self.output += data
        if not self.ready.called and self.ready_text in self.output:
            self.ready.callback(None)

    def processEnded(self, reason):
        if not self.ready.called:
            self.ready.errback(AssertionError(f"process ended early: {self.output.decode()}"))
        self.ended.callback(None)

    async def stop(self):
        if not self.ended.called:
            self.transport.signalProcess("TERM")
            await self.ended.addTimeout(WAIT, reactor)


async def start_process(args, cwd, ready_text=b"starting on 8888"):
    process = ServerProcess(ready_text)
    reactor.spawnProcess(process, args[0], args, env=dict(os.environ), path=str(cwd))
    try:
        await process.ready.addTimeout(WAIT, reactor)
    except BaseException:
        await process.stop()
        raise
    return process


def fetch(path, method="GET", body=None, headers=None, port=SEED_PORT):
    """One request with http.client, in a thread: (status, headers, body)."""

    def run():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    return threads.deferToThread(run)


@pytest_twisted.ensureDeferred
async def test_hello_world_script_serves_on_8888(tmp_path):
    script = tmp_path / "helloworld.py"
    script.write_text(snippet("helloworld.py.txt"))
    process = await start_process([sys.executable, str(script)], tmp_path)
    try:
        status, _, body = await fetch("/")
        assert (status, body) == (200, b"Hello, world")
    finally:
        await process.stop()
    assert b"Log opened" in process.output


@pytest_twisted.ensureDeferred
async def test_hello_world_tac_runs_with_twistd_ny(tmp_path):
    assert TWISTD.exists(), f"twistd not found next to {sys.executable}"
    shutil.copy(SEED / "foobar.tac", tmp_path / "foobar.tac")
    process = await start_process([str(TWISTD), "-ny", "foobar.tac"], tmp_path)
    try:
        status, _, body = await fetch("/")
        assert (status, body) == (200, b"hello world")
    finally:
        await process.stop()


# -- the localization walkthrough with GNU gettext ------------------------------------------


def run_shell(command, cwd):
    return subprocess.run(
        command, shell=True, cwd=cwd, capture_output=True, text=True, timeout=WAIT
    )


XGETTEXT = (
    "cat foobar.tac template/index.html | python fix.py | "
    "xgettext --language=Python --from-code=utf-8 --keyword=_:1,2 -d foobar"
)
PORTUGUESE = {
    "write someone's name:": "escreva o nome de alguém:",
    "send": "enviar",
    "change language:": "mudar de idioma:",
    "the name is: %s": "o nome é: %s",
}


def translate_po(text):
    """What the walkthrough's ``vi foobar.po`` step does: fill in each msgstr."""
    text = text.replace("charset=CHARSET", "charset=UTF-8")
    for source, translated in PORTUGUESE.items():
        pattern = re.escape(f"msgid {cyclone.escape.json_encode(source)}") + r'\nmsgstr ""'
        text, count = re.subn(
            pattern, lambda m, s=source, t=translated: f'msgid "{s}"\nmsgstr "{t}"', text
        )
        assert count == 1, source
    return text


@pytest.fixture
def locale_site(tmp_path, monkeypatch):
    """The walkthrough's directory: foobar.tac, template/index.html and fix.py.

    ``python`` on PATH is the interpreter running the tests, as the shell
    commands of the walkthrough expect.
    """
    shutil.copy(SEED / "locale_foobar.tac", tmp_path / "foobar.tac")
    shutil.copytree(SEED / "template", tmp_path / "template")
    shutil.copy(SEED / "fix.py.txt", tmp_path / "fix.py")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def test_fix_py_strips_the_quotes_around_template_expressions(locale_site):
    from_file = run_shell("python fix.py template/index.html", locale_site)
    from_stdin = run_shell("cat template/index.html | python fix.py", locale_site)
    assert from_file.returncode == from_stdin.returncode == 0
    assert from_file.stdout == from_stdin.stdout
    assert '<input type="submit" value= _(\'send\') }}">' in from_file.stdout


def test_xgettext_command_as_printed_has_no_input_file(locale_site):
    assert shutil.which("xgettext"), "GNU gettext (xgettext, msgfmt) is required"
    result = run_shell(XGETTEXT, locale_site)
    assert result.returncode != 0
    assert "no input file given" in result.stderr


@pytest_twisted.ensureDeferred
async def test_localized_foobar_tac_walkthrough_with_gettext_and_twistd(locale_site):
    extracted = run_shell(XGETTEXT + " -", locale_site)  # "-": read standard input
    assert extracted.returncode == 0, extracted.stderr
    po = (locale_site / "foobar.po").read_text(encoding="utf-8")
    (locale_site / "foobar.po").write_text(translate_po(po), encoding="utf-8")
    compiled = run_shell(
        "mkdir -p ./locale/pt_BR/LC_MESSAGES/ && "
        "msgfmt foobar.po -o ./locale/pt_BR/LC_MESSAGES/foobar.mo",
        locale_site,
    )
    assert compiled.returncode == 0, compiled.stderr

    process = await start_process([str(TWISTD), "-ny", "foobar.tac"], locale_site)
    try:
        status, _, english = await fetch("/")
        assert status == 200
        assert b"write someone&#39;s name:" in english
        status, headers, _ = await fetch("/lang/pt_BR")
        assert (status, headers["Location"]) == (302, "/")
        cookie = headers["Set-Cookie"].split(";")[0]
        assert cookie == "lang=pt_BR"
        _, _, portuguese = await fetch("/", headers={"Cookie": cookie})
        page = portuguese.decode()
        assert "escreva o nome de alguém:" in page
        assert 'value="enviar"' in page
        assert "mudar de idioma:" in page
        _, _, posted = await fetch(
            "/",
            method="POST",
            body="name=Ana",
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        # The snippet translates after formatting, so the catalog entry never matches.
        assert posted == b"the name is: Ana"
        _, headers, _ = await fetch("/lang/xx_YY")
        assert "Set-Cookie" not in headers
    finally:
        await process.stop()


# -- handler snippets ----------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_authenticated_above_inline_callbacks_redirects_or_runs():
    seed = load_snippet("authenticated.py.txt")

    class IndexHandler(seed["IndexHandler"]):
        def get_current_user(self):
            return self.get_cookie("user")

        def do_download(self):
            return task.deferLater(reactor, 0, lambda: "downloaded for " + self.current_user)

    client = Client(cyclone.web.Application([(r"/", IndexHandler)], login_url="/login"))
    anonymous = await client.get("/")
    assert (anonymous.code, anonymous.headers["Location"]) == (302, "/login?next=%2F")
    known = await client.get("/", headers={"Cookie": "user=ana"})
    assert (known.code, known.body) == (200, b"downloaded for ana")


@pytest_twisted.ensureDeferred
async def test_asynchronous_snippet_as_printed_fails_with_500():
    seed = load_snippet("asynchronous.py.txt")
    downloads = []

    class Indexhandler(seed["Indexhandler"]):
        def do_download(self):
            downloads.append(True)
            return task.deferLater(reactor, 0, lambda: "file contents")

    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        response = await Client(cyclone.web.Application([(r"/", Indexhandler)])).get("/")
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert downloads == [True]
    assert response.code == 500
    # process_download() is called without its result argument.
    errors = [e["log_failure"].value for e in events if "log_failure" in e]
    assert len(errors) == 1
    assert isinstance(errors[0], TypeError)
    assert "process_download() missing 1 required positional argument" in str(errors[0])


@pytest_twisted.ensureDeferred
async def test_asynchronous_snippet_with_its_typos_fixed_finishes_later():
    fixed = (
        snippet("asynchronous.py.txt")
        .replace("addCallback(self.process_download())", "addCallback(self.process_download)")
        .replace("        return d\n", "")
    )
    namespace = {"cyclone": cyclone}
    exec(fixed, namespace)

    class Indexhandler(namespace["Indexhandler"]):
        def do_download(self):
            return task.deferLater(reactor, 0, lambda: "file contents")

    response = await Client(cyclone.web.Application([(r"/", Indexhandler)])).get("/")
    assert (response.code, response.body) == (200, b"file contents")


@pytest_twisted.ensureDeferred
async def test_no_keep_alive_closes_the_socket_after_the_response():
    seed = load_snippet("keep_alive.py.txt")
    port = reactor.listenTCP(
        0, cyclone.web.Application([(r"/", seed["IndexHandler"])]), interface="127.0.0.1"
    )
    try:
        received = bytearray()
        closed = defer.Deferred()

        class Raw(protocol.Protocol):
            def connectionMade(self):
                self.transport.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")

            def dataReceived(self, data):
                received.extend(data)

            def connectionLost(self, reason=None):
                closed.callback(None)

        await protocol.ClientCreator(reactor, Raw).connectTCP("127.0.0.1", port.getHost().port)
        await closed.addTimeout(WAIT, reactor)
        assert received.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"\r\nConnection: close\r\n" in received
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_notify_finish_callback_runs_when_the_request_ends():
    removed = []
    seed = load_snippet("notify_finish.py.txt", remove_from_comet_handlers_list=removed.append)
    response = await Client(cyclone.web.Application([(r"/", seed["IndexHandler"])])).get("/")
    assert response.code == 200
    assert removed == [None]


def test_xheaders_settings_snippet_is_a_syntax_error_as_printed():
    with pytest.raises(SyntaxError):
        compile(snippet("xheaders.py.txt"), "xheaders.py.txt", "exec")


@pytest_twisted.ensureDeferred
async def test_xheaders_snippet_with_the_comma_uses_x_real_ip_and_x_scheme():
    class IndexHandler(cyclone.web.RequestHandler):
        def get(self):
            self.write(f"{self.request.remote_ip} {self.request.protocol}")

    fixed = snippet("xheaders.py.txt").replace('"xheaders": True\n', '"xheaders": True,\n')
    namespace = {"cyclone": cyclone, "IndexHandler": IndexHandler}
    exec(fixed, namespace)
    app = namespace["Application"]()
    assert app.settings == {"xheaders": True, "static_path": "./static"}
    client = Client(app)
    response = await client.get("/", headers={"X-Real-Ip": "10.1.2.3", "X-Scheme": "https"})
    assert response.body == b"10.1.2.3 https"
    assert (await client.get("/")).body == b"127.0.0.1 http"


@pytest_twisted.ensureDeferred
async def test_cookie_secret_recipe_makes_a_working_secret():
    lines = [
        line[4:] for line in snippet("cookie_secret.txt").splitlines() if line.startswith(">>> ")
    ]
    namespace = {}
    for line in lines[:-1]:
        exec(line, namespace)
    secret = eval(lines[-1], namespace)
    assert len(secret) == 44

    class Login(cyclone.web.RequestHandler):
        def get(self):
            self.set_secure_cookie("user", "ana")

    class Me(cyclone.web.RequestHandler):
        def get(self):
            self.write(self.get_secure_cookie("user") or b"nobody")

    client = Client(
        cyclone.web.Application([(r"/login", Login), (r"/me", Me)], cookie_secret=secret)
    )
    await client.get("/login")
    assert client.cookies.get_secure_cookie("user") == b"ana"
    assert (await client.get("/me")).body == b"ana"


def spy_route(seed_class, method_name, seen):
    """A route whose handler runs the snippet's method and records its local variables."""

    class Spy(seed_class):
        pass

    def spy(self):
        seen.update(call_keeping_locals(getattr(seed_class, method_name), self))

    setattr(Spy, method_name, spy)
    return Spy


@pytest_twisted.ensureDeferred
async def test_request_headers_snippet_reads_the_user_agent():
    seen = {}
    seed = load_snippet("request_headers.py.txt")
    app = cyclone.web.Application([(r"/", spy_route(seed["MyHandler"], "get", seen))])
    response = await Client(app).get("/", headers={"User-Agent": "seed-test/1.0"})
    assert response.code == 200
    assert seen == {"user_agent": "seed-test/1.0"}


@pytest_twisted.ensureDeferred
async def test_raw_post_data_snippet_reads_query_and_body():
    seed = load_snippet("raw_post.py.txt")
    query, body = {}, {}

    class Both(spy_route(seed["MyHandler"], "get", query)):
        pass

    Both.post = spy_route(seed["MyHandler"], "post", body).post
    client = Client(cyclone.web.Application([(r"/", Both)]))
    assert (await client.get("/?a=1&b=%20")).code == 200
    assert query == {"raw": "a=1&b=%20"}
    assert (await client.post("/", body=b'{"raw": true}')).code == 200
    assert body == {"raw": b'{"raw": true}'}


@pytest_twisted.ensureDeferred
async def test_request_information_snippet_reads_ip_method_uri_and_version():
    seen = {}
    seed = load_snippet("request_info.py.txt")
    app = cyclone.web.Application([(r"/info", spy_route(seed["MyHandler"], "get", seen))])
    assert (await Client(app).get("/info?x=1")).code == 200
    assert seen == {
        "remote_ip": "127.0.0.1",
        "method": "GET",
        "uri": "/info?x=1",
        "version": "HTTP/1.1",
    }


@pytest_twisted.ensureDeferred
async def test_set_header_and_json_encode_snippet():
    seed = load_snippet("set_header.py.txt")
    response = await Client(cyclone.web.Application([(r"/", seed["MyHandler"])])).get("/")
    assert response.code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"success": True}


@pytest_twisted.ensureDeferred
async def test_handler_with_get_and_head_answers_both_and_405_otherwise():
    seed = load_snippet("methods.py.txt")
    client = Client(cyclone.web.Application([(r"/", seed["MyHandler"])]))
    assert (await client.get("/")).code == 200
    assert (await client.head("/")).code == 200
    for method in ("POST", "TRACE", "CONNECT"):
        response = await client.request(method, "/")
        assert response.code == 405
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}
