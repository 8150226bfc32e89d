"""Tests for cyclone.locale.mo: our .mo compiler against Python's reader and GNU msgfmt."""

from __future__ import annotations

import gettext
import io
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cyclone.locale.mo import MO_MAGIC, CatalogError, compile_catalogs, compile_entries, write_mo
from cyclone.locale.po import Catalog, Message, read_po

POLISH_PO = """\
# Polish test catalog
#, fuzzy
msgid ""
msgstr ""
"Project-Id-Version: foobar 1.0\\n"
"POT-Creation-Date: 2024-05-10 15:30+0000\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Language: pl\\n"
"Plural-Forms: nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\\n"

#, python-format
msgid "%(n)d file"
msgid_plural "%(n)d files"
msgstr[0] "%(n)d plik"
msgstr[1] "%(n)d pliki"
msgstr[2] "%(n)d plików"

msgid "partly"
msgid_plural "partlies"
msgstr[0] "częściowo"
msgstr[1] ""
msgstr[2] "częściowo (wiele)"

msgid "nothing yet"
msgid_plural "nothing yets"
msgstr[0] ""
msgstr[1] ""
msgstr[2] ""

msgid "send"
msgstr "wyślij"

msgid "untranslated"
msgstr ""

#, fuzzy
msgid "guessed"
msgstr "zgadnięte"

msgctxt "noun"
msgid "post"
msgstr "wpis"

msgctxt "verb"
msgid "post"
msgstr "opublikuj"

msgid ""
"two\\n"
"lines \\"quoted\\" \\t tab"
msgstr ""
"dwie\\n"
"linie „cytat” \\t tab"

#~ msgid "obsolete"
#~ msgstr "przestarzałe"
"""

LATIN1_PO = (
    'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=ISO-8859-1\\n"\n\n'
    'msgid "action"\nmsgstr "ação"\n'
).encode("latin-1")


def _catalog(data: bytes):
    return read_po(io.BytesIO(data))


def _gnu_msgfmt() -> str | None:
    found = shutil.which("msgfmt") or (
        "/usr/bin/msgfmt" if os.path.exists("/usr/bin/msgfmt") else None
    )
    if found is None and os.environ.get("CI") == "true":
        pytest.fail("GNU msgfmt (package 'gettext') is required on CI to check our .mo compiler")
    if found is None:
        pytest.skip("GNU msgfmt not installed (apt-get install gettext); CI runs this")
    return found


def _read_mo_entries(data: bytes) -> dict[bytes, bytes]:
    """Parse a little-endian .mo file into its raw key -> value pairs."""
    magic, _, count, originals, translations = struct.unpack("<5I", data[:20])
    assert magic == MO_MAGIC
    entries = {}
    for index in range(count):
        key_length, key_offset = struct.unpack("<2I", data[originals + 8 * index :][:8])
        value_length, value_offset = struct.unpack("<2I", data[translations + 8 * index :][:8])
        key = data[key_offset : key_offset + key_length]
        entries[key] = data[value_offset : value_offset + value_length]
        assert data[key_offset + key_length] == 0 and data[value_offset + value_length] == 0
    return entries


def test_python_gettext_reads_our_catalog_with_real_plural_forms():
    translations = gettext.GNUTranslations(io.BytesIO(write_mo(_catalog(POLISH_PO.encode()))))
    forms = [translations.ngettext("%(n)d file", "%(n)d files", n) for n in (1, 3, 5, 22, 112)]
    assert forms == ["%(n)d plik", "%(n)d pliki", "%(n)d plików", "%(n)d pliki", "%(n)d plików"]
    assert translations.pgettext("noun", "post") == "wpis"
    assert translations.pgettext("verb", "post") == "opublikuj"
    assert translations.gettext("send") == "wyślij"
    assert translations.gettext("guessed") == "guessed"  # fuzzy entries are left out
    assert translations.gettext("obsolete") == "obsolete"
    assert translations.gettext("untranslated") == "untranslated"
    assert translations.gettext('two\nlines "quoted" \t tab') == "dwie\nlinie „cytat” \t tab"


def test_compiled_entries_follow_msgfmt_rules():
    entries = compile_entries(_catalog(POLISH_PO.encode()))
    assert b"POT-Creation-Date" not in entries[b""]
    assert b"Project-Id-Version: foobar 1.0" in entries[b""]  # fuzzy header still goes in
    assert entries[b"partly\x00partlies"] == "częściowo\x00\x00częściowo (wiele)".encode()
    assert b"nothing yet\x00nothing yets" not in entries
    assert entries[b"noun\x04post"] == b"wpis"


