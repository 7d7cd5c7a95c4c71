"""Every registered back-end, one table: each must find the 4 people on bus.jpg."""

from __future__ import annotations

import sys

import pytest

from detection import registry
from detection.base import Detector, DetectorError
from detection.registry import build_detector, register, registered_backends
from edge.config.detector import DetectorConfig
from tests.detection.helpers import BUS_PEOPLE, best_iou, image, model_path, require_ultralytics

NEEDS = {"ultralytics": require_ultralytics}  # back-ends behind an optional extra


def test_the_registry_knows_every_backend_the_config_allows() -> None:
    allowed = set(DetectorConfig.model_fields["backend"].annotation.__args__)
    assert set(registered_backends()) == allowed


@pytest.mark.parametrize("key", registered_backends())
def test_every_backend_finds_the_bus_people(key: str) -> None:
    NEEDS.get(key, lambda: None)()
    name = "yolo11n_int8_320.onnx"  # an Ultralytics export, so every back-end can run it
    detector = build_detector(DetectorConfig(backend=key, model=model_path(name), confidence=0.25))
    assert isinstance(detector, Detector) and detector.key == key
    assert detector.model_id == "yolo11n_int8_320.onnx@5ea9b19c6c4d"
    people = detector.detect(image("bus.jpg"))
    assert len(people) == 4
    for reference in BUS_PEOPLE[name]:
        assert best_iou(reference, people.xyxy) >= 0.8


def test_a_missing_extra_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # import ultralytics → ImportError
    cfg = DetectorConfig(backend="ultralytics", model=model_path("yolo11n_int8_320.onnx"))
    with pytest.raises(DetectorError, match=r"pip install 'crossguard\[ultralytics\]'"):
        build_detector(cfg)


def test_unknown_backend_and_double_registration_are_refused() -> None:
    with pytest.raises(DetectorError, match="unknown detector back-end 'tpu'"):
        registry.backend_class("tpu")
    onnx_class = registry.backend_class("onnx")

    class Impostor(onnx_class):  # type: ignore[misc, valid-type]
        pass

    with pytest.raises(ValueError, match="registered twice"):
        register("onnx")(Impostor)
