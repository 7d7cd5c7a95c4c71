"""Which buffered frames become pictures 1-3 and the close-up. No I/O: frames in, choices out."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.events import CrossingEvent
from evidence.types import BufferedFrame

Box = tuple[float, float, float, float]
CLEAR_OVERLAP = 0.02  # a close-up view counts as clear while no other person's box covers more of the violator's
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


def choose_closeup(frames: list[BufferedFrame], track_id: int, entry_frame: int) -> Closeup | None:
    """The violator's crop from the frame nearest to the entry where no other person's box overlaps
    theirs (at most ``CLEAR_OVERLAP`` of their box covered), so the close-up shows the violator and
    nobody standing in front of or behind them; at equal distance, the larger view. When every view
    is overlapped, the least overlapped one, nearest to the entry."""
    tracked = [(f, f.box_of(track_id)) for f in frames]
    tracked = [(f, b) for f, b in tracked if b is not None and b[2] - b[0] >= 2 and b[3] - b[1] >= 2]
    if not tracked:
        return None

    def rank(item: tuple[BufferedFrame, Box]) -> tuple[float, int, float]:
        frame, box = item
        covered = covered_fraction(box, frame.other_boxes(track_id))
        return (0.0 if covered <= CLEAR_OVERLAP else covered, abs(frame.frame_index - entry_frame), -_area(box))

    frame, box = min(tracked, key=rank)
    crop, origin = crop_with_margin(decode(frame), box)
    return Closeup(frame, box, crop, origin)


def covered_fraction(box: Box, others: np.ndarray) -> float:
    """The largest fraction of ``box``'s area that any one of ``others`` (n × xyxy) covers."""
    if not len(others):
        return 0.0
    x1, y1, x2, y2 = box
    w = np.clip(np.minimum(others[:, 2], x2) - np.maximum(others[:, 0], x1), 0, None)
    h = np.clip(np.minimum(others[:, 3], y2) - np.maximum(others[:, 1], y1), 0, None)
    return float((w * h).max() / max(_area(box), 1e-6))


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])
