"""The pages in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser).

Screenshots go to test-artifacts/web/ for a person to look at.
"""

from __future__ import annotations

import re

import pytest

from edge.config import load_site
from edge.rules import DecisionCore
from tests.edge.web.conftest import ARTIFACTS, PASSWORD, Server, login_page

# Where the new crosswalk's corners are clicked, as fractions of the picture.
DRAWN = [(0.30, 0.75), (0.88, 0.62), (0.88, 0.78), (0.40, 0.88)]


def _click_at(page, fraction: tuple[float, float]) -> None:  # type: ignore[no-untyped-def]
    box = page.locator("#zone-canvas").bounding_box()
    page.mouse.click(box["x"] + fraction[0] * box["width"], box["y"] + fraction[1] * box["height"])


def test_operator_draws_a_crosswalk_saves_and_sees_it_after_reload(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    page = login_page(browser, server, "operator")
    page.click("#nav-zone_editor")
    page.wait_for_url(f"{server.url}/zones")
    page.wait_for_function("() => document.querySelectorAll('#crosswalk-select option').length === 1")
    page.wait_for_function("() => document.getElementById('zone-canvas').width === 640")  # the camera picture loaded
    page.click("#redraw")
    for corner in DRAWN:
        _click_at(page, corner)
    page.screenshot(path=ARTIFACTS / "zones-drawing.png")
    page.click("#finish")
    # Drag the last corner a little, as a person correcting a click would.
    box = page.locator("#zone-canvas").bounding_box()
    start = (box["x"] + DRAWN[3][0] * box["width"], box["y"] + DRAWN[3][1] * box["height"])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 0.02 * box["width"], start[1], steps=5)
    page.mouse.up()
    page.wait_for_function("() => !document.getElementById('save').disabled")
    page.fill("#save-note", "redrawn in the browser test")
    page.click("#save")
    page.wait_for_function("() => document.getElementById('save-status').textContent.includes('saved as version')")
    assert "applied" in page.inner_text("#save-status")
    page.screenshot(path=ARTIFACTS / "zones-saved.png")

    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#history tr').length === 3")  # header + 2 versions
    zones = page.evaluate("fetch('/api/zones').then(r => r.json())")
    polygon = zones["crosswalks"][0]["polygon"]
    expected = [*DRAWN[:3], (DRAWN[3][0] + 0.02, DRAWN[3][1])]
    assert len(polygon) == 4
    for (x, y), (ex, ey) in zip(polygon, expected, strict=True):
        assert abs(x - ex) < 0.01 and abs(y - ey) < 0.01, (polygon, expected)
    page.screenshot(path=ARTIFACTS / "zones-after-reload.png")
    page.close()

    site = load_site(server.site_path)
    assert site.crosswalks[0].polygon == [tuple(p) for p in polygon]
    core = DecisionCore(site, 640, 352)
    assert core.crosswalks[0][1].crosswalk[0].tolist() == pytest.approx([polygon[0][0] * 640, polygon[0][1] * 352])
    assert server.applied and server.applied[-1].crosswalks[0].polygon == site.crosswalks[0].polygon


