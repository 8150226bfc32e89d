"""What cyclone-web adds to a request handler: templates, UI modules, locales, static URLs.

    import cyclone.web

    class Page(cyclone.web.RequestHandler):           # = WebMixin + the core handler
        def get(self):
            self.render("page.html", title=self.locale.translate("Hello"))

`WebMixin` owns these methods; ``cyclone.web.RequestHandler`` is
``WebMixin`` + `cyclone.handler.RequestHandler`, so ``render()`` calls
``self.render_string()``, ``self.render_linked_js()``... and a handler
overriding any of them is honoured, as in Tornado. A WebSocket, SSE or RPC
handler that wants templates can list ``WebMixin`` first among its bases.

Handlers written for cyclone 1.x on the core base (where every handler could
render) keep working: the core `RequestHandler` has thin stubs of the same
names that call the methods here, bound to the handler, and say
``pip install cyclone-web`` when this distribution is missing.
"""

from __future__ import annotations

import inspect
import os
import threading
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from twisted.internet import defer

from cyclone import escape
from cyclone.uimodules import UIModuleNamespace, collect_module_resources
from cyclone.util import ObjectDict

__all__ = ["WebMixin"]

if TYPE_CHECKING:
    from cyclone import locale as cyclone_locale
    from cyclone import template
    from cyclone.handler import RequestHandler as _HandlerBase
else:
    _HandlerBase = object
# cyclone.template and cyclone.locale are imported where first used: an application
# that renders no template and reads no locale (an API) does not carry them (0.75 MiB).
_locale_module: Any = None


def _locales() -> Any:
    """The cyclone.locale module, imported on the first call.

    A global, not an import statement in each method: render() reads the
    locale on every request, and an import statement costs a microsecond.
    """
    global _locale_module
    if _locale_module is None:
        from cyclone import locale

        _locale_module = locale
    return _locale_module


_loader_lock = threading.Lock()
#: Each application's loaders by template path; an application that goes away takes its
#: loaders with it (keying on id() let a new application inherit a dead one's settings).
_template_loaders: weakref.WeakKeyDictionary[Any, dict[str, template.BaseLoader]] = (
    weakref.WeakKeyDictionary()
)


