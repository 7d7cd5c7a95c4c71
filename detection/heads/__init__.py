"""Output-head families the ONNX back-end understands, in the order auto-detection tries them."""

from __future__ import annotations

from detection.heads.base import Head, HeadSettings, ModelIO, Transform
from detection.heads.fastestdet import FastestDetHead
from detection.heads.yolov8 import YoloV8Head
from detection.heads.yolox import YoloXHead

HEADS: dict[str, type[Head]] = {h.family: h for h in (YoloV8Head, YoloXHead, FastestDetHead)}

__all__ = [
    "HEADS",
    "FastestDetHead",
    "Head",
    "HeadSettings",
    "ModelIO",
    "Transform",
    "YoloV8Head",
    "YoloXHead",
]
