"""Behaviour of cyclone.template: every construct, escaping, inheritance, errors, loaders."""

from __future__ import annotations

import datetime
import os
import traceback
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

from cyclone import escape
from cyclone.template import (
    DictLoader,
    Loader,
    ParseError,
    Template,
    TemplateError,
    filter_whitespace,
)


def render(text: str, name: str = "<string>", **kwargs: object) -> str:
    return Template(text, name=name).generate(**kwargs).decode("utf-8")


def render_dict(templates: dict[str, str], name: str, **kwargs: object) -> str:
    loader_options = kwargs.pop("loader_options", {})
    loader = DictLoader(templates, **loader_options)  # type: ignore[arg-type]
    return loader.load(name).generate(**kwargs).decode("utf-8")


# -- expressions and escaping ------------------------------------------------


def test_generate_returns_utf8_bytes() -> None:
    assert Template("caf\u00e9 {{ x }}").generate(x="\u2603") == "caf\u00e9 \u2603".encode()


def test_expression_output_is_html_escaped_by_default() -> None:
    assert render("{{ x }}", x="<a href=\"x\">'&'</a>") == escape.xhtml_escape(
        "<a href=\"x\">'&'</a>"
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plain",
        "&&<<>>\"\"''",
        "caf\u00e9 <\u2603>",
        0,
        -12,
        2.5,
        True,
        None,
        ["<"],
        {"a": "&"},
    ],
)
def test_escaped_output_equals_cyclone_escape_of_the_value_text(value: object) -> None:
    assert render("{{ value }}", value=value) == escape.xhtml_escape(str(value))


def test_non_string_values_are_written_with_str() -> None:
    assert render("{{ a }} {{ b }} {{ c }} {{ d }}", a=1, b=None, c=[1, "<"], d=2.5) == (
        "1 None [1, &#39;&lt;&#39;] 2.5"
    )


def test_bytes_values_are_decoded_as_utf8() -> None:
    assert render("{{ x }}", x="<\u00e9>".encode()) == "&lt;\u00e9&gt;"


def test_raw_bytes_that_are_not_utf8_pass_through_unchanged() -> None:
    assert Template("{% raw x %}").generate(x=b"\xff\xfe") == b"\xff\xfe"


def test_str_subclass_is_written_as_its_text() -> None:
    class Name(str):
        def __str__(self) -> str:
            return "ignored"

    assert render("{{ x }}|{% raw x %}", x=Name("<b>")) == "&lt;b&gt;|<b>"


def test_autoescape_none_on_the_template_writes_values_raw() -> None:
    assert Template("{{ x }}", autoescape=None).generate(x="<b>") == b"<b>"


def test_autoescape_none_on_the_loader_applies_to_its_templates() -> None:
    loader = DictLoader({"a.html": "{{ x }}"}, autoescape=None)
    assert loader.load("a.html").generate(x="<b>") == b"<b>"


def test_autoescape_can_name_any_function_in_the_namespace() -> None:
    loader = DictLoader({"a.txt": "{{ x }}"}, autoescape="shout", namespace={"shout": bytes.upper})
    assert loader.load("a.txt").generate(x="hi") == b"HI"


def test_custom_autoescape_function_receives_utf8_bytes_like_tornado() -> None:
    seen = []

    def mark(value: bytes) -> bytes:
        seen.append(value)
        return b"[" + value + b"]"

    template = Template("{{ a }}{{ b }}{{ c }}", autoescape="mark")
    assert template.generate(a="\u00e9", b=b"x", c=3, mark=mark) == "[\u00e9][x][3]".encode()
    assert seen == ["\u00e9".encode(), b"x", b"3"]


def test_autoescape_directive_sets_the_escaping_for_the_whole_template() -> None:
    assert render("{{ x }}{% autoescape None %}{{ x }}", x="<") == "<<"
    assert render("{% autoescape xhtml_escape %}{{ x }}", x="<") == "&lt;"
    assert (
        Template("{% autoescape xhtml_escape %}{{ x }}", autoescape=None).generate(x="<")
        == b"&lt;"
    )


def test_autoescape_directive_can_use_a_function_the_template_defines() -> None:
    text = "{% autoescape mine %}{% set mine = lambda s: s.lower() %}{{ x }}"
    assert render(text, x="ABC") == "abc"


