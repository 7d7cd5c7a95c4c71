"""The capture thread: newest-frame hand-over, lossless mode for bench files, reconnect with back-off."""

from __future__ import annotations

import itertools
import threading
import time

from edge.capture import Capture, CaptureState, open_source
from edge.config.service import CaptureConfig
from tests.conftest import require_shared
from tests.edge.streams import MjpegServer, wait_until

CLIP = "video/crosswalk_elevated_fixed.mp4"


def capture_of(spec: str, config: CaptureConfig, drop_stale: bool = True) -> Capture:
    return Capture(lambda: open_source(spec, config, 11.0), config, drop_stale=drop_stale)


def test_slow_consumer_gets_the_newest_frame_and_stale_ones_are_counted() -> None:
    capture = capture_of(str(require_shared(CLIP)), CaptureConfig(realtime=True))
    capture.start()
    taken = []
    try:
        for _ in range(5):
            grabbed = capture.get(timeout=5)
            assert grabbed is not None
            taken.append(grabbed.seq)
            time.sleep(0.4)  # a detector slower than the camera
    finally:
        capture.stop()
    stats = capture.stats
    assert stats.frames_dropped > 0
    gaps = [b - a for a, b in itertools.pairwise(taken)]
    assert min(gaps) > 1  # frames in between were skipped, not queued up behind
    assert stats.frames_read - taken[-1] <= 10  # never more than the in-flight frames behind the source


def test_two_frames_kept_absorb_one_slow_turn_and_still_drop_when_the_loop_stays_behind() -> None:
    """A box with several cameras keeps two frames a camera: one turn slower than a frame interval
    (a round detecting every camera) loses nothing, and the frames come oldest first; a loop that
    stays slower than the camera still drops the oldest, never falling further behind."""
    capture = Capture(
        lambda: open_source(str(require_shared(CLIP)), CaptureConfig(realtime=True), 11.0),
        CaptureConfig(realtime=True),
        depth=2,
    )
    capture.start()
    try:
        first = capture.get(timeout=5)
        assert first is not None
        time.sleep(1.2 / 11)  # one slow turn: longer than a frame interval
        assert capture.waiting >= 1  # the loop can tell it is behind on this camera (edge/camera_unit.py)
        burst = [capture.get(timeout=1) for _ in range(3)]
        assert capture.stats.frames_dropped == 0
        assert [g.seq for g in burst if g is not None] == [first.seq + 1, first.seq + 2, first.seq + 3]
        taken = []
        for _ in range(4):
            grabbed = capture.get(timeout=5)
            assert grabbed is not None
            taken.append(grabbed.seq)
            time.sleep(0.4)  # now a loop slower than the camera, turn after turn
    finally:
        capture.stop()
    assert capture.stats.frames_dropped > 0
    assert capture.stats.frames_read - taken[-1] <= 12  # two kept frames plus those in flight


def test_lossless_mode_hands_over_every_frame_in_order() -> None:
    capture = capture_of(str(require_shared(CLIP)), CaptureConfig(realtime=False), drop_stale=False)
    capture.start()
    seqs = []
    while not capture.finished:
        grabbed = capture.get(timeout=5)
        if grabbed is not None:
            seqs.append(grabbed.seq)
            if len(seqs) % 20 == 0:
                time.sleep(0.05)
    capture.stop()
    assert seqs == list(range(143))
    assert capture.stats.frames_dropped == 0
    assert capture.stats.state is CaptureState.ENDED


def test_stream_cut_and_restored_is_picked_up_again_within_5_s() -> None:
    config = CaptureConfig(read_timeout_s=1.0, open_timeout_s=2.0)
    server = MjpegServer(require_shared(CLIP))
    server.start()
    capture = capture_of(server.url, config)
    capture.start()
    try:
        wait_until(lambda: capture.get(0.5), 10, what="first frame")
        server.stop()
        wait_until(lambda: capture.stats.state is CaptureState.LOST, 10, what="loss noticed")
        time.sleep(3)  # long enough for the back-off to reach its cap
        server.start()
        returned = time.monotonic()
        wait_until(lambda: capture.stats.state is CaptureState.LIVE, 8, what="reconnect")
        recovered_after = time.monotonic() - returned
        before = capture.stats.frames_read
        wait_until(lambda: capture.stats.frames_read > before + 5, 5, what="frames after reconnect")
    finally:
        capture.stop()
        server.stop()
    assert capture.stats.reconnects >= 1
    assert "closed the stream" in capture.stats.last_error or "cannot connect" in capture.stats.last_error
    assert recovered_after < 5.0


def test_stopping_mid_read_closes_a_file_source_on_the_capture_thread_only(monkeypatch) -> None:
    """OpenCV's capture may not be released by one thread while another reads from it (the two
    can hang each other), so stop() leaves a file source to the capture thread to close."""
    from edge.capture.file import FileSource

    closed_on: list[str] = []
    close = FileSource.close

    def recording_close(self: FileSource) -> None:
        closed_on.append(threading.current_thread().name)
        close(self)

    monkeypatch.setattr(FileSource, "close", recording_close)
    for _ in range(10):  # the capture thread is always somewhere in a read: this is a lossy, looped file
        capture = capture_of(str(require_shared(CLIP)), CaptureConfig(realtime=False, loop=True))
        capture.start()
        assert capture.get(timeout=5) is not None
        capture.stop(timeout=10)
        assert capture.stats.state is CaptureState.STOPPED
    assert closed_on and set(closed_on) == {"capture"}


def test_a_capture_asked_to_stop_takes_no_more_frames_and_counts_no_stale_ones() -> None:
    """A service stopping several cameras asks every capture to stop before joining any: frames that
    arrive after the frame loop ended are not stale frames the box failed to keep up with."""
    capture = capture_of(str(require_shared(CLIP)), CaptureConfig(realtime=True))
    capture.start()
    try:
        assert capture.get(timeout=5) is not None
        wait_until(lambda: capture.waiting == 1, timeout=2)
        capture.request_stop()
        read = capture.stats.frames_read
        time.sleep(3 / 11)  # three frame intervals nobody takes from
        assert (capture.stats.frames_read, capture.stats.frames_dropped) == (read, 0)
    finally:
        capture.stop()
