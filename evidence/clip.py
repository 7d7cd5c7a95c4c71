"""The short video clip: H.264 MP4 through ffmpeg, or Motion-JPEG AVI through OpenCV when that is missing."""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from evidence.types import BufferedFrame

log = logging.getLogger(__name__)
FFMPEG_TIMEOUT_S = 120


@dataclass(frozen=True)
class ClipInfo:
    """How the clip was made; recorded in the manifest so a fallback is never silent."""

    filename: str
    codec: str  # "h264" or "mjpeg"
    container: str  # "mp4" or "avi"
    encoder: str
    fps: float
    frames: int
    first_frame: int
    last_frame: int
    fallback_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clip_fps(frames: list[BufferedFrame]) -> float:
    if len(frames) < 2 or frames[-1].t <= frames[0].t:
        return 10.0
    return round((len(frames) - 1) / (frames[-1].t - frames[0].t), 3)


def _ffmpeg_h264(frames: list[BufferedFrame], out: Path, fps: float, max_width: int) -> None:
    """Pipe the buffered JPEGs straight into ffmpeg (no decode in Python) and encode H.264."""
    width = f"min({max_width}\\,iw)" if max_width else "iw"
    decode = ["-f", "image2pipe", "-c:v", "mjpeg", "-framerate", f"{fps}", "-i", "-"]
    encode = ["-c:v", "libx264", "-preset", "superfast", "-crf", "23", "-pix_fmt", "yuv420p"]
    even = ["-vf", f"scale=2*trunc({width}/2):-2"]  # yuv420p needs even sides
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *decode, *encode, *even,
           "-movflags", "+faststart", "-f", "mp4", str(out)]  # fmt: skip
    proc = subprocess.run(
        cmd, input=b"".join(f.jpeg for f in frames), capture_output=True, timeout=FFMPEG_TIMEOUT_S
    )
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"ffmpeg exited {proc.returncode}: {tail[0]}")


def _opencv_mjpeg(frames: list[BufferedFrame], out: Path, fps: float, max_width: int) -> None:
    first = cv2.imdecode(np.frombuffer(frames[0].jpeg, np.uint8), cv2.IMREAD_COLOR)
    h, w = first.shape[:2]
    scale = min(1.0, max_width / w) if max_width else 1.0
    size = (round(w * scale), round(h * scale))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot open a Motion-JPEG writer")
    try:
        for frame in frames:
            image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
            writer.write(image if scale == 1.0 else cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    finally:
        writer.release()


def encode_clip(
    frames: list[BufferedFrame], tmp_dir: Path, mode: str = "auto", max_width: int = 0
) -> tuple[Path, ClipInfo] | None:
    """Encode ``frames`` into ``tmp_dir``; returns the file (not yet durable) and how it was made."""
    if not frames or mode == "none":
        return None
    fps = clip_fps(frames)
    span = (len(frames), frames[0].frame_index, frames[-1].frame_index)
    reason = ""
    if mode in ("auto", "ffmpeg"):
        out = tmp_dir / ".clip.part.mp4"
        if shutil.which("ffmpeg") is None:
            reason = "ffmpeg not found on PATH"
        else:
            try:
                _ffmpeg_h264(frames, out, fps, max_width)
                return out, ClipInfo("clip.mp4", "h264", "mp4", "ffmpeg-libx264", fps, *span)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                reason = f"H.264 encoding failed: {exc}"
                out.unlink(missing_ok=True)
        if mode == "ffmpeg":
            raise RuntimeError(reason)
        log.warning("evidence clip falls back to Motion-JPEG AVI: %s", reason)
    out = tmp_dir / ".clip.part.avi"  # OpenCV picks its back-end by the extension
    _opencv_mjpeg(frames, out, fps, max_width)
    return out, ClipInfo("clip.avi", "mjpeg", "avi", "opencv-mjpg", fps, *span, fallback_reason=reason)
