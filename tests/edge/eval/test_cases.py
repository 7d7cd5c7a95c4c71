"""The cases file: alternate timelines, clip limits, and one-line errors naming the line and key."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from edge.config import load_site
from edge.evaluation.cases import load_cases
from edge.evaluation.groundtruth import GroundTruthError
from edge.evaluation.runner import EvalInputs, TimelineCase, load_ground_truth
from tests.conftest import REPO

CASE = "cases:\n  - name: clip\n    video: v.mp4\n    site: s.yaml\n    expected: e.csv\n"
TIMELINE = "t,group,state\n0,ped-main,WALK\n"


def _cases(tmp_path: Path, text: str) -> Path:
    (tmp_path / "walk.csv").write_text(TIMELINE)
    (tmp_path / "bad.csv").write_text("t,group,state\n0,ped-main,PURPLE\n")
    path = tmp_path / "cases.yaml"
    path.write_text(text)
    return path


def test_timelines_and_max_frames_are_read(tmp_path: Path) -> None:
    text = CASE + "    max_frames: 250\n    timelines:\n      - name: all-walk\n        signal: walk.csv\n"
    (case,) = load_cases(_cases(tmp_path, text), data_dir=tmp_path / "data")
    assert case.inputs.max_frames == 250
    assert [(t.name, t.signal) for t in case.inputs.timelines] == [("all-walk", tmp_path / "walk.csv")]
    assert case.inputs.sub_case(case.inputs.timelines[0]) == "clip@all-walk"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(
            "    timelines:\n      - name: a\n        signal: walk.csv\n      - name: a\n        signal: walk.csv\n",
            r"cases.yaml:9: cases.0.timelines.1.name: timeline 'a' is given twice in case 'clip'",
            id="duplicate timeline",
        ),
        pytest.param(
            "    timelines:\n      - name: a\n",
            r"cases.yaml:7: cases.0.timelines.0.signal: Field required",
            id="timeline without a file",
        ),
        pytest.param(
            "    timelines:\n      - name: a b\n        signal: walk.csv\n",
            r"cases.yaml:7: cases.0.timelines.0.name: String should match pattern",
            id="name unusable in a sub-case name",
        ),
        pytest.param(
            "    timelines:\n      - name: a\n        signal: missing.csv\n",
            r"cases.yaml:8: cases.0.timelines.0.signal: .*missing.csv: file not found",
            id="timeline file missing",
        ),
        pytest.param(
            "    timelines:\n      - name: a\n        signal: bad.csv\n",
            r"cases.yaml:8: cases.0.timelines.0.signal: .*bad.csv: row 2: .*PURPLE",
            id="bad timeline row",
        ),
        pytest.param(
            "    max_frames: 0\n", r"cases.yaml:6: cases.0.max_frames: Input should be greater than 0", id="no frames"
        ),
        pytest.param(
            "  - name: clip\n    video: w.mp4\n    site: s.yaml\n    expected: e.csv\n",
            r"cases.yaml:6: cases.1.name: case 'clip' is given twice",
            id="duplicate case",
        ),
    ],
)
def test_bad_cases_file_names_line_and_key(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(GroundTruthError, match=message):
        load_cases(_cases(tmp_path, CASE + extra), data_dir=tmp_path)


def test_timeline_silent_about_a_crosswalk_group_is_refused(tmp_path: Path) -> None:
    # The crosswalk's group would stay UNKNOWN under it, so nothing there would be enforced.
    site = load_site(REPO / "sites" / "eval" / "tud-campus" / "site.yaml")
    timeline = tmp_path / "other.csv"
    timeline.write_text("t,group,state\n0,elsewhere,DONT_WALK\n")
    inputs = EvalInputs("campus", tmp_path / "v.mp4", tracks=tmp_path / "gt.txt")
    with pytest.raises(GroundTruthError, match=r"other.csv: gives no state for signal group\(s\) walkway"):
        load_ground_truth(site, replace(inputs, timelines=(TimelineCase("other", timeline),)))
