"""A local video file: optionally looped, optionally paced to its frame rate.

Frames carry media time, so a file run is repeatable and matches ``replay`` frame for
frame. With ``capture.realtime`` the file plays like a camera (late frames are dropped
by the capture thread); without it every frame is handed over.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from edge.capture.base import CaptureError, FrameSource, register
from edge.video import VideoError, VideoFile


@register("file")
class FileSource(FrameSource):
    media_time = True
    close_interrupts_read = False  # OpenCV's capture; a file read returns at once anyway

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._frames = None
        self._video: VideoFile | None = None
        self._started = 0.0
        self.frame_fps = self.fps
        self.position = 0  # frames handed out over all passes: the media clock

    def open(self) -> None:
        self._start_pass()
        self._started = time.monotonic()

    def _start_pass(self) -> None:
        if self._video is not None:
            self._video.close()
        try:
            self._video = VideoFile(Path(self.spec), fallback_fps=self.fps)
        except VideoError as exc:
            raise CaptureError(str(exc)) from None
        self.frame_fps = self._video.fps
        self._frames = iter(self._video)

    def read(self) -> np.ndarray | None:
        frame = self._next()
        if frame is None and self.config.loop and self.position:
            self._start_pass()
            frame = self._next()
        if frame is None:
            return None
        if self.config.realtime:
            delay = self._started + self.position / self.frame_fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        self.position += 1
        return frame

    def _next(self) -> np.ndarray | None:
        assert self._frames is not None
        try:
            return next(self._frames).image
        except StopIteration:
            return None
        except VideoError as exc:
            raise CaptureError(str(exc)) from None

    @property
    def media_t(self) -> float:
        """Media time of the frame last read."""
        return (self.position - 1) / self.frame_fps

    def close(self) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None