def test_autoescape_directive_does_not_leak_into_the_including_template() -> None:
    templates = {
        "outer.html": "{{ x }}{% include 'inner.html' %}{{ x }}",
        "inner.html": "{% autoescape None %}{{ x }}",
    }
    assert render_dict(templates, "outer.html", x="<") == "&lt;<&lt;"


def test_raw_writes_the_expression_without_escaping() -> None:
    assert render("{% raw x %} {{ x }}", x="<i>") == "<i> &lt;i&gt;"


def test_escape_function_overridden_by_render_arguments_is_used() -> None:
    assert render("{{ x }}", x="a", xhtml_escape=lambda s: b"[" + s + b"]") == "[a]"


def test_default_namespace_has_tornado_helpers() -> None:
    text = (
        "{{ url_escape('a b') }}|{% raw json_encode({'a': '</'}) %}|{{ squeeze(' a  b ') }}|"
        "{% raw linkify('see http://x.org') %}|{{ datetime.date(2020, 1, 2) }}|"
        "{% raw escape('<') %}|{{ _tt_utf8('x') }}|{{ isinstance('s', _tt_string_types) }}"
    )
    assert render(text) == (
        'a+b|{"a":"<\\/"}|a b|see <a href="http://x.org">http://x.org</a>|2020-01-02|&lt;|x|True'
    )


def test_loader_namespace_and_render_arguments_are_globals_of_the_template() -> None:
    loader = DictLoader({"a": "{{ greet }} {{ name }}"}, namespace={"greet": "hi", "name": "ns"})
    assert loader.load("a").generate(name="arg") == b"hi arg"


def test_module_calls_tt_modules_from_the_namespace_without_escaping() -> None:
    class Modules:
        @staticmethod
        def Entry(title: str) -> str:
            return f"<div>{title}</div>"

    text = "{% module Entry('<t>') %}"
    assert Template(text).generate(_tt_modules=Modules()) == b"<div><t></div>"


def test_apply_passes_the_rendered_body_as_utf8_bytes_and_writes_the_result_raw() -> None:
    text = "{% apply upper %}a{{ x }}\u00e9{% end %}!"
    assert render(text, x="<c>", upper=bytes.upper) == "A&LT;C&GT;\u00e9!"
    assert render(text, x="<c>", upper=lambda b: b.decode().upper()) == "A&LT;C&GT;\u00c9!"


def test_apply_with_linkify_links_urls_in_the_body() -> None:
    assert render("{% apply linkify %}go http://x.org{% end %}") == (
        'go <a href="http://x.org">http://x.org</a>'
    )


def test_nested_apply_blocks_compose() -> None:
    text = "{% apply f %}[{% apply g %}{{ x }}{% end %}]{% end %}"
    assert render(text, x="a", f=lambda s: s * 2, g=bytes.upper) == "[A][A]"


# -- control flow ------------------------------------------------------------


def test_if_elif_else_pick_the_first_true_branch() -> None:
    text = "{% if x > 1 %}big{% elif x == 1 %}one{% else %}small{% end %}"
    assert [render(text, x=x) for x in (2, 1, 0)] == ["big", "one", "small"]


def test_empty_branches_are_allowed() -> None:
    assert render("{% if x %}{% else %}no{% end %}{% for i in [] %}{% end %}", x=True) == ""


def test_for_loop_repeats_its_body() -> None:
    assert render("{% for a, b in pairs %}{{ a }}={{ b }};{% end %}", pairs=[(1, 2), (3, 4)]) == (
        "1=2;3=4;"
    )


def test_for_else_runs_when_the_loop_did_not_break() -> None:
    text = "{% for i in items %}{% if i == 2 %}{% break %}{% end %}{{ i }}{% else %}done{% end %}"
    assert render(text, items=[1, 3]) == "13done"
    assert render(text, items=[1, 2, 3]) == "1"


def test_while_loop_with_set() -> None:
    assert render("{% set i = 0 %}{% while i < 3 %}{{ i }}{% set i += 1 %}{% end %}") == "012"


def test_break_and_continue_inside_nested_if() -> None:
    text = (
        "{% for i in range(6) %}{% if i % 2 %}{% continue %}{% end %}"
        "{% if i > 3 %}{% break %}{% end %}{{ i }}{% end %}"
    )
    assert render(text) == "02"


def test_try_except_else_finally() -> None:
    text = (
        "{% try %}{{ 1 // d }}{% except ZeroDivisionError %}div0"
        "{% else %}ok{% finally %}!{% end %}"
    )
    assert render(text, d=1) == "1ok!"
    assert render(text, d=0) == "div0!"


