"""Chinese (zh-CN) and English: every marked message has a translation, pages follow the browser's
language and the header's switch, and the translated pages show no English words of their own."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.users import Role
from edge.web.i18n import LOCALE_DIR
from tests.conftest import REPO
from tests.edge.web.conftest import Server

WEB = REPO / "edge" / "web"
METHODS = [
    ("**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("static/**.js", "javascript"),
]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
# The traffic centre's pages use the same catalogue (its vendored Chart.js is not page text).
CENTRE_METHODS = [
    ("**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("static/centre.js", "javascript"),
    ("static/analytics.js", "javascript"),
]
# Every page (the evidence pages are checked in the browser test of the review). Words that come from
# data (names, the status report's details) are allowed below.
TRANSLATED_PAGES = {
    "/login": None, "/": Role.VIEWER, "/live": Role.VIEWER, "/zones": Role.OPERATOR, "/devices": Role.OPERATOR,
    "/users": Role.ADMIN,
}  # fmt: skip


def _catalogue() -> dict[str, str]:
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


# As scripts/i18n.sh extracts: page text, Python's N_() and Text(), and the account refusals of edge/users.py.
KEYWORDS = {"_": None, "gettext": None, "N_": None, "t": None, "Text": None,
            "UserError": None, "NoSuchUser": None, "LastAdmin": None, "_keep_an_admin": (3,)}  # fmt: skip


def test_every_marked_message_has_a_chinese_translation() -> None:
    found = {
        found[2]
        for folder, methods in ((WEB, METHODS), (REPO / "edge" / "centre", CENTRE_METHODS))
        for found in extract_from_dir(folder, methods, options_map=OPTIONS, keywords=KEYWORDS)
        if isinstance(found[2], str)
    }
    refusals = {
        found[2]
        for found in extract_from_dir(REPO / "edge", [("users.py", "python")], keywords=KEYWORDS)
        if isinstance(found[2], str)
    }
    assert len(found) > 100 and "City overview" in found and "sending {name} {value} to {box}…" in found
    assert "the zones have errors; nothing was saved" in found
    assert "user '{name}' already exists" in refusals
    found |= refusals
    missing = sorted(found - set(_catalogue()))
    assert not missing, f"untranslated (run scripts/i18n.sh and translate): {missing}"


class _Text(HTMLParser):
    """The text a person sees (and the alt/aria-label/placeholder a screen reader says)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code", "pre", "title"):
            self._skip += 1
        for key, value in attrs:
            if key in ("alt", "aria-label", "placeholder") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "pre", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def english_words(html: str, allowed: set[str]) -> set[str]:
    parser = _Text()
    parser.feed(html)
    words = set(re.findall(r"[A-Za-z][A-Za-z'’-]+", " ".join(parser.parts)))
    return {w for w in words if w not in allowed}


# Names and values that are data, not UI text: product, the test's logins, units, codes, and the account
# audit's stored detail ("as admin", "admin (web)", "local" for the command line).
DATA = {"crossguard", "English", "admin", "operator", "police", "viewer", "HTTP", "UTC", "Esc", "Enter", "YYYY", "MM",
        "DD", "local", "web", "LED", "as", "cw-east", "ped-east", "GB", "MQTT",
        # the test site's names and zone, and its status report's own details (made by the service)
        "cw-main", "ped-main", "America", "Chicago", "timeline", "speaker", "sign", "alpha", "audio",
        "connected", "outbox", "connection", "refused", "event", "journal", "written",
        # the site zone's abbreviation after a local time
        "CST", "CDT"}  # fmt: skip


@pytest.mark.parametrize("path", list(TRANSLATED_PAGES))
def test_translated_pages_show_no_english_words(shared_server: Server, path: str) -> None:
    role = TRANSLATED_PAGES[path]
    headers = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    client = shared_server.login(role, headers=headers) if role else shared_server.client(headers=headers)
    with client:
        page = client.get(path)
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
    assert english_words(page.text, DATA) == set(), path


