"""Tornado-compatible templates, compiled once into plain Python functions.

    >>> from cyclone.template import DictLoader, Template
    >>> Template("<b>{{ name }}</b>").generate(name="<Ann>")
    b'<b>&lt;Ann&gt;</b>'
    >>> loader = DictLoader({
    ...     "base.html": "<title>{% block title %}?{% end %}</title>",
    ...     "page.html": '{% extends "base.html" %}{% block title %}Hi {{ who }}{% end %}',
    ... })
    >>> loader.load("page.html").generate(who="you")
    b'<title>Hi you</title>'

The language is Tornado's: ``{{ expression }}``; ``{% if %}``/``{% elif %}``/
``{% else %}``, ``{% for %}``, ``{% while %}``, ``{% try %}``/``{% except %}``/
``{% finally %}``, each closed by ``{% end %}``; ``{% set %}``, ``{% import %}``,
``{% from x import y %}``, ``{% extends %}``, ``{% block %}``, ``{% include %}``,
``{% module %}``, ``{% apply %}``, ``{% autoescape %}``, ``{% raw %}``,
``{% whitespace %}``, ``{% comment %}``, ``{# ... #}``, ``{% break %}`` and
``{% continue %}``; ``{{!`` and ``{%!`` write the braces literally. From
cyclone 1.x: ``{% super %}`` inside a ``{% block %}`` writes the block as the
template being extended defines it.

Also from cyclone 1.x: an expression whose value is a Twisted ``Deferred``
(a database query, say) makes `Template.generate` return a Deferred that fires
with the page once every such value has arrived; if they have all arrived
already it returns the bytes, as 1.x did. Templates without Deferred values
render synchronously, at the same speed.

Why it is fast: a template (with everything it extends and includes inlined)
becomes one Python function that appends ``str`` pieces to a list. Adjacent
static text and expressions are folded into one f-string append, the escaping
function is bound to a local, and the page is joined and UTF-8 encoded once.

As in Tornado, ``{% apply %}`` functions and custom ``autoescape`` functions
receive UTF-8 bytes (and may return bytes or text). Beyond Tornado: Python
syntax errors in a template raise `ParseError` naming the template file and
line, and errors raised while rendering carry a note (see
`BaseException.add_note`) naming the template file and line.
"""

from __future__ import annotations

import datetime
import linecache
import os
import posixpath
import re
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from types import CodeType, FunctionType
from typing import Any, NamedTuple

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from cyclone import escape

__all__ = [
    "BaseLoader",
    "DictLoader",
    "Loader",
    "ParseError",
    "Template",
    "TemplateError",
    "filter_whitespace",
]

log = Logger()

_DEFAULT_AUTOESCAPE = "xhtml_escape"


