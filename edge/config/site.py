"""The whole site file: one crossing (or intersection), one camera or several.

A site has either one ``camera:`` (the original form) or a ``cameras:`` list; each crosswalk
names the camera that watches it (``camera:``, optional with one camera). Code that works per
camera is handed ``for_camera(id)``: the same site with one camera and only its crosswalks.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from edge.config.actuators import ActuatorsConfig
from edge.config.base import StrictModel
from edge.config.camera import CameraConfig
from edge.config.crosswalk import CrosswalkConfig
from edge.config.detector import DetectorConfig
from edge.config.evidence import EvidenceConfig
from edge.config.mqtt import MqttConfig
from edge.config.service import ServiceConfig
from edge.config.signal import SignalConfig
from edge.config.tracker import TrackerConfig
from edge.config.web import WebConfig


class SiteInfo(StrictModel):
    id: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="Site id, unique in the city")
    name: str = Field(..., min_length=1, description="Human-readable crossing name")
    location: str = Field("", description="Address or description printed on evidence")
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    timezone: str = Field("UTC", description="IANA time zone, e.g. Asia/Shanghai")
    device_id: str = Field(..., min_length=1, description="Id of this edge box, printed on evidence")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"'{value}' is not a known IANA time zone") from exc
        return value


class SiteConfig(StrictModel):
    site: SiteInfo
    camera: CameraConfig = Field(default_factory=CameraConfig)
    cameras: list[CameraConfig] = Field(
        default_factory=list, description="Several cameras (instead of camera:), each crosswalk naming its own"
    )
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    crosswalks: list[CrosswalkConfig] = Field(..., min_length=1)
    signal: SignalConfig = Field(default_factory=SignalConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    actuators: ActuatorsConfig = Field(default_factory=ActuatorsConfig)
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    service: ServiceConfig = Field(default_factory=ServiceConfig)

    @model_validator(mode="before")
    @classmethod
    def _signal_plans_in_site_timezone(cls, data: object) -> object:
        """A fixed-time plan without its own time zone runs in the site's."""
        from edge.config.signal import default_plan_timezone

        return default_plan_timezone(data)

    @model_validator(mode="before")
    @classmethod
    def _one_camera_form(cls, data: object) -> object:
        """Either form, not both; a dumped site (``model_dump``) carries an empty or default other half."""
        if not isinstance(data, dict) or not data.get("cameras") or data.get("camera") is None:
            return data
        if data["camera"] != CameraConfig().model_dump() and data["camera"] != {}:
            raise ValueError("camera and cameras are both given; use camera: for one camera or cameras: for several")
        return {k: v for k, v in data.items() if k != "camera"}

    @model_validator(mode="after")
    def _crosswalks_on_known_cameras(self) -> SiteConfig:
        ids = [c.id for c in self.camera_configs()]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"cameras[].id must be unique; repeated: {', '.join(dupes)}")
        for cw in self.crosswalks:
            if cw.camera is None and len(ids) > 1:
                raise ValueError(
                    f"crosswalk '{cw.id}' names no camera; with several cameras each crosswalk needs "
                    f"camera: (one of {', '.join(ids)})"
                )
            if cw.camera is not None and cw.camera not in ids:
                raise ValueError(
                    f"crosswalk '{cw.id}' names unknown camera '{cw.camera}'; cameras are {', '.join(ids)}"
                )
        idle = [i for i in ids if not any(cw.camera in (i, None) for cw in self.crosswalks)]
        if idle:
            raise ValueError(f"camera(s) {', '.join(idle)} watch no crosswalk; give a crosswalk camera: or remove them")
        return self

    @model_validator(mode="after")
    def _unique_crosswalk_ids(self) -> SiteConfig:
        ids = [c.id for c in self.crosswalks]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"crosswalks[].id must be unique; repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _actuator_crosswalks_exist(self) -> SiteConfig:
        ids = {c.id for c in self.crosswalks}
        for device in self.actuators.devices:
            for field in ("crosswalks", "phases"):  # phases: a signal controller's crosswalk → phase
                unknown = [c for c in getattr(device, field, ()) if c not in ids]
                if unknown:
                    raise ValueError(
                        f"actuators.devices '{device.name}' {field} names unknown crosswalk(s) "
                        f"{', '.join(unknown)}; crosswalks[].id are {', '.join(sorted(ids))}"
                    )
        return self

    def crosswalk(self, crosswalk_id: str) -> CrosswalkConfig:
        return next(c for c in self.crosswalks if c.id == crosswalk_id)

    @property
    def multi_camera(self) -> bool:
        return bool(self.cameras)

    def camera_configs(self) -> list[CameraConfig]:
        """Every camera of the site, in file order; the single-camera form gives its one."""
        return list(self.cameras) or [self.camera]

    def for_camera(self, camera_id: str) -> SiteConfig:
        """The site as one camera sees it: that camera (as ``camera``) and only its crosswalks."""
        camera = next((c for c in self.camera_configs() if c.id == camera_id), None)
        if camera is None:
            known = ", ".join(c.id for c in self.camera_configs())
            raise KeyError(f"no camera '{camera_id}' in this site; cameras are {known}")
        if not self.cameras:
            return self
        crosswalks = [cw for cw in self.crosswalks if cw.camera in (camera_id, None)]  # None: the only camera
        return self.model_copy(update={"camera": camera, "cameras": [], "crosswalks": crosswalks})
