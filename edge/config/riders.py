"""Riders: people on bicycles and motorcycles are detected as persons but are not pedestrians."""

from __future__ import annotations

from pydantic import Field, field_validator

from edge.config.base import StrictModel

BICYCLE, MOTORCYCLE = 1, 3  # COCO-80 ids


class RidersConfig(StrictModel):
    """How a person is recognised as riding a vehicle (detection/riders.py)."""

    enabled: bool = Field(
        True,
        description="Keep bicycle/motorcycle boxes and never record a person riding one as a pedestrian: "
        "a cyclist passing through the crosswalk on DON'T WALK has the vehicles' green",
    )
    vehicle_classes: list[int] = Field(
        [BICYCLE, MOTORCYCLE],
        min_length=1,
        description="COCO ids of the vehicles people ride (1 = bicycle, 3 = motorcycle); "
        "e-scooters have no COCO class, so their riders still count as pedestrians",
    )
    min_overlap: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Fraction of the person's box width that must lie over the vehicle box (with their feet "
        "within its height): a rider sits over the vehicle, someone walking past it lines up only partly",
    )
    confirm_s: float = Field(
        0.3,
        gt=0,
        le=5,
        description="Seconds over a vehicle that make a rider, and seconds without that undo it: the vehicle must "
        "move with the person (a bicycle passing someone lines up with them only for a moment), and one missed "
        "vehicle box does not turn a rider into a pedestrian",
    )

    @field_validator("vehicle_classes")
    @classmethod
    def _not_people(cls, value: list[int]) -> list[int]:
        if any(v < 0 for v in value):
            raise ValueError("COCO class ids are 0 or more")
        if 0 in value:
            raise ValueError("class 0 is person, not a vehicle")
        return sorted(set(value))
