"""Signal section: where the box learns each signal group's state, and how sources are combined."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from edge.config.base import StrictModel
from edge.config.mqtt import MqttTlsConfig

GroupName = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")]


class TimelineSourceConfig(StrictModel):
    type: Literal["timeline"] = "timeline"
    path: Path = Field(..., description="CSV or JSON file of (t, group, state); t in seconds from the video start")
    start_time: str | None = Field(
        None, description="ISO time of the video's first frame, when the timeline uses ISO times"
    )


# --- vision -------------------------------------------------------------------------------------


class HueRange(StrictModel):
    """OpenCV hue (0..179); ``low > high`` wraps through 0, as red does (e.g. 160..25)."""

    low: int = Field(..., ge=0, le=179, description="First hue of the range (OpenCV scale 0..179)")
    high: int = Field(..., ge=0, le=179, description="Last hue of the range (inclusive)")


class HeadCalibration(StrictModel):
    """Per-site colour calibration of the pedestrian head; defaults fit the labelled photo set."""

    red_hue: HueRange = Field(
        default_factory=lambda: HueRange(low=160, high=25),
        description="Hues of the red/orange standing figure",
    )
    green_hue: HueRange = Field(
        default_factory=lambda: HueRange(low=40, high=100),
        description="Hues of the green/cyan walking figure",
    )
    min_value: int = Field(130, ge=0, le=255, description="Brightness (HSV V) a coloured pixel needs to count as lit")
    red_min_saturation: int = Field(75, ge=0, le=255, description="Saturation a red/orange pixel needs")
    green_min_saturation: int = Field(70, ge=0, le=255, description="Saturation a green pixel needs")
    white_min_value: int = Field(120, ge=0, le=255, description="Brightness a white (walking person) pixel needs")
    white_above_median: int = Field(
        60,
        ge=0,
        le=255,
        description="... and at least this much above the region's median brightness (the housing)",
    )
    white_max_saturation: int = Field(
        40, ge=0, le=255, description="Saturation above which a bright pixel is coloured, not white"
    )
    white_walk: bool = Field(
        True, description="A lit white figure means WALK (North American heads); off: white is ignored"
    )
    edge_margin: float = Field(
        0.12,
        ge=0,
        lt=0.5,
        description="Share of the region's width/height ignored on each side (pole, signs, sky)",
    )
    min_lit_fraction: float = Field(
        0.01, gt=0, le=1, description="Share of the region that must be lit in one colour for it to count"
    )
    red_over_white: float = Field(
        0.5,
        ge=0,
        le=10,
        description="Red wins over white when red pixels ≥ this × white pixels (orange hand, grey housing)",
    )
    both_lit_ratio: float = Field(
        0.2, gt=0, le=1, description="Red and green both lit with the weaker ≥ this × the stronger → UNKNOWN"
    )
    max_colour_fraction: float = Field(
        0.75, gt=0, le=1, description="One colour covering more of the region than this → occluded → UNKNOWN"
    )
    max_clipped_fraction: float = Field(
        0.6, gt=0, le=1, description="More of the region than this clipped to white → glare → UNKNOWN"
    )


Box = tuple[float, float, float, float]


def _check_box(box: Box, name: str) -> Box:
    x1, y1, x2, y2 = box
    if not (0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1):
        raise ValueError(f"{name} {box} must be x1,y1,x2,y2 fractions 0..1 with x1 < x2 and y1 < y2")
    return box


class VisionHeadConfig(StrictModel):
    group: GroupName = Field(..., description="Signal group this head shows")
    region: Box = Field(..., description="Box around the pedestrian head: x1,y1,x2,y2 as fractions of the picture")
    countdown_region: Box | None = Field(
        None,
        description="Box of the countdown digits (fractions of the picture); lit digits → countdown_state",
    )
    countdown_state: Literal["CLEARANCE", "NONE"] = Field(
        "CLEARANCE",
        description="What lit countdown digits beside a red figure mean: CLEARANCE (North America) or NONE",
    )

    @field_validator("region", "countdown_region")
    @classmethod
    def _valid_box(cls, v: Box | None) -> Box | None:
        return None if v is None else _check_box(v, "region")


class VisionSourceConfig(StrictModel):
    type: Literal["vision"] = "vision"
    name: str = Field("vision", min_length=1, description="Name of this source in status and gap records")
    heads: list[VisionHeadConfig] = Field(..., min_length=1, description="One entry per signal head read")
    calibration: HeadCalibration = Field(default_factory=HeadCalibration, description="Colour calibration")
    smoothing_frames: int = Field(
        3, ge=1, le=100, description="Consecutive frames that must agree before a steady state is reported"
    )
    flash_min_hz: float = Field(0.5, gt=0, le=10, description="Slowest lit/dark alternation counted as flashing")
    flash_max_hz: float = Field(2.5, gt=0, le=10, description="Fastest lit/dark alternation counted as flashing")
    flash_cycles: float = Field(
        1.5, ge=1, le=10, description="Lit/dark cycles needed before flashing (CLEARANCE) is reported"
    )
    max_unknown_s: float = Field(1.0, ge=0, le=60, description="Uncertain frames for longer than this → group UNKNOWN")

    @model_validator(mode="after")
    def _flash_band(self) -> VisionSourceConfig:
        if self.flash_min_hz >= self.flash_max_hz:
            raise ValueError("flash_min_hz must be below flash_max_hz")
        groups = [h.group for h in self.heads]
        repeated = sorted({g for g in groups if groups.count(g) > 1})
        if repeated:
            raise ValueError(
                f"heads[].group must be unique, one head per group (add a second vision source for a second "
                f"head of the same group); repeated: {', '.join(repeated)}"
            )
        return self


# --- pushed feeds (MQTT, HTTP, recorded) ---------------------------------------------------------


class FeedSettings(StrictModel):
    groups: dict[GroupName, str] = Field(
        default_factory=dict,
        description="Feed signal-group id → our group name; empty: feed ids are our group names",
    )
    stale_after_s: float = Field(
        3.0, gt=0, le=3600, description="No message received for a group for this long → UNKNOWN (stale)"
    )
    max_clock_skew_s: float = Field(
        0.5,
        ge=0,
        le=3600,
        description="Message times further ahead of the box's clock than this are rejected (and raise an alarm)",
    )
    max_message_bytes: int = Field(
        65536, ge=256, le=4 * 1024 * 1024, description="Longer messages are rejected before they are parsed"
    )
    max_groups: int = Field(
        64,
        ge=1,
        le=1024,
        description="Most group states in one message, and most distinct groups learnt when `groups` is empty",
    )
    min_phase_s: float = Field(
        1.0,
        ge=0,
        le=60,
        description="A known state replaced sooner than this means two publishers contradict each other (alarm)",
    )
    alarm_hold_s: float = Field(
        10.0, gt=0, le=3600, description="An alarm, and a contradicted group's UNKNOWN, last this long after its cause"
    )

    @field_validator("groups")
    @classmethod
    def _mapped_names(cls, v: dict[str, str]) -> dict[str, str]:
        for feed_id, name in v.items():
            if not re.fullmatch(r"[A-Za-z0-9_.:-]+", name):
                raise ValueError(f"groups.{feed_id}: group name '{name}' may only use letters, digits and _.:-")
        return v


class MqttSourceConfig(FeedSettings):
    type: Literal["mqtt"] = "mqtt"
    name: str = Field("mqtt", min_length=1, description="Name of this source in status and gap records")
    host: str = Field("127.0.0.1", min_length=1, description="Broker host")
    port: int = Field(1883, ge=1, le=65535, description="Broker port")
    topic: str = Field(..., min_length=1, description="Topic (wildcards allowed) carrying the controller's JSON")
    client_id: str = Field("", description="MQTT client id; empty: generated")
    username: str | None = Field(None, description="Broker user name")
    password_env: str | None = Field(
        None, description="Environment variable holding the broker password (never the password itself)"
    )
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keep-alive interval")
    protocol: Literal["5", "3.1.1"] = Field("5", description="MQTT protocol version")
    tls: MqttTlsConfig | None = Field(None, description="Use TLS (CA, client certificate and key); None is plain TCP")


class RecordedFeedSourceConfig(FeedSettings):
    type: Literal["recorded_feed"] = "recorded_feed"
    name: str = Field("recorded_feed", min_length=1, description="Name of this source in status and gap records")
    path: Path = Field(..., description="JSON-lines file written by `crossguard signal record`")
    offset_s: float = Field(
        0.0,
        ge=-86400,
        le=86400,
        description="Seconds added to recorded times (to line a feed up with a video)",
    )


class HttpPushSourceConfig(FeedSettings):
    type: Literal["http_push"] = "http_push"
    name: str = Field(
        "http_push",
        min_length=1,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Name of this source; also the URL path segment (/api/signal/NAME)",
    )
    token_env: str = Field(
        "CROSSGUARD_SIGNAL_TOKEN", min_length=1, description="Environment variable holding the bearer token"
    )
    token: str | None = Field(None, min_length=16, description="Bearer token (prefer token_env)")
    listen_host: str = Field("127.0.0.1", description="Address of the standalone server")
    listen_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Run a standalone server on this port; empty: served on the web UI's server, with its TLS",
    )


# --- fixed-time plan ----------------------------------------------------------------------------


class GroupSplit(StrictModel):
    """One group's pedestrian phase within the cycle; DON'T WALK fills the rest of the cycle."""

    walk_start_s: float = Field(0.0, ge=0, description="Where WALK begins, seconds into the cycle")
    walk_s: float = Field(..., gt=0, description="Length of WALK")
    clearance_s: float = Field(..., ge=0, description="Length of CLEARANCE (flashing DON'T WALK) after WALK")


class TimingPlan(StrictModel):
    cycle_s: float = Field(..., gt=0, le=3600, description="Cycle length in seconds")
    offset_s: float = Field(
        0.0, ge=0, description="Cycle start, seconds after local midnight (the controllers' common reference)"
    )
    groups: dict[GroupName, GroupSplit] = Field(..., min_length=1, description="Split per signal group")

    @model_validator(mode="after")
    def _splits_fit(self) -> TimingPlan:
        for name, split in self.groups.items():
            if split.walk_start_s >= self.cycle_s:
                raise ValueError(f"groups.{name}.walk_start_s must be below cycle_s ({self.cycle_s})")
            if split.walk_s + split.clearance_s >= self.cycle_s:
                raise ValueError(f"groups.{name}: walk_s + clearance_s must leave DON'T WALK time in cycle_s")
        return self


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleEntry(StrictModel):
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: list(DAYS), min_length=1, description="Days this entry applies to"
    )
    start: time = Field(..., description="Local time (HH:MM[:SS]) the plan takes over; it runs until the next entry")
    plan: str = Field(..., min_length=1, description="Name of the plan in `plans`")


class FixedTimeSourceConfig(StrictModel):
    type: Literal["fixed_time"] = "fixed_time"
    name: str = Field("fixed_time", min_length=1, description="Name of this source in status and gap records")
    timezone: str | None = Field(None, description="IANA time zone of the schedule; empty: the site's time zone")
    plans: dict[str, TimingPlan] = Field(..., min_length=1, description="Timing plans by name")
    schedule: list[ScheduleEntry] = Field(
        default_factory=list, description="When each plan runs; empty: the only plan runs all the time"
    )

    @model_validator(mode="after")
    def _schedule_names_plans(self) -> FixedTimeSourceConfig:
        for i, entry in enumerate(self.schedule):
            if entry.plan not in self.plans:
                raise ValueError(f"schedule[{i}].plan '{entry.plan}' is not in plans ({', '.join(self.plans)})")
        if not self.schedule and len(self.plans) > 1:
            raise ValueError("several plans need a schedule saying when each runs")
        if self.timezone is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"timezone '{self.timezone}' is not a known IANA time zone") from exc
        return self


SignalSourceConfig = Annotated[
    Union[  # noqa: UP007
        TimelineSourceConfig,
        VisionSourceConfig,
        MqttSourceConfig,
        RecordedFeedSourceConfig,
        HttpPushSourceConfig,
        FixedTimeSourceConfig,
    ],
    Field(discriminator="type"),
]


class SignalConfig(StrictModel):
    sources: list[SignalSourceConfig] = Field(
        default_factory=list, description="Sources in priority order; the first one with a known state wins"
    )
    conflict_tolerance_s: float = Field(
        1.5,
        ge=0,
        le=60,
        description="Two sources may disagree this long (timing jitter) before the group is UNKNOWN",
    )
    late_window_s: float = Field(
        5.0, ge=0, le=120, description="Changes arriving up to this late are placed at their own time"
    )
    history_s: float = Field(600.0, ge=10, le=86400, description="Seconds of signal history kept in memory")

    @model_validator(mode="after")
    def _unique_names(self) -> SignalConfig:
        names = [getattr(s, "name", None) for s in self.sources]
        repeated = sorted({n for n in names if n is not None and names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"sources[].name must be unique (status, gaps and push routes use it); repeated: {', '.join(repeated)}"
            )
        return self


def default_plan_timezone(site_data: object) -> object:
    """Fill ``timezone`` of fixed-time sources from ``site.timezone`` in a raw site mapping."""
    if not isinstance(site_data, dict):
        return site_data
    site, signal = site_data.get("site"), site_data.get("signal")
    zone = site.get("timezone", "UTC") if isinstance(site, dict) else "UTC"
    sources = signal.get("sources") if isinstance(signal, dict) else None
    if not isinstance(sources, list) or not isinstance(zone, str):
        return site_data
    filled = [
        {**s, "timezone": zone}
        if isinstance(s, dict) and s.get("type") == "fixed_time" and not s.get("timezone")
        else s
        for s in sources
    ]
    return {**site_data, "signal": {**signal, "sources": filled}}
