"""YOLOX head (Megvii export, not decoded): output [1, N, 5+nc] over strides 8/16/32.

Pre-processing: BGR, raw 0-255 (no scaling, no mean/std), letterbox anchored top-left with
grey 114. Each row is x_off, y_off, log_w, log_h, objectness, class scores (both sigmoided);
boxes are decoded on the anchor grid and the score is objectness x best class score.
"""

from __future__ import annotations

import numpy as np

from detection.heads.base import (
    STRIDES,
    Head,
    HeadSettings,
    ModelIO,
    Transform,
    anchor_count,
    cxcywh_to_xyxy,
    fill_chw,
)


def anchor_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) cell coordinates and (N,) strides, in the output's row order."""
    cells, strides = [], []
    for stride in STRIDES:
        n = size // stride
        ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        cells.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        strides.append(np.full(n * n, stride))
    return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)


class YoloXHead(Head):
    family = "yolox"

    def __init__(self, settings: HeadSettings) -> None:
        super().__init__(settings)
        self._cells, self._strides = anchor_grid(settings.input_size)

    @staticmethod
    def fits(io: ModelIO, input_size: int) -> bool:
        if len(io.output_shapes) != 1 or len(io.output_shapes[0]) != 3:
            return False
        _, rows, channels = io.output_shapes[0]
        return channels is not None and channels > 5 and rows in (None, anchor_count(input_size))

    def preprocess(self, image_bgr: np.ndarray) -> Transform:
        transform = self.letterbox(image_bgr, centred=False)
        fill_chw(self.tensor, self.canvas, 1.0, to_rgb=False)
        return transform

    def candidates(self, output: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows_out = output[0]
        # obj >= 0, so the best obj*cls is obj times the best class score.
        best = rows_out[:, 4] * rows_out[:, 5:].max(axis=1)
        rows = np.flatnonzero(best >= confidence)
        return rows, best[rows], rows_out[rows, 5:].argmax(axis=1)

    def boxes(self, output: np.ndarray, rows: np.ndarray) -> np.ndarray:
        raw = output[0][rows, :4]
        stride = self._strides[rows]
        cx = (raw[:, 0] + self._cells[rows, 0]) * stride
        cy = (raw[:, 1] + self._cells[rows, 1]) * stride
        return cxcywh_to_xyxy(cx, cy, np.exp(raw[:, 2]) * stride, np.exp(raw[:, 3]) * stride)
