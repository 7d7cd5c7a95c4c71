"""The models this project knows: where each came from, its exact bytes, and how to run it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ModelEntry:
    """One known model file.

    Attributes:
        name: short name used on the command line.
        file: file name on disk (what ``detector.model`` points at).
        sha256: SHA-256 of the exact file; downloads and ``models verify`` check it.
        size: size in bytes.
        url: where the file was published (a pinned commit, so the bytes cannot change).
        family: output head family for the onnx back-end.
        input_size: square input size in pixels.
        confidence: the threshold the model was validated at.
        licence: licence as far as it is known (see the model card).
    """

    name: str
    file: str
    sha256: str
    size: int
    url: str
    family: Literal["yolov8", "yolox", "fastestdet"]
    input_size: int
    confidence: float
    licence: str

    @property
    def card(self) -> str:
        """Model card file name under ``models/cards``."""
        return f"{self.name}.md"


CATALOG: tuple[ModelEntry, ...] = (
    ModelEntry(
        name="yolo11n-320",
        file="yolo11n_int8_320.onnx",
        sha256="5ea9b19c6c4d89041175fd2d4f9d2e1581d16f37b817021d547278fc5e2f2b58",
        size=2_923_867,
        url="https://github.com/achmadnr21/mwc-rpi5/raw/c08389a78c8b363d82fde443b3a12ecd5ff73fc5/yolo11n_int8.onnx",
        family="yolov8",
        input_size=320,
        confidence=0.25,
        licence="AGPL-3.0 (Ultralytics export, per its metadata)",
    ),
    ModelEntry(
        name="yolov8n-640",
        file="yolov8n_int8_640.onnx",
        sha256="83de8f0d2cd521e00ae2b138c340a03dece35b060b3898509bdc69afff417312",
        size=3_504_119,
        url="https://github.com/Lamri-Meriem/edge-object-detection/raw/"
        "a6844ef947be6d0dd3aeafcf4cac6f3d01806e10/yolov8n_int8.onnx",
        family="yolov8",
        input_size=640,
        confidence=0.25,
        licence="AGPL-3.0 (Ultralytics export, per its metadata)",
    ),
    ModelEntry(
        name="yolox-nano-416",
        file="yolox_nano_416.onnx",
        sha256="e8af074932d4ed7e232278e3055cefcdea3edf178874a3694ae292649fb464dd",
        size=3_678_356,
        url="https://github.com/Bigisland1729/object-detection-models/raw/"
        "6e770c5ef34fa42aaa2521eb7d0d9ec2bb5f40a3/yolox_nano.onnx",
        family="yolox",
        input_size=416,
        confidence=0.25,
        licence="unstated by the publisher (upstream YOLOX is Apache-2.0)",
    ),
    ModelEntry(
        name="fastestdet-352",
        file="fastestdet_352.onnx",
        sha256="31cb14c017fce347cb4c846ec62fdf00d76bb3beecdf4be21e7116ac67feb880",
        size=998_169,
        url="https://github.com/dog-qiuqiu/FastestDet/raw/"
        "97df0a850c4949dcd7d9abf9c539679eee6b6a90/example/onnx-runtime/FastestDet.onnx",
        family="fastestdet",
        input_size=352,
        confidence=0.5,
        licence="BSD-3-Clause",
    ),
)


def find_model(name_or_file: str) -> ModelEntry:
    """Catalog entry by short name or file name; KeyError listing the known names."""
    for entry in CATALOG:
        if name_or_file in (entry.name, entry.file):
            return entry
    known = ", ".join(e.name for e in CATALOG)
    raise KeyError(f"unknown model '{name_or_file}'; known: {known}")


def entry_for_sha256(sha256: str) -> ModelEntry | None:
    return next((e for e in CATALOG if e.sha256 == sha256), None)
