"""Regression gate: the whole stack on every labelled case, with each site's own model.

Each clip is detected and tracked once (one detector session per model, shared by the cases);
each of its alternate timelines re-runs only the decision core and has floors of its own, and
so has the pool of every case and timeline.

FLOORS are the figures the code reached when each case was introduced (tracking figures
rounded down to two decimals). They may only go up: when a change improves a figure, raise
its floor here in the same commit; never lower one to make a change pass. A drop means the
change made crossguard miss people it used to record, or record people it used to leave alone.
``silent`` is a ceiling: how many passes that must produce nothing (riders, people walking
along the road) may have a record; it may only go down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import pytest

from detection.registry import build_detector
from edge.evaluation.cases import SharedDetectors, load_case_site, load_cases
from edge.evaluation.report import POOLED, EvalReport, Outcome, pool
from edge.evaluation.runner import EvalOptions, run_eval
from edge.evaluation.visual import CAPTION_HEIGHT, THUMB_HEIGHT
from tests.conftest import REPO, require_shared, shared_data_dir

CASES = REPO / "sites" / "eval" / "cases.yaml"

# The cases replay about 1,800 frames, one clip at 1080p: several minutes on a 2-core box, far
# more while other jobs share it.
pytestmark = pytest.mark.timeout(2400)


@dataclass(frozen=True)
class Floor:
    violation_capture: float
    violation_valid: float
    crossing_capture: float
    crossing_valid: float
    mota: float | None = None  # cases with track labels
    idf1: float | None = None
    silent: int = 0  # ceiling: passes that must produce nothing, yet have a record


FLOORS = {
    # Raised from 0.8 for crossings: feet hidden by a passer-by (track 2, frames 36-46) no longer
    # turn the return into a second crossing.
    "demo-crosswalk": Floor(1.0, 1.0, 1.0, 1.0),
    "demo-crosswalk@dont-walk": Floor(1.0, 1.0, 1.0, 1.0),
    "demo-crosswalk@walk-from-6.5s": Floor(1.0, 1.0, 1.0, 1.0),
    # IDF1 raised from 0.74: the tracker compares torso colours, so a passer-by no longer takes
    # the id of the slow person they hide (person 7, frames 20-60).
    "tud-stadtmitte": Floor(1.0, 1.0, 1.0, 1.0, mota=0.80, idf1=0.84),  # reached: MOTA 0.8019, IDF1 0.8450
    # Under DON'T WALK, 2 of 3 violations (person 2's, at the end of the grace, is ambiguous).
    # Person 7 (entry frame 66, beside person 6) is found only inside the crosswalk at frame 79,
    # so the entry is not seen and not enforced. Person 9 (frame 133) gets the track id of person
    # 2, who already violated, so "one violation per track" silences them; a record of person 6's
    # second crossing (6.24 s) is matched in their place.
    # Raised to 3/3 once every crossing is judged on its own and a track found at a curb's edge
    # keeps its entry (the same with or without the tracker's colour cue).
    "tud-stadtmitte@dont-walk": Floor(1.0, 1.0, 1.0, 1.0),
    "tud-stadtmitte@walk-from-4s": Floor(1.0, 1.0, 1.0, 1.0),
    # Person 5 crosses almost wholly hidden behind person 3 (frames 15-25); with a confidence
    # of 0.25 instead of the site's 0.30 the stack loses that crossing (80 %): a fragile 100 %.
    "tud-campus": Floor(1.0, 1.0, 1.0, 1.0, mota=0.60, idf1=0.75),  # reached: MOTA 0.6045, IDF1 0.7551
    "tud-campus@dont-walk": Floor(1.0, 1.0, 1.0, 1.0),
    "tud-campus@walk-from-1.5s": Floor(1.0, 1.0, 1.0, 1.0),
    # Person 6 pushes a bicycle across the lower crosswalk: a pedestrian (riding needs more than
    # walking pace). Valid rates raised from 2/3 and 5/6: at 3.28 s the bicycle cut the bottom of
    # the same person's box (frames 79-81), whose foot point jumped back over the curb edge of
    # this thin virtual crosswalk and in again, a second crossing; a cut box no longer moves
    # anyone between zones.
    # Tracking figures leave out people outside the detection region (the crop on this 1080p frame).
    "towncentre-excerpt": Floor(1.0, 1.0, 1.0, 1.0, mota=0.62, idf1=0.82),  # reached: MOTA 0.6250, IDF1 0.8220
    "towncentre-excerpt@walk": Floor(0.0, 0.0, 1.0, 1.0),
    "towncentre-excerpt@dont-walk": Floor(1.0, 1.0, 1.0, 1.0),
    "towncentre-excerpt@swapped": Floor(1.0, 1.0, 1.0, 1.0),
    # The five people walking along the street through the crosswalks drawn across it: no record,
    # since from the side only the way across counts and it must outweigh the way along.
    "towncentre-along": Floor(0.0, 0.0, 0.0, 0.0, silent=0),
    # Crossings valid raised from 19/22: the box of a man whose feet are below the picture ends
    # 4 px into the 22 px band (frame 19), less than box bottoms jitter on a person that tall; a
    # box cut by the people in front (frame 102); feet back on the far curb confirming a step in
    # (frame 214). Only seen feet, walked in by 7 % of the person's height, now confirm an entry.
    "intersection-crowd": Floor(1.0, 1.0, 1.0, 1.0),
    "intersection-crowd@walk": Floor(0.0, 0.0, 1.0, 1.0),
    # Under DON'T WALK every violation is recorded (19/19, 13/13) now that each crossing is
    # judged on its own; the false violations (valid 19/21, 13/15) went with the crossings above.
    "intersection-crowd@dont-walk": Floor(1.0, 1.0, 1.0, 1.0),
    "intersection-crowd@reverse": Floor(1.0, 1.0, 1.0, 1.0),
    # Crossings valid raised from 5/6: a man walking along the near pavement, his legs hidden by
    # his bag (box 0.77 of his height), was recorded crossing at frame 119. The three riders
    # produce no record.
    "zebra-streetlevel": Floor(1.0, 1.0, 1.0, 1.0),
    "zebra-streetlevel@walk": Floor(0.0, 0.0, 1.0, 1.0),
    "zebra-streetlevel@dont-walk": Floor(1.0, 1.0, 1.0, 1.0),
    "zebra-streetlevel@reverse": Floor(1.0, 1.0, 1.0, 1.0),
    # Every case and timeline together: violations 69/69 (valid 69/69), crossings 159/159
    # (valid 159/159), passes with a record 0/17; MOTA 0.710, IDF1 0.823.
    POOLED: Floor(1.0, 1.0, 1.0, 1.0, mota=0.70, idf1=0.82, silent=0),
}


@dataclass(frozen=True)
class GateRun:
    report: EvalReport
    out: Path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GateRun]:
    data = shared_data_dir()
    root: Path = tmp_path_factory.mktemp("gate")
    detectors = SharedDetectors()
    results = {}
    for case in load_cases(CASES, data):
        require_shared(str(case.inputs.video.relative_to(data)))
        site = load_case_site(case, data)
        out = root / case.name
        for report in run_eval(site, detectors.for_site(site), case.inputs, EvalOptions(out, thumbnails=False)):
            results[report.case] = GateRun(report, out)
    (pooled,) = pool([r.report for r in results.values()])
    results[POOLED] = GateRun(pooled, root)
    return results


def test_every_case_has_a_floor(runs: dict[str, GateRun]) -> None:
    assert sorted(runs) == sorted(FLOORS)


@pytest.mark.parametrize("case", sorted(FLOORS))
def test_passes_that_must_produce_nothing_do_not_get_worse(runs: dict[str, GateRun], case: str) -> None:
    report = runs[case].report
    assert report.passes.with_record <= FLOORS[case].silent, report.describe()


@pytest.mark.parametrize("case", sorted(FLOORS))
def test_rates_do_not_drop(runs: dict[str, GateRun], case: str) -> None:
    report, floor = runs[case].report, FLOORS[case]
    got = {
        "violation capture": (report.violations.capture_rate, floor.violation_capture),
        "violation valid": (report.violations.valid_rate, floor.violation_valid),
        "crossing capture": (report.crossings.capture_rate, floor.crossing_capture),
        "crossing valid": (report.crossings.valid_rate, floor.crossing_valid),
    }
    dropped = {name: pair for name, pair in got.items() if (pair[0] or 0.0) < pair[1] - 1e-9}
    assert not dropped, f"{case}: below the floor (got, floor): {dropped}\n{report.describe()}"


@pytest.mark.parametrize("case", sorted(FLOORS))
def test_no_warning_to_anyone_who_had_walk(runs: dict[str, GateRun], case: str) -> None:
    assert runs[case].report.false_warnings == [], runs[case].report.describe()


@pytest.mark.parametrize("case", [name for name, floor in sorted(FLOORS.items()) if floor.mota is not None])
def test_tracking_does_not_drop(runs: dict[str, GateRun], case: str) -> None:
    tracking, floor = runs[case].report.tracking, FLOORS[case]
    assert tracking is not None and floor.mota is not None and floor.idf1 is not None
    assert tracking.mota >= floor.mota and tracking.idf1 >= floor.idf1, tracking


def test_two_people_stepping_in_side_by_side_are_both_recorded(runs: dict[str, GateRun]) -> None:
    """TUD-Stadtmitte persons 6 and 7 step into the crosswalk from the right 0.16 s apart.

    Person 6 walks half behind person 7 (their labelled boxes overlap at IoU 0.49 from frame
    62 to 76). Both crossings are recorded, each on its own track, and neither is missed.
    """
    run = runs["tud-stadtmitte"]
    events = [json.loads(line) for line in (run.out / "replay" / "events.jsonl").read_text().splitlines()]
    pair = [e for e in events if e["type"] == "crossing" and 55 <= e["entry_frame"] <= 85]
    assert [e["direction"] for e in pair] == ["right->left"] * 2, pair
    assert pair[0]["track_id"] != pair[1]["track_id"], pair
    assert not [f for f in run.report.findings if 55 <= f.entry_frame <= 85], run.report.describe()


@pytest.mark.parametrize(
    ("case", "frames"),
    [
        # A man whose feet are below the picture: for four frames his box ends 20 px higher, 4 px
        # into the 22 px band, less than box bottoms jitter on a person 170 px tall.
        pytest.param("intersection-crowd", (15, 25), id="feet-below-the-picture"),
        # A box cut by the people in front (0.8 of the person's height) just inside the band.
        pytest.param("intersection-crowd", (98, 108), id="box-cut-in-the-crowd"),
        # Feet 2-4 px over the band's far edge, then back on that curb: a step back, not in.
        pytest.param("intersection-crowd", (205, 225), id="feet-back-on-the-curb"),
        # The bicycle a person pushes cuts their box for three frames: a jump back to the curb.
        pytest.param("towncentre-excerpt", (75, 90), id="box-cut-by-a-pushed-bicycle"),
        # A man on the near pavement, his legs hidden by his bag: his box ends in the crosswalk.
        pytest.param("zebra-streetlevel", (110, 125), id="legs-hidden-by-a-bag"),
    ],
)
def test_feet_that_are_not_seen_make_no_record(runs: dict[str, GateRun], case: str, frames: tuple[int, int]) -> None:
    """Each of these records was false: a box whose bottom was not the person's feet."""
    first, last = frames
    report = runs[case].report
    false = [f for f in report.findings if f.outcome is Outcome.FALSE_RECORD and first <= f.entry_frame <= last]
    assert not false, report.describe()


def test_every_finding_has_a_thumbnail(tmp_path: Path) -> None:
    """A label nobody matches (a made-up crossing at 2.0 s) is reported as a miss with its picture."""
    data = shared_data_dir()
    case = next(c for c in load_cases(CASES, data) if c.name == "demo-crosswalk")
    require_shared(str(case.inputs.video.relative_to(data)))
    assert case.inputs.expected is not None
    labels = tmp_path / "expected.csv"
    labels.write_text(case.inputs.expected.read_text() + '2.00,22,cw-main,near->far,no,yes,300,290,"made up"\n')
    site = load_case_site(case, data)
    out = tmp_path / "out"
    inputs = replace(case.inputs, expected=labels, timelines=())
    report = run_eval(site, build_detector(site.detector), inputs, EvalOptions(out, max_frames=40))[0]
    assert [(f.entry_t, f.thumbnail is not None) for f in report.findings if f.entry_t == 2.0] == [(2.0, True)]
    for finding in report.findings:
        assert finding.thumbnail is not None
        image = cv2.imread(str(out / finding.thumbnail))
        assert image is not None and image.shape[:2] == (THUMB_HEIGHT + CAPTION_HEIGHT, THUMB_HEIGHT)
