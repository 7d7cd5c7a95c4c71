"""Any URL FFmpeg can open (RTSP, RTMP, HTTP/TS, SRT...), decoded by an ``ffmpeg`` child process.

The child writes YUV4MPEG2 to a pipe: a tiny self-describing format (size in the header,
one ``FRAME`` marker per picture), so no probing is needed. Every read waits with a
deadline, so a silent camera becomes an error after ``read_timeout_s`` instead of a
hang; a decoder that misbehaves is killed with its process, never with the service.

On connecting, FFmpeg decodes the packets it probed and hands them over at once: a burst of
pictures up to a second old. They are read and thrown away, so the first picture the service
sees, and stamps with its arrival time, is current.
"""

from __future__ import annotations

import logging
import os
import re
import select
import shutil
import subprocess
import threading
import time
from collections import deque
from urllib.parse import urlsplit

import cv2
import numpy as np

from edge.capture.base import CaptureError, FrameSource, hide_passwords, register

log = logging.getLogger(__name__)

#: A picture that follows the previous one within this fraction of the camera's frame interval
#: was decoded ahead, not captured (a burst comes as fast as the decoder goes).
BURST_GAP_FRACTION = 0.25
#: At most this many pictures are thrown away per connection (a source faster than real time,
#: say a file served without pacing, is a burst that never ends).
MAX_STALE_PICTURES = 50


#: What a URL given through the concat list may use besides its own scheme (RTSP's RTP over UDP or
#: TCP, TLS, HTTP tunnelling); nothing that reads local files.
NESTED_PROTOCOLS = ("rtp", "srtp", "tcp", "udp", "tls", "http", "https", "httpproxy", "crypto")


def _quoted(text: str) -> str:
    """``text`` as one token of an ffconcat line: single-quoted, a quote as ``'\\''``."""
    return "'" + text.replace("'", "'\\''") + "'"


