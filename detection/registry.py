"""Back-end registry: ``detector.backend`` in the site file → the Detector class that runs it.

Each back-end module adds its class with ``@register(key)``. Modules are imported only when a
back-end is asked for, so an optional one whose library is missing costs nothing until used,
and then fails with an error that names the extra to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from detection.base import Detector, DetectorError
from detection.lowlight import LowLightDetector, LowLightSettings

if TYPE_CHECKING:
    from edge.config.detector import DetectorConfig

# Where each back-end lives; importing the module registers it.
BACKEND_MODULES: dict[str, str] = {
    "onnx": "detection.backends.onnx",
    "ultralytics": "detection.backends.ultralytics",
}

_REGISTRY: dict[str, type[Detector]] = {}

D = TypeVar("D", bound=type[Detector])


def register(key: str) -> Callable[[D], D]:
    """Class decorator adding a Detector to the registry under ``key`` (its ``key`` attribute)."""

    def add(cls: D) -> D:
        if getattr(cls, "key", key) != key:
            raise ValueError(f"{cls.__name__}.key is '{cls.key}' but it is registered as '{key}'")
        known = _REGISTRY.get(key)
        if known is not None and known is not cls:
            raise ValueError(f"detector back-end '{key}' registered twice ({known.__name__}, {cls.__name__})")
        cls.key = key
        _REGISTRY[key] = cls
        return cls

    return add


def backend_class(key: str) -> type[Detector]:
    """The Detector class for a back-end key, importing its module on first use."""
    if key not in _REGISTRY:
        module = BACKEND_MODULES.get(key)
        if module is None:
            raise DetectorError(f"unknown detector back-end '{key}'; known: {', '.join(sorted(BACKEND_MODULES))}")
        importlib.import_module(module)
    return _REGISTRY[key]


def registered_backends() -> list[str]:
    """Every back-end key (imports each back-end module; none imports its heavy library here)."""
    for key in BACKEND_MODULES:
        backend_class(key)
    return sorted(_REGISTRY)


def build_detector(cfg: DetectorConfig) -> Detector:
    """Build the detector the config names; DetectorError for a bad model or a missing extra.

    With ``low_light: auto`` (the default) the back-end sits behind the low-light stage
    (detection/lowlight.py), which leaves daylight frames' detections exactly as they were.
    """
    if cfg.low_light == "off":
        return backend_class(cfg.backend)(cfg)  # type: ignore[call-arg]
    settings = LowLightSettings(
        cfg.low_light_luma, cfg.low_light_denoise_sigma, cfg.low_light_score_power, cfg.low_light_mono_chroma
    )
    inner_cfg = cfg.model_copy(update={"confidence": settings.inner_confidence(cfg.confidence)})
    return LowLightDetector(backend_class(cfg.backend)(inner_cfg), cfg.confidence, settings)  # type: ignore[call-arg]
