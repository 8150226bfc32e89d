"""cyclone._namespace: ``cyclone.<module>`` on first read, and one clear line beside cyclone 1.x.

Every check runs a fresh interpreter, since what is tested is what importing does.
The second half builds real installations: virtual environments holding cyclone 2's
wheels (built from this tree) and cyclone 1.3 from PyPI, installed with pip in both
orders, or on another ``sys.path`` entry.
"""

from __future__ import annotations

import json
import os
import pathlib
import queue
import shutil
import subprocess
import sys
import textwrap
import threading
import urllib.request
import xmlrpc.client
from collections.abc import Callable, Iterator

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
PACKAGES = ROOT / "packages"
TIMEOUT = 120.0

REFUSAL = "cyclone._namespace.MixedInstallationError: cyclone 1.x (cyclone 1.3 at "


def run_python(
    code: str, *, python: str | pathlib.Path = sys.executable, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def assert_runs(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def last_stderr_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    return result.stderr.strip().splitlines()[-1]


def unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"cannot run under CI=true: {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture
def portion(tmp_path: pathlib.Path) -> Callable[[str, str], dict[str, str]]:
    """Add a module to the ``cyclone`` namespace from a directory of its own (PYTHONPATH)."""

    def add(name: str, source: str) -> dict[str, str]:
        (tmp_path / "cyclone").mkdir(exist_ok=True)
        (tmp_path / "cyclone" / f"{name}.py").write_text(textwrap.dedent(source))
        return {"PYTHONPATH": str(tmp_path)}

    return add


# -- reading cyclone.<module> -------------------------------------------------------------


def test_a_module_read_as_an_attribute_is_imported_on_first_read() -> None:
    out = run_python(
        """
        import sys
        import cyclone.escape
        print("cyclone.httputil" in sys.modules)
        print(cyclone.httputil.HTTPHeaders({"a": "1"})["A"])
        print(sys.modules["cyclone"].httputil is sys.modules["cyclone.httputil"])
        """
    )
    assert assert_runs(out).split() == ["False", "1", "True"]


def test_every_cyclone_module_imported_alone_makes_its_siblings_readable() -> None:
    """Each top-level module, imported first in a fresh namespace, installs the hook."""
    out = run_python(
        """
        import importlib, pkgutil, sys
        import cyclone
        names = sorted({info.name for info in pkgutil.iter_modules(cyclone.__path__)})
        missing = []
        for name in names:
            for loaded in [m for m in sys.modules if m == "cyclone" or m.startswith("cyclone.")]:
                del sys.modules[loaded]
            try:
                importlib.import_module("cyclone." + name)
            except ImportError as error:   # an optional dependency this test run lacks
                print("unimportable", name, error, file=sys.stderr)
                continue
            if "__getattr__" not in vars(sys.modules["cyclone"]):
                missing.append(name)
        print(len(names), missing)
        """
    )
    count, missing = assert_runs(out).split(" ", 1)
    assert int(count) >= 19  # cyclone-core's own modules at least
    assert missing.strip() == "[]"


def test_a_name_that_is_no_module_is_an_attribute_error_and_hasattr_is_false() -> None:
    out = run_python(
        """
        import cyclone.escape
        print(hasattr(cyclone, "no_such_module"), getattr(cyclone, "no_such_module", "default"))
        try:
            cyclone.no_such_module
        except AttributeError as error:
            print(error.name, "|", error)
        """
    )
    lines = assert_runs(out).splitlines()
    assert lines[0] == "False default"
    assert lines[1] == "no_such_module | module 'cyclone' has no attribute 'no_such_module'"


def test_dunder_names_never_import_a_module(portion) -> None:
    env = portion("__version__", "raise SystemExit('imported a dunder module')")
    out = run_python(
        """
        import cyclone.escape
        print(hasattr(cyclone, "__version__"), hasattr(cyclone, "__wrapped__"))
        """,
        env=env,
    )
    assert assert_runs(out).split() == ["False", "False"]


def test_a_module_that_exists_but_fails_to_import_raises_its_own_error(portion) -> None:
    portion("needs_extra", "raise ImportError('needs the frobnicate extra')")
    env = portion("needs_missing", "import no_such_dependency_of_cyclone")
    out = run_python(
        """
        import cyclone.escape
        for name in ("needs_extra", "needs_missing"):
            try:
                getattr(cyclone, name)
            except ImportError as error:
                print(type(error).__name__, error.name, error)
        """,
        env=env,
    )
    assert assert_runs(out).splitlines() == [
        "ImportError None needs the frobnicate extra",
        "ModuleNotFoundError no_such_dependency_of_cyclone "
        "No module named 'no_such_dependency_of_cyclone'",
    ]


def test_from_cyclone_import_works_and_fails_as_without_the_hook(portion) -> None:
    env = portion("extra_module", "VALUE = 42")
    out = run_python(
        """
        import cyclone.escape
        from cyclone import extra_module, httputil
        print(extra_module.VALUE, httputil.__name__)
        try:
            from cyclone import no_such_module
        except ImportError as error:
            print(type(error).__name__, error)
        """,
        env=env,
    )
    assert assert_runs(out).splitlines() == [
        "42 cyclone.httputil",
        "ImportError cannot import name 'no_such_module' from 'cyclone' (unknown location)",
    ]


def test_a_submodule_read_while_it_is_being_imported_is_the_partial_module(portion) -> None:
    env = portion(
        "cyclic",
        """
        import cyclone.escape
        import cyclone
        SELF = cyclone.cyclic          # read during its own import: no second import
        """,
    )
    out = run_python(
        "import cyclone.cyclic, sys; print(cyclone.cyclic.SELF is sys.modules['cyclone.cyclic'])",
        env=env,
    )
    assert assert_runs(out).strip() == "True"


def test_the_distribution_table_names_every_module_of_the_other_distributions() -> None:
    from cyclone._namespace import DISTRIBUTIONS

    shipped = {}
    for package in PACKAGES.iterdir():
        if package.name == "cyclone-core" or not (package / "src" / "cyclone").is_dir():
            continue
        for entry in (package / "src" / "cyclone").iterdir():
            public = not entry.name.startswith("_") and entry.name != "py.typed"
            if public and (entry.suffix == ".py" or (entry / "__init__.py").exists()):
                shipped[entry.name.removesuffix(".py")] = package.name
    assert DISTRIBUTIONS == shipped


# -- real installations ------------------------------------------------------------------


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        unavailable("uv is not on PATH (pip install uv)")
    assert uv is not None
    return uv


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    """cyclone 2's wheels built from this tree, and cyclone 1.3's built from PyPI's sdist."""
    uv = _uv()
    out = tmp_path_factory.mktemp("wheels")
    built: dict[str, pathlib.Path] = {}
    for name in ("core", "web", "rpc", "websocket"):
        subprocess.run(
            [
                uv,
                "build",
                "-q",
                "--wheel",
                "--out-dir",
                str(out),
                str(PACKAGES / f"cyclone-{name}"),
            ],
            check=True,
            timeout=600,
        )
        built[name] = next(out.glob(f"cyclone_{name}-*.whl"))
    tools = tmp_path_factory.mktemp("tools") / "venv"
    subprocess.run([uv, "venv", "-q", "--seed", "-p", sys.executable, str(tools)], check=True)
    fetched = subprocess.run(
        [str(tools / "bin" / "python"), "-m", "pip", "wheel", "-q", "--no-deps"]
        + ["cyclone==1.3", "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if fetched.returncode != 0:
        unavailable(f"cyclone 1.3 could not be fetched from PyPI: {fetched.stderr[-500:]}")
    built["cyclone-1.3"] = next(out.glob("cyclone-1.3-*.whl"))
    return built


@pytest.fixture
def venv(tmp_path: pathlib.Path) -> Callable[[], pathlib.Path]:
    """A new virtual environment with pip and Twisted; returns its python."""

    def make() -> pathlib.Path:
        uv = _uv()
        path = tmp_path / f"venv{len(list(tmp_path.glob('venv*')))}"
        subprocess.run([uv, "venv", "-q", "--seed", "-p", sys.executable, str(path)], check=True)
        python = path / "bin" / "python"
        subprocess.run(
            [uv, "pip", "install", "-q", "-p", str(python), "twisted>=23.10"],
            check=True,
            timeout=600,
        )
        return python

    return make


def pip_install(python: pathlib.Path, *wheels: pathlib.Path, target: pathlib.Path | None = None):
    """``pip install --no-deps``, as a user would add one distribution beside the others."""
    where = ["--target", str(target)] if target else []
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", *where]
        + [str(wheel) for wheel in wheels],
        check=True,
        timeout=600,
    )


def cyclone_2(wheels: dict[str, pathlib.Path]) -> list[pathlib.Path]:
    return [wheels[name] for name in ("core", "web", "rpc", "websocket")]


PROGRAMS = ["import cyclone.web", "from cyclone import handler", "import cyclone.websocket"]


@pytest.mark.slow
def test_cyclone_1_installed_after_cyclone_2_is_refused_in_one_line(wheels, venv) -> None:
    python = venv()
    pip_install(python, *cyclone_2(wheels))
    pip_install(python, wheels["cyclone-1.3"])  # overwrites web.py, escape.py, ...
    for program in PROGRAMS:
        line = last_stderr_line(run_python(program, python=python))
        assert line.startswith(REFUSAL), (program, line)
        assert line.endswith(
            "is installed beside cyclone 2 and hides or overwrites its modules: run `pip "
            "uninstall cyclone`, then `pip install --force-reinstall cyclone-core cyclone-rpc "
            "cyclone-web cyclone-websocket`"
        )


@pytest.mark.slow
def test_cyclone_1_installed_before_cyclone_2_is_refused_in_one_line(wheels, venv) -> None:
    python = venv()
    pip_install(python, wheels["cyclone-1.3"])
    pip_install(python, *cyclone_2(wheels))  # leaves 1.x's __init__.py and testing/
    for program in [*PROGRAMS, "import cyclone.escape", "from cyclone.testing import Client"]:
        line = last_stderr_line(run_python(program, python=python))
        assert line.startswith(REFUSAL), (program, line)


@pytest.mark.slow
def test_following_the_advice_repairs_the_installation(wheels, venv) -> None:
    python = venv()
    pip_install(python, *cyclone_2(wheels))
    pip_install(python, wheels["cyclone-1.3"])
    subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", "cyclone"], check=True)
    broken = run_python("import cyclone.web", python=python)  # 1.x took shared files with it
    assert "No module named 'cyclone.web'" in last_stderr_line(broken)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--force-reinstall"]
        + [str(wheel) for wheel in cyclone_2(wheels)],
        check=True,
        timeout=600,
    )
    out = run_python(
        "import cyclone.web, cyclone.handler; print(cyclone.web.Application.__module__)",
        python=python,
    )
    assert assert_runs(out).strip() == "cyclone.web"


@pytest.mark.slow
def test_cyclone_1_on_another_path_entry_hides_cyclone_2_with_pythons_own_error(
    wheels, venv, tmp_path: pathlib.Path
) -> None:
    """Nothing of cyclone 2 runs then: the migration guide quotes the error Python gives."""
    python = venv()
    pip_install(python, *cyclone_2(wheels))
    elsewhere = tmp_path / "old"
    pip_install(python, wheels["cyclone-1.3"], target=elsewhere)
    site_packages = next(python.parent.parent.glob("lib/python*/site-packages"))
    expected = f"ImportError: cannot import name 'handler' from 'cyclone' ({elsewhere}/cyclone/"
    earlier = run_python(
        "from cyclone import handler", python=python, env={"PYTHONPATH": str(elsewhere)}
    )
    assert last_stderr_line(earlier).startswith(expected)
    (site_packages / "zz_cyclone_1.pth").write_text(f"{elsewhere}\n")  # a later entry
    later = run_python("from cyclone import handler", python=python)
    assert last_stderr_line(later).startswith(expected)


@pytest.mark.slow
def test_reading_a_module_of_a_distribution_not_installed_names_it(wheels, venv) -> None:
    python = venv()
    pip_install(python, wheels["core"], wheels["rpc"])
    out = run_python(
        """
        import cyclone.xmlrpc
        print(hasattr(cyclone, "web"))
        cyclone.web.Application
        """,
        python=python,
    )
    assert out.stdout.strip() == "False"
    assert last_stderr_line(out) == (
        "AttributeError: module 'cyclone' has no attribute 'web' "
        "(cyclone.web comes with cyclone-web: pip install cyclone-web)"
    )


XMLRPC_1X = """
import sys
import cyclone.xmlrpc
from twisted.internet import reactor


class Rpc(cyclone.xmlrpc.XmlrpcRequestHandler):
    def xmlrpc_echo(self, text):
        return text


class Page(cyclone.web.RequestHandler):
    def get(self):
        self.write(cyclone.template.Template("{{ a }}+{{ b }}").generate(a=1, b=2))


application = cyclone.web.Application([(r"/rpc", Rpc), (r"/", Page)])
port = reactor.listenTCP(0, application, interface="127.0.0.1")
print("http://127.0.0.1:%d/" % port.getHost().port, flush=True)
reactor.run()
"""


@pytest.fixture
def serve() -> Iterator[Callable[[pathlib.Path, str], str]]:
    processes: list[subprocess.Popen[str]] = []

    def start(python: pathlib.Path, source: str) -> str:
        process = subprocess.Popen(
            [str(python), "-c", source],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        processes.append(process)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(x) for x in process.stdout], daemon=True
        ).start()
        output = []
        while True:
            try:
                line = lines.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError("no URL printed:\n" + "".join(output)) from None
            output.append(line)
            if line.startswith("http://"):
                return line.strip()
            if process.poll() is not None and lines.empty():
                raise AssertionError("the program exited:\n" + "".join(output))

    yield start
    for process in processes:
        process.terminate()
        process.wait(TIMEOUT)


@pytest.mark.slow
def test_a_1x_program_that_imports_only_xmlrpc_serves_with_cyclone_web(
    wheels, venv, serve
) -> None:
    python = venv()
    pip_install(python, *cyclone_2(wheels))
    url = serve(python, XMLRPC_1X)
    assert xmlrpc.client.ServerProxy(url + "rpc").echo("hi") == "hi"
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        assert response.read() == b"1+2"


@pytest.mark.slow
def test_an_rpc_and_websocket_process_imports_cyclone_web_only_when_it_reads_it(
    wheels, venv
) -> None:
    python = venv()
    pip_install(python, *cyclone_2(wheels))
    out = run_python(
        """
        import sys
        import cyclone.jsonrpc, cyclone.sse, cyclone.websocket, cyclone.xmlrpc
        from cyclone.routing import Router
        from cyclone.testing import Client
        from twisted.internet import defer, task

        class Rpc(cyclone.jsonrpc.JsonrpcRequestHandler):
            def jsonrpc_add(self, a, b):
                return a + b

        router = Router([(r"/rpc", Rpc), (r"/ws", cyclone.websocket.WebSocketHandler)])
        async def main(reactor):
            response = await Client(router).post(
                "/rpc", body='{"method": "add", "params": [1, 2], "id": 1}'
            )
            print(response.body.decode())
            print("cyclone.web" in sys.modules)
            print(cyclone.web.Application is sys.modules["cyclone.web"].Application)

        task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
        """,
        python=python,
    )
    answer, imported_before, read = assert_runs(out).splitlines()
    assert json.loads(answer)["result"] == 3
    assert (imported_before, read) == ("False", "True")
