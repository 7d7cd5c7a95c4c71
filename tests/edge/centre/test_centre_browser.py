"""The central review in a real browser (Debian's Chromium driven by Playwright, as the box UI's tests)."""

from __future__ import annotations

from evidence.index import EvidenceIndex
from evidence.types import ReviewState
from tests.edge.centre.test_centre_web import uploaded  # noqa: F401  (fixture)
from tests.edge.web.conftest import ARTIFACTS, PASSWORD, browser  # noqa: F401  (fixture)


def test_police_reject_a_violation_with_a_reason_in_the_browser_and_the_box_learns_it(browser, centre_ui, uploaded):  # noqa: F811
    root, uploader = uploaded
    page = browser.new_page(viewport={"width": 1400, "height": 900}, base_url=centre_ui.url)
    page.goto("/review")
    page.wait_for_url(f"{centre_ui.url}/login?next=/review")
    page.fill("#name", "police")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{centre_ui.url}/review")
    page.wait_for_function("() => document.querySelectorAll('#queue tbody tr').length === 2")
    page.click("#queue tbody tr >> nth=0")
    page.wait_for_function("() => document.querySelectorAll('#pictures img').length >= 3")
    page.wait_for_function("() => [...document.querySelectorAll('#pictures img')].every(i => i.naturalWidth > 0)")
    first = page.get_attribute("#queue tbody tr >> nth=0", "data-event")
    page.screenshot(path=ARTIFACTS / "centre-review.png")

    page.click("#reject")  # no reason: refused, nothing decided
    page.wait_for_function("() => document.getElementById('review-status').textContent.includes('needs a reason')")
    page.fill("#reason", "pedestrian was a road worker")
    page.click("#reject")
    page.wait_for_function("() => document.querySelectorAll('#queue tbody tr').length === 1")
    page.select_option("#f-state", "rejected")
    page.click("#f-apply")
    page.wait_for_function("() => document.querySelector('#queue tbody tr')?.textContent.includes('road worker')")
    page.goto("/analytics")
    page.wait_for_function("() => document.getElementById('chart-hour').dataset.points !== undefined")
    page.close()

    uploader.run_once()
    index = EvidenceIndex(root / "index.sqlite")
    try:
        assert index.event(first).review_state is ReviewState.REJECTED  # type: ignore[union-attr]
    finally:
        index.close()
