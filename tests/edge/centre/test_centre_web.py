"""The centre's pages and API over a real server: roles and CSRF as on the box, review sent back, analytics,
open data."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest

from edge.events import EventType
from evidence.index import EvidenceIndex
from evidence.types import ReviewState
from evidence.uploader import EvidenceUploader
from tests.edge.mqtt.test_command_auth import box  # noqa: F401  (fixture)
from tests.edge.mqtt.test_store import NOV_23_16H, payload
from tests.edge.web.conftest import PASSWORD
from tests.evidence.conftest import record_events

BOX = "site-a"


def login(centre, name: str) -> httpx.Client:
    """A client holding a session of ``name`` with its CSRF header set, not yet opened (for a with-block)."""
    with httpx.Client(base_url=centre.url, timeout=30) as first:
        r = first.post("/api/login", json={"name": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
    client = httpx.Client(base_url=centre.url, timeout=30, cookies=first.cookies)
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


@pytest.fixture
def uploaded(centre_ui, tmp_path):
    """Two violations recorded on a box and uploaded to the running centre; the box's evidence root."""
    root = tmp_path / "box"
    record_events(root, entry_frames=(60, 70))
    token = centre_ui.register(BOX, root)
    centre_ui.start()
    uploader = EvidenceUploader(root, centre_ui.url, token)
    assert uploader.run_once() == 2
    return root, uploader


def test_central_review_is_for_police_with_csrf_audited_and_reaches_the_box(centre_ui, uploaded):
    root, uploader = uploaded
    with httpx.Client(base_url=centre_ui.url) as anonymous:
        assert anonymous.get("/api/review").status_code == 401
        assert anonymous.get("/review", follow_redirects=False).headers["location"].startswith("/login")
    with login(centre_ui, "viewer") as viewer:
        assert viewer.get("/api/review").status_code == 403
    with login(centre_ui, "police") as police:
        queue = police.get("/api/review", params={"state": "new", "site": "site-a"}).json()
        assert len(queue) == 2
        first, second = queue
        assert police.get("/api/review", params={"day": first["entry_time"][:10]}).json()
        assert police.get("/api/review", params={"day": "2001-01-01"}).json() == []
        item = police.get(f"/api/review/{first['event_id']}").json()
        jpg = next(f["path"] for f in item["manifest"]["files"] if f["path"].endswith(".jpg"))
        assert police.get(f"/api/review/{first['event_id']}/files/{jpg}").content[:2] == b"\xff\xd8"
        no_csrf = police.post(f"/api/review/{first['event_id']}", json={"state": "confirmed"},
                              headers={"X-CSRF-Token": ""})  # fmt: skip
        assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
        assert police.post(f"/api/review/{second['event_id']}", json={"state": "rejected"}).status_code == 422
        confirmed = police.post(f"/api/review/{first['event_id']}", json={"state": "confirmed"})
        assert confirmed.json()["reviewer"] == "police"
        r = police.post(f"/api/review/{second['event_id']}", json={"state": "rejected", "reason": "a cyclist"})
        assert r.json()["review_state"] == "rejected"
        assert police.post(f"/api/review/{second['event_id']}", json={"state": "confirmed"}).status_code == 409
        assert police.get("/api/review", params={"state": "new"}).json() == []
    with login(centre_ui, "admin") as admin:
        actions = [(a["actor"], a["action"], a["detail"]) for a in admin.get("/api/audit").json()]
        assert ("police", "review:rejected", "a cyclist") in actions and ("police", "viewed", jpg) in [
            (a, b, c) for a, b, c in actions]  # fmt: skip

    uploader.run_once()  # the box pulls the decisions into its own index
    index = EvidenceIndex(root / "index.sqlite")
    try:
        states = {e.event_id: e.review_state for e in index.events()}
        assert states == {first["event_id"]: ReviewState.CONFIRMED, second["event_id"]: ReviewState.REJECTED}
        audit = index.audit(second["event_id"])
        assert any(a["actor"] == "police (centre)" and a["detail"] == "a cyclist" for a in audit)
    finally:
        index.close()


