"""``crossguard eval`` as a real subprocess: outputs on a short real run, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2

from tests.conftest import REPO, require_shared, shared_data_dir

CASES = REPO / "sites" / "eval" / "cases.yaml"


def _crossguard(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CROSSGUARD_SHARED_DATA=str(shared_data_dir()))
    return subprocess.run(
        [sys.executable, "-m", "edge", "eval", *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_case_run_writes_report_table_and_annotated_video(tmp_path: Path) -> None:
    require_shared("video/TUD-Campus.mp4")
    done = _crossguard("--cases", CASES, "--only", "tud-campus", "--out", tmp_path, "--annotate", "--max-frames", "12")
    assert done.returncode == 0, done.stderr
    assert "viol. capture" in done.stdout and "tud-campus" in done.stdout
    report = json.loads((tmp_path / "tud-campus" / "report.json").read_text())
    # In the first 12 frames the labelled people 2 and 4 step into the zone and walk in far enough.
    assert report["crossings"]["expected"] == 2
    assert report["violations"]["expected"] == 0
    assert report["tracking"]["frames"] == 12 and 0.0 < report["tracking"]["idf1"] <= 1.0
    assert (tmp_path / "tud-campus" / "replay" / "events.jsonl").exists()
    summary = json.loads((tmp_path / "summary.json").read_text())
    cases = ["tud-campus", "tud-campus@dont-walk", "tud-campus@walk-from-1.5s"]
    assert [r["case"] for r in summary["reports"]] == cases
    assert all(f"\n{case} " in done.stdout for case in cases) and "\nPOOLED " in done.stdout
    # Pooled: every case and timeline counted together, each entry once per timeline.
    (pooled,) = summary["pooled"]
    assert (pooled["case"], pooled["variant"], pooled["crossings"]["expected"]) == ("POOLED", "clean", 6)
    assert pooled["violations"]["expected"] == sum(r["violations"]["expected"] for r in summary["reports"])
    red = json.loads((tmp_path / "tud-campus" / "timelines" / "walk-from-1.5s" / "report.json").read_text())
    assert (red["violations"]["expected"], red["timeline"], red["tracking"]) == (2, "walk-from-1.5s", None)
    for finding in report["findings"]:
        assert cv2.imread(str(tmp_path / "tud-campus" / finding["thumbnail"])) is not None
    video = cv2.VideoCapture(str(tmp_path / "tud-campus" / "annotated.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 12


def test_missing_ground_truth_is_a_one_line_error(tmp_path: Path) -> None:
    video = require_shared("video/TUD-Campus.mp4")
    done = _crossguard(video, "--site", REPO / "sites" / "eval" / "tud-campus" / "site.yaml", "--out", tmp_path)
    assert done.returncode == 2
    expected = "crossguard eval: error: give the ground truth: --tracks GT.txt or --expected LABELS.csv"
    assert done.stderr.strip() == expected


def test_bad_label_file_names_file_and_line(tmp_path: Path) -> None:
    video = require_shared("video/crosswalk_elevated_fixed.mp4")
    labels = tmp_path / "labels.csv"
    labels.write_text("entry_t,crosswalk,direction,violation\n2.0,cw-main,sideways,no\n")
    site = REPO / "sites" / "demo" / "site.yaml"
    done = _crossguard(video, "--site", site, "--expected", labels, "--out", tmp_path / "out", "--max-frames", "3")
    assert done.returncode == 2
    assert f"{labels}:2: direction 'sideways' is not near->far or far->near" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_case_and_bad_cases_file(tmp_path: Path) -> None:
    done = _crossguard("--cases", CASES, "--only", "nowhere", "--out", tmp_path)
    assert done.returncode == 2 and "no case named nowhere" in done.stderr
    bad = tmp_path / "cases.yaml"
    bad.write_text("cases:\n  - name: x\n    video: v.mp4\n    site: s.yaml\n    colour: red\n")
    done = _crossguard("--cases", bad, "--out", tmp_path)
    assert done.returncode == 2 and "cases.0.colour: Extra inputs are not permitted" in done.stderr
