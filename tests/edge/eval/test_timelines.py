"""Alternate timelines: the clip is detected and tracked once, each timeline re-runs only the decision core."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from detection.base import Detector
from detection.registry import build_detector
from detection.types import Detections
from edge.evaluation.cases import EvalCase, load_case_site, load_cases
from edge.evaluation.report import EvalReport
from edge.evaluation.runner import EvalOptions, TimelineCase, run_eval
from tests.conftest import REPO, require_shared, shared_data_dir

CASES = REPO / "sites" / "eval" / "cases.yaml"
FRAMES = 40  # TUD-Campus entries at frames 3, 4, 16 and 20 (of 71)


class CountingDetector:
    """The site's detector, counting the frames it is given."""

    def __init__(self, inner: Detector) -> None:
        self.inner, self.frames = inner, 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def detect(self, image: np.ndarray) -> Detections:
        self.frames += 1
        return self.inner.detect(image)


@pytest.fixture(scope="module")
def campus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[EvalReport], CountingDetector, Path]:
    data = shared_data_dir()
    case: EvalCase = next(c for c in load_cases(CASES, data) if c.name == "tud-campus")
    require_shared(str(case.inputs.video.relative_to(data)))
    out = tmp_path_factory.mktemp("campus")
    red = out / "red.csv"
    red.write_text("t,group,state\n-60,walkway,DONT_WALK\n")  # DON'T WALK long before the clip begins
    plans = REPO / "sites" / "eval" / "tud-campus"
    inputs = replace(
        case.inputs,
        timelines=(
            TimelineCase("all-dont-walk", red),
            TimelineCase("walk-from-1.5s", plans / "timeline-walk-late.csv"),
            TimelineCase("own", plans / "timeline.csv"),  # the site's own plan again
        ),
    )
    site = load_case_site(case, data)
    detector = CountingDetector(build_detector(site.detector))
    reports = run_eval(site, detector, inputs, EvalOptions(out, thumbnails=False, max_frames=FRAMES))  # type: ignore[arg-type]
    return reports, detector, out


def _events(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_perception_runs_once_per_clip(campus) -> None:  # type: ignore[no-untyped-def]
    reports, detector, _ = campus
    assert [r.case for r in reports] == [
        "tud-campus",
        "tud-campus@all-dont-walk",
        "tud-campus@walk-from-1.5s",
        "tud-campus@own",
    ]
    assert detector.frames == FRAMES
    assert [r.timeline for r in reports] == [None, "all-dont-walk", "walk-from-1.5s", "own"]
    assert reports[0].tracking is not None and all(r.tracking is None for r in reports[1:])


def test_decision_core_on_recorded_tracks_repeats_the_replay(campus) -> None:  # type: ignore[no-untyped-def]
    reports, _, out = campus
    replayed = _events(out / "replay" / "events.jsonl")
    assert [e["type"] for e in replayed] == ["crossing", "crossing", "crossing", "crossing"]
    assert _events(out / "timelines" / "own" / "events.jsonl") == replayed
    base, again = reports[0].to_dict(), reports[-1].to_dict()
    for key in ("violations", "crossings", "false_warnings", "passes", "findings"):
        assert again[key] == base[key], key


@pytest.mark.parametrize(
    ("timeline", "violations", "ambiguous"),
    [
        # The four people who step in within 40 frames, all on the site's own WALK or CLEARANCE:
        ("all-dont-walk", 4, 0),  # each a violation under DON'T WALK throughout
        ("walk-from-1.5s", 2, 2),  # the entries at 0.64 s and 0.80 s lie within 1.0 s of the change: ambiguous
    ],
)
def test_each_timeline_is_scored_on_its_own(campus, timeline: str, violations: int, ambiguous: int) -> None:  # type: ignore[no-untyped-def]
    reports, _, out = campus
    report = next(r for r in reports if r.timeline == timeline)
    v = report.violations
    assert (v.expected, v.hits, v.false_records, v.ambiguous) == (violations, violations, 0, ambiguous)
    saved = json.loads((out / "timelines" / timeline / "report.json").read_text())
    assert saved["case"] == f"tud-campus@{timeline}" and saved["timeline"] == timeline
    recorded = [e["type"] for e in _events(out / "timelines" / timeline / "events.jsonl")]
    assert recorded.count("violation") == violations + ambiguous
