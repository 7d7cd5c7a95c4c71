"""The work every head shares: letterbox geometry, mapping back to source pixels, class-wise NMS."""

from __future__ import annotations

import numpy as np
import pytest

from detection.heads.base import HeadSettings, Transform, nms_classwise, to_source
from detection.heads.yolov8 import YoloV8Head
from detection.heads.yolox import YoloXHead, anchor_grid


def settings(size: int = 320) -> HeadSettings:
    return HeadSettings(input_size=size, confidence=0.25, nms_iou=0.45, classes=(0,))


@pytest.mark.parametrize(
    ("head_class", "expected_pad"),
    [(YoloV8Head, (0.0, 40.0)), (YoloXHead, (0.0, 0.0))],  # centred vs top-left, 640x480 → 320x240
)
def test_letterbox_pads_where_the_family_expects(head_class, expected_pad) -> None:
    head = head_class(settings())
    frame = np.full((480, 640, 3), 200, np.uint8)
    transform = head.letterbox(frame, centred=head_class is YoloV8Head)
    assert (transform.pad_x, transform.pad_y) == expected_pad
    assert transform.scale_x == transform.scale_y == 0.5
    top = int(transform.pad_y)
    assert (head.canvas[top : top + 240] == 200).all()
    assert (head.canvas[top + 240 :] == 114).all()


def test_the_picture_area_maps_back_to_the_whole_source() -> None:
    t = Transform(scale_x=0.5, scale_y=0.5, pad_x=0.0, pad_y=40.0, source_w=640, source_h=480)
    back = to_source(np.array([[0, 40, 320, 280], [-10, 0, 400, 400]], np.float32), t)
    np.testing.assert_allclose(back[0], [0, 0, 640, 480])
    np.testing.assert_allclose(back[1], [0, 0, 640, 480])  # clipped to the picture


def test_nms_is_per_class() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    keep = nms_classwise(boxes, scores, np.array([0, 0, 5]), iou=0.45)
    assert keep.tolist() == [0, 2]  # the overlapping person is merged, the bus on top of it is not


def test_yolox_grid_has_one_row_per_anchor_in_stride_order() -> None:
    cells, strides = anchor_grid(416)
    assert len(cells) == 52 * 52 + 26 * 26 + 13 * 13 == 3549
    assert strides[0] == 8 and strides[-1] == 32
    assert cells[1].tolist() == [1, 0] and cells[52].tolist() == [0, 1]  # x varies fastest
