"""Sphinx configuration for the cyclone documentation site (built by ``nox -s docs``)."""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "sphinxext"))

project = "cyclone"
author = "The cyclone developers"
copyright = "the cyclone developers, Apache License 2.0"
release = (ROOT / "VERSION").read_text().strip()
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "cyclone_docstrings",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "tutorial/guestbook/**", "examples/**", "tests/**", "sphinxext/**"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"cyclone {release}"

# API reference: signatures carry the type hints; descriptions come from docstrings.
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
# Each object is documented once, in the module that defines it (not where it is re-exported).
autodoc_default_options = {"members": True, "show-inheritance": True, "ignore-module-all": True}
autodoc_preserve_defaults = True
# An unqualified name matching two documented classes (cyclone.handler.RequestHandler and its
# subclass cyclone.web.RequestHandler) links to the first; that is not worth failing for.
suppress_warnings = ["ref.python"]
# Docstrings write `Name` for a cross-reference; resolve it as any Python object.
default_role = "py:obj"

# Warnings are errors (nox runs sphinx-build -W -n). Nothing outside cyclone is
# documented here and no inventory is fetched (the build runs offline), so
# references to other projects' objects cannot resolve and are not reported.
nitpicky = True
_EXTERNAL = (
    "twisted",
    "zope",
    "txredisapi",
    "treq",
    "email",
    "sqlite3",
    "http",
    "collections",
    "typing",
    "typing_extensions",
    "json",
    "ssl",
    "OpenSSL",
    "asyncio",
    "os",
    "io",
    "pathlib",
    "datetime",
    "logging",
    "types",
    "argparse",
    "babel",
    "socket",
    "enum",
    "importlib",
    "re",
    "urllib",
    "xmlrpc",
    "concurrent",
    "abc",
    "_io",
    "builtins",
    "ast",
    "string",
    "gettext",
    "threading",
    "tokenize",
    "defer",
    "xml",
    "zlib",
    "hashlib",
    "hmac",
    "base64",
    "time",
    "uuid",
    "mimetypes",
    "unittest",
)
nitpick_ignore_regex = [
    (r"py:.*", rf"({'|'.join(_EXTERNAL)})(\..*)?"),
    # Builtins and typing spellings as they appear in signatures.
    (
        r"py:.*",
        r"(Any|Callable|Awaitable|Iterable|Iterator|Mapping|Sequence|Literal|Self|"
        r"Deferred|Failure|IAddress|Protocol|TypeVar|ParamSpec|NamedTuple|Traversable|"
        r"Generator|AsyncIterator|Coroutine|MutableMapping|Pattern|Match|TracebackType|"
        r"NoReturn|Never|Optional|Union|IO|BinaryIO|TextIO|PathLike|Fault|_[A-Za-z_]+|[A-Z])",
    ),
    # zope.interface objects and some subscripted annotations reach Sphinx as text.
    (r"py:class", r"(<InterfaceClass .*|.*\[.*)"),
    (r"py:.*", r"(.*\.)?_.*"),
]
