"""Tests for cyclone.locale.po: reading and writing PO files."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cyclone.locale.po import Catalog, Message, PoSyntaxError, read_po, write_po

SAMPLE = """\
# Portuguese translations for foobar.
# Copyright nobody.
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\\n"

# a translator note
#. TRANSLATORS: the submit button
#: template/index.html:3 foobar.tac:12
#, python-format, fuzzy
#| msgid "sent"
msgid "send %s"
msgstr "enviar %s"

msgctxt "noun"
msgid ""
"line one\\n"
"line two"
msgid_plural "lines"
msgstr[0] "linha \\"um\\"\\t\\\\"
msgstr[1] "linhas"
msgid "no blank line before me"
msgstr "ok"

#~ msgid "old"
#~ msgstr "velho"
"""


def _read(text: str | bytes) -> Catalog:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_po(io.BytesIO(data), "sample.po")


def test_reads_every_kind_of_entry_and_comment():
    catalog = _read(SAMPLE)
    assert catalog.header_comments == ["Portuguese translations for foobar.", "Copyright nobody."]
    assert catalog.header["Plural-Forms"] == "nplurals=2; plural=(n > 1);"
    assert catalog.charset == "UTF-8"
    assert catalog.nplurals == 2
    send = catalog.find("send %s")
    assert send == Message(
        id="send %s",
        strings=["enviar %s"],
        locations=[("template/index.html", 3), ("foobar.tac", 12)],
        flags=["python-format", "fuzzy"],
        auto_comments=["TRANSLATORS: the submit button"],
        user_comments=["a translator note"],
        previous=['msgid "sent"'],
    )
    assert send.fuzzy and not send.translated
    lines = catalog.find("line one\nline two", context="noun")
    assert lines.id_plural == "lines"
    assert lines.strings == ['linha "um"\t\\', "linhas"]
    assert catalog.find("line one\nline two") is None
    assert catalog.find("no blank line before me").strings == ["ok"]
    assert catalog.find("old") is None
    assert [m.id for m in catalog if m.obsolete] == ["old"]


def test_write_then_read_gives_the_same_catalog():
    catalog = _read(SAMPLE)
    assert _read(write_po(catalog)) == catalog


def test_writes_multiline_strings_the_way_gettext_tools_do():
    catalog = Catalog(messages=[Message(id="a\nb", strings=["x"])])
    assert write_po(catalog).decode() == 'msgid ""\n"a\\n"\n"b"\nmsgstr "x"\n'


def test_obsolete_entries_are_written_commented_out():
    catalog = Catalog(messages=[Message(id="old", strings=["velho"], obsolete=True)])
    assert write_po(catalog).decode() == '#~ msgid "old"\n#~ msgstr "velho"\n'


def test_decodes_with_the_charset_the_header_names():
    text = (
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=ISO-8859-1\\n"\n\n'
        'msgid "action"\nmsgstr "ação"\n'
    )
    catalog = _read(text.encode("latin-1"))
    assert catalog.find("action").strings == ["ação"]
    assert write_po(catalog) == text.encode("latin-1")


def test_octal_and_hex_escapes_are_decoded():
    assert _read('msgid "a\\101\\x42"\nmsgstr ""\n').messages[0].id == "aAB"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('msgid "a"\nmsgstr "b\n', "sample.po:2: expected a quoted string"),
        ('msgid "a"\nmsgfoo "b"\n', "sample.po:2: unknown keyword 'msgfoo'"),
        ('"dangling"\n', "sample.po:1: string outside of an entry"),
        ('msgid "a"\nmsgid "b"\nmsgstr ""\n', "sample.po:2: msgid without msgstr"),
        ('msgid "a"\n\n', "entry 'a' has no msgstr"),
        ('msgid "a"\nmsgid_plural "b"\nmsgstr[1] ""\n', "needs msgstr"),
        ('msgid "a\\q"\nmsgstr ""\n', "invalid escape sequence"),
        ('msgstr "x"\n', "entry without msgid"),
    ],
)
def test_malformed_files_name_the_line_and_the_problem(text, complaint):
    with pytest.raises(PoSyntaxError, match=complaint.replace("(", r"\(")):
        _read(text)


def test_undecodable_file_is_a_syntax_error_naming_the_charset():
    with pytest.raises(PoSyntaxError, match="cannot decode as utf-8"):
        _read(b'msgid "\xff"\nmsgstr ""\n')


def test_template_charset_placeholder_reads_as_utf8():
    catalog = _read('msgid ""\nmsgstr "Content-Type: text/plain; charset=CHARSET\\n"\n')
    assert catalog.charset == "utf-8"
    assert catalog.nplurals == 2


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1)
_MESSAGES = st.builds(
    Message,
    id=_TEXT,
    id_plural=st.none() | _TEXT,
    context=st.none() | st.text(st.characters(blacklist_categories=("Cs",))),
    strings=st.lists(st.text(st.characters(blacklist_categories=("Cs",))), min_size=2, max_size=4),
)


@given(st.lists(_MESSAGES, max_size=5, unique_by=lambda message: message.key))
def test_any_text_survives_a_write_and_read(messages):
    for message in messages:
        if message.id_plural is None:
            message.strings = message.strings[:1]
    catalog = Catalog(messages=messages)
    assert _read(write_po(catalog)).messages == messages
