"""Small general helpers shared by every cyclone package.

>>> from cyclone.util import ObjectDict, import_object
>>> settings = ObjectDict(static_path="./static")
>>> settings.static_path
'./static'
>>> import_object("os.path.join") is __import__("os").path.join
True
"""

from __future__ import annotations

import importlib
from typing import Any

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

__all__ = ["ObjectDict", "basestring_type", "bytes_type", "import_object", "unicode_type"]

#: cyclone 1.x's (and Tornado 4's) Python 2/3 aliases, kept so old imports work.
bytes_type = bytes
unicode_type = str
basestring_type = str


class ObjectDict(dict[str, Any]):
    """A dict whose keys can also be read and written as attributes.

    Application settings are one, so ``self.settings.static_path`` works as in
    the old cyclone's demos. A missing attribute raises AttributeError (not
    KeyError) so ``getattr(settings, "x", default)`` and ``hasattr`` behave.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None


def import_object(name: str) -> Any:
    """Import a module or an attribute from a dotted (``a.b.c``) or ``a.b:c`` name.

    ``import_object("cyclone.escape")`` returns the module,
    ``import_object("cyclone.escape.utf8")`` and ``import_object("cyclone.escape:utf8")``
    return the function. A name that cannot be found raises ImportError naming it.
    """
    if ":" in name:
        module_name, _, attribute_path = name.partition(":")
        target: Any = importlib.import_module(module_name)
        for part in attribute_path.split("."):
            try:
                target = getattr(target, part)
            except AttributeError:
                raise ImportError(f"No object named {attribute_path!r} in module {module_name!r}")
        return target
    if "." not in name:
        return importlib.import_module(name)
    module_name, _, attribute = name.rpartition(".")
    try:
        return importlib.import_module(name)
    except ImportError:
        pass
    module = import_object(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(f"No object named {attribute!r} in {module_name!r}")
