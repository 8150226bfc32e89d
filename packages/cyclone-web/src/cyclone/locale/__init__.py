"""Translations for cyclone applications: gettext catalogs (or Tornado CSV files) and locales.

    >>> import cyclone.locale
    >>> cyclone.locale.load_gettext_translations("./locale", "foobar")  # doctest: +SKIP
    >>> user_locale = cyclone.locale.get("pt-br", "en_US")
    >>> _ = user_locale.translate
    >>> _("%(count)d file", "%(count)d files", 3) % {"count": 3}
    '3 files'

Catalogs live in ``<directory>/<lang>/LC_MESSAGES/<domain>.mo``.  Write the
strings with ``_()`` in Python code and templates, then::

    python -m cyclone.locale extract -o foobar.pot foobar.tac template/
    python -m cyclone.locale init -i foobar.pot -d locale -D foobar -l pt_BR
    python -m cyclone.locale compile -d locale -D foobar

Plural forms come from each catalog's ``Plural-Forms`` header, so languages
with three or more forms (Polish, Russian, Arabic) pick the right one.
"""

from __future__ import annotations

import csv
import datetime
import gettext
import os
import re
from collections.abc import Iterable, Mapping
from typing import ClassVar

from twisted.logger import Logger

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)
from cyclone.locale.names import LOCALE_NAMES, RTL_LANGUAGES

__all__ = [
    "LOCALE_NAMES",
    "CSVLocale",
    "GettextLocale",
    "Locale",
    "UnsupportedLocaleError",
    "get",
    "get_browser_locale",
    "get_supported_locales",
    "load_gettext_translations",
    "load_translations",
    "set_default_locale",
]

_log = Logger()

_default_locale = "en_US"
_translations: dict[str, gettext.GNUTranslations | dict[str, dict[str, str]]] = {}
_supported_locales: frozenset[str] = frozenset([_default_locale])

# Separator between the items of Locale.list(), for languages that do not use ", ".
_LIST_COMMAS = {"ar": "، ", "fa": " و ", "ja": "、", "zh": "、"}
# Languages whose speakers read times on a 12-hour clock and group digits with ",".
_TWELVE_HOUR_LOCALES = frozenset({"en", "en_US", "en_CA", "en_AU", "zh_CN"})
_COMMA_GROUPING_LOCALES = frozenset({"en", "en_US", "en_CA", "en_AU", "en_GB", "zh_CN", "ja_JP"})

# RFC 9110 section 12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
_QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")

_REGION_SUFFIX = re.compile(r"\s*\(.*\)$")

_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Seconds before "n seconds ago" becomes minutes, and minutes before it becomes hours.
_SECONDS_THRESHOLD = 50
_MINUTES_THRESHOLD = 50 * 60
# Relative dates name the weekday up to this many days back, then the month and day
# without a year until almost a year has passed.
_WEEKDAY_DAYS = 5
_SAME_YEAR_DAYS = 334


class UnsupportedLocaleError(ValueError):
    """Raised by :meth:`Locale.get` for a code that has no loaded translations."""


def set_default_locale(code: str) -> None:
    """Set the locale used when no requested locale is supported.

    The default is always supported, even without a catalog: its strings are
    the ones written in the source code.
    """
    global _default_locale
    _default_locale = code
    _refresh_supported_locales()


def get_supported_locales() -> frozenset[str]:
    """Return the codes of every locale with loaded translations, plus the default."""
    return _supported_locales


def get(*locale_codes: str | None) -> Locale:
    """Return the closest supported locale for the given codes, in order of preference.

    ``"pt-br"`` and ``"pt_BR.UTF-8"`` mean ``pt_BR``; a code whose region is not
    supported falls back to its language (``pt_BR`` -> ``pt``) and then to
    another region of the same language; when nothing matches, the default
    locale is returned.  ``None`` and empty codes are skipped, so
    ``get(self.get_cookie("lang"))`` works without a cookie.
    """
    return Locale.get_closest(*locale_codes)