def test_operator_adds_a_second_crosswalk(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    page = login_page(browser, server, "operator")
    page.goto("/zones")
    page.wait_for_function("() => document.querySelectorAll('#crosswalk-select option').length === 1")
    page.click("#add-crosswalk")
    page.fill("#new-id", "cw-east")
    page.fill("#new-group", "ped-east")
    page.click("#create-crosswalk")
    page.fill("#curb0-input", "west")
    page.fill("#curb1-input", "east")
    page.press("#curb1-input", "Tab")
    page.click("#redraw")
    for corner in [(0.45, 0.20), (0.55, 0.20), (0.55, 0.30), (0.45, 0.30)]:
        _click_at(page, corner)
    page.click("#finish")
    page.wait_for_function("() => !document.getElementById('save').disabled")
    page.click("#save")
    page.wait_for_function("() => document.getElementById('save-status').textContent.includes('saved as version')")
    page.screenshot(path=ARTIFACTS / "zones-second-crosswalk.png")
    page.close()
    site = load_site(server.site_path)
    east = site.crosswalk("cw-east")
    assert east.signal_group == "ped-east" and [c.name for c in east.curbs] == ["west", "east"]
    assert east.polygon[0] == pytest.approx((0.45, 0.20), abs=0.01)
    assert [c.id for c in site.crosswalks] == ["cw-main", "cw-east"]


def test_viewer_cannot_reach_the_zone_editor(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    page = login_page(browser, server, "viewer")
    assert page.locator("#nav-zone_editor").count() == 0
    response = page.goto("/zones")
    assert response.status == 403
    assert "may not use this page" in page.inner_text("#error-message")
    page.screenshot(path=ARTIFACTS / "viewer-zones-refused.png")
    page.close()


def test_dashboard_and_live_view_render(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    page = login_page(browser, server, "viewer")
    assert "Dashboard" in page.inner_text("h1")
    card = page.locator("#crosswalk-cw-main")
    assert "signal group ped-main" in card.inner_text()
    assert page.inner_text("#signal-cw-main") == "DON'T WALK"
    assert "(1 min 0" in card.inner_text()  # since 65 s ago
    assert "timeline" in card.locator(".sources").inner_text()
    today = page.inner_text("#today-cw-main")  # six crossings today, one a violation; yesterday's is left out
    assert "6\ncrossings" in today and "1\nviolations" in today and "16.7%" in today  # CLDR's English percent
    assert "41.5 ms" in page.inner_text("#box-camera")
    assert "connection refused" in page.inner_text("#box-devices")
    assert "2 report(s) waiting" in page.inner_text("#box-mqtt")
    rows = page.locator("#hourly-cw-main tr").all_inner_texts()
    cells = [[cell.strip() for cell in row.split("\t")] for row in rows[1:]]
    assert sum(int(c[1]) for c in cells) == 6  # the hours up to now, newest first
    assert all(c[3] == "—" for c in cells if c[1] == "0")  # an hour nobody crossed has no rate
    page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)
    page.goto("/live")
    page.wait_for_function("() => document.getElementById('live-picture').naturalWidth === 640")
    page.screenshot(path=ARTIFACTS / "live.png")
    page.close()


def test_admin_adds_an_account_in_the_browser(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    page = login_page(browser, server, "admin")
    page.goto("/users")
    page.fill("#new-name", "officer7")
    page.select_option("#new-role", "police")
    page.fill("#new-password", "short")
    page.click("#add-user button")
    page.wait_for_function("() => document.getElementById('add-user-result').textContent.includes('at least')")
    page.fill("#new-password", PASSWORD)
    page.click("#add-user button")
    page.wait_for_function("() => document.getElementById('users').textContent.includes('officer7')")
    assert "police" in page.inner_text("#users")
    page.screenshot(path=ARTIFACTS / "users.png")
    page.close()


def test_admin_disables_an_account_and_it_can_no_longer_log_in(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    officer = login_page(browser, server, "police")
    page = login_page(browser, server, "admin", "/users")
    page.on("dialog", lambda dialog: dialog.accept())  # "Disable police? ..." is asked first
    page.click("#user-police .user-toggle")
    page.wait_for_function("() => document.querySelector('#user-police .user-state').textContent === 'disabled'")
    assert page.inner_text("#user-police .user-toggle") == "Enable"
    latest = page.locator("#account-changes tr").nth(1).inner_text()
    assert "admin (web)" in latest and "disable" in latest and "police" in latest
    page.screenshot(path=ARTIFACTS / "users-disabled.png", full_page=True)

    page.click("#user-admin .user-toggle")  # the last enabled admin is refused, with the reason shown
    page.wait_for_function("() => document.getElementById('users-result').textContent.includes('last enabled admin')")
    page.close()

    officer.reload()  # the disabled account's open session ended at once
    officer.wait_for_url(f"{server.url}/login?next=/")
    officer.fill("#name", "police")
    officer.fill("#password", PASSWORD)
    officer.click("#login-submit")
    assert "wrong name or password" in officer.inner_text("#login-error")
    officer.screenshot(path=ARTIFACTS / "disabled-login-refused.png")
    officer.close()


def test_no_script_errors_on_any_page(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    page = login_page(browser, server, "admin")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    for path in ("/", "/live", "/zones", "/devices", "/users"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    page.close()
    assert errors == []


def test_revert_shows_whether_the_service_took_it(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    page = login_page(browser, server, "operator", "/zones")
    page.wait_for_function("() => document.getElementById('zone-canvas').width === 640")
    page.evaluate(
        """async () => {
          const z = await (await fetch('/api/zones')).json();
          z.crosswalks[0].polygon[0] = [0.31, 0.74];
          const body = {crosswalks: z.crosswalks, base_sha256: z.sha256, note: 'moved'};
          await api('PUT', '/api/zones', body);
        }"""
    )

    def refuse(site: object) -> None:
        raise RuntimeError("camera pipeline is restarting")

    server.context.apply_site = refuse
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#history button.revert').length === 1")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#history button.revert")
    page.wait_for_function("() => document.getElementById('save-status').textContent.includes('version 3')")
    status = page.inner_text("#save-status")
    assert "NOT applied" in status and "restarting" in status, status
    page.screenshot(path=ARTIFACTS / "zones-revert-not-applied.png")
    page.close()


def test_users_page_shows_the_servers_reason_and_asks_before_destructive_changes(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    page = login_page(browser, server, "admin", "/users")
    assert page.input_value("#new-role") == ""  # no default role, least of all admin
    page.fill("#new-name", "officer 7")
    page.select_option("#new-role", "police")
    page.fill("#new-password", PASSWORD)
    page.click("#add-user button")
    page.wait_for_function("() => document.getElementById('add-user-result').textContent.includes('user name')")
    assert "HTTP" not in page.inner_text("#add-user-result")
    page.fill("#user-viewer .user-password", "")
    page.click("#user-viewer .user-reset")
    page.wait_for_function("() => document.getElementById('users-result').textContent.includes('at least 12')")

    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#user-operator .user-toggle")  # cancelled: nothing changes
    assert asked and "Disable operator" in asked[0]
    assert page.inner_text("#user-operator .user-state") == "enabled"

    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.select_option("#user-admin .user-role", "viewer")  # the last admin: refused by the server
    page.wait_for_function("() => document.getElementById('users-result').textContent.includes('last enabled admin')")
    assert "Take admin rights" in asked[-1]
    assert page.input_value("#user-admin .user-role") == "admin"  # the refused value is not left showing
    page.screenshot(path=ARTIFACTS / "users-refused.png", full_page=True)
    page.close()


def test_users_page_in_chinese_gives_the_servers_reason_in_chinese(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    """A refused change on the zh-CN page: the reason in Chinese, the names in it as they are; the accounts'
    dates in Chinese form, the site's local time with UTC under it."""
    page = login_page(browser, server, "admin", "/users", locale="zh-CN", width=1280)
    created = page.inner_text("#user-admin td:nth-child(4)")
    assert re.fullmatch(r"20\d\d年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d C[SD]T\n20\d\d年.* UTC", created), created
    page.once("dialog", lambda dialog: dialog.accept())
    page.select_option("#user-admin .user-role", "viewer")  # the last admin: refused by the server
    page.wait_for_function("() => document.getElementById('users-result').textContent !== ''")
    assert page.inner_text("#users-result") == (
        "admin: 无法将“admin”改为 viewer：“admin”是最后一个启用的管理员；请先将另一个账户设为管理员"
    )
    assert page.input_value("#user-admin .user-role") == "admin"
    page.fill("#new-name", "officer 7")
    page.select_option("#new-role", "police")
    page.fill("#new-password", PASSWORD)
    page.click("#add-user button")
    page.wait_for_function("() => document.getElementById('add-user-result').textContent !== ''")
    assert page.inner_text("#add-user-result") == "用户名“officer 7”必须为 1-64 个字母、数字或 . _ @ -"
    page.screenshot(path=ARTIFACTS / "users-refused-zh.png", full_page=True)
    page.close()


def test_zone_history_dates_in_chinese_from_the_page_script(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    """The history table the zone editor's script builds: the site's local time through Intl.DateTimeFormat in the
    page's language, and the UTC time under it."""
    page = login_page(browser, server, "operator", "/zones")  # a browser in English ...
    page.click("#language-zh_CN")  # ... showing the Chinese page: the page's lang decides
    page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
    page.fill("#save-note", "checked the curb")
    page.click("#save")
    page.wait_for_function("() => document.querySelectorAll('#history tr').length === 3")
    saved = page.inner_text("#history tr:nth-child(2) td:nth-child(2)")
    assert re.fullmatch(r"20\d\d年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d\n20\d\d年.* UTC", saved), saved
    assert page.inner_text("#history tr:nth-child(1) th:nth-child(2)") == "保存时间"
    page.close()


def test_standalone_save_says_it_applies_when_the_service_starts(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    server.context.live = None  # as under `crossguard ui`
    page = login_page(browser, server, "operator", "/zones")
    page.wait_for_function("() => document.getElementById('zone-canvas').width === 640")
    page.fill("#save-note", "checked the curb")
    page.click("#save")
    page.wait_for_function("() => document.getElementById('save-status').textContent.includes('saved as version')")
    assert "will apply when the service starts" in page.inner_text("#save-status")
    page.goto("/live")
    assert "No live service is attached" in page.inner_text("#live-notice")
    page.close()


def test_zone_editor_explains_itself(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    """Plain rule labels with units, errors beside the picture naming the corner, a legend, the note
    cleared after saving, and a question before leaving with unsaved edits."""
    page = login_page(browser, server, "operator", "/zones")
    page.wait_for_function("() => document.getElementById('zone-canvas').width === 640")
    page.wait_for_function("() => document.querySelectorAll('#rules .rule').length > 5")
    assert page.inner_text("label[for=rule-min_penetration]") == "How far in counts as crossing"
    assert page.input_value("#rule-min_penetration") == "8"  # the demo site's 0.08 of the depth, shown as %
    assert "depth" in page.inner_text("#rule-min_penetration-help")
    assert page.inner_text("label[for=rule-grace_s] ~ .unit") == "s"
    assert page.locator("#zone-legend").is_visible() and "crosswalk" in page.inner_text("#zone-legend")

    # Drag corner 1 of the crosswalk past the picture's left edge: the error names it, beside the picture.
    zones = page.evaluate("fetch('/api/zones').then(r => r.json())")
    x, y = zones["crosswalks"][0]["polygon"][0]
    box = page.locator("#zone-canvas").bounding_box()
    page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] - 40, box["y"] + y * box["height"], steps=6)
    page.mouse.up()
    page.wait_for_function("() => document.getElementById('issues').textContent.includes('outside the picture')")
    issue = page.inner_text("#issues")
    assert "cw-main, crosswalk shape: corner 1 (" in issue, issue
    assert page.is_disabled("#save")
    canvas, issues = page.locator("#zone-canvas").bounding_box(), page.locator("#issues").bounding_box()
    assert issues["y"] < canvas["y"] + canvas["height"]  # beside the picture, not below the fold
    page.screenshot(path=ARTIFACTS / "zones-corner-outside.png")
    page.click("#reload")  # Discard
    page.wait_for_function("() => document.getElementById('issues').textContent === ''")

    page.fill("#rule-min_penetration", "20")
    page.press("#rule-min_penetration", "Tab")
    page.wait_for_function("() => !document.getElementById('save').disabled")
    page.fill("#save-note", "deeper entry before it counts")
    page.click("#save")
    page.wait_for_function("() => document.getElementById('save-status').textContent.includes('saved as version')")
    assert page.input_value("#save-note") == ""
    assert load_site(server.site_path).crosswalks[0].rules.min_penetration == pytest.approx(0.2)

    page.fill("#rule-grace_s", "2")
    page.press("#rule-grace_s", "Tab")
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    page.click("#nav-dashboard")
    page.wait_for_url(f"{server.url}/")
    assert asked == ["beforeunload"]
    page.close()