def test_output_of_a_failed_try_body_is_kept_up_to_the_error() -> None:
    text = "{% try %}a{{ x }}{% if 1 %}c{{ 1 / 0 }}{% end %}d{% except %}b{% end %}"
    assert render(text, x=1) == "a1cb"


def test_import_and_from_import() -> None:
    assert render(
        "{% import math %}{% from os import path %}{{ math.floor(2.5) }}{{ path.sep }}"
    ) == ("2" + os.sep)


def test_set_defines_a_variable() -> None:
    assert render("{% set greeting = 'hi ' + who %}{{ greeting }}", who="<x>") == "hi &lt;x&gt;"


def test_comments_produce_nothing() -> None:
    assert render("a{# note {{ x }} #}b{% comment anything %}c") == "abc"


def test_bang_writes_the_opening_braces_literally() -> None:
    assert render("{{! x }} {%! if %} {#! c #}") == "{{ x }} {% if %} {# c #}"


def test_extra_braces_belong_to_the_text() -> None:
    assert render("{{{ x }}}", x=1) == "{1}"
    assert render("\\frac{{{ a }}}{2}", a=3) == "\\frac{3}{2}"


def test_a_lone_brace_is_text() -> None:
    assert render("{ a } {") == "{ a } {"


def test_expression_may_end_with_a_python_comment() -> None:
    assert render("{{ x  # the name }}|{% raw x # raw %}", x="<") == "&lt;|<"


def test_multiline_expressions_work() -> None:
    assert render("{{ f(\n1,\n2) }}", f=lambda a, b: a + b) == "3"


# -- whitespace --------------------------------------------------------------


def test_filter_whitespace_modes() -> None:
    text = "  a \t b\n\n   c  \n"
    assert filter_whitespace("all", text) == text
    assert filter_whitespace("single", text) == " a b\nc\n"
    assert filter_whitespace("oneline", text) == " a b c "
    with pytest.raises(ValueError, match="'bogus'"):
        filter_whitespace("bogus", text)


def test_html_and_js_files_default_to_single_whitespace() -> None:
    text = "<p>   a\n\n   b</p>"
    assert render(text, name="x.html") == "<p> a\nb</p>"
    assert render(text, name="x.js") == "<p> a\nb</p>"
    assert render(text, name="x.txt") == text
    assert render(text) == text


def test_whitespace_argument_and_loader_setting_override_the_default() -> None:
    text = "a  \n  b"
    assert Template(text, name="x.html", whitespace="all").generate() == text.encode()
    assert Template(text, name="x.txt", whitespace="oneline").generate() == b"a b"
    loader = DictLoader({"x.html": text}, whitespace="oneline")
    assert loader.load("x.html").generate() == b"a b"


def test_deprecated_compress_whitespace_flag() -> None:
    assert Template("a  b", compress_whitespace=True).generate() == b"a b"
    assert Template("a  b", name="x.html", compress_whitespace=False).generate() == b"a  b"
    with pytest.raises(ValueError):
        Template("", compress_whitespace=True, whitespace="all")


def test_whitespace_directive_changes_the_mode_for_the_rest_of_the_file() -> None:
    text = "a  b {% whitespace oneline %} c \n d {% whitespace all %} e  f"
    assert render(text, name="x.html") == "a b  c d  e  f"


def test_text_containing_pre_keeps_its_whitespace() -> None:
    text = "<pre>  a\n\n  b</pre>"
    assert render(text, name="x.html") == text


def test_whitespace_is_filtered_per_text_piece_like_tornado() -> None:
    assert render("a  {# c #}  b", name="x.html") == "a  b"


def test_invalid_whitespace_mode_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="invalid whitespace mode 'wide' at <string>:1"):
        Template("{% whitespace wide %}")
    with pytest.raises(ValueError):
        Template("", whitespace="wide")


# -- inheritance and includes ------------------------------------------------

BASE = {
    "base.html": "<title>{% block title %}Default{% end %}</title>"
    "<body>{% block body %}<main>{% block main %}base main{% end %}</main>{% end %}</body>",
    "middle.html": "{% extends 'base.html' %}{% block title %}Middle{% end %}"
    "{% block main %}middle main{% end %}",
    "leaf.html": '{% extends "middle.html" %}ignored text{% block title %}Leaf {{ n }}{% end %}',
}


