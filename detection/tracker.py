"""ByteTrack multi-object tracking on SciPy's assignment solver.

ByteTrack (Zhang et al., ECCV 2022) associates high-score detections first, then gives
unmatched tracks a second chance with low-score detections, which is what keeps a
person's id through partial occlusion at a crowded curb. Motion is a constant-velocity
Kalman filter over (cx, cy, aspect, height) with noise scaled by box height, as in the
reference implementation. Assignment is ``scipy.optimize.linear_sum_assignment``.

Boxes alone confuse two people whose boxes overlap: one walking past another, or two
stepping in side by side. So each track also keeps the colour of its torso (a hue-saturation
histogram of the box's upper middle, averaged over its sightings), and when the frame is
given, the colour distance to a detection is added to the IoU distance, as BoT-SORT fuses
its appearance cost. Same-coloured overlapping boxes still match as before; a box in other
colours needs more overlap. The cost is a few small histograms per frame, no network.

Ids are issued from 1 in order of creation, so the same frames give the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from detection.types import Detections
from edge.config.tracker import TrackerConfig

_STD_POSITION = 1.0 / 20
_STD_VELOCITY = 1.0 / 160
_HIST_BINS = (8, 4)  # hue, saturation: coarse enough to ignore folds and shading
_GRID = (16, 8)  # pixels sampled per torso, down and across: a fixed cost per person, near or far
_HIST_MEMORY = 0.9  # weight of a track's colour so far against the new sighting


class KalmanBoxFilter:
    """Constant-velocity Kalman filter over (cx, cy, a, h, vcx, vcy, va, vh)."""

    def __init__(self) -> None:
        self.motion = np.eye(8)
        self.motion[:4, 4:] = np.eye(4)
        self.update_matrix = np.eye(4, 8)

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = measurement[3]
        mean = np.r_[measurement, np.zeros(4)]
        std = np.array(
            [
                2 * _STD_POSITION * h,
                2 * _STD_POSITION * h,
                1e-2,
                2 * _STD_POSITION * h,
                10 * _STD_VELOCITY * h,
                10 * _STD_VELOCITY * h,
                1e-5,
                10 * _STD_VELOCITY * h,
            ]
        )
        return mean, np.diag(std**2)

    def predict(self, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = mean[3]
        std = np.array(
            [
                _STD_POSITION * h,
                _STD_POSITION * h,
                1e-2,
                _STD_POSITION * h,
                _STD_VELOCITY * h,
                _STD_VELOCITY * h,
                1e-5,
                _STD_VELOCITY * h,
            ]
        )
        mean = self.motion @ mean
        cov = self.motion @ cov @ self.motion.T + np.diag(std**2)
        return mean, cov

    def update(self, mean: np.ndarray, cov: np.ndarray, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = mean[3]
        std = np.array([_STD_POSITION * h, _STD_POSITION * h, 1e-1, _STD_POSITION * h])
        projected_cov = self.update_matrix @ cov @ self.update_matrix.T + np.diag(std**2)
        gain = np.linalg.solve(projected_cov, (cov @ self.update_matrix.T).T).T
        innovation = measurement - self.update_matrix @ mean
        return mean + gain @ innovation, cov - gain @ projected_cov @ gain.T


def xyxy_to_xyah(box: np.ndarray) -> np.ndarray:
    w, h = box[2] - box[0], max(box[3] - box[1], 1e-6)
    return np.array([box[0] + w / 2, box[1] + h / 2, w / h, h])


def xyah_to_xyxy(state: np.ndarray) -> np.ndarray:
    cx, cy, a, h = state[:4]
    w = a * h
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (n, 4) and (m, 4) xyxy boxes."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def assign(cost: np.ndarray, max_cost: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Optimal one-to-one assignment, dropping pairs costlier than ``max_cost``."""
    if cost.size == 0:
        return [], list(range(cost.shape[0])), list(range(cost.shape[1]))
    rows, cols = linear_sum_assignment(cost)
    pairs = [(r, c) for r, c in zip(rows.tolist(), cols.tolist(), strict=True) if cost[r, c] <= max_cost]
    matched_r = {r for r, _ in pairs}
    matched_c = {c for _, c in pairs}
    return (
        pairs,
        [r for r in range(cost.shape[0]) if r not in matched_r],
        [c for c in range(cost.shape[1]) if c not in matched_c],
    )


