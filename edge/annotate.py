"""Drawing what the box sees: zones, tracks, foot points, signal state, fresh violations."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge.config.site import SiteConfig
from edge.events import EventType
from edge.pipeline import FrameResult
from edge.signal.types import SignalState
from edge.video import VideoWriter

SIGNAL_COLOURS = {
    SignalState.WALK: (60, 200, 60),
    SignalState.CLEARANCE: (0, 200, 255),
    SignalState.DONT_WALK: (40, 40, 230),
    SignalState.UNKNOWN: (160, 160, 160),
}
CROSSWALK_COLOUR = (255, 200, 0)
CURB_COLOUR = (200, 120, 255)
VIOLATION_COLOUR = (0, 0, 255)
REGION_COLOUR = (200, 200, 200)
VIOLATION_HOLD_S = 3.0  # keep a violator highlighted this long after the decision


class Annotator:
    """Draws onto a copy of each frame; keeps violators highlighted for a few seconds."""

    def __init__(self, site: SiteConfig) -> None:
        self.site = site
        self._violators: dict[int, float] = {}  # track id → decision time

    def draw(self, result: FrameResult) -> np.ndarray:
        image = result.frame.image.copy()
        height, width = image.shape[:2]
        self._draw_zones(image, width, height)
        self._draw_region(image, result)
        for event in result.events:
            if event.type is EventType.VIOLATION:
                self._violators[event.track_id] = event.decided_t
        t = result.frame.t
        self._violators = {k: v for k, v in self._violators.items() if t - v <= VIOLATION_HOLD_S}
        self._draw_tracks(image, result)
        self._draw_signal(image, result)
        return image

    def _draw_zones(self, image: np.ndarray, width: int, height: int) -> None:
        scale = np.array([width, height], float)
        overlay = image.copy()
        for cw in self.site.crosswalks:
            cv2.fillPoly(overlay, [(np.array(cw.polygon) * scale).astype(np.int32)], CROSSWALK_COLOUR)
            for curb in cw.curbs:
                pts = (np.array(curb.polygon) * scale).astype(np.int32)
                cv2.fillPoly(overlay, [pts], CURB_COLOUR)
                x, y = pts.mean(axis=0).astype(int)
                cv2.putText(image, curb.name, (int(x) - 15, int(y)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, CURB_COLOUR, 1)
        cv2.addWeighted(overlay, 0.25, image, 0.75, 0, dst=image)

    @staticmethod
    def _draw_region(image: np.ndarray, result: FrameResult) -> None:
        """The part of the frame the detector looks at, when it is not the whole frame."""
        region = result.region
        if region is None:
            return
        cv2.rectangle(image, (region.x0, region.y0), (region.x1 - 1, region.y1 - 1), REGION_COLOUR, 1)
        label_y = region.y0 + 14 if region.y0 < 20 else region.y0 - 4
        cv2.putText(
            image, "detection region", (region.x0 + 4, label_y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, REGION_COLOUR, 1
        )

    def _draw_tracks(self, image: np.ndarray, result: FrameResult) -> None:
        tracks = result.tracks
        if tracks.tracker_id is None:
            return
        for box, track_id, (fx, fy) in zip(tracks.xyxy, tracks.tracker_id.tolist(), tracks.foot_points(), strict=True):
            violator = track_id in self._violators
            colour = VIOLATION_COLOUR if violator else (255, 255, 255)
            x1, y1, x2, y2 = (int(v) for v in box)
            cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2 if violator else 1)
            cv2.circle(image, (int(fx), int(fy)), 3, colour, -1)
            rider = " rider" if track_id in result.riders else ""
            label = f"#{track_id}{rider}" + (" VIOLATION" if violator else "")
            cv2.putText(image, label, (x1, max(y1 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1)

    def _draw_signal(self, image: np.ndarray, result: FrameResult) -> None:
        y = 18
        for group, reading in sorted(result.signal_readings.items()):
            text = f"{group}: {reading.state.value}"
            if reading.since is not None:
                text += f" {result.frame.t - reading.since:.1f}s"
            cv2.rectangle(image, (4, y - 13), (14 + 8 * len(text), y + 5), (0, 0, 0), -1)
            cv2.putText(image, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, SIGNAL_COLOURS[reading.state], 1)
            y += 20
        stamp = f"frame {result.frame.index}  t={result.frame.t:.2f}s"
        cv2.putText(image, stamp, (8, image.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)


class AnnotatedVideo:
    """Frame observer writing the annotated picture of every frame to an MP4."""

    def __init__(self, site: SiteConfig, path: Path, fps: float) -> None:
        self.annotator = Annotator(site)
        self.path = path
        self.fps = fps
        self._writer: VideoWriter | None = None

    def on_frame(self, result: FrameResult) -> None:
        image = self.annotator.draw(result)
        if self._writer is None:
            height, width = image.shape[:2]
            self._writer = VideoWriter(self.path, self.fps, width, height)
        self._writer.write(image)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
