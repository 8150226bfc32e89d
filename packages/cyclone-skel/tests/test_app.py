"""cyclone.app: cyclone 1.x's name for the generator, with its new_project and usage."""

from __future__ import annotations

import os

import pytest

from cyclone import app


def test_new_project_with_1x_arguments_creates_the_project(tmp_path):
    path = app.new_project(
        skel=None,
        name="Foo Bar",
        email="root@localhost",
        project="foobar",
        project_name="foobar",
        project_path=str(tmp_path / "foobar"),
        modname="foobar",
        version="0.1",
        target=str(tmp_path),
        use_git=False,
        license="",
        cookie_secret="x",
    )
    assert path == str(tmp_path / "foobar")
    assert os.path.isfile(tmp_path / "foobar" / "pyproject.toml")
    assert os.path.isdir(tmp_path / "foobar" / "foobar")


def test_new_project_with_the_version_in_the_directory_name(tmp_path):
    path = app.new_project(
        project="shop", project_path=str(tmp_path / "shop-1.2"), version="1.2", modname="shop"
    )
    assert os.path.basename(path) == "shop-1.2"
    with pytest.raises(ValueError, match="project_path must end in 'shop'"):
        app.new_project(project="shop", project_path=str(tmp_path / "other"))


def test_usage_prints_the_options_and_exits_with_success(capsys):
    with pytest.raises(SystemExit) as caught:
        app.usage("0.1")
    assert caught.value.code == 0
    assert "usage: cyclone app" in capsys.readouterr().out


def test_cyclone_app_console_command_runs_the_generator(tmp_path, capsys):
    from cyclone import cli

    assert cli.main(["app", "-p", "shop", "-t", str(tmp_path)]) == 0
    assert os.path.isfile(tmp_path / "shop" / "pyproject.toml")
    assert "Created" in capsys.readouterr().out
