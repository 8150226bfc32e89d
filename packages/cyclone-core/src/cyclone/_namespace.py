"""The ``cyclone`` namespace: submodules as attributes on first use, and no cyclone 1.x beside it.

    import cyclone.xmlrpc
    cyclone.web.Application(...)     # imports cyclone.web now, as cyclone 1.x's imports did

``cyclone`` is a PEP 420 namespace package shared by the cyclone-* distributions, so
there is no ``cyclone/__init__.py`` to run code when it is imported. Instead every
top-level cyclone module imports this one, which does two things once per process:

- It gives the namespace module a PEP 562 ``__getattr__``: reading ``cyclone.web``
  imports ``cyclone.web`` if no import did so yet. In cyclone 1.x the RPC, WebSocket,
  SSE and HTTP client modules imported ``cyclone.web`` themselves, so programs that
  only imported those could still use ``cyclone.web.Application``. In cyclone 2 they
  depend on cyclone-core alone, and an RPC or WebSocket process does not pay for the
  web layer until something reads it. A name that is not an installed module is an
  `AttributeError` (so ``hasattr`` stays False), naming the distribution that
  provides it when it is one of ours; a module that exists but fails to import
  raises its own error, as ``import`` would. Dunder names never import anything.
- It refuses to run beside cyclone 1.x. 1.x ships ``cyclone/__init__.py``, which
  turns the namespace back into a regular package, and its modules overwrite (or
  are overwritten by) ours when both are installed into one ``site-packages``:
  importing cyclone 2 then fails with one `MixedInstallationError` line saying how
  to repair the installation, instead of a puzzling ImportError from a module of
  the other version or a silent mix of both.

Type checkers do not run this hook: mypy and pyright report ``cyclone.web`` as
missing unless the program imports ``cyclone.web`` itself, which is the spelling
to use in type-checked code.

When 1.x's package comes from an earlier (or later) ``sys.path`` entry than
cyclone 2's, Python imports 1.x's modules only and none of this runs:
``from cyclone import handler`` then fails with Python's own "cannot import name
'handler' from 'cyclone' (.../cyclone/__init__.py)". A bare ``import cyclone``
runs no cyclone code either, so ``import cyclone`` followed by ``cyclone.web``
(Tornado 6.3's style) needs any cyclone module imported first.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

__all__ = ["MixedInstallationError"]

#: Which distribution ships each top-level module, for the "not installed" hint.
DISTRIBUTIONS: dict[str, str] = {
    **dict.fromkeys(
        [
            "auth",
            "bottle",
            "compression",
            "httpauth",
            "httpclient",
            "locale",
            "staticfiles",
            "template",
            "transforms",
            "uimodules",
            "web",
            "web_features",
        ],
        "cyclone-web",
    ),
    **dict.fromkeys(["sse", "websocket"], "cyclone-websocket"),
    **dict.fromkeys(["jsonrpc", "xmlrpc"], "cyclone-rpc"),
    "mail": "cyclone-mail",
    "redis": "cyclone-redis",
    "sqlite": "cyclone-sqlite",
    **dict.fromkeys(["app", "skel"], "cyclone-skel"),
}


class MixedInstallationError(ImportError):
    """cyclone 1.x's ``cyclone/__init__.py`` is on the path beside cyclone 2."""


def _installed_cyclone_2_distributions() -> list[str]:
    """The cyclone-* distributions installed here, for the repair command (error path only)."""
    from importlib import metadata

    names = {
        (distribution.metadata["Name"] or "").lower().replace("_", "-")
        for distribution in metadata.distributions()
    }
    return sorted(name for name in names if name.startswith("cyclone-"))


def _refusal(init_file: str) -> MixedInstallationError:
    from importlib import metadata

    try:
        found = f"cyclone {metadata.version('cyclone')} at {init_file}"
    except metadata.PackageNotFoundError:
        found = init_file
    reinstall = " ".join(_installed_cyclone_2_distributions()) or "cyclone-core cyclone-web"
    return MixedInstallationError(
        f"cyclone 1.x ({found}) is installed beside cyclone 2 and hides or overwrites its "
        f"modules: run `pip uninstall cyclone`, then `pip install --force-reinstall {reinstall}`"
    )


def _import_submodule(name: str) -> ModuleType:
    """PEP 562 ``__getattr__`` of the ``cyclone`` namespace: ``cyclone.<name>`` on first read."""
    package = sys.modules["cyclone"]
    if name.startswith("__") or not name.isidentifier():
        raise AttributeError(f"module 'cyclone' has no attribute {name!r}", name=name, obj=package)
    qualified = f"cyclone.{name}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as error:
        if error.name != qualified:
            raise
    hint = ""
    if name in DISTRIBUTIONS:
        hint = (
            f" ({qualified} comes with {DISTRIBUTIONS[name]}: pip install {DISTRIBUTIONS[name]})"
        )
    raise AttributeError(
        f"module 'cyclone' has no attribute {name!r}{hint}", name=name, obj=package
    )


def _install() -> None:
    package = sys.modules["cyclone"]
    init_file = getattr(package, "__file__", None)
    if init_file is not None:
        raise _refusal(init_file)
    package.__dict__.setdefault("__getattr__", _import_submodule)


_install()
