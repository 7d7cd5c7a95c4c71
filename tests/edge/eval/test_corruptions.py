"""Corruption variants on real frames: reproducible, shape kept, worse with each severity, bad input refused."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from edge.evaluation.corruptions import (
    Corruption,
    CorruptionError,
    Variant,
    corrupt,
    frame_rng,
    parse_variants,
)
from tests.conftest import require_shared

CLIPS = {"crosswalk": "video/crosswalk_elevated_fixed.mp4", "tud": "video/TUD-Stadtmitte.mp4"}


def _frame(clip: str, index: int = 40) -> np.ndarray:
    video = cv2.VideoCapture(str(require_shared(CLIPS[clip])))
    video.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = video.read()
    video.release()
    assert ok
    return image


@pytest.fixture(scope="module", params=sorted(CLIPS))
def frame(request: pytest.FixtureRequest) -> np.ndarray:
    return _frame(request.param)


def _coarse(image: np.ndarray) -> np.ndarray:
    """8x8-pixel means of the middle half (the IR illuminator's fall-off spares it): scene, not grain."""
    height, width = image.shape[:2]
    middle = image[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4]
    return cv2.resize(middle, (width // 16, height // 16), interpolation=cv2.INTER_AREA)


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)


def _darkness(clean: np.ndarray, out: np.ndarray) -> float:
    return -float(out.mean())


def _flatness(clean: np.ndarray, out: np.ndarray) -> float:
    """Contrast of the scene, not of the grain: the spread of 8x8-pixel means."""
    return -float(_grey(_coarse(out)).std())


def _softness(clean: np.ndarray, out: np.ndarray) -> float:
    return -float(cv2.Laplacian(_grey(out), cv2.CV_64F).var())


def _distortion(clean: np.ndarray, out: np.ndarray) -> float:
    return -float(cv2.PSNR(clean, out))


# What gets worse, severity after severity, for each kind.
WORSENS: dict[Corruption, Callable[[np.ndarray, np.ndarray], float]] = {
    Corruption.LOW_LIGHT: _darkness,
    Corruption.IR_MONO: _flatness,
    Corruption.MOTION_BLUR: _softness,
    Corruption.JPEG: _distortion,
    Corruption.RAIN: _distortion,
}


@pytest.mark.parametrize("kind", list(Corruption))
def test_same_seed_same_picture_other_frame_other_noise(frame: np.ndarray, kind: Corruption) -> None:
    first = corrupt(frame, kind, 3, frame_rng("demo", f"{kind.value}:3", 7))
    again = corrupt(frame, kind, 3, frame_rng("demo", f"{kind.value}:3", 7))
    assert np.array_equal(first, again)
    if kind is not Corruption.JPEG:  # the only kind that draws nothing
        other = corrupt(frame, kind, 3, frame_rng("demo", f"{kind.value}:3", 8))
        assert not np.array_equal(first, other)


@pytest.mark.parametrize("kind", list(Corruption))
@pytest.mark.parametrize("severity", [1, 3, 5])
def test_shape_and_dtype_kept_input_untouched(frame: np.ndarray, kind: Corruption, severity: int) -> None:
    before = frame.copy()
    out = corrupt(frame, kind, severity, frame_rng("demo", kind.value, 0))
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.array_equal(frame, before)
    assert not np.array_equal(out, frame)


@pytest.mark.parametrize("kind", list(Corruption))
def test_each_severity_is_worse_than_the_last(frame: np.ndarray, kind: Corruption) -> None:
    measure = WORSENS[kind]
    scores = [measure(frame, corrupt(frame, kind, s, frame_rng("demo", kind.value, 0))) for s in range(1, 6)]
    clean = measure(frame, frame) if kind not in (Corruption.JPEG, Corruption.RAIN) else -np.inf
    assert [clean, *scores] == sorted([clean, *scores]) and len(set(scores)) == 5, scores


def test_low_light_darkens_greys_and_adds_grain() -> None:
    frame = _frame("crosswalk")
    out = corrupt(frame, Corruption.LOW_LIGHT, 3, frame_rng("demo", "low_light:3", 0))
    assert out.mean() < 0.45 * frame.mean()
    saturation = cv2.cvtColor(_coarse(out), cv2.COLOR_BGR2HSV)[..., 1].mean()
    assert saturation < 0.8 * cv2.cvtColor(_coarse(frame), cv2.COLOR_BGR2HSV)[..., 1].mean()
    # Sensor grain: two draws of the same frame differ pixel by pixel, by a few levels.
    other = corrupt(frame, Corruption.LOW_LIGHT, 3, frame_rng("demo", "low_light:3", 1))
    assert 1.0 < np.abs(out.astype(int) - other.astype(int)).mean() < 12.0


def test_ir_mono_is_grey() -> None:
    out = corrupt(_frame("tud"), Corruption.IR_MONO, 2, frame_rng("demo", "ir_mono:2", 0))
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


@pytest.mark.parametrize(
    ("kind", "severity", "problem"),
    [
        ("fog", 3, "unknown corruption 'fog' (known: low_light, ir_mono, motion_blur, jpeg, rain)"),
        ("jpeg", 0, "corruption severity must be 1..5, got 0"),
        ("jpeg", 6, "corruption severity must be 1..5, got 6"),
        ("rain", 2.5, "corruption severity must be 1..5, got 2.5"),
    ],
)
def test_bad_kind_or_severity_is_refused(kind: str, severity: int, problem: str) -> None:
    with pytest.raises(CorruptionError) as raised:
        corrupt(np.zeros((8, 8, 3), np.uint8), kind, severity, np.random.default_rng(0))
    assert str(raised.value) == problem


def test_non_bgr_image_is_refused() -> None:
    with pytest.raises(CorruptionError, match="expected a BGR uint8 image"):
        corrupt(np.zeros((8, 8), np.uint8), Corruption.JPEG, 1, np.random.default_rng(0))


def test_variant_names_parse_and_all_means_every_kind_at_three() -> None:
    assert Variant.parse("low_light:4") == Variant(Corruption.LOW_LIGHT, 4)
    assert Variant.parse("rain").name == "rain:3"
    assert [v.name for v in parse_variants(["jpeg:5", "all", "jpeg:3"])] == [
        "jpeg:5",
        "low_light:3",
        "ir_mono:3",
        "motion_blur:3",
        "jpeg:3",
        "rain:3",
    ]
    for bad, problem in [("low_light:x", "severity must be a whole number"), ("low_light:9", "1..5, got 9")]:
        with pytest.raises(CorruptionError, match=problem):
            Variant.parse(bad)
