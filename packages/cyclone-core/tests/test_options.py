"""cyclone.options: defining, parsing the command line and config files, help, errors."""

from __future__ import annotations

import datetime
import io
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import pytest

from cyclone.options import Error, OptionParser


@pytest.fixture
def parser() -> OptionParser:
    return OptionParser()


def test_values_read_as_attributes_and_items_with_either_separator(parser) -> None:
    parser.define("max_connections", default=10)
    assert parser.max_connections == 10
    assert parser["max-connections"] == 10 and parser["max_connections"] == 10
    parser["max-connections"] = 20
    assert parser.max_connections == 20
    assert "max-connections" in parser and "max_connections" in parser
    assert "other" not in parser


def test_reading_or_writing_an_undefined_option_is_an_error(parser) -> None:
    with pytest.raises(AttributeError, match="no option 'nope'"):
        parser.nope  # noqa: B018
    with pytest.raises(KeyError):
        parser["nope"]
    with pytest.raises(AttributeError):
        parser.nope = 1


def test_defining_a_name_twice_says_where_it_was_defined(parser) -> None:
    parser.define("port", default=1)
    with pytest.raises(Error, match=r"'port' is already defined in .*test_options\.py"):
        parser.define("port", default=2)


def test_the_type_comes_from_the_default_or_is_str(parser) -> None:
    parser.define("port", default=8888)
    parser.define("name")
    parser.parse_command_line(["prog", "--port=9000", "--name=site"])
    assert parser.port == 9000 and parser.name == "site"


def test_command_line_returns_the_arguments_after_the_options(parser) -> None:
    parser.define("port", default=8888)
    assert parser.parse_command_line(["prog", "--port=1", "serve", "--x"]) == ["serve", "--x"]
    assert parser.parse_command_line(["prog", "--port=2", "--", "-not-an-option"]) == [
        "-not-an-option"
    ]
    assert parser.port == 2


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("YES", True),
        ("on", True),
        ("1", True),
        ("false", False),
        ("no", False),
        ("off", False),
        ("0", False),
        ("f", False),
    ],
)
def test_bools_take_the_usual_spellings(parser, text: str, value: bool) -> None:
    parser.define("debug", default=False)
    parser.parse_command_line(["prog", f"--debug={text}"])
    assert parser.debug is value


def test_a_bool_flag_alone_means_true_and_nonsense_is_refused(parser) -> None:
    parser.define("debug", default=False)
    parser.parse_command_line(["prog", "--debug"])
    assert parser.debug is True
    with pytest.raises(Error, match=r"option 'debug': 'ture' is not a valid bool"):
        parser.parse_command_line(["prog", "--debug=ture"])


def test_bad_values_and_missing_values_name_the_option(parser) -> None:
    parser.define("port", default=8888)
    with pytest.raises(Error, match=r"option 'port': 'eighty' is not a valid int"):
        parser.parse_command_line(["prog", "--port=eighty"])
    with pytest.raises(Error, match=r"--port needs a value"):
        parser.parse_command_line(["prog", "--port"])
    with pytest.raises(Error, match=r"unknown option --colour"):
        parser.parse_command_line(["prog", "--colour=red"])


def test_floats_datetimes_and_timedeltas_parse(parser) -> None:
    parser.define("ratio", type=float)
    parser.define("start", type=datetime.datetime)
    parser.define("day", type=datetime.datetime)
    parser.define("at", type=datetime.datetime)
    parser.define("ttl", type=datetime.timedelta)
    parser.define("plain", type=datetime.timedelta)
    parser.parse_command_line(
        [
            "prog",
            "--ratio=0.25",
            "--start=2026-12-07 10:30",
            "--day=20261207",
            "--at=10:15:30",
            "--ttl=1h 30min 15s 500ms",
            "--plain=90",
        ]
    )
    assert parser.ratio == 0.25
    assert parser.start == datetime.datetime(2026, 12, 7, 10, 30)
    assert parser.day == datetime.datetime(2026, 12, 7)
    assert (parser.at.hour, parser.at.minute, parser.at.second) == (10, 15, 30)
    assert parser.ttl == datetime.timedelta(hours=1, minutes=30, seconds=15, milliseconds=500)
    assert parser.plain == datetime.timedelta(seconds=90)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2w", datetime.timedelta(weeks=2)),
        ("3d", datetime.timedelta(days=3)),
        ("5m", datetime.timedelta(minutes=5)),
        ("10sec", datetime.timedelta(seconds=10)),
        ("250us", datetime.timedelta(microseconds=250)),
        ("1.5h", datetime.timedelta(minutes=90)),
    ],
)
def test_timedelta_takes_tornados_unit_suffixes(parser, text, value) -> None:
    parser.define("wait", type=datetime.timedelta)
    parser.parse_command_line(["prog", f"--wait={text}"])
    assert parser.wait == value


def test_bad_dates_and_durations_are_errors(parser) -> None:
    parser.define("when", type=datetime.datetime)
    parser.define("wait", type=datetime.timedelta)
    with pytest.raises(Error, match="'when'"):
        parser.parse_command_line(["prog", "--when=next tuesday"])
    with pytest.raises(Error, match=r"'wait'.*unknown unit 'fortnights'"):
        parser.parse_command_line(["prog", "--wait=2fortnights"])


