"""What cyclone-web adds to every handler: templates, the template namespace,
locales and static URLs, for cyclone.web handlers and for core handlers alike."""

from __future__ import annotations

import gc
import io

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

import cyclone.handler
import cyclone.locale
import cyclone.web
from cyclone import template
from cyclone.locale.mo import write_mo
from cyclone.locale.po import read_po
from cyclone.routing import Router
from cyclone.testing import Client
from cyclone.web import Application, RequestHandler, url

PORTUGUESE_PO = (
    'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
    '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n\n'
    'msgid "send"\nmsgstr "enviar"\n\n'
    'msgid "%(n)d file"\nmsgid_plural "%(n)d files"\n'
    'msgstr[0] "%(n)d arquivo"\nmsgstr[1] "%(n)d arquivos"\n'
)


@pytest.fixture
def templates(tmp_path):
    directory = tmp_path / "templates"
    directory.mkdir()

    def add(name, text):
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    add.path = str(directory)
    return add


@pytest.fixture
def portuguese(tmp_path):
    """A pt_BR gettext catalog loaded for the test; cyclone.locale's globals restored after."""
    saved = (
        cyclone.locale._translations,
        cyclone.locale._default_locale,
        cyclone.locale._supported_locales,
    )
    cyclone.locale.Locale._cache.clear()
    directory = tmp_path / "locale" / "pt_BR" / "LC_MESSAGES"
    directory.mkdir(parents=True)
    (directory / "cyclone.mo").write_bytes(write_mo(read_po(io.BytesIO(PORTUGUESE_PO.encode()))))
    cyclone.locale.load_gettext_translations(tmp_path / "locale")
    yield
    (
        cyclone.locale._translations,
        cyclone.locale._default_locale,
        cyclone.locale._supported_locales,
    ) = saved
    cyclone.locale.Locale._cache.clear()


# -- render and render_string --------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_render_finishes_with_the_template_and_escapes_values(templates):
    templates("page.html", "<p>{{ title }}</p>{% for i in items %}<i>{{ i }}</i>{% end %}")

    class Page(RequestHandler):
        def get(self):
            self.render("page.html", title="<b>&", items=[1, 2])

    response = await Client(Application([(r"/", Page)], template_path=templates.path)).get("/")
    assert response.code == 200
    assert response.body == b"<p>&lt;b&gt;&amp;</p><i>1</i><i>2</i>"
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"


@pytest_twisted.ensureDeferred
async def test_render_string_returns_bytes_without_finishing(templates):
    templates("part.html", "[{{ value }}]")

    class Page(RequestHandler):
        def get(self):
            first = self.render_string("part.html", value=1)
            assert isinstance(first, bytes)
            self.write(first + self.render_string("part.html", value=2))

    response = await Client(Application([(r"/", Page)], template_path=templates.path)).get("/")
    assert response.body == b"[1][2]"


@pytest_twisted.ensureDeferred
async def test_render_string_with_a_deferred_value_returns_a_deferred_page(templates):
    templates("user.html", "<b>{{ name }}</b>")

    class Page(RequestHandler):
        async def get(self):
            name = defer.Deferred()
            reactor.callLater(0, name.callback, "<Ann>")
            page = self.render_string("user.html", name=name)
            assert isinstance(page, defer.Deferred)
            self.finish(await page)

    response = await Client(Application([(r"/", Page)], template_path=templates.path)).get("/")
    assert response.body == b"<b>&lt;Ann&gt;</b>"


@pytest_twisted.ensureDeferred
async def test_templates_extend_and_include_from_the_template_path(templates):
    templates(
        "base.html", "<title>{% block title %}base{% end %}</title>{% include 'foot.html' %}"
    )
    templates("child.html", "{% extends 'base.html' %}{% block title %}child{% end %}")
    templates("foot.html", "<footer>{{ handler.request.path }}</footer>")

    class Page(RequestHandler):
        def get(self):
            self.render("child.html")

    response = await Client(Application([(r"/x", Page)], template_path=templates.path)).get("/x")
    assert response.body == b"<title>child</title><footer>/x</footer>"


@pytest_twisted.ensureDeferred
async def test_render_after_finish_is_an_error(templates):
    templates("page.html", "x")

    class Page(RequestHandler):
        def get(self):
            self.finish("done")
            try:
                self.render("page.html")
            except RuntimeError as error:
                self.__class__.error = str(error)

    response = await Client(Application([(r"/", Page)], template_path=templates.path)).get("/")
    assert response.body == b"done"
    assert "finish" in Page.error


