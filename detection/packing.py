"""Several cameras in one inference: their zone regions placed side by side on the model's input.

A model with a fixed square input letterboxes a wide picture, so most of a 640x352 frame's
inference is spent on grey padding, and the part that matters (the zones and their margins) is
smaller still. A box watching an intersection has several such pictures due at once. Packing
them onto one input canvas, each at exactly the scale the detector would give it alone, runs one
inference where there were two or three, and every person reaches the network as large as
before. Boxes found on the canvas go back to the tile holding their centre and from there to
their frame.

The layout (``pack``) is pure and table-tested; ``detect_packed`` composes the canvases and runs
any ``Detector`` on them, so every back-end packs without knowing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import cv2
import numpy as np

from detection.base import Detector
from detection.region import Region
from detection.types import Detections

PAD_VALUE = 114  # the letterbox grey the models were trained with
GAP_PX = 16  # grey between tiles, so a box cannot straddle two cameras' pictures


@dataclass(frozen=True)
class Request:
    """One camera's picture to detect on: the frame, the part of it to send and at which scale."""

    image: np.ndarray  # the whole BGR frame
    region: Region | None  # the part to detect on; None: the whole frame
    scale: float  # input pixels per frame pixel: what the detector alone would use

    @property
    def crop(self) -> np.ndarray:
        return self.image if self.region is None else self.region.crop(self.image)

    def tile_size(self, side: int) -> tuple[int, int]:
        """Width and height on the canvas, never beyond its side."""
        height, width = self.crop.shape[:2]
        return min(side, max(1, round(width * self.scale))), min(side, max(1, round(height * self.scale)))


@dataclass(frozen=True)
class Placement:
    """Where request ``index`` sits on its canvas, in canvas pixels."""

    index: int
    x: int
    y: int
    width: int
    height: int


def pack(sizes: Sequence[tuple[int, int]], side: int, gap: int = GAP_PX) -> list[list[Placement]]:
    """Shelf packing of (width, height) tiles onto square canvases of ``side`` pixels.

    Tallest first, left to right along a shelf, a new shelf below when a row is full, a new
    canvas when the shelf would not fit. Every tile fits a canvas on its own, so nothing is
    refused; the order is fixed by the sizes and indices, so a round packs the same way each time.
    """
    canvases: list[list[Placement]] = []
    x = y = shelf = 0
    for index in sorted(range(len(sizes)), key=lambda i: (-sizes[i][1], i)):
        width, height = sizes[index]
        if not (0 < width <= side and 0 < height <= side):
            raise ValueError(f"tile {index} of {width}x{height} does not fit a {side}x{side} canvas")
        if canvases and x + width > side:  # the shelf is full: start the next one below it
            x, y, shelf = 0, y + shelf + gap, 0
        if not canvases or y + height > side:
            canvases.append([])
            x = y = shelf = 0
        canvases[-1].append(Placement(index, x, y, width, height))
        x, shelf = x + width + gap, max(shelf, height)
    return [_spread(placements, side, gap) for placements in canvases]


def _spread(placements: list[Placement], side: int, gap: int) -> list[Placement]:
    """Share a canvas's spare room evenly around its shelves and the tiles on each shelf.

    A picture alone is letterboxed with grey all round; spreading the room keeps each tile as
    far from its neighbours (never nearer than ``gap``) and from the canvas edge as the canvas
    allows, so the network sees each camera's picture with as little of another's around it.
    """
    shelves: dict[int, list[Placement]] = {}
    for place in placements:
        shelves.setdefault(place.y, []).append(place)
    heights = [max(p.height for p in row) for row in shelves.values()]
    spare_y = (side - sum(heights) - gap * (len(heights) - 1)) / (len(heights) + 1)
    spread: list[Placement] = []
    top = spare_y
    for row, height in zip(shelves.values(), heights, strict=True):
        spare_x = (side - sum(p.width for p in row) - gap * (len(row) - 1)) / (len(row) + 1)
        left = spare_x
        for place in row:
            y = round(top + (height - place.height) / 2)
            spread.append(Placement(place.index, round(left), y, place.width, place.height))
            left += place.width + gap + spare_x
        top += height + gap + spare_y
    return spread


