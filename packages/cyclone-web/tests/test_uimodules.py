"""UI modules and UI methods: rendering, and the JavaScript/CSS they add to pages."""

from __future__ import annotations

import types

import pytest
import pytest_twisted

from cyclone import uimodules
from cyclone.testing import Client
from cyclone.web import Application, RequestHandler, UIModule

PAGE = (
    "<html><head><title>t</title></head><body>"
    "{% for entry in entries %}{% module Entry(entry) %}{% end %}"
    "</body></html>"
)


class Entry(UIModule):
    created = 0

    def __init__(self, handler):
        super().__init__(handler)
        Entry.created += 1

    def render(self, entry):
        return self.render_string("entry.html", entry=entry)

    def embedded_javascript(self):
        return "var entries = true;"

    def embedded_css(self):
        return ".entry { margin: 0 }"

    def javascript_files(self):
        return ["entry.js", "https://cdn.example/shared.js"]

    def css_files(self):
        return "entry.css"


class Sidebar(UIModule):
    def render(self):
        return f"<aside>{self.current_user}@{self.request.path}</aside>"

    def javascript_files(self):
        return ["https://cdn.example/shared.js", "/abs/side.js"]

    def css_files(self):
        return ["/abs/side.css"]

    def html_head(self):
        return '<meta name="sidebar">'

    def html_body(self):
        return "<!-- sidebar -->"


