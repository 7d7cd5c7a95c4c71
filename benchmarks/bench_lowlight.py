"""Cost of the low-light stage (detection/lowlight.py) per frame, by day and at night.

    python benchmarks/bench_lowlight.py [--frames 40] [--threads 2] [--video PATH] [--model PATH]

Prints, for daylight frames and the same frames under the evaluation's low_light corruption at
severity 3: the stage's own work (brightness and colour measurement, denoising) and the whole detect() call
with the stage on and off, median and p95 in milliseconds, plus people per frame at the default
new-track band (0.6). Figures only: compare within one run, never against a fixed number.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection.lowlight import denoise, mean_chroma, mean_luma
from detection.registry import build_detector
from edge.config.detector import DetectorConfig
from edge.evaluation.corruptions import Corruption, corrupt, frame_rng

SHARED = Path(os.environ.get("CROSSGUARD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
NEW_TRACK = 0.6


def read_frames(video: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    ok, frame = capture.read()
    while ok and len(frames) < count:
        frames.append(frame)
        ok, frame = capture.read()
    capture.release()
    if not frames:
        sys.exit(f"{video}: no frames could be read")
    return frames


def timed(work: Callable[[np.ndarray], object], frames: list[np.ndarray]) -> tuple[list[float], list[object]]:
    times, results = [], []
    for frame in frames:
        t0 = time.perf_counter()
        results.append(work(frame))
        times.append((time.perf_counter() - t0) * 1e3)
    return times, results


def row(label: str, times: list[float], people: str = "") -> str:
    return f"{label:38s} {np.median(times):8.2f} {np.percentile(times, 95):8.2f}  {people}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--video", type=Path, default=SHARED / "video" / "crosswalk_elevated_fixed.mp4")
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "yolov8n_int8_640.onnx")
    args = parser.parse_args()
    day = read_frames(args.video, args.frames)
    seed = args.video.name
    dark = [corrupt(f, Corruption.LOW_LIGHT, 3, frame_rng(seed, "low_light:3", i)) for i, f in enumerate(day)]
    settings = DetectorConfig(model=args.model, threads=args.threads)
    stages = {"on": build_detector(settings), "off": build_detector(settings.model_copy(update={"low_light": "off"}))}
    for detector in stages.values():  # warm-up: first runs allocate
        detector.detect(day[0])
    print(f"{args.video.name}, {len(day)} frames, {args.model.name}, {args.threads} threads")
    print(f"{'':38s} {'median':>8s} {'p95':>8s}  people ≥ {NEW_TRACK} per frame")
    for name, pictures in (("daylight", day), ("low_light:3", dark)):
        print(row(f"{name}: brightness measurement", timed(mean_luma, pictures)[0]))
        print(row(f"{name}: colour measurement", timed(mean_chroma, pictures)[0]))
        blur = partial(denoise, sigma=settings.low_light_denoise_sigma)
        print(row(f"{name}: denoise (dark frames only)", timed(blur, pictures)[0]))
        for stage, detector in stages.items():
            times, found = timed(detector.detect, pictures)
            people = np.mean([int((d.confidence >= NEW_TRACK).sum()) for d in found])  # type: ignore[attr-defined]
            print(row(f"{name}: detect, stage {stage}", times, f"{people:.2f}"))


if __name__ == "__main__":
    main()
