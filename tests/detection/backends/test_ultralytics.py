"""The ultralytics back-end (optional extra): same Detections as the onnx back-end on the same model."""

from __future__ import annotations

import numpy as np
import pytest

from detection.backends.onnx import OnnxDetector
from detection.base import DetectorError
from detection.registry import build_detector
from edge.config.detector import DetectorConfig
from tests.detection.helpers import image, model_path, require_ultralytics

pytestmark = pytest.mark.ultralytics


@pytest.fixture(autouse=True)
def _ultralytics() -> None:
    require_ultralytics()


@pytest.mark.parametrize("name", ["yolo11n_int8_320.onnx", "yolov8n_int8_640.onnx"])
def test_agrees_with_the_onnx_backend(name: str) -> None:
    cfg = DetectorConfig(backend="ultralytics", model=model_path(name), confidence=0.25)
    theirs = build_detector(cfg).detect(image("bus.jpg"))
    ours = OnnxDetector(cfg.model_copy(update={"backend": "onnx"})).detect(image("bus.jpg"))
    assert len(theirs) == len(ours) == 4
    order = np.argsort(-theirs.confidence)
    np.testing.assert_allclose(theirs.xyxy[order], ours.xyxy, atol=2.0)
    np.testing.assert_allclose(theirs.confidence[order], ours.confidence, atol=0.01)


def test_a_checkpoint_built_from_a_yaml_definition_runs(tmp_path) -> None:
    from ultralytics import YOLO

    weights = tmp_path / "yolov8n.pt"
    YOLO("yolov8n.yaml").save(weights)  # untrained: checks the .pt path, not accuracy
    detector = build_detector(DetectorConfig(backend="ultralytics", model=weights, input_size=160))
    found = detector.detect(image("bus.jpg"))
    assert found.xyxy.shape[1] == 4 and detector.model_id.startswith("yolov8n.pt@")


def test_unloadable_file_gives_one_line(tmp_path) -> None:
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(DetectorError) as caught:
        build_detector(DetectorConfig(backend="ultralytics", model=bad))
    assert str(bad) in str(caught.value) and "\n" not in str(caught.value)
