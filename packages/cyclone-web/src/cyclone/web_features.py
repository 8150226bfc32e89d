"""What cyclone-web adds to every request handler: templates, UI modules, locales, static URLs.

    class Page(cyclone.handler.RequestHandler):      # or cyclone.web.RequestHandler
        def get(self):
            self.render("page.html", title=self.locale.translate("Hello"))

The handler base in cyclone-core declares ``render``, ``render_string``,
``locale`` and ``static_url`` and calls the functions here on first use, so
any handler (WebSocket and SSE handlers included) gains them as soon as
cyclone-web is installed, while core keeps no dependency on it.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from twisted.internet import defer

from cyclone import locale as cyclone_locale
from cyclone import template
from cyclone.uimodules import UIModuleNamespace, collect_page_resources, insert_page_resources
from cyclone.util import ObjectDict

if TYPE_CHECKING:
    from cyclone.handler import RequestHandler

_loader_lock = threading.Lock()
#: Each application's loaders by template path; an application that goes away takes its
#: loaders with it (keying on id() let a new application inherit a dead one's settings).
_template_loaders: weakref.WeakKeyDictionary[Any, dict[str, template.BaseLoader]] = (
    weakref.WeakKeyDictionary()
)


def ui_namespace(handler: RequestHandler) -> ObjectDict:
    """The handler's ``ui`` object: its UI methods bound to it, and ``modules``."""
    ui = handler.__dict__.get("_ui")
    if ui is None:
        application = handler.application
        ui = ObjectDict()
        for name, method in getattr(application, "ui_methods", {}).items():
            ui[name] = _bind_ui_method(handler, method)
        modules = UIModuleNamespace(handler, getattr(application, "ui_modules", {}))
        ui["_tt_modules"] = modules
        ui["modules"] = modules
        handler.__dict__["_ui"] = ui
    return ui


def _bind_ui_method(handler: RequestHandler, method: Any) -> Any:
    return lambda *args, **kwargs: method(handler, *args, **kwargs)


def get_template_namespace(handler: RequestHandler) -> dict[str, Any]:
    """The names every template rendered by ``handler`` sees (as Tornado's)."""
    user_locale = handler.locale
    namespace: dict[str, Any] = {
        "handler": handler,
        "request": handler.request,
        "current_user": handler.current_user,
        "locale": user_locale,
        "_": user_locale.translate,
        "pgettext": user_locale.pgettext,
        "static_url": handler.static_url,
        "xsrf_form_html": handler.xsrf_form_html,
        "reverse_url": handler.reverse_url,
    }
    namespace.update(ui_namespace(handler))
    return namespace


def create_template_loader(handler: RequestHandler, template_path: str) -> template.BaseLoader:
    """A Loader for ``template_path`` honouring ``autoescape``, ``template_whitespace`` and debug."""
    settings = handler.settings
    if "template_loader" in settings:
        return settings["template_loader"]
    kwargs: dict[str, Any] = {}
    if "autoescape" in settings:
        kwargs["autoescape"] = settings["autoescape"]
    if "template_whitespace" in settings:
        kwargs["whitespace"] = settings["template_whitespace"]
    debug = settings.get("debug", False)
    return template.Loader(template_path, reload=debug, **kwargs)


def _loader_for(handler: RequestHandler) -> template.BaseLoader:
    settings = handler.settings
    if "template_loader" in settings:
        return settings["template_loader"]
    template_path = handler.get_template_path() or os.getcwd()
    cache = settings.get("compiled_template_cache", True)
    if not cache:
        return handler.create_template_loader(template_path)
    with _loader_lock:
        loaders = _template_loaders.setdefault(handler.application, {})
        loader = loaders.get(template_path)
        if loader is None:
            loader = loaders[template_path] = handler.create_template_loader(template_path)
    return loader


def render_string(handler: RequestHandler, template_name: str, **kwargs: Any) -> bytes:
    """Render ``template_name`` with the handler's namespace plus ``kwargs``."""
    loader = _loader_for(handler)
    compiled = loader.load(template_name)
    namespace = handler.get_template_namespace()
    namespace.update(kwargs)
    return compiled.generate(**namespace)


def render(handler: RequestHandler, template_name: str, **kwargs: Any) -> defer.Deferred[None]:
    """Render a page, add the UI modules' JavaScript and CSS to it, and finish."""
    if handler._finished:
        raise RuntimeError("cannot render() after finish()")
    html = render_string(handler, template_name, **kwargs)
    modules = ui_namespace(handler)["_tt_modules"]
    resources = collect_page_resources(handler, modules.active_modules())
    html = insert_page_resources(html, resources)
    return handler.finish(html)


def resolve_locale(handler: RequestHandler) -> cyclone_locale.Locale:
    """The handler's locale: `get_user_locale()` if it returns one, else the browser's."""
    chosen = handler.get_user_locale()
    if chosen is None:
        chosen = handler.get_browser_locale()
    elif isinstance(chosen, str):
        chosen = cyclone_locale.get(chosen)
    return chosen


def browser_locale(handler: RequestHandler, default: str = "en_US") -> cyclone_locale.Locale:
    """The best supported locale for the request's Accept-Language (q-values honoured)."""
    return cyclone_locale.get_browser_locale(
        handler.request.headers.get("Accept-Language"), default
    )


def static_url(
    handler: RequestHandler, path: str, include_host: bool | None = None, **kwargs: Any
) -> str:
    """The versioned URL of a static file (``/static/app.css?v=…``)."""
    handler.require_setting("static_path", "static_url")
    from cyclone.staticfiles import StaticFileHandler

    handler_class = handler.settings.get("static_handler_class", StaticFileHandler)
    url = handler_class.make_static_url(handler.settings, path, **kwargs)
    if include_host is None:
        include_host = getattr(handler, "include_host", False)
    if include_host:
        return f"{handler.request.protocol}://{handler.request.host}{url}"
    return url
