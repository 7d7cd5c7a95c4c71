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
from functools import cache
from pathlib import Path

from babel import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
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
