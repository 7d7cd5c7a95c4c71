"""Crosswalk section: zones in normalised image coordinates and the rule parameters."""

from __future__ import annotations

from enum import Enum

from pydantic import Field, field_validator, model_validator

from edge.config.base import StrictModel

Point = tuple[float, float]


def _polygon(points: list[Point], name: str) -> list[Point]:
    if len(points) < 3:
        raise ValueError(f"{name} needs at least 3 points, got {len(points)}")
    for x, y in points:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(f"{name} point ({x}, {y}) lies outside the picture: coordinates are fractions 0..1")
    area2 = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True))
    if abs(area2) < 1e-6:
        raise ValueError(f"{name} has no area")
    return points


class Curb(StrictModel):
    name: str = Field(..., min_length=1, description="Name of this end, used in directions, e.g. 'north'")
    polygon: list[Point] = Field(..., description="Waiting area at this end, normalised (x, y) points")

    @field_validator("polygon")
    @classmethod
    def _valid_polygon(cls, v: list[Point]) -> list[Point]:
        return _polygon(v, "curb polygon")


class ClearancePolicy(str, Enum):
    ALLOW = "allow"
    VIOLATION = "violation"


class RuleConfig(StrictModel):
    grace_s: float = Field(1.0, ge=0, le=30, description="Seconds after DON'T WALK begins before entries are enforced")
    inertia_frames: int = Field(3, ge=1, le=30, description="Consecutive frames needed to switch zone")
    min_penetration: float = Field(
        0.15, ge=0, le=1, description="Fraction of the crosswalk depth a person must walk in to count as crossing"
    )
    clearance: ClearancePolicy = Field(
        ClearancePolicy.ALLOW, description="Whether entering during CLEARANCE (flashing) is a violation"
    )
    id_switch_window_s: float = Field(
        2.0, ge=0, le=30, description="A new track starting near a track lost this recently is the same person"
    )
    id_switch_radius: float = Field(
        0.06, ge=0, le=1, description="How near (fraction of the picture diagonal) counts as the same person"
    )
    track_timeout_s: float = Field(3.0, gt=0, le=120, description="Forget a track unseen for this long")
    repeat_window_s: float = Field(
        5.0,
        ge=0,
        le=60,
        description="Re-entering from the same curb near the same spot this soon after the previous entry is the "
        "same crossing: hesitating at the curb edge (a step in, a step back, in again) takes a few seconds, while "
        "someone who comes back later, or walks back across, is crossing again",
    )
    repeat_radius: float = Field(
        0.3,
        ge=0,
        le=2,
        description="How near the previous entry point (fraction of the crosswalk's depth) a re-entry must be to be "
        "the same crossing: someone hesitating at the curb edge stays within a step or two of where they stepped in",
    )
    turn_around_s: float = Field(
        1.0,
        ge=0,
        le=10,
        description="A person who has just crossed to a curb and steps back in from it is walking back only once "
        "they could have stopped and turned round, which takes a step or two: a step back in confirmed sooner than "
        "this after arriving waits until then. Feet that seem to cross back at once are the box's, not the "
        "person's (in a crowd the detector draws one box from a far person's head to the legs of someone passing "
        "in front)",
    )
    feet_cut_ratio: float = Field(
        0.8,
        ge=0,
        le=1,
        description="A box shorter than this fraction of the same person's height over the last second has its "
        "bottom cut off (legs hidden by a bag, a bicycle or someone in front): its bottom is not where the feet are, "
        "so it neither moves the person between zones nor confirms a crossing. A walking person's box changes "
        "height by a few per cent from frame to frame",
    )
    min_penetration_heights: float = Field(
        0.07,
        ge=0,
        le=1,
        description="The way walked in must also reach this fraction of the person's own box height: box bottoms "
        "jitter by a few per cent of it, which on a thin crosswalk is more than min_penetration of its depth",
    )
    curb_edge_margin: float = Field(
        0.1,
        ge=0,
        le=0.5,
        description="Fraction of the crosswalk's depth next to a curb that is that curb's edge: a track first seen on "
        "a curb or this close to it and walking away from it stepped in from it (trackers start a track a few "
        "frames late, often just after a person turned on the curb)",
    )


class CrosswalkConfig(StrictModel):
    id: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="Crosswalk id within the site")
    signal_group: str = Field(..., min_length=1, description="Signal group that governs this crosswalk")
    polygon: list[Point] = Field(..., description="The crosswalk, normalised (x, y) points")
    curbs: tuple[Curb, Curb] = Field(..., description="The two waiting areas, one per end")
    rules: RuleConfig = Field(default_factory=RuleConfig)
    camera: str | None = Field(
        None, min_length=1, description="Id of the camera that watches it; required when the site has several"
    )

    @field_validator("polygon")
    @classmethod
    def _valid_polygon(cls, v: list[Point]) -> list[Point]:
        return _polygon(v, "crosswalk polygon")

    @model_validator(mode="after")
    def _distinct_curbs(self) -> CrosswalkConfig:
        if self.curbs[0].name == self.curbs[1].name:
            raise ValueError(f"curbs[0].name and curbs[1].name are both '{self.curbs[0].name}'; name each end")
        return self
