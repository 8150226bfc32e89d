"""Every code block in the documentation is tested, and every twistd command line parses.

Python in the docs is either included from a file that the tests run
(``{literalinclude}``) or written as a ``{doctest}`` block that
``sphinx-build -b doctest`` runs; a plain Python code block would be
untested, so it fails here. Shell blocks are not run, but each ``twistd ...
cyclone ...`` command in them (and in systemd ``ExecStart=`` lines) must parse
with the plugin's real options, and each option in the deployment guide's table
must exist.
"""

from __future__ import annotations

import pathlib
import re
import shlex

import pytest
from twisted.python import usage

from cyclone import deploy

DOCS = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted(
    page
    for page in DOCS.rglob("*.md")
    if "_build" not in page.parts and "guestbook" not in page.parts
)
#: Pages whose Python blocks are interface excerpts, not programs: they must compile.
EXCERPT_PAGES = {"architecture.md"}
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([^\s`]*)[^\n]*\n(.*?)^\1\s*$", re.M | re.S)
PYTHON = {"python", "py", "python3", "pycon", "ipython"}


def blocks(page: pathlib.Path) -> list[tuple[str, str]]:
    return [(match.group(2), match.group(3)) for match in FENCE.finditer(page.read_text())]


def test_the_documentation_has_pages():
    assert {"index.md", "getting-started.md", "deployment.md"} <= {p.name for p in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(DOCS)))
def test_python_blocks_are_included_from_tested_files_or_doctests(page):
    for language, body in blocks(page):
        if language.lower() not in PYTHON:
            continue
        if page.name in EXCERPT_PAGES:
            compile(body, str(page), "exec")
            continue
        pytest.fail(
            f"{page.relative_to(DOCS)} has an untested ```{language} block; include it from a "
            f"file that docs/tests runs ({{literalinclude}}) or make it a {{doctest}}:\n{body}"
        )


def twistd_commands() -> list[tuple[str, list[str]]]:
    """(page, arguments after ``cyclone``) of every twistd cyclone command line in the docs."""
    found = []
    for page in PAGES:
        for language, body in blocks(page):
            if language not in {"console", "sh", "bash", "shell", "ini"}:
                continue
            text = body.replace("\\\n", " ")
            for line in text.splitlines():
                line = line.split(" #", 1)[0].removeprefix("$ ").removeprefix("ExecStart=")
                if "twistd" not in line:
                    continue
                words = shlex.split(line)
                if "cyclone" in words:
                    found.append((page.name, words[words.index("cyclone") + 1 :]))
    return found


COMMANDS = twistd_commands()


def test_the_docs_show_twistd_cyclone_commands():
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize("page, arguments", COMMANDS, ids=lambda value: str(value)[:60])
def test_each_twistd_cyclone_command_parses(page, arguments):
    options = deploy.Options()
    try:
        options.parseOptions(arguments)
    except usage.UsageError as error:
        pytest.fail(f"{page}: twistd cyclone {' '.join(arguments)}: {error}")


def test_every_option_in_the_deployment_table_exists():
    known = set()
    for long_name, short, *_ in [*deploy.Options.optParameters, *deploy.Options.optFlags]:
        known.add(f"--{long_name}")
        if short:
            known.add(f"-{short}")
    known |= {
        "--" + name[4:].replace("_", "-") for name in dir(deploy.Options) if name[:4] == "opt_"
    }
    table = (DOCS / "deployment.md").read_text().split("| option |", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"`(--?[a-z][a-z-]*)`", table))
    assert documented and documented <= known, documented - known
    every_option = [*deploy.Options.optParameters, *deploy.Options.optFlags]
    assert {f"--{name}" for name, *_ in every_option} <= documented
