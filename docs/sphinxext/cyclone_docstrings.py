"""Sphinx glue for cyclone's docstrings: code examples by indentation, short references.

Two conventions run through cyclone's docstrings:

* a block indented under a paragraph is a code example (as in Markdown and in
  ``help()`` output). In reStructuredText such a block is a block quote, so
  `mark_code_examples` turns each one into a literal block (Python, or a shell
  session when it starts with ``$``) before autodoc parses the docstring;
* `Name` in single backquotes names a Python object, often by its short name
  (`ObjectDict`, `HTTPServer`). `resolve_short_reference` links a short name to
  the one documented object it ends, and shows what names no documented object
  (an attribute, a call such as `write()`) as code. References written with an
  explicit role (``:class:``) and those in signatures are left to Sphinx's
  nitpicky checks.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import Any

from docutils import nodes

_IDENTIFIER_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_LIST_ITEM = re.compile(r"\s*([-*+]|\d+\.)\s")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _language(block: list[str]) -> str:
    text = textwrap.dedent("\n".join(block))
    if text.lstrip().startswith("$ "):
        return "console"
    try:
        compile(
            text, "<docstring>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
        )
    except SyntaxError:
        return "text"
    return "python"


def mark_code_examples(lines: list[str]) -> None:
    """Put a ``code-block`` directive before each indented block that follows a paragraph."""
    index = 1
    while index < len(lines):
        if lines[index - 1].strip() or not lines[index].strip():
            index += 1
            continue
        base = next((line for line in reversed(lines[: index - 1]) if line.strip()), None)
        if (
            base is None
            or _indent(lines[index]) <= _indent(base)
            or base.rstrip().endswith("::")
            or base.lstrip().startswith((".. ", ":"))
            or _LIST_ITEM.match(base)
        ):
            index += 1
            continue
        end = index
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > _indent(base)):
            end += 1
        while end > index and not lines[end - 1].strip():
            end -= 1
        directive = " " * _indent(base) + f".. code-block:: {_language(lines[index:end])}"
        lines[index - 1 : index] = ["", directive, ""]
        index = end + 2


def _process_docstring(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    mark_code_examples(lines)


def resolve_short_reference(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Link `ShortName` to the single documented object it names; show the rest as code."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].split("(", 1)[0].rstrip(".")
    domain = env.get_domain("py")
    if _IDENTIFIER_PATH.fullmatch(target):
        last = target.rsplit(".", 1)[-1]
        matches = [
            (name, entry)
            for name, entry in domain.objects.items()
            if name == target
            or name.endswith("." + target)
            or (node["reftype"] != "obj" and name.endswith("." + last) and "." in target)
        ]
        if len(matches) == 1:
            from sphinx.util.nodes import make_refnode

            name, entry = matches[0]
            return make_refnode(
                app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name
            )
    if node["reftype"] == "obj":
        return nodes.literal(node["reftarget"], node["reftarget"])
    return None


def setup(app: Any) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", _process_docstring)
    app.connect("missing-reference", resolve_short_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