def torso_histograms(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(n, 32) hue-saturation histograms of each box's torso (the middle half across, 20-55 % down), summing to 1.

    The torso, not the whole box: legs and background change with every step, the clothing
    of the upper body does not. A fixed grid of pixels per torso is enough for 32 bins, so a
    near person costs no more than a far one, and every torso is converted in one call.
    """
    bins = _HIST_BINS[0] * _HIST_BINS[1]
    if len(boxes) == 0:
        return np.zeros((0, bins))
    height, width = image.shape[:2]
    x1, y1, w, h = boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    rows = y1[:, None] + h[:, None] * np.linspace(0.2, 0.55, _GRID[0])[None, :]
    cols = x1[:, None] + w[:, None] * np.linspace(0.25, 0.75, _GRID[1])[None, :]
    rows = np.clip(rows, 0, height - 1).astype(np.intp)
    cols = np.clip(cols, 0, width - 1).astype(np.intp)
    pixels = image[rows[:, :, None], cols[:, None, :]]  # (n, grid rows, grid cols, 3)
    hsv = cv2.cvtColor(np.ascontiguousarray(pixels.reshape(-1, _GRID[1], 3)), cv2.COLOR_BGR2HSV)
    hsv = hsv.reshape(len(boxes), -1, 3).astype(np.intp)
    index = (hsv[..., 0] * _HIST_BINS[0] // 180) * _HIST_BINS[1] + hsv[..., 1] * _HIST_BINS[1] // 256
    index += bins * np.arange(len(boxes))[:, None]
    counts = np.bincount(index.ravel(), minlength=bins * len(boxes)).reshape(len(boxes), bins)
    return counts / counts.sum(axis=1, keepdims=True)


def colour_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise 1 - Bhattacharyya coefficient of (n, k) and (m, k) histograms: 0 same colours, 1 none shared."""
    return 1.0 - np.sqrt(a[:, None, :] * b[None, :, :]).sum(axis=2)


class TrackState(Enum):
    NEW = 0  # seen once, not yet confirmed
    TRACKED = 1
    LOST = 2


@dataclass
class _Track:
    track_id: int
    mean: np.ndarray
    cov: np.ndarray
    score: float
    class_id: int
    last_t: float
    state: TrackState = TrackState.NEW
    box: np.ndarray = field(default_factory=lambda: np.zeros(4))
    colour: np.ndarray | None = None  # torso histogram, when frames are given

    @property
    def predicted_box(self) -> np.ndarray:
        return xyah_to_xyxy(self.mean)


class ByteTracker:
    """Assigns stable ids to detections frame by frame.

    Example:
        >>> tracker = ByteTracker(TrackerConfig())
        >>> d = Detections.from_lists([[10, 10, 50, 110]], [0.9], [0])
        >>> tracker.update(d, t=0.0).tracker_id.tolist()
        [1]
        >>> tracker.update(d, t=0.1).tracker_id.tolist()
        [1]
    """

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.kalman = KalmanBoxFilter()
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._frames = 0
        self._colours: np.ndarray | None = None  # this frame's detections' torso histograms

    def reset(self) -> None:
        self._tracks, self._next_id, self._frames = [], 1, 0

    def update(self, detections: Detections, t: float, image: np.ndarray | None = None) -> Detections:
        """Track one frame's detections; returns the tracks matched on this frame, with ids.

        ``image`` (the BGR frame the boxes are in) adds the colour cue; without it, boxes alone.
        """
        self._frames += 1
        cfg = self.config
        for track in self._tracks:
            if track.state is not TrackState.NEW:
                track.mean, track.cov = self.kalman.predict(track.mean, track.cov)
        high = np.flatnonzero(detections.confidence >= cfg.high_threshold)
        score = detections.confidence
        low = np.flatnonzero((score >= cfg.low_threshold) & (score < cfg.high_threshold))
        boxes = detections.xyxy.astype(np.float64)
        use_colour = image is not None and cfg.appearance_weight > 0
        self._colours = torso_histograms(image, boxes) if use_colour else None
        matched: list[tuple[_Track, int]] = []

        # 1. Confirmed and lost tracks against high-score detections.
        pool = [tr for tr in self._tracks if tr.state is not TrackState.NEW]
        pairs, left_tracks, left_high = self._match(pool, high, boxes, 1.0 - cfg.match_iou)
        matched += [(pool[r], int(high[c])) for r, c in pairs]
        # 2. Tracks still tracked a frame ago get a second chance with low-score detections.
        second = [pool[r] for r in left_tracks if pool[r].state is TrackState.TRACKED]
        pairs, left_second, _ = self._match(second, low, boxes, 0.5)
        matched += [(second[r], int(low[c])) for r, c in pairs]
        for r in left_second:
            second[r].state = TrackState.LOST
        # 3. Tentative tracks against what is left of the high-score detections.
        remaining_high = high[left_high]
        tentative = [tr for tr in self._tracks if tr.state is TrackState.NEW]
        pairs, left_tentative, left_new = self._match(tentative, remaining_high, boxes, 0.7, by_colour=False)
        matched += [(tentative[r], int(remaining_high[c])) for r, c in pairs]
        dead = {id(tentative[r]) for r in left_tentative}

        for track, det in matched:
            self._apply(track, detections, det, t)
        for det in remaining_high[left_new]:
            if detections.confidence[det] >= cfg.new_track_threshold:
                track = self._start(detections, int(det), t)
                if track.state is TrackState.TRACKED:
                    matched.append((track, int(det)))
        self._tracks = [
            tr
            for tr in self._tracks
            if id(tr) not in dead and not (tr.state is TrackState.LOST and t - tr.last_t > cfg.lost_seconds)
        ]
        return self._output(matched, detections)

    @property
    def confirming(self) -> bool:
        """Whether a new track waits for a second detection to be confirmed."""
        return any(tr.state is TrackState.NEW for tr in self._tracks)

    def coast(self) -> Detections:
        """A frame on which detection was skipped: every track moves on its own motion, unmeasured.

        The confirmed tracks come back with their ids at their predicted boxes, as ``update``
        would return them, so the frame still counts for zones and rules. Nothing is measured,
        so nothing is corrected: the filters only grow less certain, and the next real detection
        weighs as much as it would have without the skipped frames in between. Tentative tracks
        wait for a real detection; no track's last sighting moves.
        """
        tracked: list[_Track] = []
        for track in self._tracks:
            if track.state is TrackState.NEW:
                continue
            track.mean, track.cov = self.kalman.predict(track.mean, track.cov)
            if track.state is TrackState.TRACKED:
                tracked.append(track)
        if not tracked:
            return Detections.empty().with_tracker_ids(np.zeros(0, np.int64))
        tracked.sort(key=lambda tr: tr.track_id)
        return Detections(
            xyxy=np.asarray([tr.predicted_box for tr in tracked], np.float32).reshape(-1, 4),
            confidence=np.asarray([tr.score for tr in tracked], np.float32),
            class_id=np.asarray([tr.class_id for tr in tracked], np.int32),
        ).with_tracker_ids(np.asarray([tr.track_id for tr in tracked], np.int64))

    def _match(
        self, tracks: list[_Track], rows: np.ndarray, boxes: np.ndarray, max_cost: float, by_colour: bool = True
    ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
        """IoU distance to the predicted boxes, plus the weighted colour distance when known.

        With colour, a pair is kept up to ``appearance_margin`` more cost: same colours match
        as by IoU alone, a little more loosely; different colours need more overlap. A track
        whose colour is not known yet (started on a frame given without its picture) is held
        to the IoU rule alone.
        """
        predicted = np.array([tr.predicted_box for tr in tracks]).reshape(-1, 4)
        cost = 1.0 - iou_matrix(predicted, boxes[rows])
        known = [i for i, tr in enumerate(tracks) if tr.colour is not None]
        if not by_colour or self._colours is None or not known or not len(rows):
            return assign(cost, max_cost)
        weight = self.config.appearance_weight
        colours = np.array([tracks[i].colour for i in known])
        cost[known] += weight * colour_distance(colours, self._colours[rows])
        cost[[i for i in range(len(tracks)) if tracks[i].colour is None]] += weight * self.config.appearance_margin
        return assign(cost, max_cost + weight * self.config.appearance_margin)

    def _apply(self, track: _Track, detections: Detections, det: int, t: float) -> None:
        track.mean, track.cov = self.kalman.update(track.mean, track.cov, xyxy_to_xyah(detections.xyxy[det]))
        track.score = float(detections.confidence[det])
        track.box = detections.xyxy[det].astype(np.float64)
        track.last_t = t
        track.state = TrackState.TRACKED
        if self._colours is not None:
            seen = self._colours[det]
            track.colour = seen if track.colour is None else _HIST_MEMORY * track.colour + (1 - _HIST_MEMORY) * seen

    def _start(self, detections: Detections, det: int, t: float) -> _Track:
        mean, cov = self.kalman.initiate(xyxy_to_xyah(detections.xyxy[det]))
        track = _Track(
            self._next_id,
            mean,
            cov,
            float(detections.confidence[det]),
            int(detections.class_id[det]),
            t,
            box=detections.xyxy[det].astype(np.float64),
        )
        self._next_id += 1
        if self._colours is not None:
            track.colour = self._colours[det]
        if self._frames == 1:
            track.state = TrackState.TRACKED  # nothing to confirm against on the first frame
        self._tracks.append(track)
        return track

    @staticmethod
    def _output(matched: list[tuple[_Track, int]], detections: Detections) -> Detections:
        """Tracks confirmed on this frame, ordered by id, each with its own detection's box."""
        if not matched:
            return Detections.empty().with_tracker_ids(np.zeros(0, np.int64))
        matched = sorted(matched, key=lambda pair: pair[0].track_id)
        rows = np.array([det for _, det in matched])
        return detections[rows].with_tracker_ids(np.array([tr.track_id for tr, _ in matched], np.int64))
