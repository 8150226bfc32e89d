"""Tests for cyclone.locale.extract: finding messages in Python and templates, and the Babel plugin."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

from babel.messages.extract import extract, extract_from_dir

from cyclone.locale.extract import (
    ExtractedCall,
    extract_cyclone_template,
    extract_python,
    extract_template,
    is_python_format,
    message_parts,
)

PYTHON_SOURCE = textwrap.dedent(
    '''\
    class IndexHandler(BaseHandler):
        def post(self):
            _ = self.locale.translate
            # TRANSLATORS: greeting on the home page
            # shown once per visit
            self.write(_("hello"))
            self.write(_("%(n)d apple", "%(n)d apples", n) % {"n": n})
            self.write(self.locale.translate("implicit " "concatenation"))
            self.write(self.locale.pgettext("fruit", "orange"))
            self.write(pgettext("fruit", "%(n)d orange", "%(n)d oranges", n))
            self.write(_("keyword", plural_message="keywords", count=n))
            self.write(ngettext("one", "many", 2))
            self.write(npgettext("ctx", "one", "many", 2))
            self.write(_(
                """multi
    line"""))
            self.write(_(name))
            self.write(_("the name is: %s" % name))
            self.write("abc".translate(table))
            self.write(ignored("not a keyword"))
    '''
)


def _messages(calls: list[ExtractedCall]) -> list[tuple[int, tuple[str | None, str, str | None]]]:
    return [(call.lineno, message_parts(call)) for call in calls]


def test_python_calls_are_found_with_ast():
    warnings: list[str] = []
    calls = extract_python(PYTHON_SOURCE, filename="app.py", warn=warnings.append)
    assert _messages(calls) == [
        (6, (None, "hello", None)),
        (7, (None, "%(n)d apple", "%(n)d apples")),
        (8, (None, "implicit concatenation", None)),
        (9, ("fruit", "orange", None)),
        (10, ("fruit", "%(n)d orange", "%(n)d oranges")),
        (11, (None, "keyword", "keywords")),
        (12, (None, "one", "many")),
        (13, ("ctx", "one", "many")),
        (14, (None, "multi\nline", None)),
    ]
    assert warnings == [
        "app.py:17: _() has no string literal to extract",
        "app.py:18: _() has no string literal to extract"
        ' (format after translating: _("... %s") % value)',
    ]


def test_translator_comments_are_attached_from_the_block_above():
    calls = extract_python(PYTHON_SOURCE, comment_tags=["TRANSLATORS:"])
    assert calls[0].comments == ["TRANSLATORS: greeting on the home page", "shown once per visit"]
    assert all(call.comments == [] for call in calls[1:])


def test_custom_keywords_replace_the_defaults():
    calls = extract_python('lazy("a")\n_("b")\n', keywords=["lazy"])
    assert _messages(calls) == [(1, (None, "a", None))]


def test_python_syntax_errors_name_the_file():
    try:
        extract_python("_(\n", filename="broken.py")
    except SyntaxError as error:
        assert error.filename == "broken.py"
    else:
        raise AssertionError("expected SyntaxError")


TEMPLATE = textwrap.dedent(
    """\
    <html> <body> <form action="/" method="post"> <p>{{ _("write someone's name:") }}</p>
    <input type="submit" value="{{ _('send') }}"> </form>
    {# TRANSLATORS: language menu title #}
    <p>{{ _("change language:") }}</p>
    {% for item in [_("first"), pgettext("menu", "second")] %}{{ item }}{% end %}
    {% if count > 1 and _("many") %}{% elif _("few") %}{% else %}{% end %}
    {% set label = _("%(n)d file", "%(n)d files", count) % {"n": count} %}
    {% raw _("<b>raw</b>") %}
    {% module Template("item.html", title=_("module title")) %}
    {% apply _ %}not extracted{% end %}
    {% while _("looping") %}{% break %}{% end %}
    {{! _("escaped, not code") }} {%! _("also escaped") %}
    {# _("commented out") #}
    {% comment _("a comment") %}
    {{ _(
         "spread over"
         " lines") }}
    {%
       set late = _("late statement")
    %}
    {% extends "base.html" %}{% include "x.html" %}{% import os %}{% from os import path %}
    {% try %}{% except Exception %}{% finally %}{% end %}{% autoescape None %}{% whitespace all %}
    {{ title }} {{ _(variable) }}
    </body> </html>
    """
)


def test_template_blocks_are_parsed_as_python_expressions():
    warnings: list[str] = []
    calls = extract_template(TEMPLATE, filename="index.html", warn=warnings.append)
    assert _messages(calls) == [
        (1, (None, "write someone's name:", None)),
        (2, (None, "send", None)),
        (4, (None, "change language:", None)),
        (5, (None, "first", None)),
        (5, ("menu", "second", None)),
        (6, (None, "many", None)),
        (6, (None, "few", None)),
        (7, (None, "%(n)d file", "%(n)d files")),
        (8, (None, "<b>raw</b>", None)),
        (9, (None, "module title", None)),
        (11, (None, "looping", None)),
        (15, (None, "spread over lines", None)),
        (19, (None, "late statement", None)),
    ]
    assert warnings == ["index.html:23: _() has no string literal to extract"]


def test_template_translator_comments_attach_to_the_next_line():
    calls = extract_template(TEMPLATE, comment_tags=["TRANSLATORS:"])
    commented = [(call.arguments, call.comments) for call in calls if call.comments]
    assert commented == [(("change language:",), ["TRANSLATORS: language menu title"])]


def test_unparseable_template_blocks_are_reported_and_skipped():
    warnings: list[str] = []
    calls = extract_template(
        '{{ _("ok") }}\n{{ _("broken" }}\n{% frobnicate x %}\n{{ _("unterminated"',
        filename="t.html",
        warn=warnings.append,
    )
    assert _messages(calls) == [(1, (None, "ok", None))]
    assert len(warnings) == 3
    assert warnings[0].startswith("t.html:2: cannot parse {{")
    assert warnings[1].startswith("t.html:3: cannot parse {%") and "frobnicate" in warnings[1]
    assert warnings[2] == "t.html:4: unterminated {{ block"


def test_python_format_detection():
    assert is_python_format("%(n)d files")
    assert is_python_format("the name is: %s")
    assert not is_python_format("100%% sure")
    assert not is_python_format("plain")


def test_babel_finds_the_template_extractor_through_its_entry_point():
    fileobj = io.BytesIO(TEMPLATE.encode("utf-8"))
    results = list(extract("cyclone", fileobj, comment_tags=["TRANSLATORS:"]))
    assert (1, "write someone's name:", [], None) in results
    assert (4, "change language:", ["TRANSLATORS: language menu title"], None) in results
    assert (5, "second", [], "menu") in results
    # Tornado's _(singular, plural, count) reaches Babel as a plural message
    assert (7, ("%(n)d file", "%(n)d files"), [], None) in results


def test_babel_python_entry_point_reports_tornado_plurals(tmp_path: Path):
    (tmp_path / "app.py").write_text(PYTHON_SOURCE, encoding="utf-8")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "index.html").write_text(TEMPLATE, encoding="utf-8")
    method_map = [("**.py", "cyclone_python"), ("templates/**.html", "cyclone")]
    found = {
        (filename, message, context)
        for filename, _, message, _, context in extract_from_dir(str(tmp_path), method_map)
    }
    assert ("app.py", ("%(n)d apple", "%(n)d apples"), None) in found
    assert ("app.py", ("%(n)d orange", "%(n)d oranges"), "fruit") in found
    assert ("app.py", ("keyword", "keywords"), None) in found
    assert ("templates/index.html", "send", None) in found


def test_extractor_function_is_usable_without_the_keyword_mapping():
    results = list(extract_cyclone_template(io.BytesIO(b'{{ _("a", "b", n) }}'), ["_"], [], {}))
    assert results == [(1, "_", ("a", "b", None), [])]


def test_extractor_module_imports_without_babel():
    code = "import sys; sys.modules['babel'] = None; import cyclone.locale.extract"
    subprocess.run([sys.executable, "-c", code], check=True)
