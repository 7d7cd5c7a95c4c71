"""Tracking figures from py-motmetrics on the real TUD-Campus labels, perturbed in known ways."""

from __future__ import annotations

import numpy as np
import pytest

from detection.types import Detections
from edge.evaluation.groundtruth import load_mot
from edge.evaluation.tracking import TrackingScorer
from tests.conftest import require_shared


def _score(truth, transform) -> object:  # type: ignore[no-untyped-def]
    scorer = TrackingScorer()
    for index in range(truth.frame_count):
        gt = truth.at(index)
        scorer.update(gt, transform(index, gt))
    return scorer.result()


@pytest.fixture(scope="module")
def truth():  # type: ignore[no-untyped-def]
    return load_mot(require_shared("labels/TUD-Campus_gt.txt"))


def test_perfect_tracks(truth) -> None:  # type: ignore[no-untyped-def]
    result = _score(truth, lambda i, gt: gt)
    assert (result.mota, result.idf1, result.id_switches, result.misses) == (1.0, 1.0, 0, 0)
    assert (result.people, result.frames) == (8, 71)


def test_identity_swap_counts_switches(truth) -> None:  # type: ignore[no-untyped-def]
    def swap_after_30(index: int, gt: Detections) -> Detections:
        if index < 30:
            return gt
        ids = gt.tracker_id.copy()
        three, four = ids == 3, ids == 4
        ids[three], ids[four] = 4, 3
        return gt.with_tracker_ids(ids)

    result = _score(truth, swap_after_30)
    assert result.id_switches == 2
    assert result.idf1 < 1.0
    assert result.mota == pytest.approx(1.0 - 2 / 359)


def test_missing_and_shifted_boxes(truth) -> None:  # type: ignore[no-untyped-def]
    def drop_person_5_and_shift_person_1(index: int, gt: Detections) -> Detections:
        kept = gt[gt.tracker_id != 5]
        xyxy = kept.xyxy.copy()
        xyxy[kept.tracker_id == 1] += np.array([200, 0, 200, 0], np.float32)  # IoU 0: a miss and a false positive
        return Detections(xyxy, kept.confidence, kept.class_id, kept.tracker_id)

    result = _score(truth, drop_person_5_and_shift_person_1)
    boxes_of = {i: sum(int((truth.at(f).tracker_id == i).sum()) for f in range(71)) for i in (1, 5)}
    assert result.misses == boxes_of[1] + boxes_of[5]
    assert result.false_positives == boxes_of[1]
    assert result.mota == pytest.approx(1.0 - (2 * boxes_of[1] + boxes_of[5]) / 359)
