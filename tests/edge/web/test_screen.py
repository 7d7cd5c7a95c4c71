"""The public warning screen in Chromium: no login, signal and counts, the violation picture with the person blurred."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from detection.registry import build_detector
from edge.config import load_site
from edge.events import EventType
from edge.web.context import WebContext
from tests.builders import demo_site_file
from tests.conftest import require_shared
from tests.edge.web.conftest import (
    ARTIFACTS,
    Server,
    add_role_users,
    journal_event,
    live_readings,
    make_site,
    serve,
    service_status,
    write_journal,
)

CLIP = "video/crosswalk_elevated_fixed.mp4"
FRAME = 105  # 9.5 s: a person stepping into the crosswalk on DON'T WALK (tests/edge/test_replay.py)


def entry_frame() -> np.ndarray:
    video = cv2.VideoCapture(str(require_shared(CLIP)))
    video.set(cv2.CAP_PROP_POS_FRAMES, FRAME)
    ok, image = video.read()
    video.release()
    assert ok
    return image


def largest_person(image: np.ndarray, folder: Path) -> tuple[float, float, float, float]:
    site = load_site(demo_site_file(folder))
    found = build_detector(site.detector).detect(image).of_classes(tuple(site.detector.classes))
    assert len(found) > 0
    areas = (found.xyxy[:, 2] - found.xyxy[:, 0]) * (found.xyxy[:, 3] - found.xyxy[:, 1])
    return tuple(float(v) for v in found.xyxy[int(np.argmax(areas))])  # type: ignore[return-value]


@pytest.fixture
def screen_server(tmp_path: Path) -> Iterator[tuple[Server, np.ndarray, tuple[float, float, float, float]]]:
    site_path = make_site(tmp_path)
    site_path.write_text(site_path.read_text() + "\nweb:\n  screen:\n    enabled: true\n    language: zh-CN\n")
    users_db = tmp_path / "state" / "users.db"
    add_role_users(users_db)
    image = entry_frame()
    box = largest_person(image, tmp_path)
    now = time.time()
    violation = journal_event(7, EventType.VIOLATION, now - 2.0)
    violation = violation.__class__(**{**violation.__dict__, "entry_box": box, "box": box})
    crossing = journal_event(7, EventType.CROSSING, now - 2.0)
    write_journal(tmp_path / "state" / "events", [crossing, violation, journal_event(8, EventType.CROSSING, now - 60)])
    day = datetime.fromtimestamp(violation.entry_utc, timezone.utc).strftime("%Y/%m/%d")
    folder = tmp_path / "evidence" / day / violation.event_id
    (folder / "originals").mkdir(parents=True)
    cv2.imwrite(str(folder / "originals" / "2_entry.jpg"), image)
    (folder / "manifest.json").write_text(json.dumps({"event": violation.to_dict()}))
    context = WebContext(site_path=site_path, users_db=users_db, status=service_status, live=live_readings,
                         journal_dir=tmp_path / "state" / "events", evidence_root=tmp_path / "evidence")  # fmt: skip
    for running in serve(context):
        yield Server(f"http://127.0.0.1:{running.config.port}", site_path, context), image, box


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_screen_shows_signal_warning_counts_and_a_blurred_picture_without_login(browser, screen_server) -> None:
    server, original, box = screen_server
    page = browser.new_page(viewport={"width": 1280, "height": 720}, base_url=server.url)  # no login
    page.goto("/screen")
    page.wait_for_selector("body[data-ready='1']")
    loaded = "(img => img && img.complete && img.naturalWidth > 0)(document.querySelector('#violations img'))"
    page.wait_for_function(loaded)
    assert page.inner_text(".signal") == "禁止通行"  # DON'T WALK, in the site's language
    assert page.inner_text("#warning") == "红灯，请退回路边" and page.is_visible("#warning")
    assert page.inner_text("#today") == "今日：2 人通过，1 人闯红灯"
    page.screenshot(path=str(ARTIFACTS / "screen.png"))
    shown = cv2.imdecode(np.frombuffer(page.locator("#violations img").screenshot(), np.uint8), cv2.IMREAD_COLOR)
    # The same view of the original: scaled to the size it is shown at.
    height, width = shown.shape[:2]
    reference = cv2.resize(original, (width, height), interpolation=cv2.INTER_AREA)
    sx, sy = width / original.shape[1], height / original.shape[0]
    x1, y1, x2, y2 = (int(box[0] * sx), int(box[1] * sy), int(box[2] * sx) + 1, int(box[3] * sy) + 1)
    person_shown, person_original = shown[y1:y2, x1:x2], reference[y1:y2, x1:x2]
    assert sharpness(person_original) > 4 * sharpness(person_shown), "the person is not blurred"
    assert np.abs(person_shown.astype(int) - person_original.astype(int)).mean() > 8
    # away from the person the scene is still the scene
    left = slice(0, max(1, x1 - int(0.2 * (x2 - x1))))
    assert np.abs(shown[:, left].astype(int) - reference[:, left].astype(int)).mean() < 12
    page.close()


def test_screen_serves_only_its_page_stream_and_todays_pictures(screen_server) -> None:
    server, _, _ = screen_server
    with server.client() as client:
        data = client.get("/api/screen").json()
        assert [v["time"] for v in data["recent"]] and data["signals"][0]["state"] == "dont_walk"
        assert client.get(data["recent"][0]["picture"]).headers["content-type"] == "image/jpeg"
        assert client.get("/api/screen/picture/not-a-shown-event").status_code == 404
        for private in ("/", "/api/dashboard", "/api/snapshot.jpg", "/evidence", "/api/status"):
            assert client.get(private).status_code in (401, 303, 307), private


def test_screen_is_off_by_default(shared_server) -> None:
    with shared_server.client() as client:
        for path in ("/screen", "/api/screen", "/api/screen/picture/x"):
            assert client.get(path).status_code == 404, path
