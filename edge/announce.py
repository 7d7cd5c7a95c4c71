"""Spoken announcements from the operator or the centre: checked, audited, then queued on the speakers.

Both channels (the MQTT ``announce`` command and the web UI's devices page) go through
``AnnouncementDesk.announce``. An announcement is text spoken offline by espeak-ng in its
language (Mandarin: ``zh``/``zh-CN``) or the name of an operator recording in
``actuators.announcements_dir``. It goes to the front of each speaker's queue (ahead of routine
prompts; one already playing is finished first). During quiet hours, or while the speakers are
muted, it is refused unless marked urgent. Every request, accepted or refused, is one JSON line
in ``<data_dir>/announcements.jsonl``: when, who, through which channel, what, and the outcome.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from actuators.base import Level
from actuators.policy import level_at, local_time
from edge.ops.files import GROUP_READ, open_private

ANNOUNCE_FILE = "announcements.jsonl"
MAX_TEXT_CHARS = 300
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")
_WAV_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}\.wav$")


class AnnounceRefused(ValueError):
    """The request cannot be carried out; the text says why."""


@dataclass(frozen=True)
class Announcement:
    text: str = ""
    language: str = "en"
    wav: str | None = None  # a file name in actuators.announcements_dir
    urgent: bool = False
    by: str = ""
    channel: str = ""


@dataclass(frozen=True)
class AnnounceOutcome:
    speakers: list[str]
    volume: float


class AnnouncementDesk:
    def __init__(self, hub: Any | None, audit_path: Path, clock: Callable[[], float] = time.time) -> None:
        self.hub = hub
        self.audit_path = audit_path
        self.clock = clock
        self._lock = threading.Lock()

    def announce(self, request: Announcement) -> AnnounceOutcome:
        """Queue it on every speaker or raise AnnounceRefused; audited either way."""
        now = self.clock()
        try:
            outcome = self._announce(request, now)
        except AnnounceRefused as exc:
            self._audit(request, now, refused=str(exc))
            raise
        self._audit(request, now, speakers=outcome.speakers)
        return outcome

    def _announce(self, request: Announcement, now: float) -> AnnounceOutcome:
        wav = self._check(request)
        if self.hub is None or not self.hub.devices_for("speaker"):
            raise AnnounceRefused("no enabled speaker on this box")
        level = level_at(self.hub.policy, local_time(now, self.hub.policy.timezone))
        if not level.audible and not request.urgent:
            raise AnnounceRefused("quiet hours: only an urgent announcement is played now")
        if self.hub.muted and not request.urgent:
            raise AnnounceRefused("the speakers are muted: only an urgent announcement is played")
        speakers = self.hub.announce(request.text, request.language, wav, Level(level.volume, level.brightness))
        return AnnounceOutcome(speakers, level.volume)

    def _check(self, request: Announcement) -> str | None:
        if not _LANGUAGE.match(request.language):
            raise AnnounceRefused(f"'language' must be a language tag such as en or zh-CN; got {request.language!r}")
        if request.wav is None:
            if not request.text.strip() or len(request.text) > MAX_TEXT_CHARS:
                raise AnnounceRefused(f"'text' must be 1 to {MAX_TEXT_CHARS} characters")
            if any(ord(c) < 32 for c in request.text):
                raise AnnounceRefused("'text' must not contain control characters")
            return None
        folder = self.hub.config.announcements_dir if self.hub is not None else None
        if folder is None:
            raise AnnounceRefused("no recordings on this box (actuators.announcements_dir is not set)")
        if not _WAV_NAME.match(request.wav) or not (Path(folder) / request.wav).is_file():
            raise AnnounceRefused(f"no recording named {request.wav!r} in {folder}")
        return str(Path(folder) / request.wav)

    def _audit(self, request: Announcement, now: float, speakers: list[str] | None = None, refused: str = "") -> None:
        line = {"utc": round(now, 3), **asdict(request), "ok": not refused, "speakers": speakers or [],
                "refused": refused}  # fmt: skip
        with self._lock:
            self.audit_path.parent.mkdir(parents=True, exist_ok=True)
            with open_private(self.audit_path, "a", GROUP_READ) as audit:
                audit.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest audit lines first (for the devices page)."""
        if not self.audit_path.exists():
            return []
        lines = self.audit_path.read_text(encoding="utf-8", errors="replace").splitlines()[-limit:]
        out = []
        for line in reversed(lines):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out
