"""Per-model detector latency on real crosswalk frames: pre / infer / post, median and p95.

    python benchmarks/bench_detectors.py [--frames 60] [--threads 2] [--video PATH] [--models DIR]

Prints one row per shared model plus people per frame (mean, min-max). Figures only: the VM is
noisy (SOURCES.md saw 2x swings), so compare models within one run, never against a fixed number.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection.backends.onnx import OnnxDetector
from edge.config.detector import DetectorConfig
from models.catalog import CATALOG

SHARED = Path(os.environ.get("CROSSGUARD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@dataclass
class Row:
    name: str
    pre: list[float]
    infer: list[float]
    post: list[float]
    people: list[int]


def read_frames(video: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        sys.exit(f"{video}: no frames could be read")
    return frames


def measure(path: Path, confidence: float, threads: int, frames: list[np.ndarray], warmup: int = 3) -> Row:
    detector = OnnxDetector(DetectorConfig(model=path, confidence=confidence, threads=threads))
    for frame in frames[:warmup]:
        detector.detect(frame)
    row = Row(path.name, [], [], [], [])
    for frame in frames:
        people = detector.detect(frame)
        times = detector.last_times
        row.pre.append(times.pre_ms)
        row.infer.append(times.infer_ms)
        row.post.append(times.post_ms)
        row.people.append(len(people))
    return row


def stats(values: list[float]) -> str:
    return f"{np.median(values):6.1f} {np.percentile(values, 95):6.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--video", type=Path, default=SHARED / "video" / "crosswalk_elevated_fixed.mp4")
    parser.add_argument("--models", type=Path, default=SHARED / "models")
    args = parser.parse_args()

    frames = read_frames(args.video, args.frames)
    h, w = frames[0].shape[:2]
    print(f"{args.video.name}: {len(frames)} frames of {w}x{h}, intra-op threads {args.threads}")
    stage = f"{'median':>6} {'p95':>6}"
    print(f"{'model':<24} {'conf':>4} | {'pre ms':>13} | {'infer ms':>13} | {'post ms':>13} | {'total':>6} | people")
    print(f"{'':<24} {'':>4} | {stage} | {stage} | {stage} | {'median':>6} | per frame")
    for entry in CATALOG:
        path = args.models / entry.file
        if not path.is_file():
            print(f"{entry.file:<24} missing")
            continue
        row = measure(path, entry.confidence, args.threads, frames)
        total = np.median(np.add(np.add(row.pre, row.infer), row.post))
        people = f"{np.mean(row.people):.1f} ({min(row.people)}-{max(row.people)})"
        print(
            f"{row.name:<24} {entry.confidence:>4.2f} | {stats(row.pre)} | {stats(row.infer)} | "
            f"{stats(row.post)} | {total:6.1f} | {people}"
        )


if __name__ == "__main__":
    main()
