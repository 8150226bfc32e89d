"""Tests for cyclone.skel: the generated tree, the command line, and a generated project
installed into a fresh virtualenv, run under twistd and tested with its own tests."""

from __future__ import annotations

import json
import os
import pathlib
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest

from cyclone.skel import CycloneSource, ProjectSpec, SkelError, generate, main
from cyclone.skel.source import detect

PACKAGES_DIR = pathlib.Path(__file__).resolve().parents[2]
REPOSITORY = PACKAGES_DIR.parent

DEFAULT_FILES = {
    ".gitignore",
    "README.rst",
    "foobar.conf",
    "foobar/__init__.py",
    "foobar/config.py",
    "foobar/static/app.js",
    "foobar/static/style.css",
    "foobar/templates/base.html",
    "foobar/templates/index.html",
    "foobar/web.py",
    "pyproject.toml",
    "scripts/systemd/foobar.service",
    "scripts/systemd/foobar@.service",
    "tests/test_web.py",
    "twisted/plugins/foobar_plugin.py",
}

PLACEHOLDER = re.compile(r"\$\{?(project|modname|version|author|email|cookie_secret)\b")


def _files(root: str | pathlib.Path) -> set[str]:
    root = pathlib.Path(root)
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def _read(root: str | pathlib.Path, name: str) -> str:
    return (pathlib.Path(root) / name).read_text(encoding="utf-8")


def _toml(text: str) -> dict:
    import tomllib  # Python 3.11+; the callers check the raw text on 3.10

    return tomllib.loads(text)


def _skel(*args: str, cwd: str | pathlib.Path | None = None, module: str = "cyclone.skel"):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


# The generated tree


def test_default_project_has_the_package_plugin_tests_and_units(tmp_path):
    path = generate("foobar", target=str(tmp_path))
    assert path == os.path.join(str(tmp_path), "foobar")
    assert _files(path) == DEFAULT_FILES


def test_no_cyclone_init_or_template_suffix_or_placeholder_is_left(tmp_path):
    path = generate("foobar", target=str(tmp_path))
    for name in _files(path):
        assert not name.endswith(".tmpl")
        assert "__modname__" not in name and "__project__" not in name
        assert not PLACEHOLDER.search(_read(path, name)), name
    assert not (pathlib.Path(path) / "twisted" / "__init__.py").exists()
    assert not (pathlib.Path(path) / "twisted" / "plugins" / "__init__.py").exists()


def test_every_generated_python_file_compiles(tmp_path):
    path = generate("foobar", target=str(tmp_path))
    for name in _files(path):
        if name.endswith(".py"):
            compile(_read(path, name), name, "exec")


def test_pyproject_depends_on_core_and_web_and_ships_the_plugin(tmp_path):
    path = generate("foobar", target=str(tmp_path), version="1.2.3")
    text = _read(path, "pyproject.toml")
    if sys.version_info >= (3, 11):
        project = _toml(text)
        assert project["project"]["name"] == "foobar"
        assert project["project"]["version"] == "1.2.3"
        assert project["project"]["dependencies"] == ["cyclone-core", "cyclone-web"]
        assert project["build-system"]["build-backend"] == "hatchling.build"
        wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
        assert wheel["packages"] == ["foobar", "twisted"]
    assert 'version = "1.2.3"' in text
    assert '__version__ = "1.2.3"' in _read(path, "foobar/__init__.py")


def test_modname_option_names_the_package_plugin_and_config(tmp_path):
    path = generate("foobar", modname="fb", target=str(tmp_path))
    files = _files(path)
    assert {"fb/web.py", "fb.conf", "twisted/plugins/fb_plugin.py"} <= files
    assert not any(name.startswith("foobar/") for name in files)
    plugin = _read(path, "twisted/plugins/fb_plugin.py")
    assert 'tapname = "fb"' in plugin
    assert "from fb.web import Application" in plugin
    assert "project: foobar" not in plugin
    assert 'name = "foobar"' in _read(path, "pyproject.toml")


