"""The ONNX Runtime back-end on the shared models and real pictures, and on bad model files."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detection.backends.onnx import OnnxDetector
from detection.base import DetectorError
from edge.config.detector import DetectorConfig
from tests.conftest import require_shared
from tests.detection.helpers import (
    BUS_PEOPLE,
    CONFIDENCE,
    FAMILY,
    ZIDANE_PEOPLE,
    best_iou,
    image,
    model_path,
    tiny_onnx,
)

MODELS = list(BUS_PEOPLE)


def make(name: str, **overrides: object) -> OnnxDetector:
    cfg = {"model": model_path(name), "confidence": CONFIDENCE.get(name, 0.25), **overrides}
    return OnnxDetector(DetectorConfig.model_validate(cfg))


@pytest.fixture(scope="module")
def detectors() -> dict[str, OnnxDetector]:
    return {name: make(name) for name in MODELS}


@pytest.mark.parametrize("name", MODELS)
def test_family_is_read_from_the_outputs(detectors: dict[str, OnnxDetector], name: str) -> None:
    assert detectors[name].family == FAMILY[name]


@pytest.mark.parametrize("name", MODELS)
def test_bus_people_match_the_reference_boxes(detectors: dict[str, OnnxDetector], name: str) -> None:
    people = detectors[name].detect(image("bus.jpg"))
    assert (people.class_id == 0).all()
    if FAMILY[name] == "fastestdet":
        assert len(people) >= 3  # at 0.5 the right-edge person scores 0.493 (SOURCES.md)
    else:
        assert len(people) == 4
    for reference in BUS_PEOPLE[name]:
        assert best_iou(reference, people.xyxy) >= 0.8, (name, reference, people.xyxy.round())


@pytest.mark.parametrize("name", MODELS)
def test_zidane_two_people(detectors: dict[str, OnnxDetector], name: str) -> None:
    people = detectors[name].detect(image("zidane.jpg"))
    assert len(people) == 2
    for reference in ZIDANE_PEOPLE[name]:
        assert best_iou(reference, people.xyxy) >= 0.8, (name, reference, people.xyxy.round())


def test_boxes_are_in_source_pixels_and_inside_the_picture(detectors: dict[str, OnnxDetector]) -> None:
    picture = image("bus.jpg")
    h, w = picture.shape[:2]
    for detector in detectors.values():
        boxes = detector.detect(picture).xyxy
        assert boxes.dtype == np.float32
        assert (boxes[:, [0, 2]] >= 0).all() and (boxes[:, [0, 2]] <= w).all()
        assert (boxes[:, [1, 3]] >= 0).all() and (boxes[:, [1, 3]] <= h).all()
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


def test_all_classes_keeps_the_bus_and_sorts_by_score() -> None:
    found = make("yolox_nano_416.onnx", classes=list(range(80))).detect(image("bus.jpg"))
    assert 5 in found.class_id  # the bus
    assert (np.diff(found.confidence) <= 0).all()


def test_changing_frame_size_reuses_buffers_and_gives_the_same_answer() -> None:
    detector = make("yolo11n_int8_320.onnx")
    tensor = detector.head.tensor
    first = detector.detect(image("bus.jpg"))
    detector.detect(image("zidane.jpg"))  # other size: the cached letterbox must be rebuilt
    again = detector.detect(image("bus.jpg"))
    assert detector.head.tensor is tensor
    np.testing.assert_allclose(first.xyxy, again.xyxy)
    np.testing.assert_allclose(first.confidence, again.confidence)


def test_stage_times_are_recorded() -> None:
    detector = make("fastestdet_352.onnx")
    detector.detect(image("bus.jpg"))
    times = detector.last_times
    assert times.pre_ms > 0 and times.infer_ms > 0 and times.post_ms > 0


def test_model_id_is_name_and_sha256_prefix(detectors: dict[str, OnnxDetector]) -> None:
    assert detectors["yolox_nano_416.onnx"].model_id == "yolox_nano_416.onnx@e8af074932d4"


def test_crosswalk_video_frame_has_people(detectors: dict[str, OnnxDetector]) -> None:
    capture = cv2.VideoCapture(str(require_shared("video/crosswalk_elevated_fixed.mp4")))
    ok, frame = capture.read()
    capture.release()
    assert ok
    assert len(detectors["yolov8n_int8_640.onnx"].detect(frame)) >= 6  # SOURCES.md: 6-13 per frame


@pytest.mark.parametrize(
    ("make_file", "overrides", "message"),
    [
        (lambda d: d / "absent.onnx", {}, "model file not found"),
        (lambda d: _text_file(d / "notes.onnx"), {}, "not a loadable ONNX model"),
        (lambda d: tiny_onnx(d / "head.onnx", [1, 10]), {}, "fit no known detection head"),
        (lambda d: tiny_onnx(d / "head4.onnx", [1, 3, 4, 4]), {}, "fit no known detection head"),
        (lambda d: model_path("yolox_nano_416.onnx"), {"family": "yolov8"}, "do not fit the yolov8 head"),
        (lambda d: model_path("yolo11n_int8_320.onnx"), {"input_size": 640}, "fixed at 320x320"),
    ],
    ids=["missing", "text-renamed-onnx", "unknown-head", "unknown-4d-head", "wrong-family", "wrong-size"],
)
def test_bad_models_give_one_line_naming_the_file(tmp_path, make_file, overrides, message) -> None:
    path = make_file(tmp_path)
    with pytest.raises(DetectorError) as caught:
        OnnxDetector(DetectorConfig.model_validate({"model": path, **overrides}))
    text = str(caught.value)
    assert message in text
    assert str(path) in text
    assert "\n" not in text


def test_a_picture_that_is_not_bgr_is_refused(detectors: dict[str, OnnxDetector]) -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        detectors["yolo11n_int8_320.onnx"].detect(np.zeros((100, 100), np.uint8))


def _text_file(path):
    path.write_text("this is a README, not a model\n")
    return path
