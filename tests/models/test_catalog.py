"""The catalog describes the shared model files exactly, and each has a model card."""

from __future__ import annotations

import pytest

from detection.backends.onnx import OnnxDetector
from edge.config.detector import DetectorConfig
from models.catalog import CATALOG, find_model
from models.download import FileStatus, verify
from tests.conftest import REPO
from tests.detection.helpers import model_path


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_entry_matches_the_shared_file(entry) -> None:
    path = model_path(entry.file)
    assert verify(entry, path).status is FileStatus.OK
    assert path.stat().st_size == entry.size
    detector = OnnxDetector(DetectorConfig(model=path))
    assert (detector.family, detector.input_size) == (entry.family, entry.input_size)


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_every_model_has_a_card(entry) -> None:
    card = (REPO / "models" / "cards" / entry.card).read_text()
    for heading in ("Origin", "Licence", "Input", "Output", "bus.jpg"):
        assert heading in card, (entry.card, heading)
    assert entry.sha256 in card


def test_lookup_by_name_or_file_and_unknown_names() -> None:
    assert find_model("yolox-nano-416") is find_model("yolox_nano_416.onnx")
    with pytest.raises(KeyError, match="known: yolo11n-320"):
        find_model("yolov99")
