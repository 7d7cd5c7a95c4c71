"""What a pedestrian signal head shows in one picture, from the colours in its region.

Pixels are counted in HSV: a *red* pixel is bright and saturated with a red/orange hue, a
*green* pixel bright and saturated with a green/cyan hue, a *white* pixel very bright with little
saturation. The lit colour with enough pixels names the look; white counts as the walking person
of North American heads (``white_walk``).

White or orange: an orange hand is saturated (S ≥ ``red_min_saturation``), a white walking
person is not (S ≤ ``white_max_saturation``). The grey housing, sky or snow around a small head
also counts as white, so an orange hand wins as long as its pixels are at least
``red_over_white`` × the white ones; a white figure with a little orange nearby stays WHITE.

Low confidence gives UNCERTAIN, never a guess: glare (much of the region clipped to white), red
and green both lit, or one colour filling the region (occluded by a vehicle, or mis-aimed).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np

from edge.config.signal import HeadCalibration, HueRange

_CLIPPED_VALUE = 250
_HUE_BIN = 5


class HeadLook(str, Enum):
    RED = "red"  # red/orange standing figure or hand
    RED_COUNTDOWN = "red_countdown"  # ... with countdown digits lit beside it
    GREEN = "green"  # green walking figure
    WHITE = "white"  # white walking person
    DARK = "dark"  # nothing lit
    UNCERTAIN = "uncertain"  # cannot tell; see the reason

    @property
    def lit(self) -> bool:
        return self in (HeadLook.RED, HeadLook.RED_COUNTDOWN, HeadLook.GREEN, HeadLook.WHITE)

    @property
    def colour(self) -> str:
        """Colour family, so a flashing red hand with and without digits is one flash."""
        return {"red_countdown": "red", "white": "walk", "green": "walk"}.get(self.value, self.value)


@dataclass(frozen=True)
class HeadMeasurement:
    pixels: int
    red: float  # fractions of the region
    green: float
    white: float
    clipped: float
    mean_value: float
    hue_peaks: tuple[tuple[int, float], ...]  # (hue, share of coloured lit pixels), strongest first

    @property
    def lit(self) -> float:
        return self.red + self.green + self.white


@dataclass(frozen=True)
class HeadReading:
    look: HeadLook
    measurement: HeadMeasurement
    reason: str = ""


def hue_mask(hue: np.ndarray, hues: HueRange) -> np.ndarray:
    if hues.low <= hues.high:
        return (hue >= hues.low) & (hue <= hues.high)
    return (hue >= hues.low) | (hue <= hues.high)  # wraps through 0, as red does


def measure(crop_bgr: np.ndarray, cal: HeadCalibration) -> HeadMeasurement:
    """Colour fractions of one head crop (BGR, any size), leaving out the calibrated edge margin."""
    height, width = crop_bgr.shape[:2]
    mx, my = int(width * cal.edge_margin), int(height * cal.edge_margin)
    inner = crop_bgr[my : height - my, mx : width - mx]
    hsv = cv2.cvtColor(inner, cv2.COLOR_BGR2HSV).reshape(-1, 3)
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    n = max(len(h), 1)
    lit = v >= cal.min_value
    red = lit & (s >= cal.red_min_saturation) & hue_mask(h, cal.red_hue)
    green = lit & (s >= cal.green_min_saturation) & hue_mask(h, cal.green_hue)
    white_floor = max(cal.white_min_value, float(np.median(v)) + cal.white_above_median) if len(v) else 255
    white = (v >= white_floor) & (s <= cal.white_max_saturation)
    clipped = (v >= _CLIPPED_VALUE) & (s <= cal.white_max_saturation)
    return HeadMeasurement(
        pixels=len(h),
        red=float(red.sum() / n),
        green=float(green.sum() / n),
        white=float(white.sum() / n),
        clipped=float(clipped.sum() / n),
        mean_value=float(v.mean()) if len(v) else 0.0,
        hue_peaks=_hue_peaks(h[lit & (s >= min(cal.red_min_saturation, cal.green_min_saturation))]),
    )


def _hue_peaks(hues: np.ndarray, count: int = 3) -> tuple[tuple[int, float], ...]:
    if len(hues) == 0:
        return ()
    histogram = np.bincount(hues.astype(np.int64) // _HUE_BIN, minlength=180 // _HUE_BIN)
    top = np.argsort(histogram)[::-1][:count]
    return tuple((int(b * _HUE_BIN + _HUE_BIN // 2), float(histogram[b] / len(hues))) for b in top if histogram[b])


def decide(m: HeadMeasurement, cal: HeadCalibration) -> HeadReading:
    """The look for one measurement; UNCERTAIN with a reason when the picture cannot be trusted."""
    least = cal.min_lit_fraction
    red_on, green_on = m.red >= least, m.green >= least
    white_on = cal.white_walk and m.white >= least
    if m.clipped > cal.max_clipped_fraction:
        return HeadReading(HeadLook.UNCERTAIN, m, f"glare: {m.clipped:.0%} of the region clipped")
    if max(m.red, m.green) > cal.max_colour_fraction:
        return HeadReading(HeadLook.UNCERTAIN, m, "one colour fills the region: occluded or mis-aimed")
    if red_on and green_on and min(m.red, m.green) >= cal.both_lit_ratio * max(m.red, m.green):
        return HeadReading(HeadLook.UNCERTAIN, m, f"red ({m.red:.1%}) and green ({m.green:.1%}) both lit")
    if red_on and m.red >= m.green and (not white_on or m.red >= cal.red_over_white * m.white):
        return HeadReading(HeadLook.RED, m)
    if green_on:
        return HeadReading(HeadLook.GREEN, m)
    if white_on:
        return HeadReading(HeadLook.WHITE, m)
    if red_on:
        return HeadReading(HeadLook.RED, m)
    return HeadReading(HeadLook.DARK, m, f"nothing lit (brightness {m.mean_value:.0f})")


def classify(crop_bgr: np.ndarray, cal: HeadCalibration, digits_bgr: np.ndarray | None = None) -> HeadReading:
    """Look of a head crop; with a digits crop, lit digits beside a red figure give RED_COUNTDOWN."""
    if crop_bgr.size == 0:
        return HeadReading(HeadLook.UNCERTAIN, measure(np.zeros((1, 1, 3), np.uint8), cal), "empty region")
    reading = decide(measure(crop_bgr, cal), cal)
    if reading.look is HeadLook.RED and digits_bgr is not None and digits_bgr.size:
        digits = measure(digits_bgr, cal)
        if max(digits.red, digits.green, digits.white) >= cal.min_lit_fraction:
            return HeadReading(HeadLook.RED_COUNTDOWN, reading.measurement, "countdown digits lit")
    return reading


def crop(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Pixels of a normalised x1,y1,x2,y2 box (at least one pixel when the box lies inside)."""
    height, width = image.shape[:2]
    x1, y1 = int(box[0] * width), int(box[1] * height)
    x2, y2 = max(round(box[2] * width), x1 + 1), max(round(box[3] * height), y1 + 1)
    return image[y1:y2, x1:x2]
