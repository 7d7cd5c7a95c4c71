"""Tracker section: ByteTrack parameters."""

from __future__ import annotations

from pydantic import Field

from edge.config.base import StrictModel


class TrackerConfig(StrictModel):
    high_threshold: float = Field(0.5, gt=0, le=1, description="Score above which a detection starts/continues a track")
    low_threshold: float = Field(0.1, gt=0, le=1, description="Score above which a detection may continue a track")
    new_track_threshold: float = Field(0.6, gt=0, le=1, description="Score needed to start a new track")
    match_iou: float = Field(0.2, gt=0, le=1, description="Minimum IoU for the first association")
    lost_seconds: float = Field(1.5, gt=0, le=30, description="How long a lost track is kept for re-association")
    appearance_weight: float = Field(
        1.0, ge=0, le=5, description="Weight of the torso colour distance added to the IoU distance (0 = boxes only)"
    )
    appearance_margin: float = Field(
        0.2, ge=0, le=1, description="Extra cost allowed per unit of appearance weight when colours are compared"
    )
