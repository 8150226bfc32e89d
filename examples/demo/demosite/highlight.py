"""Python source as escaped HTML with <span class="..."> around tokens, for the code panels.

    >>> highlight_python("def f(): return 'x'  # hi")
    '<span class="kw">def</span> <span class="fn">f</span>(): <span class="kw">return</span> <span class="st">&#x27;x&#x27;</span>  <span class="co"># hi</span>'

The standard library's tokenizer does the work; the CSS classes (``kw``, ``fn``,
``st``, ``nu``, ``co``, ``de``) are styled in static/demo.css.
"""

from __future__ import annotations

import html
import io
import keyword
import token
import tokenize

_BUILTIN_CONSTANTS = {"True", "False", "None", "self", "cls"}
# Python 3.12 splits f-strings into several tokens.
_STRING_TOKENS = {token.STRING} | {
    getattr(token, name)
    for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
    if hasattr(token, name)
}


def highlight_python(source: str) -> str:
    """Escape ``source`` for HTML and mark keywords, names being defined, strings, numbers,
    comments and decorators."""
    lines = source.splitlines(keepends=True)
    # (row, column) -> offset into source, to copy the text between tokens as it is.
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    out: list[str] = []
    position = 0
    previous = ""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return html.escape(source)
    for tok in tokens:
        if tok.type in (token.ENDMARKER, token.DEDENT, token.INDENT):
            continue
        start = starts[tok.start[0] - 1] + tok.start[1]
        end = starts[tok.end[0] - 1] + tok.end[1]
        out.append(html.escape(source[position:start]))
        text = html.escape(source[start:end])
        css = _css_class(tok, previous)
        out.append(f'<span class="{css}">{text}</span>' if css else text)
        position = end
        if tok.type not in (token.NL, token.NEWLINE, token.COMMENT):
            previous = tok.string
    out.append(html.escape(source[position:]))
    return "".join(out)


def _css_class(tok: tokenize.TokenInfo, previous: str) -> str:
    if tok.type == token.NAME:
        if previous in ("def", "class"):
            return "fn"
        if keyword.iskeyword(tok.string) or tok.string in _BUILTIN_CONSTANTS:
            return "kw"
        if previous == "@":
            return "de"
        return ""
    if tok.type in _STRING_TOKENS:
        return "st"
    if tok.type == token.NUMBER:
        return "nu"
    if tok.type == token.COMMENT:
        return "co"
    if tok.type == token.OP and tok.string == "@":
        return "de"
    return ""
