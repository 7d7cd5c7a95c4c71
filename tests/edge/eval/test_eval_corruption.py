"""``crossguard eval --corruption`` as a real subprocess: a short case run clean and at night."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from tests.conftest import require_shared
from tests.edge.eval.test_eval_command import CASES, _crossguard


def _mean_brightness(video: Path) -> float:
    capture = cv2.VideoCapture(str(video))
    means = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        means.append(float(image.mean()))
    capture.release()
    return float(np.mean(means))


def test_case_runs_clean_and_under_low_light(tmp_path: Path) -> None:
    require_shared("video/TUD-Campus.mp4")
    args = ("--cases", CASES, "--only", "tud-campus", "--max-frames", "12", "--annotate", "--no-thumbnails")
    done = _crossguard(*args, "--corruption", "low_light:3", "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "low_light:3" in done.stdout

    reports = json.loads((tmp_path / "summary.json").read_text())["reports"]
    summary = [r for r in reports if r["timeline"] is None]  # the case under its own timeline
    assert [(r["case"], r["variant"]) for r in summary] == [("tud-campus", "clean"), ("tud-campus", "low_light:3")]
    # Its other timelines are scored on the same corrupted run.
    assert {r["variant"] for r in reports if r["timeline"] is not None} == {"clean", "low_light:3"}
    clean_dir, night_dir = tmp_path / "tud-campus", tmp_path / "low_light-3" / "tud-campus"
    night = json.loads((night_dir / "report.json").read_text())
    assert night["variant"] == "low_light:3" and night["frames"] == 12
    # The same labels are scored under both: only the pictures changed.
    assert night["crossings"]["expected"] == summary[0]["crossings"]["expected"] == 2

    # The detector saw the dark frames: it found other boxes than on the clean ones...
    detections = [json.loads((d / "replay" / "summary.json").read_text())["detections"] for d in (clean_dir, night_dir)]
    assert detections[0] != detections[1]
    # ...and the pictures of the run show what it saw.
    assert _mean_brightness(night_dir / "annotated.mp4") < 0.6 * _mean_brightness(clean_dir / "annotated.mp4")


def test_same_corrupted_run_twice_gives_the_same_report(tmp_path: Path) -> None:
    require_shared("video/TUD-Campus.mp4")
    args = ("--cases", CASES, "--only", "tud-campus", "--max-frames", "6", "--no-thumbnails", "--corruption", "rain:4")
    reports = []
    for run in ("a", "b"):
        done = _crossguard(*args, "--out", tmp_path / run)
        assert done.returncode == 0, done.stderr
        report = json.loads((tmp_path / run / "rain-4" / "tud-campus" / "report.json").read_text())
        reports.append({k: v for k, v in report.items() if k != "fps"})
    assert reports[0] == reports[1]


def test_bad_corruption_is_a_one_line_error(tmp_path: Path) -> None:
    done = _crossguard("--cases", CASES, "--only", "tud-campus", "--out", tmp_path, "--corruption", "fog:2")
    assert done.returncode == 2
    known = "low_light, ir_mono, motion_blur, jpeg, rain"
    assert done.stderr.strip() == f"crossguard eval: error: unknown corruption 'fog' (known: {known})"
    done = _crossguard("--cases", CASES, "--only", "tud-campus", "--out", tmp_path, "--corruption", "jpeg:7")
    assert done.returncode == 2 and "corruption severity must be 1..5, got 7" in done.stderr
