"""The demo's UI modules: page components used as ``{% module Name(...) %}`` in templates.

A UI module renders a piece of HTML and can bring its own JavaScript and CSS:
`cyclone.uimodules` adds each file once to every page that uses the module.

- `FeatureCard`: one card of the tour on the home page.
- `SourceCode`: "the code behind this page": the files as they are on disk.
- `LanguagePicker`: the language buttons in the header (posted to /locale).
"""

from __future__ import annotations

import html
import os

import cyclone.web
from demosite.highlight import highlight_python

#: examples/demo: the directory SourceCode shows files from.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FeatureCard(cyclone.web.UIModule):
    """A card linking to one part of the tour: title, what it shows, and the modules used."""

    def render(
        self,
        title: str,
        href: str,
        text: str,
        modules: list[str],
        status: str | None = None,
        status_ok: bool = True,
    ) -> bytes:
        return self.render_string(
            "modules/card.html",
            title=title,
            href=href,
            text=text,
            modules=modules,
            status=status,
            status_ok=status_ok,
        )

    def css_files(self) -> list[str]:
        """Only pages showing cards load their stylesheet (look in the page's <head>)."""
        return ["cards.css"]


class SourceCode(cyclone.web.UIModule):
    """The files behind a page, as they are on disk (Python highlighted), in collapsed panels.

    ``{% module SourceCode("demosite/chat.py", "static/js/chat.js") %}``: paths are
    relative to examples/demo.
    """

    def render(self, *paths: str) -> bytes:
        files = []
        for path in paths:
            full = os.path.normpath(os.path.join(ROOT, path))
            if not full.startswith(ROOT + os.sep):
                raise ValueError(f"SourceCode shows files of the demo only, not {path!r}")
            with open(full, encoding="utf-8") as source:
                text = source.read()
            code = highlight_python(text) if path.endswith(".py") else html.escape(text)
            files.append({"path": path, "code": code, "lines": text.count("\n")})
        return self.render_string("modules/source.html", files=files)

    def javascript_files(self) -> list[str]:
        """The "Copy" buttons."""
        return ["js/source.js"]


class LanguagePicker(cyclone.web.UIModule):
    """A button per language; each posts to /locale/set with this page's path as ``next``."""

    def render(self, languages: list[str]) -> bytes:
        import cyclone.locale

        choices = [cyclone.locale.get(code) for code in languages]
        return self.render_string(
            "modules/languages.html",
            choices=choices,
            current=self.locale.code,
            next_url=self.request.path,
        )