def test_compliance_before_after_and_open_data_carry_counts_only(centre_ui):
    store = centre_ui.store
    for n in range(10):  # Monday 23 Nov, 16h: 10 entries, 4 violations; Wednesday: 5 entries, 1 violation
        store.add_event(payload(n, EventType.VIOLATION if n < 4 else EventType.CROSSING))
    for n in range(10, 15):
        store.add_event(payload(n, EventType.VIOLATION if n == 10 else EventType.CROSSING,
                                decided_utc=NOV_23_16H + 2 * 86400))  # fmt: skip
    centre_ui.start()
    window = {"since": "2026-11-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"}
    with login(centre_ui, "viewer") as viewer:
        by_day = viewer.get("/api/compliance", params={"by": "weekday", **window}).json()["rows"]
        assert [(r["key"], r["crossings"], r["violations"], r["rate"]) for r in by_day] == [
            ("1", 10, 4, 0.4), ("3", 5, 1, 0.2)]  # fmt: skip
        assert viewer.get("/api/compliance", params={"by": "month"}).status_code == 422
        ba = viewer.get("/api/compliance/before-after", params={"date": "2026-11-25", "days": 7}).json()
        assert (ba["before"]["rate"], ba["after"]["rate"]) == (0.4, 0.2)
        assert viewer.get("/api/compliance/before-after", params={"date": "someday"}).status_code == 422

        text = viewer.get("/api/open-data/hourly.csv", params=window).text
        rows = list(csv.DictReader(io.StringIO(text)))
        assert list(rows[0]) == ["site", "camera", "crosswalk", "hour", "crossings", "violations", "warnings", "gaps"]
        assert rows[0]["hour"] == "2026-11-23T16:00:00Z" and rows[0]["crossings"] == "10"
        data = viewer.get("/api/open-data/hourly.json", params=window).json()
        assert len(data["rows"]) == 2
        for forbidden in ("track", "box", "event_id", "jpg", "payload"):
            assert forbidden not in text and forbidden not in str(data)

        [site] = viewer.get("/api/sites").json()
        assert site["box"] == "elm-5th/cam1" and site["today_crossings"] == 0  # those events were in November


def test_remote_commands_need_operators_a_reason_and_a_broker(centre_ui):
    centre_ui.start()
    with login(centre_ui, "police") as police:
        assert police.post("/api/commands", json={"box": "a/b", "command": "mute", "value": "on"}).status_code == 403
    with login(centre_ui, "operator") as operator:
        off = {"box": "elm-5th/cam1", "command": "enforcement", "value": "off"}
        assert "needs a reason" in operator.post("/api/commands", json=off).text
        assert operator.post("/api/commands", json={**off, "value": "sideways"}).status_code == 422
        r = operator.post("/api/commands", json={**off, "reason": "road works"})
        assert r.status_code == 503 and "--broker" in r.text


def test_an_operator_switches_enforcement_off_from_the_ui_signed_answered_and_audited(centre_ui, box, mosquitto):  # noqa: F811
    from edge.mqtt.link import BrokerSettings
    from tests.edge.mqtt.builders import COMMAND_KEY

    centre_ui.ui.broker = BrokerSettings.from_url(mosquitto.url, "centre-ui-commands")
    centre_ui.ui.command_key = COMMAND_KEY.encode()
    centre_ui.start()
    with login(centre_ui, "operator") as operator:
        r = operator.post("/api/commands", json={"box": "elm-5th/cam1", "command": "enforcement", "value": "off",
                                                 "reason": "road works"})  # fmt: skip
        assert r.status_code == 200, r.text
        answer = r.json()["answer"]
        assert answer["ok"] is True and answer["state"]["enabled"] is False
        assert "operator: road works" in answer["state"]["by"]
    with login(centre_ui, "admin") as admin:
        [entry] = [a for a in admin.get("/api/audit").json() if a["action"].startswith("command:")]
        assert (entry["actor"], entry["action"]) == ("operator", "command:enforcement off")
        assert entry["target"] == "elm-5th/cam1"
        assert entry["detail"].startswith("road works | ok=True")


def test_the_overview_lists_crossings_without_tiles_and_draws_a_map_only_when_configured(centre_ui):
    centre_ui.store.add_event(payload(1))
    centre_ui.start()
    with login(centre_ui, "viewer") as viewer:
        page = viewer.get("/")
        assert page.status_code == 200 and 'id="sites"' in page.text
        assert 'id="map"' not in page.text and "leaflet" not in page.text.lower()
        assert "tiles.example" not in page.headers["content-security-policy"]
    centre_ui.stop()
    centre_ui.ui.map_tiles = "https://tiles.example/{z}/{x}/{y}.png"
    centre_ui.ui.leaflet_js, centre_ui.ui.leaflet_css = "https://cdn.example/leaflet.js", "https://cdn.example/leaflet.css"
    centre_ui.start()
    with login(centre_ui, "viewer") as viewer:
        page = viewer.get("/")
        assert 'id="map" data-tiles="https://tiles.example/{z}/{x}/{y}.png"' in page.text
        assert '<script src="https://cdn.example/leaflet.js">' in page.text
        csp = page.headers["content-security-policy"]
        assert "img-src 'self' https://cdn.example https://tiles.example" in csp


