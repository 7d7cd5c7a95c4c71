"""ByteTrack: stable ids through misses, low-score frames and crossing paths."""

from __future__ import annotations

import numpy as np
import pytest

from detection.tracker import ByteTracker, assign, colour_distance, iou_matrix, torso_histograms
from detection.types import Detections
from edge.config.tracker import TrackerConfig

FPS = 10.0


def boxes_at(*rows: tuple[float, float, float]) -> Detections:
    """Each row (x, y, score): a 40x100 person box with its top-left at (x, y)."""
    if not rows:
        return Detections.empty()
    return Detections.from_lists([[x, y, x + 40, y + 100] for x, y, _ in rows], [s for *_, s in rows], [0] * len(rows))


def run(frames: list[Detections], config: TrackerConfig | None = None) -> list[dict[int, tuple[float, float]]]:
    tracker = ByteTracker(config or TrackerConfig())
    out = []
    for i, dets in enumerate(frames):
        tracked = tracker.update(dets, i / FPS)
        out.append({int(t): (float(b[0]), float(b[1])) for t, b in zip(tracked.tracker_id, tracked.xyxy, strict=True)})
    return out


def test_one_person_keeps_one_id() -> None:
    frames = [boxes_at((100 + 5 * i, 200, 0.9)) for i in range(30)]
    ids = {tid for frame in run(frames) for tid in frame}
    assert ids == {1}


def test_id_survives_missed_detections() -> None:
    frames = [boxes_at((100 + 5 * i, 200, 0.9)) if not 10 <= i < 14 else Detections.empty() for i in range(30)]
    result = run(frames)
    assert all(not result[i] for i in range(10, 14))
    assert {tid for frame in result for tid in frame} == {1}


def test_low_score_detections_continue_a_track_but_never_start_one() -> None:
    frames = [boxes_at((100 + 5 * i, 200, 0.9 if i < 10 else 0.2)) for i in range(20)]
    result = run(frames)
    assert all(set(frame) == {1} for frame in result)
    assert run([boxes_at((100, 200, 0.2))] * 5) == [{}] * 5


def test_two_people_passing_keep_their_ids() -> None:
    frames = [boxes_at((100 + 10 * i, 200, 0.9), (400 - 10 * i, 200, 0.85)) for i in range(30)]
    result = run(frames)
    first, last = result[0], result[-1]
    assert set(first) == set(last) == {1, 2}
    # Person 1 walked right the whole way, person 2 left.
    assert last[1][0] > first[1][0] and last[2][0] < first[2][0]


def test_new_tracks_need_confirmation_after_the_first_frame() -> None:
    frames = [boxes_at((100, 200, 0.9))] * 3 + [boxes_at((100, 200, 0.9), (500, 200, 0.9))] * 3
    result = run(frames)
    assert set(result[3]) == {1}  # the newcomer is tentative on its first frame
    assert set(result[4]) == {1, 2}


def test_lost_tracks_expire() -> None:
    config = TrackerConfig(lost_seconds=0.5)
    frames = [boxes_at((100, 200, 0.9))] * 3 + [Detections.empty()] * 10 + [boxes_at((100, 200, 0.9))] * 3
    result = run(frames, config)
    assert set(result[-1]) == {2}


def test_same_input_same_ids() -> None:
    rng = np.random.default_rng(7)
    frames = [boxes_at(*((float(x), float(y), 0.9) for x, y in rng.uniform(0, 500, (4, 2)))) for _ in range(20)]
    assert run(frames) == run(frames)


def test_coasting_moves_confirmed_tracks_on_their_motion_and_keeps_their_ids() -> None:
    tracker = ByteTracker(TrackerConfig())
    for i in range(10):  # a person walking 5 px a frame to the right
        tracker.update(boxes_at((100 + 5 * i, 200, 0.9)), i / FPS)
    coasted = [tracker.coast() for _ in range(2)]
    assert [c.tracker_id.tolist() for c in coasted] == [[1], [1]]
    xs = [float(c.xyxy[0, 0]) for c in coasted]
    assert xs[0] == pytest.approx(150, abs=2) and xs[1] == pytest.approx(155, abs=2)
    # The next real detection continues the same track where the person really is.
    after = tracker.update(boxes_at((160, 200, 0.9)), 12 / FPS)
    assert after.tracker_id.tolist() == [1] and float(after.xyxy[0, 0]) == 160