def test_blocks_not_overridden_render_their_default() -> None:
    assert render_dict(BASE, "base.html") == (
        "<title>Default</title><body><main>base main</main></body>"
    )


def test_multi_level_inheritance_takes_the_most_derived_block() -> None:
    assert render_dict(BASE, "middle.html") == (
        "<title>Middle</title><body><main>middle main</main></body>"
    )
    assert render_dict(BASE, "leaf.html", n="<1>") == (
        "<title>Leaf &lt;1&gt;</title><body><main>middle main</main></body>"
    )


def test_overriding_an_outer_block_replaces_its_nested_blocks() -> None:
    templates = dict(
        BASE, **{"flat.html": "{% extends 'base.html' %}{% block body %}flat{% end %}"}
    )
    assert render_dict(templates, "flat.html") == "<title>Default</title><body>flat</body>"


def test_nested_block_inside_an_overriding_block_can_be_overridden_again() -> None:
    templates = dict(
        BASE,
        **{
            "a.html": "{% extends 'base.html' %}{% block body %}[{% block inner %}a{% end %}]{% end %}",
            "b.html": "{% extends 'a.html' %}{% block inner %}b{% end %}",
        },
    )
    assert render_dict(templates, "b.html") == "<title>Default</title><body>[b]</body>"


def test_include_inside_a_block_sees_the_render_arguments() -> None:
    templates = {
        "base.html": "<{% block content %}{% end %}>",
        "page.html": "{% extends 'base.html' %}{% block content %}{% include 'part.html' %}{% end %}",
        "part.html": "part {{ who }}",
    }
    assert render_dict(templates, "page.html", who="&") == "<part &amp;>"


def test_include_paths_are_relative_to_the_including_template() -> None:
    templates = {
        "pages/index.html": "{% include 'parts/head.html' %}|{% include '../top.html' %}",
        "pages/parts/head.html": "head {% include '../../top.html' %}",
        "top.html": "top",
    }
    assert render_dict(templates, "pages/index.html") == "head top|top"


def test_blocks_defined_in_an_included_template_can_be_overridden() -> None:
    templates = {
        "base.html": "[{% include 'nav.html' %}]",
        "nav.html": "{% block nav %}nav{% end %}",
        "page.html": "{% extends 'base.html' %}{% block nav %}custom{% end %}",
    }
    assert render_dict(templates, "page.html") == "[custom]"


def test_child_blocks_keep_their_own_autoescape_setting() -> None:
    templates = {
        "base.html": "{{ x }}{% block b %}{% end %}",
        "child.html": "{% extends 'base.html' %}{% autoescape None %}{% block b %}{{ x }}{% end %}",
    }
    assert render_dict(templates, "child.html", x="<") == "&lt;<"


def test_set_inside_a_block_is_visible_after_it() -> None:
    templates = {
        "base.html": "{% block vars %}{% end %}{{ title }}",
        "page.html": "{% extends 'base.html' %}{% block vars %}{% set title = 'T' %}{% end %}",
    }
    assert render_dict(templates, "page.html", title="default") == "T"


# -- errors ------------------------------------------------------------------