class _Unset:
    """Marks an argument the caller left out (``None`` means "no escaping")."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


# --------------------------------------------------------------------------
# Whitespace

_BLANKS_RE = re.compile(r"[\t ]+")
_LINE_BREAK_RE = re.compile(r"\s*\n\s*")
_WHITESPACE_RE = re.compile(r"\s+")
_WHITESPACE_MODES = ("all", "single", "oneline")


def filter_whitespace(mode: str, text: str) -> str:
    """Transform the whitespace of template text according to ``mode``.

    ``all`` keeps it; ``single`` turns each run of blanks into one space and
    each run of whitespace holding a newline into one newline; ``oneline``
    turns every run of whitespace into one space.
    """
    if mode == "single":
        return _LINE_BREAK_RE.sub("\n", _BLANKS_RE.sub(" ", text))
    if mode == "oneline":
        return _WHITESPACE_RE.sub(" ", text)
    if mode == "all":
        return text
    raise ValueError(f"invalid whitespace mode {mode!r}; expected one of {_WHITESPACE_MODES}")


# --------------------------------------------------------------------------
# Errors


class TemplateError(Exception):
    """A template cannot be compiled or rendered (cyclone 1.x's name).

    `ParseError` (Tornado's name) is a TemplateError, so 1.x code catching this
    still catches syntax errors. Unlike 1.x, an exception raised by an
    expression while rendering propagates as it is (with a note naming the
    template line), as in Tornado, instead of being wrapped in a TemplateError.
    """


class ParseError(TemplateError):
    """A template that cannot be compiled, with ``filename`` and ``lineno`` of the fault."""

    def __init__(self, message: str, filename: str | None = None, lineno: int = 0) -> None:
        super().__init__(message, filename, lineno)
        self.message = message
        self.filename = filename
        self.lineno = lineno

    def __str__(self) -> str:
        return f"{self.message} at {self.filename}:{self.lineno}"


def _add_note(error: BaseException, note: str) -> None:
    """Attach ``note`` to ``error`` (``add_note`` on 3.11+, ``__notes__`` before)."""
    if sys.version_info >= (3, 11):
        error.add_note(note)
    else:  # pragma: no cover - exercised on Python 3.10 only
        notes = getattr(error, "__notes__", None)
        if not isinstance(notes, list):
            notes = []
            error.__notes__ = notes  # type: ignore[attr-defined]
        notes.append(note)


# --------------------------------------------------------------------------
# Values to text (what every ``{{ }}`` goes through at render time)


def _to_text(value: Any) -> str:
    """Return the text an expression writes: bytes are decoded, others ``str()``-ed."""
    if value.__class__ is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        # surrogateescape lets raw non-UTF-8 bytes reach the output unchanged.
        return bytes(value).decode("utf-8", "surrogateescape")
    return str(value)


def _raw_text(value: Any) -> str:
    """`_to_text` for unescaped output (``{% raw %}``, ``{% module %}``), which may be a Deferred."""
    if value.__class__ is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "surrogateescape")
    if _deferred_classes.get(value.__class__, True) and _is_deferred(value):
        return _defer_value(value, _raw_text)
    return str(value)


# --------------------------------------------------------------------------
# Expressions whose value is a Deferred (cyclone 1.x)
#
# The escaping function meeting a Deferred registers it and returns a marker
# that takes its place in the page; once the page is built, `_fill_in` waits
# for the values and puts each, escaped, where its marker stands. A template
# with no Deferred values never gets here: `Template.generate` only compares
# the number of values registered before and after the render.


class _PendingValue(NamedTuple):
    deferred: Deferred[Any]
    escaper: Callable[[Any], str]
    thread: int


_pending: dict[int, _PendingValue] = {}
_pending_lock = threading.Lock()
#: How many Deferred values were ever registered; renders compare it before and after.
_registered = 0
# A random part makes markers impossible to forge in text a template writes.
_MARKER_NONCE = secrets.token_hex(6)
_MARKER_RE = re.compile("\ue000" + _MARKER_NONCE + "([0-9]+)\ue001")


#: Whether a class is a Deferred, per class seen: ``isinstance`` against Deferred
#: (an ABC) costs more than the rest of writing a number.
_deferred_classes: dict[type, bool] = {}


def _is_deferred(value: Any) -> bool:
    cls = value.__class__
    known = _deferred_classes.get(cls)
    if known is None:
        known = issubclass(cls, Deferred)
        if len(_deferred_classes) < 1024:  # classes made on the fly must not grow it forever
            _deferred_classes[cls] = known
    return known


def _defer_value(value: Deferred[Any], escaper: Callable[[Any], str]) -> str:
    """Register a Deferred expression value; return the marker standing in for it."""
    global _registered
    with _pending_lock:
        _registered += 1
        number = _registered
        _pending[number] = _PendingValue(value, escaper, threading.get_ident())
    return f"\ue000{_MARKER_NONCE}{number}\ue001"


def _apply(function: Callable[[bytes], Any], body: Callable[[], bytes]) -> Any:
    """Run an ``{% apply %}`` body and pass its output to ``function``.

    The function needs the whole text now, so a Deferred value inside the body
    is refused (cyclone 1.x could not render one there either).
    """
    before = _registered
    text = body()
    if _registered != before:
        raise TemplateError(
            "an expression inside {% apply %} has a Deferred value; "
            "wait for it before rendering, or move it out of the {% apply %} block"
        )
    return function(text)


def _forget_pending(since: int) -> list[_PendingValue]:
    """Remove and return this thread's values registered after ``since``."""
    thread = threading.get_ident()
    with _pending_lock:
        numbers = [n for n, v in _pending.items() if n > since and v.thread == thread]
        return [_pending.pop(n) for n in numbers]


def _log_abandoned(failure: Failure) -> None:
    log.failure("a Deferred template value failed after the page had failed", failure)


def _fill_in(template_name: str, text: str, since: int) -> bytes | Deferred[bytes]:
    """The page ``text`` with its markers replaced; bytes if every value is there, else a Deferred."""
    pieces = _MARKER_RE.split(text)
    with _pending_lock:
        values = [_pending.pop(int(number), None) for number in pieces[1::2]]
    leftover = _forget_pending(since)
    if leftover or None in values:
        for value in leftover:
            value.deferred.addErrback(_log_abandoned)
        raise TemplateError(
            f"template {template_name!r}: a Deferred value did not reach the page "
            "(a Deferred inside {% apply %} is not supported)"
        )

    async def wait() -> bytes:
        results: list[str] = []
        try:
            for value in values:
                assert value is not None
                results.append(value.escaper(await value.deferred))
        finally:
            for value in values[len(results) + 1 :]:
                assert value is not None
                value.deferred.addErrback(_log_abandoned)
        pieces[1::2] = results
        return "".join(pieces).encode("utf-8", "surrogateescape")

    page = ensureDeferred(wait())
    outcome: list[Any] = []

    def keep(result: Any) -> Any:
        outcome.append(result)
        return result

    page.addBoth(keep)
    if not outcome:
        return page
    result = outcome[0]
    if isinstance(result, Failure):
        page.addErrback(lambda _: None)  # raised below instead
        result.raiseException()
    filled: bytes = result
    return filled


def _escape_html(value: Any) -> str:
    """`cyclone.escape.xhtml_escape` for any value, written out for speed.

    Most values hold none of the five special characters: an ``in`` test is
    cheaper than a ``replace`` call that finds nothing.
    """
    if value.__class__ is not str:
        if value.__class__ is int:
            return str(value)
        if _deferred_classes.get(value.__class__, True) and _is_deferred(value):
            return _defer_value(value, _escape_html)
        value = _to_text(value)
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "'" in value:
        value = value.replace("'", "&#39;")
    return value


_ESCAPE_PROBE = "".join(map(chr, range(128))) + "\u00e9\u2603"
# The inlined copy is only used while it agrees with cyclone.escape.
_FAST_HTML_ESCAPE = escape.xhtml_escape(_ESCAPE_PROBE) == _escape_html(_ESCAPE_PROBE)


def _make_escaper(function: Any) -> Any:
    """Wrap an autoescape function so it takes any value and returns text.

    Like Tornado, a custom function is handed the value as UTF-8 bytes.
    """
    if function is escape.xhtml_escape and _FAST_HTML_ESCAPE:
        return _escape_html

    def escaper(value: Any) -> str:
        if not isinstance(value, bytes):
            if _deferred_classes.get(value.__class__, True) and _is_deferred(value):
                return _defer_value(value, escaper)
            value = _to_text(value).encode("utf-8", "surrogateescape")
        result = function(value)
        return result if result.__class__ is str else _to_text(result)

    return escaper


_BASE_NAMESPACE: dict[str, Any] = {
    "escape": escape.xhtml_escape,
    "xhtml_escape": escape.xhtml_escape,
    "url_escape": escape.url_escape,
    "json_encode": escape.json_encode,
    "squeeze": escape.squeeze,
    "linkify": escape.linkify,
    "datetime": datetime,
    "_tt_utf8": escape.utf8,
    "_tt_string_types": (str, bytes),
    "_tt_escaper": _make_escaper,
    "_tt_to_text": _raw_text,
    "_tt_join": "".join,
    "_tt_apply": _apply,
}


# --------------------------------------------------------------------------
# Syntax tree


class _Text(NamedTuple):
    value: str
    line: int


class _Expression(NamedTuple):
    code: str
    line: int
    raw: bool


class _Statement(NamedTuple):
    code: str
    line: int


class _Clause(NamedTuple):
    head: str
    line: int
    body: list[Any]


class _Control(NamedTuple):
    """``if``/``for``/``while``/``try`` with its ``elif``/``else``/``except``/``finally`` clauses."""

    clauses: list[_Clause]


class _Apply(NamedTuple):
    function: str
    line: int
    body: list[Any]


class _NamedBlock(NamedTuple):
    name: str
    line: int
    body: list[Any]
    template: Template


class _Super(NamedTuple):
    """``{% super %}``: the enclosing block as the extended template defines it."""

    line: int


class _Include(NamedTuple):
    name: str
    line: int
    parent: str


class _Extends(NamedTuple):
    name: str
    line: int


# --------------------------------------------------------------------------
# Parser

_TEXT, _EXPRESSION = "text", "{{"
_TAG_START_RE = re.compile(r"\{[{%#]")
_TAG_END = {
    "{{": ("}}", "Missing end expression }}"),
    "{%": ("%}", "Missing end block %}"),
    "{#": ("#}", "Missing end comment #}"),
}

# Which block each intermediate tag may continue.
_CLAUSE_PARENTS = {
    "else": ("if", "for", "while", "try"),
    "elif": ("if",),
    "except": ("try",),
    "finally": ("try",),
}
_CONTROL_OPERATORS = ("if", "for", "while", "try")


def _scan(text: str, filename: str) -> Iterator[tuple[str, str, int]]:
    """Split template text into ``(kind, content, line)`` tokens; comments vanish.

    A run of three or more ``{`` opens the tag at its last two braces, so the
    extra braces stay text (handy for LaTeX); ``{{!``/``{%!``/``{#!`` are the
    literal braces.
    """
    position = 0
    line = 1
    search = _TAG_START_RE.search
    while True:
        match = search(text, position)
        while match is not None and text.startswith("{{{", match.start()):
            match = search(text, match.start() + 1)
        if match is None:
            if position < len(text):
                yield _TEXT, text[position:], line
            return
        start = match.start()
        if start > position:
            yield _TEXT, text[position:start], line
            line += text.count("\n", position, start)
        opener = match.group()
        if text.startswith("!", start + 2):
            yield _TEXT, opener, line
            position = start + 3
            continue
        closer, missing = _TAG_END[opener]
        end = text.find(closer, start + 2)
        if end == -1:
            raise ParseError(missing, filename, line)
        if opener != "{#":
            yield opener, text[start + 2 : end].strip(), line
        line += text.count("\n", start, end)
        position = end + 2


class _Parser:
    """Builds the syntax tree of one template file, raising `ParseError` on mistakes."""

    def __init__(self, template: Template, text: str, whitespace: str) -> None:
        self.template = template
        self.filename = template.name
        self.whitespace = whitespace
        self.tokens = _scan(text, self.filename)
        self.block_depth = 0

    def error(self, message: str, line: int) -> ParseError:
        return ParseError(message, self.filename, line)

    def parse(self) -> list[Any]:
        body, _ = self.parse_body(None, 0, False)
        extends = [node for node in body if isinstance(node, _Extends)]
        if len(extends) > 1:
            raise self.error("more than one {% extends %} in one template", extends[1].line)
        return body

    def parse_body(
        self, opener: str | None, opener_line: int, in_loop: bool
    ) -> tuple[list[Any], _Clause | None]:
        """Parse until ``{% end %}`` (clause None) or an ``else``-like tag (returned)."""
        body: list[Any] = []
        append = body.append
        for kind, content, line in self.tokens:
            if kind == _TEXT:
                if "<pre>" not in content:
                    content = filter_whitespace(self.whitespace, content)
                if content:
                    append(_Text(content, line))
                continue
            if kind == _EXPRESSION:
                if not content:
                    raise self.error("Empty expression", line)
                append(_Expression(content, line, False))
                continue
            if not content:
                raise self.error("Empty block tag ({% %})", line)
            operator, _, argument = content.partition(" ")
            argument = argument.strip()
            parents = _CLAUSE_PARENTS.get(operator)
            if parents is not None:
                if opener is None:
                    raise self.error(f"{operator} outside {'/'.join(parents)} block", line)
                if opener not in parents:
                    raise self.error(
                        f"{operator} block cannot be attached to {opener} block", line
                    )
                return body, _Clause(content, line, [])
            if operator == "end":
                if opener is None:
                    raise self.error("Extra {% end %} block", line)
                return body, None
            node = self.parse_tag(operator, argument, content, line, opener, in_loop)
            if node is not None:
                append(node)
        if opener is not None:
            raise self.error(f"Missing {{% end %}} block for {opener}", opener_line)
        return body, None

    def parse_tag(
        self,
        operator: str,
        argument: str,
        content: str,
        line: int,
        opener: str | None,
        in_loop: bool,
    ) -> Any:
        if operator in _CONTROL_OPERATORS:
            inner_loop = in_loop or operator in ("for", "while")
            body, clause = self.parse_body(operator, line, inner_loop)
            clauses = [_Clause(content, line, body)]
            while clause is not None:
                body, next_clause = self.parse_body(operator, line, inner_loop)
                clauses.append(clause._replace(body=body))
                clause = next_clause
            return _Control(clauses)
        if operator == "block":
            if not argument:
                raise self.error("block missing name", line)
            self.block_depth += 1
            body = self.parse_block(operator, line, in_loop)
            self.block_depth -= 1
            return _NamedBlock(argument, line, body, self.template)
        if operator == "super":
            if not self.block_depth:
                raise self.error("{% super %} outside a {% block %}", line)
            return _Super(line)
        if operator == "apply":
            if not argument:
                raise self.error("apply missing method name", line)
            # The body becomes a nested function, so break/continue cannot cross it.
            return _Apply(argument, line, self.parse_block(operator, line, False))
        if operator in ("break", "continue"):
            if not in_loop:
                raise self.error(f"{operator} outside for/while block", line)
            return _Statement(content, line)
        if operator == "set":
            if not argument:
                raise self.error("set missing statement", line)
            return _Statement(argument, line)
        if operator in ("import", "from"):
            if not argument:
                raise self.error("import missing statement", line)
            return _Statement(content, line)
        if operator in ("extends", "include"):
            name = argument.strip("\"'")
            if not name:
                raise self.error(f"{operator} missing file path", line)
            if operator == "include":
                return _Include(name, line, self.filename)
            if opener is not None:
                raise self.error("{% extends %} must be at the top level of a template", line)
            return _Extends(name, line)
        if operator == "raw":
            if not argument:
                raise self.error("raw missing expression", line)
            return _Expression(argument, line, True)
        if operator == "module":
            if not argument:
                raise self.error("module missing expression", line)
            return _Expression("_tt_modules." + argument, line, True)
        if operator == "autoescape":
            if not argument:
                raise self.error("autoescape missing function name (or None)", line)
            self.template.autoescape = None if argument == "None" else argument
            return None
        if operator == "whitespace":
            if argument not in _WHITESPACE_MODES:
                raise self.error(f"invalid whitespace mode {argument!r}", line)
            self.whitespace = argument
            return None
        if operator == "comment":
            return None
        raise self.error(f"unknown operator: {operator!r}", line)

    def parse_block(self, operator: str, line: int, in_loop: bool) -> list[Any]:
        body, clause = self.parse_body(operator, line, in_loop)
        assert clause is None  # parse_body refuses clauses for non-control openers
        return body


# --------------------------------------------------------------------------
# Code generation


class _Origin(NamedTuple):
    """Where a generated line comes from: template, line, and the include/block chain."""

    name: str
    line: int
    via: tuple[tuple[str, int], ...]

    def location(self) -> str:
        """``name:line``, then ``(via outer:line, ...)`` innermost first, as Tornado writes it."""
        where = f"{self.name}:{self.line}"
        if self.via:
            where += (
                " (via " + ", ".join(f"{name}:{line}" for name, line in reversed(self.via)) + ")"
            )
        return where


# Escaping functions bound once per render; they come from the namespace,
# which a template would not sensibly redefine.
_PREBOUND_ESCAPES = frozenset({"xhtml_escape", "escape"})


class _Scope:
    """One generated function (the template, or an ``{% apply %}`` body)."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str, _Origin]] = []
        self.pending: list[tuple[bool, str, _Origin]] = []  # (is_code, text or code, origin)
        self.escapers: dict[str, str] = {}
        self.uses_to_text = False
        self.indent = 1
        # Inside a ``try`` body, output written before an expression fails must
        # already be in the buffer when the ``except`` clause runs.
        self.guarded = 0


class _CodeGenerator:
    """Turns the syntax trees of a template and its ancestors into Python source."""

    def __init__(self, template: Template, named_blocks: dict[str, list[_NamedBlock]]) -> None:
        self.dependencies = template.dependencies
        #: Each block's definitions, from the root ancestor's to the most derived.
        self.named_blocks = named_blocks
        #: The blocks being written: their definitions and which one (for {% super %}).
        self.block_stack: list[tuple[list[_NamedBlock], int]] = []
        self.current = template
        self.via: list[tuple[str, int]] = []
        self.including: list[str] = []
        self.apply_count = 0

    def origin(self, line: int) -> _Origin:
        return _Origin(self.current.name, line, tuple(self.via))

    def function(
        self, name: str, body: list[Any], origin: _Origin, result: str
    ) -> list[tuple[int, str, _Origin]]:
        scope = _Scope()
        self.nodes(scope, body)
        self.flush(scope)
        header = [
            (0, f"def {name}():", origin),
            (1, "_tt_buffer = []", origin),
            (1, "_tt_append = _tt_buffer.append", origin),
        ]
        for function, local in scope.escapers.items():
            header.append((1, f"{local} = _tt_escaper({function})", origin))
        if scope.uses_to_text:
            header.append((1, "_tt_str = _tt_to_text", origin))
        return header + scope.lines + [(1, f"return {result}", origin)]

    def emit(self, scope: _Scope, code: str, origin: _Origin, indent: int | None = None) -> None:
        scope.lines.append((scope.indent if indent is None else indent, code, origin))

    def flush(self, scope: _Scope) -> None:
        """Write the pending text and expressions as one append."""
        pending = scope.pending
        if not pending:
            return
        scope.pending = []
        expressions = [item for item in pending if item[0]]
        if not expressions:
            self.emit(
                scope, f"_tt_append({''.join(text for _, text, _ in pending)!r})", pending[-1][2]
            )
            return
        if len(pending) == 1:
            self.emit(scope, f"_tt_append({pending[0][1]})", pending[0][2])
            return
        parts: list[str] = []
        for is_code, text, origin in pending:
            if is_code:
                local = f"_tt_t{len(parts)}"
                self.emit(scope, f"{local} = {text}", origin)
                parts.append("{" + local + "}")
            else:
                parts.append(text.replace("{", "{{").replace("}", "}}"))
        self.emit(scope, f"_tt_append(f{''.join(parts)!r})", pending[-1][2])

    def nodes(self, scope: _Scope, nodes: list[Any]) -> None:
        for node in nodes:
            kind = type(node)
            if kind is _Text:
                scope.pending.append((False, node.value, self.origin(node.line)))
            elif kind is _Expression:
                self.expression(scope, node)
            elif kind is _Statement:
                self.flush(scope)
                self.emit(scope, node.code, self.origin(node.line))
            elif kind is _Control:
                self.control(scope, node)
            elif kind is _NamedBlock:
                self.named_block(scope, node)
            elif kind is _Include:
                self.include(scope, node)
            elif kind is _Apply:
                self.apply(scope, node)
            elif kind is _Super:
                self.super_block(scope, node)
            # _Extends only matters when collecting ancestors.

    def expression(self, scope: _Scope, node: _Expression) -> None:
        expression = node.code
        if "#" in expression:
            # A trailing comment (``{{ x  # why }}``) must not swallow the ")".
            expression += "\n"
        function = None if node.raw else self.current.autoescape
        if function is None:
            scope.uses_to_text = True
            code = f"_tt_str({expression})"
        elif function in _PREBOUND_ESCAPES:
            local = scope.escapers.get(function)
            if local is None:
                local = scope.escapers[function] = f"_tt_e{len(scope.escapers)}"
            code = f"{local}({expression})"
        else:
            # Looked up at each use: the template itself may define the function.
            code = f"_tt_escaper({function})({expression})"
        if scope.guarded:
            self.flush(scope)
        scope.pending.append((True, code, self.origin(node.line)))

    def control(self, scope: _Scope, node: _Control) -> None:
        self.flush(scope)
        for clause in node.clauses:
            self.emit(scope, clause.head + ":", self.origin(clause.line))
            guarded = clause.head == "try"
            scope.indent += 1
            scope.guarded += guarded
            before = len(scope.lines)
            self.nodes(scope, clause.body)
            self.flush(scope)
            if len(scope.lines) == before:
                self.emit(scope, "pass", self.origin(clause.line))
            scope.guarded -= guarded
            scope.indent -= 1

    def apply(self, scope: _Scope, node: _Apply) -> None:
        self.flush(scope)
        name = f"_tt_apply{self.apply_count}"
        self.apply_count += 1
        origin = self.origin(node.line)
        for indent, code, line_origin in self.function(
            name, node.body, origin, '_tt_join(_tt_buffer).encode("utf-8", "surrogateescape")'
        ):
            self.emit(scope, code, line_origin, scope.indent + indent)
        scope.uses_to_text = True
        scope.pending.append((True, f"_tt_str(_tt_apply({node.function}, {name}))", origin))

    def named_block(self, scope: _Scope, node: _NamedBlock) -> None:
        definitions = self.named_blocks[node.name]
        self.block_definition(scope, definitions, len(definitions) - 1, node.line)

    def super_block(self, scope: _Scope, node: _Super) -> None:
        definitions, index = self.block_stack[-1]
        if index > 0:
            self.block_definition(scope, definitions, index - 1, node.line)

    def block_definition(
        self, scope: _Scope, definitions: list[_NamedBlock], index: int, line: int
    ) -> None:
        block = definitions[index]
        self.block_stack.append((definitions, index))
        try:
            self.inline(scope, block.template, line, block.body)
        finally:
            self.block_stack.pop()

    def include(self, scope: _Scope, node: _Include) -> None:
        included = _load_dependency(self.current, node.name, node.parent, node.line, "include")
        self.dependencies.add(included.name)
        self.dependencies.update(included.dependencies)
        if included.name in self.including:
            raise ParseError(
                f"template {included.name!r} includes itself", self.current.name, node.line
            )
        if any(isinstance(child, _Extends) for child in included.nodes):
            raise ParseError(
                f"cannot include {included.name!r}: it uses {{% extends %}}",
                self.current.name,
                node.line,
            )
        self.including.append(included.name)
        self.inline(scope, included, node.line, included.nodes)
        self.including.pop()

    def inline(self, scope: _Scope, template: Template, line: int, body: list[Any]) -> None:
        self.via.append((self.current.name, line))
        outer, self.current = self.current, template
        try:
            self.nodes(scope, body)
        finally:
            self.current = outer
            self.via.pop()


def _load_dependency(
    template: Template, name: str, parent: str, line: int, operator: str
) -> Template:
    if template.loader is None:
        raise ParseError(
            f"{{% {operator} %}} block found, but no template loader", template.name, line
        )
    return template.loader.load(name, parent)


def _collect_named_blocks(
    template: Template, nodes: list[Any], blocks: dict[str, list[_NamedBlock]], seen: set[str]
) -> None:
    """Record every ``{% block %}`` by name; the last definition of a name is the one written."""
    for node in nodes:
        kind = type(node)
        if kind is _NamedBlock:
            blocks.setdefault(node.name, []).append(node)
            _collect_named_blocks(template, node.body, blocks, seen)
        elif kind is _Control:
            for clause in node.clauses:
                _collect_named_blocks(template, clause.body, blocks, seen)
        elif kind is _Apply:
            _collect_named_blocks(template, node.body, blocks, seen)
        elif kind is _Include:
            included = _load_dependency(template, node.name, node.parent, node.line, "include")
            if included.name not in seen:
                seen.add(included.name)
                _collect_named_blocks(included, included.nodes, blocks, seen)


# --------------------------------------------------------------------------
# Templates


class _SourceLoader:
    """Lets `linecache` (and so tracebacks) show the generated source."""

    def __init__(self, source: str) -> None:
        self.source = source

    def get_source(self, name: str) -> str:
        return self.source


class Template:
    """A compiled template; `generate` renders it to UTF-8 bytes.

    ``name`` is used in error messages and to resolve relative ``{% include %}``
    and ``{% extends %}`` paths through ``loader``. ``autoescape`` names the
    escaping function in the namespace (``None`` disables escaping);
    ``whitespace`` is ``"all"``, ``"single"`` or ``"oneline"`` and defaults to
    the loader's, else ``"single"`` for ``.html``/``.js`` names and ``"all"``
    otherwise. ``compress_whitespace`` is the deprecated boolean spelling.
    """

    def __init__(
        self,
        template_string: str | bytes,
        name: str = "<string>",
        loader: BaseLoader | None = None,
        compress_whitespace: bool | _Unset = _UNSET,
        autoescape: str | None | _Unset = _UNSET,
        whitespace: str | None = None,
    ) -> None:
        self.name = escape.to_unicode(name)
        if not isinstance(compress_whitespace, _Unset):
            if whitespace is not None:
                raise ValueError("cannot set both whitespace and compress_whitespace")
            whitespace = "single" if compress_whitespace else "all"
        if whitespace is None:
            if loader is not None and loader.whitespace:
                whitespace = loader.whitespace
            elif self.name.endswith((".html", ".js")):
                whitespace = "single"
            else:
                whitespace = "all"
        filter_whitespace(whitespace, "")
        if not isinstance(autoescape, _Unset):
            self.autoescape: str | None = autoescape
        elif loader is not None:
            self.autoescape = loader.autoescape
        else:
            self.autoescape = _DEFAULT_AUTOESCAPE
        self.loader = loader
        self.namespace: dict[str, Any] = loader.namespace if loader is not None else {}
        #: Names of the templates this one's code was built from (ancestors, includes).
        self.dependencies: set[str] = set()
        self.nodes = _Parser(self, escape.to_unicode(template_string), whitespace).parse()
        self.code, self._origins = self._generate_python()
        self._filename = "%s.generated.py" % self.name.replace(".", "_")
        self._execute = self._compile()
        self._globals: dict[str, Any] = dict(_BASE_NAMESPACE)
        self._globals["__name__"] = self._filename[: -len(".py")]
        self._globals["__loader__"] = _SourceLoader(self.code)

    def generate(self, **kwargs: Any) -> bytes | Deferred[bytes]:
        """Render the template with ``kwargs`` (and the loader's namespace) as globals.

        Returns the page as UTF-8 bytes, or (cyclone 1.x) a Deferred firing with
        them when an expression's value is a Deferred that has not fired yet.
        """
        namespace = self._globals.copy()
        if self.namespace:
            namespace.update(self.namespace)
        if kwargs:
            namespace.update(kwargs)
        before = _registered
        try:
            buffer = FunctionType(self._execute, namespace)()
        except Exception as error:
            if _registered != before:
                for value in _forget_pending(before):
                    value.deferred.addErrback(_log_abandoned)
            self._annotate(error)
            raise
        if _registered != before:
            return _fill_in(self.name, "".join(buffer), before)
        return "".join(buffer).encode("utf-8", "surrogateescape")

    def _ancestors(self) -> list[Template]:
        """This template followed by each template it (transitively) extends."""
        chain = [self]
        while True:
            extends = [node for node in chain[-1].nodes if type(node) is _Extends]
            if not extends:
                return chain
            node = extends[0]
            parent = _load_dependency(chain[-1], node.name, chain[-1].name, node.line, "extends")
            if parent in chain:
                raise ParseError(
                    f"template {parent.name!r} extends itself", chain[-1].name, node.line
                )
            chain.append(parent)
            self.dependencies.add(parent.name)
            self.dependencies.update(parent.dependencies)

    def _generate_python(self) -> tuple[str, list[_Origin]]:
        ancestors = self._ancestors()
        named_blocks: dict[str, list[_NamedBlock]] = {}
        for ancestor in reversed(ancestors):
            _collect_named_blocks(ancestor, ancestor.nodes, named_blocks, set())
        root = ancestors[-1]
        generator = _CodeGenerator(self, named_blocks)
        generator.current = root
        lines = generator.function("_tt_execute", root.nodes, generator.origin(0), "_tt_buffer")
        source: list[str] = []
        origins: list[_Origin] = []
        for indent, code, origin in lines:
            text = "    " * indent + code + "  # " + origin.location()
            source.append(text)
            origins.extend([origin] * (text.count("\n") + 1))
        return "\n".join(source) + "\n", origins

    def _compile(self) -> CodeType:
        try:
            module = compile(self.code, self._filename, "exec", dont_inherit=True)
        except SyntaxError as error:
            origin = self._origin(error.lineno)
            detail = (error.text or "").split("  # ")[0].strip()
            raise ParseError(
                f"invalid Python in template: {error.msg}: {detail}",
                origin.name if origin else self.name,
                origin.line if origin else 0,
            ) from error
        linecache.cache.pop(self._filename, None)
        self.compiled = module
        return next(
            c for c in module.co_consts if isinstance(c, CodeType) and c.co_name == "_tt_execute"
        )

    def _origin(self, lineno: int | None) -> _Origin | None:
        if lineno is not None and 0 < lineno <= len(self._origins):
            return self._origins[lineno - 1]
        return None

    def _annotate(self, error: Exception) -> None:
        """Add a note naming the template line that was running when ``error`` was raised."""
        lineno = None
        traceback = error.__traceback__
        while traceback is not None:
            if traceback.tb_frame.f_code.co_filename == self._filename:
                lineno = traceback.tb_lineno
            traceback = traceback.tb_next
        origin = self._origin(lineno)
        # Another template of the same name may have left its source there.
        linecache.cache.pop(self._filename, None)
        if origin is not None:
            _add_note(error, f"while rendering template {origin.location()}")

    def __repr__(self) -> str:
        return f"<Template {self.name!r}>"


# --------------------------------------------------------------------------
# Loaders


class BaseLoader:
    """Finds, compiles and caches templates by name.

    ``autoescape`` is the default escaping function name for the templates it
    loads (``None`` disables escaping); ``namespace`` adds globals to every
    render; ``whitespace`` overrides the per-extension default mode. A loader is
    needed for ``{% extends %}`` and ``{% include %}``.
    """

    def __init__(
        self,
        autoescape: str | None = _DEFAULT_AUTOESCAPE,
        namespace: dict[str, Any] | None = None,
        whitespace: str | None = None,
    ) -> None:
        self.autoescape = autoescape
        self.namespace = namespace or {}
        self.whitespace = whitespace
        self.templates: dict[str, Template] = {}
        # Reentrant: compiling a template loads the ones it extends or includes.
        self.lock = threading.RLock()
        self._compiling: list[str] = []

    def reset(self) -> None:
        """Forget every compiled template, so the next `load` reads them again."""
        with self.lock:
            self.templates = {}

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Turn ``name``, maybe relative to ``parent_path``, into the cache key."""
        raise NotImplementedError

    def load(self, name: str, parent_path: str | None = None) -> Template:
        """Return the compiled template ``name``, compiling it on first use."""
        name = self.resolve_path(name, parent_path=parent_path)
        with self.lock:
            template = self.templates.get(name)
            if template is not None and not self._is_stale(template):
                return template
            if name in self._compiling:
                chain = " -> ".join([*self._compiling[self._compiling.index(name) :], name])
                raise ParseError(
                    f"templates extend or include each other in a loop: {chain}",
                    parent_path or name,
                    0,
                )
            self._compiling.append(name)
            try:
                template = self.templates[name] = self._create_template(name)
            finally:
                self._compiling.pop()
            return template

    def _create_template(self, name: str) -> Template:
        raise NotImplementedError

    def _is_stale(self, template: Template) -> bool:
        """Whether a cached template must be compiled again (see `Loader` ``reload``)."""
        return False


def _is_relative(name: str, parent_path: str) -> bool:
    """Whether ``name`` is resolved against the directory of ``parent_path``, as in Tornado."""
    return not parent_path.startswith(("<", "/")) and not name.startswith("/")


class Loader(BaseLoader):
    """Loads templates from files under ``root_directory``.

    Names in ``{% include %}``/``{% extends %}`` are relative to the directory
    of the template using them. With ``reload=True`` (for debug mode) every
    `load` checks the modification times of the file and of everything it
    extends or includes, and recompiles what changed.
    """

    def __init__(self, root_directory: str, reload: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = os.path.abspath(root_directory)
        self.reload = reload
        self._mtimes: dict[str, int] = {}
        # Per compiled template: the mtimes of every file its code was built from.
        self._sources: dict[str, dict[str, int | None]] = {}

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        if parent_path and _is_relative(name, parent_path):
            directory = os.path.dirname(os.path.abspath(os.path.join(self.root, parent_path)))
            path = os.path.abspath(os.path.join(directory, name))
            if path.startswith(self.root + os.sep):
                name = path[len(self.root) + 1 :]
        return name

    def _create_template(self, name: str) -> Template:
        path = os.path.join(self.root, name)
        with open(path, "rb") as file:
            self._mtimes[name] = os.fstat(file.fileno()).st_mtime_ns
            text = file.read()
        template = Template(text, name=name, loader=self)
        self._sources[name] = {
            source: self._mtimes.get(source) for source in (name, *template.dependencies)
        }
        return template

    def _is_stale(self, template: Template) -> bool:
        if not self.reload:
            return False
        for name, mtime in self._sources.get(template.name, {}).items():
            try:
                if os.stat(os.path.join(self.root, name)).st_mtime_ns != mtime:
                    return True
            except OSError:
                return True
        return False


class DictLoader(BaseLoader):
    """Loads templates from a dictionary of name to template text (tests, small apps)."""

    def __init__(self, dict: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dict = dict

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        if parent_path and _is_relative(name, parent_path):
            name = posixpath.normpath(posixpath.join(posixpath.dirname(parent_path), name))
        return name

    def _create_template(self, name: str) -> Template:
        return Template(self.dict[name], name=name, loader=self)
