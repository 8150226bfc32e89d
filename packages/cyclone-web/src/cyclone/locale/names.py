"""Locale data: native language names, right-to-left scripts and gettext plural rules.

    >>> from cyclone.locale.names import LOCALE_NAMES, plural_forms_for
    >>> LOCALE_NAMES["pt_BR"]["name"]
    'Português (Brasil)'
    >>> plural_forms_for("pl_PL")
    'nplurals=3; plural=(n == 1 ? 0 : n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 10 || n % 100 >= 20) ? 1 : 2);'

The tables are written for cyclone; the plural rules follow the CLDR
categories as gettext expresses them, which is what ``init`` writes into a new
catalog's ``Plural-Forms`` header.
"""

from __future__ import annotations

# code -> (English name, the name speakers use for their own language)
_NAMES: dict[str, tuple[str, str]] = {
    "af_ZA": ("Afrikaans", "Afrikaans"),
    "am_ET": ("Amharic", "አማርኛ"),
    "ar_AR": ("Arabic", "العربية"),
    "ar_EG": ("Arabic (Egypt)", "العربية (مصر)"),
    "az_AZ": ("Azerbaijani", "Azərbaycan dili"),
    "be_BY": ("Belarusian", "Беларуская"),
    "bg_BG": ("Bulgarian", "Български"),
    "bn_IN": ("Bengali", "বাংলা"),
    "bs_BA": ("Bosnian", "Bosanski"),
    "ca_ES": ("Catalan", "Català"),
    "cs_CZ": ("Czech", "Čeština"),
    "cy_GB": ("Welsh", "Cymraeg"),
    "da_DK": ("Danish", "Dansk"),
    "de_AT": ("German (Austria)", "Deutsch (Österreich)"),
    "de_CH": ("German (Switzerland)", "Deutsch (Schweiz)"),
    "de_DE": ("German", "Deutsch"),
    "el_GR": ("Greek", "Ελληνικά"),
    "en_AU": ("English (Australia)", "English (Australia)"),
    "en_CA": ("English (Canada)", "English (Canada)"),
    "en_GB": ("English (UK)", "English (UK)"),
    "en_US": ("English (US)", "English (US)"),
    "eo": ("Esperanto", "Esperanto"),
    "es_AR": ("Spanish (Argentina)", "Español (Argentina)"),
    "es_ES": ("Spanish (Spain)", "Español (España)"),
    "es_LA": ("Spanish (Latin America)", "Español (Latinoamérica)"),
    "es_MX": ("Spanish (Mexico)", "Español (México)"),
    "et_EE": ("Estonian", "Eesti"),
    "eu_ES": ("Basque", "Euskara"),
    "fa_IR": ("Persian", "فارسی"),
    "fi_FI": ("Finnish", "Suomi"),
    "fil_PH": ("Filipino", "Filipino"),
    "fr_BE": ("French (Belgium)", "Français (Belgique)"),
    "fr_CA": ("French (Canada)", "Français (Canada)"),
    "fr_CH": ("French (Switzerland)", "Français (Suisse)"),
    "fr_FR": ("French", "Français"),
    "ga_IE": ("Irish", "Gaeilge"),
    "gl_ES": ("Galician", "Galego"),
    "gu_IN": ("Gujarati", "ગુજરાતી"),
    "he_IL": ("Hebrew", "עברית"),
    "hi_IN": ("Hindi", "हिन्दी"),
    "hr_HR": ("Croatian", "Hrvatski"),
    "hu_HU": ("Hungarian", "Magyar"),
    "hy_AM": ("Armenian", "Հայերեն"),
    "id_ID": ("Indonesian", "Bahasa Indonesia"),
    "is_IS": ("Icelandic", "Íslenska"),
    "it_IT": ("Italian", "Italiano"),
    "ja_JP": ("Japanese", "日本語"),
    "ka_GE": ("Georgian", "ქართული"),
    "kk_KZ": ("Kazakh", "Қазақ тілі"),
    "km_KH": ("Khmer", "ភាសាខ្មែរ"),
    "kn_IN": ("Kannada", "ಕನ್ನಡ"),
    "ko_KR": ("Korean", "한국어"),
    "la_VA": ("Latin", "Latina"),
    "lt_LT": ("Lithuanian", "Lietuvių"),
    "lv_LV": ("Latvian", "Latviešu"),
    "mk_MK": ("Macedonian", "Македонски"),
    "ml_IN": ("Malayalam", "മലയാളം"),
    "mn_MN": ("Mongolian", "Монгол"),
    "mr_IN": ("Marathi", "मराठी"),
    "ms_MY": ("Malay", "Bahasa Melayu"),
    "nb_NO": ("Norwegian (Bokmål)", "Norsk (bokmål)"),
    "ne_NP": ("Nepali", "नेपाली"),
    "nl_BE": ("Dutch (Belgium)", "Nederlands (België)"),
    "nl_NL": ("Dutch", "Nederlands"),
    "nn_NO": ("Norwegian (Nynorsk)", "Norsk (nynorsk)"),
    "pa_IN": ("Punjabi", "ਪੰਜਾਬੀ"),
    "pl_PL": ("Polish", "Polski"),
    "pt_BR": ("Portuguese (Brazil)", "Português (Brasil)"),
    "pt_PT": ("Portuguese (Portugal)", "Português (Portugal)"),
    "ro_RO": ("Romanian", "Română"),
    "ru_RU": ("Russian", "Русский"),
    "sk_SK": ("Slovak", "Slovenčina"),
    "sl_SI": ("Slovenian", "Slovenščina"),
    "sq_AL": ("Albanian", "Shqip"),
    "sr_RS": ("Serbian", "Српски"),
    "sv_SE": ("Swedish", "Svenska"),
    "sw_KE": ("Swahili", "Kiswahili"),
    "ta_IN": ("Tamil", "தமிழ்"),
    "te_IN": ("Telugu", "తెలుగు"),
    "th_TH": ("Thai", "ภาษาไทย"),
    "tr_TR": ("Turkish", "Türkçe"),
    "uk_UA": ("Ukrainian", "Українська"),
    "ur_PK": ("Urdu", "اردو"),
    "uz_UZ": ("Uzbek", "Oʻzbekcha"),
    "vi_VN": ("Vietnamese", "Tiếng Việt"),
    "zh_CN": ("Chinese (Simplified)", "中文(简体)"),
    "zh_HK": ("Chinese (Hong Kong)", "中文(香港)"),
    "zh_TW": ("Chinese (Traditional)", "中文(繁體)"),
}

