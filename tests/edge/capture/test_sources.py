"""Each frame source against a real input: the shared clip as a file, as MJPEG over HTTP, as RTSP
pushed to the source and pulled from an RTSP server."""

from __future__ import annotations

import itertools
import threading
import time
from contextlib import ExitStack as DoesNotRaise
from pathlib import Path

import pytest

from edge.capture import CaptureError, open_source
from edge.capture.base import resolve_spec, source_kind
from edge.config.service import CaptureConfig
from tests.conftest import require_shared
from tests.edge.streams import MjpegServer, RtspPublisher, RtspServer, TsServer, free_port, open_when_listening

CLIP = "video/crosswalk_elevated_fixed.mp4"


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("rtsp://user:pw@10.0.0.5:554/stream1", "ffmpeg"),
        ("rtmp://127.0.0.1/live/cam", "ffmpeg"),
        ("http://127.0.0.1:8080/video.ts", "ffmpeg"),
        ("http://127.0.0.1:8080/cam.mjpg", "mjpeg"),
        ("http://cam.local/axis-cgi/mjpg/video.cgi", "mjpeg"),
        ("/dev/video0", "v4l2"),
        ("2", "v4l2"),
        ("v4l2:///dev/video1", "v4l2"),
        ("clips/crossing.mp4", "file"),
    ],
)
def test_source_kind_follows_the_shape_of_camera_source(spec: str, kind: str) -> None:
    assert source_kind(spec) == kind


def test_password_in_url_is_hidden_in_logs() -> None:
    source = open_source("rtsp://admin:secret@127.0.0.1:554/s1", CaptureConfig(), 15)
    assert source.label == "rtsp://admin:***@127.0.0.1:554/s1"


def test_relative_file_is_relative_to_the_site_file(tmp_path) -> None:
    assert resolve_spec("clip.mp4", tmp_path) == str(tmp_path / "clip.mp4")
    assert resolve_spec("rtsp://127.0.0.1/x", tmp_path) == "rtsp://127.0.0.1/x"


def test_file_source_gives_every_frame_with_media_time_and_loops() -> None:
    clip = require_shared(CLIP)
    source = open_source(str(clip), CaptureConfig(realtime=False, loop=True), 11.0)
    source.open()
    times = []
    for _ in range(150):  # the clip has 143 frames: this crosses the loop point
        assert source.read() is not None
        times.append(source.media_t)  # type: ignore[attr-defined]
    source.close()
    assert times[0] == 0.0
    assert all(b > a for a, b in itertools.pairwise(times))  # media time keeps rising across the loop
    assert times[143] == pytest.approx(143 / source.frame_fps)  # type: ignore[attr-defined]


def test_file_source_ends_without_loop() -> None:
    source = open_source(str(require_shared(CLIP)), CaptureConfig(realtime=False), 11.0)
    source.open()
    count = 0
    while source.read() is not None:
        count += 1
    source.close()
    assert count == 143


@pytest.mark.parametrize(
    ("spec", "message", "expectation"),
    [
        ("/dev/video99", "/dev/video99: no such camera device", pytest.raises(CaptureError)),
        ("/nonexistent/clip.mp4", "video file not found", pytest.raises(CaptureError)),
        ("http://127.0.0.1:{port}/cam.mjpg", "cannot connect", pytest.raises(CaptureError)),
        ("http://127.0.0.1:{port}/cam.ts", "stream ended while opening", pytest.raises(CaptureError)),
    ],
)
def test_unopenable_source_names_itself_and_the_reason(spec, message, expectation) -> None:
    source = open_source(spec.format(port=free_port()), CaptureConfig(open_timeout_s=3), 15)
    with expectation as raised:
        source.open()
    source.close()
    assert message in str(raised.value)


def test_mjpeg_over_http_from_ffmpeg_server() -> None:
    with MjpegServer(require_shared(CLIP)) as server:
        source = open_when_listening(lambda: open_source(server.url, CaptureConfig(), 11.0))
        assert source.key == "mjpeg"
        images = [source.read() for _ in range(10)]
        server.stop()
        with pytest.raises(CaptureError, match=r"closed the stream|stream lost"):
            while True:
                source.read()
        source.close()
    assert all(img is not None and img.shape == (176, 320, 3) for img in images)


