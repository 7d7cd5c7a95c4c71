"""The public warning screen in Chromium: no login, signal and counts, the violation picture with everyone blurred."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from detection.registry import build_detector
from detection.types import Detections
from edge.config import load_site
from edge.events import EventType
from edge.web.context import WebContext
from evidence.recorder import EvidenceRecorder
from evidence.select import covered_fraction
from tests.builders import demo_site_file
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
from tests.evidence.builders import (
    SIGNAL_CHANGES,
    START_UTC,
    clip_frames,
    make_event,
    signal_states,
    t_of,
    tracks_at,
)
from tests.evidence.builders import make_site as make_evidence_site

ENTRY = 70  # tests/evidence/builders.py: track 7 steps off the curb onto the crosswalk on DON'T WALK
# Everyone clearly visible on the entry frame, boxed by eye (x1, y1, x2, y2 in the 640x352 frame):
# the violator, the man in the light coat behind her, and three people on the far side of the crosswalk.
PEOPLE_AT_ENTRY = [(369, 241, 403, 313), (261, 292, 301, 352), (496, 194, 523, 251), (571, 196, 599, 252),
                   (553, 184, 569, 224)]  # fmt: skip


def record_entry_evidence(root: Path) -> Path:
    """Real evidence of the violation at frame ``ENTRY``: the recorder gets the hand-labelled violator
    and bystander plus every other person the detector finds, untracked (id -1), as the pipeline's
    tracks would show them. Returns the event folder."""
    site = load_site(demo_site_file(root.parent))
    detector = build_detector(site.detector)
    evidence_site = make_evidence_site(root)
    recorder = EvidenceRecorder.from_config(evidence_site, "yolo11n_int8_320", "c0ffee", keep_every_frame=True)
    clip = clip_frames()
    for i in range(ENTRY - 20, ENTRY + 25):
        known = tracks_at(i)
        found = detector.detect(clip[i]).of_classes(tuple(site.detector.classes))
        others = [list(map(float, b)) for b in found.xyxy if covered_fraction(tuple(b), known.xyxy) < 0.3]
        boxes = [*known.xyxy.tolist(), *others]
        ids = [*known.tracker_id.tolist(), *[-1] * len(others)]
        tracks = Detections.from_lists(boxes, [0.9] * len(boxes), [0] * len(boxes), ids)
        recorder.on_frame(i, t_of(i), START_UTC + t_of(i), clip[i], tracks, signal_states(i))
        if i == ENTRY + 6:
            recorder.on_violation(make_event(ENTRY), SIGNAL_CHANGES)
    assert recorder.close(60.0)
    (record,) = recorder.records()
    return root / record.folder


@pytest.fixture(scope="module")
def entry_evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_entry_evidence(tmp_path_factory.mktemp("recorded") / "evidence")


@pytest.fixture
def screen_server(
    tmp_path: Path, entry_evidence: Path
) -> Iterator[tuple[Server, np.ndarray, tuple[float, float, float, float]]]:
    site_path = make_site(tmp_path)
    site_path.write_text(site_path.read_text() + "\nweb:\n  screen:\n    enabled: true\n    language: zh-CN\n")
    users_db = tmp_path / "state" / "users.db"
    add_role_users(users_db)
    box = PEOPLE_AT_ENTRY[0]
    now = time.time()
    violation = journal_event(7, EventType.VIOLATION, now - 2.0)
    violation = violation.__class__(**{**violation.__dict__, "entry_box": box, "box": box})
    crossing = journal_event(7, EventType.CROSSING, now - 2.0)
    write_journal(tmp_path / "state" / "events", [crossing, violation, journal_event(8, EventType.CROSSING, now - 60)])
    day = datetime.fromtimestamp(violation.entry_utc, timezone.utc).strftime("%Y/%m/%d")
    # the recorded evidence, filed as today's violation so the screen shows it
    shutil.copytree(entry_evidence, tmp_path / "evidence" / day / violation.event_id)
    context = WebContext(site_path=site_path, users_db=users_db, status=service_status, live=live_readings,
                         journal_dir=tmp_path / "state" / "events", evidence_root=tmp_path / "evidence")  # fmt: skip
    for running in serve(context):
        yield Server(f"http://127.0.0.1:{running.config.port}", site_path, context), clip_frames()[ENTRY], box


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def scaled(box: tuple[float, ...], sx: float, sy: float) -> tuple[int, int, int, int]:
    return int(box[0] * sx), int(box[1] * sy), int(box[2] * sx) + 1, int(box[3] * sy) + 1


def test_screen_shows_signal_warning_counts_and_a_blurred_picture_without_login(browser, screen_server) -> None:
    server, original, box = screen_server
    page = browser.new_page(viewport={"width": 1280, "height": 720}, base_url=server.url)  # no login
    page.goto("/screen")
    page.wait_for_selector("body[data-ready='1']")
    # a function, not an expression: the page's CSP forbids eval, which polling an expression needs
    loaded = ("() => { const img = document.querySelector('#violations img');"
              " return !!img && img.complete && img.naturalWidth > 0; }")
    page.wait_for_function(loaded)
    assert page.inner_text(".signal") == "禁止通行"  # DON'T WALK, in the site's language
    assert page.inner_text("#warning") == "红灯，请退回路边" and page.is_visible("#warning")
    assert page.inner_text("#today") == "今日：2 人通过，1 人闯红灯"
    page.screenshot(path=str(ARTIFACTS / "screen.png"))
    shown = cv2.imdecode(np.frombuffer(page.locator("#violations img").screenshot(), np.uint8), cv2.IMREAD_COLOR)
    # The same view of the original: scaled to the size it is shown at.
    height, width = shown.shape[:2]
    reference = cv2.resize(original, (width, height), interpolation=cv2.INTER_AREA)
    x1, y1, x2, y2 = scaled(box, width / original.shape[1], height / original.shape[0])
    person_shown, person_original = shown[y1:y2, x1:x2], reference[y1:y2, x1:x2]
    assert sharpness(person_original) > 4 * sharpness(person_shown), "the person is not blurred"
    assert np.abs(person_shown.astype(int) - person_original.astype(int)).mean() > 8
    # above everyone (buildings, sky, the road beyond) the scene is still the scene
    top = slice(0, int(0.3 * height))
    assert np.abs(shown[top].astype(int) - reference[top].astype(int)).mean() < 12
    page.close()


def test_screen_picture_blurs_every_person_and_keeps_the_scene(screen_server) -> None:
    server, original, _ = screen_server
    with server.client() as client:
        (shown_event,) = client.get("/api/screen").json()["recent"]
        reply = client.get(shown_event["picture"])
    shown = cv2.imdecode(np.frombuffer(reply.content, np.uint8), cv2.IMREAD_COLOR)
    height, width = shown.shape[:2]
    assert width < original.shape[1]  # shrunk as well as blurred
    reference = cv2.resize(original, (width, height), interpolation=cv2.INTER_AREA)
    sx, sy = width / original.shape[1], height / original.shape[0]
    people = np.zeros((height, width), bool)
    for person in PEOPLE_AT_ENTRY:
        x1, y1, x2, y2 = scaled(person, sx, sy)
        before, after = sharpness(reference[y1:y2, x1:x2]), sharpness(shown[y1:y2, x1:x2])
        assert before > 4 * after, f"person at {person} is not blurred: sharpness {before:.0f} -> {after:.0f}"
        dx, dy = int(0.3 * (x2 - x1)), int(0.3 * (y2 - y1))
        people[max(0, y1 - dy) : y2 + dy, max(0, x1 - dx) : x2 + dx] = True
    # the background (all but the people and a margin round them) is the shrunk original
    background = np.abs(shown.astype(int) - reference.astype(int)).mean(axis=2)[~people]
    assert background.mean() < 6 and people.mean() < 0.25


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
