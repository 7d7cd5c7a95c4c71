"""The one detection batch type every back-end returns and the tracker fills.

A NumPy-first dataclass of parallel arrays, validated on construction, indexable
with an int, a slice, an index array or a boolean mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PERSON_CLASS_ID = 0  # COCO-80 order, used by every shipped model


def _check_shape(name: str, array: np.ndarray, expected: tuple[int, ...]) -> None:
    if array.shape != expected:
        raise ValueError(f"Detections.{name} must have shape {expected}, got {array.shape}")


@dataclass(frozen=True)
class Detections:
    """A batch of boxes in source-image pixels.

    Attributes:
        xyxy: (n, 4) float32 boxes, x1 y1 x2 y2 in source pixels.
        confidence: (n,) float32 scores in 0..1.
        class_id: (n,) int32 class ids (COCO-80 order).
        tracker_id: (n,) int64 track ids, or None before tracking.

    Example:
        >>> d = Detections.from_lists([[0, 0, 10, 20]], [0.9], [0])
        >>> d.foot_points().tolist()
        [[5.0, 20.0]]
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    tracker_id: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        _check_shape("xyxy", self.xyxy, (n, 4))
        _check_shape("confidence", self.confidence, (n,))
        _check_shape("class_id", self.class_id, (n,))
        if self.tracker_id is not None:
            _check_shape("tracker_id", self.tracker_id, (n,))

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros((0,), np.float32),
            class_id=np.zeros((0,), np.int32),
        )

    @classmethod
    def from_lists(
        cls,
        xyxy: list[list[float]],
        confidence: list[float],
        class_id: list[int],
        tracker_id: list[int] | None = None,
    ) -> Detections:
        if not xyxy:
            return cls.empty()
        return cls(
            xyxy=np.asarray(xyxy, np.float32).reshape(-1, 4),
            confidence=np.asarray(confidence, np.float32),
            class_id=np.asarray(class_id, np.int32),
            tracker_id=None if tracker_id is None else np.asarray(tracker_id, np.int64),
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: int | slice | np.ndarray | list[int]) -> Detections:
        if isinstance(index, int):
            index = [index]
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            tracker_id=None if self.tracker_id is None else self.tracker_id[index],
        )

    def with_tracker_ids(self, tracker_id: np.ndarray) -> Detections:
        return Detections(self.xyxy, self.confidence, self.class_id, np.asarray(tracker_id, np.int64))

    def of_classes(self, classes: tuple[int, ...] | list[int]) -> Detections:
        keep = np.zeros(len(self.class_id), bool)
        for class_id in classes:  # a class or two, every frame: np.isin costs ten times as much here
            keep |= self.class_id == class_id
        return self[keep]

    def foot_points(self) -> np.ndarray:
        """(n, 2) bottom-centre of every box: where the person stands."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2.0, self.xyxy[:, 3]], axis=1)

    @staticmethod
    def concatenate(parts: list[Detections]) -> Detections:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Detections.empty()
        has_ids = all(p.tracker_id is not None for p in parts)
        return Detections(
            xyxy=np.concatenate([p.xyxy for p in parts]),
            confidence=np.concatenate([p.confidence for p in parts]),
            class_id=np.concatenate([p.class_id for p in parts]),
            tracker_id=np.concatenate([p.tracker_id for p in parts]) if has_ids else None,  # type: ignore[misc]
        )
