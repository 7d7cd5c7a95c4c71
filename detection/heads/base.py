"""Work every output-head family shares: input buffers, letterboxing, thresholds, class filter, NMS.

A family subclass says how its model wants the picture (``preprocess``), which rows of the raw
output are candidates (``candidates``) and where their boxes are (``boxes``). Everything after
that is written once here, in ``postprocess``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import cv2
import numpy as np

from detection.types import Detections

PAD_VALUE = 114  # grey used by both YOLOv8 and YOLOX letterboxing
STRIDES = (8, 16, 32)  # the three detection scales of YOLOv8/YOLO11 and YOLOX


def anchor_count(size: int, strides: tuple[int, ...] = STRIDES) -> int:
    """Number of output rows of an anchor-free 3-scale head at a square input size."""
    return sum((size // s) ** 2 for s in strides)


@dataclass(frozen=True)
class ModelIO:
    """What the graph says about a model: enough to pick its family and size its buffers.

    Shapes hold ``None`` for dynamic dimensions.
    """

    input_shape: tuple[int | None, ...]
    output_shapes: tuple[tuple[int | None, ...], ...]
    metadata: Mapping[str, str] = field(default_factory=dict)

    def describe_outputs(self) -> str:
        return ", ".join("[" + ",".join("?" if d is None else str(d) for d in s) + "]" for s in self.output_shapes)


@dataclass(frozen=True)
class HeadSettings:
    input_size: int
    confidence: float
    nms_iou: float
    classes: tuple[int, ...] | None  # None keeps every class


@dataclass(frozen=True)
class Transform:
    """Maps model-input pixels back to source pixels: ``src = (inp - pad) / scale``."""

    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float
    source_w: int
    source_h: int


class Head(ABC):
    """One output-head family: pre-processing and raw-output decoding; the rest is shared."""

    family: ClassVar[str]

    def __init__(self, settings: HeadSettings) -> None:
        self.settings = settings
        size = settings.input_size
        # Reused every frame: the network input and the letterboxed picture it is made from.
        self.tensor = np.zeros((1, 3, size, size), np.float32)
        self._canvas = np.full((size, size, 3), PAD_VALUE, np.uint8)
        self._resized: np.ndarray | None = None
        self._geometry: tuple[int, int, bool] | None = None
        self._transform: Transform | None = None
        self._classes = None if settings.classes is None else np.asarray(settings.classes, np.int64)

    # ---- what a family states -------------------------------------------------------------

    @staticmethod
    @abstractmethod
    def fits(io: ModelIO, input_size: int) -> bool:
        """True when the model's outputs have this family's layout at ``input_size``."""

    @abstractmethod
    def preprocess(self, image_bgr: np.ndarray) -> Transform:
        """Fill ``self.tensor`` from the frame; return how to map boxes back."""

    @abstractmethod
    def candidates(self, output: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row indices scoring at least ``confidence``, their best-class scores and class ids."""

    @abstractmethod
    def boxes(self, output: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(k, 4) xyxy boxes of the given rows, in model-input pixels."""

    # ---- shared work ----------------------------------------------------------------------

    def letterbox(self, image_bgr: np.ndarray, centred: bool) -> Transform:
        """Resize keeping the aspect ratio into the reused canvas, padding with grey.

        ``centred`` splits the padding on both sides (Ultralytics); otherwise the picture sits in
        the top-left corner (YOLOX). The geometry is cached, so a stream of same-sized frames
        allocates nothing here.
        """
        h, w = image_bgr.shape[:2]
        if self._geometry != (h, w, centred):
            self._prepare_letterbox(h, w, centred)
        assert self._resized is not None and self._transform is not None
        rh, rw = self._resized.shape[:2]
        top, left = int(self._transform.pad_y), int(self._transform.pad_x)
        cv2.resize(image_bgr, (rw, rh), dst=self._resized, interpolation=cv2.INTER_LINEAR)
        self._canvas[top : top + rh, left : left + rw] = self._resized
        return self._transform

    def _prepare_letterbox(self, h: int, w: int, centred: bool) -> None:
        size = self.settings.input_size
        gain = min(size / h, size / w)
        if centred:  # Ultralytics LetterBox rounding, so boxes match its own predictions
            rw, rh = round(w * gain), round(h * gain)
            left, top = round((size - rw) / 2 - 0.1), round((size - rh) / 2 - 0.1)
        else:  # YOLOX preproc: int() truncation, image in the top-left corner
            rw, rh = int(w * gain), int(h * gain)
            left = top = 0
        self._canvas.fill(PAD_VALUE)
        self._resized = np.empty((rh, rw, 3), np.uint8)
        self._geometry = (h, w, centred)
        self._transform = Transform(gain, gain, float(left), float(top), w, h)

    @property
    def canvas(self) -> np.ndarray:
        """The letterboxed (or resized) BGR picture last fed to the network."""
        return self._canvas

    def postprocess(self, output: np.ndarray, transform: Transform) -> Detections:
        """Threshold, filter classes, decode, class-wise NMS, map to source pixels, clip."""
        rows, scores, class_ids = self.candidates(output, self.settings.confidence)
        if self._classes is not None and len(rows):
            wanted = np.isin(class_ids, self._classes)
            rows, scores, class_ids = rows[wanted], scores[wanted], class_ids[wanted]
        if not len(rows):
            return Detections.empty()
        xyxy = self.boxes(output, rows)
        keep = nms_classwise(xyxy, scores, class_ids, self.settings.nms_iou)
        xyxy = to_source(xyxy[keep], transform)
        visible = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])  # gone after clipping
        keep = keep[visible]
        return Detections(
            xyxy=xyxy[visible],
            confidence=scores[keep].astype(np.float32, copy=False),
            class_id=class_ids[keep].astype(np.int32, copy=False),
        )


def nms_classwise(xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by per-class NMS, highest score first (OpenCV's batched NMS)."""
    xywh = xyxy.copy()
    xywh[:, 2:] -= xyxy[:, :2]
    keep = cv2.dnn.NMSBoxesBatched(xywh, scores.astype(np.float32, copy=False), class_ids.astype(np.int32), 0.0, iou)
    return np.asarray(keep, np.int64).reshape(-1)


def to_source(xyxy: np.ndarray, t: Transform) -> np.ndarray:
    """Undo the input transform and clip to the source picture (a box may not leave the frame)."""
    out = np.empty_like(xyxy, dtype=np.float32)
    out[:, [0, 2]] = (xyxy[:, [0, 2]] - t.pad_x) / t.scale_x
    out[:, [1, 3]] = (xyxy[:, [1, 3]] - t.pad_y) / t.scale_y
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, t.source_w)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, t.source_h)
    return out


def cxcywh_to_xyxy(cx: np.ndarray, cy: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
    half_w, half_h = w / 2, h / 2
    return np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1).astype(np.float32, copy=False)


def fill_chw(tensor: np.ndarray, picture_hwc: np.ndarray, scale: float, to_rgb: bool) -> None:
    """Write an HxWx3 uint8 picture into the (1,3,H,W) float tensor in place, scaled and channel-ordered."""
    source = picture_hwc[:, :, ::-1] if to_rgb else picture_hwc
    np.multiply(source.transpose(2, 0, 1), np.float32(scale), out=tensor[0], casting="unsafe")
