"""Actuators section: warning messages, when to warn, and the output devices."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BeforeValidator, Field, model_validator

from actuators.devices import DEVICE_CONFIGS
from edge.config.base import StrictModel


def _clock(value: Any) -> Any:
    """Times are written "HH:MM" (quoted or not); a bare YAML number is refused, not read as seconds."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
        raise ValueError(f'expected a local time as "HH:MM", got {value!r}')
    hours, minutes = value.strip().split(":")
    return time(int(hours), int(minutes))


Clock = Annotated[time, BeforeValidator(_clock)]


class QuietHoursConfig(StrictModel):
    start: Clock = Field(..., description='Local time audio outputs fall silent, "HH:MM"')
    end: Clock = Field(..., description="Local time audio resumes; earlier than start means the next day")


class LevelStepConfig(StrictModel):
    start: Clock = Field(
        ..., description='Local time this level starts, "HH:MM"; it lasts until the next step'
    )
    volume: float = Field(1.0, ge=0, le=1, description="Software volume for audio outputs, 0..1")
    brightness: int = Field(100, ge=0, le=100, description="Brightness in percent for boards that accept it")


class MessageConfig(StrictModel):
    language: str = Field(
        ..., pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$", description="Language tag, e.g. en, zh"
    )
    text: str = Field(
        ..., min_length=1, max_length=200, description="The warning as shown on boards and spoken"
    )
    wav: Path | None = Field(
        None,
        description="Operator recording (16-bit PCM WAV); relative to the site file. None: rendered by TTS",
    )
    voice: str | None = Field(None, description="espeak-ng voice for rendering; default: the language tag")


def _default_messages() -> list[MessageConfig]:
    return [
        MessageConfig(language="zh", text="红灯，请退回路边"),
        MessageConfig(language="en", text="Red light - please step back to the curb"),
    ]


def _default_prewarn_messages() -> list[MessageConfig]:
    return [
        MessageConfig(language="zh", text="红灯，请等待"),
        MessageConfig(language="en", text="Red light - please wait"),
    ]


class PreWarnConfig(StrictModel):
    """Pre-warnings before the step off the curb (``edge/prewarn.py``); distances in crosswalk depths."""

    enabled: bool = Field(False, description="Watch the curbs during DON'T WALK and warn before the step off")
    edge_distance: float = Field(
        0.06, ge=0, le=1, description="Within this distance of the crosswalk edge (fraction of its depth) is at it"
    )
    still_speed: float = Field(
        0.15, gt=0, le=5, description="Slower than this (depths/s) at the edge is waiting there; faster is walking past"
    )
    dwell_s: float = Field(1.0, ge=0, le=30, description="Seconds at the edge before the first prompt")
    approach_speed: float = Field(
        0.06, gt=0, le=10, description="Moving toward the edge at least this fast (depths/s) is approaching"
    )
    min_heading_cos: float = Field(
        0.7, ge=0, le=1, description="Share of the motion that must point toward the edge (cosine of the angle)"
    )
    horizon_s: float = Field(2.5, gt=0, le=10, description="Approaching: due at the edge within this many seconds")
    speed_window_s: float = Field(0.6, gt=0, le=5, description="Frame time over which speed and heading are measured")
    release_distance: float = Field(
        0.15, ge=0, le=2, description="Stepping back beyond this distance from the edge ends the prompts"
    )
    repeat_s: float = Field(4.0, gt=0, le=60, description="Repeat the prompt this often while they stay at the edge")
    cooldown_s: float = Field(3.0, ge=0, le=600, description="A new series at the same curb waits this long")
    forget_s: float = Field(5.0, gt=0, le=120, description="Forget a person unseen for this long")
    messages: list[MessageConfig] = Field(
        default_factory=_default_prewarn_messages, min_length=1, description="The spoken prompt, one per language"
    )


class PedCallConfig(StrictModel):
    """Pedestrian calls to the signal controller from waiting counts (``edge/ped_call.py``). Off by default:
    a call only asks the controller for a WALK phase, and the controller decides whether and when."""

    enabled: bool = Field(False, description="Place a pedestrian call when enough people wait, or wait long enough")
    min_waiting: int = Field(3, ge=1, le=100, description="People waiting on one curb during DON'T WALK that call")
    max_wait_s: float = Field(
        30.0, gt=0, le=600, description="Someone has waited on a curb this long during DON'T WALK: call"
    )
    gap_s: float = Field(
        2.0, ge=0, le=30, description="A curb empty for less than this (a person missed for a moment) keeps its wait"
    )


DeviceConfigUnion = Annotated[Union[tuple(DEVICE_CONFIGS.values())], Field(discriminator="type")]  # noqa: UP007


class ActuatorsConfig(StrictModel):
    cooldown_s: float = Field(
        8.0, ge=0, le=3600, description="Seconds (event time) before the same crosswalk is warned again"
    )
    quiet_hours: list[QuietHoursConfig] = Field(
        default_factory=list,
        description="Daily local-time spans when audio outputs stay silent; boards still show",
    )
    schedule: list[LevelStepConfig] = Field(
        default_factory=list,
        description="Volume and brightness by local time of day; empty: full level all day",
    )
    messages: list[MessageConfig] = Field(
        default_factory=_default_messages, min_length=1, description="The warning, one entry per language"
    )
    announcements_dir: Path | None = Field(
        None, description="Folder of operator recordings (16-bit PCM WAV) an announcement may name; relative to the "
        "site file. None: announcements are spoken by TTS only",
    )  # fmt: skip
    prewarn: PreWarnConfig = Field(default_factory=PreWarnConfig, description="Warnings before the step off")
    ped_call: PedCallConfig = Field(
        default_factory=PedCallConfig, description="Pedestrian calls to the signal controller from waiting counts"
    )
    tts_cache: Path = Field(
        Path("~/.cache/crossguard/tts"), description="Folder for warnings rendered once by espeak-ng"
    )
    devices: list[DeviceConfigUnion] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Output devices; none by default"
    )

    @model_validator(mode="after")
    def _unique_names(self) -> ActuatorsConfig:
        for what, keys in (
            ("devices[].name", [d.name for d in self.devices]),
            ("messages[].language", [m.language for m in self.messages]),
        ):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            if dupes:
                raise ValueError(f"{what} must be unique; repeated: {', '.join(dupes)}")
        return self
