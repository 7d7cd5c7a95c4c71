"""Zone editor API over a real server: validate, save (atomic, comments kept, applied live), history, revert."""

from __future__ import annotations

import copy
import shutil
from typing import Any

import numpy as np
import pytest

from edge.config import load_site
from edge.rules import DecisionCore
from edge.users import Role
from tests.edge.web.conftest import DEMO_SITE, Server

NEW_CROSSWALK = [[0.30, 0.74], [0.90, 0.61], [0.90, 0.78], [0.385, 0.88]]


def _zones(server: Server) -> dict[str, Any]:
    with server.login(Role.OPERATOR) as client:
        return client.get("/api/zones").json()


def _moved(zones: dict[str, Any]) -> list[dict[str, Any]]:
    crosswalks = copy.deepcopy(zones["crosswalks"])
    crosswalks[0]["polygon"] = NEW_CROSSWALK
    return crosswalks


def test_zones_lists_the_site_crosswalks_and_rule_schema(server: Server) -> None:
    zones = _zones(server)
    assert [c["id"] for c in zones["crosswalks"]] == ["cw-main"]
    assert [c["name"] for c in zones["crosswalks"][0]["curbs"]] == ["near", "far"]
    assert "grace_s" in zones["rule_schema"]["properties"]
    assert len(zones["sha256"]) == 64


