"""The language switcher: English, Brazilian Portuguese and Spanish from gettext catalogs.

The strings are marked with ``_()`` in templates and Python code, extracted into
locale/demo.pot and translated in ``locale/<lang>/LC_MESSAGES/demo.po``
(see examples/demo/README.md for the commands). `load_catalogs` compiles them
to ``.mo`` files at start-up, in pure Python, and loads them.

The language comes from the ``locale`` cookie that `SetLanguage` sets (see
`demosite.base.BaseHandler.get_user_locale`), else from the browser's
``Accept-Language``. Plurals follow each catalog's ``Plural-Forms`` rule: 0 is
plural in English and Spanish, singular in Portuguese.
"""

from __future__ import annotations

import datetime
import os

import cyclone.locale
from cyclone.locale.mo import compile_catalogs
from demosite.base import LANGUAGES, N_, BaseHandler

LOCALE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "locale")
DOMAIN = "demo"

# cyclone.locale translates these for format_day() and list(); marked here so that
# `python -m cyclone.locale extract` puts them in the demo's catalog.
CALENDAR = [
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
    N_("%(weekday)s, %(month_name)s %(day)s"),
    N_("%(commas)s and %(last)s"),
]


def load_catalogs() -> None:
    """Compile the .po files into .mo files (when stale) and load them."""
    compile_catalogs(LOCALE_DIR, DOMAIN)
    cyclone.locale.load_gettext_translations(LOCALE_DIR, DOMAIN)


class LanguagePage(BaseHandler):
    """Translated strings, plural forms for several counts, a date and a list."""

    page = "locale"

    def get(self) -> None:
        _ = self.locale.translate
        count = self.get_query_argument("count", "3")
        count_value = int(count) if count.isdigit() and int(count) < 10_000 else 3
        fruits = [_("apples"), _("pears"), _("figs")]
        self.render(
            "locale.html",
            counts=[0, 1, 2, 5],
            count=count_value,
            today=self.locale.format_day(datetime.datetime.now(datetime.timezone.utc)),
            fruit_list=self.locale.list(fruits),
            languages_available=[cyclone.locale.get(code) for code in LANGUAGES],
        )


class SetLanguage(BaseHandler):
    """POST ``language`` (and ``next``): remember the choice in a cookie for a year."""

    def post(self) -> None:
        code = self.get_body_argument("language", "")
        if code in LANGUAGES:
            self.set_cookie("locale", code, expires_days=365, samesite="Lax")
        self.redirect(self.get_safe_next_url("/locale"))