def test_project_name_with_a_dash_gets_an_underscored_module(tmp_path):
    path = generate("my-site", target=str(tmp_path))
    files = _files(path)
    assert {"my_site/web.py", "twisted/plugins/my_site_plugin.py"} <= files
    assert {"scripts/systemd/my-site.service", "scripts/systemd/my-site@.service"} <= files
    assert "twistd -n my_site" in _read(path, "README.rst")


def test_set_pkg_version_puts_the_version_in_the_directory_name(tmp_path):
    path = generate("foobar", version="2.0", set_pkg_version=True, target=str(tmp_path))
    assert os.path.basename(path) == "foobar-2.0"
    assert "foobar/web.py" in _files(path)
    assert 'name = "foobar"' in _read(path, "pyproject.toml")


def test_each_project_gets_its_own_cookie_secret(tmp_path):
    first = generate("one", target=str(tmp_path))
    second = generate("two", target=str(tmp_path))
    secrets = [
        re.search(r"^cookie_secret = (\S+)$", _read(path, f"{name}.conf"), re.M).group(1)
        for path, name in ((first, "one"), (second, "two"))
    ]
    assert secrets[0] != secrets[1]
    assert all(len(secret) >= 32 for secret in secrets)


def test_systemd_units_run_twistd_in_the_foreground_and_the_template_takes_the_port(tmp_path):
    path = generate("foobar", target=str(tmp_path))
    single = _read(path, "scripts/systemd/foobar.service")
    per_core = _read(path, "scripts/systemd/foobar@.service")
    for unit in (single, per_core):
        (exec_start,) = re.findall(r"^ExecStart=(.*)$", unit, re.M)
        assert exec_start.startswith("/srv/foobar/.venv/bin/twistd --nodaemon --pidfile= foobar")
        assert "--config=foobar.conf" in exec_start
        assert "[Install]" in unit and "WantedBy=multi-user.target" in unit
    assert "--port" not in single
    assert re.search(r"^ExecStart=.* --port=%i$", per_core, re.M)
    assert "seq -f 'foobar@%g' 8001 $((8000 + $(nproc)))" in per_core


def test_readme_explains_running_testing_and_deploying(tmp_path):
    path = generate("foobar", target=str(tmp_path))
    readme = _read(path, "README.rst")
    assert readme.startswith("foobar\n======\n")
    for expected in (
        "twistd -n foobar",
        'pip install -e ".[test]"',
        "pytest",
        "--pidfile=/var/run/foobar.pid",
        "--logfile=/var/log/foobar.log",
        "--uid=nobody --gid=nobody",
        "--reactor=epoll",
        "foobar@.service",
        "proxy_set_header Host $host;",
    ):
        assert expected in readme, expected


def test_git_option_initialises_a_repository_with_the_users_identity(tmp_path, monkeypatch):
    assert shutil.which("git"), "git is needed for -g/--git"
    config = tmp_path / "gitconfig"
    for key, value in (
        ("user.name", 'Ada "Countess" Lovelace'),
        ("user.email", "ada@example.org"),
    ):
        subprocess.run(["git", "config", "--file", str(config), key, value], check=True)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    path = generate("foobar", target=str(tmp_path), use_git=True)
    text = _read(path, "pyproject.toml")
    assert '{ name = "Ada \\"Countess\\" Lovelace", email = "ada@example.org" }' in text
    if sys.version_info >= (3, 11):
        assert _toml(text)["project"]["authors"] == [
            {"name": 'Ada "Countess" Lovelace', "email": "ada@example.org"}
        ]
    staged = subprocess.run(
        ["git", "ls-files"], cwd=path, capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(staged) == DEFAULT_FILES


def test_without_git_the_metadata_has_a_placeholder_author_and_no_repository(tmp_path):
    path = generate("foobar", target=str(tmp_path))
    assert '{ name = "Foo Bar", email = "root@localhost" }' in _read(path, "pyproject.toml")
    assert not (pathlib.Path(path) / ".git").exists()


def test_git_option_without_git_installed_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SkelError, match="needs git"):
        generate("foobar", target=str(tmp_path), use_git=True)
    assert not (tmp_path / "foobar").exists()


