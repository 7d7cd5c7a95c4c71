"""Detector section: which back-end, which model, how it is run."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from edge.config.base import StrictModel
from edge.config.riders import RidersConfig


class CropConfig(StrictModel):
    """Detect on the zones' part of the picture (detection/region.py), so far people are seen at full detail."""

    enabled: bool = Field(
        True, description="Crop each frame to the crosswalk and curb zones plus margins before detecting"
    )
    margin_up: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="Room above the zones, as a fraction of the frame height: a person standing on the far "
        "curb has their body above it, so at least a person's height there",
    )
    margin_side: float = Field(
        0.10,
        ge=0.0,
        le=1.0,
        description="Room left and right of the zones, as a fraction of the frame width, so people walking up "
        "to a curb are tracked before they reach it",
    )
    margin_down: float = Field(
        0.05, ge=0.0, le=1.0, description="Room below the zones, as a fraction of the frame height"
    )
    full_frame_every: int = Field(
        0,
        ge=0,
        le=10000,
        description="Detect on the whole frame instead of the crop every Nth detected frame; 0 never "
        "(decisions look only inside the zones, which the crop always holds)",
    )


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
    crop: CropConfig = Field(default_factory=CropConfig, description="Detect on the zones' region of the frame")
    confidence: float = Field(0.30, ge=0.01, le=1.0, description="Minimum score kept")
    nms_iou: float = Field(0.45, gt=0.0, le=1.0, description="IoU above which overlapping boxes are merged")
    classes: list[int] = Field([0], min_length=1, description="COCO class ids kept (0 = person)")
    threads: int = Field(2, ge=1, le=64, description="ONNX Runtime intra-op threads")
    spin_wait: bool = Field(
        False,
        description="Let ONNX Runtime's threads busy-wait between operators: a little less latency on an idle "
        "machine, but on a box whose cores also decode cameras, encode evidence and serve the UI, a thread "
        "spinning on a core another thread needs slows every inference (measured 2-3x under load)",
    )
    low_light: Literal["auto", "off"] = Field(
        "auto",
        description="auto: a dark frame (mean luminance below low_light_luma) is denoised and its scores are read "
        "on a night scale before tracking; any other frame is detected untouched. off: every frame as it comes",
    )
    low_light_luma: float = Field(
        60.0, ge=1, le=254, description="Mean luminance (0-255) below which a frame is dark (daylight: about 100)"
    )
    low_light_mono_chroma: float = Field(
        1.0,
        ge=0,
        le=128,
        description="Mean chroma (0-128, how far colours lie from grey) below which a frame is a night camera's "
        "monochrome infrared picture and is treated as dark however bright it is (monochrome: 0, a unit at most "
        "after video coding; daylight street scenes: 3-10); 0 = never",
    )
    low_light_denoise_sigma: float = Field(
        1.0, ge=0, le=5, description="Gaussian blur (pixels) applied to a dark frame before detection; 0 = none"
    )
    low_light_score_power: float = Field(
        0.5,
        gt=0,
        le=1,
        description="On a dark frame a score s counts as s**power (0.5: 0.25 counts as 0.5), which lowers every "
        "threshold after the detector, tracker bands included, for dark frames only; 1 = scores unchanged",
    )
    riders: RidersConfig = Field(default_factory=RidersConfig, description="Telling riders from pedestrians")

    def detected_classes(self) -> list[int]:
        """The classes the model is asked for: ``classes``, plus the vehicles riders are recognised by."""
        vehicles = self.riders.vehicle_classes if self.riders.enabled else []
        return sorted(set(self.classes) | set(vehicles))
