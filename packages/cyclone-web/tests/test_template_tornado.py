"""cyclone.template behaves like tornado.template (a test-only dependency).

Both engines get the same templates and arguments; Tornado's ``xhtml_escape``
writes ``'`` as ``&#x27;`` where cyclone writes ``&#39;``, so that one
difference is normalised before comparing. Tornado's own template test suite,
which ships inside the tornado package, is also run with cyclone's classes
swapped in.
"""

from __future__ import annotations

import unittest
from typing import Any

import pytest
from tornado import template as tornado_template
from tornado.test import template_test as tornado_template_test

from cyclone import template as cyclone_template

CASES: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "expressions": (
        {"t.html": "<p>{{ a }} {{ b }} {{ c }} {{ d }}</p>{% raw a %}"},
        {"a": "<Tom & 'Jerry'>", "b": 42, "c": None, "d": b"by\xc3\xa9tes"},
    ),
    "control flow": (
        {
            "t.txt": """{% for i in range(8) %}{% if i % 2 %}{% continue %}{% elif i > 5 %}{% break %}{% else %}[{{ i }}]{% end %}{% end %}
{% set n = 0 %}{% while n < 3 %}{{ n }}{% set n += 1 %}{% end %}
{% for x in [] %}never{% else %}empty{% end %}
{% try %}{{ 1 // zero }}{% except ZeroDivisionError as error %}caught{% else %}no{% finally %}!{% end %}
{% import math %}{% from os.path import join %}{{ math.pi > 3 }} {{ join("a", "b") }}
"""
        },
        {"zero": 0},
    ),
    "comments and literals": (
        {"t.txt": "a{# c #}b{% comment x %}c {{! x }} {%! y %} {#! z #} {{{ v }}} { a } {"},
        {"v": 1},
    ),
    "whitespace single": (
        {
            "t.html": "<ul>\n    {% for i in items %}\n      <li>  {{ i }}  </li>\n\n"
            "    {% end %}\n</ul>\n<pre>\n  keep   this\n</pre>"
        },
        {"items": ["a", "b"]},
    ),
    "whitespace directive": (
        {"t.html": "a   b\n\n{% whitespace oneline %}c \n\n d {% whitespace all %}  e \n\n f"},
        {},
    ),
    "whitespace all for other files": ({"t.txt": "a   b\n\n\n  c"}, {}),
    "inheritance": (
        {
            "base.html": "<title>{% block title %}Default{% end %}</title>\n"
            "<body>{% block body %}<main>{% block main %}base{% end %}</main>{% end %}</body>",
            "middle.html": "{% extends 'base.html' %}{% block main %}middle {{ x }}{% end %}",
            "t.html": '{% extends "middle.html" %}{% block title %}Leaf {{ x }}{% end %}',
        },
        {"x": "<x>"},
    ),
    "include inside block": (
        {
            "base.html": "[{% block content %}{% end %}]",
            "parts/row.html": "<row {{ r }}>",
            "t.html": "{% extends 'base.html' %}{% block content %}"
            "{% for r in rows %}{% include 'parts/row.html' %}{% end %}{% end %}",
        },
        {"rows": [1, "&"]},
    ),
    "autoescape directive and apply": (
        {
            "inner.html": "{% autoescape None %}{{ x }}",
            "t.html": "{{ x }}{% include 'inner.html' %}{% apply upper %}{{ x }}b{% end %}"
            "{% apply linkify %}see http://example.com/?a=1&b=2{% end %}",
        },
        {"x": "<i>", "upper": lambda s: s.upper()},
    ),
    "modules": (
        {"t.html": "{% module Hello('<w>') %}"},
        {"_tt_modules": type("M", (), {"Hello": staticmethod(lambda w: "<b>" + w + "</b>")})()},
    ),
}


def normalise(output: bytes) -> bytes:
    return output.replace(b"&#x27;", b"&#39;")


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_tornado(case: str) -> None:
    templates, arguments = CASES[case]
    name = "t.html" if "t.html" in templates else "t.txt"
    ours = cyclone_template.DictLoader(templates).load(name).generate(**arguments)
    theirs = tornado_template.DictLoader(templates).load(name).generate(**arguments)
    assert normalise(ours) == normalise(theirs)


@pytest.mark.parametrize("autoescape", [None, "xhtml_escape"])
def test_loader_autoescape_setting_matches_tornado(autoescape: str | None) -> None:
    templates = {"t.html": "{{ x }}|{% raw x %}"}
    ours = cyclone_template.DictLoader(templates, autoescape=autoescape).load("t.html")
    theirs = tornado_template.DictLoader(templates, autoescape=autoescape).load("t.html")
    assert ours.generate(x="<&>") == theirs.generate(x="<&>")


@pytest.mark.parametrize(
    "text",
    [
        "{% if x %}",
        "{% end %}",
        "{% bogus %}",
        "{% else %}",
        "{% for x in y %}{% apply f %}{% break %}{% end %}{% end %}",
        "a\n{{ x",
        "{{ }}",
    ],
)
def test_parse_errors_are_raised_where_tornado_raises_them(text: str) -> None:
    with pytest.raises(tornado_template.ParseError) as theirs:
        tornado_template.Template(text, name="e.html")
    with pytest.raises(cyclone_template.ParseError) as ours:
        cyclone_template.Template(text, name="e.html")
    assert ours.value.filename == theirs.value.filename


def _tornado_template_tests() -> list[unittest.TestCase]:
    def flatten(suite: unittest.TestSuite) -> list[unittest.TestCase]:
        cases: list[unittest.TestCase] = []
        for item in suite:
            cases.extend(flatten(item) if isinstance(item, unittest.TestSuite) else [item])
        return cases

    return flatten(unittest.defaultTestLoader.loadTestsFromModule(tornado_template_test))


@pytest.mark.parametrize(
    "case", _tornado_template_tests(), ids=lambda case: case.id().split(".", 3)[-1]
)
def test_tornado_own_template_test_passes_against_cyclone(
    case: unittest.TestCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tornado's template test suite (shipped in its wheel), run with cyclone's classes."""
    for name in ("Template", "DictLoader", "Loader", "ParseError"):
        monkeypatch.setattr(tornado_template_test, name, getattr(cyclone_template, name))
    result = unittest.TestResult()
    case.run(result)
    problems = [text for _, text in result.failures + result.errors]
    assert not problems, "\n".join(problems)