def test_rtsp_pushed_by_a_camera_into_a_listening_source() -> None:
    port = free_port()
    publisher = RtspPublisher(require_shared(CLIP), port)
    config = CaptureConfig(ffmpeg_input_args=["-rtsp_flags", "listen"], open_timeout_s=20)
    source = open_source(publisher.url, config, 11.0)
    pushing = threading.Thread(target=publisher.start)
    with DoesNotRaise() as stack:
        stack.callback(publisher.stop)
        stack.callback(source.close)
        pushing.start()
        source.open()
        images = [source.read() for _ in range(5)]
        pushing.join()
    assert (source.width, source.height) == (320, 176)  # type: ignore[attr-defined]
    assert all(img is not None and img.shape == (176, 320, 3) for img in images)


def test_ffmpeg_url_pulled_from_an_http_mpegts_server() -> None:
    with TsServer(require_shared(CLIP)) as server:
        config = CaptureConfig(open_timeout_s=15)  # the server is the clip itself: slow to start
        source = open_when_listening(lambda: open_source(server.url, config, 11.0))
        assert source.key == "ffmpeg"
        images = [source.read() for _ in range(5)]
        source.close()
    assert all(img is not None and img.shape == (352, 640, 3) for img in images)


def test_rtsp_pulled_from_an_rtsp_server_as_from_an_ip_camera(tmp_path) -> None:
    with RtspServer(require_shared(CLIP), tmp_path) as server:
        source = open_source(server.url, CaptureConfig(open_timeout_s=10), 11.0)
        assert source.key == "ffmpeg"
        try:
            source.open()
            images, arrivals = [], []
            for _ in range(10):
                images.append(source.read())
                arrivals.append(time.monotonic())
        finally:
            source.close()
    assert (source.width, source.height) == (640, 352)  # type: ignore[attr-defined]
    assert all(img is not None and img.shape == (352, 640, 3) for img in images)
    # The pictures FFmpeg decoded from its probe came as a burst and were skipped: from the first
    # picture on, they arrive at the camera's pace (11 fps, ~90 ms apart), not back to back:
    # nine gaps span about 0.8 s (a burst takes a few ms). Judged over the whole run, since on a
    # loaded machine one late picture is followed by one that comes sooner.
    assert source.stale_skipped > 0  # type: ignore[attr-defined]
    assert arrivals[-1] - arrivals[0] > 0.4


def test_camera_password_never_reaches_the_ffmpeg_command_line(tmp_path) -> None:
    password = "s3cret-Pa55"
    with RtspServer(require_shared(CLIP), tmp_path, login=("viewer", password)) as server:
        bare = open_source(server.url, CaptureConfig(open_timeout_s=10), 11.0)
        with pytest.raises(CaptureError, match="401 Unauthorized"):
            bare.open()  # the server really demands the password
        bare.close()
        url = server.url.replace("rtsp://", f"rtsp://viewer:{password}@")
        source = open_source(url, CaptureConfig(open_timeout_s=10), 11.0)
        try:
            source.open()
            images = [source.read() for _ in range(5)]
            proc = source._proc  # type: ignore[attr-defined]
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{proc.pid}/environ").read_bytes()
        finally:
            source.close()
    assert all(img is not None and img.shape == (352, 640, 3) for img in images)
    assert source.stale_skipped > 0  # type: ignore[attr-defined]  # the connect burst is still skipped
    assert b"ffmpeg" in cmdline and b"pipe:0" in cmdline
    assert password.encode() not in cmdline and password.encode() not in environ
    with RtspServer(require_shared(CLIP), tmp_path, login=("viewer", password)) as server:
        wrong = open_source(f"rtsp://viewer:wrong@127.0.0.1:{server.port}/cam", CaptureConfig(open_timeout_s=10), 11.0)
        with pytest.raises(CaptureError) as raised:
            wrong.open()
        wrong.close()
    assert "401 Unauthorized" in str(raised.value) and "viewer:***@" in str(raised.value)
    assert "wrong" not in str(raised.value)


def test_rtsp_path_the_server_does_not_have_is_a_clear_error(tmp_path) -> None:
    with RtspServer(require_shared(CLIP), tmp_path) as server:
        url = f"rtsp://admin:secret@127.0.0.1:{server.port}/stream9"
        source = open_source(url, CaptureConfig(open_timeout_s=10), 11.0)
        started = time.monotonic()
        with pytest.raises(CaptureError) as raised:
            source.open()
        took = time.monotonic() - started
        source.close()
    message = str(raised.value)
    assert message.startswith(f"rtsp://admin:***@127.0.0.1:{server.port}/stream9: stream ended while opening")
    assert "404 Not Found" in message
    assert "secret" not in message  # FFmpeg's own error line names the URL too
    assert took < 5  # the answer, not the open timeout
