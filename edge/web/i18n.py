"""The UI's languages: English (the source text) and Simplified Chinese, from gettext catalogues.

Page text is marked in the templates (``{% trans %}``, ``_()``) and in the page scripts (``t()``);
``scripts/i18n.sh`` extracts it into ``messages.pot`` and updates ``locale/<lang>/LC_MESSAGES/
messages.po``. Only the ``.po`` files are kept in the repository: they are compiled in memory when
the UI starts, so there is no build step and no generated file to forget. The language is the one
picked in the header (``cg_lang`` cookie), else the browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

import contextvars
import io
import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations
from starlette.requests import Request

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
DEFAULT = "en"
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}  # each in its own language, for the switch
LANG_COOKIE = "cg_lang"
# The page being rendered's language: the template's gettext callables read it.
_current: contextvars.ContextVar[str] = contextvars.ContextVar("cg_locale", default=DEFAULT)


@cache
def translations(locale: str) -> NullTranslations:
    """The catalogue of ``locale``, compiled from its ``.po`` in memory; English needs none."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == DEFAULT or not po.is_file():
        return NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out: an unchecked guess is not shown
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def choose_locale(request: Request) -> str:
    """The header switch's choice, else the best match for the browser's languages, else English."""
    picked = request.cookies.get(LANG_COOKIE, "")
    if picked in LANGUAGES:
        return picked
    wanted = []
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag and tag != "*":
            wanted.append(tag)
    # zh, zh-CN, zh-Hans, zh-SG all read Simplified Chinese.
    wanted = ["zh_CN" if w.lower().startswith("zh") and "tw" not in w.lower() and "hk" not in w.lower() else w
              for w in wanted]  # fmt: skip
    return negotiate_locale(wanted, list(LANGUAGES), sep="_") or DEFAULT


def N_(message: str) -> str:  # gettext's name for it
    """Marks a message for the catalogue where it is made; the page translates it when it shows it."""
    return message


def set_current(locale: str) -> None:
    _current.set(locale)


def current() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


class Text(str):
    """A message made in Python for a person (a refusal, a check's finding): in English wherever it is used as a
    string (logs, the JSON API's callers), and translated where it reaches a page by ``translate``.

    The ``{name}`` fields are filled in after translating, so names of fields, corners and accounts stay as
    they are. ``scripts/i18n.sh`` extracts ``Text("...")`` into the catalogue like ``N_``.
    """

    template: str
    values: dict[str, object]

    def __new__(cls, template: str, **values: object) -> Text:
        made = super().__new__(cls, template.format(**values) if values else template)
        made.template, made.values = template, values
        return made


def translate(message: object, template: str | None = None, values: dict[str, object] | None = None) -> object:
    """``message`` in the current page's language when it is a ``Text`` (or its ``template`` and ``values`` are
    given, as an exception from outside the UI carries them); anything else as it is."""
    if isinstance(message, Text):
        template, values = message.template, message.values
    if template is None:
        return message
    text = gettext(template)
    try:
        return text.format(**(values or {}))
    except (KeyError, IndexError, ValueError):  # a translation that names a field the message lacks
        return template.format(**(values or {}))


def use_request_locale(request: Request) -> str:
    """Make ``request``'s language the current one (for ``translate`` and the templates) and return it."""
    locale = choose_locale(request)
    set_current(locale)
    return locale


# ---- dates and numbers in the page's language (CLDR data through Babel) ----------------------------


@cache
def _datetime_pattern(locale: str, ms: bool) -> str:
    """The locale's medium date and time pattern (``y年M月d日 HH:mm:ss``, ``MMM d, y, h:mm:ss a``),
    with milliseconds after the seconds when asked."""
    data = Locale.parse(locale)
    clock = data.time_formats["medium"].pattern
    if ms:
        clock = clock.replace("ss", "ss.SSS")
    combined = str(data.datetime_formats["medium"])
    return combined.replace("{1}", data.date_formats["medium"].pattern).replace("{0}", clock)


def date_time_text(moment: datetime, ms: bool = False) -> str:
    """``moment`` (zone-aware) as a date and time of the current page's language."""
    return format_datetime(moment, _datetime_pattern(current(), ms), tzinfo=moment.tzinfo, locale=current())


def clock_text(moment: datetime) -> str:
    """``moment``'s time of day in the current page's language (``12:03:04``, ``12:03:04 PM``)."""
    return format_time(moment, "medium", tzinfo=moment.tzinfo, locale=current())


def day_text(day: date) -> str:
    """A calendar day in the current page's language (``2026年12月7日``, ``Dec 7, 2026``)."""
    return format_date(day, "medium", locale=current())


def number_text(value: float, digits: int = 0) -> str:
    """A count or measure with ``digits`` decimals and the language's grouping and decimal signs."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, pattern, locale=current())


def percent_text(fraction: float, digits: int = 1) -> str:
    """A fraction (0.253) as a percentage of the page's language (``25.3%``)."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(fraction, pattern, locale=current())


def html_lang(locale: str) -> str:
    """``zh_CN`` as an HTML ``lang`` value, ``zh-CN``."""
    return locale.replace("_", "-")


