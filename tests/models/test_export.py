"""Export through Ultralytics (optional extra) and load the result with the box's onnx back-end."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.backends.onnx import OnnxDetector
from edge.config.detector import DetectorConfig
from models.export import ExportError, ExportOptions, export_model
from tests.detection.helpers import image, require_ultralytics, run_cli

pytestmark = pytest.mark.ultralytics


@pytest.fixture(autouse=True)
def _ultralytics() -> None:
    require_ultralytics()


def test_yaml_definition_exports_to_onnx_the_box_can_run(tmp_path: Path) -> None:
    exported = export_model("yolov8n.yaml", tmp_path / "out", ExportOptions(imgsz=160))
    assert exported == tmp_path / "out" / "yolov8n.onnx"
    assert sorted(p.name for p in exported.parent.iterdir()) == ["yolov8n.onnx"]  # scratch folder gone
    detector = OnnxDetector(DetectorConfig(model=exported, confidence=0.01, classes=list(range(80))))
    assert (detector.family, detector.input_size) == ("yolov8", 160)
    found = detector.detect(image("bus.jpg"))  # untrained weights: any answer, but a well-formed one
    assert found.xyxy.shape == (len(found), 4)


def test_cli_exports_a_checkpoint(tmp_path: Path) -> None:
    from ultralytics import YOLO

    weights = tmp_path / "src" / "tiny.pt"
    weights.parent.mkdir()
    YOLO("yolov8n.yaml").save(weights)
    result = run_cli("models", "export", str(weights), "--imgsz", "192", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    exported = tmp_path / "out" / "tiny.onnx"
    assert f"{exported}: exported (onnx, 192x192)" in result.stdout
    assert sorted(p.name for p in weights.parent.iterdir()) == ["tiny.pt"]  # source folder untouched
    assert OnnxDetector(DetectorConfig(model=exported)).input_size == 192


@pytest.mark.parametrize(
    ("weights", "options", "message"),
    [
        ("absent.pt", ExportOptions(), "weights file not found"),
        ("yolov8n.yaml", ExportOptions(format="caffe"), "format 'caffe' is not one of"),
    ],
)
def test_bad_requests_give_one_line(tmp_path: Path, weights: str, options: ExportOptions, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        export_model(str(tmp_path / weights) if weights.endswith(".pt") else weights, tmp_path / "out", options)
