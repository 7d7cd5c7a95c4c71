"""Ultralytics back-end (optional extra, AGPL-3.0): any model Ultralytics can load.

For a ``.pt`` checkpoint, or any export Ultralytics runs (including the shared ONNX files of the
YOLOv8/YOLO11 family). The box itself runs the ``onnx`` back-end; this one exists so a site can try
a model before exporting it. Ultralytics is imported only when this back-end is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from detection.backends.onnx import file_model_id
from detection.base import Detector, DetectorError
from detection.registry import register
from detection.types import Detections
from edge.config.detector import DetectorConfig

EXTRA_HINT = "pip install 'crossguard[ultralytics]'"


def import_yolo(purpose: str = "the ultralytics back-end") -> Any:
    """The ``ultralytics.YOLO`` class, or DetectorError naming the extra to install.

    Ultralytics would otherwise probe the internet and pip-install missing packages at run time;
    the box is offline and must never change its own environment, so both are switched off.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    try:
        from ultralytics import YOLO
    except ImportError as exc:
        raise DetectorError(f"{purpose} needs the ultralytics extra ({exc}); {EXTRA_HINT}") from None
    return YOLO


@register("ultralytics")
class UltralyticsDetector(Detector):
    """Runs a model through ``ultralytics.YOLO.predict``; returns the same ``Detections``."""

    key = "ultralytics"

    def __init__(self, cfg: DetectorConfig) -> None:
        yolo = import_yolo()
        path = Path(cfg.model)
        if not path.is_file():
            raise DetectorError(f"{path}: model file not found")
        try:
            self._model = yolo(str(path), task="detect")
        except Exception as exc:  # Ultralytics raises many types for unreadable weights
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DetectorError(f"{path}: ultralytics cannot load this model ({reason[:200]})") from None
        self._cfg = cfg
        self._imgsz = cfg.input_size or _model_imgsz(self._model) or 640
        self._model_id = file_model_id(path)

    @property
    def model_id(self) -> str:
        return self._model_id

    def detect(self, image_bgr: np.ndarray) -> Detections:
        result = self._model.predict(
            image_bgr,
            imgsz=self._imgsz,
            conf=self._cfg.confidence,
            iou=self._cfg.nms_iou,
            classes=self._cfg.detected_classes(),
            verbose=False,
        )[0]
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return Detections.empty()
        return Detections(
            xyxy=boxes.xyxy.cpu().numpy().astype(np.float32),
            confidence=boxes.conf.cpu().numpy().astype(np.float32),
            class_id=boxes.cls.cpu().numpy().astype(np.int32),
        )


def _model_imgsz(model: Any) -> int | None:
    """Training/export size recorded in a checkpoint or export, when there is one."""
    overrides = getattr(model, "overrides", {}) or {}
    size = overrides.get("imgsz")
    if isinstance(size, (list, tuple)) and size:
        size = size[0]
    return int(size) if isinstance(size, int) else None
