"""The detector interface: one abstract method, one fixed output type."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from detection.types import Detections


class DetectorError(RuntimeError):
    """A model that cannot be loaded or run; the message names the file and the problem."""


class Detector(ABC):
    """Runs one model on one BGR frame and returns detections in source pixels.

    Subclasses set ``key`` (the ``detector.backend`` value in the site file) and
    implement ``detect``. ``model_id`` identifies the exact weights for evidence.
    """

    key: ClassVar[str]

    @abstractmethod
    def detect(self, image_bgr: np.ndarray) -> Detections:
        """Detect objects in an HxWx3 uint8 BGR image."""

    @property
    @abstractmethod
    def model_id(self) -> str:
        """Model file name and SHA-256, e.g. ``yolo11n_int8_320.onnx@5ea9b19c…``."""
