"""Tests for cyclone.locale: loading catalogs, choosing locales, translating and formatting."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest

import cyclone.locale
from cyclone.locale import CSVLocale, GettextLocale, Locale, UnsupportedLocaleError
from cyclone.locale.mo import write_mo
from cyclone.locale.po import read_po

POLISH = "nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"
RUSSIAN = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : "
    "n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"
)


def _po(plural_forms: str, body: str) -> str:
    return (
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        f'"Plural-Forms: {plural_forms}\\n"\n\n{body}'
    )


CATALOGS = {
    "pl_PL": _po(
        POLISH,
        'msgid "%(n)d file"\nmsgid_plural "%(n)d files"\n'
        'msgstr[0] "%(n)d plik"\nmsgstr[1] "%(n)d pliki"\nmsgstr[2] "%(n)d plików"\n\n'
        'msgid "send"\nmsgstr "wyślij"\n',
    ),
    "ru_RU": _po(
        RUSSIAN,
        'msgid "%(n)d file"\nmsgid_plural "%(n)d files"\n'
        'msgstr[0] "%(n)d файл"\nmsgstr[1] "%(n)d файла"\nmsgstr[2] "%(n)d файлов"\n',
    ),
    "pt_BR": _po(
        "nplurals=2; plural=(n > 1);",
        'msgid "send"\nmsgstr "enviar"\n\n'
        'msgctxt "verb"\nmsgid "post"\nmsgstr "publicar"\n\n'
        'msgctxt "noun"\nmsgid "post"\nmsgstr "publicação"\n\n'
        'msgctxt "noun"\nmsgid "post"\nmsgid_plural "posts"\n'
        'msgstr[0] "publicação"\nmsgstr[1] "publicações"\n\n'
        'msgid "%(commas)s and %(last)s"\nmsgstr "%(commas)s e %(last)s"\n\n'
        'msgid "May"\nmsgstr "maio"\n\n'
        'msgid "Friday"\nmsgstr "sexta-feira"\n\n'
        'msgid "%(weekday)s, %(month_name)s %(day)s"\nmsgstr "%(weekday)s, %(day)s de %(month_name)s"\n\n'
        'msgid "yesterday at %(time)s"\nmsgstr "ontem às %(time)s"\n',
    ),
    "ar_AR": _po("nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : 3);", ""),
    "es": _po("nplurals=2; plural=(n != 1);", 'msgid "send"\nmsgstr "enviar (es)"\n'),
}


@pytest.fixture(autouse=True)
def _restore_locale_state():
    """cyclone.locale keeps its catalogs in module globals; give each test a clean slate."""
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
def locale_directory(tmp_path: Path) -> Path:
    for code, text in CATALOGS.items():
        directory = tmp_path / code / "LC_MESSAGES"
        directory.mkdir(parents=True)
        mo = write_mo(read_po(io.BytesIO(text.encode("utf-8"))))
        (directory / "cyclone.mo").write_bytes(mo)
        (directory / "other.mo").write_bytes(mo)
    return tmp_path


@pytest.fixture
def loaded(locale_directory: Path) -> Path:
    cyclone.locale.load_gettext_translations(locale_directory)
    return locale_directory


def test_loading_gettext_catalogs_makes_their_languages_supported(loaded):
    assert cyclone.locale.get_supported_locales() == {
        "pl_PL",
        "ru_RU",
        "pt_BR",
        "ar_AR",
        "es",
        "en_US",
    }
    assert isinstance(Locale.get("pt_BR"), GettextLocale)


def test_domain_selects_which_mo_file_is_read(locale_directory):
    cyclone.locale.load_gettext_translations(locale_directory, domain="missing")
    assert cyclone.locale.get_supported_locales() == {"en_US"}
    cyclone.locale.load_gettext_translations(locale_directory, "other")
    assert cyclone.locale.get("pl_PL").translate("send") == "wyślij"


def test_broken_catalog_is_skipped_and_the_others_still_load(locale_directory):
    broken = locale_directory / "de_DE" / "LC_MESSAGES"
    broken.mkdir(parents=True)
    (broken / "cyclone.mo").write_bytes(b"not a catalog at all")
    cyclone.locale.load_gettext_translations(locale_directory)
    supported = cyclone.locale.get_supported_locales()
    assert "de_DE" not in supported
    assert "pt_BR" in supported


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "1 plik"), (2, "2 pliki"), (4, "4 pliki"), (5, "5 plików"), (12, "12 plików"),
     (22, "22 pliki"), (25, "25 plików"), (0, "0 plików"), (102, "102 pliki")],
)  # fmt: skip
def test_polish_plurals_use_all_three_forms_from_the_catalog(loaded, count, expected):
    locale = cyclone.locale.get("pl_PL")
    assert locale.translate("%(n)d file", "%(n)d files", count) % {"n": count} == expected


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "1 файл"), (21, "21 файл"), (11, "11 файлов"), (3, "3 файла"), (5, "5 файлов")],
)
def test_russian_plurals_use_all_three_forms_from_the_catalog(loaded, count, expected):
    locale = cyclone.locale.get("ru")
    assert locale.translate("%(n)d file", "%(n)d files", count) % {"n": count} == expected


def test_brazilian_plural_rule_treats_zero_as_singular(loaded):
    locale = cyclone.locale.get("pt_BR")
    assert locale.pgettext("noun", "post", "posts", 0) == "publicação"
    assert locale.pgettext("noun", "post", "posts", 2) == "publicações"


def test_untranslated_messages_fall_back_to_the_source_text_with_english_plurals(loaded):
    locale = cyclone.locale.get("pl_PL")
    assert locale.translate("not in catalog") == "not in catalog"
    assert locale.translate("one cat", "%d cats", 1) == "one cat"
    assert locale.translate("one cat", "%d cats", 3) == "%d cats"


def test_empty_message_translates_to_itself_not_to_the_catalog_header(loaded):
    assert cyclone.locale.get("pl_PL").translate("") == ""


def test_pgettext_picks_the_translation_for_the_context(loaded):
    locale = cyclone.locale.get("pt_BR")
    assert locale.pgettext("verb", "post") == "publicar"
    assert locale.pgettext("noun", "post") == "publicação"
    assert locale.pgettext("unknown", "post") == "post"
    assert locale.translate("post") == "post"


def test_plural_without_count_is_a_clear_error(loaded):
    with pytest.raises(TypeError, match="needs a count"):
        cyclone.locale.get("pl_PL").translate("%(n)d file", "%(n)d files")


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (("pt_BR",), "pt_BR"),
        (("pt-br",), "pt_BR"),
        (("PT-BR",), "pt_BR"),
        (("pt_BR.UTF-8",), "pt_BR"),
        (("pt",), "pt_BR"),  # another region of the same language beats the default
        (("es_MX",), "es"),  # region not supported: its language is
        (("es-ES",), "es"),
        (("en-us",), "en_US"),
        (("fr_FR", "pl"), "pl_PL"),
        ((None, "", "ru_RU"), "ru_RU"),
        (("fr_FR",), "en_US"),
        ((), "en_US"),
        ((None,), "en_US"),
    ],
)
def test_get_returns_the_closest_supported_locale(loaded, requested, expected):
    assert cyclone.locale.get(*requested).code == expected


def test_set_default_locale_changes_the_fallback_and_is_supported(loaded):
    cyclone.locale.set_default_locale("pt_BR")
    assert cyclone.locale.get("xx_YY").code == "pt_BR"
    cyclone.locale.set_default_locale("de_DE")
    assert "de_DE" in cyclone.locale.get_supported_locales()
    assert cyclone.locale.get("xx").translate("send") == "send"


def test_locale_get_refuses_an_unsupported_code(loaded):
    with pytest.raises(UnsupportedLocaleError, match="'fr_FR'"):
        Locale.get("fr_FR")


def test_locales_are_cached(loaded):
    assert Locale.get("pt_BR") is cyclone.locale.get("pt-br")


def test_locale_knows_its_native_name_and_direction(loaded):
    brazil = cyclone.locale.get("pt_BR")
    assert (brazil.code, brazil.name, brazil.name_en, brazil.rtl) == (
        "pt_BR",
        "Português (Brasil)",
        "Portuguese (Brazil)",
        False,
    )
    assert cyclone.locale.get("ar_AR").rtl is True
    assert cyclone.locale.get("ar_AR").name == "العربية"
    assert cyclone.locale.get("es").name == "Español"  # a bare language has no region


def test_locale_names_table_has_native_names():
    names = cyclone.locale.LOCALE_NAMES
    assert names["ja_JP"]["name"] == "日本語"
    assert names["de_DE"]["name_en"] == "German"
    assert all(set(entry) == {"name", "name_en"} for entry in names.values())


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("pt-BR,pt;q=0.9,en;q=0.8", "pt_BR"),
        ("en;q=0.5, pl;q=0.9", "pl_PL"),
        ("pl;q=0, ru;q=0.1", "ru_RU"),  # q=0 means not acceptable
        ("pl;q=0.000, es;q=0.001", "es"),
        ("pl;q=high, ru;q=0.2", "ru_RU"),  # malformed q: entry ignored
        ("pl;q=1.5, ru;q=0.2", "ru_RU"),
        ("pl;q=0.1234, ru;q=0.2", "ru_RU"),
        ("pl;q=-1, ru;q=0.2", "ru_RU"),
        ("ru;level=1;q=0.3, pl;q=0.2", "ru_RU"),
        ("pl;q=0.5, ru;q=0.5", "pl_PL"),  # ties keep the header's order
        ("ru ; Q=0.7 , pl ; q=0.6", "ru_RU"),
        ("*", "en_US"),
        ("fr-FR, de", "en_US"),
        ("", "en_US"),
        (",,;q=1,", "en_US"),
    ],
)
def test_browser_locale_follows_accept_language_quality_values(loaded, header, expected):
    assert cyclone.locale.get_browser_locale(header).code == expected


def test_browser_locale_default_is_used_when_nothing_matches(loaded):
    assert cyclone.locale.get_browser_locale("fr", default="pt_BR").code == "pt_BR"
    assert cyclone.locale.get_browser_locale(None, default="ru-ru").code == "ru_RU"


NOW = datetime.datetime(2024, 5, 10, 15, 30, 0)


@pytest.mark.parametrize(
    ("delta", "kwargs", "expected"),
    [
        (datetime.timedelta(seconds=1), {}, "1 second ago"),
        (datetime.timedelta(seconds=10), {}, "10 seconds ago"),
        (datetime.timedelta(minutes=1), {}, "1 minute ago"),
        (datetime.timedelta(minutes=2), {}, "2 minutes ago"),
        (datetime.timedelta(hours=1), {}, "1 hour ago"),
        (datetime.timedelta(hours=3), {}, "3 hours ago"),
        (datetime.timedelta(hours=3), {"relative": False}, "12:30 pm"),
        (datetime.timedelta(hours=24, minutes=28), {}, "yesterday at 3:02 pm"),
        (datetime.timedelta(hours=24, minutes=28), {"shorter": True}, "yesterday"),
        (datetime.timedelta(days=3), {}, "Tuesday at 3:30 pm"),
        (datetime.timedelta(days=3), {"shorter": True}, "Tuesday"),
        (datetime.timedelta(days=40), {}, "March 31 at 3:30 pm"),
        (datetime.timedelta(days=40), {"shorter": True}, "March 31"),
        (datetime.timedelta(days=400), {}, "April 6, 2023 at 3:30 pm"),
        (datetime.timedelta(days=400), {"shorter": True}, "April 6, 2023"),
        (datetime.timedelta(minutes=2), {"full_format": True}, "May 10, 2024 at 3:28 pm"),
        (datetime.timedelta(hours=15, minutes=30), {"relative": False}, "12:00 am"),
        (-datetime.timedelta(seconds=30), {}, "0 seconds ago"),  # clock skew
        (-datetime.timedelta(days=2), {}, "May 12, 2024 at 3:30 pm"),  # the future
    ],
)
def test_format_date_in_english(delta, kwargs, expected):
    english = cyclone.locale.get("en_US")
    assert english.format_date(NOW - delta, now=NOW, **kwargs) == expected


def test_format_date_applies_the_viewers_offset_in_minutes_west_of_utc():
    english = cyclone.locale.get("en_US")
    # 15:30 UTC is 12:30 in UTC-3 (getTimezoneOffset() == 180)
    assert english.format_date(NOW, gmt_offset=180, full_format=True, now=NOW) == (
        "May 10, 2024 at 12:30 pm"
    )


def test_format_date_accepts_timestamps_and_aware_datetimes():
    english = cyclone.locale.get("en_US")
    timestamp = NOW.replace(tzinfo=datetime.timezone.utc).timestamp()
    assert english.format_date(timestamp, full_format=True, now=NOW) == "May 10, 2024 at 3:30 pm"
    brasilia = datetime.timezone(datetime.timedelta(hours=-3))
    aware = datetime.datetime(2024, 5, 10, 12, 28, tzinfo=brasilia)
    assert english.format_date(aware, now=NOW) == "2 minutes ago"
    with pytest.raises(TypeError, match="'yesterday'"):
        english.format_date("yesterday")


def test_format_date_without_now_uses_the_current_time():
    english = cyclone.locale.get("en_US")
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    assert english.format_date(moment) == "5 minutes ago"


def test_format_date_is_translated_with_a_24_hour_clock(loaded):
    brazil = cyclone.locale.get("pt_BR")
    yesterday = NOW - datetime.timedelta(hours=24, minutes=28)
    assert brazil.format_date(yesterday, now=NOW) == "ontem às 15:02"


def test_format_day_with_and_without_weekday(loaded):
    assert cyclone.locale.get("en_US").format_day(NOW) == "Friday, May 10"
    assert cyclone.locale.get("en_US").format_day(NOW, dow=False) == "May 10"
    assert cyclone.locale.get("pt_BR").format_day(NOW) == "sexta-feira, 10 de maio"
    assert cyclone.locale.get("en_US").format_day(NOW, gmt_offset=16 * 60) == "Thursday, May 9"


def test_list_joins_items_for_a_sentence(loaded):
    english = cyclone.locale.get("en_US")
    assert english.list([]) == ""
    assert english.list(["A"]) == "A"
    assert english.list(["A", "B"]) == "A and B"
    assert english.list(["A", "B", "C"]) == "A, B and C"
    assert cyclone.locale.get("pt_BR").list(["A", "B", "C"]) == "A, B e C"
    assert cyclone.locale.get("ar_AR").list(["A", "B", "C"]) == "A، B and C"


def test_friendly_number_groups_digits_in_english_only(loaded):
    assert cyclone.locale.get("en_US").friendly_number(1234567) == "1,234,567"
    assert cyclone.locale.get("pt_BR").friendly_number(1234567) == "1234567"


def test_csv_translations_load_with_plural_columns(tmp_path: Path):
    (tmp_path / "es_ES.csv").write_text(
        '"send","enviar"\n'
        '"%(n)d file","%(n)d archivo",singular\n'
        '"%(n)d files","%(n)d archivos",plural\n'
        '"send, now","enviar, ya",unknown\n',
        encoding="utf-8",
    )
    (tmp_path / "pt_BR.csv").write_bytes('"send","enviar (BR)"\n'.encode("utf-16"))
    (tmp_path / "README.txt").write_text("not a translation")
    cyclone.locale.load_translations(tmp_path)
    assert cyclone.locale.get_supported_locales() == {"es_ES", "pt_BR", "en_US"}
    spanish = cyclone.locale.get("es")
    assert isinstance(spanish, CSVLocale)
    assert spanish.translate("send") == "enviar"
    assert spanish.translate("send, now") == "enviar, ya"
    assert spanish.translate("%(n)d file", "%(n)d files", 1) == "%(n)d archivo"
    assert spanish.translate("%(n)d file", "%(n)d files", 0) == "%(n)d archivos"
    assert spanish.pgettext("verb", "send") == "enviar"
    assert cyclone.locale.get("pt-br").translate("send") == "enviar (BR)"


def test_csv_translations_honour_an_explicit_encoding(tmp_path: Path):
    (tmp_path / "pt_BR.csv").write_bytes('"send","ação"\n'.encode("latin-1"))
    cyclone.locale.load_translations(tmp_path, encoding="latin-1")
    assert cyclone.locale.get("pt_BR").translate("send") == "ação"


def test_csv_rows_with_an_unknown_plural_indicator_are_skipped(tmp_path: Path):
    (tmp_path / "es_ES.csv").write_text('"a","b",dual\n"c","d"\n', encoding="utf-8")
    cyclone.locale.load_translations(tmp_path)
    spanish = cyclone.locale.get("es_ES")
    assert (spanish.translate("a"), spanish.translate("c")) == ("a", "d")


def test_default_locale_without_catalog_translates_to_the_source_text():
    english = cyclone.locale.get("en_US")
    assert english.translate("%(n)d file", "%(n)d files", 1) == "%(n)d file"
    assert english.translate("%(n)d file", "%(n)d files", 2) == "%(n)d files"
    assert english.pgettext("ctx", "x") == "x"
