"""Compile gettext catalogs to the binary ``.mo`` format, without GNU msgfmt.

    >>> import io, gettext
    >>> from cyclone.locale.po import read_po
    >>> from cyclone.locale.mo import write_mo
    >>> catalog = read_po(io.BytesIO(b'msgid "send"\\nmsgstr "enviar"\\n'))
    >>> gettext.GNUTranslations(io.BytesIO(write_mo(catalog))).gettext("send")
    'enviar'

What goes in follows GNU msgfmt: the header (without ``POT-Creation-Date``),
and every entry that is neither fuzzy, obsolete nor untranslated.  Keys are ``context\\x04msgid`` for
``msgctxt`` entries and ``msgid\\x00msgid_plural`` for plural ones; plural
translations are joined with NUL.  The file layout is the one in
``info gettext "MO Files"``: a 28-byte little-endian header, two tables of
(length, offset) pairs sorted by original string, then the strings, each
NUL-terminated.  No hash table is written (its size is 0), which every
gettext reader accepts by falling back to binary search.
"""

from __future__ import annotations

import gettext
import os
import re
import struct

from cyclone.locale.po import Catalog, Message, read_po

__all__ = [
    "MO_MAGIC",
    "CatalogError",
    "check_catalog",
    "compile_catalogs",
    "compile_entries",
    "compile_po_file",
    "write_mo",
]

MO_MAGIC = 0x950412DE
_HEADER_SIZE = 7 * 4  # magic, revision, count, originals, translations, hash size, hash offset


def compile_entries(catalog: Catalog) -> dict[bytes, bytes]:
    """Return the ``.mo`` key -> value pairs a catalog compiles to, encoded in its charset."""
    encoding = catalog.charset
    entries: dict[bytes, bytes] = {}
    for message in catalog.messages:
        if message.obsolete or not _should_compile(message):
            continue
        key = message.id
        if message.id_plural is not None:
            key += "\x00" + message.id_plural
        if message.context is not None:
            key = message.context + "\x04" + key
        value = "\x00".join(message.strings)
        if key == "":
            value = _strip_creation_date(value)
        entries[key.encode(encoding)] = value.encode(encoding)
    return entries


def _should_compile(message: Message) -> bool:
    if message.id == "" and message.context is None:
        return bool(message.strings and message.strings[0])  # the header, even when fuzzy
    return message.translated


def _strip_creation_date(header: str) -> str:
    """Drop ``POT-Creation-Date`` as msgfmt does, so rebuilding from the same .po is byte-stable."""
    lines = header.splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("POT-Creation-Date:"))


def write_mo(catalog: Catalog) -> bytes:
    """Serialise a catalog's translated entries as a little-endian ``.mo`` file."""
    entries = sorted(compile_entries(catalog).items())
    count = len(entries)
    originals_offset = _HEADER_SIZE
    translations_offset = originals_offset + 8 * count
    data_offset = translations_offset + 8 * count
    originals_table: list[int] = []
    translations_table: list[int] = []
    data = bytearray()
    for key, _ in entries:
        originals_table += [len(key), data_offset + len(data)]
        data += key + b"\x00"
    for _, value in entries:
        translations_table += [len(value), data_offset + len(data)]
        data += value + b"\x00"
    header = struct.pack(
        "<7I", MO_MAGIC, 0, count, originals_offset, translations_offset, 0, data_offset
    )
    tables = struct.pack(f"<{4 * count}I", *originals_table, *translations_table)
    return header + tables + bytes(data)


class CatalogError(ValueError):
    """A catalog gettext would misread; the message names the file and the entry."""


def check_catalog(catalog: Catalog, path: str = "<catalog>") -> None:
    """Refuse what msgfmt refuses: a bad ``Plural-Forms``, a wrong number of ``msgstr[N]``."""
    plural_entries = [m for m in catalog.messages if m.id_plural is not None and m.translated]
    if not plural_entries:
        return
    plural_forms = catalog.header.get("Plural-Forms")
    if plural_forms is None:
        raise CatalogError(f"{path}: plural messages but no Plural-Forms header")
    match = re.search(r"plural\s*=\s*([^;]*)", plural_forms)
    try:
        if match is None:
            raise ValueError(plural_forms)
        gettext.c2py(match.group(1))
    except (ValueError, SyntaxError) as error:
        raise CatalogError(
            f"{path}: invalid Plural-Forms {plural_forms!r} (run 'init' for a language's rule)"
        ) from error
    nplurals = catalog.nplurals
    for message in plural_entries:
        if len(message.strings) != nplurals:
            raise CatalogError(
                f"{path}: {message.id!r} has {len(message.strings)} plural forms,"
                f" Plural-Forms says {nplurals}"
            )


def compile_po_file(po_path: str, mo_path: str) -> tuple[int, int]:
    """Check and compile one ``.po`` file; return (translated, total) message counts.

    Raises PoSyntaxError or CatalogError (naming the file) for a bad catalog.
    """
    with open(po_path, "rb") as stream:
        catalog = read_po(stream, po_path)
    check_catalog(catalog, po_path)
    data = write_mo(catalog)
    directory = os.path.dirname(mo_path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(mo_path, "wb") as stream:
        stream.write(data)
    messages = [message for message in catalog.messages if message.id and not message.obsolete]
    return sum(message.translated for message in messages), len(messages)


def compile_catalogs(directory: str | os.PathLike[str], domain: str = "cyclone") -> list[str]:
    """Compile each ``<directory>/<lang>/LC_MESSAGES/<domain>.po`` next to itself as ``.mo``.

    Meant for application start-up, so only ``.po`` files are kept in version
    control: a ``.mo`` newer than its ``.po`` is left alone.  Returns the
    paths written.
    """
    written = []
    for code in sorted(os.listdir(directory)):
        po_path = os.path.join(directory, code, "LC_MESSAGES", domain + ".po")
        if not os.path.isfile(po_path):
            continue
        mo_path = po_path[:-3] + ".mo"
        if os.path.exists(mo_path) and os.path.getmtime(mo_path) >= os.path.getmtime(po_path):
            continue
        compile_po_file(po_path, mo_path)
        written.append(mo_path)
    return written
