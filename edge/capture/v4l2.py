"""A local camera through Video4Linux2 (``/dev/videoN``, ``N`` or ``v4l2:///dev/videoN``)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge.capture.base import CaptureError, FrameSource, register


@register("v4l2")
class V4l2Source(FrameSource):
    close_interrupts_read = False  # OpenCV's capture; its reads end at CAP_PROP_READ_TIMEOUT_MSEC

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._cap: cv2.VideoCapture | None = None

    @property
    def device(self) -> str:
        spec = self.spec.removeprefix("v4l2://")
        return f"/dev/video{spec}" if spec.isdigit() else spec

    def open(self) -> None:
        if not Path(self.device).exists():
            raise CaptureError(f"{self.device}: no such camera device (is it plugged in, is the driver loaded?)")
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.config.open_timeout_s * 1000)]
        params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.config.read_timeout_s * 1000)]
        if self.config.width and self.config.height:
            params += [
                cv2.CAP_PROP_FRAME_WIDTH,
                self.config.width,
                cv2.CAP_PROP_FRAME_HEIGHT,
                self.config.height,
            ]
        self._cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2, params)
        if not self._cap.isOpened():
            raise CaptureError(
                f"{self.device}: cannot open the camera (busy, or no permission: add the user to 'video')"
            )
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest picture, not a queue of old ones

    def read(self) -> np.ndarray | None:
        assert self._cap is not None
        ok, image = self._cap.read()
        if not ok or image is None:
            raise CaptureError(f"{self.device}: the camera stopped delivering frames")
        return image

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
