"""Read and write gettext PO/POT files.

    >>> import io
    >>> from cyclone.locale.po import read_po, write_po
    >>> catalog = read_po(io.BytesIO(b'msgid "send"\\nmsgstr "enviar"\\n'))
    >>> catalog.find("send").strings
    ['enviar']
    >>> print(write_po(catalog).decode().strip())
    msgid "send"
    msgstr "enviar"

The format is GNU gettext's (``info gettext "PO Files"``): entries of
``msgctxt``/``msgid``/``msgid_plural``/``msgstr[N]`` keywords, each followed by
C-escaped strings that concatenate, with ``#.`` extracted comments, ``#:``
references, ``#,`` flags and ``#~`` obsolete entries.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["Catalog", "Message", "PoSyntaxError", "read_po", "write_po"]

_CHARSET = re.compile(rb"charset=([A-Za-z0-9_.:-]+)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v", "?": "?", "'": "'"}  # fmt: skip
_UNESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a",
              "\b": "\\b", "\f": "\\f", "\v": "\\v"}  # fmt: skip
_ESCAPE_SEQUENCE = re.compile(r"\\([0-7]{1,3}|x[0-9A-Fa-f]+|.)", re.DOTALL)


class PoSyntaxError(ValueError):
    """A PO file that cannot be parsed; the message names the file position."""


@dataclasses.dataclass
class Message:
    """One catalog entry; ``strings`` holds ``msgstr`` (or ``msgstr[0..n]`` for plurals)."""

    id: str
    id_plural: str | None = None
    context: str | None = None
    strings: list[str] = dataclasses.field(default_factory=list)
    locations: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    flags: list[str] = dataclasses.field(default_factory=list)
    auto_comments: list[str] = dataclasses.field(default_factory=list)
    user_comments: list[str] = dataclasses.field(default_factory=list)
    previous: list[str] = dataclasses.field(default_factory=list)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        """What identifies the entry in a catalog: its context and msgid."""
        return (self.context, self.id)

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        """True when msgfmt would put it in a ``.mo``: not fuzzy and some string filled in."""
        return not self.fuzzy and not self.obsolete and any(self.strings)


@dataclasses.dataclass
class Catalog:
    """An ordered collection of messages; the header is the entry with an empty msgid."""

    messages: list[Message] = dataclasses.field(default_factory=list)
    header_comments: list[str] = dataclasses.field(default_factory=list)

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    def find(self, message_id: str, context: str | None = None) -> Message | None:
        """Return the live (not obsolete) entry for ``message_id`` in ``context``."""
        for message in self.messages:
            if message.key == (context, message_id) and not message.obsolete:
                return message
        return None

    @property
    def header(self) -> dict[str, str]:
        """The header entry's ``Name: value`` fields."""
        entry = self.find("")
        fields: dict[str, str] = {}
        if entry is not None and entry.strings:
            for line in entry.strings[0].splitlines():
                name, separator, value = line.partition(":")
                if separator:
                    fields[name.strip()] = value.strip()
        return fields

    @property
    def charset(self) -> str:
        """The encoding named in ``Content-Type``; UTF-8 for a template's ``CHARSET``."""
        match = re.search(r"charset=([A-Za-z0-9_.:-]+)", self.header.get("Content-Type", ""))
        if not match or match.group(1).upper() == "CHARSET":
            return "utf-8"
        return match.group(1)

    @property
    def nplurals(self) -> int:
        """How many plural forms the header's ``Plural-Forms`` declares (2 if none)."""
        match = re.search(r"nplurals\s*=\s*(\d+)", self.header.get("Plural-Forms", ""))
        return int(match.group(1)) if match else 2