def notes(error: BaseException) -> list[str]:
    """The notes attached to ``error`` (``add_note`` on 3.11+, set directly on 3.10)."""
    return list(getattr(error, "__notes__", []))


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("a\n{% if x %}\nb", "Missing {% end %} block for if", 2),
        ("a\n{% end %}", "Extra {% end %} block", 2),
        ("\n\n{% frobnicate %}", "unknown operator: 'frobnicate'", 3),
        ("{% else %}", "else outside if/for/while/try block", 1),
        ("{% try %}{% elif x %}{% end %}", "elif block cannot be attached to try block", 1),
        ("{% block b %}{% else %}{% end %}", "else block cannot be attached to block block", 1),
        ("{% if x %}\n{% break %}{% end %}", "break outside for/while block", 2),
        (
            "{% for x in y %}{% apply f %}{% continue %}{% end %}{% end %}",
            "continue outside for/while block",
            1,
        ),
        ("a\nb {{ x", "Missing end expression }}", 2),
        ("{% if", "Missing end block %}", 1),
        ("\n{# c", "Missing end comment #}", 2),
        ("{{ }}", "Empty expression", 1),
        ("{% %}", "Empty block tag ({% %})", 1),
        ("{% extends %}", "extends missing file path", 1),
        ("{% include '' %}", "include missing file path", 1),
        ("{% set %}", "set missing statement", 1),
        ("{% import %}", "import missing statement", 1),
        ("{% block %}{% end %}", "block missing name", 1),
        ("{% apply %}{% end %}", "apply missing method name", 1),
        ("{% if x %}{% extends 'a' %}{% end %}", "must be at the top level", 1),
        ("{% extends 'a' %}", "{% extends %} block found, but no template loader", 1),
        ("{% extends 'a' %}\n{% extends 'b' %}", "more than one {% extends %}", 2),
        ("{% raw %}", "raw missing expression", 1),
        ("{% module %}", "module missing expression", 1),
        ("{% autoescape %}", "autoescape missing function name", 1),
        ("{% include 'a' %}", "{% include %} block found, but no template loader", 1),
    ],
)
def test_parse_errors_name_the_template_and_line(text: str, message: str, line: int) -> None:
    with pytest.raises(ParseError) as caught:
        Template(text, name="broken.html")
    assert message in caught.value.message
    assert (caught.value.filename, caught.value.lineno) == ("broken.html", line)
    assert str(caught.value).endswith(f" at broken.html:{line}")


def test_invalid_python_is_a_parse_error_at_its_template_line() -> None:
    with pytest.raises(ParseError) as caught:
        Template("ok\n\n{{ 1 + }}\n", name="syntax.html")
    assert (caught.value.filename, caught.value.lineno) == ("syntax.html", 3)
    assert "invalid Python in template" in caught.value.message
    assert isinstance(caught.value.__cause__, SyntaxError)


def test_invalid_python_in_an_included_template_names_that_template() -> None:
    templates = {"page.html": "{% include 'bad.html' %}", "bad.html": "\n{% if x y %}{% end %}"}
    with pytest.raises(ParseError) as caught:
        DictLoader(templates).load("page.html")
    assert (caught.value.filename, caught.value.lineno) == ("bad.html", 2)


def test_runtime_error_notes_the_template_file_and_line() -> None:
    template = Template("line one\n{{ 1 }}\n{{ items[3] }}", name="page.html")
    with pytest.raises(IndexError) as caught:
        template.generate(items=[])
    assert notes(caught.value) == ["while rendering template page.html:3"]


def test_runtime_error_in_an_included_template_names_the_include_chain() -> None:
    templates = {
        "base.html": "a\n{% block main %}{% end %}",
        "page.html": "{% extends 'base.html' %}\n{% block main %}\n{% include 'row.html' %}{% end %}",
        "row.html": "\n\n{{ row.missing }}",
    }
    with pytest.raises(AttributeError) as caught:
        DictLoader(templates).load("page.html").generate(row=object())
    assert notes(caught.value) == [
        "while rendering template row.html:3 (via page.html:3, base.html:2)"
    ]


def test_runtime_error_in_a_control_statement_and_in_apply_is_located() -> None:
    with pytest.raises(NameError) as caught:
        Template("\n{% for x in nothing %}{% end %}", name="a.html").generate()
    assert notes(caught.value) == ["while rendering template a.html:2"]
    with pytest.raises(ZeroDivisionError) as caught_apply:
        Template("{% apply str %}\n\n{{ 1 / 0 }}{% end %}", name="b.html").generate()
    assert notes(caught_apply.value) == ["while rendering template b.html:3"]


def test_traceback_shows_the_generated_line_with_its_template_location() -> None:
    template = Template("\n{{ boom() }}", name="tb.html")

    def boom() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError) as caught:
        template.generate(boom=boom)
    formatted = "".join(traceback.format_exception(caught.value))
    assert "tb_html.generated.py" in formatted
    assert "_tt_e0(boom())  # tb.html:2" in formatted


def test_traceback_shows_the_source_of_the_failing_template_among_same_named_ones() -> None:
    first = Template("{{ one() }}")
    second = Template("\n{{ two() }}")
    for template in (first, second):
        with pytest.raises(NameError) as caught:
            template.generate()
        formatted = "".join(traceback.format_exception(caught.value))
        assert ("one()" in formatted) == (template is first)
        assert ("two()" in formatted) == (template is second)


def test_exceptions_keep_their_type_and_reach_the_caller() -> None:
    class Custom(Exception):
        pass

    def fail() -> None:
        raise Custom("x")

    with pytest.raises(Custom):
        Template("{{ fail() }}").generate(fail=fail)


