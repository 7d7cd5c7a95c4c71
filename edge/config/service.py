"""Service section: how the live service captures, checks the picture, saves CPU and reports health."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from edge.config.base import StrictModel
from edge.config.web import is_loopback


class CaptureConfig(StrictModel):
    realtime: bool = Field(
        True,
        description="File sources: pace to the file's frame rate (late frames are then dropped, as from"
        " a camera); false hands over every frame as fast as the pipeline takes them",
    )
    loop: bool = Field(False, description="File sources: start again at the end (bench and soak runs)")
    ffmpeg_input_args: list[str] = Field(
        default_factory=list,
        description="Extra FFmpeg input options for URL sources, e.g. ['-rtsp_flags', 'listen'] to receive"
        " a camera that pushes its stream",
    )
    rtsp_transport: Literal["tcp", "udp"] = Field(
        "tcp", description="RTSP transport; TCP survives lossy links"
    )
    open_timeout_s: float = Field(5.0, gt=0, le=120, description="Give up opening the source after this long")
    buffer_frames: int | None = Field(
        None,
        ge=1,
        le=8,
        description="Frames a live camera keeps for the frame loop before dropping the oldest; default 1 with "
        "one camera (always the newest), 3 with several (a round detecting every camera together takes "
        "longer than a frame interval, and the rounds after it, which only track, catch up)",
    )
    read_timeout_s: float = Field(
        3.0, gt=0, le=120, description="No frame for this long means the source is lost"
    )
    reconnect_min_s: float = Field(0.25, gt=0, le=60, description="First delay before reconnecting")
    reconnect_max_s: float = Field(
        2.0, gt=0, le=300, description="Reconnect delay cap (exponential back-off); bounds recovery time"
    )
    width: int | None = Field(None, ge=16, le=7680, description="V4L2: requested frame width")
    height: int | None = Field(None, ge=16, le=4320, description="V4L2: requested frame height")

    @model_validator(mode="after")
    def _backoff_order(self) -> CaptureConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError(
                f"service.capture.reconnect_max_s ({self.reconnect_max_s}) is below"
                f" service.capture.reconnect_min_s ({self.reconnect_min_s})"
            )
        return self


class PictureCheckConfig(StrictModel):
    frozen_after_s: float = Field(
        3.0, gt=0, le=600, description="A picture that does not change at all for this long is frozen"
    )
    frozen_max_diff: float = Field(
        2.0,
        ge=0,
        le=50,
        description="Largest grey-level change of any thumbnail pixel that still counts as 'same'",
    )
    uniform_max_std: float = Field(
        3.0,
        ge=0,
        le=128,
        description="A picture whose grey-level spread is below this is black/blank/covered",
    )
    resume_settle_s: float = Field(
        1.0, ge=0, le=60, description="Keep enforcement suspended this long after the picture returns"
    )


class PerformanceConfig(StrictModel):
    detect_stride: int = Field(
        1,
        ge=1,
        le=10,
        description="Run the detector on every Nth frame; the tracker predicts the frames between",
    )
    motion_gating: bool = Field(
        False, description="Skip detection on frames with no motion inside the crosswalk and curb zones"
    )
    motion_threshold: float = Field(
        0.002, gt=0, le=1, description="Fraction of zone pixels that must change to count as motion"
    )
    motion_max_skip: int = Field(
        4,
        ge=1,
        le=100,
        description="Never skip more than this many frames in a row (standing people stay tracked)",
    )
    pack_cameras: bool = Field(
        True,
        description="With several cameras, detect the frames due together in one inference, each camera's "
        "zone region placed beside the others' on the model's input at the scale it would have alone",
    )
    parallel_canvases: int = Field(
        2,
        ge=1,
        le=4,
        description="With cameras detected together: canvases detected at the same time, each on its own "
        "ONNX Runtime session (a session runs one inference at a time; about 70 MB each). Four small "
        "cameras fill two canvases, and two at once keep both cores busy where one inference alone "
        "leaves gaps between its operators",
    )


class HttpConfig(StrictModel):
    enabled: bool = Field(True, description="Serve /healthz, /status and /metrics (without login)")
    host: str = Field(
        "127.0.0.1", min_length=1, description="Listen address; a loopback one unless public is set"
    )
    port: int = Field(9108, ge=0, le=65535, description="TCP port; 0 picks a free one (tests)")
    public: bool = Field(
        False,
        description="Allow a host other than loopback: /status and /metrics then answer anyone who reaches it",
    )

    @model_validator(mode="after")
    def _loopback_unless_public(self) -> HttpConfig:
        if not self.public and not is_loopback(self.host):
            raise ValueError(
                f"service.http.host {self.host} would answer /status and /metrics without login to the"
                " network; use 127.0.0.1 (scrape through a local agent) or set service.http.public: true"
            )
        return self


class ServiceConfig(StrictModel):
    data_dir: Path = Field(
        Path("/var/lib/crossguard"),
        description="Where the service keeps its state (event log, status, outbox)",
    )
    log_format: Literal["text", "json"] = Field("text", description="json: one JSON object per log line")
    status_interval_s: float = Field(
        30.0, ge=1, le=3600, description="How often status is logged and reported"
    )
    min_camera_fps: float = Field(
        0.0,
        ge=0,
        le=60,
        description="Suspend a camera's crosswalks while fewer of its frames than this are processed per second "
        "(too sparse to judge entries); 0 turns the check off",
    )
    capture: CaptureConfig = Field(default_factory=CaptureConfig)
    picture: PictureCheckConfig = Field(default_factory=PictureCheckConfig)
    performance: PerformanceConfig = Field(default_factory=PerformanceConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
