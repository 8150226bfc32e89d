"""Find translatable strings in Python code and cyclone templates.

    >>> from cyclone.locale.extract import extract_template
    >>> source = '<input value="{{ _(\\'send\\') }}">{% set n = _("%(n)d file", "%(n)d files", 2) %}'
    >>> [(call.lineno, call.arguments) for call in extract_template(source)]
    [(1, ('send',)), (1, ('%(n)d file', '%(n)d files', None))]

Python sources are read with :mod:`ast` (and :mod:`tokenize` for translator
comments); templates are cut into their ``{{ ... }}``, ``{% ... %}`` and
``{# ... #}`` blocks and each expression is parsed with :mod:`ast` too, so
quotes inside HTML attributes need no pre-processing.

Calls recognised by default: ``_(message)``, ``_(singular, plural, count)``
(cyclone's and Tornado's ``locale.translate``), ``translate(...)``,
``gettext``, ``ngettext``, ``pgettext(context, message[, plural, count])``,
``npgettext`` and ``N_``.

For Babel, two extraction methods are registered as entry points (Babel is not
needed to import this module)::

    # babel.cfg
    [python: **.py]
    [cyclone: templates/**.html]

``pybabel extract -F babel.cfg -o messages.pot .`` then understands templates;
Tornado-style ``_(singular, plural, count)`` calls are reported to Babel as
``ngettext`` so both forms reach the catalog.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import IO, Any

__all__ = [
    "DEFAULT_KEYWORDS",
    "ExtractedCall",
    "extract_cyclone_python",
    "extract_cyclone_template",
    "extract_python",
    "extract_template",
    "message_parts",
]

DEFAULT_KEYWORDS: tuple[str, ...] = (
    "_",
    "translate",
    "gettext",
    "ngettext",
    "pgettext",
    "npgettext",
    "N_",
)

# The parameters of each translation function, in order, so keyword arguments
# (``_("x", plural_message="xs", count=n)``) land in the right place.
_PARAMETERS: dict[str, tuple[str, ...]] = {
    "pgettext": ("context", "message", "plural_message", "count"),
    "npgettext": ("context", "message", "plural_message", "count"),
    "ngettext": ("message", "plural_message", "count"),
}
_DEFAULT_PARAMETERS = ("message", "plural_message", "count")
_CONTEXT_FUNCTIONS = frozenset({"pgettext", "npgettext"})

# Template statements whose remainder is a Python expression.
_EXPRESSION_STATEMENTS = frozenset({"if", "elif", "while", "raw", "module", "apply"})
# Template statements that hold no Python code worth reading.
_PLAIN_STATEMENTS = frozenset(
    {
        "autoescape",
        "block",
        "break",
        "comment",
        "continue",
        "else",
        "end",
        "except",
        "extends",
        "finally",
        "from",
        "import",
        "include",
        "try",
        "whitespace",
    }
)
_BLOCK_CLOSERS = {"{": "}}", "%": "%}", "#": "#}"}

Warn = Callable[[str], None]


@dataclasses.dataclass
class ExtractedCall:
    """One call of a translation function: its string arguments (None where not a literal)."""

    lineno: int
    function: str
    arguments: tuple[str | None, ...]
    comments: list[str] = dataclasses.field(default_factory=list)


def message_parts(call: ExtractedCall) -> tuple[str | None, str, str | None] | None:
    """Return ``(context, msgid, msgid_plural)`` for a call, or None if it has no message."""
    arguments = call.arguments
    offset = 1 if call.function in _CONTEXT_FUNCTIONS else 0
    context = arguments[0] if offset and arguments else None
    message = arguments[offset] if len(arguments) > offset else None
    if message is None or (offset and context is None):
        return None
    plural = arguments[offset + 1] if len(arguments) > offset + 1 else None
    return (context, message, plural)


def _ignore(message: str) -> None:
    pass


def _function_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _string_value(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _calls_in_tree(
    tree: ast.AST, keywords: Collection[str], where: str, line_offset: int, warn: Warn
) -> Iterator[ExtractedCall]:
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    calls.sort(key=lambda node: (node.lineno, node.col_offset))
    for node in calls:
        name = _function_name(node.func)
        if name is None or name not in keywords:
            continue
        parameters = _PARAMETERS.get(name, _DEFAULT_PARAMETERS)
        values: dict[str, ast.expr] = dict(zip(parameters, node.args, strict=False))
        for keyword in node.keywords:
            if keyword.arg in parameters:
                values[keyword.arg] = keyword.value
        present = [parameter for parameter in parameters if parameter in values]
        if not present:
            continue
        size = parameters.index(present[-1]) + 1
        arguments = tuple(_string_value(values.get(parameter)) for parameter in parameters[:size])
        lineno = node.lineno + line_offset
        if isinstance(node.func, ast.Attribute) and all(value is None for value in arguments):
            continue  # e.g. str.translate(table): not one of ours
        call = ExtractedCall(lineno, name, arguments)
        if message_parts(call) is None:
            hint = ""
            first = values.get(parameters[1] if name in _CONTEXT_FUNCTIONS else parameters[0])
            if isinstance(first, ast.BinOp) and isinstance(first.op, ast.Mod):
                hint = ' (format after translating: _("... %s") % value)'
            warn(f"{where}:{lineno}: {name}() has no string literal to extract{hint}")
            continue
        yield call


def _translator_comments(source: str, comment_tags: Collection[str]) -> dict[int, str]:
    """Map line number -> comment text for comments starting with one of the tags."""
    found: dict[int, str] = {}
    if not comment_tags:
        return found
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                text = token.string.lstrip("#").strip()
                found[token.start[0]] = text
    except (tokenize.TokenError, SyntaxError):
        pass  # the ast parse that follows reports the real error
    return found


def _attach_comments(
    calls: list[ExtractedCall], comments: dict[int, str], comment_tags: Collection[str]
) -> None:
    """Give each call the tagged comment block right above it (or on its own line)."""
    for call in calls:
        block: list[str] = []
        line = call.lineno - 1
        while line in comments:
            block.insert(0, comments[line])
            line -= 1
        if call.lineno in comments:
            block.append(comments[call.lineno])
        for index, text in enumerate(block):
            if any(text.startswith(tag) for tag in comment_tags):
                call.comments = block[index:]
                break


def extract_python(
    source: str,
    keywords: Collection[str] = DEFAULT_KEYWORDS,
    comment_tags: Collection[str] = (),
    filename: str = "<python>",
    warn: Warn = _ignore,
) -> list[ExtractedCall]:
    """Find translation calls in Python source (``.py`` files, ``.tac`` applications).

    Raises SyntaxError (naming the file and line) when the source does not parse.
    """
    tree = ast.parse(source, filename)
    calls = list(_calls_in_tree(tree, keywords, filename, 0, warn))
    _attach_comments(calls, _translator_comments(source, comment_tags), comment_tags)
    return calls


def _template_blocks(text: str, filename: str, warn: Warn) -> Iterator[tuple[str, str, int]]:
    """Yield ``(kind, content, line)`` for each ``{{``, ``{%`` and ``{#`` block.

    ``{{!``, ``{%!`` and ``{#!`` write the delimiter literally, as in the
    template engine, so they are skipped.
    """
    position = 0
    while True:
        start = text.find("{", position)
        if start == -1 or start + 1 >= len(text):
            return
        kind = text[start + 1]
        if kind not in _BLOCK_CLOSERS:
            position = start + 1
            continue
        if text.startswith("!", start + 2):
            position = start + 3
            continue
        end = text.find(_BLOCK_CLOSERS[kind], start + 2)
        line = text.count("\n", 0, start) + 1
        if end == -1:
            warn(f"{filename}:{line}: unterminated {{{kind} block")
            return
        yield kind, text[start + 2 : end], line
        position = end + 2


def _parse_template_code(kind: str, content: str) -> ast.AST | None:
    """Turn a block's content into an ast; None for statements without code."""
    if kind == "{":
        return ast.parse("(" + content + "\n)", mode="eval")
    operator, _, rest = content.strip().replace("\t", " ").replace("\n", " ", 1).partition(" ")
    if operator in _PLAIN_STATEMENTS or not operator:
        return None
    leading = content[: len(content) - len(content.lstrip())]
    newlines = "\n" * leading.count("\n")
    if operator in _EXPRESSION_STATEMENTS:
        return ast.parse(newlines + "(" + rest + "\n)", mode="eval")
    if operator == "for":
        return ast.parse(newlines + "for " + rest + ":\n pass")
    if operator == "set":
        return ast.parse(newlines + rest.strip())
    raise SyntaxError(f"unknown template statement {operator!r}")


def extract_template(
    text: str,
    keywords: Collection[str] = DEFAULT_KEYWORDS,
    comment_tags: Collection[str] = (),
    filename: str = "<template>",
    warn: Warn = _ignore,
) -> list[ExtractedCall]:
    """Find translation calls in a cyclone (Tornado-syntax) template.

    A ``{# TRANSLATORS: ... #}`` comment (any of ``comment_tags``) is attached
    to the messages on its line and the next one.  Blocks that do not parse
    are reported through ``warn`` and skipped.
    """
    calls: list[ExtractedCall] = []
    pending_comment: tuple[int, str] | None = None
    for kind, content, line in _template_blocks(text, filename, warn):
        if kind == "#":
            comment = " ".join(content.split())
            if any(comment.startswith(tag) for tag in comment_tags):
                pending_comment = (line + content.count("\n"), comment)
            continue
        try:
            tree = _parse_template_code(kind, content)
        except SyntaxError as error:
            warn(
                f"{filename}:{line}: cannot parse {{{kind}{content}{_BLOCK_CLOSERS[kind]}: {error.msg}"
            )
            continue
        if tree is None:
            continue
        found = list(_calls_in_tree(tree, keywords, filename, line - 1, warn))
        if pending_comment is not None:
            comment_line, comment = pending_comment
            for call in found:
                if call.lineno - comment_line <= 1:
                    call.comments = [comment]
            if found:
                pending_comment = None
        calls.extend(found)
    return calls


def _babel_results(
    calls: list[ExtractedCall], keywords: Collection[str]
) -> Iterator[tuple[int, str, tuple[str | None, ...] | str | None, list[str]]]:
    for call in calls:
        function = call.function
        plural = len(call.arguments) > (2 if function in _CONTEXT_FUNCTIONS else 1)
        if plural and function in ("_", "translate", "gettext", "N_") and "ngettext" in keywords:
            function = "ngettext"
        elif plural and function == "pgettext" and "npgettext" in keywords:
            function = "npgettext"
        yield call.lineno, function, call.arguments, call.comments


def extract_cyclone_template(
    fileobj: IO[bytes],
    keywords: Collection[str] | Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, tuple[str | None, ...] | str | None, list[str]]]:
    """Babel extraction method for cyclone templates (entry point ``cyclone``).

    Options: ``encoding`` (default UTF-8).
    """
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    filename = getattr(fileobj, "name", "<template>")
    calls = extract_template(text, list(keywords), comment_tags, str(filename))
    yield from _babel_results(calls, list(keywords))


def extract_cyclone_python(
    fileobj: IO[bytes],
    keywords: Collection[str] | Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, tuple[str | None, ...] | str | None, list[str]]]:
    """Babel extraction method for Python (entry point ``cyclone_python``).

    Unlike Babel's ``python`` method it reports Tornado-style
    ``_(singular, plural, count)`` calls as plurals.  Options: ``encoding``.
    """
    source = fileobj.read()
    encoding = options.get("encoding") or tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    filename = getattr(fileobj, "name", "<python>")
    calls = extract_python(source.decode(encoding), list(keywords), comment_tags, str(filename))
    yield from _babel_results(calls, list(keywords))


_PYTHON_FORMAT = re.compile(
    r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]"
)


def is_python_format(message: str) -> bool:
    """True when a message uses ``%`` formatting (so PO tools check translations keep it)."""
    return any(match.group() != "%%" for match in _PYTHON_FORMAT.finditer(message))