def test_background_is_the_first_frame_of_the_camera_file(server: Server) -> None:
    import cv2

    with server.login(Role.ADMIN) as client:
        r = client.get("/api/zones/background.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (352, 640, 3)


def _issue(issues: list[dict[str, str]], key: str) -> dict[str, str]:
    found = [i for i in issues if i["key"].startswith(key)]
    assert found, issues
    return found[0]


def _broken(zones: dict[str, Any], how: str) -> list[dict[str, Any]]:
    crosswalks = copy.deepcopy(zones["crosswalks"])
    cw = crosswalks[0]
    if how == "bow-tie":
        cw["polygon"] = [[0.3, 0.7], [0.9, 0.8], [0.9, 0.6], [0.3, 0.85]]
    elif how == "outside":
        cw["polygon"][1] = [1.2, 0.6]
    elif how == "curb-inside-crosswalk":
        cw["curbs"][1]["polygon"] = [[0.5, 0.7], [0.6, 0.69], [0.6, 0.75], [0.5, 0.76]]
    elif how == "curbs-overlap":
        cw["curbs"][1]["polygon"] = cw["curbs"][0]["polygon"]
    elif how == "rule-out-of-range":
        cw["rules"]["grace_s"] = -1
    elif how == "two-points":
        cw["polygon"] = cw["polygon"][:2]
    return crosswalks


@pytest.mark.parametrize(
    ("how", "key", "words"),
    [
        ("bow-tie", "crosswalks[0].polygon", "cross"),
        ("outside", "crosswalks[0].polygon[1]", "outside the picture"),
        ("curb-inside-crosswalk", "crosswalks[0].curbs[1].polygon", "inside the crosswalk"),
        ("curbs-overlap", "crosswalks[0].curbs", "overlap"),
        ("rule-out-of-range", "crosswalks[0].rules.grace_s", "greater than or equal"),
        ("two-points", "crosswalks[0].polygon", "at least 3 points"),
    ],
)
def test_validate_names_the_problem(shared_server: Server, how: str, key: str, words: str) -> None:
    zones = _zones(shared_server)
    with shared_server.login(Role.OPERATOR) as client:
        r = client.post("/api/zones/validate", json={"crosswalks": _broken(zones, how)})
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is False
    issue = _issue(body["issues"], key)
    assert issue["severity"] == "error" and words in issue["message"], body["issues"]


def test_a_signal_group_no_source_reports_is_named(server: Server) -> None:
    shutil.copy(DEMO_SITE.parent / "timeline.csv", server.site_path.parent)  # the demo's only source
    zones = _zones(server)
    crosswalks = copy.deepcopy(zones["crosswalks"])
    crosswalks[0]["signal_group"] = "ped-mian"
    before = server.site_path.read_text()
    with server.login(Role.OPERATOR) as client:
        body = client.post("/api/zones/validate", json={"crosswalks": crosswalks}).json()
        assert body["ok"] is False
        issue = _issue(body["issues"], "crosswalks[0].signal_group")
        assert issue["severity"] == "error"
        assert "no signal source reports group 'ped-mian' (they report: ped-main)" in issue["message"]
        r = client.put("/api/zones", json={"crosswalks": crosswalks, "base_sha256": zones["sha256"]})
        assert r.status_code == 422 and _issue(r.json()["issues"], "crosswalks[0].signal_group")
        ok = client.post("/api/zones/validate", json={"crosswalks": zones["crosswalks"]}).json()
        assert ok == {"ok": True, "issues": []}
    assert server.site_path.read_text() == before


def test_validate_accepts_the_shipped_zones(shared_server: Server) -> None:
    zones = _zones(shared_server)
    with shared_server.login(Role.OPERATOR) as client:
        body = client.post("/api/zones/validate", json={"crosswalks": zones["crosswalks"]}).json()
    assert body == {"ok": True, "issues": []}


def test_save_writes_the_file_keeps_comments_and_applies(server: Server) -> None:
    before = server.site_path.read_text()
    zones = _zones(server)
    with server.login(Role.OPERATOR) as client:
        r = client.put("/api/zones", json={"crosswalks": _moved(zones), "base_sha256": zones["sha256"], "note": "lamp"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["applied"] is True and body["version"]["user"] == "operator"
    after = server.site_path.read_text()
    assert after != before
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(line in after.splitlines() for line in comments)
    # Only the moved polygon's line changed.
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert len(changed) == 1 and "polygon: [[0.3, 0.74]" in changed[0][1]
    assert not list(server.site_path.parent.glob(".site.yaml.*.tmp"))
    # The saved file loads, and a decision core built from it uses the new crosswalk.
    site = load_site(server.site_path)
    assert site.crosswalks[0].polygon == [tuple(p) for p in NEW_CROSSWALK]
    core = DecisionCore(site, 640, 352)
    geometry = core.crosswalks[0][1]
    np.testing.assert_allclose(geometry.crosswalk, np.array(NEW_CROSSWALK) * [640, 352])
    # ... and the running pipeline was handed the same config without a restart.
    assert len(server.applied) == 1 and server.applied[0].crosswalks[0].polygon == site.crosswalks[0].polygon


def test_rule_edit_is_validated_and_saved(server: Server) -> None:
    zones = _zones(server)
    crosswalks = copy.deepcopy(zones["crosswalks"])
    crosswalks[0]["rules"]["grace_s"] = 2.5
    crosswalks[0]["rules"]["clearance"] = "violation"
    with server.login(Role.ADMIN) as client:
        r = client.put("/api/zones", json={"crosswalks": crosswalks, "base_sha256": zones["sha256"]})
    assert r.status_code == 200, r.text
    rules = load_site(server.site_path).crosswalks[0].rules
    assert rules.grace_s == 2.5 and rules.clearance.value == "violation"


def test_save_with_errors_changes_nothing(server: Server) -> None:
    before = server.site_path.read_text()
    zones = _zones(server)
    with server.login(Role.OPERATOR) as client:
        r = client.put("/api/zones", json={"crosswalks": _broken(zones, "bow-tie"), "base_sha256": zones["sha256"]})
        assert r.status_code == 422
        assert _issue(r.json()["issues"], "crosswalks[0].polygon")
        assert client.get("/api/zones/history").json() == []
    assert server.site_path.read_text() == before
    assert server.applied == []


def test_stale_edit_is_refused(server: Server) -> None:
    zones = _zones(server)
    with server.login(Role.OPERATOR) as client:
        first = client.put("/api/zones", json={"crosswalks": _moved(zones), "base_sha256": zones["sha256"]})
        assert first.status_code == 200
        second = client.put("/api/zones", json={"crosswalks": zones["crosswalks"], "base_sha256": zones["sha256"]})
    assert second.status_code == 409
    assert "changed since you loaded it" in second.json()["detail"]


def test_history_and_one_click_revert(server: Server) -> None:
    original = server.site_path.read_text()
    zones = _zones(server)
    with server.login(Role.OPERATOR) as client:
        saved = client.put("/api/zones", json={"crosswalks": _moved(zones), "base_sha256": zones["sha256"]}).json()
        history = client.get("/api/zones/history").json()
        assert [(v["version"], v["user"]) for v in history] == [(2, "operator"), (1, "-")]
        assert history[0]["sha256"] == saved["sha256"] and history[0]["saved_at"].endswith("Z")
        r = client.post("/api/zones/revert", json={"version": 1})
        assert r.status_code == 200, r.text
        assert r.json()["version"]["note"] == "revert zones to version 1"
        assert client.post("/api/zones/revert", json={"version": 99}).status_code == 404
    assert server.site_path.read_text() == original
    assert server.applied[-1].crosswalks[0].polygon == load_site(server.site_path).crosswalks[0].polygon


MQTT_SECTION = """
# The traffic centre, added by hand after the zones were first drawn.
mqtt:
  enabled: false
  host: centre.example  # the centre's broker
"""


def test_revert_brings_back_only_the_zones(server: Server) -> None:
    """A version older than a hand edit of another section must not undo that edit when reverted to."""
    original = server.site_path.read_text()
    zones = _zones(server)
    with server.login(Role.OPERATOR) as client:
        saved = client.put("/api/zones", json={"crosswalks": _moved(zones), "base_sha256": zones["sha256"]})
        assert saved.status_code == 200
        server.site_path.write_text(server.site_path.read_text() + MQTT_SECTION)
        r = client.post("/api/zones/revert", json={"version": 1})  # the file as it was before any of it
        assert r.status_code == 200, r.text
    text = server.site_path.read_text()
    assert text == original + MQTT_SECTION  # zones as in version 1; the MQTT section and its comments stay
    assert load_site(server.site_path).mqtt.host == "centre.example"
    assert server.applied[-1].crosswalks[0].polygon == load_site(server.site_path).crosswalks[0].polygon


def test_revert_to_a_version_whose_zones_no_longer_fit_is_refused(server: Server) -> None:
    zones = _zones(server)
    with server.login(Role.OPERATOR) as client:
        assert client.put("/api/zones", json={"crosswalks": _moved(zones), "base_sha256": zones["sha256"]}).is_success
        folder = server.context.site_history_dir()
        (folder / "v00001.yaml").write_text("crosswalks: [{id: cw-main, polygon: [[0, 0]]}]\nmqtt: {enabled: true}\n")
        before = server.site_path.read_text()
        r = client.post("/api/zones/revert", json={"version": 1})
    assert r.status_code == 422 and "do not fit" in r.json()["detail"]
    assert any(i["key"].startswith("crosswalks[0]") for i in r.json()["issues"])
    assert server.site_path.read_text() == before


def test_apply_failure_is_reported_but_the_save_stands(server: Server) -> None:
    def refuse(site: object) -> None:
        raise RuntimeError("camera pipeline is restarting")

    server.context.apply_site = refuse
    zones = _zones(server)
    with server.login(Role.OPERATOR) as client:
        body = client.put("/api/zones", json={"crosswalks": _moved(zones), "base_sha256": zones["sha256"]}).json()
    assert body["applied"] is False and "restarting" in body["apply_error"]
    assert load_site(server.site_path).crosswalks[0].polygon[0] == (0.30, 0.74)


def test_uploaded_background_is_used_without_a_camera(server: Server) -> None:
    import cv2

    server.context.raw_snapshot = None
    server.context.snapshot = lambda: None
    with server.login(Role.OPERATOR) as client:
        assert client.get("/api/zones/background.jpg").status_code == 404
        image = np.full((120, 200, 3), 90, np.uint8)
        png = cv2.imencode(".png", image)[1].tobytes()
        r = client.put("/api/zones/background.jpg", content=png, headers={"content-type": "image/png"})
        assert r.status_code == 204
        junk = client.put("/api/zones/background.jpg", content=b"nope", headers={"content-type": "image/png"})
        assert junk.status_code == 422
        got = client.get("/api/zones/background.jpg")
    assert cv2.imdecode(np.frombuffer(got.content, np.uint8), cv2.IMREAD_COLOR).shape == (120, 200, 3)


def test_a_broken_site_file_is_reported_not_crashed_on(server: Server) -> None:
    server.site_path.write_text("crosswalks: [unclosed\n")
    with server.login(Role.OPERATOR) as client:
        for r in (client.get("/api/zones"), client.post("/api/zones/validate", json={"crosswalks": []})):
            assert r.status_code == 503 and "not valid YAML" in r.json()["detail"], r.text
        assert client.get("/zones").status_code == 200  # the page still loads and shows the message


def test_two_site_files_of_the_same_name_keep_their_own_history(server: Server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two ``site.yaml`` files sharing an accounts database: neither sees nor reverts the other's versions."""
    from edge.web import WebContext
    from tests.edge.web.conftest import make_site, serve

    other_folder = tmp_path / "other"
    other_folder.mkdir()
    other_site = make_site(other_folder)
    other_site.write_text(other_site.read_text().replace("demo-campus-01", "other-site-02"))
    zones = _zones(server)
    with server.login(Role.OPERATOR) as client:
        assert client.put("/api/zones", json={"crosswalks": _moved(zones), "base_sha256": zones["sha256"]}).is_success
        assert [v["version"] for v in client.get("/api/zones/history").json()] == [2, 1]
    other = WebContext(site_path=other_site, users_db=server.context.users_db)
    assert other.site_history_dir() != server.context.site_history_dir()
    assert "other-site-02" in other.site_history_dir().name
    before = other_site.read_text()
    for running in serve(other):
        other_server = Server(f"http://127.0.0.1:{running.config.port}", other_site, other)
        with other_server.login(Role.OPERATOR) as client:
            assert client.get("/api/zones/history").json() == []
            r = client.post("/api/zones/revert", json={"version": 1})
            assert r.status_code == 404
    assert other_site.read_text() == before


def test_revert_says_whether_it_was_applied(server: Server) -> None:
    zones = _zones(server)
    with server.login(Role.OPERATOR) as client:
        assert client.put("/api/zones", json={"crosswalks": _moved(zones), "base_sha256": zones["sha256"]}).is_success

        def refuse(site: object) -> None:
            raise RuntimeError("camera pipeline is restarting")

        server.context.apply_site = refuse
        body = client.post("/api/zones/revert", json={"version": 1}).json()
    assert body["applied"] is False and "restarting" in body["apply_error"] and body["live"] is True


def test_without_a_live_service_a_save_says_it_applies_at_start(server: Server) -> None:
    server.context.live = None  # as under `crossguard ui`
    zones = _zones(server)
    with server.login(Role.OPERATOR) as client:
        body = client.put("/api/zones", json={"crosswalks": _moved(zones), "base_sha256": zones["sha256"]}).json()
        assert body["applied"] is True and body["live"] is False
        assert 'id="live-notice"' in client.get("/live").text
