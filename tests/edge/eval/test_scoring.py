"""Scoring a run: violations and crossings matched apart, false warnings, the readable report."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from detection.types import Detections
from edge.evaluation.groundtruth import PassKind, load_mot
from edge.evaluation.report import EvalReport, format_table, pool
from edge.evaluation.runner import EvalInputs, score, write_report
from edge.evaluation.tracking import TrackingMetrics, TrackingScorer
from edge.replay import ReplaySummary
from edge.signal.types import SignalState
from tests.conftest import require_shared
from tests.edge.eval.helpers import expected, recorded

INPUTS = EvalInputs(name="unit", video=Path("clip.mp4"), expected=Path("labels.csv"))
SUMMARY = ReplaySummary("clip.mp4", 100, 10.0, 10.0, 5.0, 20.0, 2.0, 3, 300, 0, 0, {}, "model@abc")


def _score(expectations, records) -> EvalReport:  # type: ignore[no-untyped-def]
    return score(INPUTS, SUMMARY, expectations, records, tolerance_s=1.0)


def test_violation_for_someone_who_had_walk_is_a_false_warning() -> None:
    # The person stepped in on WALK at 2.0 s; the stack saw them late (3.2 s, on DON'T WALK).
    truth = [expected(2.0, state=SignalState.WALK), expected(6.0, violation=True, state=SignalState.DONT_WALK)]
    records = [
        recorded(2.8, track=1),
        recorded(2.8, track=1, violation=True, state=SignalState.DONT_WALK),
        recorded(6.1, track=2),
        recorded(6.1, track=2, violation=True, state=SignalState.DONT_WALK),
    ]
    report = _score(truth, records)
    assert (report.crossings.hits, report.crossings.false_records) == (2, 0)
    assert (report.violations.hits, report.violations.false_records) == (1, 1)
    assert report.violations.valid_rate == 0.5 and report.violations.capture_rate == 1.0
    assert [(w.track_id, w.true_signal_state) for w in report.false_warnings] == [(1, "WALK")]


def test_missed_violation_and_false_crossing_are_findings() -> None:
    truth = [expected(5.0, violation=True, state=SignalState.DONT_WALK, point=(100.0, 200.0))]
    records = [recorded(5.2, track=4, point=(105.0, 200.0)), recorded(9.0, "south->north", track=7)]
    report = _score(truth, records)
    assert report.violations.capture_rate == 0.0 and report.violations.valid_rate is None
    assert [(f.outcome, f.kind, f.track_id) for f in report.findings] == [
        ("miss", "violation", None),
        ("false record", "crossing", 7),
    ]
    assert report.false_warnings == []


def test_report_files(tmp_path: Path) -> None:
    report = _score([expected(1.0), expected(4.0)], [recorded(1.1), recorded(8.0, track=2)])
    write_report(report, tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["crossings"]["capture_rate"] == 0.5 and data["crossings"]["valid_rate"] == 0.5
    assert data["violations"]["capture_rate"] is None
    assert [f["outcome"] for f in data["findings"]] == ["miss", "false record"]
    text = (tmp_path / "report.txt").read_text()
    assert "50.0% 1/2" in text and "n/a 0/0" in text
    assert "miss         crossing  t=  4.00s frame 40" in text
    assert "false record crossing  t=  8.00s frame 80    cw1 north->south track 2" in text


def test_record_for_a_rider_counts_against_the_pass() -> None:
    # A rider passes at 3.0 s and an along-the-road walker at 7.0 s; the stack records the rider.
    truth = [expected(1.0), expected(3.0, "", kind=PassKind.RIDER), expected(7.0, "", kind=PassKind.ALONG)]
    records = [
        recorded(1.1, track=1),
        recorded(3.3, track=5),
        recorded(3.3, track=5, violation=True, state=SignalState.DONT_WALK),
    ]
    report = _score(truth, records)
    assert (report.passes.passes, report.passes.with_record) == (2, 1)
    assert report.crossings.expected == 1 and report.crossings.false_records == 1  # a pass is no crossing
    assert report.violations.false_records == 1
    assert [(p.kind, p.records) for p in report.silent_passes] == [
        ("rider", ["crossing track 5 t=3.30s", "violation track 5 t=3.30s"])
    ]
    assert "rider pass t=  3.00s cw1 recorded: crossing track 5" in report.findings_text()


def test_violation_for_an_ambiguous_entry_counts_neither_way() -> None:
    # The entry lies at a phase change: a crossing and a violation recorded for it are no false records.
    truth = [expected(4.0, required=False, state=SignalState.WALK)]
    records = [recorded(4.1), recorded(4.1, violation=True, state=SignalState.DONT_WALK)]
    report = _score(truth, records)
    assert (report.violations.false_records, report.violations.ambiguous) == (0, 1)
    assert (report.crossings.false_records, report.crossings.ambiguous) == (0, 1)
    assert report.false_warnings == []


def test_entry_at_a_phase_change_is_a_crossing_with_an_ambiguous_verdict() -> None:
    truth = [replace(expected(4.0), ambiguous_verdict=True), replace(expected(8.0), ambiguous_verdict=True)]
    records = [recorded(4.1), recorded(4.1, violation=True, state=SignalState.DONT_WALK), recorded(8.1, track=2)]
    report = _score(truth, records)
    assert (report.crossings.hits, report.crossings.expected) == (2, 2)
    assert (report.violations.expected, report.violations.reported, report.violations.ambiguous) == (0, 0, 1)
    assert report.findings == [] and report.false_warnings == []


def test_pooled_rates_come_from_summed_counts() -> None:
    one = _score([expected(1.0, violation=True, state=SignalState.DONT_WALK)], [])
    two = _score(
        [expected(1.0), expected(2.0), expected(3.0, "", kind=PassKind.RIDER)],
        [recorded(1.0), recorded(2.0, track=2), recorded(3.0, track=3)],
    )
    two.timeline = "all-dont-walk"
    (pooled,) = pool([one, two])
    assert pooled.case == "POOLED" and pooled.variant == "clean"
    assert (pooled.crossings.hits, pooled.crossings.expected, pooled.crossings.reported) == (2, 3, 3)
    assert pooled.crossings.capture_rate == pytest.approx(2 / 3)
    assert (pooled.violations.capture_rate, pooled.violations.valid_rate) == (0.0, None)
    assert (pooled.passes.passes, pooled.passes.with_record) == (1, 1)
    assert pooled.frames == SUMMARY.frames  # a timeline re-uses its case's frames


def test_pool_and_table_per_variant() -> None:
    clean, dark = _score([expected(1.0)], [recorded(1.0)]), _score([expected(1.0)], [])
    dark.variant = "low_light:3"
    pooled = pool([clean, dark])
    assert [(p.variant, p.crossings.capture_rate) for p in pooled] == [("clean", 1.0), ("low_light:3", 0.0)]
    table = format_table([clean, dark, *pooled])
    assert table.splitlines()[0].split()[:2] == ["case", "variant"]
    assert "low_light:3" in table.splitlines()[3] and "0.0% 0/1" in table.splitlines()[3]
    assert "variant" not in format_table([clean])


def test_tracking_pooled_over_clips_is_tracking_over_the_joined_clips() -> None:
    truth = load_mot(require_shared("labels/TUD-Campus_gt.txt"))

    def tracked(index: int, gt: Detections) -> Detections:  # drop every 4th box, swap ids from frame 30
        keep = np.arange(len(gt)) % 4 != index % 4
        ids = gt.tracker_id.copy()
        if index >= 30:
            ids[ids == 3], ids[ids == 4] = 4, 3
        return gt.with_tracker_ids(ids)[keep]

    halves, joined = [TrackingScorer(), TrackingScorer()], TrackingScorer()
    for index in range(truth.frame_count):
        gt = truth.at(index)
        offset = 0 if index < 35 else 100  # the second clip's people are other people
        gt = gt.with_tracker_ids(gt.tracker_id + offset)
        halves[index >= 35].update(gt, tracked(index, gt))
        joined.update(gt, tracked(index, gt))
    pooled, whole = TrackingMetrics.pooled([h.result() for h in halves]), joined.result()
    assert pooled.mota == pytest.approx(whole.mota) and pooled.idf1 == pytest.approx(whole.idf1)
    assert (pooled.id_switches, pooled.misses, pooled.objects) == (whole.id_switches, whole.misses, whole.objects)
