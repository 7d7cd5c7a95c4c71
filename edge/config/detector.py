"""Detector section: which back-end, which model, how it is run."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from edge.config.base import StrictModel
from edge.config.riders import RidersConfig


class DetectorConfig(StrictModel):
    backend: Literal["onnx", "ultralytics"] = Field(
        "onnx", title="Back-end", description="onnx (ONNX Runtime, default) or ultralytics (optional extra)"
    )
    model: Path = Field(
        Path("../shared/data/models/yolov8n_int8_640.onnx"),
        title="Model file",
        description="Path to the model; relative paths are resolved against the site file's folder",
    )
    family: Literal["auto", "yolov8", "yolox", "fastestdet"] = Field(
        "auto",
        description="Output head family (yolov8 also covers YOLO11); auto reads it from the model's outputs",
    )
    input_size: int | None = Field(None, ge=32, le=2048, description="Square input size; None uses the model's own")
    confidence: float = Field(0.30, ge=0.01, le=1.0, description="Minimum score kept")
    nms_iou: float = Field(0.45, gt=0.0, le=1.0, description="IoU above which overlapping boxes are merged")
    classes: list[int] = Field([0], min_length=1, description="COCO class ids kept (0 = person)")
    threads: int = Field(2, ge=1, le=64, description="ONNX Runtime intra-op threads")
    riders: RidersConfig = Field(default_factory=RidersConfig, description="Telling riders from pedestrians")

    def detected_classes(self) -> list[int]:
        """The classes the model is asked for: ``classes``, plus the vehicles riders are recognised by."""
        vehicles = self.riders.vehicle_classes if self.riders.enabled else []
        return sorted(set(self.classes) | set(vehicles))