@pytest_twisted.ensureDeferred
async def test_missing_template_is_a_500(templates):
    class Page(RequestHandler):
        def get(self):
            self.render("nope.html")

    response = await Client(Application([(r"/", Page)], template_path=templates.path)).get("/")
    assert response.code == 500


@pytest_twisted.ensureDeferred
async def test_get_template_path_can_be_overridden(templates, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "page.html").write_text("from other")

    class Page(RequestHandler):
        def get_template_path(self):
            return str(other)

        def get(self):
            self.render("page.html")

    response = await Client(Application([(r"/", Page)], template_path=templates.path)).get("/")
    assert response.body == b"from other"


# -- the template namespace ---------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_template_namespace_has_tornados_names(templates, tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (static / "app.css").write_text("a{}")
    templates(
        "names.html",
        "{{ handler.__class__.__name__ }}\n{{ request.method }} {{ request.uri }}\n"
        "{{ current_user }}\n{{ locale.code }}\n{{ _('send') }}\n{{ static_url('app.css') }}\n"
        "{% raw xsrf_form_html() %}\n{{ reverse_url('user', 7) }}\n{{ extra }}",
    )

    class Names(RequestHandler):
        def get_current_user(self):
            return "ana"

        def get(self):
            self.render("names.html", extra="given")

    app = Application(
        [(r"/", Names), url(r"/users/(\d+)", Names, name="user")],
        template_path=templates.path,
        static_path=str(static),
        cookie_secret="s",
    )
    body = (await Client(app).get("/?q=1")).text
    parts = body.split("\n")
    assert parts[:5] == ["Names", "GET /?q=1", "ana", "en_US", "send"]
    assert parts[5].startswith("/static/app.css?v=")
    assert parts[6].startswith('<input type="hidden" name="_xsrf" value="2|')
    assert parts[-2:] == ["/users/7", "given"]


@pytest_twisted.ensureDeferred
async def test_get_template_namespace_contents_directly():
    captured = {}

    class Names(RequestHandler):
        def get(self):
            captured.update(self.get_template_namespace())

    await Client(Application([(r"/", Names)])).get("/")
    for name in (
        "handler",
        "request",
        "current_user",
        "locale",
        "_",
        "pgettext",
        "static_url",
        "xsrf_form_html",
        "reverse_url",
        "modules",
    ):
        assert name in captured, name
    assert captured["_"]("send") == "send"


@pytest_twisted.ensureDeferred
async def test_get_template_namespace_can_be_extended(templates):
    templates("page.html", "{{ site_name }}")

    class Page(RequestHandler):
        def get_template_namespace(self):
            namespace = super().get_template_namespace()
            namespace["site_name"] = "cyclone"
            return namespace

        def get(self):
            self.render("page.html")

    response = await Client(Application([(r"/", Page)], template_path=templates.path)).get("/")
    assert response.body == b"cyclone"


# -- template settings --------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_autoescape_none_setting_turns_escaping_off(templates):
    templates("raw.html", "{{ html }}")
    # {% autoescape %} sets the mode for its whole file, as in Tornado.
    templates("escaped.html", "{% autoescape xhtml_escape %}{{ html }}")

    class Page(RequestHandler):
        def get(self, name):
            self.render(name, html="<b>")

    app = Application([(r"/(.*)", Page)], template_path=templates.path, autoescape=None)
    client = Client(app)
    assert (await client.get("/raw.html")).body == b"<b>"
    assert (await client.get("/escaped.html")).body == b"&lt;b&gt;"


@pytest_twisted.ensureDeferred
async def test_template_loader_setting_is_used_instead_of_template_path():
    loader = template.DictLoader({"page.html": "from dict {{ n }}"})

    class Page(RequestHandler):
        def get(self):
            self.render("page.html", n=3)

    app = Application([(r"/", Page)], template_loader=loader, template_path="/nonexistent")
    assert (await Client(app).get("/")).body == b"from dict 3"


@pytest_twisted.ensureDeferred
async def test_templates_are_compiled_once_unless_debug_reloads_them(templates):
    templates("page.html", "one")

    class Page(RequestHandler):
        def get(self):
            self.render("page.html")

    cached = Client(Application([(r"/", Page)], template_path=templates.path))
    assert (await cached.get("/")).body == b"one"
    templates("page.html", "two, a different length")
    assert (await cached.get("/")).body == b"one"

    debug = Client(Application([(r"/", Page)], template_path=templates.path, debug=True))
    assert (await debug.get("/")).body == b"two, a different length"
    templates("page.html", "three")
    assert (await debug.get("/")).body == b"three"