def test_a_failed_git_init_leaves_no_half_made_project(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_git = bin_dir / "git"
    fake_git.write_text(
        '#!/bin/sh\n[ "$1" = config ] && exit 1\necho "fatal: disk on fire" >&2\nexit 128\n'
    )
    fake_git.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(SkelError, match="git init -q failed .*disk on fire"):
        generate("foobar", target=str(tmp_path), use_git=True)
    assert not (tmp_path / "foobar").exists()


@pytest.mark.parametrize("project", ["x", "foo bar", "-foo", "foo/bar", "föö", ""])
def test_invalid_project_names_are_refused(tmp_path, project):
    with pytest.raises(SkelError, match="invalid project name"):
        generate(project, target=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("modname", ["1abc", "foo-bar", "class", "a.b"])
def test_modnames_that_are_not_identifiers_are_refused(tmp_path, modname):
    with pytest.raises(SkelError, match="invalid module name"):
        generate("foobar", modname=modname, target=str(tmp_path))


@pytest.mark.parametrize("modname", ["twisted", "tests", "cyclone", "scripts"])
def test_modnames_that_would_shadow_the_project_layout_are_refused(tmp_path, modname):
    with pytest.raises(SkelError, match="reserved"):
        generate("foobar", modname=modname, target=str(tmp_path))


def test_project_named_twisted_needs_another_modname(tmp_path):
    with pytest.raises(SkelError, match="reserved"):
        generate("twisted", target=str(tmp_path))
    path = generate("twisted", modname="tw", target=str(tmp_path))
    assert "tw/web.py" in _files(path)


@pytest.mark.parametrize("version", ["", "one", "1.0-beta", "1..0"])
def test_invalid_versions_are_refused(tmp_path, version):
    with pytest.raises(SkelError, match="invalid version"):
        generate("foobar", version=version, target=str(tmp_path))


def test_an_existing_directory_is_never_overwritten(tmp_path):
    (tmp_path / "foobar").mkdir()
    (tmp_path / "foobar" / "keep.txt").write_text("mine")
    with pytest.raises(SkelError, match="already exists"):
        generate("foobar", target=str(tmp_path))
    assert _files(tmp_path / "foobar") == {"keep.txt"}


def test_a_missing_target_directory_is_an_error(tmp_path):
    with pytest.raises(SkelError, match="does not exist"):
        generate("foobar", target=str(tmp_path / "nowhere"))


def test_project_spec_lists_every_substitution():
    spec = ProjectSpec("foobar", "foobar", author='A "B"', cookie_secret="s")
    values = spec.substitutions()
    assert values["author_toml"] == '"A \\"B\\""'
    assert values["project_underline"] == "======"
    assert values["cookie_secret"] == "s"


# The command line


def test_main_creates_the_project_and_says_how_to_run_it(tmp_path, capsys):
    status = main(["-p", "foobar", "-t", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "twistd -n foobar" in out
    assert _files(tmp_path / "foobar") == DEFAULT_FILES


def test_main_long_options_match_the_old_generator(tmp_path, capsys):
    status = main(
        ["--project=foobar", "--modname=fb", "--version=0.2", "--set-pkg-version"]
        + [f"--target={tmp_path}"]
    )
    assert status == 0
    assert "fb/web.py" in _files(tmp_path / "foobar-0.2")
    assert "twistd -n fb" in capsys.readouterr().out


def test_main_reports_errors_with_status_1(tmp_path, capsys):
    assert main(["-p", "foobar", "-m", "twisted", "-t", str(tmp_path)]) == 1
    assert "reserved" in capsys.readouterr().err


def test_main_without_a_project_prints_usage_with_status_2(capsys):
    assert main([]) == 2
    assert "--project" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["cyclone.skel", "cyclone.app"])
def test_help_lists_the_old_options(module):
    result = _skel("--help", module=module)
    assert result.returncode == 0, result.stderr
    # argparse writes "-p NAME, --project NAME" before Python 3.13, "-p, --project NAME" after.
    for short, long, metavar in (
        ("-h", "--help", ""),
        ("-g", "--git", ""),
        ("-p", "--project", "NAME"),
        ("-m", "--modname", "NAME"),
        ("-v", "--version", "VERSION"),
        ("-s", "--set-pkg-version", ""),
        ("-t", "--target", "PATH"),
    ):
        argument = f"( {metavar})?" if metavar else ""
        pattern = rf"^\s+{short}{argument}, {long}{argument}\s"
        assert re.search(pattern, result.stdout, re.M), (pattern, result.stdout)
    assert f"python -m {module}" in result.stdout


def test_old_cyclone_app_command_generates_the_seed_project(tmp_path):
    result = _skel("-p", "foobar", cwd=tmp_path, module="cyclone.app")
    assert result.returncode == 0, result.stderr
    assert _files(tmp_path / "foobar") == DEFAULT_FILES


def test_command_line_error_exits_nonzero_with_the_reason(tmp_path):
    result = _skel("-p", "foo bar", "-t", str(tmp_path))
    assert result.returncode == 1
    assert "invalid project name 'foo bar'" in result.stderr


# Where the generated project installs cyclone from


def test_a_checkout_source_installs_core_and_web_from_its_packages_directory(tmp_path):
    source = CycloneSource.from_path(str(REPOSITORY))
    assert source == CycloneSource("checkout", str(REPOSITORY))
    assert source.install_command() == (
        f'pip install -e ".[test]" {PACKAGES_DIR / "cyclone-core"} {PACKAGES_DIR / "cyclone-web"}'
    )


def test_a_wheel_directory_source_is_found_with_find_links(tmp_path):
    for name in ("cyclone_core-2.0-py3-none-any.whl", "cyclone_web-2.0-py3-none-any.whl"):
        (tmp_path / name).write_bytes(b"")
    source = CycloneSource.from_path(str(tmp_path))
    assert source.kind == "wheels"
    assert source.install_command() == f'pip install --find-links {tmp_path} -e ".[test]"'


def test_pypi_source_is_the_plain_editable_install():
    assert CycloneSource.from_path("pypi").install_command() == 'pip install -e ".[test]"'


def test_paths_with_spaces_are_quoted_for_the_shell(tmp_path):
    checkout = tmp_path / "my cyclone"
    for name in ("cyclone-core", "cyclone-web"):
        (checkout / "packages" / name).mkdir(parents=True)
        (checkout / "packages" / name / "pyproject.toml").write_text("")
    command = CycloneSource.from_path(str(checkout)).install_command()
    assert shlex.split(command)[-2:] == [
        str(checkout / "packages" / "cyclone-core"),
        str(checkout / "packages" / "cyclone-web"),
    ]


@pytest.mark.parametrize("content", [[], ["cyclone_core-2.0-py3-none-any.whl"], ["README"]])
def test_a_directory_that_is_neither_checkout_nor_wheels_is_refused(tmp_path, content):
    for name in content:
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(SkelError, match="neither a checkout .* nor a directory holding"):
        generate("foobar", target=str(tmp_path), cyclone_from=str(tmp_path))
    assert not (tmp_path / "foobar").exists()


def test_a_missing_source_directory_is_refused(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["-p", "foobar", "-t", str(tmp_path), "--cyclone-from", str(missing)]) == 1
    assert f"cyclone source {str(missing)!r} is not a directory" in capsys.readouterr().err


def test_by_default_the_project_installs_from_the_checkout_the_generator_came_from():
    # These tests run from a checkout, with cyclone-skel installed from it (editable or not).
    assert detect() == CycloneSource("checkout", str(REPOSITORY))


def test_readme_says_how_to_install_and_where_cyclone_comes_from(tmp_path):
    path = generate("foobar", target=str(tmp_path), cyclone_from=str(REPOSITORY))
    readme = _read(path, "README.rst")
    assert _install_lines(readme) == [CycloneSource.from_path(str(REPOSITORY)).install_command()]
    assert f"come from the cyclone checkout in {REPOSITORY}" in readme
    assert "sudo apt install python3-venv" in readme


def test_help_and_readme_agree_on_the_install_command(tmp_path):
    path = generate("foobar", target=str(tmp_path))  # the default source, as --help shows it
    (install,) = _install_lines(_read(path, "README.rst"))
    help_text = _skel("--help").stdout
    assert f"  {install}\n" in help_text
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in ("cyclone_core-2.0-py3-none-any.whl", "cyclone_web-2.0-py3-none-any.whl"):
        (wheels / name).write_bytes(b"")
    other = generate("other", target=str(tmp_path), cyclone_from=str(wheels))
    (install,) = _install_lines(_read(other, "README.rst"))
    assert f"  {install}\n" in _skel("--cyclone-from", str(wheels), "--help").stdout


def test_main_prints_the_readmes_install_command(tmp_path, capsys):
    assert main(["-p", "foobar", "-t", str(tmp_path), "--cyclone-from", str(REPOSITORY)]) == 0
    printed = capsys.readouterr().out
    (install,) = _install_lines(_read(tmp_path / "foobar", "README.rst"))
    assert f"  {install}\n" in printed
    assert "  twistd -n foobar " in printed


# The generated project, for real


def _install_lines(readme: str) -> list[str]:
    return [
        line.strip() for line in readme.splitlines() if line.strip().startswith("pip install ")
    ]


def _check(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result


def _clean_environment(venv: pathlib.Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "PYTEST", "VIRTUAL_ENV", "PIP_REQUIRE"))
    }
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env["VIRTUAL_ENV"] = str(venv)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _make_venv(venv: pathlib.Path, env: dict[str, str]) -> None:
    if shutil.which("uv"):
        _check(["uv", "venv", "-q", "--python", sys.executable, str(venv)], env=env)
    else:
        _check([sys.executable, "-m", "venv", str(venv)], env=env)


def _pip_install(venv: pathlib.Path, arguments: list[str], env: dict[str, str], cwd) -> None:
    """``pip install <arguments>`` into ``venv``: with uv when present (cached, fast), else pip."""
    if shutil.which("uv"):
        # Local directories are rebuilt (uv caches their wheels by pyproject.toml alone).
        refresh = [
            argument
            for name in ("cyclone-core", "cyclone-web", "cyclone-skel", "foobar")
            for argument in ("--refresh-package", name)
        ]
        command = ["uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
        _check([*command, *refresh, *arguments], env=env, cwd=cwd, timeout=900)
    else:
        python = str(venv / "bin" / "python")
        _check([python, "-m", "pip", "install", "-q", *arguments], env=env, cwd=cwd, timeout=900)


def _install_as_the_readme_says(project: pathlib.Path, venv: pathlib.Path, env) -> str:
    (line,) = _install_lines(_read(project, "README.rst"))
    words = shlex.split(line)
    assert words[:2] == ["pip", "install"], line
    _pip_install(venv, words[2:], env, cwd=project)
    return line


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers["Content-Type"], response.read()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Twistd:
    """``twistd -n <args>`` in a directory; its output is collected line by line."""

    def __init__(self, command: list[str], cwd: pathlib.Path, env: dict[str, str]) -> None:
        self.output: list[str] = []
        self._lines: queue.Queue = queue.Queue()
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(
            target=_read_lines, args=(self.process.stdout, self._lines), daemon=True
        ).start()

    def wait_for(self, pattern: str) -> re.Match:
        while True:
            line = self._lines.get(timeout=120)
            assert line is not None, "twistd exited:\n" + "".join(self.output)
            self.output.append(line)
            match = re.search(pattern, line)
            if match:
                return match

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail("twistd did not stop on SIGTERM:\n" + "".join(self.output))


@pytest.mark.slow
def test_generated_project_installs_from_the_checkout_passes_its_tests_and_runs_under_twistd(
    tmp_path,
):
    project = pathlib.Path(generate("foobar", target=str(tmp_path), cyclone_from=str(REPOSITORY)))
    venv = tmp_path / "venv"
    env = _clean_environment(venv)
    _make_venv(venv, env)
    _install_as_the_readme_says(project, venv, env)

    # The project's own tests, as its README says to run them.
    tests = _check([str(venv / "bin" / "python"), "-m", "pytest", "-q"], cwd=project, env=env)
    assert "8 passed" in tests.stdout, tests.stdout

    # `twistd -n foobar` in the project directory reads foobar.conf: its port and its secret.
    port = _free_port()
    config = project / "foobar.conf"
    config.write_text(config.read_text().replace("port = 8888", f"port = {port}"))
    server = _Twistd([str(venv / "bin" / "twistd"), "-n", "foobar"], project, env)
    try:
        assert server.wait_for(r"starting on (\d+)").group(1) == str(port)
        base = f"http://127.0.0.1:{port}"
        status, content_type, body = _get(base + "/")
        assert (status, content_type.split(";")[0]) == (200, "text/html")
        page = body.decode()
        assert "<h1>Welcome to foobar</h1>" in page
        stylesheet = re.search(r'href="(/static/style\.css\?v=[^"]+)"', page).group(1)
        status, content_type, body = _get(base + stylesheet)
        assert (status, content_type.split(";")[0]) == (200, "text/css")
        assert b"font-family" in body
        status, content_type, body = _get(base + "/api/hello?name=twistd")
        assert (status, content_type.split(";")[0]) == (200, "application/json")
        assert json.loads(body) == {
            "message": "Hello, twistd!",
            "project": "foobar",
            "version": "0.1",
        }
    finally:
        returncode = server.stop()
    output = "".join(server.output)
    assert returncode in (0, -signal.SIGTERM), output
    assert f"foobar: settings from {config}" in output
    assert "no cookie_secret configured" not in output


@pytest.mark.slow
def test_a_generator_installed_from_wheels_writes_a_project_that_installs_from_them(tmp_path):
    wheels = tmp_path / "wheels"
    venv = tmp_path / "venv"
    env = _clean_environment(venv)
    _make_venv(venv, env)
    python = str(venv / "bin" / "python")
    for name in ("cyclone-core", "cyclone-web", "cyclone-skel"):
        if shutil.which("uv"):
            build = ["uv", "build", "-q", "--wheel", "--out-dir", str(wheels)]
        else:
            build = [python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels)]
        _check([*build, str(PACKAGES_DIR / name)], env=env, timeout=600)
    (skel_wheel,) = wheels.glob("cyclone_skel-*.whl")
    _pip_install(venv, ["--find-links", str(wheels), str(skel_wheel)], env, cwd=tmp_path)

    # Run from the wheel, the generator finds the wheels it was installed from.
    _check([python, "-m", "cyclone.skel", "-p", "foobar"], cwd=tmp_path, env=env)
    project = tmp_path / "foobar"
    line = _install_as_the_readme_says(project, venv, env)
    assert line == f'pip install --find-links {wheels} -e ".[test]"'
    tests = _check([python, "-m", "pytest", "-q"], cwd=project, env=env)
    assert "8 passed" in tests.stdout, tests.stdout