def test_coasting_measures_nothing_so_the_filter_only_grows_less_certain() -> None:
    tracker = ByteTracker(TrackerConfig())
    for i in range(10):
        tracker.update(boxes_at((100 + 5 * i, 200, 0.9)), i / FPS)
    (track,) = tracker._tracks
    before = np.trace(track.cov)
    tracker.coast()
    assert np.trace(track.cov) > before  # predicted, never corrected by its own prediction
    assert track.last_t == pytest.approx(0.9)  # a coasted frame is no sighting


def test_a_new_person_waits_for_a_real_detection_and_says_so() -> None:
    tracker = ByteTracker(TrackerConfig())
    tracker.update(boxes_at((100, 200, 0.9)), 0.0)  # first frame: confirmed at once
    assert not tracker.confirming
    tracker.update(boxes_at((100, 200, 0.9), (400, 200, 0.9)), 0.1)
    assert tracker.confirming  # the second person needs a second detection
    assert tracker.coast().tracker_id.tolist() == [1]  # and is not output while coasting
    tracker.update(boxes_at((100, 200, 0.9), (400, 200, 0.9)), 0.2)
    assert not tracker.confirming


@pytest.mark.parametrize(
    ("cost", "max_cost", "pairs"),
    [
        (np.array([[0.1, 0.9], [0.8, 0.2]]), 0.5, [(0, 0), (1, 1)]),
        (np.array([[0.1, 0.9], [0.8, 0.7]]), 0.5, [(0, 0)]),
        (np.zeros((0, 3)), 0.5, []),
    ],
)
def test_assign(cost: np.ndarray, max_cost: float, pairs: list[tuple[int, int]]) -> None:
    assert assign(cost, max_cost)[0] == pairs


def test_iou_matrix() -> None:
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], float)
    assert iou_matrix(a, b).round(3).tolist() == [[1.0, 0.333, 0.0]]


def painted(*people: tuple[float, tuple[int, int, int]]) -> np.ndarray:
    """A grey street with each (x, colour) person drawn as a 40x100 box at y 200, torso in its colour."""
    image = np.full((400, 640, 3), 128, np.uint8)
    for x, colour in people:
        image[200:300, int(x) : int(x) + 40] = (60, 60, 60)
        image[215:260, int(x) + 8 : int(x) + 32] = colour
    return image


def test_a_box_in_other_colours_needs_more_overlap_to_continue_a_track() -> None:
    """A red-shirted person's track, then only a blue-shirted person half over their last box.

    By boxes alone (no frame given) the blue person continues the red person's id; with the
    frame, the colours disagree and the blue person waits for their own track instead.
    """
    red, blue = (0, 0, 200), (200, 0, 0)
    frames = [(boxes_at((300, 200, 0.9)), painted((300, red))) for _ in range(5)]
    frames += [(boxes_at((320, 200, 0.9)), painted((320, blue))) for _ in range(2)]

    def ids(with_image: bool) -> list[list[int]]:
        tracker = ByteTracker(TrackerConfig())
        return [
            tracker.update(dets, i / FPS, image if with_image else None).tracker_id.tolist()
            for i, (dets, image) in enumerate(frames)
        ]

    assert ids(with_image=False)[-2:] == [[1], [1]]
    assert ids(with_image=True)[-2:] == [[], [2]]  # a new person: tentative, then confirmed


def test_the_same_colours_match_as_boxes_alone_would() -> None:
    frames = [(boxes_at((300 + 8 * i, 200, 0.9)), painted((300 + 8 * i, (0, 0, 200)))) for i in range(10)]
    tracker = ByteTracker(TrackerConfig())
    assert {tid for i, (d, im) in enumerate(frames) for tid in tracker.update(d, i / FPS, im).tracker_id} == {1}


def test_torso_histograms_sum_to_one_and_tell_colours_apart() -> None:
    image = painted((100, (0, 0, 200)), (300, (200, 0, 0)))
    boxes = np.array([[100, 200, 140, 300], [300, 200, 340, 300], [600, 350, 700, 600]], float)  # the last: half out
    hists = torso_histograms(image, boxes)
    assert hists.sum(axis=1) == pytest.approx([1, 1, 1])
    distance = colour_distance(hists[:1], hists)
    assert distance[0, 0] == pytest.approx(0, abs=1e-9) and distance[0, 1] > 0.9
