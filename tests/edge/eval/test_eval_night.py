"""At night (the low_light variant at medium severity) the demo clip's violations are all recorded.

Without the low-light stage the darkened demo clip loses the man in the black coat who steps
onto the stripes on DON'T WALK, and a second track of another person is recorded in his place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.registry import build_detector
from edge.evaluation.cases import load_case_site, load_cases
from edge.evaluation.corruptions import Variant
from edge.evaluation.report import EvalReport, Outcome
from edge.evaluation.runner import EvalOptions, run_eval
from edge.events import EventType
from tests.conftest import require_shared


def night_run(tmp_path: Path, low_light: str) -> EvalReport:
    require_shared("video/crosswalk_elevated_fixed.mp4")
    case = next(c for c in load_cases() if c.name == "demo-crosswalk")
    site = load_case_site(case)
    detector = build_detector(site.detector.model_copy(update={"low_light": low_light}))
    options = EvalOptions(out=tmp_path / low_light, thumbnails=False, variant=Variant.parse("low_light:3"))
    return run_eval(site, detector, case.inputs, options)[0]  # the case's own timeline


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EvalReport]:
    out = tmp_path_factory.mktemp("night")
    return {mode: night_run(out, mode) for mode in ("auto", "off")}


def test_every_violation_is_captured_at_night(reports: dict[str, EvalReport]) -> None:
    night = reports["auto"]
    assert night.variant == "low_light:3"
    assert (night.violations.expected, night.violations.hits) == (2, 2)
    assert (night.crossings.expected, night.crossings.hits) == (4, 4)
    # Each entry once: the sign post at the island, tracked as a person on the night scale, loses
    # its track at 8.3 s; with the torso colours of a dark frame (sensor noise, any two alike) that
    # track came back at 9.7 s on a box it barely overlapped, the woman in the black coat walking
    # past, and her entry was recorded twice. On dark frames the tracker matches by boxes alone.
    assert night.violations.false_records == 0 and night.crossings.false_records == 0
    assert not night.false_warnings


def test_without_the_stage_the_night_run_misses_a_violation(reports: dict[str, EvalReport]) -> None:
    bare = reports["off"]
    assert bare.violations.hits < reports["auto"].violations.hits


def test_a_box_a_lost_person_is_found_again_on_confirms_no_step_in(tmp_path: Path) -> None:
    # The zebra clip at night: the man who came over at 10.8 s is lost for 4 frames on the near kerb
    # and found again on one box cut at the knee that puts his feet 20 px into the crossing, then
    # back on the kerb. That one box confirmed a step in on DON'T WALK (16.2 s); the next box decides.
    require_shared("video/zebra_crossing_streetlevel.mp4")
    case = next(c for c in load_cases() if c.name == "zebra-streetlevel")
    site = load_case_site(case)
    options = EvalOptions(out=tmp_path, thumbnails=False, variant=Variant.parse("low_light:3"))
    reports = run_eval(site, build_detector(site.detector), case.inputs, options)
    dont_walk = next(r for r in reports if r.timeline == "dont-walk")
    false_violations = [
        (f.entry_t, f.direction)
        for f in dont_walk.findings
        if f.outcome is Outcome.FALSE_RECORD and f.kind is EventType.VIOLATION
    ]
    assert false_violations == []
    assert dont_walk.violations.hits == dont_walk.violations.expected


@pytest.fixture(scope="module")
def crowd_at_night(tmp_path_factory: pytest.TempPathFactory) -> EvalReport:
    """The crowd clip's first 200 frames at night, scored under DON'T WALK throughout."""
    require_shared("video/intersection_crowd_tripod.mp4")
    case = next(c for c in load_cases() if c.name == "intersection-crowd")
    site = load_case_site(case)
    out = tmp_path_factory.mktemp("crowd-night")
    options = EvalOptions(out=out, thumbnails=False, max_frames=200, variant=Variant.parse("low_light:3"))
    reports = run_eval(site, build_detector(site.detector), case.inputs, options)
    return next(r for r in reports if r.timeline == "dont-walk")


def violations(report: EvalReport, outcome: Outcome) -> list[float]:
    """Entry times (0.1 s) of the report's violation findings of one outcome."""
    return [round(f.entry_t, 1) for f in report.findings if f.outcome is outcome and f.kind is EventType.VIOLATION]


def test_a_man_found_legs_first_at_the_near_kerb_does_not_step_in_from_the_far_one(
    crowd_at_night: EvalReport,
) -> None:
    # The crowd clip at night: by the near kerb the detector finds only the upper body of a man on
    # most frames from his track's first one, so his box bottoms put him on the far kerb. When his
    # legs are found for two frames, he stands on the near kerb; a step in from the far kerb was
    # recorded at 6.6 s all the same (a false violation under DON'T WALK).
    assert crowd_at_night.violations.hits > 0
    assert 6.6 not in violations(crowd_at_night, Outcome.FALSE_RECORD)


def test_a_far_man_taken_for_a_near_one_lost_does_not_step_in_from_the_near_kerb(
    crowd_at_night: EvalReport,
) -> None:
    # A near man (boxes 174 px) is lost on the near kerb; 0.8 s later a man on the far side of
    # the band (97 px) gets a new id 34 px from where he was lost, and is taken for him. Measured
    # against his own boxes alone, not the near man's, his were not judged cut, and he stepped in
    # from the near man's kerb at 5.0 s.
    assert 5.0 not in violations(crowd_at_night, Outcome.FALSE_RECORD)


def test_a_man_given_the_id_of_someone_who_stepped_in_there_is_recorded_stepping_in(
    crowd_at_night: EvalReport,
) -> None:
    # The tracker moves the id of a woman who stepped in at 5.27 s onto the man in dark jeans
    # waiting on the near kerb, and loses him; a new id starting there is taken for him. When he
    # steps in at her spot 2.2 s later, he was taken for her hesitating at the curb edge: no
    # record, a missed violation at 7.6 s.
    assert 7.6 not in violations(crowd_at_night, Outcome.MISS)


def test_a_woman_who_just_crossed_does_not_walk_back_on_the_legs_of_a_man_passing_in_front(
    crowd_at_night: EvalReport,
) -> None:
    # A woman walks over the band and reaches the far kerb at 7.0 s. As a near man passes in front
    # of her, the detector draws one box from her head to his legs, and her track takes it: her
    # feet seem to cross back over the band within 0.2 s of arriving, a step in at 7.2 s, and
    # then her track ends. Nobody can stop and turn round that fast.
    assert 7.2 not in violations(crowd_at_night, Outcome.FALSE_RECORD)
