"""FastestDet head (dog-qiuqiu/FastestDet export): output [1, 5+nc, G, G], one box per cell.

Pre-processing: BGR, plain resize to the input size (aspect ratio NOT kept) with INTER_AREA, /255.
Channel 0 is objectness (sigmoided), 1-2 the cell offsets (apply tanh), 3-4 width and height as a
fraction of the picture (apply sigmoid), 5.. class probabilities (softmaxed).
Score = obj^0.6 x best_class^0.4, as in the author's reference decoder.
"""

from __future__ import annotations

import cv2
import numpy as np

from detection.heads.base import Head, HeadSettings, ModelIO, Transform, cxcywh_to_xyxy, fill_chw

GRID_STRIDE = 16  # 352 px input -> 22 x 22 cells


class FastestDetHead(Head):
    family = "fastestdet"

    def __init__(self, settings: HeadSettings) -> None:
        super().__init__(settings)
        self._grid = settings.input_size // GRID_STRIDE
        cells = np.arange(self._grid * self._grid)
        self._cell_x = (cells % self._grid).astype(np.float32)
        self._cell_y = (cells // self._grid).astype(np.float32)

    @staticmethod
    def fits(io: ModelIO, input_size: int) -> bool:
        if len(io.output_shapes) != 1 or len(io.output_shapes[0]) != 4:
            return False
        _, channels, gh, gw = io.output_shapes[0]
        grid = input_size // GRID_STRIDE
        return channels is not None and channels > 5 and gh in (None, grid) and gw in (None, grid)

    def preprocess(self, image_bgr: np.ndarray) -> Transform:
        size = self.settings.input_size
        h, w = image_bgr.shape[:2]
        cv2.resize(image_bgr, (size, size), dst=self._canvas, interpolation=cv2.INTER_AREA)
        fill_chw(self.tensor, self._canvas, 1.0 / 255.0, to_rgb=False)
        return Transform(size / w, size / h, 0.0, 0.0, w, h)

    def candidates(self, output: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        flat = output[0].reshape(output.shape[1], -1)  # (5+nc, G*G), a view
        best_class = flat[5:].max(axis=0)
        score = np.power(flat[0], 0.6) * np.power(best_class, 0.4)
        rows = np.flatnonzero(score >= confidence)
        return rows, score[rows], flat[5:, rows].argmax(axis=0)

    def boxes(self, output: np.ndarray, rows: np.ndarray) -> np.ndarray:
        flat = output[0].reshape(output.shape[1], -1)
        size = self.settings.input_size
        cx = (self._cell_x[rows] + np.tanh(flat[1, rows])) / self._grid * size
        cy = (self._cell_y[rows] + np.tanh(flat[2, rows])) / self._grid * size
        w = size / (1.0 + np.exp(-flat[3, rows]))
        h = size / (1.0 + np.exp(-flat[4, rows]))
        return cxcywh_to_xyxy(cx, cy, w, h)