LOCALE_NAMES: dict[str, dict[str, str]] = {
    code: {"name_en": english, "name": native} for code, (english, native) in _NAMES.items()
}
"""Locale code -> ``{"name_en": ..., "name": ...}`` (``name`` is the native name)."""

RTL_LANGUAGES: frozenset[str] = frozenset(
    {"ar", "ckb", "dv", "fa", "he", "ku", "ps", "sd", "ug", "ur", "yi"}
)
"""Language subtags whose script is written right to left."""

_ONE_OTHER = "nplurals=2; plural=(n != 1);"
_ZERO_ONE_OTHER = "nplurals=2; plural=(n > 1);"
_ONLY_OTHER = "nplurals=1; plural=0;"
_EAST_SLAVIC = (
    "nplurals=3; plural=(n % 10 == 1 && n % 100 != 11 ? 0 : "
    "n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 10 || n % 100 >= 20) ? 1 : 2);"
)
_WEST_SLAVIC = "nplurals=3; plural=(n == 1 ? 0 : n >= 2 && n <= 4 ? 1 : 2);"

# language (or language_REGION when the region changes the rule) -> Plural-Forms value
PLURAL_FORMS: dict[str, str] = {
    **{
        lang: _ONE_OTHER
        for lang in (
            "af bg ca da de el en eo es et eu fi gl hu it kk ml mn nb ne nl nn pt_PT "
            "sq sv sw ta te tr ur uz az"
        ).split()
    },
    **{lang: _ZERO_ONE_OTHER for lang in "am bn fa fil fr gu hi hy kn mr pa pt pt_BR".split()},
    **{lang: _ONLY_OTHER for lang in "id ja ka km ko ms th vi zh".split()},
    **{lang: _EAST_SLAVIC for lang in "be bs hr ru sr uk".split()},
    **{lang: _WEST_SLAVIC for lang in "cs sk".split()},
    "pl": (
        "nplurals=3; plural=(n == 1 ? 0 : n % 10 >= 2 && n % 10 <= 4 && "
        "(n % 100 < 10 || n % 100 >= 20) ? 1 : 2);"
    ),
    "lt": (
        "nplurals=3; plural=(n % 10 == 1 && n % 100 != 11 ? 0 : "
        "n % 10 >= 2 && (n % 100 < 10 || n % 100 >= 20) ? 1 : 2);"
    ),
    "lv": "nplurals=3; plural=(n % 10 == 1 && n % 100 != 11 ? 0 : n != 0 ? 1 : 2);",
    "ro": "nplurals=3; plural=(n == 1 ? 0 : (n == 0 || (n % 100 > 0 && n % 100 < 20)) ? 1 : 2);",
    "sl": "nplurals=4; plural=(n % 100 == 1 ? 0 : n % 100 == 2 ? 1 : n % 100 == 3 || n % 100 == 4 ? 2 : 3);",
    "he": "nplurals=3; plural=(n == 1 ? 0 : n == 2 ? 1 : 2);",
    "ga": "nplurals=5; plural=(n == 1 ? 0 : n == 2 ? 1 : n < 7 ? 2 : n < 11 ? 3 : 4);",
    "cy": "nplurals=4; plural=(n == 1 ? 0 : n == 2 ? 1 : n != 8 && n != 11 ? 2 : 3);",
    "is": "nplurals=2; plural=(n % 10 != 1 || n % 100 == 11);",
    "mk": "nplurals=2; plural=(n % 10 != 1 || n % 100 == 11);",
    "ar": (
        "nplurals=6; plural=(n == 0 ? 0 : n == 1 ? 1 : n == 2 ? 2 : "
        "n % 100 >= 3 && n % 100 <= 10 ? 3 : n % 100 >= 11 ? 4 : 5);"
    ),
}


def plural_forms_for(code: str) -> str:
    """Return the gettext ``Plural-Forms`` value for a locale code.

    The most specific entry wins (``pt_BR`` before ``pt``); unknown languages
    get the English rule (``n != 1``), which translators can then correct.
    """
    normalized = code.replace("-", "_")
    language = normalized.split("_")[0].lower()
    return PLURAL_FORMS.get(normalized, PLURAL_FORMS.get(language, _ONE_OTHER))
