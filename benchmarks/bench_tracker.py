"""The tracker's own cost per frame, with and without the torso colour cue.

    .venv/bin/python benchmarks/bench_tracker.py [--data DIR] [--repeat 3]

Each clip with labelled person tracks is decoded once; the labelled boxes of every frame,
jittered by a seeded 3 % of their size and given detector-like scores, stand in for the
detector's output, so only the tracker is timed (``ByteTracker.update``, best of
``--repeat`` runs). Printed per clip: people per frame, milliseconds per frame by boxes
alone and with the colour cue. Speed figures are from whatever machine this runs on.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from detection.tracker import ByteTracker
from detection.types import PERSON_CLASS_ID, Detections
from edge.config.tracker import TrackerConfig
from edge.evaluation.cases import default_data_dir
from edge.evaluation.groundtruth import load_mot

CLIPS = (
    ("towncentre_excerpt_f001-126", "video/towncentre_excerpt_f001-126.mp4"),
    ("TUD-Stadtmitte", "video/TUD-Stadtmitte.mp4"),
    ("TUD-Campus", "video/TUD-Campus.mp4"),
)


def frames_and_boxes(data: Path, name: str, video: str) -> tuple[list[np.ndarray], list[Detections]]:
    truth = load_mot(data / "labels" / f"{name}_gt.txt")
    capture = cv2.VideoCapture(str(data / video))
    rng = np.random.default_rng(0)
    frames, boxes = [], []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        labelled = truth.at(len(frames)).xyxy.astype(np.float64)
        size = np.repeat(labelled[:, 2:] - labelled[:, :2], 2, axis=0).reshape(-1, 4)
        xyxy = labelled + rng.normal(0, 0.03, labelled.shape) * size
        scores = rng.uniform(0.4, 0.95, len(xyxy))
        frames.append(image)
        boxes.append(Detections.from_lists(xyxy.tolist(), scores.tolist(), [PERSON_CLASS_ID] * len(xyxy)))
    capture.release()
    return frames, boxes


def time_tracker(frames: list[np.ndarray], boxes: list[Detections], weight: float, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        tracker = ByteTracker(TrackerConfig(appearance_weight=weight))
        start = time.perf_counter()
        for index, (image, dets) in enumerate(zip(frames, boxes, strict=True)):
            tracker.update(dets, index / 25.0, image)
        best = min(best, (time.perf_counter() - start) * 1000 / max(len(frames), 1))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'clip':<30} {'size':>10} {'people':>7} {'boxes ms':>9} {'colour ms':>10}")
    for name, video in CLIPS:
        frames, boxes = frames_and_boxes(args.data, name, video)
        people = np.mean([len(b) for b in boxes])
        height, width = frames[0].shape[:2]
        plain = time_tracker(frames, boxes, 0.0, args.repeat)
        colour = time_tracker(frames, boxes, 1.0, args.repeat)
        print(f"{name:<30} {f'{width}x{height}':>10} {people:>7.1f} {plain:>9.2f} {colour:>10.2f}")


if __name__ == "__main__":
    main()
