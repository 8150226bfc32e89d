"""Tests for ``python -m cyclone.locale``: extract, init, update, compile, end to end."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import cyclone.locale
from cyclone.locale import Locale
from cyclone.locale.__main__ import main
from cyclone.locale.po import Catalog, read_po, write_po

FOOBAR_TAC = textwrap.dedent(
    """\
    # coding: utf-8
    # twisted application: foobar.tac
    import cyclone.web
    import cyclone.locale


    class BaseHandler(cyclone.web.RequestHandler):
        def get_user_locale(self):
            return cyclone.locale.get(self.get_cookie("lang"))


    class IndexHandler(BaseHandler):
        def get(self):
            self.render("index.html")

        def post(self):
            _ = self.locale.translate
            name = self.get_argument("name")
            # TRANSLATORS: %s is the name the visitor typed
            self.write(_("the name is: %s") % name)
            count = len(name)
            self.write(_("%(count)d letter", "%(count)d letters", count) % {"count": count})
    """
)

INDEX_HTML = textwrap.dedent(
    """\
    <html>
    <body>
      <form action="/" method="post">
        <p>{{ _("write someone's name:") }}</p>
        <input type="text" name="name">
        <input type="submit" value="{{ _('send') }}">
      </form>
      <p>{{ _("change language:") }}</p>
      <p>{{ _("%(count)d visitor", "%(count)d visitors", visitors) % {"count": visitors} }}</p>
      <p>{{ pgettext("menu", "Home") }}</p>
    </body>
    </html>
    """
)

TRANSLATIONS = {
    "pt_BR": {
        "the name is: %s": ["o nome é: %s"],
        "%(count)d letter": ["%(count)d letra", "%(count)d letras"],
        "write someone's name:": ["escreva o nome de alguém:"],
        "send": ["enviar"],
        "change language:": ["mudar idioma:"],
        "%(count)d visitor": ["%(count)d visitante", "%(count)d visitantes"],
        "Home": ["Início"],
    },
    "es_ES": {
        "the name is: %s": ["el nombre es: %s"],
        "%(count)d letter": ["%(count)d letra", "%(count)d letras"],
        "write someone's name:": ["escriba el nombre de alguien:"],
        "send": ["enviar"],
        "change language:": ["cambiar idioma:"],
        "%(count)d visitor": ["%(count)d visitante", "%(count)d visitantes"],
        "Home": ["Inicio"],
    },
    "en_US": {},
}


@pytest.fixture(autouse=True)
def _restore_locale_state():
    saved = (
        cyclone.locale._translations,
        cyclone.locale._default_locale,
        cyclone.locale._supported_locales,
    )
    Locale._cache.clear()
    yield
    (
        cyclone.locale._translations,
        cyclone.locale._default_locale,
        cyclone.locale._supported_locales,
    ) = saved
    Locale._cache.clear()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "template").mkdir()
    (tmp_path / "foobar.tac").write_text(FOOBAR_TAC, encoding="utf-8")
    (tmp_path / "template" / "index.html").write_text(INDEX_HTML, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the real command line, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "cyclone.locale", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )


def _read(path: Path | str) -> Catalog:
    with open(path, "rb") as stream:
        return read_po(stream, str(path))


def _fill(path: Path, translations: dict[str, list[str]]) -> None:
    catalog = _read(path)
    for message in catalog.messages:
        if message.id in translations:
            message.strings = list(translations[message.id])
    path.write_bytes(write_po(catalog))


def test_seed_workflow_extract_translate_compile_load_and_translate(project: Path):
    extracted = _cli("extract", "-o", "foobar.pot", "foobar.tac", "template")
    assert extracted.returncode == 0, extracted.stderr
    assert "extracted 7 messages" in extracted.stderr
    template = _read(project / "foobar.pot")
    assert [(m.context, m.id, m.id_plural) for m in template.messages[1:]] == [
        (None, "the name is: %s", None),
        (None, "%(count)d letter", "%(count)d letters"),
        (None, "write someone's name:", None),
        (None, "send", None),
        (None, "change language:", None),
        (None, "%(count)d visitor", "%(count)d visitors"),
        ("menu", "Home", None),
    ]
    name_message = template.find("the name is: %s")
    assert name_message.locations == [("foobar.tac", 20)]
    assert name_message.auto_comments == ["TRANSLATORS: %s is the name the visitor typed"]
    assert "python-format" in name_message.flags
    assert template.find("send").locations == [("template/index.html", 6)]

    for code, translations in TRANSLATIONS.items():
        created = _cli("init", "-i", "foobar.pot", "-d", "locale", "-D", "foobar", "-l", code)
        assert created.returncode == 0, created.stderr
        _fill(project / "locale" / code / "LC_MESSAGES" / "foobar.po", translations)
    compiled = _cli("compile", "-d", "locale", "-D", "foobar")
    assert compiled.returncode == 0, compiled.stderr
    assert "(7/7 translated)" in compiled.stderr and "(0/7 translated)" in compiled.stderr
    assert (project / "locale" / "pt_BR" / "LC_MESSAGES" / "foobar.mo").is_file()

    cyclone.locale.load_gettext_translations("./locale", "foobar")
    assert cyclone.locale.get_supported_locales() == {"en_US", "pt_BR", "es_ES"}
    brazil = cyclone.locale.get("pt-br")
    _ = brazil.translate
    assert _("the name is: %s") % "Ana" == "o nome é: Ana"
    assert _("%(count)d visitor", "%(count)d visitors", 1) % {"count": 1} == "1 visitante"
    assert _("%(count)d visitor", "%(count)d visitors", 0) % {"count": 0} == "0 visitante"
    assert _("%(count)d visitor", "%(count)d visitors", 2) % {"count": 2} == "2 visitantes"
    assert brazil.pgettext("menu", "Home") == "Início"
    spain = cyclone.locale.get("es")
    assert spain.translate("%(count)d letter", "%(count)d letters", 0) == "%(count)d letras"
    assert spain.translate("send") == "enviar"
    english = cyclone.locale.get("en_US")
    assert english.translate("%(count)d letter", "%(count)d letters", 1) == "%(count)d letter"


def test_gnu_gettext_tools_accept_the_files_we_write(project: Path):
    msgfmt = shutil.which("msgfmt") or "/usr/bin/msgfmt"
    if not os.path.exists(msgfmt):
        if os.environ.get("CI") == "true":
            pytest.fail("GNU msgfmt (package 'gettext') is required on CI")
        pytest.skip("GNU msgfmt not installed (apt-get install gettext); CI runs this")
    assert main(["extract", "-o", "foobar.pot", "."]) == 0
    for code, translations in TRANSLATIONS.items():
        assert main(["init", "-i", "foobar.pot", "-d", "locale", "-l", code]) == 0
        po = project / "locale" / code / "LC_MESSAGES" / "cyclone.po"
        _fill(po, translations)
        checked = subprocess.run(
            [msgfmt, "--check", "-o", os.devnull, str(po)], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr


def test_init_writes_the_languages_plural_rule_and_enough_plural_slots(project: Path):
    assert main(["extract", "-o", "foobar.pot", "."]) == 0
    assert main(["init", "-i", "foobar.pot", "-d", "locale", "-l", "pl_PL"]) == 0
    polish = _read(project / "locale" / "pl_PL" / "LC_MESSAGES" / "cyclone.po")
    assert polish.header["Language"] == "pl_PL"
    assert polish.nplurals == 3
    assert polish.find("%(count)d visitor").strings == ["", "", ""]
    assert not polish.find("").fuzzy


def test_init_refuses_to_overwrite_a_translation(project: Path, capsys):
    main(["extract", "-o", "foobar.pot", "."])
    assert main(["init", "-i", "foobar.pot", "-l", "pt_BR"]) == 0
    assert main(["init", "-i", "foobar.pot", "-l", "pt_BR"]) == 1
    assert "use 'update'" in capsys.readouterr().err


def test_update_keeps_translations_adds_new_messages_and_obsoletes_removed_ones(project: Path):
    main(["extract", "-o", "foobar.pot", "."])
    main(["init", "-i", "foobar.pot", "-d", "locale", "-l", "pt_BR"])
    po = project / "locale" / "pt_BR" / "LC_MESSAGES" / "cyclone.po"
    _fill(po, TRANSLATIONS["pt_BR"])
    html = INDEX_HTML.replace("{{ _('send') }}", "{{ _('submit') }}")
    (project / "template" / "index.html").write_text(html, encoding="utf-8")
    main(["extract", "-o", "foobar.pot", "."])
    assert main(["update", "-i", "foobar.pot", "-d", "locale"]) == 0
    updated = _read(po)
    assert updated.find("change language:").strings == ["mudar idioma:"]
    assert updated.find("%(count)d visitor").strings == [
        "%(count)d visitante",
        "%(count)d visitantes",
    ]
    assert updated.find("submit").strings == [""]
    assert updated.find("send") is None
    assert [(m.id, m.strings) for m in updated if m.obsolete] == [("send", ["enviar"])]
    assert updated.header["Plural-Forms"] == "nplurals=2; plural=(n > 1);"


def test_compile_single_file_with_output(project: Path, capsys):
    po = project / "one.po"
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "a"\nmsgstr "b"\n',
        encoding="utf-8",
    )
    assert main(["compile", "-i", "one.po", "-o", "out/one.mo"]) == 0
    assert (project / "out" / "one.mo").is_file()


def test_compile_refuses_a_template_plural_placeholder(project: Path, capsys):
    main(["extract", "-o", "foobar.pot", "."])
    catalog = _read(project / "foobar.pot")
    for message in catalog.messages[1:]:
        message.strings = ["x"] * len(message.strings)
    os.makedirs("locale/pt_BR/LC_MESSAGES")
    Path("locale/pt_BR/LC_MESSAGES/cyclone.po").write_bytes(write_po(catalog))
    assert main(["compile"]) == 1
    assert "invalid Plural-Forms 'nplurals=INTEGER; plural=EXPRESSION;'" in capsys.readouterr().err


def test_compile_refuses_a_wrong_number_of_plural_forms(project: Path, capsys):
    main(["extract", "-o", "foobar.pot", "."])
    main(["init", "-i", "foobar.pot", "-l", "ru_RU"])
    _fill(Path("locale/ru_RU/LC_MESSAGES/cyclone.po"), {"%(count)d visitor": ["a", "b"]})
    assert main(["compile", "-l", "ru_RU"]) == 1
    assert "'%(count)d visitor' has 2 plural forms, Plural-Forms says 3" in capsys.readouterr().err


def test_errors_are_one_line_with_the_offending_path(project: Path, capsys):
    assert main(["extract", "-o", "x.pot", "missing.py"]) == 1
    assert "no such file or directory: 'missing.py'" in capsys.readouterr().err
    assert main(["compile", "-d", "nowhere"]) == 1
    assert "no such directory: 'nowhere'" in capsys.readouterr().err
    Path("bad.py").write_text("def (:\n")
    assert main(["extract", "-o", "x.pot", "bad.py"]) == 1
    assert "bad.py:1: cannot parse Python" in capsys.readouterr().err
    Path("bad.po").write_text('msgid "a"\nmsgstr "b\n')
    assert main(["compile", "-i", "bad.po"]) == 1
    assert "bad.po:2: expected a quoted string" in capsys.readouterr().err


def test_extract_to_stdout_with_extra_keywords_and_template_extensions(project: Path):
    (project / "template" / "mail.jinja").write_text('{{ lazy_gettext("hi") }}', encoding="utf-8")
    (project / "template" / "ignored.css").write_text('{{ _("not a template") }}')
    result = _cli(
        "extract", "-o", "-", "-k", "lazy_gettext", "--template-ext", ".jinja",
        "--no-location", "template",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    catalog = read_po(io.BytesIO(result.stdout.encode("utf-8")))
    ids = [message.id for message in catalog.messages]
    assert "hi" in ids and "send" in ids and "not a template" not in ids
    assert "#:" not in result.stdout
