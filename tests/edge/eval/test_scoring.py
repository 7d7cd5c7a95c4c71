"""Scoring a run: violations and crossings matched apart, false warnings, the readable report."""

from __future__ import annotations

import json
from pathlib import Path

from edge.evaluation.report import EvalReport
from edge.evaluation.runner import EvalInputs, score, write_report
from edge.replay import ReplaySummary
from edge.signal.types import SignalState
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
    records = [recorded(5.2, track=4), recorded(9.0, "south->north", track=7)]
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
