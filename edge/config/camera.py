"""Camera section: where frames come from."""

from __future__ import annotations

from pydantic import Field

from edge.config.base import StrictModel


class CameraConfig(StrictModel):
    id: str = Field("cam1", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="Camera id within the site")
    source: str = Field("", description="RTSP/HTTP URL, /dev/videoN, or a file path; empty when only replay is used")
    fps: float = Field(15.0, gt=0, le=120, description="Nominal frame rate of the source")