@register("ffmpeg")
class FfmpegSource(FrameSource):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = bytearray()
        self._errors: deque[str] = deque(maxlen=5)
        self._drain: threading.Thread | None = None
        self._fresh = False  # the next read is the first of this connection
        self.stale_skipped = 0
        self.width = self.height = 0

    def command(self) -> list[str]:
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise CaptureError(f"{self.label}: ffmpeg is not installed (apt-get install ffmpeg)")
        args = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"]
        # Live streams: decide the format from the first second, not from megabytes of a slow stream,
        # and without reading 20 frames to guess a frame rate (pictures are timed on arrival). The
        # probed packets are kept and decoded (no -fflags nobuffer): dropping them would drop the
        # keyframe a camera starts each session with, and the first picture would then wait for the
        # next keyframe, seconds later. The stale pictures they give are skipped in ``read``.
        args += ["-analyzeduration", "1000000", "-probesize", "500000", "-fpsprobesize", "0"]
        if self._secret_url():
            # ``ps`` and /proc/PID/cmdline show every argument to every local user: a URL with a
            # password reaches FFmpeg on stdin instead, as a one-entry concat list (see ``_concat_list``).
            whitelist = ",".join(sorted({"pipe", urlsplit(self.spec).scheme.lower(), *NESTED_PROTOCOLS}))
            args += ["-f", "concat", "-safe", "0", "-protocol_whitelist", whitelist, "-i", "pipe:0"]
        else:
            if self.spec.lower().startswith("rtsp"):
                args += ["-rtsp_transport", self.config.rtsp_transport]
            args += [*self.config.ffmpeg_input_args, "-i", self.spec]
        # Each decoded picture once, as it comes: YUV4MPEG2 is constant-rate, and FFmpeg would
        # otherwise repeat pictures to fill the rate it guessed (30 for an 11 fps camera).
        return [*args, "-an", "-sn", "-fps_mode", "passthrough", "-f", "yuv4mpegpipe", "-pix_fmt", "yuv420p", "-"]

    def _secret_url(self) -> bool:
        return hide_passwords(self.spec) != self.spec

    def _concat_list(self) -> bytes:
        """An ffconcat list naming the URL, with the input options the URL's own demuxer needs.

        ``service.capture.ffmpeg_input_args`` become ``option NAME VALUE`` lines, so they must be
        ``-name value`` pairs of the stream's (demuxer or protocol) options.
        """
        options = [("analyzeduration", "1000000"), ("probesize", "500000"), ("fpsprobesize", "0")]
        if self.spec.lower().startswith("rtsp"):
            options.append(("rtsp_transport", self.config.rtsp_transport))
        extra = self.config.ffmpeg_input_args
        if len(extra) % 2 or not all(name.startswith("-") for name in extra[::2]):
            raise CaptureError(
                f"{self.label}: with a password in the URL, service.capture.ffmpeg_input_args must be"
                " '-name', 'value' pairs (they are handed to FFmpeg with the URL, off the command line)"
            )
        options += [(name[1:], value) for name, value in zip(extra[::2], extra[1::2], strict=True)]
        lines = ["ffconcat version 1.0", f"file {_quoted(self.spec)}"]
        lines += [f"option {_quoted(name)} {_quoted(value)}" for name, value in options]
        return ("\n".join(lines) + "\n").encode()

    def open(self) -> None:
        command = self.command()
        listing = self._concat_list() if self._secret_url() else None
        stdin = subprocess.PIPE if listing else subprocess.DEVNULL
        self._proc = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if listing and self._proc.stdin is not None:
            self._proc.stdin.write(listing)  # a few hundred bytes: fits the pipe, never blocks
            self._proc.stdin.close()
        self._drain = threading.Thread(target=self._drain_errors, args=(self._proc,), daemon=True, name="ffmpeg-stderr")
        self._drain.start()
        header = self._read_until(b"\n", self.config.open_timeout_s, "opening")
        size = re.search(rb" W(\d+) H(\d+)", header)
        if not header.startswith(b"YUV4MPEG2") or size is None:
            raise CaptureError(f"{self.label}: unexpected decoder output {header[:40]!r}")
        self.width, self.height = int(size.group(1)), int(size.group(2))
        self._fresh = True

    def read(self) -> np.ndarray | None:
        planes = self._read_planes()
        if self._fresh:
            self._fresh = False
            planes = self._skip_stale(planes)
        yuv = np.frombuffer(planes, np.uint8).reshape(self.height * 3 // 2, self.width)
        return cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)

    def _read_planes(self) -> bytes:
        marker = self._read_until(b"\n", self.config.read_timeout_s, "waiting for a frame")
        if not marker.startswith(b"FRAME"):
            raise CaptureError(f"{self.label}: lost frame sync in the decoder output")
        return self._read_exact(self.width * self.height * 3 // 2, self.config.read_timeout_s)

    def _skip_stale(self, planes: bytes) -> bytes:
        """The newest of the pictures decoded ahead at connect time (see the module's docstring)."""
        skipped = 0
        gap = BURST_GAP_FRACTION / self.fps if self.fps > 0 else 0.01
        while skipped < MAX_STALE_PICTURES and self._more_ready(gap):
            planes = self._read_planes()
            skipped += 1
        if skipped:
            self.stale_skipped += skipped
            log.info("%s: skipped %d stale pictures decoded on connecting", self.label, skipped)
        return planes

    def _more_ready(self, within: float) -> bool:
        """Whether decoder output is already waiting, or arrives within ``within`` seconds."""
        assert self._proc is not None and self._proc.stdout is not None
        return bool(self._buffer) or bool(select.select([self._proc.stdout.fileno()], [], [], within)[0])

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    # -- reading with deadlines ------------------------------------------------------------------

    def _fill(self, deadline: float, timeout: float, doing: str) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise CaptureError(f"{self.label}: no data for {timeout:.1f} s while {doing}")
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            self._proc.wait(timeout=5)
            if self._drain is not None:
                self._drain.join(timeout=1)  # the decoder's last words (the reason) may still be in the pipe
            reason = " / ".join(self._errors) or f"decoder exited with status {self._proc.returncode}"
            raise CaptureError(f"{self.label}: stream ended while {doing} ({reason})")
        self._buffer += chunk

    def _read_until(self, end: bytes, timeout: float, doing: str) -> bytes:
        deadline = time.monotonic() + timeout
        while (at := self._buffer.find(end)) < 0:
            if len(self._buffer) > 4096:
                raise CaptureError(f"{self.label}: unexpected decoder output while {doing}")
            self._fill(deadline, timeout, doing)
        line = bytes(self._buffer[: at + 1])
        del self._buffer[: at + 1]
        return line

    def _read_exact(self, size: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self._buffer) < size:
            self._fill(deadline, timeout, "reading a frame")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _drain_errors(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for line in iter(proc.stderr.readline, b""):
            # FFmpeg names the input URL as given, password included: errors reach logs and status.
            self._errors.append(hide_passwords(line.decode("utf-8", "replace").strip())[:200])
