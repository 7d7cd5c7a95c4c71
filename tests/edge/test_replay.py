"""Replay of the shared crosswalk clip through the real detector, tracker and rules."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from tests.builders import demo_site_file
from tests.conftest import REPO, require_shared

DEMO_TIMELINE = REPO / "sites" / "demo" / "timeline.csv"
CLIP = "video/crosswalk_elevated_fixed.mp4"

# Checked by eye on the annotated video: two people step into the crosswalk from the
# near side well after DON'T WALK began (t=5.0 s) and walk towards the far side.
EXPECTED_VIOLATIONS = [(9.52, "near->far"), (10.61, "near->far")]


def replay(
    video: Path, out: Path, *extra: str, site: Path | None = None, signal: Path = DEMO_TIMELINE
) -> subprocess.CompletedProcess[str]:
    site = site or demo_site_file(out.parent)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "edge",
            "replay",
            str(video),
            "--site",
            str(site),
            "--signal",
            str(signal),
            "--out",
            str(out),
            "--no-progress",
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )


def read_events(out: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = replay(require_shared(CLIP), out, "--annotate")
    assert result.returncode == 0, result.stderr
    return out


def test_demo_violations(demo_run: Path) -> None:
    events = read_events(demo_run)
    violations = [(round(e["entry_t"], 2), e["direction"]) for e in events if e["type"] == "violation"]
    assert violations == EXPECTED_VIOLATIONS
    for e in events:
        if e["type"] == "violation":
            assert e["signal_state"] == "DONT_WALK" and e["since_dont_walk_s"] >= 1.0 and e["enforced"]
    # Everyone who entered before DON'T WALK is a crossing only.
    for e in events:
        if e["entry_t"] < 5.0:
            assert e["type"] == "crossing"
    summary = json.loads((demo_run / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["frames"] == 143
    assert summary["violations"] == 2 and summary["crossings"] == sum(e["type"] == "crossing" for e in events)


def test_event_records_are_complete(demo_run: Path) -> None:
    fields = {
        "event_id",
        "type",
        "entry_frame",
        "entry_t",
        "track_id",
        "crosswalk_id",
        "direction",
        "signal_state",
        "since_dont_walk_s",
        "foot_point",
        "box",
        "score",
    }
    for event in read_events(demo_run):
        assert fields <= set(event)
        x1, y1, x2, y2 = event["box"]
        assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 352


def test_annotated_video(demo_run: Path) -> None:
    cap = cv2.VideoCapture(str(demo_run / "annotated.mp4"))
    assert cap.isOpened()
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 143
    ok, frame = cap.read()
    assert ok and frame.shape == (352, 640, 3)


def test_replay_is_deterministic(demo_run: Path, tmp_path: Path) -> None:
    result = replay(require_shared(CLIP), tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "events.jsonl").read_bytes() == (demo_run / "events.jsonl").read_bytes()


def test_missing_video(tmp_path: Path) -> None:
    result = replay(tmp_path / "nope.mp4", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip() == f"crossguard replay: error: {tmp_path / 'nope.mp4'}: video file not found"


def test_corrupt_video(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(b"\x00\x01not a video" * 1000)
    result = replay(bad, tmp_path / "out")
    assert result.returncode == 2
    assert str(bad) in result.stderr and "cannot open as video" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["picture.jpg", "picture.mp4"])
def test_still_picture_is_not_a_video(tmp_path: Path, name: str) -> None:
    still = tmp_path / name  # recognised by its content, whatever its name says
    still.write_bytes(require_shared("images/bus.jpg").read_bytes())
    out = tmp_path / "out"
    result = replay(still, out)
    assert result.returncode == 2
    assert result.stderr.strip() == f"crossguard replay: error: {still}: is a still picture, not a video"
    assert not (out / "events.jsonl").exists()


def test_video_failing_midway_keeps_what_was_decided(tmp_path: Path) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed to build a truncated MP4")
    whole = tmp_path / "whole.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-i",
            str(require_shared(CLIP)),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            str(whole),
        ],
        check=True,
    )
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])  # index intact, picture data stops part-way
    out = tmp_path / "out"
    result = replay(cut, out)
    assert result.returncode == 2
    assert str(cut) in result.stderr and "ended unexpectedly" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and 0 < summary["frames"] < 143
    events = read_events(out)
    assert events, "crossings decided before the failure must stay written"
    assert all(e["decided_frame"] < summary["frames"] for e in events)


def test_malformed_site(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("site:\n  id: x\n  name: y\n  device_id: z\ncrosswalks: nope\n")
    result = replay(require_shared(CLIP), tmp_path / "out", site=site)
    assert result.returncode == 2
    assert f"{site}:5: crosswalks: Input should be a valid list" in result.stderr


def test_malformed_timeline(tmp_path: Path) -> None:
    timeline = tmp_path / "timeline.csv"
    timeline.write_text("t,group,state\n0,ped-main,SIDEWAYS\n")
    result = replay(require_shared(CLIP), tmp_path / "out", signal=timeline)
    assert result.returncode == 2
    assert f"{timeline}: row 2: unknown signal state 'SIDEWAYS'" in result.stderr


def test_dont_walk_begun_before_the_first_frame_counts_from_its_real_start(tmp_path: Path) -> None:
    timeline = tmp_path / "timeline.csv"
    timeline.write_text("t,group,state\n-40,ped-main,WALK\n-30,ped-main,DONT_WALK\n")
    out = tmp_path / "out"
    result = replay(require_shared(CLIP), out, signal=timeline)
    assert result.returncode == 0, result.stderr
    violations = [e for e in read_events(out) if e["type"] == "violation"]
    # The whole clip is DON'T WALK: the two demo violations, and the far->near crossing that the
    # demo timeline saw during CLEARANCE; each is timed from t=-30, not from the first frame.
    assert [(round(v["entry_t"], 2), v["direction"]) for v in violations] == [
        (4.35, "far->near"),
        *EXPECTED_VIOLATIONS,
    ]
    for v in violations:
        assert v["signal_since_t"] == -30.0
        assert v["since_dont_walk_s"] == pytest.approx(v["entry_t"] + 30.0)


def test_timeline_with_a_nan_time_is_refused(tmp_path: Path) -> None:
    timeline = tmp_path / "timeline.csv"
    timeline.write_text(DEMO_TIMELINE.read_text() + "nan,ped-main,WALK\n")  # once hid both violations
    result = replay(require_shared(CLIP), tmp_path / "out", signal=timeline)
    assert result.returncode == 2
    assert f"{timeline}: row 5: time 'nan' is not a finite number of seconds" in result.stderr


def test_model_that_is_not_onnx(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_text("this is not a model")
    site_text = demo_site_file(tmp_path).read_text()
    site_text = site_text.replace(str(require_shared("models/yolov8n_int8_640.onnx")), str(model))
    site = tmp_path / "site.yaml"
    site.write_text(site_text)
    result = replay(require_shared(CLIP), tmp_path / "out", site=site)
    assert result.returncode == 2
    assert f"{model}: not a loadable ONNX model" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_replay_records_evidence_for_each_violation(demo_run: Path) -> None:
    import hashlib
    import sqlite3

    root = demo_run / "evidence"
    violations = [e for e in read_events(demo_run) if e["type"] == "violation"]
    folders = {p.name: p for p in root.glob("*/*/*/*") if p.is_dir() and (p / "manifest.json").exists()}
    assert sorted(folders) == sorted(e["event_id"] for e in violations)
    for event in violations:
        folder = folders[event["event_id"]]
        manifest = json.loads((folder / "manifest.json").read_text())
        assert (folder / "manifest.sig").is_file()
        kinds = sorted(f["kind"] for f in manifest["files"])
        assert kinds == ["clip", "closeup", "original", "original", "original", "sheet"]
        for entry in manifest["files"]:
            data = (folder / entry["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"]
        sheet = cv2.imread(str(folder / "sheet.jpg"))
        assert sheet.shape[:2] == (manifest["sheet"]["height"], manifest["sheet"]["width"])
        pictures = manifest["pictures"]
        assert [p["frame_index"] for p in pictures][1] == event["entry_frame"]
        for picture in pictures:  # the violator is inside every picture, at the tracked position
            x1, y1, x2, y2 = picture["violator_box"]
            assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 352
        assert pictures[1]["violator_box"] == pytest.approx(event["entry_box"], abs=1.0)
        assert manifest["event"]["event_id"] == event["event_id"]
    with sqlite3.connect(root / "index.sqlite") as db:
        rows = {r[0] for r in db.execute("select event_id from events")}
        files = db.execute("select count(*) from files").fetchone()[0]
    assert rows == set(folders) and files == 8 * len(folders)  # the six above, manifest and signature
    verify = subprocess.run(
        [sys.executable, "-m", "edge", "evidence", "verify", "--all", "--root", str(root)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_replay_can_drive_a_real_sign(tmp_path: Path) -> None:
    """``--actuate``: the demo's violations reach an Alpha-protocol sign over TCP (the loopback emulator)."""
    from actuators.emulators.alpha_sign import AlphaSignEmulator

    sign = AlphaSignEmulator()
    try:
        site = demo_site_file(tmp_path)
        site.write_text(
            site.read_text()
            + "\nactuators:\n  cooldown_s: 0\n  devices:\n"
            + f"    - {{name: sign, type: alpha, transport: tcp, host: 127.0.0.1, port: {sign.port}, hold_s: 60}}\n"
        )
        result = replay(require_shared(CLIP), tmp_path / "out", "--actuate", "--no-evidence", site=site)
        assert result.returncode == 0, result.stderr
        shown = sign.displayed
        assert shown is not None and shown.text.strip(), "the sign shows a warning"
        assert len(sign.packets) >= 2  # one warning per violation, at the least
    finally:
        sign.stop()
