"""The close-up's frame: nearest the entry among views where nobody else's box overlaps the violator's."""

from __future__ import annotations

import cv2
import numpy as np

from evidence.select import choose_closeup, covered_fraction
from evidence.types import BufferedFrame

VIOLATOR, OTHER = 7, 3
ENTRY = 50


def _frame(index: int, violator: tuple[float, ...], other: tuple[float, ...] | None) -> BufferedFrame:
    """A real JPEG of a grey street with the violator (and maybe a second person) as boxes."""
    image = np.full((352, 640, 3), 90, np.uint8)
    boxes = [violator] + ([other] if other else [])
    ids = [VIOLATOR] + ([OTHER] if other else [])
    for (x1, y1, x2, y2), shade in zip(boxes, (200, 40), strict=False):
        cv2.rectangle(image, (int(x1), int(y1)), (int(x2), int(y2)), (shade, shade, shade), -1)
    _, jpeg = cv2.imencode(".jpg", image)
    return BufferedFrame(
        index, index / 10, 1_700_000_000 + index / 10, jpeg.tobytes(),
        np.array(boxes, np.float32), np.array(ids, np.int64), {},
    )  # fmt: skip


def test_an_overlapped_view_is_passed_over_for_the_nearest_clear_one() -> None:
    person = (300.0, 200.0, 340.0, 300.0)
    behind_the_post = (310.0, 190.0, 350.0, 305.0)  # a second person half over the violator
    frames = [
        _frame(ENTRY - 6, person, None),  # clear, 6 frames before
        _frame(ENTRY - 1, person, behind_the_post),
        _frame(ENTRY, person, behind_the_post),  # the entry itself: two people overlap
        _frame(ENTRY + 2, person, behind_the_post),
        _frame(ENTRY + 4, person, (450.0, 200.0, 490.0, 300.0)),  # clear, 4 after: the nearest clear one
        _frame(ENTRY + 9, (300.0, 180.0, 350.0, 320.0), None),  # larger, but farther
    ]
    closeup = choose_closeup(frames, VIOLATOR, ENTRY)
    assert closeup is not None and closeup.frame.frame_index == ENTRY + 4
    assert closeup.box == person and closeup.crop.shape[0] > 100  # the box plus its margin


def test_when_every_view_is_overlapped_the_least_overlapped_is_taken() -> None:
    person = (300.0, 200.0, 340.0, 300.0)
    frames = [
        _frame(ENTRY, person, (300.0, 200.0, 340.0, 300.0)),  # fully covered
        _frame(ENTRY + 5, person, (330.0, 200.0, 370.0, 300.0)),  # a quarter covered
        _frame(ENTRY + 1, person, (320.0, 200.0, 360.0, 300.0)),  # half covered
    ]
    closeup = choose_closeup(frames, VIOLATOR, ENTRY)
    assert closeup is not None and closeup.frame.frame_index == ENTRY + 5
    assert covered_fraction(person, np.array([[330.0, 200.0, 370.0, 300.0]])) == 0.25


def test_no_view_of_the_violator_means_no_closeup() -> None:
    frame = _frame(ENTRY, (1.0, 1.0, 40.0, 80.0), None)
    assert choose_closeup([frame], track_id=99, entry_frame=ENTRY) is None
