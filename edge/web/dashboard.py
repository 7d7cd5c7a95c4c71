"""The dashboard's figures: each crosswalk's signal now, and its crossings and violations today, by hour.

"Today" is the site's local day (``site.timezone``), worked out from each event's own UTC
entry time: the journal's files are cut at UTC midnight, which is mid-afternoon or mid-evening
for many sites. Hours are real elapsed hours from local midnight, so a spring-forward day has
23 and a fall-back day 25 (the repeated clock hour is labelled with its zone abbreviation).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.config.site import SiteConfig
from edge.events import EventType
from edge.web.context import DeviceView, GroupSignal, LiveReadings, StorageView

log = logging.getLogger(__name__)

HOUR_S = 3600.0
# A crossing is journalled when it is decided, a little after its entry; read one more UTC day's
# file past the local day's end so an entry just before midnight is still found.
DECISION_SLACK_S = HOUR_S


@dataclass(frozen=True)
class JournalEvent:
    """The part of a journal line the dashboard counts."""

    event_id: str
    type: EventType
    crosswalk_id: str
    entry_utc: float

    @classmethod
    def from_line(cls, line: str) -> JournalEvent | None:
        """None for a line that is not a crossing or violation (damaged, or written by a newer version)."""
        try:
            raw = json.loads(line)
            return cls(str(raw["event_id"]), EventType(raw["type"]), str(raw["crosswalk_id"]), float(raw["entry_utc"]))
        except (ValueError, KeyError, TypeError):
            return None


def violation_rate(violations: int, crossings: int) -> float | None:
    """Violations ÷ crossings; None when nobody crossed (no rate, rather than a misleading 0 %)."""
    return violations / crossings if crossings else None


@dataclass
class HourCount:
    start_utc: float
    label: str  # local clock time the hour starts: "14:00" (or "01:00 EST" on a fall-back day)
    crossings: int = 0
    violations: int = 0
    prewarnings: int = 0  # pre-warning prompts given at the curb (edge/prewarn.py)
    violation_rate: float | None = field(init=False)

    def __post_init__(self) -> None:
        self.violation_rate = violation_rate(self.violations, self.crossings)


@dataclass
class CrosswalkDay:
    crosswalk_id: str
    hours: list[HourCount]
    crossings: int = field(init=False)
    violations: int = field(init=False)
    prewarnings: int = field(init=False)
    violation_rate: float | None = field(init=False)

    def __post_init__(self) -> None:
        self.crossings = sum(h.crossings for h in self.hours)
        self.violations = sum(h.violations for h in self.hours)
        self.prewarnings = sum(h.prewarnings for h in self.hours)
        self.violation_rate = violation_rate(self.violations, self.crossings)


def local_day(utc: float, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(utc, zone).date()


def day_span(day: date, zone: ZoneInfo) -> tuple[float, float]:
    """UTC seconds of the local day's first instant and of the next day's."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.timestamp(), end.timestamp()


def hour_starts(day: date, zone: ZoneInfo) -> list[tuple[float, str]]:
    """(UTC start, local label) of every elapsed hour of the local day: 23, 24 or 25 of them."""
    start, end = day_span(day, zone)
    starts = []
    t = start
    while t < end:
        starts.append(t)
        t += HOUR_S
    labels = [datetime.fromtimestamp(t, zone).strftime("%H:%M") for t in starts]
    repeated = {label for label in labels if labels.count(label) > 1}
    return [
        (t, f"{label} {datetime.fromtimestamp(t, zone).strftime('%Z')}" if label in repeated else label)
        for t, label in zip(starts, labels, strict=True)
    ]


