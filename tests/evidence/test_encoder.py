"""The evidence encoder thread: replay keeps every frame, the live service drops rather than lag."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from evidence.encoder import ENCODER_NICE, FrameEncoder, RawFrame
from evidence.ring import FrameRing
from tests.evidence.builders import clip_frames, t_of

MB = 1024 * 1024


def raw(i: int, image: np.ndarray) -> RawFrame:
    return RawFrame(i, t_of(i), 1.0e9 + t_of(i), image, np.zeros((0, 4), np.float32), np.zeros(0, np.int64), {})


def run(wait_when_full: bool, frames: int) -> tuple[FrameEncoder, FrameRing, list[float], list[bool]]:
    ring = FrameRing(seconds=60.0, max_bytes=256 * MB)
    seen: list[float] = []
    encoder = FrameEncoder(ring, 90, max_queued=1, wait_when_full=wait_when_full, on_buffered=seen.append)
    clip = clip_frames()
    accepted = [encoder.submit(raw(i, clip[i % len(clip)])) for i in range(frames)]
    assert encoder.drain(30.0)
    encoder.stop(5.0)
    return encoder, ring, seen, accepted


def test_replay_policy_buffers_every_frame_in_order() -> None:
    encoder, ring, seen, accepted = run(wait_when_full=True, frames=60)
    assert all(accepted) and encoder.stats.dropped == 0 and encoder.stats.encoded == 60
    frames = ring.window(0.0, 1e9)
    assert [f.frame_index for f in frames] == list(range(60))
    assert seen == [f.t for f in frames]  # the hand-off runs once per buffered frame, in order
    first = cv2.imdecode(np.frombuffer(frames[0].jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert first.shape == clip_frames()[0].shape
    assert cv2.absdiff(first, clip_frames()[0]).mean() < 3.0  # quality 90: close to the original


def test_live_policy_drops_and_counts_instead_of_waiting() -> None:
    # Frames handed over in a tight loop outrun any JPEG encoder; with one slot, most are skipped.
    encoder, ring, _, accepted = run(wait_when_full=False, frames=60)
    assert encoder.stats.dropped > 0
    assert encoder.stats.encoded + encoder.stats.dropped == 60
    assert accepted.count(False) == encoder.stats.dropped
    indices = [f.frame_index for f in ring.window(0.0, 1e9)]
    assert indices == sorted(indices) and len(indices) == encoder.stats.encoded


def test_a_bad_frame_is_counted_and_the_next_one_is_buffered() -> None:
    ring = FrameRing(seconds=60.0, max_bytes=64 * MB)
    encoder = FrameEncoder(ring, 90, max_queued=4, wait_when_full=True, on_buffered=lambda t: None)
    encoder.submit(raw(0, None))  # type: ignore[arg-type]
    encoder.submit(raw(1, np.zeros((0, 0, 3), np.uint8)))
    encoder.submit(raw(2, clip_frames()[2]))
    assert encoder.drain(10.0)
    encoder.stop(5.0)
    assert (encoder.stats.rejected, encoder.stats.encoded) == (2, 1)
    assert [f.frame_index for f in ring.window(0.0, 1e9)] == [2]


def test_a_failing_hand_off_does_not_stop_the_encoder() -> None:
    def explode(t: float) -> None:
        raise RuntimeError("writer gone")

    ring = FrameRing(seconds=60.0, max_bytes=64 * MB)
    encoder = FrameEncoder(ring, 90, max_queued=4, wait_when_full=True, on_buffered=explode)
    for i in range(3):
        encoder.submit(raw(i, clip_frames()[i]))
    assert encoder.drain(10.0)
    encoder.stop(5.0)
    assert encoder.stats.encoded == 3


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="per-thread priority is read from Linux /proc")
def test_encoder_thread_runs_below_normal_priority() -> None:
    ring = FrameRing(seconds=60.0, max_bytes=64 * MB)
    encoder = FrameEncoder(ring, 90, max_queued=4, wait_when_full=True, on_buffered=lambda t: None)
    encoder.submit(raw(0, clip_frames()[0]))
    assert encoder.drain(10.0)  # the thread has set its priority before its first frame
    stat = Path(f"/proc/self/task/{encoder.thread_id}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 is fields[0]
    niceness = int(fields[16])  # field 19 of proc(5): nice
    encoder.stop(5.0)
    assert niceness == ENCODER_NICE
