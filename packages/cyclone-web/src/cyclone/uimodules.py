"""UI modules: reusable page components with their own JavaScript and CSS.

    class Entry(cyclone.web.UIModule):
        def render(self, entry):
            return self.render_string("module-entry.html", entry=entry)

        def css_files(self):
            return ["/static/entry.css"]

    app = cyclone.web.Application(handlers, ui_modules={"Entry": Entry})
    # in a template: {% module Entry(entry) %}

A page rendered with ``handler.render()`` gets the JavaScript and CSS of every
module it used: files and embedded code before ``</head>`` (CSS) and
``</body>`` (JavaScript), each file once.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cyclone import escape

if TYPE_CHECKING:
    from cyclone.handler import RequestHandler

__all__ = [
    "PageResources",
    "TemplateModule",
    "UIModule",
    "UIModuleNamespace",
    "collect_module_resources",
]


class UIModule:
    """A page component: ``render()`` returns its HTML; the other methods add resources."""

    def __init__(self, handler: RequestHandler) -> None:
        self.handler = handler
        self.request = handler.request
        self.ui = handler.ui
        self.locale = handler.locale

    @property
    def current_user(self) -> Any:
        return self.handler.current_user

    def render(self, *args: Any, **kwargs: Any) -> str | bytes:
        raise NotImplementedError(f"{type(self).__name__} must define render()")

    def embedded_javascript(self) -> str | None:
        """JavaScript to inline at the end of the page."""
        return None

    def javascript_files(self) -> list[str] | str | None:
        """JavaScript URLs (or static paths) the page must load."""
        return None

    def embedded_css(self) -> str | None:
        """CSS to inline in the page's head."""
        return None

    def css_files(self) -> list[str] | str | None:
        """Stylesheet URLs (or static paths) the page must load."""
        return None

    def html_head(self) -> str | None:
        """Extra HTML for the page's head."""
        return None

    def html_body(self) -> str | None:
        """Extra HTML for the end of the page's body."""
        return None

    def render_string(self, path: str, **kwargs: Any) -> bytes:
        return self.handler.render_string(path, **kwargs)


class _Linkify(UIModule):
    def render(self, text: str, **kwargs: Any) -> str:
        return escape.linkify(text, **kwargs)


class _XSRFFormHTML(UIModule):
    def render(self) -> str:
        return self.handler.xsrf_form_html()


class TemplateModule(UIModule):
    """``{% module Template("path.html", **kwargs) %}``: include a template as a module.

    The included template may declare its own resources with
    ``{% set css_files = [...] %}``-style calls to ``set_resources(...)``.
    """

    def __init__(self, handler: RequestHandler) -> None:
        super().__init__(handler)
        self._resource_list: list[dict[str, Any]] = []

    def render(self, path: str, **kwargs: Any) -> bytes:
        def set_resources(**resources: Any) -> str:
            self._resource_list.append(resources)
            return ""

        return self.render_string(path, set_resources=set_resources, **kwargs)

    def _collect(self, key: str) -> list[Any]:
        return [r[key] for r in self._resource_list if key in r]

    def embedded_javascript(self) -> str | None:
        return "\n".join(self._collect("embedded_javascript")) or None

    def javascript_files(self) -> list[str] | None:
        return _flatten(self._collect("javascript_files")) or None

    def embedded_css(self) -> str | None:
        return "\n".join(self._collect("embedded_css")) or None

    def css_files(self) -> list[str] | None:
        return _flatten(self._collect("css_files")) or None

    def html_head(self) -> str | None:
        return "".join(self._collect("html_head")) or None

    def html_body(self) -> str | None:
        return "".join(self._collect("html_body")) or None


def _flatten(values: list[Any]) -> list[str]:
    flat: list[str] = []
    for value in values:
        flat.extend([value] if isinstance(value, str) else value)
    return flat


#: Modules every application has, as in Tornado.
DEFAULT_UI_MODULES: dict[str, type[UIModule]] = {
    "linkify": _Linkify,
    "xsrf_form_html": _XSRFFormHTML,
    "Template": TemplateModule,
}


def load_ui_modules(modules: Any) -> dict[str, type[UIModule]]:
    """Accept a dict, a module object or a list of them and return ``{name: UIModule class}``."""
    found: dict[str, type[UIModule]] = {}
    if isinstance(modules, types.ModuleType):
        for name in dir(modules):
            value = getattr(modules, name)
            if isinstance(value, type) and issubclass(value, UIModule) and value is not UIModule:
                found[name] = value
    elif isinstance(modules, (list, tuple)):
        for item in modules:
            found.update(load_ui_modules(item))
    elif modules:
        found.update(modules)
    return found


def load_ui_methods(methods: Any) -> dict[str, Any]:
    """Accept a dict, a module (its public functions) or a list of them."""
    found: dict[str, Any] = {}
    if isinstance(methods, types.ModuleType):
        for name in dir(methods):
            value = getattr(methods, name)
            if isinstance(value, types.FunctionType) and not name.startswith("_"):
                found[name] = value
    elif isinstance(methods, (list, tuple)):
        for item in methods:
            found.update(load_ui_methods(item))
    elif methods:
        found.update(methods)
    return found


class UIModuleNamespace:
    """``modules.Name(...)`` in templates: creates each module once per request and renders it."""

    def __init__(self, handler: RequestHandler, modules: dict[str, type[UIModule]]) -> None:
        self._handler = handler
        self._modules = modules
        self._active: dict[str, UIModule] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            module_class = self._modules[name]
        except KeyError:
            raise AttributeError(f"no UI module named {name!r}") from None

        def render(*args: Any, **kwargs: Any) -> Any:
            if name not in self._active:
                self._active[name] = module_class(self._handler)
            return self._active[name].render(*args, **kwargs)

        return render

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)

    def active_modules(self) -> list[UIModule]:
        return list(self._active.values())


@dataclass
class PageResources:
    """What the UI modules a page used ask for, gathered for ``render()``.

    File lists keep the modules' order, duplicates included: the handler's
    ``render_linked_js``/``render_linked_css`` turn them into URLs and tags.
    """

    javascript_files: list[str] = field(default_factory=list)
    css_files: list[str] = field(default_factory=list)
    embedded_javascript: list[str] = field(default_factory=list)
    embedded_css: list[str] = field(default_factory=list)
    html_heads: list[str] = field(default_factory=list)
    html_bodies: list[str] = field(default_factory=list)


def collect_module_resources(modules: list[UIModule]) -> PageResources:
    """Ask each module for its JavaScript, CSS and extra HTML, in the modules' order."""
    resources = PageResources()
    for module in modules:
        for files, bucket in (
            (module.javascript_files(), resources.javascript_files),
            (module.css_files(), resources.css_files),
        ):
            if files:
                bucket.extend([files] if isinstance(files, str) else files)
        for value, texts in (
            (module.embedded_javascript(), resources.embedded_javascript),
            (module.embedded_css(), resources.embedded_css),
            (module.html_head(), resources.html_heads),
            (module.html_body(), resources.html_bodies),
        ):
            if value:
                texts.append(escape.to_unicode(value))
    return resources
