"""The ``cyclone`` console command: ``cyclone run app.py`` as in cyclone 1.x."""

from __future__ import annotations

import importlib.metadata
import signal
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

from cyclone import cli

sys.path.insert(0, str(Path(__file__).parent))

from deploy_helpers import ServerProcess

HELLO_1X = textwrap.dedent(
    """
    from cyclone.handler import RequestHandler
    from cyclone.routing import Router


    class MainHandler(RequestHandler):
        def get(self):
            self.write("Hello, %s" % self.settings.get("who", "world"))


    class WebApp(Router):
        def __init__(self, who="world"):
            Router.__init__(self, [(r"/", MainHandler)], who=who)
    """
)


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    path = tmp_path / "hello.py"
    path.write_text(HELLO_1X)
    return path


def test_a_file_given_alone_becomes_the_app_and_its_class_is_found(hello: Path) -> None:
    assert cli.run_arguments([str(hello)]) == [f"--app={hello}:WebApp"]


def test_files_naming_their_application_as_deploy_expects_are_passed_as_they_are(
    tmp_path: Path,
) -> None:
    path = tmp_path / "named.py"
    path.write_text(
        "from cyclone.routing import Router as Application\n"
        "class Site(Application): pass\n"
        "application = Site([])\n"
    )
    assert cli.run_arguments([str(path)]) == [f"--app={path}"]


def test_option_values_are_not_taken_for_the_file(hello: Path) -> None:
    assert cli.run_arguments(["-p", "9000", "--listen", "0.0.0.0", str(hello)]) == [
        "-p",
        "9000",
        "--listen",
        "0.0.0.0",
        f"--app={hello}:WebApp",
    ]


def test_1x_dash_c_passes_application_options(hello: Path) -> None:
    assert cli.run_arguments(["-c", "who=ana", str(hello)])[0] == "--appopts=who=ana"
    assert cli.run_arguments(["-cwho=bob", "-r", "pkg.App"]) == [
        "--appopts=who=bob",
        "-r",
        "pkg.App",
    ]


def test_1x_ssl_options_are_passed_to_twistd() -> None:
    arguments = ["--ssl-app=pkg.App", "--ssl-listen", "0.0.0.0", "--ssl-appopts", "a=1"]
    assert cli.run_arguments(arguments) == arguments


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["a.py", "b.py"], "one application file at most"),
        (["--app=pkg.App", "x.py"], "give the application once"),
        (["missing.py"], "no such application file 'missing.py'"),
        (["-c"], "-c needs a value"),
    ],
)
def test_command_lines_that_cannot_run_say_what_to_change(
    arguments: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.py").write_text("")
    with pytest.raises(cli.CommandLineError, match=message):
        cli.run_arguments(arguments)


def test_main_without_a_command_prints_usage_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "usage: cyclone run" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0
    assert cli.main(["serve"]) == 2
    assert "unknown command 'serve'" in capsys.readouterr().err


def test_the_cyclone_console_script_is_declared() -> None:
    [script] = importlib.metadata.entry_points(group="console_scripts", name="cyclone")
    assert script.value == "cyclone.cli:main"


def test_cyclone_run_serves_a_1x_application_file_until_sigterm(
    hello: Path, tmp_path: Path
) -> None:
    server = ServerProcess(
        [sys.executable, "-m", "cyclone.cli", "run", "-p", "0", "-c", "who=1.x", str(hello)],
        cwd=tmp_path,
    )
    try:
        address = server.wait_serving()
        url = f"http://{address.host}:{address.port}/"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == b"Hello, 1.x"
        server.signal(signal.SIGTERM)
        server.wait_for("cyclone stopping: draining connections")
        # twistd re-raises the signal once it has shut down cleanly.
        assert server.wait_exit() in (0, -signal.SIGTERM)
    finally:
        server.kill()


def test_a_1x_cyclone_web_application_class_is_found_without_running_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "server.py"
    path.write_text(
        "import cyclone.web\n"
        "from cyclone.web import Application\n"
        "raise SystemExit('the file must not run while its arguments are read')\n"
        "class Main(cyclone.web.RequestHandler): pass\n"
        "class WebApp(cyclone.web.Application): pass\n"
    )
    assert cli.application_in_file(str(path)) == f"{path}:WebApp"
