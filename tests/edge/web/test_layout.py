"""Every page at a laptop's 1280 px and a phone's 390 px, for every role that may open it, in Chromium.

Nothing may run off the side of the page (a table may scroll inside its own box), the header's
buttons stay on one line, and the zone editor on a phone says it needs a wider screen.
Screenshots land in test-artifacts/web/layout/ for a person to look at.
"""

from __future__ import annotations

import pytest

from edge.users import Role
from tests.edge.web.conftest import ARTIFACTS, PASSWORD, Server, login_page

WIDTHS = (1280, 390)
PAGES = {"/": "dashboard", "/live": "live", "/zones": "zone_editor", "/devices": "devices", "/users": "users_page"}
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')].filter((e) => {
    if (e.closest('.scroll-x') || e.closest('[hidden]') || getComputedStyle(e).display === 'none') return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > width + 1;
  });
  return {scroll: document.documentElement.scrollWidth, width,
          wide: wide.slice(0, 5).map((e) => e.tagName + '#' + e.id + '.' + e.className)};
}"""


def check_layout(page, width: int, name: str) -> None:  # type: ignore[no-untyped-def]
    """No sideways overflow and an unbroken header, then a full-page screenshot."""
    page.wait_for_load_state("load")
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["width"] + 1 and not found["wide"], (name, width, found)
    logout = page.locator("header .logout button")
    if logout.count():
        box = logout.bounding_box()
        assert box is not None and box["height"] < 40, (name, width, "the Log out button wraps")
    (ARTIFACTS / "layout").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "layout" / f"{name}-{width}.png", full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_page_fits_the_screen(browser, shared_server: Server, role: str, width: int) -> None:  # type: ignore[no-untyped-def]
    from edge.web.auth import ROUTE_ROLES

    page = login_page(browser, shared_server, role)
    page.set_viewport_size({"width": width, "height": 860})
    for path, route in PAGES.items():
        if Role(role) not in ROUTE_ROLES[route]:
            continue
        page.goto(path)
        check_layout(page, width, f"{role}-{route}")
        if route == "zone_editor":
            narrow = page.locator("#zones-too-narrow")
            assert narrow.is_visible() == (width < 700)
            if width < 700:
                assert narrow.locator("a[href='/']").is_visible()
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_login_page_fits_the_screen(browser, shared_server: Server, width: int) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": width, "height": 860}, base_url=shared_server.url)
    page.goto("/login")
    check_layout(page, width, "login")
    page.close()


def serious_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's critical and serious findings on the page, one line each (rule, where)."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    results = axe.Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]} {v['help']}"
        for v in results.response["violations"]
        if v.get("impact") in ("critical", "serious")
    ]


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_no_serious_accessibility_violations(browser, shared_server: Server, role: str) -> None:  # type: ignore[no-untyped-def]
    from edge.web.auth import ROUTE_ROLES

    page = login_page(browser, shared_server, role)
    found = {}
    for path, route in PAGES.items():
        if Role(role) in ROUTE_ROLES[route]:
            page.goto(path)
            page.wait_for_load_state("load")
            found[path] = serious_violations(page)
    assert not any(found.values()), found
    page.close()


def test_login_page_has_no_serious_accessibility_violations(browser, shared_server: Server) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(base_url=shared_server.url)
    page.goto("/login")
    assert serious_violations(page) == []
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_screen_in_chinese(browser, shared_server: Server, width: int) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(
        viewport={"width": width, "height": 860}, base_url=shared_server.url, locale="zh-CN",
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"},
    )  # fmt: skip
    page.goto("/login")
    assert page.inner_text("#login-submit") == "登录"
    page.fill("#name", "admin")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{shared_server.url}/")
    for path, route in PAGES.items():
        page.goto(path)
        check_layout(page, width, f"zh-admin-{route}")
        assert serious_violations(page) == [], path
    page.click("#language-en")  # the header's switch: English from now on, on the same page
    page.wait_for_url(f"{shared_server.url}/users")
    assert page.inner_text("#nav-dashboard") == "Dashboard"
    page.close()