def _unescape(text: str, where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        sequence = match.group(1)
        if sequence[0] in "01234567":
            return chr(int(sequence, 8))
        if sequence[0] == "x" and len(sequence) > 1:
            return chr(int(sequence[1:], 16))
        if sequence in _ESCAPES:
            return _ESCAPES[sequence]
        raise PoSyntaxError(f"{where}: invalid escape sequence \\{sequence}")

    return _ESCAPE_SEQUENCE.sub(replace, text)


def _parse_string(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise PoSyntaxError(f"{where}: expected a quoted string, got {text!r}")
    return _unescape(text[1:-1], where)


def read_po(stream: BinaryIO, filename: str = "<po>") -> Catalog:
    """Parse a PO or POT file, decoding it with the charset its header names."""
    raw = stream.read()
    match = _CHARSET.search(raw)
    encoding = "utf-8"
    if match and match.group(1).upper() != b"CHARSET":
        encoding = match.group(1).decode("ascii")
    try:
        text = raw.decode(encoding)
    except (LookupError, UnicodeDecodeError) as error:
        raise PoSyntaxError(f"{filename}: cannot decode as {encoding}: {error}") from error
    if text.startswith("\ufeff"):
        text = text[1:]
    # Only \n ends a line: str.splitlines() would also split on \x0c, \x85, \u2028...
    return _Parser(filename).parse([line.rstrip("\r") for line in text.split("\n")])


class _Parser:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.catalog = Catalog()
        self._reset()

    def _reset(self) -> None:
        self.comments: dict[str, list[str]] = {"#.": [], "#:": [], "#,": [], "#": [], "#|": []}
        self.fields: dict[str, str] = {}
        self.current: str | None = None
        self.obsolete = False
        self.seen_keyword = False

    def parse(self, lines: list[str]) -> Catalog:
        for number, line in enumerate(lines, 1):
            where = f"{self.filename}:{number}"
            line = line.strip()
            obsolete = line.startswith("#~")
            if obsolete:
                line = line[2:].strip()
                if line.startswith("|"):
                    continue  # previous msgid of an obsolete entry
            if not line:
                if self.seen_keyword:
                    self._finish(where)
                continue
            if line.startswith("#") and not obsolete:
                if self.seen_keyword:
                    self._finish(where)
                self._comment(line)
            elif line.startswith('"'):
                if self.current is None:
                    raise PoSyntaxError(f"{where}: string outside of an entry")
                self.fields[self.current] += _parse_string(line, where)
            else:
                self._keyword(line, where, obsolete)
        if self.seen_keyword:
            self._finish(f"{self.filename}:end")
        return self.catalog

    def _comment(self, line: str) -> None:
        kind = line[:2] if line[1:2] in (".", ":", ",", "|") else "#"
        content = line[len(kind) :]
        if kind == "#,":
            self.comments[kind].extend(flag.strip() for flag in content.split(",") if flag.strip())
        elif kind == "#:":
            self.comments[kind].extend(content.split())
        else:
            self.comments[kind].append(content[1:] if content.startswith(" ") else content)

    def _keyword(self, line: str, where: str, obsolete: bool) -> None:
        keyword, _, rest = line.partition(" ")
        if keyword not in ("msgctxt", "msgid", "msgid_plural", "msgstr") and not re.fullmatch(
            r"msgstr\[\d+\]", keyword
        ):
            raise PoSyntaxError(f"{where}: unknown keyword {keyword!r}")
        if keyword in ("msgctxt", "msgid") and (
            "msgstr" in self.fields or any(k.startswith("msgstr[") for k in self.fields)
        ):
            self._finish(where)  # a new entry starts without a blank line
        if keyword == "msgid" and "msgid" in self.fields:
            raise PoSyntaxError(f"{where}: msgid without msgstr")
        if keyword in self.fields:
            raise PoSyntaxError(f"{where}: duplicate {keyword}")
        self.fields[keyword] = _parse_string(rest, where)
        self.current = keyword
        self.obsolete = obsolete
        self.seen_keyword = True

    def _finish(self, where: str) -> None:
        fields = self.fields
        if "msgid" not in fields:
            raise PoSyntaxError(f"{where}: entry without msgid")
        if "msgid_plural" in fields:
            indexes = sorted(int(k[7:-1]) for k in fields if k.startswith("msgstr["))
            if indexes != list(range(len(indexes))) or not indexes:
                raise PoSyntaxError(
                    f"{where}: plural entry {fields['msgid']!r} needs msgstr[0..n]"
                )
            strings = [fields[f"msgstr[{index}]"] for index in indexes]
        else:
            if "msgstr" not in fields:
                raise PoSyntaxError(f"{where}: entry {fields['msgid']!r} has no msgstr")
            strings = [fields["msgstr"]]
        locations = []
        for reference in self.comments["#:"]:
            path, _, line = reference.rpartition(":")
            if path and line.isdigit():
                locations.append((path, int(line)))
            else:
                locations.append((reference, 0))
        message = Message(
            id=fields["msgid"],
            id_plural=fields.get("msgid_plural"),
            context=fields.get("msgctxt"),
            strings=strings,
            locations=locations,
            flags=self.comments["#,"],
            auto_comments=self.comments["#."],
            user_comments=self.comments["#"],
            previous=self.comments["#|"],
            obsolete=self.obsolete,
        )
        if message.id == "" and message.context is None and not self.catalog.messages:
            self.catalog.header_comments = message.user_comments
            message.user_comments = []
        self.catalog.messages.append(message)
        self._reset()


def _escape_character(char: str) -> str:
    if char in _UNESCAPES:
        return _UNESCAPES[char]
    if char < " " or char == "\x7f":
        return f"\\{ord(char):03o}"
    return char


def _quote(text: str) -> str:
    return '"' + "".join(_escape_character(char) for char in text) + '"'


def _format_field(keyword: str, text: str, prefix: str) -> list[str]:
    """One keyword line; multi-line strings start with ``""`` and break after each newline."""
    pieces = [piece + "\n" for piece in text.split("\n")]
    pieces[-1] = pieces[-1][:-1]
    if not pieces[-1]:
        pieces.pop()
    if len(pieces) <= 1:
        return [f"{prefix}{keyword} {_quote(text)}"]
    return [f'{prefix}{keyword} ""'] + [f"{prefix}{_quote(piece)}" for piece in pieces]


def write_po(catalog: Catalog, *, omit_locations: bool = False) -> bytes:
    """Serialise a catalog as PO text, encoded with the charset of its header."""
    lines: list[str] = [f"# {comment}".rstrip() for comment in catalog.header_comments]
    for index, message in enumerate(catalog.messages):
        prefix = "#~ " if message.obsolete else ""
        if index:
            lines.append("")
        lines.extend(f"# {comment}".rstrip() for comment in message.user_comments)
        lines.extend(f"#. {comment}".rstrip() for comment in message.auto_comments)
        if message.locations and not omit_locations and not message.obsolete:
            lines.append("#: " + " ".join(f"{path}:{line}" for path, line in message.locations))
        if message.flags:
            lines.append("#, " + ", ".join(message.flags))
        lines.extend(f"#| {previous}" for previous in message.previous)
        if message.context is not None:
            lines.extend(_format_field("msgctxt", message.context, prefix))
        lines.extend(_format_field("msgid", message.id, prefix))
        if message.id_plural is not None:
            lines.extend(_format_field("msgid_plural", message.id_plural, prefix))
            for index, string in enumerate(message.strings):
                lines.extend(_format_field(f"msgstr[{index}]", string, prefix))
        else:
            lines.extend(
                _format_field("msgstr", message.strings[0] if message.strings else "", prefix)
            )
    return ("\n".join(lines) + "\n").encode(catalog.charset)
