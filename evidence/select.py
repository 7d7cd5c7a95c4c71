"""Which buffered frames become pictures 1-3 and the close-up. No I/O: frames in, choices out."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.events import CrossingEvent
from evidence.types import BufferedFrame

Box = tuple[float, float, float, float]
MAX_CLOSEUP_CANDIDATES = 30  # bounds the decoding work per event
NEAR_LARGEST = 0.85  # close-up candidates: boxes at least this fraction of the largest one's area
CLOSEUP_MARGIN = 0.15  # context kept around the person in the close-up, fraction of the box size


@dataclass(frozen=True)
class Picture:
    name: str  # "1_curb", "2_entry", "3_inside"
    frame: BufferedFrame
    violator: Box | None


def decode(frame: BufferedFrame) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"frame {frame.frame_index}: buffered JPEG does not decode")
    return image


def _violator_box(frame: BufferedFrame, event: CrossingEvent) -> Box | None:
    box = frame.box_of(event.track_id)
    if box is None and frame.frame_index == event.entry_frame and any(event.entry_box):
        return event.entry_box
    return box


def select_pictures(
    frames: list[BufferedFrame], event: CrossingEvent, inside_delay_s: float
) -> list[Picture]:
    """(1) the last frame before the entry frame, (2) the entry frame, (3) the first frame
    ``inside_delay_s`` after the entry. Frames showing the violator are preferred at each step;
    missing frames are replaced by the nearest available one so a sheet always has three pictures."""
    if not frames:
        return []
    before = [f for f in frames if f.frame_index < event.entry_frame]
    at_or_after = [f for f in frames if f.frame_index >= event.entry_frame]
    inside = [f for f in frames if f.t >= event.entry_t + inside_delay_s]
    curb = _prefer_tracked(list(reversed(before)), event) or frames[0]
    entry = _prefer_tracked(at_or_after[:3], event) or (at_or_after[0] if at_or_after else frames[-1])
    well_in = _prefer_tracked(inside, event) or (inside[0] if inside else _last_tracked(frames, event))
    return [
        Picture(name, f, _violator_box(f, event))
        for name, f in (("1_curb", curb), ("2_entry", entry), ("3_inside", well_in))
    ]


def _prefer_tracked(candidates: list[BufferedFrame], event: CrossingEvent) -> BufferedFrame | None:
    for frame in candidates:
        if _violator_box(frame, event) is not None:
            return frame
    return candidates[0] if candidates else None


def _last_tracked(frames: list[BufferedFrame], event: CrossingEvent) -> BufferedFrame:
    tracked = [f for f in frames if f.box_of(event.track_id) is not None]
    return tracked[-1] if tracked else frames[-1]


def sharpness(image: np.ndarray) -> float:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


@dataclass(frozen=True)
class Closeup:
    frame: BufferedFrame
    box: Box  # the violator's box in frame pixels
    crop: np.ndarray
    origin: tuple[int, int]  # top-left of the crop in frame pixels


def crop_with_margin(image: np.ndarray, box: Box) -> tuple[np.ndarray, tuple[int, int]]:
    """Crop around ``box`` with a margin; returns the crop and its top-left corner in the image."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * CLOSEUP_MARGIN, (y2 - y1) * CLOSEUP_MARGIN
    cx1, cy1 = max(0, int(x1 - mx)), max(0, int(y1 - my))
    cx2, cy2 = min(w, int(np.ceil(x2 + mx))), min(h, int(np.ceil(y2 + my)))
    return image[cy1:cy2, cx1:cx2].copy(), (cx1, cy1)


def choose_closeup(frames: list[BufferedFrame], track_id: int) -> Closeup | None:
    """The violator's crop from among the largest views (within ``NEAR_LARGEST`` of the largest box),
    the sharpest of those. Size comes first: sharpness alone favours frames where an edge-rich
    occluder (a sign, a pole) stands in front of the person."""
    tracked = [(f, f.box_of(track_id)) for f in frames]
    tracked = [(f, b) for f, b in tracked if b is not None and b[2] - b[0] >= 2 and b[3] - b[1] >= 2]
    if not tracked:
        return None
    largest = max(_area(b) for _, b in tracked)
    candidates = [(f, b) for f, b in tracked if _area(b) >= NEAR_LARGEST * largest]
    step = max(1, len(candidates) // MAX_CLOSEUP_CANDIDATES)
    best, best_score = None, -1.0
    for frame, box in candidates[::step]:
        crop, origin = crop_with_margin(decode(frame), box)
        score = sharpness(crop)
        if score > best_score:
            best, best_score = Closeup(frame, box, crop, origin), score
    return best


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])