def test_open_data_is_public_counts_only_and_limited_in_size(centre_ui):
    for n in range(3):
        centre_ui.store.add_event(payload(n, EventType.VIOLATION if n == 0 else EventType.CROSSING))
    centre_ui.start()
    window = {"since": "2026-11-20T00:00:00Z", "until": "2026-11-27T00:00:00Z"}
    with httpx.Client(base_url=centre_ui.url, timeout=30) as anonymous:  # no login: that is what open data means
        r = anonymous.get("/api/open-data/hourly.csv", params=window)
        assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
        assert r.text.splitlines() == ["site,camera,crosswalk,hour,crossings,violations,warnings,gaps",
                                       "elm-5th,cam1,north,2026-11-23T16:00:00Z,3,1,0,0"]  # fmt: skip
        data = anonymous.get("/api/open-data/hourly.json", params={**window, "site": "elm-5th"}).json()
        assert [row["crossings"] for row in data["rows"]] == [3]
        assert anonymous.get("/api/open-data/hourly.json", params={**window, "site": "other"}).json()["rows"] == []
        too_long = anonymous.get("/api/open-data/hourly.csv", params={**window, "since": "2026-10-01"})
        assert too_long.status_code == 422 and "31 days" in too_long.text
        assert anonymous.get("/api/open-data/hourly.xml").status_code == 404
        assert anonymous.get("/api/compliance").status_code == 401  # the analytics pages stay behind the login


def test_only_login_static_files_and_open_data_are_served_without_a_session(centre_ui):
    """Every centre route against the one table: the public ones answer anonymously, the others refuse."""
    from fastapi.routing import APIRoute

    from edge.centre.app import create_centre_app
    from edge.centre.web import BOX_ROUTES, CENTRE_ROUTE_ROLES

    centre_ui.start()
    app = create_centre_app(centre_ui.store, centre_ui.storage, centre_ui.ui)
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert {r.name for r in routes} == set(CENTRE_ROUTE_ROLES) | BOX_ROUTES
    public = sorted(name for name, roles in CENTRE_ROUTE_ROLES.items() if roles is None)
    assert public == ["api_login", "api_open_data", "login_page", "static_asset"]
    samples = {"event_id": "no-such-event", "path": "a.jpg", "name": "centre.css", "fmt": "csv"}
    with httpx.Client(base_url=centre_ui.url, timeout=30) as anonymous:
        for route in routes:
            path = route.path.replace(":path", "")
            for key, value in samples.items():
                path = path.replace("{" + key + "}", value)
            for method in route.methods:
                r = anonymous.request(method, path, json={}, follow_redirects=False)
                if route.name in BOX_ROUTES:
                    assert r.status_code == 401, (route.name, r.status_code)  # a box's bearer token is missing
                elif CENTRE_ROUTE_ROLES[route.name] is None:
                    assert r.status_code not in (401, 403, 303), (route.name, r.status_code, r.text)
                else:
                    assert r.status_code in (401, 303), (route.name, r.status_code)


@pytest.mark.parametrize(("path", "role"), [("/login", None), ("/", "operator"), ("/review", "police"),
                                            ("/analytics", "viewer")])  # fmt: skip
def test_centre_pages_speak_chinese_from_the_box_catalogue(centre_ui, path, role):
    from tests.edge.web.test_i18n import DATA, english_words

    centre_ui.start()
    headers = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    client = login(centre_ui, role) if role else httpx.Client(base_url=centre_ui.url, timeout=30)
    with client:
        page = client.get(path, headers=headers)
        assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
        assert english_words(page.text, DATA | {"CSV", "JSON", "DON'T", "WALK"}) == set(), path
        messages = page.text.split('id="i18n-messages">', 1)[1].split("</script>", 1)[0]
        assert json.loads(messages)["City overview"] == "全市概览"  # the scripts' t() catalogue goes with the page
        english = client.get(path, headers={"Accept-Language": "en"}).text
        assert '<html lang="en">' in english and "crossguard centre" in english
