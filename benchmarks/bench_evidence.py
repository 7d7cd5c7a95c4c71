"""Evidence on the frame path: on_frame cost and frames dropped during a burst of violations.

Plays the shared crosswalk clip as a live camera would deliver it (paced at --fps, newest frame
wins, so a frame the pipeline is not ready for is dropped), with a stand-in for detector time
(--detect-ms, a sleep, which like ONNX Runtime releases the GIL). Runs twice: without violations
(baseline) and with a burst (--burst violations per clip pass), while the background writer
encodes sheets and H.264 clips on the same CPU. Prints the figures; asserts nothing.

    python benchmarks/bench_evidence.py [--fps 11.03] [--detect-ms 40] [--passes 3] [--burst 6]

Needs the shared clip (../shared/data beside the repo, or $CROSSGUARD_SHARED_DATA).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evidence.recorder import EvidenceRecorder
from tests.evidence.builders import (
    SIGNAL_CHANGES,
    START_UTC,
    clip_frames,
    make_event,
    make_site,
    signal_states,
    t_of,
    tracks_at,
)

CLIP_FRAMES = 143


def run(root: Path, fps: float, detect_ms: float, passes: int, burst: int, scale: float) -> dict[str, float]:
    recorder = EvidenceRecorder.from_config(make_site(root), "bench", "bench")
    clip = [cv2.resize(f, None, fx=scale, fy=scale) if scale != 1 else f for f in clip_frames()]
    total = passes * CLIP_FRAMES
    entries = np.linspace(40, 100, burst).astype(int) if burst else []
    costs, dropped, processed = [], 0, 0
    start = time.perf_counter()
    i = 0
    while i < total:
        local, offset = i % CLIP_FRAMES, (i // CLIP_FRAMES) * CLIP_FRAMES
        arrival = start + i / fps  # the camera delivers frame i at this instant
        time.sleep(max(0.0, arrival - time.perf_counter()))
        time.sleep(detect_ms / 1000)  # detector + tracker stand-in
        tracks = tracks_at(local)
        if scale != 1:
            tracks = tracks.__class__(tracks.xyxy * scale, tracks.confidence, tracks.class_id, tracks.tracker_id)
        t0 = time.perf_counter()
        recorder.on_frame(i, t_of(i), START_UTC + t_of(i), clip[local], tracks, signal_states(i))
        for entry in entries:
            if local == entry + 6:
                recorder.on_violation(make_event(int(entry), offset=offset), SIGNAL_CHANGES)
        costs.append((time.perf_counter() - t0) * 1000)
        processed += 1
        # A live source hands over the newest frame: every frame time that passed meanwhile is lost.
        due = int((time.perf_counter() - start) * fps)
        nxt = max(i + 1, due)
        dropped += min(nxt, total) - (i + 1)
        i = nxt
    wall = time.perf_counter() - start
    flush_start = time.perf_counter()
    recorder.close(300.0)
    flush_s = time.perf_counter() - flush_start
    encoder = recorder.encoder.stats
    costs.sort()
    return {
        "frames": total,
        "processed": processed,
        "dropped": dropped,
        "wall_s": wall,
        "on_frame_mean_ms": statistics.mean(costs),
        "on_frame_p50_ms": costs[len(costs) // 2],
        "on_frame_p99_ms": costs[int(len(costs) * 0.99)],
        "on_frame_max_ms": costs[-1],
        "encode_mean_ms": 1000 * encoder.encode_s / max(1, encoder.encoded),
        "not_buffered": encoder.dropped,
        "violations": recorder.stats.violations,
        "committed": len(recorder.records()),
        "close_s": flush_s,
        "ring_mb": recorder.ring.bytes_used / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=float, default=11.03, help="camera frame rate (the clip's own: 11.03)")
    parser.add_argument("--detect-ms", type=float, default=40.0, help="time the detector takes per frame")
    parser.add_argument("--passes", type=int, default=3, help="times the 143-frame clip is played")
    parser.add_argument("--burst", type=int, default=6, help="violations per pass of the clip")
    parser.add_argument("--scale", type=float, default=1.0, help="resize frames (3 = 1920x1056)")
    args = parser.parse_args()
    h, w = (int(352 * args.scale), int(640 * args.scale))
    print(
        f"clip {w}x{h}, {args.fps} fps, detector stand-in {args.detect_ms} ms, {args.passes} passes, "
        f"{os.cpu_count()} CPUs"
    )
    for label, burst in (
        ("baseline, no violations", 0),
        (f"burst, {args.burst} violations/pass", args.burst),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(Path(tmp) / "root", args.fps, args.detect_ms, args.passes, burst, args.scale)
        print(f"\n{label}")
        print(f"  frames {r['frames']}  processed {r['processed']}  dropped {r['dropped']}", end="")
        print(f"  wall {r['wall_s']:.1f} s")
        print(
            f"  on_frame ms: mean {r['on_frame_mean_ms']:.2f}  p50 {r['on_frame_p50_ms']:.2f}  "
            f"p99 {r['on_frame_p99_ms']:.2f}  max {r['on_frame_max_ms']:.2f}",
            f" (JPEG encode {r['encode_mean_ms']:.2f})",
        )
        print(
            f"  violations {r['violations']}  committed {r['committed']}  close() {r['close_s']:.1f} s  "
            f"ring {r['ring_mb']:.1f} MB"
        )


if __name__ == "__main__":
    main()
