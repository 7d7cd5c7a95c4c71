"""Tracking quality against labelled tracks: MOTA, IDF1, identity switches and fragmentations.

The figures come from py-motmetrics (the ``eval`` extra). Its own IoU helper still calls
``np.asfarray``, which NumPy 2 removed, so the IoU distance matrix is built here with the
tracker's ``iou_matrix`` and handed to the accumulator; everything else is the library's.
A box pair counts as the same person at IoU ≥ 0.5, the MOTChallenge convention.

An entry is decided where a foot point crosses a zone edge, so the same figures are also
counted *near the edges*: over the labelled boxes whose foot point lies within
``EDGE_BAND`` of the person's height from a crosswalk's outline (about one step either
side). A person lost or swapped there is an entry missed or given to someone else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from detection.tracker import iou_matrix
from detection.types import Detections

MIN_IOU = 0.5
EDGE_BAND = 0.3  # of the labelled box's height, either side of a crosswalk's outline
METRICS = (
    "mota",
    "motp",
    "idf1",
    "num_switches",
    "num_fragmentations",
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
class EdgeMetrics:
    """The labelled boxes near a zone edge: how many, how many missed, and the identity errors there.

    A switch counts where it happens; a fragmentation where the person is first missed.
    """

    boxes: int
    misses: int
    id_switches: int
    fragmentations: int

    @classmethod
    def summed(cls, clips: list[EdgeMetrics]) -> EdgeMetrics | None:
        """Several clips as one (None when no clip measured its edges)."""
        if not clips:
            return None
        return cls(*(sum(getattr(m, f) for m in clips) for f in ("boxes", "misses", "id_switches", "fragmentations")))


@dataclass(frozen=True)
class TrackingMetrics:
    """CLEAR-MOT and identity figures over one clip (``motp`` is mean 1 - IoU of matches).

    ``fragmentations``: how often a labelled person's track is interrupted and later resumed.
    """

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
    fragmentations: int = 0
    edge: EdgeMetrics | None = None

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
            fragmentations=sum(m.fragmentations for m in clips),
            edge=EdgeMetrics.summed([m.edge for m in clips if m.edge is not None]),
        )


class TrackingScorer:
    """Feed it each frame's labelled and tracked boxes; ask for the figures at the end.

    ``edges``: the crosswalk outlines in pixels, for the figures near zone edges (none: no such figures).
    """

    def __init__(self, edges: Sequence[np.ndarray] = ()) -> None:
        self._mm = _motmetrics()
        self._acc = self._mm.MOTAccumulator()
        self._edges = [np.asarray(polygon, np.float64).reshape(-1, 2) for polygon in edges]
        self._near_edge: set[tuple[int, int]] = set()  # (frame, labelled id)
        self.frames = 0

    def update(self, truth: Detections, tracks: Detections) -> None:
        iou = iou_matrix(truth.xyxy.astype(np.float64), tracks.xyxy.astype(np.float64))
        distance = np.where(iou >= MIN_IOU, 1.0 - iou, np.nan)
        self._acc.update(_ids(truth), _ids(tracks), distance, frameid=self.frames)
        if self._edges and len(truth):
            heights = truth.xyxy[:, 3] - truth.xyxy[:, 1]
            gap = np.min([edge_distance(truth.foot_points(), polygon) for polygon in self._edges], axis=0)
            near = np.asarray(_ids(truth))[gap <= EDGE_BAND * heights]
            self._near_edge.update((self.frames, int(oid)) for oid in near)
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
            fragmentations=int(row["num_fragmentations"]),
            edge=self._edge_metrics() if self._edges else None,
        )

    def _edge_metrics(self) -> EdgeMetrics:
        events = self._acc.mot_events.reset_index()
        events = events[events.Type != "FP"]
        frames, oids, kinds = events.FrameId.to_numpy(), events.OId.to_numpy(), events.Type.astype(str).to_numpy()
        near = np.array([(int(f), int(o)) in self._near_edge for f, o in zip(frames, oids, strict=True)], bool)
        fragmentations = 0
        for oid in np.unique(oids):
            mine = np.flatnonzero(oids == oid)  # events are in frame order
            seen = mine[kinds[mine] != "MISS"]
            if len(seen) == 0:
                continue
            span = mine[(mine >= seen[0]) & (mine <= seen[-1])]
            missed = kinds[span] == "MISS"
            lost = span[1:][missed[1:] & ~missed[:-1]]  # first missed frame of each interruption
            fragmentations += int(near[lost].sum())
        return EdgeMetrics(
            boxes=len(self._near_edge),
            misses=int((near & (kinds == "MISS")).sum()),
            id_switches=int((near & (kinds == "SWITCH")).sum()),
            fragmentations=fragmentations,
        )


def edge_distance(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Distance of each (n, 2) point to the outline of an (m, 2) polygon, inside or out."""
    a = polygon
    b = np.roll(polygon, -1, axis=0)
    ab = b - a
    ap = points[:, None, :] - a[None, :, :]
    t = np.clip((ap * ab).sum(axis=2) / np.maximum((ab * ab).sum(axis=1), 1e-12), 0.0, 1.0)
    nearest = a[None, :, :] + t[:, :, None] * ab[None, :, :]
    return np.linalg.norm(points[:, None, :] - nearest, axis=2).min(axis=1)


def _ids(boxes: Detections) -> list[int]:
    return [] if boxes.tracker_id is None else boxes.tracker_id.tolist()


def _number(value: Any) -> float:
    """motmetrics gives NaN where a ratio has nothing to divide by; report 0 instead."""
    value = float(value)
    return 0.0 if np.isnan(value) else value
