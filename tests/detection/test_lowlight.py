"""The low-light stage: daylight frames untouched, darkened real frames give back their people."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detection.backends.onnx import OnnxDetector
from detection.lowlight import LowLightDetector, mean_chroma, mean_luma
from detection.registry import build_detector
from detection.types import Detections
from edge.config.detector import DetectorConfig
from edge.evaluation.corruptions import Corruption, corrupt, frame_rng
from tests.conftest import require_shared
from tests.detection.helpers import best_iou, model_path

MODEL = "yolov8n_int8_640.onnx"  # the default model
# Labelled clips (never the held-out ones) and frames spread over each clip.
CLIPS = {
    "crosswalk_elevated_fixed.mp4": (10, 50, 90, 130),
    "TUD-Stadtmitte.mp4": (0, 60, 120, 170),
    "TUD-Campus.mp4": (0, 35, 70),
}
NEW_TRACK = 0.6  # tracker.new_track_threshold: below it no track starts


def frames(clip: str) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(require_shared(f"video/{clip}")))
    wanted, out, index = set(CLIPS[clip]), [], 0
    ok, frame = capture.read()
    while ok and len(out) < len(wanted):
        if index in wanted:
            out.append(frame)
        ok, frame = capture.read()
        index += 1
    capture.release()
    assert len(out) == len(wanted)
    return out


def night(
    frame: np.ndarray, clip: str, index: int, severity: int = 3, kind: Corruption = Corruption.LOW_LIGHT
) -> np.ndarray:
    return corrupt(frame, kind, severity, frame_rng(clip, f"{kind.value}:{severity}", index))


def config(**kw: object) -> DetectorConfig:
    return DetectorConfig(model=model_path(MODEL), **kw)


def same(a: Detections, b: Detections) -> bool:
    pairs = ((a.xyxy, b.xyxy), (a.confidence, b.confidence), (a.class_id, b.class_id))
    return all(x.tobytes() == y.tobytes() for x, y in pairs)


@pytest.fixture(scope="module")
def detectors() -> dict[str, object]:
    return {
        "auto": build_detector(config()),
        "off": build_detector(config(low_light="off")),
        "auto_demo": build_detector(config(confidence=0.1)),
        "off_demo": build_detector(config(confidence=0.1, low_light="off")),
    }


def test_the_stage_is_on_by_default_and_off_builds_the_bare_back_end(detectors: dict) -> None:
    auto, off = detectors["auto"], detectors["off"]
    assert isinstance(auto, LowLightDetector) and isinstance(off, OnnxDetector)
    assert (auto.key, auto.model_id, auto.input_size) == (off.key, off.model_id, off.input_size)


@pytest.mark.parametrize("clip", CLIPS)
@pytest.mark.parametrize("confidence", ["", "_demo"])
def test_daylight_frames_give_byte_identical_detections(detectors: dict, clip: str, confidence: str) -> None:
    for frame in frames(clip):
        assert mean_luma(frame) >= DetectorConfig().low_light_luma
        assert same(detectors["auto" + confidence].detect(frame), detectors["off" + confidence].detect(frame))
        assert not detectors["auto" + confidence].last_dark


@pytest.mark.parametrize("clip", CLIPS)
@pytest.mark.parametrize("severity", [3, 5])  # medium and severe; severity 1 is dusk (mean ≈ 65)
def test_a_night_picture_is_dark_and_darker_than_its_daylight_frame(clip: str, severity: int) -> None:
    for index, frame in zip(CLIPS[clip], frames(clip), strict=True):
        dark = night(frame, clip, index, severity)
        assert mean_luma(dark) < DetectorConfig().low_light_luma < mean_luma(frame)


@pytest.mark.parametrize("clip", CLIPS)
@pytest.mark.parametrize("severity", [1, 3, 5])
def test_an_infrared_picture_is_a_night_picture_however_bright(detectors: dict, clip: str, severity: int) -> None:
    # A camera on its IR illuminator sends a monochrome picture, often brighter than the dark bound.
    for index, frame in zip(CLIPS[clip], frames(clip), strict=True):
        infrared = night(frame, clip, index, severity, Corruption.IR_MONO)
        assert mean_luma(infrared) >= DetectorConfig().low_light_luma  # not dark by its brightness
        assert mean_chroma(infrared) < DetectorConfig().low_light_mono_chroma <= mean_chroma(frame)
        assert detectors["auto"].is_dark(infrared)


@pytest.mark.parametrize("clip", CLIPS)
@pytest.mark.parametrize("kind", [Corruption.LOW_LIGHT, Corruption.IR_MONO])
def test_people_in_night_pictures_reach_the_new_track_band_with_the_stage(
    detectors: dict, clip: str, kind: Corruption
) -> None:
    """People the detector finds by day (score ≥ 0.5) and in the night picture at ≥ the new-track band."""
    found = {"auto": 0, "off": 0}
    by_day = 0
    for index, frame in zip(CLIPS[clip], frames(clip), strict=True):
        people = detectors["off"].detect(frame)
        people = people.xyxy[people.confidence >= 0.5]
        by_day += len(people)
        dark = night(frame, clip, index, kind=kind)
        for name in found:
            seen = detectors[name].detect(dark)
            strong = seen.xyxy[seen.confidence >= NEW_TRACK]
            found[name] += sum(best_iou(list(p), strong) >= 0.5 for p in people)
    assert found["auto"] > found["off"], (found, by_day)
    assert found["auto"] >= 0.5 * by_day, (found, by_day)


def test_the_stage_is_deterministic(detectors: dict) -> None:
    clip = "TUD-Stadtmitte.mp4"
    dark = night(frames(clip)[1], clip, CLIPS[clip][1])
    assert same(detectors["auto"].detect(dark), detectors["auto"].detect(dark.copy()))
    assert detectors["auto"].last_dark