def test_language_follows_the_browser_and_the_switch(shared_server: Server) -> None:
    with httpx.Client(base_url=shared_server.url, headers={"Accept-Language": "zh-CN"}) as client:
        assert "登录" in client.get("/login").text
        switched = client.get("/language/en", params={"next": "/login"})
        assert switched.status_code == 303 and switched.headers["location"] == "/login"
        client.cookies.set("cg_lang", "en")
        page = client.get("/login").text
        assert '<html lang="en">' in page and "Log in" in page and "登录" not in page
        assert client.get("/language/xx").status_code == 404
        assert client.get("/language/en", params={"next": "//evil.example"}).headers["location"] == "/"
    with httpx.Client(base_url=shared_server.url, headers={"Accept-Language": "fr-FR,fr"}) as client:
        assert '<html lang="en">' in client.get("/login").text  # no French: English
    assert Path(LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").is_file()


# ---- dates, numbers and server-made messages in the page's language ----------------------------

MOMENT = 1796644984.164  # 2026-12-07 12:03:04.164 UTC, 06:03:04 at the demo site (America/Chicago, CST)


@pytest.mark.parametrize(
    ("locale", "local", "local_ms", "clock", "utc", "number", "percent"),
    [
        ("en", "Dec 7, 2026, 6:03:04\u202fAM CST", "Dec 7, 2026, 6:03:04.164\u202fAM CST", "6:03:04\u202fAM",
         "Dec 7, 2026, 12:03:04\u202fPM UTC", "12,345.7", "25.3%"),
        ("zh_CN", "2026年12月7日 06:03:04 CST", "2026年12月7日 06:03:04.164 CST", "06:03:04",
         "2026年12月7日 12:03:04 UTC", "12,345.7", "25.3%"),
    ],
)  # fmt: skip
def test_dates_and_numbers_follow_the_page_language(
    locale: str, local: str, local_ms: str, clock: str, utc: str, number: str, percent: str
) -> None:
    from edge.web import i18n
    from edge.web.app import day_text, local_clock, local_time, number_text, percent_text, utc_text

    i18n.set_current(locale)
    try:
        assert local_time(MOMENT, "America/Chicago") == local
        assert local_time(MOMENT, "America/Chicago", ms=True) == local_ms
        assert local_clock(MOMENT, "America/Chicago") == clock
        assert utc_text(MOMENT) == utc
        assert number_text(12345.67, 1) == number and percent_text(0.2534) == percent
        assert number_text(None) == percent_text(None) == "—" and local_time(None, "UTC") == ""
        assert day_text(date(2026, 12, 7)) == ("2026年12月7日" if locale == "zh_CN" else "Dec 7, 2026")
    finally:
        i18n.set_current(i18n.DEFAULT)


def test_server_refusals_follow_the_page_language(shared_server: Server) -> None:
    """The account store's refusal, a zone check's finding and a route's own refusal, in Chinese for a Chinese
    page, with the names they mention kept as they are; English callers get English."""
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    with shared_server.login(Role.ADMIN, headers=zh) as client:
        taken = client.post("/api/users", json={"name": "viewer", "role": "viewer", "password": "x" * 14})
        assert taken.status_code == 422 and taken.json()["detail"] == "用户“viewer”已存在"
        gone = client.put("/api/users/nobody/role", json={"role": "viewer"})
        assert gone.status_code == 404 and gone.json()["detail"] == "没有名为“nobody”的用户"
        zones = client.get("/api/zones").json()
        crosswalks = zones["crosswalks"]
        crosswalks[0]["polygon"][0] = [1.4, 0.5]
        found = client.post("/api/zones/validate", json={"crosswalks": crosswalks}).json()
        assert any(i["message"] == "角点 1（1.400, 0.500）在画面之外" for i in found["issues"]), found
        saved = client.put("/api/zones", json={"crosswalks": crosswalks, "base_sha256": zones["sha256"]})
        assert saved.status_code == 422 and saved.json()["detail"] == "区域有错误；未保存任何内容"
    with shared_server.login(Role.ADMIN) as client:
        taken = client.post("/api/users", json={"name": "viewer", "role": "viewer", "password": "x" * 14})
        assert taken.json()["detail"] == "user 'viewer' already exists"
    with shared_server.login(Role.VIEWER, headers=zh) as client:
        assert client.get("/api/users").json()["detail"] == "角色“viewer”无权使用此页面"


# ---- pydantic's validation errors in the page's language ----------------------------------------


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace_s: float = Field(ge=0, le=10)
    penetration: float = Field(gt=0, lt=1)
    count: int = 1
    on: bool = True
    name: str = Field("x", min_length=1, max_length=4)
    mode: Literal["strict", "lenient"] = "strict"
    points: list[int] = Field(default_factory=lambda: [1], min_length=1, max_length=2)
    day: date | None = None


@pytest.mark.parametrize(
    ("data", "kind", "loc", "english", "chinese"),
    [
        ({"grace_s": -1}, "greater_than_equal", ("grace_s",), "Input should be greater than or equal to 0",
         "输入值应大于或等于 0"),
        ({"grace_s": 11}, "less_than_equal", ("grace_s",), "Input should be less than or equal to 10",
         "输入值应小于或等于 10"),
        ({"penetration": 0}, "greater_than", ("penetration",), "Input should be greater than 0", "输入值应大于 0"),
        ({"penetration": 1}, "less_than", ("penetration",), "Input should be less than 1", "输入值应小于 1"),
        ({"penetration": 0.5}, "missing", ("grace_s",), "Field required", "必填字段"),
        ({"surplus": 1}, "extra_forbidden", ("surplus",), "Extra inputs are not permitted", "不允许多余的字段"),
        ({"grace_s": "soon"}, "float_parsing", ("grace_s",),
         "Input should be a valid number, unable to parse string as a number",
         "输入值应为有效数字，无法将文本解析为数字"),
        ({"count": "two"}, "int_parsing", ("count",),
         "Input should be a valid integer, unable to parse string as an integer",
         "输入值应为有效整数，无法将文本解析为整数"),
        ({"on": "maybe"}, "bool_parsing", ("on",), "Input should be a valid boolean, unable to interpret input",
         "输入值应为有效布尔值，无法识别输入"),
        ({"name": ""}, "string_too_short", ("name",), "String should have at least 1 characters",
         "文本应至少有 1 个字符"),
        ({"name": "abcde"}, "string_too_long", ("name",), "String should have at most 4 characters",
         "文本最多只能有 4 个字符"),
        ({"mode": "loose"}, "literal_error", ("mode",), "Input should be 'strict' or 'lenient'",
         "输入值应为 'strict' or 'lenient'"),
        ({"points": []}, "too_short", ("points",), "Should have at least 1 items, not 0", "应至少有 1 项，而不是 0 项"),
        ({"points": [1, 2, 3]}, "too_long", ("points",), "Should have at most 2 items, not 3",
         "最多只能有 2 项，而不是 3 项"),
        ({"day": "7 Dec"}, "date_from_datetime_parsing", ("day",),
         "Input should be a valid date in the format YYYY-MM-DD", "输入值应为 YYYY-MM-DD 格式的有效日期"),
    ],
)  # fmt: skip
def test_validation_errors_follow_the_page_language(
    data: dict[str, object], kind: str, loc: tuple[str, ...], english: str, chinese: str
) -> None:
    from edge.web import i18n

    base = {"grace_s": 1, "penetration": 0.5}
    with pytest.raises(ValidationError) as caught:
        _Form.model_validate({**base, **data} if kind != "missing" else data)
    error = next(e for e in caught.value.errors() if e["loc"] == loc)
    assert error["type"] == kind
    message = i18n.validation_message(error)
    assert str(message) == english  # logs and the JSON API's English callers
    for locale, expected in (("en", english), ("zh_CN", chinese)):
        i18n.set_current(locale)
        try:
            assert i18n.translate(message) == expected
        finally:
            i18n.set_current(i18n.DEFAULT)


def test_own_and_unknown_validation_messages() -> None:
    """The config models' refusals the zone editor meets are translated with their names kept; a message of
    a type not in the table stays as pydantic wrote it (braces and all)."""
    from edge.web import i18n

    own = i18n.validation_message({"type": "value_error", "msg": "Value error, polygon needs at least 3 points, got 2"})
    odd = i18n.validation_message({"type": "url_parsing", "msg": "Input should be a valid URL, {odd}"})
    assert str(own) == "polygon needs at least 3 points, got 2" and str(odd) == "Input should be a valid URL, {odd}"
    i18n.set_current("zh_CN")
    try:
        assert i18n.translate(own) == "polygon 至少需要 3 个点，实际为 2 个"
        assert i18n.translate(odd) == "Input should be a valid URL, {odd}"
    finally:
        i18n.set_current(i18n.DEFAULT)


def test_validation_refusals_over_http_follow_the_page_language(shared_server: Server) -> None:
    """A rule out of range in the zone editor and a bad query of a JSON route: the message in the page's
    language, the field path as it is."""
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    for headers, cookies, grace, limit, points in (
        (zh, {}, "输入值应大于或等于 0", "输入值应大于或等于 1", "至少需要 3 个点，实际为 2 个"),
        (zh, {"cg_lang": "en"}, "Input should be greater than or equal to 0",
         "Input should be greater than or equal to 1", "needs at least 3 points, got 2"),
        ({}, {}, "Input should be greater than or equal to 0", "Input should be greater than or equal to 1",
         "needs at least 3 points, got 2"),
    ):  # fmt: skip
        with shared_server.login(Role.ADMIN, headers=headers) as client:
            client.cookies.update(cookies)
            crosswalks = client.get("/api/zones").json()["crosswalks"]
            crosswalks[0]["rules"]["grace_s"] = -1
            crosswalks[0]["polygon"] = crosswalks[0]["polygon"][:2]
            issues = client.post("/api/zones/validate", json={"crosswalks": crosswalks}).json()["issues"]
            messages = {i["key"]: i["message"] for i in issues}
            assert messages["crosswalks[0].rules.grace_s"] == grace, issues
            assert messages["crosswalks[0].polygon"].endswith(points), issues
            refused = client.get("/api/evidence", params={"limit": 0})
        assert refused.status_code == 422
        assert refused.json()["detail"] == [{"loc": ["query", "limit"], "msg": limit}]
