"""Tracking quality against labelled tracks: MOTA, IDF1 and identity switches.

The figures come from py-motmetrics (the ``eval`` extra). Its own IoU helper still calls
``np.asfarray``, which NumPy 2 removed, so the IoU distance matrix is built here with the
tracker's ``iou_matrix`` and handed to the accumulator; everything else is the library's.
A box pair counts as the same person at IoU ≥ 0.5, the MOTChallenge convention.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from detection.tracker import iou_matrix
from detection.types import Detections

MIN_IOU = 0.5
METRICS = (
    "mota",
    "motp",
    "idf1",
    "num_switches",
    "precision",
    "recall",
    "num_false_positives",
    "num_misses",
    "mostly_tracked",
    "num_unique_objects",
    "num_objects",
    "idtp",
)


class MissingExtraError(RuntimeError):
    """An optional library is not installed; the message names the extra."""


def _motmetrics() -> Any:
    try:
        import motmetrics
    except ImportError:
        raise MissingExtraError("tracking metrics need py-motmetrics: pip install 'crossguard[eval]'") from None
    return motmetrics


@dataclass(frozen=True)
class TrackingMetrics:
    """CLEAR-MOT and identity figures over one clip (``motp`` is mean 1 - IoU of matches)."""

    mota: float
    motp: float
    idf1: float
    id_switches: int
    precision: float
    recall: float
    false_positives: int
    misses: int
    mostly_tracked: int
    people: int
    frames: int
    objects: int = 0  # labelled boxes and identity-true positives: what pooling needs
    idtp: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}

    @classmethod
    def pooled(cls, clips: list[TrackingMetrics]) -> TrackingMetrics:
        """Several clips as one: MOTA and IDF1 from the summed counts, as over the clips joined.

        IDF1 = 2 IDTP / (labelled boxes + tracked boxes), the form motmetrics computes.
        """
        keys = ("objects", "misses", "false_positives", "idtp", "id_switches", "mostly_tracked")
        total = {k: sum(getattr(m, k) for m in clips) for k in keys}
        objects, matched = total["objects"], total["objects"] - total["misses"]
        errors = total["misses"] + total["false_positives"] + total["id_switches"]
        boxes = objects + matched + total["false_positives"]
        return cls(
            mota=1.0 - errors / objects if objects else 0.0,
            motp=sum(m.motp * (m.objects - m.misses) for m in clips) / matched if matched else 0.0,
            idf1=2 * total["idtp"] / boxes if boxes else 0.0,
            id_switches=total["id_switches"],
            precision=matched / (matched + total["false_positives"]) if matched + total["false_positives"] else 0.0,
            recall=matched / objects if objects else 0.0,
            false_positives=total["false_positives"],
            misses=total["misses"],
            mostly_tracked=total["mostly_tracked"],
            people=sum(m.people for m in clips),
            frames=sum(m.frames for m in clips),
            objects=objects,
            idtp=total["idtp"],
        )


class TrackingScorer:
    """Feed it each frame's labelled and tracked boxes; ask for the figures at the end."""

    def __init__(self) -> None:
        self._mm = _motmetrics()
        self._acc = self._mm.MOTAccumulator(auto_id=True)
        self.frames = 0

    def update(self, truth: Detections, tracks: Detections) -> None:
        iou = iou_matrix(truth.xyxy.astype(np.float64), tracks.xyxy.astype(np.float64))
        distance = np.where(iou >= MIN_IOU, 1.0 - iou, np.nan)
        self._acc.update(_ids(truth), _ids(tracks), distance)
        self.frames += 1

    def result(self) -> TrackingMetrics:
        host = self._mm.metrics.create()
        row = host.compute(self._acc, metrics=list(METRICS), name="clip").iloc[0]
        return TrackingMetrics(
            mota=_number(row["mota"]),
            motp=_number(row["motp"]),
            idf1=_number(row["idf1"]),
            id_switches=int(row["num_switches"]),
            precision=_number(row["precision"]),
            recall=_number(row["recall"]),
            false_positives=int(row["num_false_positives"]),
            misses=int(row["num_misses"]),
            mostly_tracked=int(row["mostly_tracked"]),
            people=int(row["num_unique_objects"]),
            frames=self.frames,
            objects=int(row["num_objects"]),
            idtp=int(row["idtp"]),
        )


def _ids(boxes: Detections) -> list[int]:
    return [] if boxes.tracker_id is None else boxes.tracker_id.tolist()


def _number(value: Any) -> float:
    """motmetrics gives NaN where a ratio has nothing to divide by; report 0 instead."""
    value = float(value)
    return 0.0 if np.isnan(value) else value
