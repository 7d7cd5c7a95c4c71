"""Evidence review through the UI: the queue, a file view, a decision, and the audit rows they leave.

Runs when the evidence package (recorder and review desk) is installed; it records three
violations from the shared clip with the evidence package's own test recorder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.users import Role
from edge.web import WebContext
from tests.edge.web.conftest import ARTIFACTS, Server, add_role_users, login_page, make_site, serve

pytest.importorskip("evidence.review", reason="the evidence package is not installed")
recording = pytest.importorskip("tests.evidence.conftest", reason="the evidence package's test recorder is missing")


@pytest.fixture(scope="module")
def evidence_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evidence") / "root"
    recording.record_events(root)
    return root


@pytest.fixture
def review_server(tmp_path: Path, evidence_root: Path) -> Iterator[Server]:
    import shutil

    root = tmp_path / "evidence"
    shutil.copytree(evidence_root, root)  # decisions change the index: each test gets its own copy
    add_role_users(tmp_path / "users.db")
    context = WebContext(site_path=make_site(tmp_path), users_db=tmp_path / "users.db", evidence_root=root)
    for running in serve(context):
        yield Server(f"http://127.0.0.1:{running.config.port}", context.site_path, context)


def test_queue_view_confirm_and_audit(review_server: Server) -> None:
    with review_server.login(Role.POLICE) as police:
        queue = police.get("/api/evidence").json()
        assert len(queue) == 3 and all(i["state"] == "new" for i in queue)
        assert [i["entry_utc"] for i in queue] == sorted((i["entry_utc"] for i in queue), reverse=True)
        event = queue[0]
        sheet = police.get(f"/api/evidence/{event['event_id']}/files/sheet.jpg")
        assert sheet.status_code == 200 and sheet.content[:2] == b"\xff\xd8"
        escape = police.get(f"/api/evidence/{event['event_id']}/files/..%2F..%2Fusers.db")
        assert escape.status_code in (404, 422)
        r = police.post(
            f"/api/evidence/{event['event_id']}/review",
            json={"state": "confirmed", "reason": "clear-violation", "note": "red hand clearly lit"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "confirmed"
        audit = police.get(f"/api/evidence/{event['event_id']}/audit").json()
        actions = [(a["action"], a["actor"]) for a in audit]
        assert ("viewed", "police") in actions and ("review:confirmed", "police") in actions
        assert len(police.get("/api/evidence").json()) == 2
        confirmed = police.get("/api/evidence", params={"review_state": "confirmed"}).json()
        assert [i["event_id"] for i in confirmed] == [event["event_id"]]
    with review_server.login(Role.OPERATOR) as operator:
        assert operator.get("/api/evidence").status_code == 403


def test_a_nul_byte_in_a_file_path_is_a_client_error(review_server: Server) -> None:
    with review_server.login(Role.POLICE) as police:
        event = police.get("/api/evidence").json()[0]["event_id"]
        for path in (f"/api/evidence/{event}/files/sheet.jpg%00.png", f"/api/evidence/{event}%00/files/sheet.jpg"):
            r = police.get(path)
            assert r.status_code == 400 and r.json()["detail"] == "NUL byte in the path"
        assert police.get(f"/api/evidence/{event}/files/sheet.jpg").status_code == 200  # the server is fine


def test_integrity_and_export_bundle(review_server: Server) -> None:
    import io
    import zipfile

    with review_server.login(Role.POLICE) as police:
        event_id = police.get("/api/evidence").json()[0]["event_id"]
        assert police.get(f"/api/evidence/{event_id}/integrity").json() == {"status": "verified", "problems": []}
        bundle = police.get(f"/api/evidence/{event_id}/bundle.zip")
        assert bundle.status_code == 200 and bundle.headers["content-type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
        assert any(n.endswith("manifest.json") for n in names) and any(n.endswith("sheet.jpg") for n in names)
        audit = police.get(f"/api/evidence/{event_id}/audit").json()
        assert any(a["actor"] == "police" and "export" in a["action"] for a in audit), audit
        # Damage one original: the page and the API say "problem" and name the file.
        item = police.get(f"/api/evidence/{event_id}").json()
        root = review_server.context.evidence_root
        assert root is not None
        original = next(root.glob(f"**/{event_id}/originals/*.jpg"))
        original.write_bytes(original.read_bytes()[:-100] + b"x" * 100)
        check = police.get(f"/api/evidence/{event_id}/integrity").json()
        assert check["status"] == "problem" and any(original.name in p for p in check["problems"]), check
        assert "problem" in police.get(f"/evidence/{event_id}").text
        assert item["event_id"] == event_id


def test_police_confirms_in_the_browser(browser, review_server: Server) -> None:  # type: ignore[no-untyped-def]
    page = login_page(browser, review_server, "police", "/evidence")
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.screenshot(path=ARTIFACTS / "evidence-queue.png")
    page.click("#evidence-queue a >> nth=0")
    page.wait_for_selector("#review-form")
    first = page.url
    page.select_option("select[name=state]", "confirmed")
    page.fill("input[name=note]", "seen on the sheet")
    page.click("#review-form button")
    page.wait_for_url(lambda url: url != first)  # the next undecided event opens
    page.goto(first)
    assert page.inner_text("#review-state") == "confirmed"
    assert page.inner_text("#integrity") == "verified"
    audit = page.inner_text("#audit")
    assert "review:confirmed" in audit and "police" in audit and "viewed" not in audit  # views are folded
    assert "file view(s)" in page.inner_text("#audit-views summary")
    page.screenshot(path=ARTIFACTS / "evidence-confirmed.png", full_page=True)
    page.close()


def test_police_reviews_the_whole_queue_with_the_keyboard_only(browser, review_server: Server) -> None:  # type: ignore[no-untyped-def]
    """Open the queue, then confirm, reject with a reason and zoom without touching the mouse."""
    page = login_page(browser, review_server, "police", "/evidence")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert "3" in page.inner_text("#queue-count")
    page.keyboard.press("Tab")
    for _ in range(40):  # Tab through the header and filters to the first event's link
        if page.evaluate("document.activeElement.closest('#evidence-queue') !== null"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#review-form")
    heading = page.inner_text("#event-heading")
    # the local time, in CLDR's English: "Nov 23, 2025, 6:13:27 AM CST"
    local = r"[A-Z][a-z]{2} \d{1,2}, 20\d\d, \d{1,2}:\d\d:\d\d\s[AP]M CST"
    assert re.fullmatch(r"xw1, south->north, " + local, heading), heading
    assert "DON'T WALK" in page.inner_text(".event-facts")
    labels = page.eval_on_selector_all(".shot figcaption strong", "fs => fs.map(f => f.textContent)")
    assert labels[:3] == ["1. at the curb", "2. entering", "3. inside"] and "close-up" in labels[-1], labels
    assert page.get_attribute(".clip video", "poster")
    page.keyboard.press("z")
    page.wait_for_function("() => document.getElementById('zoom').open")
    page.screenshot(path=ARTIFACTS / "evidence-zoomed.png")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.getElementById('zoom').open")
    page.screenshot(path=ARTIFACTS / "evidence-detail.png", full_page=True)

    decided = []
    first = page.url
    page.keyboard.press("c")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url != first)
    decided.append(first)
    second = page.url
    page.keyboard.press("r")  # focus lands on the reason list
    page.keyboard.press("ArrowDown")  # the second rejection reason
    page.keyboard.press("Tab")
    page.keyboard.type("a cyclist, not a pedestrian")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url != second)
    decided.append(second)
    with review_server.login(Role.POLICE) as police:
        states = {i["event_id"]: i["state"] for i in police.get("/api/evidence", params={"review_state": ""}).json()}
    first_id, second_id = (url.rsplit("/", 1)[1] for url in decided)
    assert states[first_id] == "confirmed" and states[second_id] == "rejected"
    assert page.url.rsplit("/", 1)[1] not in (first_id, second_id)  # the next undecided one
    page.close()


def test_filter_with_an_empty_day_lists_every_day(review_server: Server) -> None:
    """The filter form sends ``day=`` when no day is picked: that means any day, not a 422."""
    with review_server.login(Role.POLICE) as police:
        page = police.get("/evidence", params={"review_state": "new", "crosswalk": "", "day": ""})
        assert page.status_code == 200, page.text
        assert page.text.count('<tr><td class="thumb">') == 3 and '<strong>3</strong> event(s)' in page.text
        assert len(police.get("/api/evidence", params={"day": ""}).json()) == 3
        bad = police.get("/evidence", params={"day": "2026-13-40"})
        assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
        assert "Not a date: 2026-13-40" in bad.text and 'id="filter-error"' in bad.text
        # The day is the site's local day (America/Chicago), and the page names the zone.
        item = police.get("/api/evidence").json()[0]
        from datetime import datetime
        from zoneinfo import ZoneInfo

        local_day = datetime.fromtimestamp(item["entry_utc"], ZoneInfo("America/Chicago")).date().isoformat()
        that_day = police.get("/api/evidence", params={"day": local_day}).json()
        assert item["event_id"] in [i["event_id"] for i in that_day]
        assert "America/Chicago" in page.text


def test_reasons_must_fit_the_decision_and_a_change_needs_a_note(review_server: Server) -> None:
    with review_server.login(Role.POLICE) as police:
        event = police.get("/api/evidence").json()[0]["event_id"]
        url = f"/api/evidence/{event}/review"
        r = police.post(url, json={"state": "rejected", "reason": "clear-violation"})
        assert r.status_code == 422 and "does not fit 'rejected'" in r.json()["detail"]
        r = police.post(url, json={"state": "confirmed", "reason": "poor-image"})
        assert r.status_code == 422 and "does not fit 'confirmed'" in r.json()["detail"]
        r = police.post(url, json={"state": "rejected", "reason": "other"})
        assert r.status_code == 422 and "needs a note" in r.json()["detail"]
        assert police.post(url, json={"state": "confirmed", "reason": "clear-violation"}).status_code == 200
        # Decided: changing it without a note is refused and changes nothing.
        r = police.post(url, json={"state": "rejected", "reason": "poor-image", "note": " "})
        assert r.status_code == 422 and "already confirmed" in r.json()["detail"]
        assert police.get(f"/api/evidence/{event}").json()["state"] == "confirmed"
        r = police.post(url, json={"state": "rejected", "reason": "wrong-signal", "note": "the WALK was on"})
        assert r.status_code == 200 and r.json()["state"] == "rejected"
        actions = [a["action"] for a in police.get(f"/api/evidence/{event}/audit").json() if "review" in a["action"]]
        assert actions == ["review:confirmed", "review-changed:confirmed->rejected"]
        page = police.get(f"/evidence/{event}").text
        assert "review-changed:confirmed-&gt;rejected" in page and 'id="change-notice"' in page
        assert '<option value="" selected>' in page  # the form does not default to a decision


def test_decision_form_offers_only_fitting_reasons(browser, review_server: Server) -> None:  # type: ignore[no-untyped-def]
    page = login_page(browser, review_server, "police", "/evidence")
    page.click("#evidence-queue a >> nth=0")
    page.wait_for_selector("#review-form")
    assert page.input_value("#decision") == "" and page.is_disabled("#reason")
    page.select_option("#decision", "rejected")
    reasons = page.eval_on_selector_all("#reason option", "os => os.map(o => o.value)")
    assert "clear-violation" not in reasons and "poor-image" in reasons
    page.select_option("#decision", "confirmed")
    assert page.eval_on_selector_all("#reason option", "os => os.map(o => o.value)") == ["clear-violation"]
    page.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_evidence_pages_fit_the_screen(browser, review_server: Server, width: int) -> None:  # type: ignore[no-untyped-def]
    from tests.edge.web.test_layout import check_layout

    page = login_page(browser, review_server, "police", "/evidence")
    page.set_viewport_size({"width": width, "height": 860})
    check_layout(page, width, "police-evidence_queue")
    page.click("#evidence-queue a >> nth=0")
    page.wait_for_selector("#review-form")
    check_layout(page, width, "police-evidence_detail")
    page.close()


def test_evidence_pages_have_no_serious_accessibility_violations(browser, review_server: Server) -> None:  # type: ignore[no-untyped-def]
    from tests.edge.web.test_layout import serious_violations

    page = login_page(browser, review_server, "police", "/evidence")
    assert serious_violations(page) == []
    page.click("#evidence-queue a >> nth=0")
    page.wait_for_selector("#review-form")
    assert serious_violations(page) == []
    page.keyboard.press("z")
    page.wait_for_function("() => document.getElementById('zoom').open")
    assert serious_violations(page) == []
    page.close()


def test_evidence_pages_in_chinese_have_no_english_words(review_server: Server) -> None:
    import re

    from tests.edge.web.test_i18n import DATA, english_words

    with review_server.login(Role.POLICE, headers={"Accept-Language": "zh-CN"}) as police:
        queue = police.get("/evidence")
        event = police.get("/api/evidence").json()[0]
        detail = police.get(f"/evidence/{event['event_id']}")
    # The event's own data: crosswalk, direction, zone, file names, the recorder's audit entries.
    data = DATA | {"seq", "xw", "xw1", "south-", "north", "CST", "manifest", "json", "sig", "recorder", "committed"}
    data |= {"z", "j", "k"}  # the keys
    strip = lambda text: re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "", text)  # noqa: E731 (event ids and hashes are data)
    assert english_words(strip(queue.text), data) == set()
    assert english_words(strip(detail.text), data) == set()
    assert "记录决定" in detail.text and "待审核" in queue.text


def test_police_reviews_in_chinese_with_chinese_dates_and_refusals(browser, review_server: Server) -> None:  # type: ignore[no-untyped-def]
    """The review page in zh-CN: the entry time in Chinese date form (local, UTC beside it), and a decision the
    server refuses (reason "other" without a note) explained in Chinese."""
    page = login_page(browser, review_server, "police", "/evidence", locale="zh-CN", width=1280)
    first = page.locator("#evidence-queue td:not(.thumb) a >> nth=0")
    assert re.fullmatch(r"20\d\d年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d CST", first.inner_text()), first.inner_text()
    first.click()
    page.wait_for_selector("#review-form")
    heading = page.inner_text("#event-heading")
    assert re.fullmatch(r"xw1, south->north, 20\d\d年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d CST", heading), heading
    facts = page.inner_text(".event-facts")
    assert re.search(r"\d\d:\d\d:\d\d\.\d{3} CST \(20\d\d年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d UTC\)", facts), facts
    page.select_option("#decision", "rejected")
    page.select_option("#reason", "other")  # without the note "other" needs: the server refuses
    page.click("#record-decision")
    page.wait_for_function("() => document.getElementById('review-result').textContent !== ''")
    assert page.inner_text("#review-result") == "理由“other”需要填写备注说明具体情况"
    page.screenshot(path=ARTIFACTS / "evidence-zh-refused.png", full_page=True)
    page.close()