def tally_day(
    events: Iterable[JournalEvent], crosswalk_ids: Sequence[str], day: date, zone: ZoneInfo
) -> dict[str, CrosswalkDay]:
    """Crossings, violations and pre-warning prompts per crosswalk and local hour of ``day``, by entry time.

    Every crosswalk in ``crosswalk_ids`` gets a row (zeros when nobody crossed); a crosswalk
    seen only in the events (renamed or removed since) follows them. An event id seen twice
    (a file source replayed into the same journal) counts once.
    """
    slots = hour_starts(day, zone)
    start, end = day_span(day, zone)
    counts: Counter[tuple[str, int, EventType]] = Counter()
    seen: set[str] = set()
    ids = list(crosswalk_ids)
    for event in events:
        if not start <= event.entry_utc < end or event.event_id in seen:
            continue
        seen.add(event.event_id)
        if event.crosswalk_id not in ids:
            ids.append(event.crosswalk_id)
        counts[event.crosswalk_id, int((event.entry_utc - start) // HOUR_S), event.type] += 1
    return {
        cw: CrosswalkDay(
            cw,
            [
                HourCount(
                    t, label, counts[cw, i, EventType.CROSSING], counts[cw, i, EventType.VIOLATION],
                    counts[cw, i, EventType.PRE_WARNING],
                )
                for i, (t, label) in enumerate(slots)
            ],
        )
        for cw in ids
    }


def journal_days(day: date, zone: ZoneInfo) -> list[str]:
    """The journal's UTC-day file names (``YYYY-MM-DD``) that can hold events entered on the local ``day``."""
    start, end = day_span(day, zone)
    first = datetime.fromtimestamp(start, timezone.utc).date()
    last = datetime.fromtimestamp(end + DECISION_SLACK_S, timezone.utc).date()
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


@dataclass
class _FileRead:
    inode: int
    offset: int = 0
    events: list[JournalEvent] = field(default_factory=list)


class JournalReader:
    """Events from the journal's ``events-YYYY-MM-DD.jsonl`` files, parsing only lines added since the last call.

    The dashboard refreshes every few seconds while the journal grows all day; re-reading whole
    files each time would cost more the busier the crossing. Only complete lines are taken, so a
    line being written is read on the next call. Files no longer asked for are forgotten.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[str, _FileRead] = {}
        self._lock = threading.Lock()

    def events(self, utc_days: Iterable[str]) -> list[JournalEvent]:
        with self._lock:
            wanted = list(utc_days)
            self._files = {day: read for day, read in self._files.items() if day in wanted}
            out: list[JournalEvent] = []
            for day in wanted:
                out += self._read(day)
            return out

    def _read(self, day: str) -> list[JournalEvent]:
        path = self.folder / f"events-{day}.jsonl"
        try:
            stat = path.stat()
        except OSError:
            self._files.pop(day, None)
            return []
        read = self._files.get(day)
        if read is None or read.inode != stat.st_ino or stat.st_size < read.offset:  # new, replaced or cut
            read = self._files[day] = _FileRead(stat.st_ino)
        if stat.st_size > read.offset:
            self._read_more(path, read)
        return read.events

    @staticmethod
    def _read_more(path: Path, read: _FileRead) -> None:
        with path.open("rb") as f:
            f.seek(read.offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        read.offset += len(complete)
        for line in complete.decode("utf-8", errors="replace").splitlines():
            event = JournalEvent.from_line(line) if line.strip() else None
            if event is not None:
                read.events.append(event)


# ---- the page: per-crosswalk cards and the box's health -------------------------------------------


@dataclass(frozen=True)
class OutputView:
    """One output's health line from the status report (journal, evidence, MQTT, ...)."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class CameraRow:
    """One camera of a box with several: its state, rate and stale frames dropped."""

    camera_id: str
    state: str
    picture: str
    fps: float | None
    frames_processed: int
    frames_dropped: int
    suspension_reason: str  # "" while its crosswalks are enforced


@dataclass(frozen=True)
class BoxHealth:
    """Box-wide figures: from the status report, and from the live pipeline when one is attached."""

    fps: float | None
    inference_ms: float | None
    frames_dropped: int | None
    camera_state: str
    camera_error: str
    picture: str
    enforcement_suspended: bool
    suspension_reason: str
    clock_synchronised: bool | None  # None: the system does not say
    clock_offset_s: float | None
    outputs: list[OutputView]
    devices: list[DeviceView]
    mqtt: OutputView | None  # None: MQTT reporting is off
    outbox_depth: int | None
    storage: StorageView | None
    cameras: list[CameraRow] = field(default_factory=list)  # only on a box with several cameras


def camera_rows(status: dict[str, Any]) -> list[CameraRow]:
    cameras = status.get("cameras") if isinstance(status.get("cameras"), dict) else {}
    if len(cameras) < 2:
        return []
    return [
        CameraRow(
            str(camera_id),
            str(c.get("state") or "unknown"),
            str(c.get("picture") or "unknown"),
            _number(c.get("fps")),
            int(_number(c.get("frames_processed")) or 0),
            int(_number(c.get("frames_dropped")) or 0),
            str(c.get("suspension_reason") or "") if c.get("enforcement_suspended") else "",
        )
        for camera_id, c in cameras.items()
        if isinstance(c, dict)
    ]


@dataclass(frozen=True)
class CrosswalkCard:
    crosswalk_id: str
    signal_group: str
    signal: GroupSignal | None  # None: no live pipeline, or no frame yet
    today: CrosswalkDay


@dataclass(frozen=True)
class Dashboard:
    day: date
    timezone: str
    now_utc: float
    live: bool  # a running pipeline is attached
    notice: str  # what the page can and cannot show, in words; "" when everything is there
    counts_from: str  # the journal folder the counts come from; "" when there is none
    crosswalks: list[CrosswalkCard]
    box: BoxHealth | None
    alarms: list[str] = field(default_factory=list)  # shown at the top of the page, in words


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _devices_output(devices: list[DeviceView]) -> OutputView:
    """The "actuators" output line as the warning devices' own health says it."""
    down = [d.name for d in devices if d.state == "down"]
    degraded = [d.name for d in devices if d.state == "degraded"]
    parts = [f"devices down: {', '.join(down)}"] if down else []
    parts += [f"degraded: {', '.join(degraded)}"] if degraded else []
    return OutputView("actuators", not down, "; ".join(parts) or f"{len(devices)} device(s) ok")


def box_health(status: dict[str, Any], live: LiveReadings | None) -> BoxHealth:
    """The status report (``edge.ops.status.ServiceStatus`` as a dict) and live readings as one card set."""
    adapters = status.get("adapters") if isinstance(status.get("adapters"), dict) else {}
    outputs = [
        OutputView(name, bool(h.get("ok")), str(h.get("detail", "")))
        for name, h in sorted(adapters.items())
        if isinstance(h, dict)
    ]
    if live is not None and live.devices:  # one source for both cards, so they cannot disagree
        outputs = [_devices_output(live.devices) if o.name == "actuators" else o for o in outputs]
    clock = status.get("clock") if isinstance(status.get("clock"), dict) else {}
    dropped = _number(status.get("frames_dropped"))
    return BoxHealth(
        fps=_number(status.get("fps")),
        inference_ms=live.inference_ms if live else None,
        frames_dropped=None if dropped is None else int(dropped),
        camera_state=str(status.get("camera_state") or "unknown"),
        camera_error=str(status.get("camera_error") or ""),
        picture=str(status.get("picture") or "unknown"),
        enforcement_suspended=bool(status.get("enforcement_suspended")),
        suspension_reason=str(status.get("suspension_reason") or ""),
        clock_synchronised=clock.get("synchronised") if isinstance(clock.get("synchronised"), bool) else None,
        clock_offset_s=_number(clock.get("offset_s")),
        outputs=[o for o in outputs if o.name != "mqtt"],
        devices=live.devices if live else [],
        mqtt=next((o for o in outputs if o.name == "mqtt"), None),
        outbox_depth=live.outbox_depth if live else None,
        storage=live.storage if live else None,
        cameras=camera_rows(status),
    )


def box_alarms(box: BoxHealth | None) -> list[str]:
    """What needs someone's attention now, at the top of the page: the MQTT link being down."""
    if box is None or box.mqtt is None or box.mqtt.ok:
        return []
    waiting = f"; {box.outbox_depth} report(s) wait in the outbox" if box.outbox_depth is not None else ""
    return [f"MQTT link to the traffic centre DOWN: {box.mqtt.detail}{waiting}"]


def reports_pipeline(status: dict[str, Any]) -> bool:
    """Whether a status report comes from a camera pipeline (and not from ``crossguard ui``)."""
    return "fps" in status and "camera_state" in status


def build_dashboard(
    site: SiteConfig,
    status: dict[str, Any],
    live: LiveReadings | None,
    journal: JournalReader | None,
    now_utc: float,
    day: date | None = None,
    live_problem: str = "",
) -> Dashboard:
    """The whole page for ``day`` (default: the site's today); ``live_problem`` says why ``live`` is missing."""
    zone = ZoneInfo(site.site.timezone)
    day = day or local_day(now_utc, zone)
    events = journal.events(journal_days(day, zone)) if journal is not None else []
    tallies = tally_day(events, [cw.id for cw in site.crosswalks], day, zone)
    groups = {cw.id: cw.signal_group for cw in site.crosswalks}
    signals = live.signals if live else {}
    cards = [
        CrosswalkCard(cw_id, groups.get(cw_id, ""), signals.get(groups.get(cw_id, "")), tally)
        for cw_id, tally in tallies.items()
    ]
    notices = [live_problem] if live_problem else []
    if live is None and not live_problem:
        notices.append(
            "No live service is attached: signal states and device health are not known here."
            if not reports_pipeline(status)
            else "The service does not hand live signal states to the UI."
        )
    if journal is None:
        notices.append("No event journal on this box: today's crossings cannot be counted.")
    box = box_health(status, live) if live is not None or reports_pipeline(status) else None
    return Dashboard(
        day=day,
        timezone=site.site.timezone,
        now_utc=now_utc,
        live=live is not None,
        notice=" ".join(notices),
        counts_from=str(journal.folder) if journal is not None else "",
        crosswalks=cards,
        box=box,
        alarms=box_alarms(box),
    )