def compose(requests: Sequence[Request], placements: Sequence[Placement], side: int) -> np.ndarray:
    """One canvas: each request's crop resized to its tile (linear, as the letterbox does), grey between."""
    canvas = np.full((side, side, 3), PAD_VALUE, np.uint8)
    for place in placements:
        crop = requests[place.index].crop
        target = canvas[place.y : place.y + place.height, place.x : place.x + place.width]
        if crop.shape[:2] == (place.height, place.width):
            target[...] = crop
        else:
            cv2.resize(crop, (place.width, place.height), dst=target, interpolation=cv2.INTER_LINEAR)
    return canvas


def split(found: Detections, requests: Sequence[Request], placements: Sequence[Placement]) -> dict[int, Detections]:
    """Canvas boxes back to their frames: each to the tile holding its centre, clipped to that tile."""
    centre_x = (found.xyxy[:, 0] + found.xyxy[:, 2]) / 2
    centre_y = (found.xyxy[:, 1] + found.xyxy[:, 3]) / 2
    out: dict[int, Detections] = {}
    for place in placements:
        request = requests[place.index]
        inside = (
            (centre_x >= place.x)
            & (centre_x < place.x + place.width)
            & (centre_y >= place.y)
            & (centre_y < place.y + place.height)
        )
        mine = found[inside]
        crop_h, crop_w = request.crop.shape[:2]
        xyxy = mine.xyxy - np.array([place.x, place.y, place.x, place.y], np.float32)
        xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, place.width) * (crop_w / place.width)
        xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, place.height) * (crop_h / place.height)
        on_crop = Detections(xyxy.astype(np.float32), mine.confidence, mine.class_id)
        out[place.index] = on_crop if request.region is None else request.region.to_frame(on_crop)
    return out


Job = tuple[bool | None, list[Request], list[int], list[Placement]]  # darkness, requests, their indices, layout


def detect_packed(
    detector: Detector,
    requests: Sequence[Request],
    side: int,
    spares: Sequence[Detector] = (),
    lanes: Executor | None = None,
) -> list[Detections]:
    """Detections per request, in its frame's pixels, from as few inferences as the tiles allow.

    A detector with a low-light stage (detection/lowlight.py) judges each picture's darkness on
    its own crop, as it would alone, and dark and daylight pictures go to separate canvases: the
    canvas's grey would otherwise brighten a dark picture, and a dark one's treatment would
    change a daylight one's detections.

    ``spares``: more detectors of the same model (a session runs one inference at a time) and
    ``lanes`` the threads to run them on: up to ``1 + len(spares)`` canvases are detected at the
    same time, the first on the calling thread. Which canvas runs where changes nothing found.
    """
    is_dark = getattr(detector, "is_dark", None)
    groups: dict[bool | None, list[int]] = {}
    for i, request in enumerate(requests):
        groups.setdefault(None if is_dark is None else bool(is_dark(request.crop)), []).append(i)
    jobs: list[Job] = []
    for dark, members in groups.items():
        mine = [requests[i] for i in members]
        jobs += [(dark, mine, members, placements) for placements in pack([r.tile_size(side) for r in mine], side)]
    detectors = [detector, *spares] if lanes is not None else [detector]
    results: dict[int, Detections] = {}
    for start in range(0, len(jobs), len(detectors)):
        batch = list(zip(detectors, jobs[start : start + len(detectors)], strict=False))
        elsewhere = [lanes.submit(_detect_canvas, *pair, side) for pair in batch[1:]] if lanes else []
        results.update(_detect_canvas(*batch[0], side))
        for future in elsewhere:
            results.update(future.result())
    return [results[i] for i in range(len(requests))]


def _detect_canvas(detector: Detector, job: Job, side: int) -> dict[int, Detections]:
    dark, mine, members, placements = job
    canvas = compose(mine, placements, side)
    found = detector.detect(canvas) if dark is None else detector.detect(canvas, dark=dark)  # type: ignore[call-arg]
    return {members[k]: d for k, d in split(found, mine, placements).items()}