@pytest_twisted.ensureDeferred
async def test_create_template_loader_can_be_overridden(templates):
    class Page(RequestHandler):
        def create_template_loader(self, template_path):
            return template.DictLoader({"page.html": "custom loader"})

        def get(self):
            self.render("page.html")

    app = Application([(r"/", Page)], template_path=templates.path, compiled_template_cache=False)
    assert (await Client(app).get("/")).body == b"custom loader"


# -- locales -----------------------------------------------------------------------------------


class Translated(RequestHandler):
    def get(self):
        _ = self.locale.translate
        self.write(
            f"{self.locale.code}: {_('send')}, {_('%(n)d file', '%(n)d files', 3) % {'n': 3}}"
        )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("pt-BR,pt;q=0.9,en;q=0.5", "pt_BR: enviar, 3 arquivos"),
        ("en-US,pt-BR;q=0.5", "en_US: send, 3 files"),
        ("fr-FR", "en_US: send, 3 files"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_locale_follows_accept_language(portuguese, header, expected):
    client = Client(Application([(r"/", Translated)]))
    response = await client.get("/", headers={"Accept-Language": header})
    assert response.text == expected


@pytest_twisted.ensureDeferred
async def test_get_user_locale_overrides_the_browser(portuguese):
    class FromCookie(Translated):
        def get_user_locale(self):
            code = self.get_cookie("lang")
            return cyclone.locale.get(code) if code else None

    client = Client(Application([(r"/", FromCookie)]))
    response = await client.get("/", headers={"Accept-Language": "en-US", "Cookie": "lang=pt_BR"})
    assert response.text == "pt_BR: enviar, 3 arquivos"
    response = await client.get("/", headers={"Accept-Language": "pt-BR"})
    assert response.text == "pt_BR: enviar, 3 arquivos"


@pytest_twisted.ensureDeferred
async def test_get_user_locale_may_return_a_code(portuguese):
    class FromCode(Translated):
        def get_user_locale(self):
            return "pt_BR"

    response = await Client(Application([(r"/", FromCode)])).get("/")
    assert response.text == "pt_BR: enviar, 3 arquivos"


@pytest_twisted.ensureDeferred
async def test_templates_translate_with_the_request_locale(portuguese, templates):
    templates("page.html", "{{ _('send') }} {{ locale.code }}")

    class Page(RequestHandler):
        def get(self):
            self.render("page.html")

    client = Client(Application([(r"/", Page)], template_path=templates.path))
    response = await client.get("/", headers={"Accept-Language": "pt-BR"})
    assert response.body == b"enviar pt_BR"


# -- core handlers gain the web features ------------------------------------------------------------


class CorePage(cyclone.handler.RequestHandler):
    """A handler on the core base, as WebSocket and SSE handlers are."""

    def get(self):
        self.render("page.html", who="core")


@pytest_twisted.ensureDeferred
async def test_core_handler_renders_templates_under_a_core_router(templates, portuguese):
    templates("page.html", "{{ who }} {{ _('send') }}")
    app = Router([(r"/", CorePage)], template_path=templates.path)
    response = await Client(app).get("/", headers={"Accept-Language": "pt-BR"})
    assert (response.code, response.body) == (200, b"core enviar")


@pytest_twisted.ensureDeferred
async def test_core_handler_renders_ui_modules_in_a_web_application(templates):
    templates("page.html", "<html><head></head><body>{% module Box(who) %}</body></html>")

    from cyclone.web import UIModule

    class Box(UIModule):
        def render(self, who):
            return f"<div>{who}</div>"

        def embedded_css(self):
            return "div{}"

    app = Application([(r"/", CorePage)], template_path=templates.path, ui_modules={"Box": Box})
    body = (await Client(app).get("/")).text
    assert "<div>core</div>" in body
    assert '<style type="text/css">\ndiv{}\n</style>' in body


@pytest_twisted.ensureDeferred
async def test_each_application_keeps_its_own_template_settings(templates):
    """A new application must never reuse the loader (and autoescape) of a discarded one."""
    templates("page.html", "{{ html }}")

    class Page(RequestHandler):
        def get(self):
            self.render("page.html", html="<b>")

    for index in range(30):
        escaping = index % 2 == 0
        settings = {} if escaping else {"autoescape": None}
        app = Application([(r"/", Page)], template_path=templates.path, **settings)
        body = (await Client(app).get("/")).body
        assert body == (b"&lt;b&gt;" if escaping else b"<b>"), index
        del app
        gc.collect()


# -- the mixin: render() goes through the handler's own methods -------------------------------


@pytest_twisted.ensureDeferred
async def test_render_uses_the_handlers_own_render_string(templates):
    templates("page.html", "from the template")

    class Page(RequestHandler):
        def render_string(self, template_name, **kwargs):
            return b"overridden " + template_name.encode()

        def get(self):
            self.render("page.html")

    response = await Client(Application([(r"/", Page)], template_path=templates.path)).get("/")
    assert response.body == b"overridden page.html"


@pytest_twisted.ensureDeferred
async def test_render_finishes_once_a_deferred_page_fires(templates):
    templates("user.html", "<p>{{ name }}</p>")
    finished = []

    class Page(RequestHandler):
        def get(self):
            name = defer.Deferred()
            reactor.callLater(0, name.callback, "Ann")
            self.render("user.html", name=name)

        def on_finish(self):
            finished.append(self.get_status())

    response = await Client(Application([(r"/", Page)], template_path=templates.path)).get("/")
    assert (response.code, response.body, finished) == (200, b"<p>Ann</p>", [200])


@pytest_twisted.ensureDeferred
async def test_render_of_a_deferred_page_that_fails_answers_500(templates):
    templates("user.html", "<p>{{ name }}</p>")

    class Page(RequestHandler):
        def get(self):
            name = defer.Deferred()
            reactor.callLater(0, name.errback, RuntimeError("the database is down"))
            self.render("user.html", name=name)

    response = await Client(Application([(r"/", Page)], template_path=templates.path)).get("/")
    assert response.code == 500
    assert b"the database is down" not in response.body


@pytest_twisted.ensureDeferred
async def test_templates_resolve_next_to_the_handlers_module_without_template_path(tmp_path):
    (tmp_path / "handlers_here.py").write_text(
        "from cyclone.web import RequestHandler\n\n"
        "class Page(RequestHandler):\n"
        "    def get(self):\n"
        "        self.render('beside.html', who='module')\n"
    )
    (tmp_path / "beside.html").write_text("next to the {{ who }}")
    import importlib.util

    spec = importlib.util.spec_from_file_location("handlers_here", tmp_path / "handlers_here.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    response = await Client(Application([(r"/", module.Page)])).get("/")
    assert (response.code, response.body) == (200, b"next to the module")


class _Scripted(cyclone.web.UIModule):
    def javascript_files(self):
        return ["/a.js", "/a.js"]

    def embedded_javascript(self):
        return "go()"

    def css_files(self):
        return "/a.css"

    def embedded_css(self):
        return "p{}"

    def render(self):
        return "module"


@pytest_twisted.ensureDeferred
async def test_render_asks_the_handler_to_render_linked_and_embedded_resources(templates):
    templates("page.html", "<html><head></head><body>{% module Scripted() %}</body></html>")

    class Page(RequestHandler):
        def render_linked_js(self, js_files):
            return f"<js {','.join(js_files)}>"

        def render_embed_js(self, js_embed):
            return b"<inline js " + b",".join(part.encode() for part in js_embed) + b">"

        def render_linked_css(self, css_files):
            return f"<css {','.join(css_files)}>"

        def render_embed_css(self, css_embed):
            return f"<inline css {','.join(css_embed)}>"

        def get(self):
            self.render("page.html")

    app = Application(
        [(r"/", Page)], template_path=templates.path, ui_modules={"Scripted": _Scripted}
    )
    body = (await Client(app).get("/")).text
    assert body == (
        "<html><head><css /a.css><inline css p{}>\n</head>"
        "<body>module<js /a.js,/a.js><inline js go()>\n</body></html>"
    )


@pytest_twisted.ensureDeferred
async def test_default_resource_rendering_links_each_file_once(templates):
    templates("page.html", "<html><head></head><body>{% module Scripted() %}</body></html>")

    class Page(RequestHandler):
        def get(self):
            self.render("page.html")

    app = Application(
        [(r"/", Page)], template_path=templates.path, ui_modules={"Scripted": _Scripted}
    )
    body = (await Client(app).get("/")).text
    assert body.count('<script src="/a.js"') == 1
    assert '<link href="/a.css" type="text/css" rel="stylesheet"/>' in body
    assert "//<![CDATA[\ngo()\n//]]>" in body


@pytest_twisted.ensureDeferred
async def test_a_core_handler_can_list_the_web_mixin_first(templates):
    templates("page.html", "{{ who }}")

    class MixedIn(cyclone.web.WebMixin, cyclone.handler.RequestHandler):
        def render_string(self, template_name, **kwargs):
            return super().render_string(template_name, who="mixin")

        def get(self):
            self.render("page.html")

    response = await Client(Router([(r"/", MixedIn)], template_path=templates.path)).get("/")
    assert response.body == b"mixin"
