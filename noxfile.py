"""Sessions for the cyclone monorepo.

    nox -s tests                 # every package on every CPython 3.10-3.13 found here
    nox -s "tests-3.11(package='core')"  # one package on one Python
    nox -s examples lint typecheck build
    nox -s docs                  # the documentation site into docs/_build/html, and its snippets
    nox -s typing                # a typed user application per distribution, mypy --strict + pyright
    nox -s bench                 # needs Debian's wrk (the session says how to get it)
    nox -s demo                  # serves the demo site on http://127.0.0.1:8888/ (-- --port N)

Each ``tests`` session installs only the package under test, cyclone-core and the
test dependency group, so a package that quietly imports a sibling fails there.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pathlib
import shutil
import sys

import nox

ROOT = pathlib.Path(__file__).parent
PACKAGES_DIR = ROOT / "packages"
PACKAGES = ["core", "web", "websocket", "rpc", "mail", "redis", "sqlite", "skel"]
SUPPORTED_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
PYPROJECT = nox.project.load_toml(str(ROOT / "pyproject.toml"))

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "examples", "lint", "typecheck", "typing", "build", "docs"]


def _expose_pyenv_interpreters() -> None:
    """Put each pyenv CPython's real bin directory on PATH, ahead of pyenv's shims.

    pyenv's shims answer ``python3.12`` with an error unless that version is
    selected, so nox would skip interpreters that are in fact installed.
    """
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    directories = []
    for version in SUPPORTED_PYTHONS:
        found = sorted(glob.glob(os.path.join(pyenv_root, "versions", f"{version}.*", "bin")))
        if found:
            directories.append(found[-1])
    if directories:
        os.environ["PATH"] = os.pathsep.join([*directories, os.environ.get("PATH", "")])


def _available_pythons() -> list[str]:
    _expose_pyenv_interpreters()
    found = [version for version in SUPPORTED_PYTHONS if shutil.which(f"python{version}")]
    return found or [f"{sys.version_info.major}.{sys.version_info.minor}"]


PYTHONS = _available_pythons()


def _package_path(name: str) -> str:
    return str(PACKAGES_DIR / f"cyclone-{name}")


def _install_test_group(session: nox.Session) -> None:
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))


@nox.session(python=PYTHONS)
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests with only that package and cyclone-core installed."""
    targets = [_package_path("core")]
    if package != "core":
        targets.append(_package_path(package))
    session.install(*targets)
    _install_test_group(session)
    extra = PACKAGES_DIR / f"cyclone-{package}" / "tests" / "requirements.txt"
    if extra.exists():
        session.install("-r", str(extra))
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
        str(PACKAGES_DIR / f"cyclone-{package}" / "tests"),
        *session.posargs,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": _path_with_uv(session)},
    )


def _path_with_uv(session: nox.Session) -> str:
    """PATH for the tests: the session's venv first, then the uv nox itself runs.

    test_namespace builds throw-away environments with uv; on a machine where uv
    is only the one installed beside nox (the README's set-up), it is not on PATH.
    """
    entries = [session.bin]
    uv = _uv()
    if uv:
        entries.append(os.path.dirname(uv))
    entries.append(os.environ.get("PATH", ""))
    return os.pathsep.join(entries)


@nox.session(python=PYTHONS[-1:] if "3.11" not in PYTHONS else ["3.11"])
def examples(session: nox.Session) -> None:
    """Start every example as a user would and drive it over real sockets."""
    session.install(*[_package_path(name) for name in PACKAGES])
    session.install(_package_path("web") + "[client]")  # cyclone.auth signs in through treq
    _install_test_group(session)
    requirements = ROOT / "examples" / "requirements.txt"
    if requirements.exists():
        session.install("-r", str(requirements))
    session.run(
        "pytest", "-p", "no:cacheprovider", "--import-mode=importlib", "examples", *session.posargs
    )


DEMO_VENV = ROOT / ".nox" / "demo-venv"
DEMO_STAMP = DEMO_VENV / "cyclone-demo.stamp"