class WebMixin(_HandlerBase):
    """Templates, UI modules, locales and static URLs for a request handler.

    Put it before the handler base: ``class Page(WebMixin, RequestHandler)``.
    Every method is meant to be overridden where a Tornado handler would.
    """

    # -- templates ------------------------------------------------------------------

    def render(self, template_name: str, **kwargs: Any) -> defer.Deferred[None]:
        """Render ``template_name``, add the UI modules' JavaScript and CSS, and finish.

        When the page is a Deferred (a template expression waited on an
        unfired Deferred, as cyclone 1.x allowed), the request stays open
        until it fires; the Deferred returned fires once the response is sent.
        """
        if self._finished:
            raise RuntimeError("cannot render() after finish()")
        page = self.render_string(template_name, **kwargs)
        # The usual page is bytes: no isinstance() on the Deferred ABC (~0.2 us) for it.
        if type(page) is not bytes and isinstance(page, defer.Deferred):
            self._auto_finish = False
            finished = page.addCallback(lambda html: _finish_page(self, html))
            finished.addErrback(self._handle_failure)
            return finished
        return _finish_page(self, page)

    def render_linked_js(self, js_files: Iterable[str]) -> str:
        """The ``<script src>`` tags ``render`` puts before ``</body>`` (each URL once)."""
        return "".join(
            f'<script src="{escape.xhtml_escape(url)}" type="text/javascript"></script>'
            for url in _resource_urls(self, js_files)
        )

    def render_embed_js(self, js_embed: Iterable[str | bytes]) -> str:
        """The inline script ``render`` puts before ``</body>``."""
        code = "\n".join(escape.to_unicode(part) for part in js_embed)
        return f'<script type="text/javascript">\n//<![CDATA[\n{code}\n//]]>\n</script>'

    def render_linked_css(self, css_files: Iterable[str]) -> str:
        """The stylesheet ``<link>`` tags ``render`` puts before ``</head>`` (each URL once)."""
        return "".join(
            f'<link href="{escape.xhtml_escape(url)}" type="text/css" rel="stylesheet"/>'
            for url in _resource_urls(self, css_files)
        )

    def render_embed_css(self, css_embed: Iterable[str | bytes]) -> str:
        """The inline ``<style>`` ``render`` puts before ``</head>``."""
        code = "\n".join(escape.to_unicode(part) for part in css_embed)
        return f'<style type="text/css">\n{code}\n</style>'

    def render_string(self, template_name: str, **kwargs: Any) -> bytes | defer.Deferred[bytes]:
        """Render ``template_name`` with the handler's namespace plus ``kwargs``.

        The page as bytes, or a Deferred of them when a template expression
        is a Deferred that has not fired (see `cyclone.template`).
        """
        compiled = _template_loader(self).load(template_name)
        namespace = self.get_template_namespace()
        namespace.update(kwargs)
        return compiled.generate(**namespace)

    def get_template_namespace(self) -> dict[str, Any]:
        """The names every template rendered by this handler sees (as Tornado's)."""
        user_locale = self.locale
        namespace: dict[str, Any] = {
            "handler": self,
            "request": self.request,
            "current_user": self.current_user,
            "locale": user_locale,
            "_": user_locale.translate,
            "pgettext": user_locale.pgettext,
            "static_url": self.static_url,
            "xsrf_form_html": self.xsrf_form_html,
            "reverse_url": self.reverse_url,
        }
        namespace.update(self.ui)
        return namespace

    def get_template_path(self) -> str | None:
        """The ``template_path`` setting; None means the handler's module directory."""
        path: str | None = self.settings.get("template_path")
        return path

    def create_template_loader(self, template_path: str) -> template.BaseLoader:
        """A Loader for ``template_path`` honouring ``autoescape``, ``template_whitespace`` and debug."""
        settings = self.settings
        if "template_loader" in settings:
            loader: template.BaseLoader = settings["template_loader"]
            return loader
        kwargs: dict[str, Any] = {}
        if "autoescape" in settings:
            kwargs["autoescape"] = settings["autoescape"]
        if "template_whitespace" in settings:
            kwargs["whitespace"] = settings["template_whitespace"]
        from cyclone import template

        return template.Loader(template_path, reload=settings.get("debug", False), **kwargs)

    # -- UI methods and modules -----------------------------------------------------------

    @property
    def ui(self) -> ObjectDict:
        """The UI methods (bound to this handler) and ``ui.modules``, as templates see them."""
        ui: ObjectDict | None = self.__dict__.get("_ui")
        if ui is None:
            application = self.application
            ui = ObjectDict()
            for name, method in getattr(application, "ui_methods", {}).items():
                ui[name] = _bind_ui_method(self, method)
            modules = UIModuleNamespace(self, getattr(application, "ui_modules", {}))
            ui["_tt_modules"] = modules
            ui["modules"] = modules
            self.__dict__["_ui"] = ui
        return ui

    # -- locales --------------------------------------------------------------------------

    @property
    def locale(self) -> cyclone_locale.Locale:
        """The user's locale: `get_user_locale` if it returns one, else the browser's."""
        chosen: cyclone_locale.Locale | None = self.__dict__.get("_locale")
        if chosen is None:
            user_choice = self.get_user_locale()
            if user_choice is None:
                chosen = self.get_browser_locale()
            elif isinstance(user_choice, str):
                chosen = _locales().get(user_choice)
            else:
                chosen = user_choice
            self.__dict__["_locale"] = chosen
        return chosen

    @locale.setter
    def locale(self, value: cyclone_locale.Locale) -> None:
        self.__dict__["_locale"] = value

    def get_user_locale(self) -> cyclone_locale.Locale | str | None:
        """Override to choose the locale (e.g. from a cookie); None means use the browser's."""
        return None

    def get_browser_locale(self, default: str = "en_US") -> cyclone_locale.Locale:
        """The best supported locale for the request's Accept-Language (q-values honoured)."""
        locale: cyclone_locale.Locale = _locales().get_browser_locale(
            self.request.headers.get("Accept-Language"), default
        )
        return locale

    # -- static files ---------------------------------------------------------------------

    def static_url(self, path: str, include_host: bool | None = None, **kwargs: Any) -> str:
        """The versioned URL of a static file (``/static/app.css?v=…``)."""
        self.require_setting("static_path", "static_url")
        from cyclone.staticfiles import StaticFileHandler

        handler_class = self.settings.get("static_handler_class", StaticFileHandler)
        url: str = handler_class.make_static_url(self.settings, path, **kwargs)
        if include_host is None:
            include_host = getattr(self, "include_host", False)
        if include_host:
            return f"{self.request.protocol}://{self.request.host}{url}"
        return url


