"""Real streams on 127.0.0.1 for capture and service tests, each serving the shared clip.

``MjpegServer`` is FFmpeg's own HTTP server (``-listen 1``) sending multipart JPEG, the
way IP cameras do; ``RtspPublisher`` pushes RTSP to a listener (the service's FFmpeg in
``-rtsp_flags listen`` mode), the way a camera configured to push does; ``RtspServer`` is
GStreamer's RTSP server (FFmpeg cannot serve RTSP to a client), pulled from as an IP camera
is. Each can be stopped and started again to cut the stream.
"""

from __future__ import annotations

import functools
import os
import select
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import in_ci


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


SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with gi; the venv has no GStreamer bindings
RTSP_SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")


@functools.cache
def _rtsp_server_problem() -> str:
    """Why GStreamer's RTSP server cannot run here ("" when it can)."""
    try:
        check = subprocess.run(
            [SYSTEM_PYTHON, str(RTSP_SERVER_SCRIPT), "--check"], capture_output=True, text=True, timeout=30
        )
    except OSError as exc:
        return f"{SYSTEM_PYTHON}: {exc}"
    if check.returncode == 0:
        return ""
    lines = check.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {check.returncode}"


def need_rtsp_server() -> None:
    """Skip without GStreamer's RTSP server for ``/usr/bin/python3``; fail under CI, which must have it."""
    problem = _rtsp_server_problem()
    if problem:
        message = (
            f"GStreamer's RTSP server cannot run ({problem}); scripts/setup-test-env.sh installs "
            "gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
        )
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def looped_clip(video: Path, folder: Path, loops: int) -> Path:
    """``video`` played ``loops`` times over as one MP4 in ``folder``: video stream copied, no audio."""
    out = folder / f"{video.stem}-x{loops}.mp4"
    if not out.exists():
        subprocess.run(
            [need_ffmpeg(), "-loglevel", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(video),
             "-an", "-c:v", "copy", "-f", "mp4", str(out)],
            check=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    return out


class RtspServer:
    """``rtsp://127.0.0.1:PORT/cam`` from GStreamer's RTSP server: a camera the service pulls from.

    Serves the clip's H.264 as it is, from the start to each new client; the clip is first played
    ``loops`` times over into ``folder`` (by stream copy) so one connection lasts long enough.
    ``stop`` kills the server, cutting the stream as a camera losing power does; ``start`` brings
    it back on the same port and returns the monotonic time it was listening again.
    """

    def __init__(
        self, video: Path, folder: Path, port: int | None = None, loops: int = 5, login: tuple[str, str] | None = None
    ) -> None:
        need_rtsp_server()
        self.port = port or free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/cam"
        self.login = login  # (user, password) the server demands, as a camera with a password does
        self.video = looped_clip(video, folder, loops)
        self.log = folder / f"rtsp-server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_at: float | None = None

    def start(self, timeout: float = 15.0) -> float:
        deadline = time.monotonic() + timeout
        while True:  # the port may still be held for a moment by the server just killed
            with self.log.open("ab") as log:
                script = [SYSTEM_PYTHON, str(RTSP_SERVER_SCRIPT), "--port", str(self.port), "--video", str(self.video)]
                user = ["--user", self.login[0]] if self.login else []
                self.proc = subprocess.Popen(
                    [*script, *user],
                    stdin=subprocess.PIPE if self.login else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                )  # fmt: skip
                if self.login and self.proc.stdin is not None:
                    self.proc.stdin.write(f"{self.login[1]}\n".encode())
                    self.proc.stdin.close()
            line = self._ready_line(deadline)
            if line.startswith(b"listening "):
                self.ready_at = time.monotonic()
                return self.ready_at
            self.stop()
            if time.monotonic() > deadline:
                pytest.fail(f"RTSP server did not start on port {self.port}: {self.log.read_text()[-1000:]}")
            time.sleep(0.2)

    def _ready_line(self, deadline: float) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        fd, line = self.proc.stdout.fileno(), b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                break
            chunk = os.read(fd, 256)
            if not chunk:
                break  # exited before listening
            line += chunk
        return line

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()

    def __enter__(self) -> RtspServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