def test_templates_that_extend_each_other_in_a_loop_are_refused() -> None:
    loader = DictLoader({"a.html": "{% extends 'b.html' %}", "b.html": "{% extends 'a.html' %}"})
    with pytest.raises(ParseError, match="loop"):
        loader.load("a.html")


def test_a_template_including_itself_is_refused() -> None:
    loader = DictLoader({"a.html": "x{% include 'a.html' %}"})
    with pytest.raises(ParseError, match="loop"):
        loader.load("a.html")


# -- loaders -----------------------------------------------------------------


def test_dict_loader_caches_compiled_templates_until_reset() -> None:
    templates = {"a.html": "one"}
    loader = DictLoader(templates)
    first = loader.load("a.html")
    assert loader.load("a.html") is first
    templates["a.html"] = "two"
    assert loader.load("a.html").generate() == b"one"
    loader.reset()
    assert loader.load("a.html").generate() == b"two"


def test_dict_loader_missing_template_raises_key_error() -> None:
    with pytest.raises(KeyError):
        DictLoader({}).load("nope.html")


def write(path: Path, text: str, mtime: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(path, ns=(mtime, mtime))


def test_file_loader_reads_templates_under_its_root(tmp_path: Path) -> None:
    write(tmp_path / "base.html", "<h1>{% block t %}{% end %}</h1>")
    write(
        tmp_path / "sub" / "page.html",
        "{% extends '../base.html' %}{% block t %}{% include 'part.html' %}{% end %}",
    )
    write(tmp_path / "sub" / "part.html", "caf\u00e9 {{ x }}")
    loader = Loader(str(tmp_path))
    assert loader.load("sub/page.html").generate(x="&") == "<h1>caf\u00e9 &amp;</h1>".encode()


def test_file_loader_caches_until_reset(tmp_path: Path) -> None:
    write(tmp_path / "a.html", "one")
    loader = Loader(str(tmp_path))
    first = loader.load("a.html")
    write(tmp_path / "a.html", "two", mtime=first_mtime_plus(tmp_path / "a.html"))
    assert loader.load("a.html") is first
    loader.reset()
    assert loader.load("a.html").generate() == b"two"


def first_mtime_plus(path: Path) -> int:
    return path.stat().st_mtime_ns + 5_000_000_000


def test_file_loader_with_reload_recompiles_changed_templates(tmp_path: Path) -> None:
    write(tmp_path / "a.html", "one")
    loader = Loader(str(tmp_path), reload=True)
    first = loader.load("a.html")
    assert loader.load("a.html") is first
    write(tmp_path / "a.html", "two", mtime=first_mtime_plus(tmp_path / "a.html"))
    assert loader.load("a.html").generate() == b"two"


def test_file_loader_with_reload_notices_changed_parents_and_includes(tmp_path: Path) -> None:
    write(tmp_path / "base.html", "base[{% block b %}{% end %}]")
    write(tmp_path / "part.html", "part1")
    write(
        tmp_path / "page.html",
        "{% extends 'base.html' %}{% block b %}{% include 'part.html' %}{% end %}",
    )
    loader = Loader(str(tmp_path), reload=True)
    assert loader.load("page.html").generate() == b"base[part1]"
    write(tmp_path / "part.html", "part2", mtime=first_mtime_plus(tmp_path / "part.html"))
    assert loader.load("page.html").generate() == b"base[part2]"
    write(
        tmp_path / "base.html",
        "BASE[{% block b %}{% end %}]",
        mtime=first_mtime_plus(tmp_path / "base.html"),
    )
    assert loader.load("page.html").generate() == b"BASE[part2]"


def test_file_loader_without_reload_keeps_serving_the_cached_template(tmp_path: Path) -> None:
    write(tmp_path / "a.html", "one")
    loader = Loader(str(tmp_path))
    loader.load("a.html")
    write(tmp_path / "a.html", "two", mtime=first_mtime_plus(tmp_path / "a.html"))
    assert loader.load("a.html").generate() == b"one"


def test_file_loader_with_reload_reports_a_deleted_template(tmp_path: Path) -> None:
    write(tmp_path / "a.html", "one")
    loader = Loader(str(tmp_path), reload=True)
    loader.load("a.html")
    (tmp_path / "a.html").unlink()
    with pytest.raises(FileNotFoundError):
        loader.load("a.html")


def test_file_loader_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Loader(str(tmp_path)).load("nope.html")


def test_file_loader_options_reach_its_templates(tmp_path: Path) -> None:
    write(tmp_path / "a.html", "{{ x }}  {{ y }}")
    loader = Loader(str(tmp_path), autoescape=None, namespace={"y": "ns"}, whitespace="all")
    assert loader.load("a.html").generate(x="<") == b"<  ns"


def test_template_records_the_templates_it_was_built_from() -> None:
    templates = {
        "base.html": "{% include 'nav.html' %}{% block b %}{% end %}",
        "nav.html": "nav",
        "page.html": "{% extends 'base.html' %}{% block b %}{% include 'row.html' %}{% end %}",
        "row.html": "row",
    }
    page = DictLoader(templates).load("page.html")
    assert page.dependencies == {"base.html", "nav.html", "row.html"}
    assert page.generate() == b"navrow"


def test_compiled_code_is_exposed_and_reused_across_renders() -> None:
    template = Template("{{ x }}")
    assert "def _tt_execute():" in template.code
    assert [template.generate(x=i) for i in range(3)] == [b"0", b"1", b"2"]


def test_renders_do_not_share_variables() -> None:
    template = Template("{% if first %}{% set seen = 1 %}{% end %}{{ globals().get('leak', 0) }}")
    assert template.generate(first=True) == b"0"
    assert template.generate(first=False, leak=5) == b"5"


def test_datetime_module_is_available() -> None:
    assert render("{{ datetime.datetime(2020, 1, 2).year }}") == "2020"
    assert render("{{ d.isoformat() }}", d=datetime.date(2021, 3, 4)) == "2021-03-04"


# -- cyclone 1.x: TemplateError, {% super %}, Deferred values ---------------------------------


def test_parse_errors_are_template_errors_so_1x_handlers_still_catch_them() -> None:
    with pytest.raises(TemplateError) as caught:
        Template("{% if x %}never closed", name="bad.html")
    assert isinstance(caught.value, ParseError)
    assert "Missing {% end %} block for if at bad.html:1" in str(caught.value)


def test_errors_raised_while_rendering_propagate_unwrapped_as_in_tornado() -> None:
    with pytest.raises(ZeroDivisionError):
        Template("{{ 1 / 0 }}").generate()


# The inheritance cases of cyclone 1.3's own test suite, run unchanged.
_SUPER_TEMPLATES = {
    "base.html": r"value: {% block value %}original{% end %}",
    "ext1.html": r'{% extends "base.html" %}{% block value %}new1{% end %}',
    "ext2.html": r'{% extends "base.html" %}{% block value %}{% super %}, new2{% end %}',
    "ext3.html": r'{% extends "ext2.html" %}{% block value %}{% super %}, new3{% end %}',
    "ext2_1.html": r'{% extends "base.html" %}{% block value %}{% super %}, a={{a}}{% end %}',
    "ext3_1.html": r'{% extends "ext2_1.html" %}{% block value %}{% super %}, a={{a}}{% end %}',
    "ext3_2.html": (
        r'{% extends "ext2_1.html" %}{% block value %}{% super %}, a={{a}}:b={{b}}{% end %}'
    ),
    "ext3_3.html": r'{% extends "ext2_1.html" %}{% block value %}{% super %}, b={{b}}{% end %}',
}


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("base.html", {}, b"value: original"),
        ("ext1.html", {}, b"value: new1"),
        ("ext2.html", {}, b"value: original, new2"),
        ("ext3.html", {}, b"value: original, new2, new3"),
        ("ext2_1.html", {"a": -5}, b"value: original, a=-5"),
        ("ext3_1.html", {"a": 42}, b"value: original, a=42, a=42"),
        ("ext3_2.html", {"a": 42, "b": 11}, b"value: original, a=42, a=42:b=11"),
        ("ext3_3.html", {"a": 42, "b": 7}, b"value: original, a=42, b=7"),
    ],
)
def test_super_writes_the_block_as_the_extended_template_defines_it(
    name: str, arguments: dict[str, int], expected: bytes
) -> None:
    assert DictLoader(_SUPER_TEMPLATES).load(name).generate(**arguments) == expected