def _template_loader(handler: WebMixin) -> template.BaseLoader:
    settings = handler.settings
    if "template_loader" in settings:
        loader: template.BaseLoader = settings["template_loader"]
        return loader
    template_path = handler.get_template_path() or _module_directory(type(handler))
    if not settings.get("compiled_template_cache", True):
        return handler.create_template_loader(template_path)
    with _loader_lock:
        loaders = _template_loaders.setdefault(handler.application, {})
        cached = loaders.get(template_path)
        if cached is None:
            cached = loaders[template_path] = handler.create_template_loader(template_path)
    return cached


def _finish_page(handler: WebMixin, html: bytes) -> defer.Deferred[None]:
    """Finish with ``html`` plus the JavaScript and CSS of the UI modules it used."""
    resources = collect_module_resources(handler.ui["_tt_modules"].active_modules())
    head = []
    if resources.css_files:
        head.append(escape.to_unicode(handler.render_linked_css(resources.css_files)))
    if resources.embedded_css:
        head.append(escape.to_unicode(handler.render_embed_css(resources.embedded_css)))
    head.extend(resources.html_heads)
    if head:
        html = _insert_before(html, b"</head>", "".join(head))
    body = []
    if resources.javascript_files:
        body.append(escape.to_unicode(handler.render_linked_js(resources.javascript_files)))
    if resources.embedded_javascript:
        body.append(escape.to_unicode(handler.render_embed_js(resources.embedded_javascript)))
    body.extend(resources.html_bodies)
    if body:
        html = _insert_before(html, b"</body>", "".join(body))
    return handler.finish(html)


def _resource_urls(handler: WebMixin, paths: Iterable[str]) -> list[str]:
    """Absolute paths and URLs as given, others through `static_url`; duplicates dropped."""
    urls: list[str] = []
    for path in paths:
        url = path if path.startswith("/") or "://" in path else handler.static_url(path)
        if url not in urls:
            urls.append(url)
    return urls


def _bind_ui_method(handler: Any, method: Any) -> Any:
    return lambda *args, **kwargs: method(handler, *args, **kwargs)


def _insert_before(html: bytes, marker: bytes, text: str) -> bytes:
    """``text`` (and a newline) put before the last ``marker`` of the page, if it has one."""
    position = html.rfind(marker)
    if position == -1:
        return html
    return html[:position] + text.encode() + b"\n" + html[position:]


def _module_directory(handler_class: type) -> str:
    """The directory of the file defining ``handler_class`` (Tornado's default template path).

    The module's file, or else the file its methods were compiled from (a
    module loaded by path need not be in ``sys.modules``); the current
    directory for a class with neither.
    """
    try:
        return os.path.dirname(os.path.abspath(inspect.getfile(handler_class)))
    except (TypeError, OSError):
        pass
    for value in vars(handler_class).values():
        code = getattr(value, "__code__", None)
        if code is not None:
            return os.path.dirname(os.path.abspath(code.co_filename))
    return os.getcwd()