def _uv() -> str | None:
    """The uv executable: the one pip installed beside nox, else one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _demo_stamp() -> str:
    """What the demo's environment depends on: this Python, the packages' pyproject.toml, VERSION.

    The packages are installed editable, so edits to their sources need no reinstall; only
    their metadata (dependencies, entry points) or another interpreter does.
    """
    digest = hashlib.sha256(f"{sys.executable}\n{sys.version}\n".encode())
    for name in PACKAGES:
        digest.update((PACKAGES_DIR / f"cyclone-{name}" / "pyproject.toml").read_bytes())
    version = ROOT / "VERSION"  # every distribution's version comes from it
    if version.exists():
        digest.update(version.read_bytes())
    return digest.hexdigest()


@nox.session(python=False)
def demo(session: nox.Session) -> None:
    """Serve the demo site on http://127.0.0.1:8888/ (nox -s demo -- --port 9000 --interface 0.0.0.0).

    The packages are installed editable into .nox/demo-venv on the first run and again only
    when a pyproject.toml changed; later runs start the site at once.
    """
    python = DEMO_VENV / "bin" / "python"
    stamp = _demo_stamp()
    current = DEMO_STAMP.read_text().strip() if DEMO_STAMP.exists() else ""
    if current != stamp or not python.exists():
        # cyclone-web[client]: the HTTP client cyclone.auth signs in with, for the demo's sign-in.
        targets = [
            _package_path(name) + ("[client]" if name == "web" else "") for name in PACKAGES
        ]
        editable = [item for target in targets for item in ("-e", target)]
        shutil.rmtree(DEMO_VENV, ignore_errors=True)
        uv = _uv()
        if uv:
            session.run(uv, "venv", "-q", "-p", sys.executable, str(DEMO_VENV))
            session.run(uv, "pip", "install", "-q", "-p", str(python), *editable)
        else:
            session.run(sys.executable, "-m", "venv", str(DEMO_VENV))
            session.run(str(python), "-m", "pip", "install", "-q", *editable)
        DEMO_STAMP.write_text(stamp + "\n")
    else:
        session.log(f"reusing {DEMO_VENV.relative_to(ROOT)}: the packages are unchanged")
    # Ctrl-C reaches the demo too; give it time to close its connections before nox steps in.
    session.run(
        str(python), str(ROOT / "examples" / "demo" / "app.py"), *session.posargs,
        interrupt_timeout=15,
    )  # fmt: skip


@nox.session(python=PYTHONS[-1:] if "3.11" not in PYTHONS else ["3.11"])
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHONS[-1:] if "3.11" not in PYTHONS else ["3.11"])
def typecheck(session: nox.Session) -> None:
    """mypy over every package's sources, read from the tree as one namespace."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "typecheck"))
    session.install(*[_package_path(name) for name in PACKAGES])
    source_dirs = sorted(str(path / "src") for path in PACKAGES_DIR.iterdir())
    modules: set[str] = set()
    for source in source_dirs:
        for entry in pathlib.Path(source, "cyclone").iterdir():
            if entry.suffix == ".py" or (entry / "__init__.py").exists():
                modules.add("cyclone." + entry.name.removesuffix(".py"))
    arguments = [item for module in sorted(modules) for item in ("-p", module)]
    session.run(
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        *arguments,
        env={"MYPYPATH": os.pathsep.join(source_dirs)},
    )


_USER_MYPY_CONFIG = """[mypy]
strict = True
"""
_USER_PYRIGHT_CONFIG = """{"typeCheckingMode": "strict", "reportUnnecessaryTypeIgnoreComment": "error"}
"""


@nox.session(name="typing", python=PYTHONS[-1:] if "3.11" not in PYTHONS else ["3.11"])
@nox.parametrize("package", PACKAGES)
def typing_session(session: nox.Session, package: str) -> None:
    """mypy --strict and pyright (strict) on a typed user application, as a user's checker sees it.

    Only cyclone-core and the distribution are installed, as built wheels (not
    editable), so the check sees exactly the PEP 561 markers a user gets. The
    application is ``packages/cyclone-<package>/tests/typed_app.py``.
    """
    targets = [_package_path("core")]
    if package != "core":
        targets.append(_package_path(package))
    session.install(*targets)
    session.install(*nox.project.dependency_groups(PYPROJECT, "typecheck"), "pyright>=1.1.400")
    application = PACKAGES_DIR / f"cyclone-{package}" / "tests" / "typed_app.py"
    scratch = pathlib.Path(session.create_tmp())
    (scratch / "mypy.ini").write_text(_USER_MYPY_CONFIG)
    (scratch / "pyrightconfig.json").write_text(_USER_PYRIGHT_CONFIG)
    # Run from the scratch folder so neither checker reads the monorepo's own settings
    # (pyproject.toml's ignore_missing_imports would hide a missing py.typed).
    with session.chdir(scratch):
        session.run(
            "mypy",
            "--config-file",
            "mypy.ini",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            str(application),
        )
        session.run("pyright", "--project", "pyrightconfig.json", str(application))