def get_browser_locale(accept_language_header: str | None, default: str = "en_US") -> Locale:
    """Return the best supported locale for an ``Accept-Language`` header.

    Entries are ranked by their quality value (RFC 9110 section 12.5.4), ties
    keep the header's order.  ``q=0`` means "not acceptable" and removes the
    entry; an entry whose ``q`` is malformed (``q=high``, ``q=1.5``) is ignored
    rather than guessed at.  ``*`` matches nothing in particular, so it leaves
    the choice to ``default``.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, entry in enumerate((accept_language_header or "").split(",")):
        tag, *parameters = (part.strip() for part in entry.split(";"))
        if not tag or tag == "*":
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                quality = _parse_quality(value.strip())
        if quality > 0:
            ranked.append((-quality, position, tag))
    ranked.sort()
    return Locale.get_closest(*(tag for _, _, tag in ranked), default)


def _parse_quality(value: str) -> float:
    """Parse an RFC 9110 qvalue (``0``-``1``, at most three decimals); -1.0 when malformed."""
    if not _QVALUE.fullmatch(value):
        return -1.0
    return float(value)


def load_translations(directory: str | os.PathLike[str], encoding: str | None = None) -> None:
    """Load Tornado-style CSV translations: one ``<locale>.csv`` file per language.

    Each row is ``original,translation[,plural|singular]``; the third column
    says which form of a pluralised message the row translates.  Without an
    ``encoding`` a UTF-16 byte order mark is honoured and UTF-8 assumed
    otherwise.  Replaces any previously loaded translations.
    """
    translations: dict[str, gettext.GNUTranslations | dict[str, dict[str, str]]] = {}
    for filename in sorted(os.listdir(directory)):
        code, extension = os.path.splitext(filename)
        if extension != ".csv" or code.startswith("."):
            continue
        path = os.path.join(directory, filename)
        file_encoding = encoding or _sniff_csv_encoding(path)
        table: dict[str, dict[str, str]] = {}
        with open(path, encoding=file_encoding, newline="") as stream:
            for row_number, row in enumerate(csv.reader(stream), 1):
                if not row or len(row) < 2:
                    continue
                original, translation = row[0], row[1]
                form = row[2].strip().lower() if len(row) > 2 and row[2].strip() else "unknown"
                if form not in ("plural", "singular", "unknown"):
                    _log.error(
                        "Unrecognized plural indicator {form!r} in {path}:{row}",
                        form=form,
                        path=path,
                        row=row_number,
                    )
                    continue
                table.setdefault(form, {})[original] = translation
        translations[code] = table
    _install_translations(translations)


def _sniff_csv_encoding(path: str) -> str:
    with open(path, "rb") as stream:
        start = stream.read(2)
    if start in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    return "utf-8-sig"


def load_gettext_translations(directory: str | os.PathLike[str], domain: str = "cyclone") -> None:
    """Load every ``<directory>/<lang>/LC_MESSAGES/<domain>.mo`` catalog.

    Compile ``.po`` files with ``python -m cyclone.locale compile`` (or GNU
    ``msgfmt``).  A catalog that cannot be read is logged and skipped, so one
    broken language does not take the others down.  Replaces any previously
    loaded translations.
    """
    translations: dict[str, gettext.GNUTranslations | dict[str, dict[str, str]]] = {}
    for code in sorted(os.listdir(directory)):
        if code.startswith("."):
            continue
        path = os.path.join(directory, code, "LC_MESSAGES", domain + ".mo")
        if not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as stream:
                translations[code] = gettext.GNUTranslations(stream)
        except (OSError, ValueError, SyntaxError, UnicodeDecodeError) as error:
            # ValueError/SyntaxError: bad magic or a Plural-Forms expression gettext rejects.
            _log.error("Cannot load {path}: {error}", path=path, error=error)
    _install_translations(translations)


def _install_translations(
    translations: dict[str, gettext.GNUTranslations | dict[str, dict[str, str]]],
) -> None:
    global _translations
    _translations = translations
    Locale._cache.clear()
    _refresh_supported_locales()
    _log.info("Supported locales: {locales}", locales=", ".join(sorted(_supported_locales)))


def _refresh_supported_locales() -> None:
    global _supported_locales
    _supported_locales = frozenset([*_translations, _default_locale])


def _candidate_codes(code: str) -> list[str]:
    """Spellings of one requested code to try, most specific first.

    ``en-us`` -> ``en_US``, ``en``; ``zh-hant-tw`` -> ``zh_Hant_TW``, ``zh_TW``, ``zh``;
    POSIX suffixes (``.UTF-8``, ``@euro``) are dropped.
    """
    code = code.strip().split(".")[0].split("@")[0]
    parts = [part for part in code.replace("-", "_").split("_") if part]
    if not parts:
        return []
    language = parts[0].lower()
    subtags = []
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            subtags.append(part.title())
        else:
            subtags.append(part.upper())
    candidates = ["_".join([language, *subtags])]
    regions = [tag for tag in subtags if len(tag) != 4]
    if regions:
        candidates.append(f"{language}_{regions[0]}")
    candidates.append(language)
    return list(dict.fromkeys(candidates))


class Locale:
    """One language: translates strings and formats dates, lists and numbers for it.

    Get instances with :func:`get` or :meth:`Locale.get`; they are cached.
    """

    _cache: ClassVar[dict[str, Locale]] = {}

    @classmethod
    def get_closest(cls, *locale_codes: str | None) -> Locale:
        """Return the first supported locale among ``locale_codes``, else the default."""
        supported = _supported_locales
        for code in locale_codes:
            if not code:
                continue
            candidates = _candidate_codes(code)
            for candidate in candidates:
                if candidate in supported:
                    return cls.get(candidate)
            if candidates:
                language = candidates[-1]
                same_language = sorted(c for c in supported if c.split("_")[0] == language)
                if same_language:
                    return cls.get(same_language[0])
        return cls.get(_default_locale)

    @classmethod
    def get(cls, code: str) -> Locale:
        """Return the locale for a supported code exactly as loaded (``pt_BR``)."""
        if code not in cls._cache:
            if code not in _supported_locales:
                raise UnsupportedLocaleError(
                    f"Unsupported locale {code!r}; supported: {sorted(_supported_locales)}"
                )
            translations = _translations.get(code)
            if isinstance(translations, gettext.GNUTranslations):
                cls._cache[code] = GettextLocale(code, translations)
            else:
                cls._cache[code] = CSVLocale(code, translations or {})
        return cls._cache[code]

    def __init__(self, code: str) -> None:
        self.code = code
        language = code.split("_")[0]
        info = LOCALE_NAMES.get(code)
        if info is None:
            # A bare language ("es") is named after any of its regions, minus the region.
            regional = next(
                (names for key, names in LOCALE_NAMES.items() if key.split("_")[0] == language),
                {"name": code, "name_en": code},
            )
            info = {key: _REGION_SUFFIX.sub("", value) for key, value in regional.items()}
        self.name: str = info["name"]
        self.name_en: str = info["name_en"]
        self.rtl: bool = language in RTL_LANGUAGES
        self._months = [self.translate(month) for month in _MONTH_NAMES]
        self._weekdays = [self.translate(day) for day in _WEEKDAY_NAMES]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code}>"

    def translate(
        self, message: str, plural_message: str | None = None, count: int | None = None
    ) -> str:
        """Return the translation of ``message``, or of its plural form for ``count``."""
        raise NotImplementedError

    def pgettext(
        self,
        context: str,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """Translate ``message`` in ``context`` (``pgettext("law", "right")``)."""
        raise NotImplementedError

    def format_date(
        self,
        date: int | float | datetime.datetime,
        gmt_offset: int = 0,
        relative: bool = True,
        shorter: bool = False,
        full_format: bool = False,
        *,
        now: datetime.datetime | None = None,
    ) -> str:
        """Format a UTC date (timestamp or datetime) for people.

        ``relative`` gives "2 minutes ago" and "yesterday at 3:02 pm";
        ``shorter`` drops the time of day; ``full_format`` always writes
        "January 2, 2024 at 3:02 pm".  ``gmt_offset`` is the viewer's offset
        in minutes *west* of UTC (JavaScript's ``getTimezoneOffset()``).
        ``now`` defaults to the current time.
        """
        date = _as_naive_utc(date)
        now = _as_naive_utc(now) if now is not None else _utcnow()
        if date > now:
            if relative and (date - now).total_seconds() < 60:
                date = now  # a little clock skew between servers
            else:
                full_format = True
        local_date = date - datetime.timedelta(minutes=gmt_offset)
        local_now = now - datetime.timedelta(minutes=gmt_offset)
        local_yesterday = local_now - datetime.timedelta(hours=24)
        elapsed = now - date
        seconds, days = elapsed.seconds, elapsed.days
        _ = self.translate

        template = None
        if not full_format:
            if relative and days == 0:
                if seconds < _SECONDS_THRESHOLD:
                    return _("1 second ago", "%(seconds)d seconds ago", seconds) % {
                        "seconds": seconds
                    }
                if seconds < _MINUTES_THRESHOLD:
                    minutes = round(seconds / 60.0)
                    return _("1 minute ago", "%(minutes)d minutes ago", minutes) % {
                        "minutes": minutes
                    }
                hours = round(seconds / 3600.0)
                return _("1 hour ago", "%(hours)d hours ago", hours) % {"hours": hours}
            if days == 0:
                template = _("%(time)s")
            elif days == 1 and local_date.day == local_yesterday.day and relative:
                template = _("yesterday") if shorter else _("yesterday at %(time)s")
            elif days < _WEEKDAY_DAYS:
                template = _("%(weekday)s") if shorter else _("%(weekday)s at %(time)s")
            elif days < _SAME_YEAR_DAYS:
                template = (
                    _("%(month_name)s %(day)s")
                    if shorter
                    else _("%(month_name)s %(day)s at %(time)s")
                )
        if template is None:
            template = (
                _("%(month_name)s %(day)s, %(year)s")
                if shorter
                else _("%(month_name)s %(day)s, %(year)s at %(time)s")
            )
        return template % {
            "month_name": self._months[local_date.month - 1],
            "weekday": self._weekdays[local_date.weekday()],
            "day": str(local_date.day),
            "year": str(local_date.year),
            "time": self._format_time(local_date),
        }

    def _format_time(self, moment: datetime.datetime) -> str:
        if self.code in _TWELVE_HOUR_LOCALES:
            meridiem = self.translate("pm") if moment.hour >= 12 else self.translate("am")
            return "%d:%02d %s" % (moment.hour % 12 or 12, moment.minute, meridiem)
        return "%d:%02d" % (moment.hour, moment.minute)

    def format_day(
        self, date: int | float | datetime.datetime, gmt_offset: int = 0, dow: bool = True
    ) -> str:
        """Format a day: "Monday, January 22", or "January 22" without ``dow``."""
        local_date = _as_naive_utc(date) - datetime.timedelta(minutes=gmt_offset)
        values = {
            "month_name": self._months[local_date.month - 1],
            "weekday": self._weekdays[local_date.weekday()],
            "day": str(local_date.day),
        }
        if dow:
            return self.translate("%(weekday)s, %(month_name)s %(day)s") % values
        return self.translate("%(month_name)s %(day)s") % values

    def list(self, parts: Iterable[str]) -> str:
        """Join items for a sentence: ``["A", "B", "C"]`` -> "A, B and C"."""
        parts = [str(part) for part in parts]
        if not parts:
            return ""
        if len(parts) == 1:
            return parts[0]
        comma = _LIST_COMMAS.get(self.code.split("_")[0], ", ")
        return self.translate("%(commas)s and %(last)s") % {
            "commas": comma.join(parts[:-1]),
            "last": parts[-1],
        }

    def friendly_number(self, value: int) -> str:
        """Write an integer with digit grouping where the locale uses commas (12,345)."""
        if self.code in _COMMA_GROUPING_LOCALES:
            return f"{value:,}"
        return str(value)


class GettextLocale(Locale):
    """A locale backed by a compiled gettext catalog (``.mo``)."""

    def __init__(self, code: str, translations: gettext.GNUTranslations) -> None:
        self.translations = translations
        super().__init__(code)

    def translate(
        self, message: str, plural_message: str | None = None, count: int | None = None
    ) -> str:
        if plural_message is not None:
            if count is None:
                raise TypeError(f"translate({message!r}, {plural_message!r}) needs a count")
            return self.translations.ngettext(message, plural_message, count)
        if not message:
            return message  # gettext("") would return the catalog's header
        return self.translations.gettext(message)

    def pgettext(
        self,
        context: str,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        if plural_message is not None:
            if count is None:
                raise TypeError(f"pgettext({context!r}, {message!r}, ...) needs a count")
            return self.translations.npgettext(context, message, plural_message, count)
        return self.translations.pgettext(context, message)


class CSVLocale(Locale):
    """A locale backed by a Tornado-style CSV table; plurals have two forms (count == 1 or not)."""

    _warned_context: ClassVar[bool] = False

    def __init__(self, code: str, translations: Mapping[str, Mapping[str, str]]) -> None:
        self.translations = translations
        super().__init__(code)

    def translate(
        self, message: str, plural_message: str | None = None, count: int | None = None
    ) -> str:
        if plural_message is not None:
            if count is None:
                raise TypeError(f"translate({message!r}, {plural_message!r}) needs a count")
            if count != 1:
                return self.translations.get("plural", {}).get(plural_message, plural_message)
            return self.translations.get("singular", {}).get(message, message)
        for form in ("unknown", "singular"):
            table = self.translations.get(form, {})
            if message in table:
                return table[message]
        return message

    def pgettext(
        self,
        context: str,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """CSV files have no contexts: translate ``message`` as if it had none."""
        if self.translations and not CSVLocale._warned_context:
            CSVLocale._warned_context = True
            _log.warn("CSV translations have no message contexts; pgettext ignores them")
        return self.translate(message, plural_message, count)


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _as_naive_utc(date: int | float | datetime.datetime) -> datetime.datetime:
    if isinstance(date, (int, float)):
        return datetime.datetime.fromtimestamp(date, datetime.timezone.utc).replace(tzinfo=None)
    if isinstance(date, datetime.datetime):
        if date.tzinfo is not None:
            return date.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return date
    raise TypeError(f"Expected a timestamp or datetime, got {date!r}")
