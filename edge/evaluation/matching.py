"""One-to-one matching of recorded events to expected ones, and the two acceptance rates.

A record matches an expectation on the same crosswalk and direction whose entry time lies
within the tolerance and, when the labels say where the person stepped in, whose entry point
lies within the way a walker covers in that time (``WALK_HEIGHTS_PER_S`` of the person's box
height per second of tolerance): a record farther away is someone else's. Among all such pairs
the assignment minimising the total time distance is taken
(``scipy.optimize.linear_sum_assignment``), so one record can never be credited for two people,
nor two records for one. The distance between the two entry points is added to the cost (at
``SECONDS_PER_DIAGONAL``), so of two people entering at nearly the same moment each record is
credited to the right one.

Without the distance limit, in a run of people stepping in the same way a second apart the
assignment, which first pairs as many as it can, would pass credits along the run: a record
given to the label of the person beside it, whose own record goes to the next label, and so
on, so a false record counted as a hit and a person nobody recorded was not counted missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from edge.evaluation.groundtruth import ExpectedEvent
from edge.events import CrossingEvent

# Ties go to a required expectation rather than an ambiguous one.
_OPTIONAL_PENALTY_S = 1e-3
# Entry points a whole picture diagonal apart cost as much as entry times 2 s apart.
SECONDS_PER_DIAGONAL = 2.0
# A brisk walk (1.7 m/s) covers about one body height a second.
WALK_HEIGHTS_PER_S = 1.0


@dataclass(frozen=True)
class Pair:
    expected: ExpectedEvent
    reported: CrossingEvent

    @property
    def dt(self) -> float:
        """Reported minus expected entry time, seconds."""
        return self.reported.entry_t - self.expected.entry_t


@dataclass(frozen=True)
class MatchResult:
    """Hits, misses and false records of one event kind (violations, or all crossings).

    ``capture_rate`` = hits ÷ required expectations (recall); ``valid_rate`` = hits ÷
    records, not counting records matched to ambiguous expectations (precision). A rate
    with nothing to divide by is None.
    """

    hits: list[Pair]
    ambiguous: list[Pair]
    misses: list[ExpectedEvent]
    false_records: list[CrossingEvent]

    @property
    def expected(self) -> int:
        return len(self.hits) + len(self.misses)

    @property
    def reported(self) -> int:
        return len(self.hits) + len(self.false_records)

    @property
    def capture_rate(self) -> float | None:
        return len(self.hits) / self.expected if self.expected else None

    @property
    def valid_rate(self) -> float | None:
        return len(self.hits) / self.reported if self.reported else None


def _compatible(expected: ExpectedEvent, reported: CrossingEvent, tolerance_s: float) -> bool:
    return (
        expected.crosswalk_id == reported.crosswalk_id
        and expected.direction == reported.direction
        and abs(reported.entry_t - expected.entry_t) <= tolerance_s
        and _within_reach(expected, reported, tolerance_s)
    )


def _within_reach(expected: ExpectedEvent, reported: CrossingEvent, tolerance_s: float) -> bool:
    """Whether the two entry points are no farther apart than the person walks within the tolerance."""
    height = _height(reported.entry_box) or _height(expected.box)
    if expected.foot_point is None or not height:
        return True
    gap = np.hypot(reported.foot_point[0] - expected.foot_point[0], reported.foot_point[1] - expected.foot_point[1])
    return float(gap) <= WALK_HEIGHTS_PER_S * tolerance_s * height


def _height(box: tuple[float, float, float, float] | None) -> float:
    return max(0.0, box[3] - box[1]) if box is not None else 0.0


def _cost(expected: ExpectedEvent, reported: CrossingEvent, diagonal: float) -> float:
    cost = abs(reported.entry_t - expected.entry_t)
    if expected.foot_point is not None and diagonal > 0:
        dx = reported.foot_point[0] - expected.foot_point[0]
        dy = reported.foot_point[1] - expected.foot_point[1]
        cost += SECONDS_PER_DIAGONAL * float(np.hypot(dx, dy)) / diagonal
    return cost + (0.0 if expected.required else _OPTIONAL_PENALTY_S)


def match_events(
    expected: Sequence[ExpectedEvent],
    reported: Sequence[CrossingEvent],
    tolerance_s: float = 1.0,
    diagonal: float = 0.0,
) -> MatchResult:
    """Match records to expectations one to one, minimising the summed entry-time distance.

    ``diagonal`` is the picture's diagonal in pixels; 0 leaves entry points out of the cost.

    Example:
        >>> match_events([], []).capture_rate is None
        True
    """
    big = 1e6  # marks impossible pairs; never chosen over a possible one by the solver
    cost = np.full((len(expected), len(reported)), big)
    for i, exp in enumerate(expected):
        for j, rep in enumerate(reported):
            if _compatible(exp, rep, tolerance_s):
                cost[i, j] = _cost(exp, rep, diagonal)
    rows, cols = linear_sum_assignment(cost) if cost.size else (np.zeros(0, int), np.zeros(0, int))
    pairs = [
        Pair(expected[r], reported[c]) for r, c in zip(rows.tolist(), cols.tolist(), strict=True) if cost[r, c] < big
    ]
    used_expected = {id(p.expected) for p in pairs}
    used_reported = {id(p.reported) for p in pairs}
    return MatchResult(
        hits=[p for p in pairs if p.expected.required],
        ambiguous=[p for p in pairs if not p.expected.required],
        misses=[e for e in expected if id(e) not in used_expected and e.required],
        false_records=[r for r in reported if id(r) not in used_reported],
    )


@dataclass(frozen=True)
class PassResult:
    """A rider or along-the-road pass, with the records attributed to it (there must be none)."""

    expected: ExpectedEvent
    records: list[CrossingEvent]


def attribute_to_passes(
    passes: Sequence[ExpectedEvent],
    unmatched: Sequence[CrossingEvent],
    tolerance_s: float = 1.0,
    diagonal: float = 0.0,
) -> list[PassResult]:
    """Give each record that matched no pedestrian to the nearest pass on its crosswalk within the tolerance.

    Direction is not compared: an along-the-road pass has none, and a rider's record may
    have either. Nearest is by entry time, plus entry point when the label gives it.
    """
    found: dict[int, list[CrossingEvent]] = {id(p): [] for p in passes}
    for record in unmatched:
        near = [
            p
            for p in passes
            if p.crosswalk_id == record.crosswalk_id and abs(record.entry_t - p.entry_t) <= tolerance_s
        ]
        if near:
            found[id(min(near, key=lambda p: _cost(p, record, diagonal)))].append(record)
    return [PassResult(p, found[id(p)]) for p in passes]
