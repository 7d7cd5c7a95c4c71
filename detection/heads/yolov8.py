"""YOLOv8 / YOLO11 head (Ultralytics export): output [1, 4+nc, N], no objectness.

Pre-processing: RGB, /255, letterbox centred with grey 114. Rows 0-3 of the output are
cx, cy, w, h in input pixels; rows 4.. are class scores, already sigmoided.
"""

from __future__ import annotations

import numpy as np

from detection.heads.base import Head, ModelIO, Transform, anchor_count, cxcywh_to_xyxy, fill_chw


class YoloV8Head(Head):
    family = "yolov8"

    @staticmethod
    def fits(io: ModelIO, input_size: int) -> bool:
        if len(io.output_shapes) != 1 or len(io.output_shapes[0]) != 3:
            return False
        _, channels, rows = io.output_shapes[0]
        return channels is not None and channels > 4 and rows in (None, anchor_count(input_size))

    def preprocess(self, image_bgr: np.ndarray) -> Transform:
        transform = self.letterbox(image_bgr, centred=True)
        fill_chw(self.tensor, self.canvas, 1.0 / 255.0, to_rgb=True)
        return transform

    def candidates(self, output: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        class_scores = output[0][4:, :]
        best = class_scores.max(axis=0)
        rows = np.flatnonzero(best >= confidence)
        return rows, best[rows], class_scores[:, rows].argmax(axis=0)

    def boxes(self, output: np.ndarray, rows: np.ndarray) -> np.ndarray:
        cx, cy, w, h = output[0][:4, rows]
        return cxcywh_to_xyxy(cx, cy, w, h)