@cache
def js_catalogue(locale: str) -> dict[str, str]:
    """The messages of ``locale`` for the page scripts' ``t()``: source text → translation (empty for English).

    The whole catalogue (a few hundred short lines) goes with each page: simpler than keeping a
    separate list of which messages the scripts use.
    """
    po = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == DEFAULT or not po.is_file():
        return {}
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


# Words the pages show from data (states, roles, picture names): listed here so they are in the catalogue.
DATA_WORDS = (
    N_("new"), N_("confirmed"), N_("rejected"), N_("verified"), N_("problem"), N_("unknown"),
    N_("admin"), N_("operator"), N_("police"), N_("viewer"),
    N_("add"), N_("role"), N_("disable"), N_("enable"), N_("delete"), N_("password"),
    N_("at the curb"), N_("entering"), N_("inside"), N_("close-up"),
    N_("clear-violation"), N_("not-a-person"), N_("wrong-signal"), N_("emergency-or-exempt"), N_("poor-image"),
    N_("zone-error"), N_("other"),
    N_("ok"), N_("degraded"), N_("down"), N_("connecting"), N_("live"), N_("lost"), N_("ended"), N_("stopped"),
    N_("frozen"), N_("uniform"), N_("missing"),
)  # fmt: skip


# ---- pydantic's validation errors in the page's language ---------------------------------------------

# Per error ``type``: the English template (filled from the error's ``ctx``). A type not listed keeps
# pydantic's own English message; the field path (``loc``) is never translated.
VALIDATION_MESSAGES = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "multiple_of": N_("Input should be a multiple of {multiple_of}"),
    "finite_number": N_("Input should be a finite number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "float_type": N_("Input should be a valid number"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_type": N_("Input should be a valid integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "bool_type": N_("Input should be a valid boolean"),
    "string_type": N_("Input should be a valid string"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "literal_error": N_("Input should be {expected}"),
    "enum": N_("Input should be {expected}"),
    "too_short": N_("Should have at least {min_length} items, not {actual_length}"),
    "too_long": N_("Should have at most {max_length} items, not {actual_length}"),
    "list_type": N_("Input should be a valid list"),
    "tuple_type": N_("Input should be a valid tuple"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary or object"),
    "model_attributes_type": N_("Input should be a valid dictionary or object"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD"),
    "date_from_datetime_parsing": N_("Input should be a valid date in the format YYYY-MM-DD"),
    "date_type": N_("Input should be a valid date"),
    "datetime_parsing": N_("Input should be a valid date and time"),
    "datetime_from_date_parsing": N_("Input should be a valid date and time"),
    "datetime_type": N_("Input should be a valid date and time"),
    "time_parsing": N_("Input should be in a valid time format"),
    "json_invalid": N_("Invalid JSON: {error}"),
    "union_tag_invalid": N_("Input tag '{tag}' found using '{discriminator}' does not match any of the expected tags: "
                            "{expected_tags}"),
    "union_tag_not_found": N_("Unable to extract tag using discriminator '{discriminator}'"),
}  # fmt: skip

# The config models' own refusals (``value_error``) that the zone editor can meet, as their English
# wording with ``{name}`` fields; matched on the message, so the models need not know of the UI.
OWN_VALUE_ERRORS = (
    N_("{name} needs at least 3 points, got {count}"),
    N_("{name} point ({x}, {y}) lies outside the picture: coordinates are fractions 0..1"),
    N_("{name} has no area"),
    N_("curbs[0].name and curbs[1].name are both '{name}'; name each end"),
    N_("crosswalks[].id must be unique; repeated: {ids}"),
    N_("crosswalk '{crosswalk}' names no camera; with several cameras each crosswalk needs camera: (one of {ids})"),
    N_("crosswalk '{crosswalk}' names unknown camera '{camera}'; cameras are {ids}"),
)


_AS_GIVEN = "{message}"  # not in the catalogue: the message stays as pydantic or the model wrote it


@cache
def _own_value_error_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    def pattern(template: str) -> re.Pattern[str]:
        parts = re.split(r"\{(\w+)\}", template)  # text, field, text, field, ..., text
        body = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        return re.compile(body + "$")

    return tuple((pattern(t), t) for t in OWN_VALUE_ERRORS)


def _plain(value: object) -> object:
    """A bound as pydantic writes it: ``0`` for a float field's ``ge=0`` (its ctx holds ``0.0``)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def validation_message(error: Mapping[str, Any]) -> Text:
    """A pydantic error's message as a ``Text`` (English as a string, translated by ``translate``),
    chosen by its ``type`` and filled from its ``ctx``; an unknown type keeps pydantic's English."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    msg = str(error.get("msg", ""))
    template = VALIDATION_MESSAGES.get(kind)
    if template is not None:
        fields = set(re.findall(r"\{(\w+)\}", template))
        if fields <= set(ctx):
            return Text(template, **{f: _plain(ctx[f]) for f in fields})
    if kind in ("value_error", "assertion_error"):
        own = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        for pattern, own_template in _own_value_error_patterns():
            found = pattern.match(own)
            if found:
                return Text(own_template, **found.groupdict())
        msg = own
    return Text(_AS_GIVEN, message=msg)