@nox.session(python=PYTHONS[-1:] if "3.11" not in PYTHONS else ["3.11"])
def docs(session: nox.Session) -> None:
    """Build the documentation site with warnings as errors, then run every example in it.

    HTML goes to docs/_build/html. ``sphinx-build -b doctest`` runs the
    ``{doctest}`` blocks; pytest runs docs/tests (the tutorial application, the
    included example programs, and a check that every code block is one of those).
    """
    session.install(*[_package_path(name) for name in PACKAGES])
    session.install(_package_path("web") + "[client]")
    _install_test_group(session)
    session.install("-r", str(ROOT / "docs" / "requirements.txt"))
    build_dir = ROOT / "docs" / "_build"
    common = ["-W", "--keep-going", "-n", "-q", "-E", "-d", str(build_dir / "doctrees")]
    session.run("sphinx-build", *common, "-b", "html", "docs", str(build_dir / "html"))
    session.run("sphinx-build", *common, "-b", "doctest", "docs", str(build_dir / "doctest"))
    session.run(
        "pytest", "-p", "no:cacheprovider", "--import-mode=importlib", "docs", *session.posargs
    )


@nox.session(python=PYTHONS[-1:] if "3.11" not in PYTHONS else ["3.11"])
def build(session: nox.Session) -> None:
    """Build every sdist and wheel; install each wheel beside only cyclone-core and import it."""
    session.install("build", "hatchling", "uv")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for name in PACKAGES:
        session.run(
            "python", "-m", "build", "--no-isolation", "--outdir", str(dist), _package_path(name)
        )
    session.run("python", str(ROOT / "tools" / "check_wheels.py"), str(dist))


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """Benchmark cyclone against Tornado 6, cyclone 1.3 and a raw Twisted ceiling (needs wrk)."""
    session.run(sys.executable, str(ROOT / "bench" / "run.py"), *session.posargs)


@nox.session(python=PYTHONS[-1:] if "3.11" not in PYTHONS else ["3.11"])
def autobahn(session: nox.Session) -> None:
    """Autobahn|Testsuite cases 1-10, 12, 13 against cyclone.websocket; fails on any FAILED.

    autobahntestsuite is Python 2 only: it goes into .nox/autobahn-py27, a virtualenv made
    by virtualenv 20.21.1 (the last that creates 2.7 environments) from pyenv's 2.7.
    ``nox -s autobahn -- --full`` runs every compression case (slow).
    """
    session.install(_package_path("core"), _package_path("websocket"), "virtualenv==20.21.1")
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(os.path.join(pyenv_root, "versions", "2.7.*", "bin", "python")))
    python2 = os.environ.get("AUTOBAHN_PYTHON2") or (
        found[-1] if found else shutil.which("python2")
    )
    if not python2:
        session.error("needs a CPython 2.7 (pyenv install 2.7.18, or set AUTOBAHN_PYTHON2)")
    venv = ROOT / ".nox" / "autobahn-py27"
    wstest = venv / "bin" / "wstest"
    if not wstest.exists():
        session.run("python", "-m", "virtualenv", "-p", python2, str(venv))
        session.run(str(venv / "bin" / "pip"), "install", "autobahntestsuite", external=True)
    autobahn_dir = PACKAGES_DIR / "cyclone-websocket" / "autobahn"
    session.run(
        "python",
        str(autobahn_dir / "run.py"),
        "--wstest",
        str(wstest),
        "--results",
        str(autobahn_dir / "RESULTS.md"),
        *session.posargs,
    )
