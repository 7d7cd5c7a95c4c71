"""Real streams on 127.0.0.1 for capture and service tests: FFmpeg serving the shared clip.

``MjpegServer`` is FFmpeg's own HTTP server (``-listen 1``) sending multipart JPEG, the
way IP cameras do; ``RtspPublisher`` pushes RTSP to a listener (the service's FFmpeg in
``-rtsp_flags listen`` mode), the way a camera configured to push does. Both can be
stopped and started again to cut the stream.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need_ffmpeg() -> str:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg is not installed (scripts/setup-test-env.sh installs it)")
    return ffmpeg


class _FfmpegProcess:
    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MjpegServer(_FfmpegProcess):
    """``http://127.0.0.1:PORT/cam.mjpg``; ``freeze_after_s`` repeats one frame from then on."""

    def __init__(self, video: Path, port: int | None = None, freeze_after_s: float | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/cam.mjpg"
        filters = ["scale=320:-2"]
        if freeze_after_s is not None:
            filters = [
                f"trim=0:{freeze_after_s}",
                "setpts=PTS-STARTPTS",
                "tpad=stop_mode=clone:stop_duration=600",
                *filters,
            ]
        loop = [] if freeze_after_s is not None else ["-stream_loop", "-1"]
        super().__init__(
            [
                need_ffmpeg(),
                "-loglevel",
                "error",
                "-re",
                *loop,
                "-i",
                str(video),
                "-an",
                "-vf",
                ",".join(filters),
                "-c:v",
                "mjpeg",
                "-q:v",
                "6",
                "-f",
                "mpjpeg",
                "-listen",
                "1",
                self.url,
            ]
        )

    def start(self) -> None:
        super().start()
        time.sleep(0.5)  # FFmpeg serves one client: a port probe would be that client, so just wait


class TsServer(_FfmpegProcess):
    """``http://127.0.0.1:PORT/cam.ts``: MPEG-TS over HTTP, pulled like a camera's stream."""

    def __init__(self, video: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/cam.ts"
        super().__init__(
            [need_ffmpeg(), "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(video), "-an",
             "-c:v", "copy", "-f", "mpegts", "-listen", "1", self.url]
        )  # fmt: skip

    def start(self) -> None:
        super().start()
        time.sleep(0.5)


class RtspPublisher(_FfmpegProcess):
    """Pushes the looped clip to ``rtsp://127.0.0.1:PORT/cam``, retrying until a listener accepts."""

    def __init__(self, video: Path, port: int) -> None:
        self.port = port
        self.url = f"rtsp://127.0.0.1:{port}/cam"
        super().__init__(
            [
                need_ffmpeg(),
                "-loglevel",
                "error",
                "-re",
                "-stream_loop",
                "-1",
                "-i",
                str(video),
                "-an",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-g",
                "11",
                "-vf",
                "scale=320:-2",
                "-f",
                "rtsp",
                "-rtsp_transport",
                "tcp",
                self.url,
            ]
        )

    def start(self) -> None:
        # The listener may be between connections: try for a while, as a camera would.
        deadline = time.monotonic() + 15
        while True:
            super().start()
            time.sleep(1.0)
            assert self.proc is not None
            if self.proc.poll() is None or time.monotonic() > deadline:
                return
            self.proc = None


def open_when_listening(make_source, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    """A new source opened, retrying while the FFmpeg server is still starting (connection refused)."""
    from edge.capture import CaptureError

    deadline = time.monotonic() + timeout
    while True:
        source = make_source()
        try:
            source.open()
            return source
        except CaptureError:
            source.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_until(predicate, timeout: float, every: float = 0.1, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")
