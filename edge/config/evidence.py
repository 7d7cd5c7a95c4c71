"""Evidence section: what is captured around a violation, where it is kept and for how long."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from edge.config.base import StrictModel


class RetentionDays(StrictModel):
    """Days evidence content is kept after commit, per review state. Unreviewed evidence is never deleted."""

    confirmed: int = Field(90, ge=1, le=3650, description="Days to keep pictures and clip of confirmed events")
    rejected: int = Field(7, ge=0, le=3650, description="Days to keep pictures and clip of rejected events")


class UploadConfig(StrictModel):
    """Uploading every violation's evidence to the traffic centre (store and forward)."""

    url: str = Field(
        "", description="The centre's base URL (https://centre.city.example); empty: evidence stays on the box"
    )
    token_env: str = Field(
        "CROSSGUARD_CENTRE_TOKEN",
        description="Environment variable holding the box's token (from crossguard center boxes add)",
    )
    token_file: Path | None = Field(None, description="Or an absolute path to a file holding the token")
    ca_file: Path | None = Field(None, description="CA of the centre's HTTPS certificate; None = system CAs")
    interval_s: float = Field(5.0, gt=0, le=3600, description="Seconds between passes over what is not yet confirmed")

    @property
    def enabled(self) -> bool:
        return bool(self.url)


class EvidenceConfig(StrictModel):
    enabled: bool = Field(True, title="Record evidence", description="Capture and store evidence for violations")
    root: Path = Field(
        Path("/var/lib/crossguard/evidence"),
        title="Evidence folder",
        description="One sub-folder per event (YYYY/MM/DD/<event id>), the index and the device key",
    )
    key_file: Path | None = Field(
        None,
        description="Ed25519 private key (PEM), made on first start; default <root>/keys/device_ed25519.pem",
    )
    ring_seconds: float = Field(15.0, gt=0, le=120, description="Seconds of recent frames kept in memory")
    ring_max_mb: float = Field(128.0, gt=0, le=4096, description="Hard cap on the memory the frame buffer may use")
    pre_roll_s: float = Field(5.0, ge=0, le=60, description="Seconds of video kept before the entry")
    post_roll_s: float = Field(5.0, ge=0, le=60, description="Seconds of video kept after the entry")
    inside_delay_s: float = Field(
        1.5, gt=0, le=30, description="Picture 3 is the first frame this many seconds after the entry"
    )
    encode_every_n: int = Field(
        1,
        ge=1,
        le=30,
        description="Keep every Nth frame in the buffer (1 = all); raise only if encoding is too slow",
    )
    encode_queue_frames: int = Field(
        8,
        ge=1,
        le=120,
        description="Frames that may wait for JPEG encoding; when more arrive the live service skips"
        " buffering them (counted) rather than slow the frame loop",
    )
    jpeg_quality: int = Field(90, ge=50, le=100, description="JPEG quality of buffered frames and pictures")
    clip_encoder: Literal["auto", "ffmpeg", "opencv_mjpeg", "none"] = Field(
        "auto", description="auto: H.264 MP4 through ffmpeg, falling back to Motion-JPEG AVI when unavailable"
    )
    clip_max_width: int = Field(
        1280,
        ge=0,
        le=7680,
        description="Clips wider than this are scaled down (0 = never): encoding time grows with the pixel count",
    )
    blur_bystanders: bool = Field(True, description="Blur the heads of other people on the composite sheet")
    language: Literal["en", "zh-CN"] = Field(
        "en", description="Language of the composite sheet's captions and information strip; zh-CN needs a CJK "
        "font (fonts-noto-cjk), else the sheet is written in English and the log says why",
    )  # fmt: skip
    queue_size: int = Field(16, ge=1, le=1000, description="Violations waiting for the background writer")
    retention_days: RetentionDays = Field(default_factory=RetentionDays)
    upload: UploadConfig = Field(default_factory=UploadConfig)
    min_free_mb: float = Field(
        512.0,
        ge=0,
        le=1_000_000,
        description="Free disk space to keep; below it old reviewed evidence is deleted",
    )
    budget_mb: float = Field(
        0.0, ge=0, le=10_000_000, description="Largest total size of stored evidence files; 0 = no budget"
    )

    @model_validator(mode="after")
    def _ring_holds_the_clip(self) -> EvidenceConfig:
        needed = self.pre_roll_s + max(self.post_roll_s, self.inside_delay_s)
        if self.ring_seconds < needed:
            raise ValueError(
                f"ring_seconds ({self.ring_seconds}) must cover pre_roll_s + max(post_roll_s, inside_delay_s)"
                f" = {needed}"
            )
        return self

    def private_key_path(self) -> Path:
        return self.key_file if self.key_file is not None else self.root / "keys" / "device_ed25519.pem"
