"""HTTP MJPEG (``multipart/x-mixed-replace``), the stream most IP cameras and webcams serve.

Read directly over one HTTP connection: each part is one JPEG, found by its
``Content-Length`` header when the camera sends one, else by the JPEG end marker.
Socket timeouts turn a silent camera into an error instead of a hang.
"""

from __future__ import annotations

import base64
import http.client
import re
import time
from urllib.parse import urlsplit

import cv2
import numpy as np

from edge.capture.base import CaptureError, FrameSource, register

MAX_PART_BYTES = 32 * 1024 * 1024  # a bigger "JPEG" is a broken stream, not a picture


@register("mjpeg")
class MjpegSource(FrameSource):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._conn: http.client.HTTPConnection | None = None
        self._response: http.client.HTTPResponse | None = None

    def open(self) -> None:
        url = urlsplit(self.spec)
        conn_cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        self._conn = conn_cls(url.hostname or "", url.port, timeout=self.config.open_timeout_s)
        headers = {"Accept": "multipart/x-mixed-replace, image/jpeg"}
        if url.username:
            token = base64.b64encode(f"{url.username}:{url.password or ''}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        try:
            self._conn.request("GET", path, headers=headers)
            self._response = self._conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise CaptureError(f"{self.label}: cannot connect ({exc or type(exc).__name__})") from None
        if self._response.status != 200:
            raise CaptureError(f"{self.label}: HTTP {self._response.status} {self._response.reason}")
        if self._conn.sock is not None:
            self._conn.sock.settimeout(self.config.read_timeout_s)

    def read(self) -> np.ndarray | None:
        assert self._response is not None
        try:
            data = self._next_part()
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise CaptureError(f"{self.label}: stream lost ({exc or type(exc).__name__})") from None
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise CaptureError(f"{self.label}: a part of the stream is not a decodable JPEG")
        return image

    def _next_part(self) -> bytes:
        """Skip to the next part's headers, then read its body."""
        assert self._response is not None
        deadline = time.monotonic() + self.config.read_timeout_s
        length: int | None = None
        seen_headers = False
        while True:
            if time.monotonic() > deadline:
                raise CaptureError(f"{self.label}: no picture for {self.config.read_timeout_s:.1f} s")
            line = self._response.readline(8192)
            if not line:
                raise CaptureError(f"{self.label}: the camera closed the stream")
            text = line.strip()
            match = re.match(rb"content-length:\s*(\d+)", text, re.IGNORECASE)
            if match:
                length = int(match.group(1))
            elif text.lower().startswith(b"content-type"):
                seen_headers = True
            elif not text and (seen_headers or length is not None):
                break  # blank line ends the part headers
        if length is not None:
            if length > MAX_PART_BYTES:
                raise CaptureError(f"{self.label}: part of {length} bytes is too large")
            return self._response.read(length)
        return self._read_to_jpeg_end()

    def _read_to_jpeg_end(self) -> bytes:
        assert self._response is not None
        data = bytearray()
        while not data.endswith(b"\xff\xd9"):
            chunk = self._response.read(1)
            if not chunk or len(data) > MAX_PART_BYTES:
                raise CaptureError(f"{self.label}: stream ended inside a picture")
            data += chunk
        return bytes(data)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = self._response = None