def test_super_in_several_blocks_and_inside_control_flow() -> None:
    templates = {
        "base.html": "{% block v1 %}1{% end %} {% block v2 %}2{% end %}",
        "ext.html": '{% extends "base.html" %}{% block v1 %}{% super %}+10{% end %}'
        "{% block v2 %}= 9 + {% if show %}{% super %}{% else %}?{% end %}{% end %}",
    }
    assert render_dict(templates, "ext.html", show=True) == "1+10 = 9 + 2"
    assert render_dict(templates, "ext.html", show=False) == "1+10 = 9 + ?"


def test_super_in_a_block_with_no_parent_definition_writes_nothing() -> None:
    assert render("[{% block b %}{% super %}x{% end %}]") == "[x]"


def test_super_outside_a_block_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"\{% super %\} outside a \{% block %\} at t.html:1"):
        Template("{% super %}", name="t.html")


def test_a_template_without_deferred_values_renders_synchronously() -> None:
    assert Template("{{ a }}{% raw b %}{{ c }}").generate(a=1, b=None, c=2.5) == b"1None2.5"


def test_deferred_values_that_already_fired_render_synchronously_as_in_1x() -> None:
    # cyclone 1.3's own test, unchanged.
    page = Template(r"-) {{x}} <-> {{y(63)}} :!")
    assert page.generate(x=defer.succeed(42), y=defer.succeed) == b"-) 42 <-> 63 :!"