def test_multiple_values_are_comma_separated_and_int_ranges_inclusive(parser) -> None:
    parser.define("ports", type=int, multiple=True)
    parser.define("hosts", multiple=True)
    assert parser.ports == [] and parser.hosts == []
    parser.parse_command_line(["prog", "--ports=8001:8003,9000", "--hosts=a.example,b.example"])
    assert parser.ports == [8001, 8002, 8003, 9000]
    assert parser.hosts == ["a.example", "b.example"]
    with pytest.raises(Error, match="ends before it starts"):
        parser.parse_command_line(["prog", "--ports=5:3"])


def test_setting_a_value_checks_its_type(parser) -> None:
    parser.define("port", default=8888)
    parser.define("ratio", default=0.5)
    parser.define("ports", type=int, multiple=True)
    with pytest.raises(Error, match=r"'port' takes a int, got '80'"):
        parser.port = "80"
    parser.ratio = 1  # an int is a fine float
    assert parser.ratio == 1.0 and isinstance(parser.ratio, float)
    with pytest.raises(Error, match="takes a list of int"):
        parser.ports = 3
    with pytest.raises(Error, match="takes a int"):
        parser.ports = [1, "2"]


def test_callbacks_run_on_every_change_and_parse_callbacks_after_a_final_parse(parser) -> None:
    changes, parses = [], []
    parser.define("port", default=1, callback=changes.append)
    parser.add_parse_callback(lambda: parses.append(parser.port))
    parser.parse_command_line(["prog", "--port=2"], final=False)
    assert changes == [2] and parses == []
    parser.port = 3
    parser.parse_command_line(["prog"])
    assert changes == [2, 3] and parses == [3]


def test_a_config_file_is_python_and_sets_matching_names(parser, tmp_path: Path) -> None:
    parser.define("port", default=8888)
    parser.define("debug", default=False)
    parser.define("hosts", multiple=True)
    parser.define("backends", type=int, multiple=True)
    parser.define("here")
    config = tmp_path / "site.conf"
    config.write_text(
        textwrap.dedent(
            """
            import os
            port = 8000 + 1
            debug = "yes"
            hosts = ["a", "b"]
            backends = "1:2,7"
            here = os.path.dirname(__file__)
            unrelated = object()
            """
        )
    )
    parser.parse_config_file(config)
    assert parser.port == 8001 and parser.debug is True
    assert parser.hosts == ["a", "b"] and parser.backends == [1, 2, 7]
    assert parser.here == str(tmp_path)


def test_a_config_file_can_be_named_on_the_command_line(parser, tmp_path: Path) -> None:
    (tmp_path / "prod.conf").write_text("port = 80\n")
    parser.define("port", default=8888)
    parser.define("config", callback=lambda path: parser.parse_config_file(path, final=False))
    parser.parse_command_line(["prog", f"--config={tmp_path / 'prod.conf'}"])
    assert parser.port == 80


def test_groups_and_dicts_for_application_settings(parser) -> None:
    parser.define("template_path", default="templates", group="application")
    parser.define("static_path", default="static", group="application")
    parser.define("port", default=8888)
    assert parser.groups() == {"application", __file__, ""}
    assert parser.group_dict("application") == {
        "template_path": "templates",
        "static_path": "static",
    }
    assert parser.as_dict() == {
        "help": None,
        "template_path": "templates",
        "static_path": "static",
        "port": 8888,
    }
    assert list(parser) == ["help", "template_path", "static_path", "port"]
    assert ("port", 8888) in parser.items()


def test_help_lists_options_by_group_with_defaults(parser) -> None:
    parser.define("port", default=8888, help="port to listen on", metavar="PORT")
    parser.define("db", help="database URL", group="storage")
    out = io.StringIO()
    parser.print_help(out)
    text = out.getvalue()
    assert text.startswith("Usage: ")
    assert "storage options:" in text and f"{__file__} options:" in text
    assert "--port=PORT" in text and "port to listen on (default 8888)" in text
    assert "--db" in text and "database URL" in text


def test_mockable_patches_and_restores_a_value(parser) -> None:
    parser.define("port", default=8888)
    with mock.patch.object(parser.mockable(), "port", 1):
        assert parser.port == 1
    assert parser.port == 8888


def test_the_global_options_have_help_and_logging(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(
        textwrap.dedent(
            """
            import logging, sys
            from twisted.logger import Logger
            from cyclone.options import define, options, parse_command_line

            define("port", default=8888, help="port to listen on")
            rest = parse_command_line()
            logging.getLogger("app").info("stdlib info")
            logging.getLogger("app").warning("stdlib warning %s", options.port)
            Logger(namespace="app").info("twisted info")
            Logger(namespace="app").warn("twisted warn")
            print("rest", rest)
            """
        )
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script), *args], capture_output=True, text=True, timeout=30
        )

    shown = run("--port=9", "extra")
    assert shown.returncode == 0, shown.stderr
    assert "stdlib info" in shown.stderr and "stdlib warning 9" in shown.stderr
    assert "twisted info" in shown.stderr and "twisted warn" in shown.stderr
    assert "rest ['extra']" in shown.stdout
    quiet = run("--logging=warning")
    assert "stdlib info" not in quiet.stderr and "stdlib warning 8888" in quiet.stderr
    assert "twisted info" not in quiet.stderr and "twisted warn" in quiet.stderr
    untouched = run("--logging=none")
    assert "twisted" not in untouched.stderr and "stdlib info" not in untouched.stderr
    helped = run("--help")
    assert helped.returncode == 0
    assert "--port" in helped.stdout and "port to listen on (default 8888)" in helped.stdout
    assert "--logging=LEVEL" in helped.stdout
    refused = run("--logging=loud")
    assert refused.returncode == 1 and "'loud' is not one of debug, info" in refused.stderr
