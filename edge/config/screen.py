"""The public warning screen at the crossing (``web.screen``): a kiosk page served without login."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.config.base import StrictModel


class ScreenConfig(StrictModel):
    enabled: bool = Field(False, description="Serve /screen and its stream without login; off: both answer 404")
    language: Literal["en", "zh-CN"] = Field("en", description="Language of the screen's texts")
    blur: bool = Field(
        True,
        description="Blur every person in the violation pictures and shrink the picture so nobody is recognisable; "
        "show people unblurred only where the law allows it",
    )
    recent: int = Field(4, ge=0, le=12, description="How many of today's latest violations are shown")
    warning_s: float = Field(8.0, gt=0, le=120, description="Seconds the live warning stays up after a violation")
    picture_width: int = Field(480, ge=160, le=1920, description="Width the violation pictures are shrunk to (px)")
