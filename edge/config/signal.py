"""Signal section: where the box learns each signal group's state."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field

from edge.config.base import StrictModel


class TimelineSourceConfig(StrictModel):
    type: Literal["timeline"] = "timeline"
    path: Path = Field(..., description="CSV or JSON file of (t, group, state); t in seconds from the video start")
    start_time: str | None = Field(
        None, description="ISO time of the video's first frame, when the timeline uses ISO times"
    )


SignalSourceConfig = Annotated[Union[TimelineSourceConfig], Field(discriminator="type")]  # noqa: UP007


class SignalConfig(StrictModel):
    sources: list[SignalSourceConfig] = Field(
        default_factory=list, description="Sources in priority order; the first healthy one wins"
    )
