"""The frame-source interface and the registry that maps a ``camera.source`` to a source class."""

from __future__ import annotations

import importlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, TypeVar

import numpy as np

from edge.config.service import CaptureConfig
from edge.ops.logs import hide_passwords


class CaptureError(RuntimeError):
    """A source that cannot be opened or stopped delivering; the message names the source."""


class FrameSource(ABC):
    """One connection to a camera or file. ``read`` blocks for the next picture.

    A source is opened once per connection: after a failure the capture thread closes it
    and builds a new one, so implementations keep no reconnect logic of their own.
    """

    key: ClassVar[str]
    #: Frames carry media time (index / fps) instead of capture time: files, so runs repeat.
    media_time: ClassVar[bool] = False
    #: ``close`` may be called from another thread to end a ``read`` blocked on a silent source.
    #: Not so for OpenCV's captures: releasing one while it reads can hang both threads.
    close_interrupts_read: ClassVar[bool] = True

    def __init__(self, spec: str, config: CaptureConfig, fps: float) -> None:
        self.spec = spec
        self.config = config
        self.fps = fps

    @abstractmethod
    def open(self) -> None:
        """Connect; raise CaptureError naming the source and the reason."""

    @abstractmethod
    def read(self) -> np.ndarray | None:
        """The next BGR picture; None at the end of a file; CaptureError when the source is lost."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; safe to call twice."""

    @property
    def label(self) -> str:
        """The source for logs and status, with any password in the URL hidden."""
        return hide_passwords(self.spec)


S = TypeVar("S", bound=type[FrameSource])
SOURCES: dict[str, type[FrameSource]] = {}
SOURCE_MODULES = {
    "ffmpeg": "edge.capture.ffmpeg",
    "mjpeg": "edge.capture.mjpeg",
    "v4l2": "edge.capture.v4l2",
    "file": "edge.capture.file",
}


def register(key: str) -> Callable[[S], S]:
    def add(cls: S) -> S:
        cls.key = key
        SOURCES[key] = cls
        return cls

    return add


def source_kind(spec: str) -> str:
    """Which source handles ``spec``: MJPEG for http(s) URLs that say so, FFmpeg for other URLs."""
    lowered = spec.lower()
    if lowered.startswith(("http://", "https://")) and re.search(r"mjpe?g|\.cgi|action=stream", lowered):
        return "mjpeg"
    if re.match(r"^[a-z][a-z0-9+.-]*://", lowered):
        return "v4l2" if lowered.startswith("v4l2://") else "ffmpeg"
    if lowered.startswith("/dev/video") or spec.isdigit():
        return "v4l2"
    return "file"


def resolve_spec(spec: str, base: Path | None) -> str:
    """A relative file path in the site file is relative to the site file's folder."""
    if source_kind(spec) == "file" and base is not None and not Path(spec).is_absolute():
        return str((base / spec).resolve())
    return spec


def open_source(spec: str, config: CaptureConfig, fps: float, kind: str | None = None) -> FrameSource:
    """Build (not yet open) the source for ``camera.source``."""
    if not spec:
        raise CaptureError("camera.source is empty: set an RTSP/HTTP URL, /dev/videoN or a video file")
    kind = kind or source_kind(spec)
    importlib.import_module(SOURCE_MODULES[kind])
    return SOURCES[kind](spec, config, fps)
