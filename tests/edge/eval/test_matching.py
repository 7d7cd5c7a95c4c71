"""One-to-one matching of records to expectations, and the rates it gives."""

from __future__ import annotations

import pytest

from edge.evaluation.groundtruth import PassKind
from edge.evaluation.matching import attribute_to_passes, match_events
from edge.signal.types import SignalState
from tests.edge.eval.helpers import expected, recorded


@pytest.mark.parametrize(
    ("expectations", "records", "hits", "misses", "false_records"),
    [
        pytest.param([expected(5.0)], [recorded(5.4)], 1, 0, 0, id="within tolerance"),
        pytest.param([expected(5.0)], [recorded(4.0)], 1, 0, 0, id="exactly at the tolerance"),
        pytest.param([expected(5.0)], [recorded(6.2)], 0, 1, 1, id="too late"),
        pytest.param([expected(5.0)], [recorded(5.0, "south->north")], 0, 1, 1, id="wrong direction"),
        pytest.param([expected(5.0)], [recorded(5.0, crosswalk="cw2")], 0, 1, 1, id="wrong crosswalk"),
        pytest.param([expected(5.0)], [recorded(5.0), recorded(5.1, track=2)], 1, 0, 1, id="two records, one person"),
        pytest.param([expected(5.0), expected(5.2)], [recorded(5.1)], 1, 1, 0, id="one record, two people"),
        pytest.param([], [recorded(1.0)], 0, 0, 1, id="nothing expected"),
        pytest.param([expected(1.0)], [], 0, 1, 0, id="nothing recorded"),
    ],
)
def test_counts(expectations, records, hits, misses, false_records) -> None:
    result = match_events(expectations, records, tolerance_s=1.0)
    assert (len(result.hits), len(result.misses), len(result.false_records)) == (hits, misses, false_records)


def test_assignment_is_optimal_not_greedy() -> None:
    # Greedy by time would give the 5.5 record to the 5.4 person and leave the 4.6 person unmatched.
    people = [expected(4.6), expected(5.4)]
    records = [recorded(5.5, track=1), recorded(6.3, track=2)]
    result = match_events(people, records, tolerance_s=1.0)
    assert len(result.hits) == 2
    assert {(p.expected.entry_t, p.reported.track_id) for p in result.hits} == {(4.6, 1), (5.4, 2)}


def test_entry_point_decides_between_people_entering_together() -> None:
    near, far = expected(4.26, point=(583, 241)), expected(9.0, point=(470, 290))
    records = [recorded(4.26, track=2, point=(507, 225)), recorded(4.35, track=13, point=(580, 242))]
    result = match_events([near, far], records, tolerance_s=1.0, diagonal=731.0)
    assert [p.reported.track_id for p in result.hits] == [13]
    assert [r.track_id for r in result.false_records] == [2]


def test_credits_are_not_passed_along_a_run_of_people_stepping_in() -> None:
    # The crowd clip at night: people walk away 0.5-0.8 s apart; a false record at 5.0 s lies at
    # the spot where a man steps in at 5.6 s, and the man labelled at 6.9 s, 200 px away, is not
    # recorded. Pairing as many as it can, the assignment would give each record the next label.
    labels = [expected(5.6, point=(172, 338)), expected(6.1, point=(88, 339)), expected(6.9, point=(299, 339))]
    records = [
        recorded(5.0, track=27, point=(173, 322)),
        recorded(5.6, track=24, point=(171, 332)),
        recorded(6.2, track=28, point=(91, 339)),
    ]
    result = match_events(labels, records, tolerance_s=1.0, diagonal=734.0)
    assert sorted((p.expected.entry_t, p.reported.track_id) for p in result.hits) == [(5.6, 24), (6.1, 28)]
    assert [m.entry_t for m in result.misses] == [6.9]
    assert [r.track_id for r in result.false_records] == [27]


def test_ambiguous_expectation_is_neither_hit_nor_miss() -> None:
    result = match_events([expected(0.0, required=False), expected(3.0)], [recorded(0.1), recorded(3.1, track=2)])
    assert len(result.ambiguous) == 1 and len(result.hits) == 1
    assert (result.expected, result.reported) == (1, 1)
    assert (result.capture_rate, result.valid_rate) == (1.0, 1.0)
    unrecorded = match_events([expected(0.0, required=False)], [])
    assert unrecorded.misses == [] and unrecorded.capture_rate is None


def test_rates() -> None:
    result = match_events([expected(1.0), expected(5.0), expected(9.0)], [recorded(1.2), recorded(7.0, track=2)])
    assert result.capture_rate == pytest.approx(1 / 3)
    assert result.valid_rate == pytest.approx(1 / 2)
    assert result.hits[0].dt == pytest.approx(0.2)


RIDER = PassKind.RIDER


@pytest.mark.parametrize(
    ("passes", "records", "attributed"),
    [
        pytest.param([expected(5.0, kind=RIDER)], [recorded(5.6)], [1], id="a crossing near a rider"),
        pytest.param([expected(5.0, "", kind=PassKind.ALONG)], [recorded(5.6)], [1], id="direction not compared"),
        pytest.param(
            [expected(5.0, kind=RIDER)],
            [recorded(5.6), recorded(5.6, violation=True, state=SignalState.DONT_WALK)],
            [2],
            id="a violation and its crossing",
        ),
        pytest.param([expected(5.0, kind=RIDER)], [recorded(6.2)], [0], id="beyond the tolerance"),
        pytest.param([expected(5.0, kind=RIDER)], [recorded(5.0, crosswalk="cw2")], [0], id="another crosswalk"),
        pytest.param(
            [expected(5.0, kind=RIDER), expected(5.4, kind=RIDER)], [recorded(5.3)], [0, 1], id="nearest in time"
        ),
        pytest.param(
            [expected(5.0, kind=RIDER, point=(100, 500)), expected(5.4, kind=RIDER, point=(900, 500))],
            [recorded(5.3, point=(110.0, 500.0))],
            [1, 0],
            id="nearest by entry point",
        ),
        pytest.param([expected(5.0, kind=RIDER)], [], [0], id="silent, as it must be"),
    ],
)
def test_records_are_attributed_to_the_nearest_pass(passes, records, attributed) -> None:  # type: ignore[no-untyped-def]
    results = attribute_to_passes(passes, records, tolerance_s=1.0, diagonal=1000.0)
    assert [len(r.records) for r in results] == attributed