@pytest.fixture
def app(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.html").write_text(PAGE)
    (templates / "entry.html").write_text("<div class='entry'>{{ entry }}</div>")
    (templates / "both.html").write_text(
        "<html><head></head><body>{% module Entry('a') %}{% module Sidebar() %}"
        "{% module Entry('b') %}</body></html>"
    )
    static = tmp_path / "static"
    static.mkdir()
    (static / "entry.js").write_text("//")
    (static / "entry.css").write_text("/**/")

    class Page(RequestHandler):
        def get_current_user(self):
            return "ana"

        def get(self, name):
            self.render(name, entries=["one", "<two>"])

    class Partial(RequestHandler):
        def get(self):
            self.write(self.render_string("page.html", entries=["x"]))

    Entry.created = 0
    return Application(
        [(r"/partial", Partial), (r"/(.*)", Page)],
        template_path=str(templates),
        static_path=str(static),
        ui_modules={"Entry": Entry, "Sidebar": Sidebar},
    )


@pytest_twisted.ensureDeferred
async def test_module_renders_its_template_for_each_call(app):
    body = (await Client(app).get("/page.html")).text
    assert "<div class='entry'>one</div>" in body
    assert "<div class='entry'>&lt;two&gt;</div>" in body
    assert Entry.created == 1


@pytest_twisted.ensureDeferred
async def test_embedded_css_goes_in_head_and_javascript_at_the_end_of_body(app):
    body = (await Client(app).get("/page.html")).text
    head, _, rest = body.partition("</head>")
    assert '<style type="text/css">\n.entry { margin: 0 }\n</style>' in head
    assert "var entries = true;" in rest
    assert rest.index("var entries = true;") > rest.index("<div class='entry'>")
    assert rest.rstrip().endswith("</body></html>")


@pytest_twisted.ensureDeferred
async def test_files_are_linked_once_with_static_urls_for_relative_paths(app):
    body = (await Client(app).get("/both.html")).text
    head, _, rest = body.partition("</head>")
    assert head.count('<link href="/static/entry.css?v=') == 1
    assert head.count('<link href="/abs/side.css" type="text/css" rel="stylesheet"/>') == 1
    assert '<meta name="sidebar">' in head
    assert rest.count('<script src="https://cdn.example/shared.js"') == 1
    assert rest.count('<script src="/static/entry.js?v=') == 1
    assert rest.count('<script src="/abs/side.js"') == 1
    assert "<!-- sidebar -->" in rest
    assert body.count("var entries = true;") == 1
    assert "<aside>ana@/both.html</aside>" in rest


@pytest_twisted.ensureDeferred
async def test_render_string_does_not_insert_page_resources(app):
    body = (await Client(app).get("/partial")).text
    assert "<div class='entry'>x</div>" in body
    assert "<style" not in body and "<script" not in body


@pytest_twisted.ensureDeferred
async def test_page_without_head_or_body_tags_still_renders(tmp_path):
    (tmp_path / "bare.html").write_text("{% module Entry('x') %}")
    (tmp_path / "entry.html").write_text("[{{ entry }}]")

    class Bare(RequestHandler):
        def get(self):
            self.render("bare.html")

    app = Application(
        [(r"/", Bare)],
        template_path=str(tmp_path),
        static_path=str(tmp_path),
        ui_modules={"Entry": Entry},
    )
    assert (await Client(app).get("/")).body == b"[x]"


@pytest_twisted.ensureDeferred
async def test_unknown_module_is_a_500(tmp_path):
    (tmp_path / "page.html").write_text("{% module Missing() %}")

    class Page(RequestHandler):
        def get(self):
            self.render("page.html")

    app = Application([(r"/", Page)], template_path=str(tmp_path), debug=True)
    response = await Client(app).get("/")
    assert response.code == 500
    assert b"no UI module named 'Missing'" in response.body


def test_ui_modules_load_from_a_module_object_or_a_list():
    module = types.ModuleType("my_modules")
    module.Entry = Entry
    module.Sidebar = Sidebar
    module.UIModule = UIModule
    module.not_a_module = 3
    assert uimodules.load_ui_modules(module) == {"Entry": Entry, "Sidebar": Sidebar}
    assert uimodules.load_ui_modules([{"A": Entry}, {"B": Sidebar}]) == {"A": Entry, "B": Sidebar}
    assert uimodules.load_ui_modules(None) == {}


def test_ui_methods_load_public_functions_from_a_module():
    module = types.ModuleType("my_methods")
    exec(
        "def shout(handler, text):\n    return text.upper()\n_hidden = lambda h: 1\n",
        module.__dict__,
    )
    assert list(uimodules.load_ui_methods(module)) == ["shout"]
    assert list(uimodules.load_ui_methods([module, {"other": len}])) == ["shout", "other"]


def test_base_ui_module_without_render_says_so():
    class Empty(UIModule):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define render"):
        Empty.render(object.__new__(Empty))


# -- UI methods and the default modules ----------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_ui_methods_receive_the_handler(tmp_path):
    (tmp_path / "page.html").write_text("{{ shout('hi') }} {{ where() }}")
    methods = types.ModuleType("methods")
    exec(
        "def shout(handler, text):\n    return text.upper() + '!'\n"
        "def where(handler):\n    return handler.request.path\n",
        methods.__dict__,
    )

    class Page(RequestHandler):
        def get(self):
            self.write(self.ui["shout"]("direct") + " ")
            self.render("page.html")

    app = Application([(r"/here", Page)], template_path=str(tmp_path), ui_methods=methods)
    assert (await Client(app).get("/here")).body == b"DIRECT! HI! /here"


@pytest_twisted.ensureDeferred
async def test_default_linkify_and_xsrf_form_html_modules(tmp_path):
    (tmp_path / "page.html").write_text(
        "{% module linkify('see http://example.com/a?b=1&c=2') %}|{% module xsrf_form_html() %}"
    )

    class Page(RequestHandler):
        def get(self):
            self.render("page.html")

    app = Application([(r"/", Page)], template_path=str(tmp_path), xsrf_cookies=True)
    client = Client(app)
    body = (await client.get("/")).text
    link, _, form = body.partition("|")
    assert (
        link
        == 'see <a href="http://example.com/a?b=1&amp;c=2">http://example.com/a?b=1&amp;c=2</a>'
    )
    assert form.startswith('<input type="hidden" name="_xsrf" value="2|')
    assert "_xsrf" in client.cookies


@pytest_twisted.ensureDeferred
async def test_template_module_includes_a_template_and_its_declared_resources(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head></head><body>{% module Template('widget.html', label='w') %}"
        "{% module Template('widget.html', label='v') %}</body></html>"
    )
    (tmp_path / "widget.html").write_text(
        "{{ set_resources(css_files=['/w.css'], embedded_javascript='init();') }}"
        "<span>{{ label }}</span>"
    )

    class Page(RequestHandler):
        def get(self):
            self.render("page.html")

    app = Application([(r"/", Page)], template_path=str(tmp_path))
    body = (await Client(app).get("/")).text
    assert "<span>w</span><span>v</span>" in body
    assert body.count('<link href="/w.css"') == 1
    assert "init();" in body
