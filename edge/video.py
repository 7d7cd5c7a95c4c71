"""Reading recorded video frame by frame, and writing annotated video."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

# FFmpeg inside OpenCV prints its own decoder complaints to stderr; we report every
# failure ourselves in one line naming the file. Set the variable to 24 to see them.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2
import numpy as np

from edge.pipeline import Frame


class VideoError(RuntimeError):
    """A video that cannot be opened or that fails part-way; the message names the file."""


class VideoFile:
    """Frames of a video file with media time ``t = index / fps`` (exact and repeatable).

    ``utc`` is ``start_utc + t``. A file that stops before its announced frame count is
    reported as truncated once the frames that could be read have been yielded.
    """

    def __init__(self, path: str | Path, start_utc: float = 0.0, fallback_fps: float = 15.0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: video file not found")
        if cv2.haveImageReader(str(self.path)):  # by content: FFmpeg would play it as a one-frame video
            raise VideoError(f"{self.path}: is a still picture, not a video")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise VideoError(f"{self.path}: cannot open as video (unknown format or corrupt file)")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and np.isfinite(fps) and 0 < fps <= 240 else fallback_fps
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.start_utc = start_utc
        ok, first = self._cap.read()
        if not ok or first is None:
            raise VideoError(f"{self.path}: no decodable frame (corrupt or empty video)")
        self._first: np.ndarray | None = first

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        while True:
            if self._first is not None:
                image, self._first = self._first, None
            else:
                ok, image = self._cap.read()
                if not ok or image is None:
                    break
            t = index / self.fps
            yield Frame(index, t, self.start_utc + t, image)
            index += 1
        self._cap.release()
        # Containers may over-announce by a frame or two; a larger gap is a broken file.
        if self.frame_count and index < self.frame_count - 2:
            raise VideoError(
                f"{self.path}: video ended unexpectedly after frame {index} of {self.frame_count}"
                " (truncated or corrupt)"
            )

    def close(self) -> None:
        self._cap.release()


class VideoWriter:
    """H.264 MP4 through ffmpeg when it is installed (plays in browsers), else OpenCV's MPEG-4."""

    def __init__(self, path: str | Path, fps: float, width: int, height: int) -> None:
        self.path = Path(path)
        self.codec = "h264"
        ffmpeg = shutil.which("ffmpeg")
        self._proc: subprocess.Popen[bytes] | None = None
        self._cv: cv2.VideoWriter | None = None
        if ffmpeg:
            self._proc = subprocess.Popen(
                [
                    ffmpeg,
                    "-loglevel",
                    "error",
                    "-y",
                    "-f",
                    "rawvideo",
                    "-pix_fmt",
                    "bgr24",
                    "-s",
                    f"{width}x{height}",
                    "-r",
                    f"{fps:.6f}",
                    "-i",
                    "-",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    "-crf",
                    "23",
                    "-pix_fmt",
                    "yuv420p",
                    "-movflags",
                    "+faststart",
                    str(self.path),
                ],
                stdin=subprocess.PIPE,
            )
        else:
            self.codec = "mp4v"
            self._cv = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))

    def write(self, image: np.ndarray) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.write(np.ascontiguousarray(image).tobytes())
        elif self._cv is not None:
            self._cv.write(image)

    def close(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()
            if self._proc.wait(timeout=120) != 0:
                raise VideoError(f"{self.path}: ffmpeg failed to encode the video")
        elif self._cv is not None:
            self._cv.release()