@pytest_twisted.ensureDeferred
async def test_deferred_values_make_generate_return_a_deferred_of_the_page() -> None:
    first: defer.Deferred[str] = defer.Deferred()
    second: defer.Deferred[str] = defer.Deferred()
    page = Template("<p>{{ a }}</p>{% raw b %}<i>{{ n }}</i>", name="page.html")
    result = page.generate(a=first, b=second, n=7)
    assert isinstance(result, defer.Deferred)
    reactor.callLater(0, second.callback, "<br>")
    reactor.callLater(0.01, first.callback, "<Ann & Bob>")
    assert await result == b"<p>&lt;Ann &amp; Bob&gt;</p><br><i>7</i>"


@pytest_twisted.ensureDeferred
async def test_deferred_values_work_in_loops_blocks_and_custom_autoescape() -> None:
    templates = {
        "base.html": "{% block body %}{% end %}",
        "page.html": '{% extends "base.html" %}{% autoescape upper %}{% block body %}'
        "{% for d in items %}{{ d }};{% end %}{% end %}",
    }
    loader = DictLoader(templates, namespace={"upper": lambda value: value.upper()})
    items = [defer.Deferred() for _ in range(3)]
    result = loader.load("page.html").generate(items=items)
    for index, item in enumerate(items):
        reactor.callLater(0, item.callback, f"v{index}".encode())
    assert await result == b"V0;V1;V2;"


@pytest_twisted.ensureDeferred
async def test_a_deferred_chained_to_another_deferred_is_waited_for_to_the_end() -> None:
    inner: defer.Deferred[str] = defer.Deferred()
    outer: defer.Deferred[object] = defer.Deferred()
    outer.addCallback(lambda _: inner)
    result = Template("[{{ d }}]").generate(d=outer)
    outer.callback(None)
    reactor.callLater(0, inner.callback, "done")
    assert await result == b"[done]"


@pytest_twisted.ensureDeferred
async def test_a_failing_deferred_value_fails_the_page() -> None:
    pending: defer.Deferred[str] = defer.Deferred()
    result = Template("{{ d }}").generate(d=pending)
    reactor.callLater(0, pending.errback, LookupError("no such user"))
    with pytest.raises(LookupError, match="no such user"):
        await result


def test_a_deferred_value_that_already_failed_raises_at_once() -> None:
    with pytest.raises(KeyError, match="gone"):
        Template("{{ d }}").generate(d=defer.fail(KeyError("gone")))


def test_a_deferred_value_inside_apply_is_refused_clearly() -> None:
    page = Template("{% apply linkify %}{{ d }}{% end %}")
    with pytest.raises(TemplateError, match=r"inside \{% apply %\} has a Deferred value"):
        page.generate(d=defer.Deferred())
    assert page.generate(d="www.x.org") == b'<a href="http://www.x.org">www.x.org</a>'


def test_a_render_failing_after_a_deferred_value_leaves_later_renders_synchronous() -> None:
    with pytest.raises(ZeroDivisionError):
        Template("{{ d }}{{ 1 / 0 }}").generate(d=defer.Deferred())
    assert Template("{{ x }}").generate(x=1) == b"1"
