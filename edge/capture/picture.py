"""Is the picture trustworthy? Detects a frozen, black, blank or covered picture.

Works on a 64x36 grey thumbnail of sampled (not averaged) pixels: about 0.04 ms per frame,
and unaveraged pixels keep the sensor noise that tells a live picture from a stuck one. Real
sensors always show some noise, so a picture whose every pixel stays put for
``frozen_after_s`` is a stuck encoder or a camera replaying its last frame, not a
quiet street. A uniform picture (grey-level spread below ``uniform_max_std``) is a
dead sensor, a black frame or a covered lens.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np

from edge.config.service import PictureCheckConfig

THUMB = (64, 36)


class PictureState(str, Enum):
    OK = "ok"
    FROZEN = "frozen"
    UNIFORM = "uniform"  # black, blank or covered
    MISSING = "missing"  # no frames at all (set by the service, not measured here)


@dataclass(frozen=True)
class PictureCheck:
    state: PictureState
    detail: str
    since: float | None = None  # when the picture stopped being trustworthy


class PictureMonitor:
    def __init__(self, config: PictureCheckConfig) -> None:
        self.config = config
        self._previous: np.ndarray | None = None
        self._unchanged_since: float | None = None
        self._uniform_since: float | None = None

    def check(self, image: np.ndarray, t: float) -> PictureCheck:
        grey = cv2.cvtColor(cv2.resize(image, THUMB, interpolation=cv2.INTER_NEAREST), cv2.COLOR_BGR2GRAY)
        thumb = grey.astype(np.float32)
        spread = float(thumb.std())
        change = None if self._previous is None else float(np.abs(thumb - self._previous).max())
        self._previous = thumb
        if change is None or change > self.config.frozen_max_diff:
            self._unchanged_since = None
        elif self._unchanged_since is None:
            self._unchanged_since = t
        if spread < self.config.uniform_max_std:
            if self._uniform_since is None:
                self._uniform_since = t
            return PictureCheck(
                PictureState.UNIFORM, f"blank picture (grey-level spread {spread:.1f})", self._uniform_since
            )
        self._uniform_since = None
        if self._unchanged_since is not None and t - self._unchanged_since >= self.config.frozen_after_s:
            return PictureCheck(
                PictureState.FROZEN,
                f"picture frozen (unchanged for {t - self._unchanged_since:.1f} s)",
                self._unchanged_since,
            )
        return PictureCheck(PictureState.OK, "")

    def reset(self) -> None:
        """Forget the last picture (after a reconnect the first frame may legitimately repeat)."""
        self._previous = None
        self._unchanged_since = None
        self._uniform_since = None