def test_mo_layout_is_sorted_and_offsets_point_at_nul_terminated_strings():
    data = write_mo(_catalog(POLISH_PO.encode()))
    entries = _read_mo_entries(data)
    assert list(entries) == sorted(entries)
    assert entries == compile_entries(_catalog(POLISH_PO.encode()))


def test_catalog_charset_is_used_for_the_binary_strings():
    entries = compile_entries(_catalog(LATIN1_PO))
    assert entries[b"action"] == "ação".encode("latin-1")


@pytest.mark.parametrize("source", [POLISH_PO.encode(), LATIN1_PO], ids=["polish", "latin1"])
def test_gnu_msgfmt_and_our_compiler_produce_equivalent_catalogs(tmp_path: Path, source: bytes):
    msgfmt = _gnu_msgfmt()
    po = tmp_path / "messages.po"
    po.write_bytes(source)
    gnu_mo = tmp_path / "gnu.mo"
    subprocess.run([msgfmt, "-o", str(gnu_mo), str(po)], check=True)
    ours = write_mo(_catalog(source))
    assert _read_mo_entries(ours) == _read_mo_entries(gnu_mo.read_bytes())
    gnu_reader = gettext.GNUTranslations(io.BytesIO(gnu_mo.read_bytes()))
    our_reader = gettext.GNUTranslations(io.BytesIO(ours))
    assert our_reader._catalog == gnu_reader._catalog


def test_gnu_tools_read_our_mo(tmp_path: Path):
    msgunfmt = os.path.join(os.path.dirname(_gnu_msgfmt()), "msgunfmt")
    mo = tmp_path / "ours.mo"
    mo.write_bytes(write_mo(_catalog(POLISH_PO.encode())))
    result = subprocess.run([msgunfmt, str(mo)], check=True, capture_output=True)
    round_trip = read_po(io.BytesIO(result.stdout))
    assert round_trip.find("post", context="verb").strings == ["opublikuj"]
    assert round_trip.find("%(n)d file").strings == ["%(n)d plik", "%(n)d pliki", "%(n)d plików"]


def test_empty_catalog_compiles_to_a_valid_file():
    data = write_mo(_catalog(b""))
    assert len(data) == 28
    assert gettext.GNUTranslations(io.BytesIO(data)).gettext("x") == "x"


def test_compile_catalogs_builds_missing_or_stale_mo_files_only(tmp_path: Path):
    for code in ("pl_PL", "de_DE"):
        directory = tmp_path / code / "LC_MESSAGES"
        directory.mkdir(parents=True)
        (directory / "foobar.po").write_text(POLISH_PO, encoding="utf-8")
    (tmp_path / "de_DE" / "LC_MESSAGES" / "other.po").write_text(POLISH_PO, encoding="utf-8")
    written = compile_catalogs(tmp_path, "foobar")
    assert written == [
        str(tmp_path / "de_DE" / "LC_MESSAGES" / "foobar.mo"),
        str(tmp_path / "pl_PL" / "LC_MESSAGES" / "foobar.mo"),
    ]
    assert not (tmp_path / "de_DE" / "LC_MESSAGES" / "other.mo").exists()
    assert compile_catalogs(tmp_path, "foobar") == []
    po = tmp_path / "pl_PL" / "LC_MESSAGES" / "foobar.po"
    later = os.path.getmtime(po) + 10
    os.utime(po, (later, later))
    assert compile_catalogs(tmp_path, "foobar") == [str(po.with_suffix(".mo"))]


def test_compile_catalogs_reports_a_bad_catalog_with_its_path(tmp_path: Path):
    directory = tmp_path / "ru_RU" / "LC_MESSAGES"
    directory.mkdir(parents=True)
    broken = POLISH_PO.replace('msgstr[2] "%(n)d plików"\n', "")
    (directory / "cyclone.po").write_text(broken, encoding="utf-8")
    with pytest.raises(CatalogError, match=r"cyclone\.po: '%\(n\)d file' has 2 plural forms"):
        compile_catalogs(tmp_path)


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\x04"))


@given(st.dictionaries(_TEXT.filter(bool), _TEXT.filter(bool), max_size=8))
def test_python_gettext_reads_back_any_compiled_text(translations):
    header = Message(id="", strings=["Content-Type: text/plain; charset=UTF-8\n"])
    messages = [Message(id=key, strings=[value]) for key, value in translations.items()]
    compiled = write_mo(Catalog(messages=[header, *messages]))
    reader = gettext.GNUTranslations(io.BytesIO(compiled))
    assert {key: reader.gettext(key) for key in translations} == translations
