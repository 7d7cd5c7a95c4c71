"""Frozen and blank pictures are recognised on real frames; a live street is not."""

from __future__ import annotations

import itertools

import numpy as np

from edge.capture.picture import PictureMonitor, PictureState
from edge.config.service import PictureCheckConfig
from edge.video import VideoFile
from tests.conftest import require_shared


def clip_frames(limit: int = 60) -> list[np.ndarray]:
    video = VideoFile(require_shared("video/crosswalk_elevated_fixed.mp4"))
    frames = [f.image for f in itertools.islice(video, limit)]
    video.close()
    return frames


def test_a_live_street_is_ok_on_every_frame() -> None:
    monitor = PictureMonitor(PictureCheckConfig(frozen_after_s=0.5))
    states = {monitor.check(image, i / 11).state for i, image in enumerate(clip_frames())}
    assert states == {PictureState.OK}


def test_a_repeated_frame_is_frozen_after_the_configured_time_and_recovers() -> None:
    frames = clip_frames(20)
    monitor = PictureMonitor(PictureCheckConfig(frozen_after_s=2.0))
    t = 0.0
    for image in frames[:10]:
        monitor.check(image, t)
        t += 0.1
    stuck = frames[9]
    checks = []
    for _ in range(30):  # the stream keeps delivering the same picture for 3 s
        checks.append(monitor.check(stuck.copy(), t))
        t += 0.1
    assert checks[10].state is PictureState.OK  # 1 s: not yet
    assert checks[-1].state is PictureState.FROZEN
    assert checks[-1].since is not None and checks[-1].since < t - 2.0
    assert monitor.check(frames[15], t).state is PictureState.OK


def test_black_and_covered_pictures_are_blank() -> None:
    image = clip_frames(1)[0]
    monitor = PictureMonitor(PictureCheckConfig())
    assert monitor.check(np.zeros_like(image), 0.0).state is PictureState.UNIFORM
    grey = np.full_like(image, 128) + np.random.default_rng(1).integers(0, 2, image.shape, dtype=np.uint8)
    assert monitor.check(grey, 0.1).state is PictureState.UNIFORM
    assert monitor.check(image, 0.2).state is PictureState.OK
