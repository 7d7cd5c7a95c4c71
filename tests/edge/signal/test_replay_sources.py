"""`crossguard replay` on the demo clip gives the same events whichever source tells it the signal.

The demo site's timeline (WALK 0 s, CLEARANCE 3 s, DON'T WALK 5 s) is told three ways: the timeline
file, a fixed-time plan whose cycle starts at the video's first frame, and a recorded MQTT feed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import REPO, require_shared, shared_data_dir

pytest.importorskip("edge.replay", reason="replay is not on this branch yet")

DEMO_SITE = REPO / "sites" / "demo" / "site.yaml"
CLIP = "video/crosswalk_elevated_fixed.mp4"
START = "2026-06-10T12:00:00-05:00"  # noon in the site's zone (America/Chicago, CDT): a cycle starts
START_UTC = datetime.fromisoformat(START).timestamp()

SIGNALS = {
    "timeline": "  sources:\n    - type: timeline\n      path: {folder}/timeline.csv\n",
    "fixed_time": (
        "  sources:\n    - type: fixed_time\n      plans:\n        only:\n          cycle_s: 60\n"
        "          groups: {{ped-main: {{walk_s: 3, clearance_s: 2}}}}\n"
    ),
    "recorded_feed": "  sources:\n    - type: recorded_feed\n      path: {folder}/feed.jsonl\n",
}


def site_with(signal: str, folder: Path) -> Path:
    """The demo site with its shared-data paths made absolute and its signal section replaced."""
    text = DEMO_SITE.read_text(encoding="utf-8").replace("../../../shared/data", str(shared_data_dir()))
    text = text[: text.index("\nsignal:")] + "\nsignal:\n" + signal.format(folder=folder)
    path = folder / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def write_feed(path: Path) -> None:
    """What the controller sent: its state every second and on each change, received 50 ms later."""
    changes = [(0.0, "WALK"), (3.0, "CLEARANCE"), (5.0, "DONT_WALK")]
    lines = []
    for t in sorted({0.0, 3.0, 5.0, *range(14)}):
        state = [s for when, s in changes if when <= t][-1]
        payload = json.dumps({"group": "ped-main", "state": state, "ts": START_UTC + t})
        lines.append(json.dumps({"received": START_UTC + t + 0.05, "topic": "spat", "payload": payload}))
    path.write_text("\n".join(lines) + "\n")


def events_with(kind: str, tmp_path: Path) -> list[tuple]:
    folder = tmp_path / kind
    folder.mkdir()
    (folder / "timeline.csv").write_text("t,group,state\n0,ped-main,WALK\n3,ped-main,CLEARANCE\n5,ped-main,DONT_WALK\n")
    write_feed(folder / "feed.jsonl")
    site = site_with(SIGNALS[kind], folder)
    out = folder / "out"
    command = [
        sys.executable,
        "-m",
        "edge",
        "replay",
        str(require_shared(CLIP)),
        "--site",
        str(site),
        "--start-time",
        START,
        "--out",
        str(out),
        "--no-progress",
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    return [(e["type"], round(e["entry_t"], 2), e["direction"], e["signal_state"]) for e in events]


@pytest.mark.slow
def test_timeline_plan_and_recorded_feed_give_the_same_violations(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:  # three replays side by side: one detector pass each
        runs = dict(zip(SIGNALS, pool.map(lambda kind: events_with(kind, tmp_path), SIGNALS), strict=True))
    reference = runs["timeline"]
    violations = [(t, d) for kind, t, d, _ in reference if kind == "violation"]
    assert violations == [(9.52, "near->far"), (10.61, "near->far")]
    assert runs["fixed_time"] == reference
    assert runs["recorded_feed"] == reference


MELBOURNE_SITE = """\
site: {{id: melb-01, name: Swanston St (test clip), timezone: Australia/Melbourne, device_id: box-test}}
camera: {{id: cam1, fps: 25.04}}
detector: {{backend: onnx, model: {model}, confidence: 0.25, classes: [0], threads: 2}}
crosswalks:
  - id: cw
    signal_group: p1
    polygon: [[0.0, 0.72], [1.0, 0.72], [1.0, 1.0], [0.0, 1.0]]
    curbs:
      - {{name: far, polygon: [[0.0, 0.60], [1.0, 0.60], [1.0, 0.72], [0.0, 0.72]]}}
      - {{name: near, polygon: [[0.0, 0.985], [1.0, 0.985], [1.0, 1.0], [0.0, 1.0]]}}
    rules: {{min_penetration: 0.05}}
signal:
  sources:
    - type: vision
      heads: [{{group: p1, region: [0.9672, 0.4222, 0.9938, 0.4917]}}]
      calibration: {{min_value: 90}}
"""


@pytest.mark.slow
def test_replay_reads_the_signal_from_the_clip_itself(tmp_path: Path) -> None:
    """Melbourne clip: green man until 7.03 s, then the flashing red man; crossings carry what the camera saw."""
    site = tmp_path / "site.yaml"
    site.write_text(MELBOURNE_SITE.format(model=require_shared("models/yolo11n_int8_320.onnx")))
    out = tmp_path / "out"
    video = require_shared("video/intersection_crowd_tripod.mp4")
    command = [
        sys.executable,
        "-m",
        "edge",
        "replay",
        str(video),
        "--site",
        str(site),
        "--out",
        str(out),
        "--max-frames",
        "400",  # 16 s: the first crossings stepped into under the flashing red man are at 10.6 and 14.5 s
        "--no-progress",
        "--start-time",
        "2026-11-23T08:30:00+11:00",
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert len(events) >= 5 and not [e for e in events if e["type"] == "violation"]
    for e in events:
        if 0.5 < e["entry_t"] < 6.9:
            assert e["signal_state"] == "WALK", e
        if e["entry_t"] > 8.1:  # the flash is known about 1 s after it began
            assert e["signal_state"] == "CLEARANCE", e
    # (The 9.3 s "crossing" of earlier rules was a man walking along the picture's bottom edge, his
    # feet below it: along the road, not across, and no crossing.)
    assert any(e["entry_t"] > 8.1 for e in events)
