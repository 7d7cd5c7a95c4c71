"""Tracking figures from py-motmetrics on the real TUD-Campus labels, perturbed in known ways."""

from __future__ import annotations

import numpy as np
import pytest

from detection.region import Region
from detection.types import Detections
from edge.evaluation.groundtruth import load_mot
from edge.evaluation.runner import _in_region
from edge.evaluation.tracking import TrackingScorer, edge_distance
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


def _without(truth, person: int, frames: range):  # type: ignore[no-untyped-def]
    def drop(index: int, gt: Detections) -> Detections:
        return gt[gt.tracker_id != person] if index in frames else gt

    return drop


def test_an_interrupted_track_counts_one_fragmentation(truth) -> None:  # type: ignore[no-untyped-def]
    assert _score(truth, lambda i, gt: gt).fragmentations == 0
    result = _score(truth, _without(truth, 3, range(20, 25)))
    assert (result.fragmentations, result.id_switches) == (1, 0)


def test_figures_near_a_zone_edge_count_only_what_happens_there(truth) -> None:  # type: ignore[no-untyped-def]
    """Person 3 is lost at frame 20 right by a drawn edge and again at frame 60, far from it."""
    at_20 = truth.at(20)
    foot = at_20[at_20.tracker_id == 3].foot_points()[0]
    edge = foot + np.array([[-5, -5], [5, -5], [5, 5], [-5, 5]])
    at_60 = truth.at(60)
    assert np.linalg.norm(at_60[at_60.tracker_id == 3].foot_points()[0] - foot) > 100

    def lose_twice(index: int, gt: Detections) -> Detections:
        return gt[gt.tracker_id != 3] if index in (20, 21, 60, 61) else gt

    scorer = TrackingScorer([edge])
    for index in range(truth.frame_count):
        scorer.update(truth.at(index), lose_twice(index, truth.at(index)))
    result = scorer.result()
    assert result.fragmentations == 2 and result.edge is not None
    assert (result.edge.fragmentations, result.edge.id_switches) == (1, 0)
    assert result.edge.misses == 2  # frames 20 and 21: both within a step of the edge
    assert 0 < result.edge.boxes < 359


def test_edge_distance() -> None:
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    points = np.array([[5, 5], [5, -3], [14, 10], [0, 0]], float)
    assert edge_distance(points, square).tolist() == [5.0, 3.0, 4.0, 0.0]


def test_people_outside_the_detection_region_are_left_out_of_the_figures(truth) -> None:  # type: ignore[no-untyped-def]
    region = Region(0, 0, 320, 480, 640, 480)  # the left half: the detector never sees the right
    full = _score(truth, lambda i, gt: gt[gt.foot_points()[:, 0] < 320])
    scorer = TrackingScorer()
    for index in range(truth.frame_count):
        gt = truth.at(index)
        scorer.update(_in_region(gt, region), gt[gt.foot_points()[:, 0] < 320])
    ignored = scorer.result()
    assert full.misses > 0 and full.mota < 1.0  # scored over the whole frame: the right half is missed
    assert (ignored.misses, ignored.mota) == (0, 1.0)
    assert _in_region(truth.at(0), None) is not None and len(_in_region(truth.at(0), None)) == len(truth.at(0))
